# SPDX-License-Identifier: MIT
#
# Test guests for kvmini: freestanding x86-64 PVH ELF images.
#
# Included by the top-level Makefile, or standalone from the repo root:
#   make -f guests/guests.mk guests
# Every guests/*.c is one guest (guests/build/NAME.elf), linked with the
# runtime in guests/lib/.  All variables are prefixed GUEST(S)_ and none of
# the usual CC/CFLAGS/LDFLAGS is used, so the host build's flags (sanitizers,
# -fPIE, ...) cannot leak in.

GUESTS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GUESTS_BUILD := $(GUESTS_DIR)/build
GUESTS_SAVED_GOAL := $(.DEFAULT_GOAL)
GUESTS_NR_MAKEFILES := $(words $(MAKEFILE_LIST))

GUEST_CC ?= gcc
GUEST_CPPFLAGS := -I$(GUESTS_DIR)/lib
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -nostdlib -fno-pic -no-pie -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns -fno-common \
	-march=x86-64 -mtune=generic
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUESTS_DIR)/lib/guest.ld \
	-Wl,--build-id=none -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
	-Wl,--orphan-handling=error -Wl,--fatal-warnings

GUESTS_LIB_SRCS := $(sort $(wildcard $(GUESTS_DIR)/lib/*.S $(GUESTS_DIR)/lib/*.c))
GUESTS_LIB_OBJS := $(GUESTS_LIB_SRCS:$(GUESTS_DIR)/%=$(GUESTS_BUILD)/obj/%.o)
GUESTS_NAMES := $(sort $(basename $(notdir $(wildcard $(GUESTS_DIR)/*.c))))
GUESTS_MAIN_OBJS := $(GUESTS_NAMES:%=$(GUESTS_BUILD)/obj/%.c.o)
GUESTS_ELF := $(GUESTS_NAMES:%=$(GUESTS_BUILD)/%.elf)
GUESTS_C_OBJS := $(filter %.c.o,$(GUESTS_LIB_OBJS) $(GUESTS_MAIN_OBJS))
GUESTS_S_OBJS := $(filter %.S.o,$(GUESTS_LIB_OBJS))

.PHONY: guests guests-clean

guests: $(GUESTS_ELF)

$(GUESTS_ELF): $(GUESTS_BUILD)/%.elf: $(GUESTS_BUILD)/obj/%.c.o $(GUESTS_LIB_OBJS) \
		$(GUESTS_DIR)/lib/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUESTS_C_OBJS): $(GUESTS_BUILD)/obj/%.c.o: $(GUESTS_DIR)/%.c $(GUESTS_DIR)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUESTS_S_OBJS): $(GUESTS_BUILD)/obj/%.S.o: $(GUESTS_DIR)/%.S $(GUESTS_DIR)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

guests-clean:
	rm -rf $(GUESTS_BUILD)

-include $(GUESTS_C_OBJS:.o=.d) $(GUESTS_S_OBJS:.o=.d)

# Do not take over the includer's default goal; standalone, build the guests.
ifeq ($(GUESTS_SAVED_GOAL),)
ifeq ($(GUESTS_NR_MAKEFILES),1)
.DEFAULT_GOAL := guests
else
.DEFAULT_GOAL :=
endif
else
.DEFAULT_GOAL := $(GUESTS_SAVED_GOAL)
endif
