# SPDX-License-Identifier: MIT
#
# The bzImage test guest: guests/build/bzimage.bin, a Linux boot protocol image
# (setup header in header.S, a 64-bit payload in entry.S and main.c with the
# serial/printf/exit runtime of guests/lib) linked by bzimage.ld and flattened
# with objcopy.  Included by the top-level Makefile after guests/guests.mk,
# whose GUEST_* variables, object rules and "guests" target it uses.

BZIMAGE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
BZIMAGE_OBJ_DIR := $(GUESTS_BUILD)/obj/bzimage
BZIMAGE_OBJS := $(addprefix $(BZIMAGE_OBJ_DIR)/,header.S.o entry.S.o main.c.o)
BZIMAGE_LIB_OBJS := $(addprefix $(GUESTS_BUILD)/obj/lib/,acpi.c.o runtime.c.o serial.c.o \
	string.c.o)
BZIMAGE_COMMA := ,
# The guests' link flags, with bzimage.ld instead of guest.ld.
BZIMAGE_LDFLAGS := $(filter-out -Wl$(BZIMAGE_COMMA)-T$(BZIMAGE_COMMA)%,$(GUEST_LDFLAGS)) \
	-Wl,-T,$(BZIMAGE_DIR)/bzimage.ld
GUEST_OBJCOPY ?= objcopy

.PHONY: bzimage-guest

guests: bzimage-guest
bzimage-guest: $(GUESTS_BUILD)/bzimage.bin

$(GUESTS_BUILD)/bzimage.bin: $(GUESTS_BUILD)/bzimage.elf
	$(GUEST_OBJCOPY) -O binary $< $@

$(GUESTS_BUILD)/bzimage.elf: $(BZIMAGE_OBJS) $(BZIMAGE_LIB_OBJS) $(BZIMAGE_DIR)/bzimage.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(BZIMAGE_LDFLAGS) -o $@ $(filter %.o,$^)

$(BZIMAGE_OBJS): $(BZIMAGE_OBJ_DIR)/%.o: $(BZIMAGE_DIR)/% $(BZIMAGE_DIR)/bzimage.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

-include $(BZIMAGE_OBJS:.o=.d)
