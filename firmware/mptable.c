// SPDX-License-Identifier: MIT
/*
 * The MP table (Intel MultiProcessor Specification 1.4, chapter 4): a
 * floating pointer in the BIOS area, where OSes scan for it, pointing at the
 * configuration table that follows it.  Entries are in the order the spec
 * wants (by type); there is no extended table.
 */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "util.h"
#include "layout.h"
#include "mptable.h"

struct mpf {
	char signature[4];
	uint32_t config_table;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* all 0: a config table, virtual-wire mode (no IMCR) */
} __attribute__((packed));

struct mpc_header {
	char signature[4];
	uint16_t base_length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

enum {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_IO_INTERRUPT = 3,
	MP_LOCAL_INTERRUPT = 4,
};

struct mpc_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint8_t reserved[8];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));

/* An I/O (type 3) or local (type 4) interrupt assignment. */
struct mpc_interrupt {
	uint8_t type;
	uint8_t int_type;
	uint16_t flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16 && sizeof(struct mpc_header) == 44 &&
		       sizeof(struct mpc_processor) == 20 && sizeof(struct mpc_bus) == 8 &&
		       sizeof(struct mpc_ioapic) == 8 && sizeof(struct mpc_interrupt) == 8,
	       "MP table layout");

#define MP_SPEC_REV	4 /* 1.4 */
#define MP_CPU_ENABLED	0x01
#define MP_CPU_BSP	0x02
#define MP_IOAPIC_EN	0x01
#define MP_APIC_ID_MAX	254
#define MP_ALL_LAPICS	0xff
#define LINT0		0
#define LINT1		1
#define ISA_BUS_ID	0
#define ISA_IRQS	16
#define ISA_CASCADE_IRQ 2 /* the slave 8259, not an input of its own */
#define PIT_IRQ		0
#define PIT_PIN		2
#define INT_TYPE_INT	0
#define INT_TYPE_NMI	1
#define INT_TYPE_EXTINT 3
#define INT_ACTIVE_HIGH 0x1
#define INT_LEVEL	0xc
/* What KVM's in-kernel APICs report in their version registers. */
#define LAPIC_VERSION  0x14
#define IOAPIC_VERSION 0x11
/* Nominal: family 6 with FPU and APIC.  OSes read CPUID themselves. */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES  ((1u << 0) | (1u << 9))

#define NR_ISA_ENTRIES	 (ISA_IRQS - 1)
#define NR_LOCAL_ENTRIES 2

/* The configuration table for @n CPUs: header, CPUs, bus, IOAPIC, interrupts. */
#define MPC_ENTRIES(n) ((n) + 2 + NR_ISA_ENTRIES + NR_LOCAL_ENTRIES)
#define MPC_SIZE(n)                                                                                \
	(sizeof(struct mpc_header) + (n) * sizeof(struct mpc_processor) + sizeof(struct mpc_bus) + \
	 sizeof(struct mpc_ioapic) +                                                               \
	 (NR_ISA_ENTRIES + NR_LOCAL_ENTRIES) * sizeof(struct mpc_interrupt))

/*
 * At most 255 CPUs get that far: IDs above 254 are refused here, and
 * acpi_platform_check() refuses a CPU index above 254 with an ID below 255.
 */
_Static_assert(sizeof(struct mpf) + MPC_SIZE(MP_APIC_ID_MAX + 1) <= MPTABLE_END - MPTABLE_ADDR,
	       "the MP table for the most CPUs fits its area");

static uint8_t *put(uint8_t *pos, const void *entry, size_t len)
{
	memcpy(pos, entry, len);
	return pos + len;
}

static uint8_t *put_interrupt(uint8_t *pos, uint8_t type, uint8_t int_type, uint16_t flags,
			      uint8_t src_irq, uint8_t dst_apic, uint8_t dst_pin)
{
	struct mpc_interrupt e = {
		.type = type,
		.int_type = int_type,
		.flags = flags,
		.src_bus = ISA_BUS_ID,
		.src_irq = src_irq,
		.dst_apic = dst_apic,
		.dst_pin = dst_pin,
	};

	return put(pos, &e, sizeof(e));
}

