// SPDX-License-Identifier: MIT
/*
 * The ACPI tables (ACPI 6.3): RSDP -> XSDT -> FADT (-> FACS, DSDT), MADT, MCFG,
 * built in place in the reserved BIOS area with the RSDP first, where legacy
 * scans look.  Not hardware-reduced: the FADT points at kvmini's PM register
 * block (devices/acpi_pm.c) for the SCI, power button, S5, PM timer and reset.
 * A table is added by writing its builder and listing it in xsdt_tables[].
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "error.h"
#include "layout.h"
#include "pci.h"
#include "util.h"

#define AREA_SIZE (ACPI_TABLES_END - ACPI_TABLES_ADDR)

#define OEM_ID		 "KVMINI"
#define OEM_TABLE_ID	 "KVMINI  "
#define OEM_REVISION	 1
#define CREATOR_ID	 "KVMI"
#define CREATOR_REVISION 1

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all of it */
	uint8_t reserved[3];
} __attribute__((packed));

#define RSDP_V1_SIZE  20
#define RSDP_REVISION 2 /* ACPI 2.0+: XSDT */

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_8  1
#define GAS_ACCESS_16 2
#define GAS_ACCESS_32 3

struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_identity;
} __attribute__((packed));

#define FADT_REVISION	    6
#define FADT_MINOR_REVISION 3
#define FADT_C2_NONE	    101	 /* P_LVL2_LAT > 100: no C2 */
#define FADT_C3_NONE	    1001 /* P_LVL3_LAT > 1000: no C3 */
/* IAPC_BOOT_ARCH: ISA devices (the COM ports); no 8042, VGA or CMOS RTC. */
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_NO_VGA	 (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC	 (1u << 5)
#define FADT_WBINVD		 (1u << 0)
#define FADT_PROC_C1		 (1u << 2)
#define FADT_SLP_BUTTON		 (1u << 5) /* set: no fixed sleep button */
#define FADT_FIX_RTC		 (1u << 6) /* set: no RTC wake status in PM1 */
#define FADT_TMR_VAL_EXT	 (1u << 8) /* 32-bit PM timer */
#define FADT_RESET_REG_SUP	 (1u << 10)

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

#define FACS_VERSION 2
#define FACS_ALIGN   64

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

#define MADT_REVISION	 5
#define MADT_PCAT_COMPAT (1u << 0) /* there are 8259s to mask */

enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_INT_OVERRIDE = 2,
	MADT_LAPIC_NMI = 4,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 10,
};

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));

#define MADT_CPU_ENABLED (1u << 0)
#define MADT_XAPIC_MAX	 254 /* IDs from 255 on need x2APIC entries */

