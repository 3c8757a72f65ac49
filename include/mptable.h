/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 table, for guests that do not
 * read ACPI: the same platform as the MADT (acpi.h), in the older format.
 */
#ifndef KVMINI_MPTABLE_H
#define KVMINI_MPTABLE_H

#include "acpi.h"
#include "guest_mem.h"

/*
 * Write the MP floating pointer at MPTABLE_ADDR and the configuration table
 * right after it: processors, the ISA bus, the IOAPIC, ISA interrupts (IRQ0
 * on pin 2, the SCI level-triggered), ExtINT on LINT0 and NMI on LINT1.
 * 0 or -errno with err_set() (APIC IDs above 254 have no MP encoding).
 */
int mptable_build(struct guest_mem *mem, const struct acpi_platform *p);

#endif
