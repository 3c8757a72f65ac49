// SPDX-License-Identifier: MIT
/*
 * The ACPI PM register block the FADT points at (ACPI 6.3, 4.8: fixed
 * hardware): PM1a status/enable/control, the PM timer, the reset register.
 * The register model is plain state behind struct acpi_pm_ops, so it is
 * unit-tested without KVM; acpi_pm_create() wires it to a VM's I/O bus.
 *
 * What exists: the power button (status, enable, SCI), S5 via SLP_TYP/SLP_EN,
 * a 32-bit PM timer at 3.579545 MHz, and the reset register.  There is no
 * SMI_CMD, so SCI_EN reads 1 (always in ACPI mode).  GBL_EN sticks: there is
 * no firmware to contend for the FACS global lock, so its event never fires,
 * but OSPM (ACPICA) reports an error when the bit does not stick.  Enable
 * bits for events that do not exist (timer overflow, RTC, sleep button) stay
 * 0.  Other sleep types than S5 are ignored: the DSDT declares only \_S5.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi.h"
#include "device.h"
#include "error.h"
#include "snapshot.h"
#include "vm.h"

enum pm_reg { REG_STS, REG_EN, REG_CNT, REG_TMR, REG_RESET, NR_REGS };

static const struct {
	uint8_t offset, width;
} pm_regs[NR_REGS] = {
	[REG_STS] = { ACPI_PM1_STS, 2 },	[REG_EN] = { ACPI_PM1_EN, 2 },
	[REG_CNT] = { ACPI_PM1_CNT, 2 },	[REG_TMR] = { ACPI_PM_TMR, 4 },
	[REG_RESET] = { ACPI_PM_RESET_REG, 1 },
};

#define EN_WRITABLE  (ACPI_PM1_PWRBTN | ACPI_PM1_GBL_EN)
#define CNT_WRITABLE ACPI_PM1_CNT_SLP_TYP_MASK
#define NS_PER_SEC   1000000000ULL

void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_ops *ops, void *opaque)
{
	*pm = (struct acpi_pm){ .ops = ops, .opaque = opaque };
	pthread_mutex_init(&pm->lock, NULL);
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

/* The SCI is level-triggered: asserted while an enabled event is pending. */
static void pm_update_sci(struct acpi_pm *pm)
{
	bool level = pm->sts & pm->en;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		pm->ops->set_sci(pm->opaque, level);
	}
}

/* 3.579545 MHz ticks, wrapping at 32 bits; split so ns * Hz cannot overflow. */
static uint32_t pm_timer(struct acpi_pm *pm)
{
	uint64_t ns = pm->ops->now_ns(pm->opaque);

	return (uint32_t)((ns / NS_PER_SEC) * ACPI_PM_TMR_HZ +
			  (ns % NS_PER_SEC) * ACPI_PM_TMR_HZ / NS_PER_SEC);
}

static uint32_t pm_reg_read(struct acpi_pm *pm, enum pm_reg r)
{
	switch (r) {
	case REG_STS:
		return pm->sts;
	case REG_EN:
		return pm->en;
	case REG_CNT:
		return pm->cnt | ACPI_PM1_CNT_SCI_EN;
	case REG_TMR:
		return pm_timer(pm);
	default:
		return 0; /* the reset register is write-only */
	}
}