struct madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_int_override {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

/* MPS INTI flags. */
#define INTI_CONFORMS	    0
#define INTI_ACTIVE_HIGH    0x1
#define INTI_LEVEL	    0xc
#define PIT_IRQ		    0
#define PIT_GSI		    2
#define LINT1		    1
#define ALL_CPUS_UID	    0xff
#define ALL_CPUS_X2APIC_UID 0xffffffffu

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct madt_x2apic_nmi {
	uint8_t type, length;
	uint16_t flags;
	uint32_t processor_uid;
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

/* PCI Firmware 3.2, 4.1.2: where ECAM is, one allocation per segment and bus range. */
struct acpi_mcfg {
	struct acpi_header header;
	uint64_t reserved;
} __attribute__((packed));

struct mcfg_allocation {
	uint64_t base; /* of bus 0, even when start_bus is not 0 */
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __attribute__((packed));

#define MCFG_REVISION 1

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (ACPI 6.x)");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct madt_lapic) == 8 && sizeof(struct madt_x2apic) == 16 &&
		       sizeof(struct madt_ioapic) == 12 && sizeof(struct madt_int_override) == 10 &&
		       sizeof(struct madt_lapic_nmi) == 6 && sizeof(struct madt_x2apic_nmi) == 12,
	       "MADT entries");
_Static_assert(sizeof(struct acpi_mcfg) == 44 && sizeof(struct mcfg_allocation) == 16, "MCFG");

/* The table area, filled front to back. */
struct acpi_area {
	uint8_t *host;
	size_t used;
};

static int area_full(void)
{
	return err_set(ENOSPC, "the ACPI tables do not fit in the %llu KiB at 0x%llx",
		       AREA_SIZE / KIB, ACPI_TABLES_ADDR);
}

/* @size bytes at the next @align boundary, or NULL when the area is full. */
static void *area_alloc(struct acpi_area *a, size_t size, size_t align, uint64_t *gpa)
{
	size_t start = (a->used + align - 1) & ~(align - 1);

	if (start > AREA_SIZE || size > AREA_SIZE - start)
		return NULL;
	a->used = start + size;
	if (gpa)
		*gpa = ACPI_TABLES_ADDR + start;
	return a->host + start;
}

/* Append @size bytes right after the last allocation (a table's next entry). */
static bool area_append(struct acpi_area *a, const void *src, size_t size)
{
	void *dst = area_alloc(a, size, 1, NULL);

	if (dst)
		memcpy(dst, src, size);
	return dst;
}

/* Fill the header of the table that starts at @h and runs to the end of the area. */
static void table_finish(struct acpi_area *a, struct acpi_header *h, const char sig[4],
			 uint8_t revision)
{
	h->length = (uint32_t)(a->host + a->used - (uint8_t *)h);
	memcpy(h->signature, sig, sizeof(h->signature));
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = CREATOR_REVISION;
	h->checksum = 0;
	h->checksum = checksum8(h, h->length);
}

static int build_facs(struct acpi_area *a, uint64_t *gpa)
{
	struct acpi_facs *facs = area_alloc(a, sizeof(*facs), FACS_ALIGN, gpa);

	if (!facs)
		return area_full();
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = FACS_VERSION;
	return 0;
}

static void dsdt_serial(struct aml *a, unsigned int index)
{
	char name[8];
	size_t dev, crs;

	snprintf(name, sizeof(name), "COM%u", index + 1);
	dev = aml_device(a, name);
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, index + 1);
	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	aml_io(a, serial_port_base(index), SERIAL_PORT_LEN);
	aml_irq_no_flags(a, serial_port_irq(index));
	aml_resource_template_end(a, crs);
	aml_end(a, dev);
}

/* Only S5 (soft off): {PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved}. */
static void dsdt_sleep_states(struct aml *a)
{
	size_t pkg;

	aml_name(a, "\\_S5");
	pkg = aml_package(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5); /* there is no PM1b block: ignored */
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);
}

/*
 * The PCI root bridge (PCI Firmware 3.2, 4.1): segment 0, bus 0 up, and the
 * windows it forwards to its buses.  Its ECAM is in the MCFG.
 */
/*
 * _PRT (ACPI 6.5, 6.2.13): INTA#..INTD# of every slot to a GSI, no link
 * devices (the source is 0), so the lines are level-triggered, active low.
 */
