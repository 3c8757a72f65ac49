/* SPDX-License-Identifier: MIT */
/*
 * ACPI: the tables kvmini writes for the guest (firmware/acpi.c), the AML
 * byte-code builder their DSDT is made with (firmware/aml.c), and the PM
 * register block the FADT points at (devices/acpi_pm.c).  The block's layout
 * is defined once here so the FADT and the device cannot disagree.
 */
#ifndef KVMINI_ACPI_H
#define KVMINI_ACPI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "guest_mem.h"

/* What the tables describe.  The MP table (mptable.h) is built from it too. */
struct acpi_platform {
	unsigned int nr_cpus;
	const uint32_t *apic_ids; /* nr_cpus LAPIC IDs; [0] is the boot CPU */
	/* Should differ from every LAPIC ID below 255 (the MP spec wants unique APIC IDs). */
	uint8_t ioapic_id;
	bool serial[MAX_SERIAL_PORTS];	   /* COM1..COM4 present */
	uint16_t pm_base;		   /* I/O base of the PM register block below */
	uint8_t sci_irq;		   /* ISA IRQ (= GSI) of the SCI: 1, 3..15 */
	uint64_t mmio64_base, mmio64_size; /* the PCI window for 64-bit BARs */
};

/* 0, or -EINVAL with err_set() when @p is not a platform the tables can describe. */
int acpi_platform_check(const struct acpi_platform *p);

/* For ioapic_id: the lowest ID below 255 that no CPU of @p has (0 when all are taken). */
uint8_t acpi_free_apic_id(const struct acpi_platform *p);

/*
 * Write RSDP, XSDT, FADT, FACS, DSDT, MADT and MCFG into [ACPI_TABLES_ADDR,
 * ACPI_TABLES_END), RSDP first, and return its guest address in @rsdp_addr.
 * 0 or -errno with err_set() (the tables do not fit, a bad platform).
 */
int acpi_build(struct guest_mem *mem, const struct acpi_platform *p, uint64_t *rsdp_addr);

/* The PM register block: PM1a event + control, PM timer, reset register (I/O space). */
#define ACPI_PM_IO_BASE	    0x600 /* where ICH9 chipsets put it */
#define ACPI_PM_IO_LEN	    0x10
#define ACPI_SCI_IRQ	    9
#define ACPI_PM1_STS	    0x0 /* 16 bits, write 1 to clear */
#define ACPI_PM1_EN	    0x2 /* 16 bits */
#define ACPI_PM1_CNT	    0x4 /* 16 bits */
#define ACPI_PM_TMR	    0x8 /* 32 bits, read-only */
#define ACPI_PM_RESET_REG   0xc /* 8 bits, write-only */
#define ACPI_PM_RESET_VALUE 0x01

#define ACPI_PM1_GBL_EN		   (1u << 5)
#define ACPI_PM1_PWRBTN		   (1u << 8) /* in PM1_STS and PM1_EN */
#define ACPI_PM1_WAK_STS	   (1u << 15)
#define ACPI_PM1_CNT_SCI_EN	   (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	   (1u << 13)
#define ACPI_SLP_TYP_S5		   5 /* \_S5 in the DSDT */
#define ACPI_PM_TMR_HZ		   3579545

/* What the PM block asks of its owner. */
enum acpi_pm_event {
	ACPI_PM_POWER_OFF, /* SLP_EN with SLP_TYP = S5 */
	ACPI_PM_RESET,	   /* ACPI_PM_RESET_VALUE written to the reset register */
};

struct acpi_pm_ops {
	void (*set_sci)(void *opaque, bool level);
	void (*event)(void *opaque, enum acpi_pm_event ev);
	uint64_t (*now_ns)(void *opaque); /* a monotonic clock, for PM_TMR */
};

/* The register model (no KVM, no bus): devices/acpi_pm.c wires it to a VM. */
struct acpi_pm {
	pthread_mutex_t lock; /* vCPU threads and the control plane's power button */
	const struct acpi_pm_ops *ops;
	void *opaque;
	uint16_t sts, en, cnt;
	bool sci_level;
};

void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_ops *ops, void *opaque);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Guest access at @offset in the block, 1 <= @len <= 4 bytes, little-endian. */
uint32_t acpi_pm_read(struct acpi_pm *pm, unsigned int offset, unsigned int len);
void acpi_pm_write(struct acpi_pm *pm, unsigned int offset, uint32_t val, unsigned int len);
/* Press the power button: PWRBTN_STS, and the SCI if the guest enabled it.  Any thread. */
void acpi_pm_power_button(struct acpi_pm *pm);

/*
 * AML byte code, written into a caller's buffer.  Scope, Device, Package and
 * ResourceTemplate open an object whose length is only known at its end: they
 * return a mark that the matching end call takes.  Errors stick: the first
 * one (-ENOSPC no room, -EINVAL a bad name or ID) is kept in @err and later
 * calls do nothing.  Names are one NameSeg of up to 4 characters, optionally
 * with a root prefix: "\\_SB", "COM1", "_S5".
 */
struct aml {
	uint8_t *buf;
	size_t cap, len;
	int err;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_package(struct aml *a, uint8_t nr_elements);
void aml_end(struct aml *a, size_t mark); /* closes Scope, Device, Package */
/* Name (name, object): the object is whatever is emitted next. */
void aml_name(struct aml *a, const char *name);
void aml_integer(struct aml *a, uint64_t value);
void aml_eisa_id(struct aml *a, const char *id); /* "PNP0501" */
size_t aml_resource_template(struct aml *a);
void aml_io(struct aml *a, uint16_t base, uint8_t len); /* fixed 16-bit decoded ports */
void aml_irq_no_flags(struct aml *a, unsigned int irq); /* ISA IRQ: edge, active high */
/* A bridge's fixed window [min, max], in the smallest Word/DWord/QWord descriptor that fits. */
enum aml_space { AML_SPACE_MEMORY, AML_SPACE_IO, AML_SPACE_BUS };
void aml_address_space(struct aml *a, enum aml_space space, uint64_t min, uint64_t max);
void aml_resource_template_end(struct aml *a, size_t mark);

#endif