/* Write the bits in @mask of register @r. */
static void pm_reg_write(struct acpi_pm *pm, enum pm_reg r, uint32_t val, uint32_t mask)
{
	val &= mask;
	switch (r) {
	case REG_STS:
		pm->sts &= (uint16_t)~val;
		break;
	case REG_EN:
		pm->en = (uint16_t)((pm->en & ~mask) | (val & EN_WRITABLE));
		break;
	case REG_CNT:
		pm->cnt = (uint16_t)((pm->cnt & ~mask) | (val & CNT_WRITABLE));
		if ((val & ACPI_PM1_CNT_SLP_EN) &&
		    (pm->cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT ==
			    ACPI_SLP_TYP_S5)
			pm->ops->event(pm->opaque, ACPI_PM_POWER_OFF);
		break;
	case REG_RESET:
		if (val == ACPI_PM_RESET_VALUE)
			pm->ops->event(pm->opaque, ACPI_PM_RESET);
		break;
	default:
		break; /* the timer is read-only */
	}
}

/*
 * An access may cover parts of several registers (a 32-bit access at PM1_STS
 * is status and enable): each register gets the bytes that fall on it.
 */
static bool pm_overlap(enum pm_reg r, unsigned int offset, unsigned int len)
{
	return pm_regs[r].offset < offset + len && offset < pm_regs[r].offset + pm_regs[r].width;
}

/* Move @v between the byte lanes of an access at @offset and register @r's: into @r if @to_reg. */
static uint64_t pm_shift(enum pm_reg r, unsigned int offset, uint64_t v, bool to_reg)
{
	unsigned int start = pm_regs[r].offset;
	bool reg_first = start >= offset;
	unsigned int bits = 8 * (reg_first ? start - offset : offset - start);

	return reg_first != to_reg ? v << bits : v >> bits;
}

static uint64_t bytes_mask(unsigned int len)
{
	return len >= 8 ? UINT64_MAX : (1ULL << (8 * len)) - 1;
}

uint32_t acpi_pm_read(struct acpi_pm *pm, unsigned int offset, unsigned int len)
{
	uint64_t val = 0;

	pthread_mutex_lock(&pm->lock);
	for (enum pm_reg r = 0; r < NR_REGS; r++) {
		if (pm_overlap(r, offset, len))
			val |= pm_shift(r, offset, pm_reg_read(pm, r), false);
	}
	pthread_mutex_unlock(&pm->lock);
	return (uint32_t)(val & bytes_mask(len));
}

void acpi_pm_write(struct acpi_pm *pm, unsigned int offset, uint32_t val, unsigned int len)
{
	pthread_mutex_lock(&pm->lock);
	for (enum pm_reg r = 0; r < NR_REGS; r++) {
		uint64_t mask;

		if (!pm_overlap(r, offset, len))
			continue;
		mask = pm_shift(r, offset, bytes_mask(len), true) & bytes_mask(pm_regs[r].width);
		pm_reg_write(pm, r, (uint32_t)pm_shift(r, offset, val, true), (uint32_t)mask);
	}
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* The block on a VM: SCI on an ISA interrupt line, events end the VM. */
struct acpi_pm_device {
	struct acpi_pm pm;
	struct vm *vm;
	unsigned int sci_gsi;
};

static void pm_set_sci(void *opaque, bool level)
{
	struct acpi_pm_device *d = opaque;

	vm_set_irq_line(d->vm, d->sci_gsi, level);
}

/* Power off ends kvmini with status 0, and so does a reset: kvmini runs as -no-reboot. */
static void pm_event(void *opaque, enum acpi_pm_event ev)
{
	struct acpi_pm_device *d = opaque;

	vm_request_shutdown(d->vm, EXIT_OK,
			    ev == ACPI_PM_POWER_OFF ? VM_CAUSE_GUEST_SHUTDOWN
						    : VM_CAUSE_GUEST_RESET);
}

static uint64_t pm_now_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static const struct acpi_pm_ops pm_device_ops = {
	.set_sci = pm_set_sci,
	.event = pm_event,
	.now_ns = pm_now_ns,
};

static void pm_pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm_device *d = opaque;
	uint32_t val = acpi_pm_read(&d->pm, (unsigned int)offset, len < 4 ? len : 4);

	memset(data, 0, len);
	memcpy(data, &val, len < 4 ? len : 4);
}

static void pm_pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm_device *d = opaque;
	uint32_t val = 0;

	memcpy(&val, data, len < 4 ? len : 4);
	acpi_pm_write(&d->pm, (unsigned int)offset, val, len < 4 ? len : 4);
}

static const struct bus_ops pm_bus_ops = {
	.read = pm_pio_read,
	.write = pm_pio_write,
};

static void pm_device_destroy(void *opaque)
{
	struct acpi_pm_device *d = opaque;

	acpi_pm_destroy(&d->pm);
	free(d);
}

/* Snapshots: PM1 status, enable and control; the timer follows the host clock. */
static void pm_save(void *opaque, struct snap_buf *out)
{
	struct acpi_pm *pm = &((struct acpi_pm_device *)opaque)->pm;
	uint16_t regs[3];

	pthread_mutex_lock(&pm->lock);
	regs[0] = pm->sts;
	regs[1] = pm->en;
	regs[2] = pm->cnt;
	pthread_mutex_unlock(&pm->lock);
	snap_buf_put(out, regs, sizeof(regs));
}

static int pm_load(void *opaque, const uint8_t *data, size_t len)
{
	struct acpi_pm *pm = &((struct acpi_pm_device *)opaque)->pm;
	uint16_t regs[3];

	if (len != sizeof(regs))
		return err_set(EINVAL, "the saved PM registers are malformed");
	memcpy(regs, data, sizeof(regs));
	pthread_mutex_lock(&pm->lock);
	pm->sts = regs[0];
	pm->en = regs[1];
	pm->cnt = regs[2];
	/* KVM's irqchip state does not hold the line level: drive it again. */
	pm->sci_level = !(pm->sts & pm->en);
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const struct vm_state_ops pm_state_ops = {
	.save = pm_save,
	.load = pm_load,
};

int acpi_pm_create(struct vm *vm, uint16_t base, unsigned int sci_gsi, struct acpi_pm **pm)
{
	struct acpi_pm_device *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->sci_gsi = sci_gsi;
	acpi_pm_init(&d->pm, &pm_device_ops, d);
	ret = vm_add_cleanup(vm, pm_device_destroy, d);
	if (ret) {
		pm_device_destroy(d);
		return ret;
	}
	ret = bus_register(&vm->pio, base, ACPI_PM_IO_LEN, &pm_bus_ops, d);
	if (ret == -EEXIST)
		return err_set(EBUSY, "ACPI PM: I/O ports 0x%x-0x%x are taken by another device",
			       base, base + ACPI_PM_IO_LEN - 1);
	if (!ret)
		ret = vm_register_state(vm, "acpi-pm", &pm_state_ops, d);
	if (ret)
		return ret;
	if (pm)
		*pm = &d->pm;
	return 0;
}
