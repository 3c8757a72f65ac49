// SPDX-License-Identifier: MIT
/* ACPI table lookup, MADT CPUs and S5 power-off (see acpi.h). */
#include "acpi.h"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 */
	uint64_t xsdt;
} __attribute__((packed));

#define ACPI_RSDP_V1_SIZE 20

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define GAS_MEMORY 0
#define GAS_IO	   1

/* The FADT up to the fields used here. */
struct acpi_fadt {
	struct acpi_header header;
	uint8_t unused0[28];
	uint32_t pm1a_cnt_blk;
	uint8_t unused1[44];
	uint32_t flags;
	uint8_t unused2[56];
	struct acpi_gas x_pm1a_cnt_blk; /* ACPI 2.0+ */
	uint8_t unused3[60];
	struct acpi_gas sleep_control_reg; /* ACPI 5.0+ */
} __attribute__((packed));

_Static_assert(offsetof(struct acpi_fadt, pm1a_cnt_blk) == 64 &&
		       offsetof(struct acpi_fadt, flags) == 112 &&
		       offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172 &&
		       offsetof(struct acpi_fadt, sleep_control_reg) == 244,
	       "FADT field offsets");

/* Whether the FADT is long enough to have @field. */
#define FADT_HAS(fadt, field) \
	((fadt)->header.length >= offsetof(struct acpi_fadt, field) + sizeof((fadt)->field))

#define FADT_HW_REDUCED_ACPI (1u << 20)
/* SLP_TYP and SLP_EN: bits 10-12 and 13 of PM1_CNT, 2-4 and 5 of the sleep control register. */
#define PM1_CNT_S5   (ACPI_SLP_TYP_S5 << 10 | 1u << 13)
#define SLEEP_CTL_S5 (ACPI_SLP_TYP_S5 << 2 | 1u << 5)

#define MADT_ENTRIES_OFFSET (sizeof(struct acpi_header) + 8) /* LAPIC address, flags */
#define MADT_LAPIC	    0
#define MADT_X2APIC	    9
#define MADT_ENABLED	    1

/* Only the identity-mapped first 4 GiB can be read. */
static const void *acpi_ptr(uint64_t paddr)
{
	return paddr && paddr < 0x100000000ULL ? (const void *)(uintptr_t)paddr : NULL;
}

static bool acpi_checksum_ok(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return !sum;
}

/* The table at @paddr if it has signature @sig; the signature is checked first, it is cheap. */
static const struct acpi_header *acpi_table_at(uint64_t paddr, const char *sig)
{
	const struct acpi_header *h = acpi_ptr(paddr);

	if (!h || memcmp(h->signature, sig, 4) || h->length < sizeof(*h) ||
	    !acpi_checksum_ok(h, h->length))
		return NULL;
	return h;
}

const struct acpi_header *acpi_find_table(uint64_t rsdp_paddr, const char *sig)
{
	const struct acpi_rsdp *rsdp = acpi_ptr(rsdp_paddr);
	const struct acpi_header *sdt;
	size_t entry_size;

	if (!rsdp || memcmp(rsdp->signature, "RSD PTR ", 8) ||
	    !acpi_checksum_ok(rsdp, ACPI_RSDP_V1_SIZE))
		return NULL;
	if (rsdp->revision >= 2 && rsdp->xsdt) {
		sdt = acpi_table_at(rsdp->xsdt, "XSDT");
		entry_size = 8;
	} else {
		sdt = acpi_table_at(rsdp->rsdt, "RSDT");
		entry_size = 4;
	}
	if (!sdt)
		return NULL;
	for (size_t off = sizeof(*sdt); off + entry_size <= sdt->length; off += entry_size) {
		const struct acpi_header *t;
		uint64_t paddr = 0;

		memcpy(&paddr, (const char *)sdt + off, entry_size);
		t = acpi_table_at(paddr, sig);
		if (t)
			return t;
	}
	return NULL;
}

int acpi_madt_cpus(uint64_t rsdp_paddr, void (*fn)(uint32_t apic_id, void *arg), void *arg)
{
	const struct acpi_header *madt = acpi_find_table(rsdp_paddr, "APIC");
	const uint8_t *p, *end;
	int n = 0;

	if (!madt || madt->length < MADT_ENTRIES_OFFSET)
		return -1;
	end = (const uint8_t *)madt + madt->length;
	for (p = (const uint8_t *)madt + MADT_ENTRIES_OFFSET; p + 2 <= end; p += p[1]) {
		uint32_t id, flags;

		if (p[1] < 2 || p + p[1] > end)
			break;
		if (p[0] == MADT_LAPIC && p[1] >= 8) {
			id = p[3];
			memcpy(&flags, p + 4, 4);
		} else if (p[0] == MADT_X2APIC && p[1] >= 16) {
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
		} else {
			continue;
		}
		if (!(flags & MADT_ENABLED))
			continue;
		if (fn)
			fn(id, arg);
		n++;
	}
	return n;
}

/* A 8- or 16-bit write to a register in I/O or memory space; false if it is neither. */
static bool acpi_reg_write(const struct acpi_gas *reg, unsigned int bits, uint16_t val)
{
	if (reg->space_id == GAS_IO && reg->address && reg->address <= 0xffff) {
		if (bits == 8)
			outb(reg->address, val);
		else
			outw(reg->address, val);
		return true;
	}
	if (reg->space_id == GAS_MEMORY && acpi_ptr(reg->address)) {
		if (bits == 8)
			*(volatile uint8_t *)(uintptr_t)reg->address = val;
		else
			*(volatile uint16_t *)(uintptr_t)reg->address = val;
		return true;
	}
	return false;
}

bool acpi_power_off(uint64_t rsdp_paddr)
{
	const struct acpi_fadt *fadt = (const void *)acpi_find_table(rsdp_paddr, "FACP");
	struct acpi_gas pm1a_cnt = { .space_id = GAS_IO };

	if (!fadt || !FADT_HAS(fadt, flags))
		return false;
	/* Hardware-reduced ACPI has no PM1 blocks: the 8-bit sleep control register stands in. */
	if (fadt->flags & FADT_HW_REDUCED_ACPI)
		return FADT_HAS(fadt, sleep_control_reg) &&
		       acpi_reg_write(&fadt->sleep_control_reg, 8, SLEEP_CTL_S5);
	/* X_PM1a_CNT_BLK, when set, supersedes PM1a_CNT_BLK. */
	if (FADT_HAS(fadt, x_pm1a_cnt_blk) && fadt->x_pm1a_cnt_blk.address)
		pm1a_cnt = fadt->x_pm1a_cnt_blk;
	else
		pm1a_cnt.address = fadt->pm1a_cnt_blk;
	return acpi_reg_write(&pm1a_cnt, 16, PM1_CNT_S5);
}