static void dsdt_pci_routing(struct aml *a)
{
	size_t prt;

	aml_name(a, "_PRT");
	prt = aml_package(a, PCI_NR_SLOTS * 4);
	for (unsigned int slot = 0; slot < PCI_NR_SLOTS; slot++) {
		for (unsigned int pin = 1; pin <= 4; pin++) {
			size_t e = aml_package(a, 4);

			aml_integer(a, (uint64_t)slot << 16 | 0xffff); /* any function */
			aml_integer(a, pin - 1);		       /* 0 is INTA# */
			aml_integer(a, 0);
			aml_integer(a, pci_intx_gsi(slot, pin));
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
}

static void dsdt_pci_root(struct aml *a, const struct acpi_platform *p)
{
	size_t dev = aml_device(a, "PCI0"), crs;

	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0A08"); /* PCI Express */
	aml_name(a, "_CID");
	aml_eisa_id(a, "PNP0A03"); /* PCI, for OSes that know no better */
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	crs = aml_resource_template(a);
	aml_address_space(a, AML_SPACE_BUS, 0, PCI_ECAM_LAST_BUS);
	aml_address_space(a, AML_SPACE_IO, PCI_IO_BASE, PCI_IO_END - 1);
	aml_address_space(a, AML_SPACE_MEMORY, PCI_MMIO_BASE, PCI_ECAM_BASE - 1);
	if (p->mmio64_size)
		aml_address_space(a, AML_SPACE_MEMORY, p->mmio64_base,
				  p->mmio64_base + p->mmio64_size - 1);
	aml_resource_template_end(a, crs);
	dsdt_pci_routing(a);
	aml_end(a, dev);
}

static int build_dsdt(struct acpi_area *a, const struct acpi_platform *p, uint64_t *gpa)
{
	struct acpi_header *h = area_alloc(a, sizeof(*h), 8, gpa);
	struct aml aml;
	size_t sb;

	if (!h)
		return area_full();
	aml_init(&aml, a->host + a->used, AREA_SIZE - a->used);
	sb = aml_scope(&aml, "\\_SB");
	for (unsigned int i = 0; i < MAX_SERIAL_PORTS; i++) {
		if (p->serial[i])
			dsdt_serial(&aml, i);
	}
	dsdt_pci_root(&aml, p);
	aml_end(&aml, sb);
	dsdt_sleep_states(&aml);
	if (aml.err == -ENOSPC)
		return area_full();
	if (aml.err)
		return err_set(-aml.err, "cannot encode the DSDT's AML");
	a->used += aml.len;
	table_finish(a, h, "DSDT", 2); /* revision 2: 64-bit AML integers */
	return 0;
}

static struct acpi_gas gas_io(uint16_t port, unsigned int bits, uint8_t access)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = (uint8_t)bits,
		.access_size = access,
		.address = port,
	};
}

static int build_fadt(struct acpi_area *a, const struct acpi_platform *p, uint64_t *gpa)
{
	uint16_t evt = p->pm_base + ACPI_PM1_STS, cnt = p->pm_base + ACPI_PM1_CNT;
	uint16_t tmr = p->pm_base + ACPI_PM_TMR;
	struct acpi_fadt *f;
	uint64_t facs = 0, dsdt = 0;
	int ret;

	ret = build_facs(a, &facs);
	if (!ret)
		ret = build_dsdt(a, p, &dsdt);
	if (ret)
		return ret;
	f = area_alloc(a, sizeof(*f), 8, gpa);
	if (!f)
		return area_full();
	*f = (struct acpi_fadt){
		/* X_FIRMWARE_CTRL must be 0 when FIRMWARE_CTRL is set. */
		.firmware_ctrl = (uint32_t)facs,
		.dsdt = (uint32_t)dsdt,
		.x_dsdt = dsdt,
		/* No SMI_CMD: the platform is always in ACPI mode (SCI_EN reads 1). */
		.sci_int = p->sci_irq,
		.pm1a_evt_blk = evt,
		.pm1_evt_len = 4,
		.x_pm1a_evt_blk = gas_io(evt, 32, GAS_ACCESS_16),
		.pm1a_cnt_blk = cnt,
		.pm1_cnt_len = 2,
		.x_pm1a_cnt_blk = gas_io(cnt, 16, GAS_ACCESS_16),
		.pm_tmr_blk = tmr,
		.pm_tmr_len = 4,
		.x_pm_tmr_blk = gas_io(tmr, 32, GAS_ACCESS_32),
		.p_lvl2_lat = FADT_C2_NONE,
		.p_lvl3_lat = FADT_C3_NONE,
		.iapc_boot_arch =
			BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC,
		.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC |
			 FADT_TMR_VAL_EXT | FADT_RESET_REG_SUP,
		.reset_reg = gas_io(p->pm_base + ACPI_PM_RESET_REG, 8, GAS_ACCESS_8),
		.reset_value = ACPI_PM_RESET_VALUE,
		.minor_revision = FADT_MINOR_REVISION,
	};
	table_finish(a, &f->header, "FACP", FADT_REVISION);
	return 0;
}

