# SPDX-License-Identifier: MIT
#
# kvmini's Linux test guest and the slow Linux suite. Included by the top-level
# Makefile (standalone: make -f guests/linux/linux.mk [target]):
#   make linux-guest   kernel (cached outside the tree, see guests/linux/README.md) + initramfs
#   make check-linux   boot it under kvmini: tests/linux/check-linux.sh
# LINUX_CHECK_ARGS passes options through, e.g. LINUX_CHECK_ARGS="--qemu --tcg".
# Neither target touches the includer's default goal or its variables.

LINUX_GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LINUX_SAVED_GOAL := $(.DEFAULT_GOAL)
LINUX_NR_MAKEFILES := $(words $(MAKEFILE_LIST))
LINUX_KVMINI ?= $(or $(BUILD),build)/kvmini
LINUX_CHECK_ARGS ?=

.PHONY: linux-guest check-linux

# build.sh decides what is stale (a hash of the config, the script and the kernel source),
# so it always runs; with everything cached it takes about a second.
linux-guest:
	$(LINUX_GUEST_DIR)/build.sh

check-linux: linux-guest $(LINUX_KVMINI)
	KVMINI=$(LINUX_KVMINI) tests/linux/check-linux.sh $(LINUX_CHECK_ARGS)

# Keep the includer's default goal; standalone (make -f guests/linux/linux.mk), build the guest.
ifeq ($(LINUX_SAVED_GOAL)$(LINUX_NR_MAKEFILES),1)
.DEFAULT_GOAL := linux-guest
else
.DEFAULT_GOAL := $(LINUX_SAVED_GOAL)
endif