static uint8_t *put_processors(uint8_t *pos, const struct acpi_platform *p)
{
	for (unsigned int i = 0; i < p->nr_cpus; i++) {
		struct mpc_processor e = {
			.type = MP_PROCESSOR,
			.apic_id = (uint8_t)p->apic_ids[i],
			.apic_version = LAPIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = CPU_SIGNATURE,
			.features = CPU_FEATURES,
		};

		pos = put(pos, &e, sizeof(e));
	}
	return pos;
}

/* ISA IRQ n on IOAPIC pin n, but the PIT on pin 2 and the SCI level-triggered. */
static uint8_t *put_isa_interrupts(uint8_t *pos, const struct acpi_platform *p)
{
	for (uint8_t irq = 0; irq < ISA_IRQS; irq++) {
		uint16_t flags = irq == p->sci_irq ? INT_ACTIVE_HIGH | INT_LEVEL : 0;

		if (irq == ISA_CASCADE_IRQ)
			continue;
		pos = put_interrupt(pos, MP_IO_INTERRUPT, INT_TYPE_INT, flags, irq, p->ioapic_id,
				    irq == PIT_IRQ ? PIT_PIN : irq);
	}
	return pos;
}

int mptable_build(struct guest_mem *mem, const struct acpi_platform *p)
{
	struct mpc_bus bus = { .type = MP_BUS, .bus_id = ISA_BUS_ID, .bus_type = "ISA   " };
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apic_id = p->ioapic_id,
		.apic_version = IOAPIC_VERSION,
		.flags = MP_IOAPIC_EN,
		.address = IOAPIC_BASE,
	};
	struct mpc_header h = {
		.signature = "PCMP",
		.spec_rev = MP_SPEC_REV,
		.oem_id = "KVMINI  ",
		.product_id = "KVMINI      ",
		.lapic_address = LAPIC_BASE,
	};
	struct mpf mpf = {
		.signature = "_MP_",
		.config_table = MPTABLE_ADDR + sizeof(mpf),
		.length = sizeof(mpf) / 16,
		.spec_rev = MP_SPEC_REV,
	};
	size_t size = MPC_SIZE(p->nr_cpus);
	uint8_t *base, *table, *pos;
	int ret = acpi_platform_check(p);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < p->nr_cpus; i++) {
		if (p->apic_ids[i] > MP_APIC_ID_MAX)
			return err_set(ERANGE, "CPU %u: APIC ID %u does not fit in an MP table", i,
				       p->apic_ids[i]);
	}
	base = guest_mem_ptr(mem, MPTABLE_ADDR, sizeof(mpf) + size);
	if (!base)
		return err_set(EFAULT, "no guest RAM at 0x%llx for the MP table", MPTABLE_ADDR);

	table = base + sizeof(mpf);
	h.base_length = (uint16_t)size;
	h.entry_count = (uint16_t)MPC_ENTRIES(p->nr_cpus);
	pos = put(table, &h, sizeof(h));
	pos = put_processors(pos, p);
	pos = put(pos, &bus, sizeof(bus));
	pos = put(pos, &ioapic, sizeof(ioapic));
	pos = put_isa_interrupts(pos, p);
	pos = put_interrupt(pos, MP_LOCAL_INTERRUPT, INT_TYPE_EXTINT, 0, 0, MP_ALL_LAPICS, LINT0);
	put_interrupt(pos, MP_LOCAL_INTERRUPT, INT_TYPE_NMI, 0, 0, MP_ALL_LAPICS, LINT1);
	table[offsetof(struct mpc_header, checksum)] = checksum8(table, size);
	mpf.checksum = checksum8(&mpf, sizeof(mpf));
	put(base, &mpf, sizeof(mpf));
	return 0;
}