/* One Local APIC entry per CPU (x2APIC for IDs the 8-bit field cannot hold). */
static bool madt_add_cpu(struct acpi_area *a, unsigned int uid, uint32_t apic_id)
{
	struct madt_lapic e = {
		.type = MADT_LAPIC,
		.length = sizeof(e),
		.processor_uid = (uint8_t)uid,
		.apic_id = (uint8_t)apic_id,
		.flags = MADT_CPU_ENABLED,
	};
	struct madt_x2apic x = {
		.type = MADT_X2APIC,
		.length = sizeof(x),
		.x2apic_id = apic_id,
		.flags = MADT_CPU_ENABLED,
		.processor_uid = uid,
	};

	if (apic_id <= MADT_XAPIC_MAX)
		return area_append(a, &e, sizeof(e));
	return area_append(a, &x, sizeof(x));
}

static bool madt_add_override(struct acpi_area *a, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	struct madt_int_override e = {
		.type = MADT_INT_OVERRIDE,
		.length = sizeof(e),
		.source = irq,
		.gsi = gsi,
		.flags = flags,
	};

	return area_append(a, &e, sizeof(e));
}

/* LINT1 is the NMI input on every CPU, in each entry format in use. */
static bool madt_add_nmi(struct acpi_area *a, bool x2apic)
{
	struct madt_lapic_nmi e = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(e),
		.processor_uid = ALL_CPUS_UID,
		.flags = INTI_CONFORMS,
		.lint = LINT1,
	};
	struct madt_x2apic_nmi x = {
		.type = MADT_X2APIC_NMI,
		.length = sizeof(x),
		.flags = INTI_CONFORMS,
		.processor_uid = ALL_CPUS_X2APIC_UID,
		.lint = LINT1,
	};

	return area_append(a, &e, sizeof(e)) && (!x2apic || area_append(a, &x, sizeof(x)));
}

static int build_madt(struct acpi_area *a, const struct acpi_platform *p, uint64_t *gpa)
{
	struct acpi_madt *m = area_alloc(a, sizeof(*m), 8, gpa);
	struct madt_ioapic io = {
		.type = MADT_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = p->ioapic_id,
		.address = IOAPIC_BASE,
		.gsi_base = 0,
	};
	bool ok = m, x2apic = false;

	for (unsigned int i = 0; ok && i < p->nr_cpus; i++) {
		ok = madt_add_cpu(a, i, p->apic_ids[i]);
		x2apic |= p->apic_ids[i] > MADT_XAPIC_MAX;
	}
	ok = ok && area_append(a, &io, sizeof(io)) &&
	     madt_add_override(a, PIT_IRQ, PIT_GSI, INTI_CONFORMS) &&
	     madt_add_override(a, p->sci_irq, p->sci_irq, INTI_ACTIVE_HIGH | INTI_LEVEL) &&
	     madt_add_nmi(a, x2apic);
	if (!ok)
		return area_full();
	m->lapic_address = LAPIC_BASE;
	m->flags = MADT_PCAT_COMPAT;
	table_finish(a, &m->header, "APIC", MADT_REVISION);
	return 0;
}

static int build_mcfg(struct acpi_area *a, const struct acpi_platform *p, uint64_t *gpa)
{
	struct acpi_mcfg *m = area_alloc(a, sizeof(*m), 8, gpa);
	struct mcfg_allocation e = {
		.base = PCI_ECAM_BASE,
		.segment = 0,
		.start_bus = 0,
		.end_bus = PCI_ECAM_LAST_BUS,
	};

	(void)p;
	if (!m || !area_append(a, &e, sizeof(e)))
		return area_full();
	table_finish(a, &m->header, "MCFG", MCFG_REVISION);
	return 0;
}

