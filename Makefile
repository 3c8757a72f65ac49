# kvmini — a minimal KVM virtual machine monitor.
#
#   make            build build/kvmini, the test guests and test helpers
#   make run        build and boot the bundled hello guest
#   make check      all quick tests (unit + integration); what CI runs
#   make asan       the same tests with AddressSanitizer + UBSan
#   make bench      kvmini against QEMU on the same guest
#   make check-crash
#                   kill kvmini 50 times while a guest writes a qcow2 image
#   make linux-guest, make check-linux
#                   build the Linux test guest; boot it (the slow suite)
#   make deps       install the Debian packages the build and tests need

CC ?= gcc
BUILD ?= build
SAN_FLAGS ?=
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -MMD -MP $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
LDLIBS += -luring -lpthread -lfdt $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp) \
	-lz -lzstd -ljansson

LIB_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c)) $(wildcard devices/*.c) \
	$(wildcard firmware/*.c)
LIB_SRCS += $(wildcard devices/pci/*.c devices/virtio/*.c devices/block/*.c devices/net/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
IMG_SRCS := $(wildcard vmm/img/*.c)
IMG_OBJS := $(IMG_SRCS:%.c=$(BUILD)/%.o)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

.PHONY: all run check unit integration asan bench check-crash deps clean format format-check \
	guests

all: $(BUILD)/kvmini $(BUILD)/kvmini-img guests $(UNIT_BINS) $(HELPER_BINS)

include guests/guests.mk
include guests/bzimage/bzimage.mk
include guests/linux/linux.mk
include tests/fuzz/fuzz.mk

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Only the slirp backend sees glib's headers.
$(BUILD)/devices/net/slirp.o: CFLAGS += $(SLIRP_CFLAGS)

$(BUILD)/libkvmini.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/kvmini: $(BUILD)/vmm/main.o $(BUILD)/libkvmini.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libkvmini.a -lcmocka $(LDLIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lutil $(LDLIBS)

# The disk image tool: qemu-img's commands on the same image code.
$(BUILD)/kvmini-img: $(IMG_OBJS) $(BUILD)/libkvmini.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

run: $(BUILD)/kvmini guests
	$(BUILD)/kvmini -kernel guests/build/hello.elf -nographic

check: all
	BUILD=$(BUILD) tests/run-all.sh

unit: $(UNIT_BINS)
	BUILD=$(BUILD) tests/run-all.sh unit

integration: all
	BUILD=$(BUILD) tests/run-all.sh integration

# Everything again in its own build tree, with the sanitizers on.
asan:
	$(MAKE) BUILD=build-asan SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all" check

bench: all
	KVMINI=$(BUILD)/kvmini HELPERS=$(BUILD)/tests/helpers tests/bench/bench.sh
	KVMINI=$(BUILD)/kvmini HELPERS=$(BUILD)/tests/helpers tests/bench/bench-blk.sh
	KVMINI=$(BUILD)/kvmini HELPERS=$(BUILD)/tests/helpers tests/bench/bench-net.sh
	KVMINI_IMG=$(BUILD)/kvmini-img tests/bench/bench-img.sh
	KVMINI=$(BUILD)/kvmini tests/bench/bench-snapshot.sh

# SIGKILL kvmini 50 times while a guest writes to a qcow2 image; qemu-img check after each.
check-crash: $(BUILD)/kvmini guests
	KVMINI=$(BUILD)/kvmini tests/crash/qcow2-crash.sh 50

deps:
	tests/deps.sh

format:
	clang-format -i $(LIB_SRCS) vmm/main.c $(IMG_SRCS) include/*.h $(UNIT_SRCS) $(HELPER_SRCS)

format-check:
	clang-format --dry-run -Werror $(LIB_SRCS) vmm/main.c $(IMG_SRCS) include/*.h $(UNIT_SRCS) \
		$(HELPER_SRCS)

clean: guests-clean
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
