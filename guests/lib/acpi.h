/* SPDX-License-Identifier: MIT */
/*
 * Reading the ACPI tables a VMM hands over (RSDP -> XSDT or RSDT -> tables)
 * and powering off through the FADT.  Only tables in the identity-mapped
 * first 4 GiB are found, and only ones whose checksum is right.  Checksums
 * are summed at CPL0 byte by byte: a few thousand instructions per lookup.
 */
#ifndef KVMINI_GUEST_ACPI_H
#define KVMINI_GUEST_ACPI_H

#include "guest.h"

struct acpi_header {
	char signature[4];
	uint32_t length; /* of the whole table, this header included */
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/*
 * The table with signature @sig ("FACP", "APIC", ...) that the XSDT lists
 * (the RSDT for an ACPI 1.0 RSDP) of the RSDP at @rsdp_paddr, or NULL.
 */
const struct acpi_header *acpi_find_table(uint64_t rsdp_paddr, const char *sig);

/*
 * The enabled processor local APIC and x2APIC entries of the MADT: calls
 * @fn(APIC ID, @arg) for each (unless @fn is NULL) and returns how many
 * there are; -1 if there is no MADT.
 */
int acpi_madt_cpus(uint64_t rsdp_paddr, void (*fn)(uint32_t apic_id, void *arg), void *arg);

/*
 * Ask for S5 (soft off): SLP_TYP = ACPI_SLP_TYP_S5 and SLP_EN, written to the
 * FADT's PM1a control block, or to its sleep control register on
 * hardware-reduced ACPI (QEMU microvm).  False if there is no FADT or no such
 * register.  A VMM may stop the VM only a little after the write returns.
 */
bool acpi_power_off(uint64_t rsdp_paddr);

/* \_S5 in kvmini's DSDT (include/acpi.h) and in QEMU's: not read from the AML. */
#define ACPI_SLP_TYP_S5 5

#endif