static int build_xsdt(struct acpi_area *a, const uint64_t *tables, size_t n, uint64_t *gpa)
{
	struct acpi_header *h = area_alloc(a, sizeof(*h), 8, gpa);

	if (!h)
		return area_full();
	for (size_t i = 0; i < n; i++) {
		if (!area_append(a, &tables[i], sizeof(tables[i])))
			return area_full();
	}
	table_finish(a, h, "XSDT", 1);
	return 0;
}

int acpi_platform_check(const struct acpi_platform *p)
{
	if (!p->nr_cpus || !p->apic_ids)
		return err_set(EINVAL, "the platform has no CPUs");
	if (!p->sci_irq || p->sci_irq == PIT_GSI || p->sci_irq > 15)
		return err_set(EINVAL, "SCI IRQ %u is not a free ISA IRQ", p->sci_irq);
	if (!p->pm_base || p->pm_base > 0x10000 - ACPI_PM_IO_LEN)
		return err_set(EINVAL, "PM register block at I/O port 0x%x is out of range",
			       p->pm_base);
	/* A Local APIC entry's UID is 8 bits, and 0xff means "all CPUs". */
	for (unsigned int i = ALL_CPUS_UID; i < p->nr_cpus; i++) {
		if (p->apic_ids[i] <= MADT_XAPIC_MAX)
			return err_set(EINVAL,
				       "CPU %u: APIC ID %u below 255 needs a CPU index below 255",
				       i, p->apic_ids[i]);
	}
	return 0;
}

uint8_t acpi_free_apic_id(const struct acpi_platform *p)
{
	bool used[MADT_XAPIC_MAX + 1] = { false };

	for (unsigned int i = 0; i < p->nr_cpus; i++) {
		if (p->apic_ids[i] <= MADT_XAPIC_MAX)
			used[p->apic_ids[i]] = true;
	}
	for (unsigned int id = 0; id <= MADT_XAPIC_MAX; id++) {
		if (!used[id])
			return (uint8_t)id;
	}
	return 0;
}

int acpi_build(struct guest_mem *mem, const struct acpi_platform *p, uint64_t *rsdp_addr)
{
	static int (*const xsdt_tables[])(struct acpi_area * a, const struct acpi_platform *p,
					  uint64_t *gpa) = {
		build_fadt,
		build_madt,
		build_mcfg,
	};
	uint64_t addrs[ARRAY_SIZE(xsdt_tables)], xsdt = 0, rsdp_gpa = 0;
	struct acpi_area area = { 0 };
	struct acpi_rsdp *rsdp;
	int ret = acpi_platform_check(p);

	if (ret)
		return ret;
	area.host = guest_mem_ptr(mem, ACPI_TABLES_ADDR, AREA_SIZE);
	if (!area.host)
		return err_set(EFAULT, "no guest RAM at 0x%llx-0x%llx for the ACPI tables",
			       ACPI_TABLES_ADDR, ACPI_TABLES_END - 1);
	/* No stale bytes between the tables (alignment padding). */
	memset(area.host, 0, AREA_SIZE);
	rsdp = area_alloc(&area, sizeof(*rsdp), 16, &rsdp_gpa);
	for (size_t i = 0; i < ARRAY_SIZE(xsdt_tables); i++) {
		ret = xsdt_tables[i](&area, p, &addrs[i]);
		if (ret)
			return ret;
	}
	ret = build_xsdt(&area, addrs, ARRAY_SIZE(addrs), &xsdt);
	if (ret)
		return ret;
	memcpy(rsdp->signature, "RSD PTR ", sizeof(rsdp->signature));
	memcpy(rsdp->oem_id, OEM_ID, sizeof(rsdp->oem_id));
	rsdp->revision = RSDP_REVISION;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt;
	rsdp->checksum = checksum8(rsdp, RSDP_V1_SIZE);
	rsdp->extended_checksum = checksum8(rsdp, sizeof(*rsdp));
	*rsdp_addr = rsdp_gpa;
	return 0;
}
