// SPDX-License-Identifier: MIT
/*
 * Unit tests for the ACPI PM register block (devices/acpi_pm.c): the
 * register model through fake callbacks and a fake clock, then the device on
 * a VM's I/O bus (a struct vm with no KVM behind it: the SCI ioctl fails
 * quietly, the exit request is what is checked).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acpi.h"
#include "device.h"
#include "error.h"
#include "vm.h"

#define STS ACPI_PM1_STS
#define EN  ACPI_PM1_EN
#define CNT ACPI_PM1_CNT
#define TMR ACPI_PM_TMR
#define RST ACPI_PM_RESET_REG

#define PWRBTN	   ACPI_PM1_PWRBTN
#define SLP_EN	   ACPI_PM1_CNT_SLP_EN
#define SLP_TYP(t) ((uint32_t)(t) << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define NS_PER_SEC 1000000000ULL

/* What the block told its owner. */
struct fake {
	struct acpi_pm pm;
	bool sci;
	unsigned int sci_calls;
	unsigned int power_off, reset;
	uint64_t now_ns;
};

static void fake_set_sci(void *opaque, bool level)
{
	struct fake *f = opaque;

	f->sci = level;
	f->sci_calls++;
}

static void fake_event(void *opaque, enum acpi_pm_event ev)
{
	struct fake *f = opaque;

	if (ev == ACPI_PM_POWER_OFF)
		f->power_off++;
	else if (ev == ACPI_PM_RESET)
		f->reset++;
	else
		fail_msg("unknown event %d", ev);
}

static uint64_t fake_now_ns(void *opaque)
{
	struct fake *f = opaque;

	return f->now_ns;
}

static const struct acpi_pm_ops fake_ops = {
	.set_sci = fake_set_sci,
	.event = fake_event,
	.now_ns = fake_now_ns,
};

static int setup(void **state)
{
	struct fake *f = test_calloc(1, sizeof(*f));

	if (!f)
		return -1;
	acpi_pm_init(&f->pm, &fake_ops, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	acpi_pm_destroy(&f->pm);
	test_free(f);
	return 0;
}

static uint32_t rd(struct fake *f, unsigned int offset, unsigned int len)
{
	return acpi_pm_read(&f->pm, offset, len);
}

static void wr(struct fake *f, unsigned int offset, uint32_t val, unsigned int len)
{
	acpi_pm_write(&f->pm, offset, val, len);
}

static void test_reset_state(void **state)
{
	struct fake *f = *state;

	assert_int_equal(rd(f, STS, 2), 0);
	assert_int_equal(rd(f, EN, 2), 0);
	/* No SMI_CMD in the FADT: always in ACPI mode. */
	assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(rd(f, RST, 1), 0);
	assert_int_equal(rd(f, 0x6, 2), 0);
	assert_int_equal(rd(f, 0xd, 2), 0);
	assert_false(f->sci);
	assert_int_equal(f->sci_calls, 0);
}

static void test_power_button_not_enabled(void **state)
{
	struct fake *f = *state;

	acpi_pm_power_button(&f->pm);
	assert_int_equal(rd(f, STS, 2), PWRBTN);
	assert_int_equal(f->sci_calls, 0);
	/* Enabling a pending event raises the SCI. */
	wr(f, EN, PWRBTN, 2);
	assert_int_equal(rd(f, EN, 2), PWRBTN);
	assert_true(f->sci);
	/* Writing 0 leaves status alone; writing 1 clears it and drops the SCI. */
	wr(f, STS, 0, 2);
	assert_int_equal(rd(f, STS, 2), PWRBTN);
	assert_true(f->sci);
	wr(f, STS, PWRBTN, 2);
	assert_int_equal(rd(f, STS, 2), 0);
	assert_false(f->sci);
	assert_int_equal(f->sci_calls, 2);
}

static void test_power_button_enabled(void **state)
{
	struct fake *f = *state;

	wr(f, EN, PWRBTN, 2);
	assert_int_equal(f->sci_calls, 0);
	acpi_pm_power_button(&f->pm);
	assert_true(f->sci);
	/* A second press while pending: still one level, no new edge. */
	acpi_pm_power_button(&f->pm);
	assert_int_equal(f->sci_calls, 1);
	/* Disabling drops the SCI; the status stays until cleared. */
	wr(f, EN, 0, 2);
	assert_false(f->sci);
	assert_int_equal(rd(f, STS, 2), PWRBTN);
	/* Clearing with a byte write to the high half of PM1_STS. */
	wr(f, STS + 1, PWRBTN >> 8, 1);
	assert_int_equal(rd(f, STS, 2), 0);
	assert_int_equal(f->sci_calls, 2);
}

static void test_enable_bits_without_events(void **state)
{
	struct fake *f = *state;

	/*
	 * TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN: the power button and the
	 * global lock stick (ACPICA complains otherwise), the others stay 0.
	 */
	wr(f, EN, 0xffff, 2);
	assert_int_equal(rd(f, EN, 2), PWRBTN | ACPI_PM1_GBL_EN);
	wr(f, STS, 0xffff, 2);
	assert_int_equal(rd(f, STS, 2), 0);
	assert_false(f->sci);
}

static void test_wide_access(void **state)
{
	struct fake *f = *state;

	/* One 32-bit access at PM1_STS is status (low half) and enable (high half). */
	acpi_pm_power_button(&f->pm);
	assert_int_equal(rd(f, STS, 4), PWRBTN);
	wr(f, STS, PWRBTN << 16, 4);
	assert_int_equal(rd(f, STS, 4), PWRBTN | PWRBTN << 16);
	assert_true(f->sci);
	wr(f, STS, PWRBTN | PWRBTN << 16, 4);
	assert_int_equal(rd(f, STS, 4), PWRBTN << 16);
	assert_false(f->sci);
	/* Byte reads see the right bytes. */
	assert_int_equal(rd(f, EN, 1), 0);
	assert_int_equal(rd(f, EN + 1, 1), PWRBTN >> 8);
	assert_int_equal(rd(f, STS + 1, 2), (PWRBTN << 8) & 0xffff);
}

static void test_sleep(void **state)
{
	struct fake *f = *state;

	/* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	wr(f, CNT, ACPI_PM1_CNT_SCI_EN | SLP_TYP(ACPI_SLP_TYP_S5), 2);
	assert_int_equal(f->power_off, 0);
	assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN | SLP_TYP(ACPI_SLP_TYP_S5));
	wr(f, CNT, ACPI_PM1_CNT_SCI_EN | SLP_TYP(ACPI_SLP_TYP_S5) | SLP_EN, 2);
	assert_int_equal(f->power_off, 1);
	/* SLP_EN is write-only. */
	assert_int_equal(rd(f, CNT, 2) & SLP_EN, 0);
	/* Other sleep types are not declared: nothing happens. */
	for (unsigned int t = 0; t < 8; t++) {
		if (t != ACPI_SLP_TYP_S5)
			wr(f, CNT, SLP_TYP(t) | SLP_EN, 2);
	}
	assert_int_equal(f->power_off, 1);
	assert_int_equal(f->reset, 0);
	/* SLP_TYP and SLP_EN are both in the high byte: one byte write does it. */
	wr(f, CNT + 1, (SLP_TYP(ACPI_SLP_TYP_S5) | SLP_EN) >> 8, 1);
	assert_int_equal(f->power_off, 2);
	/* A low-byte write keeps the high byte's SLP_TYP and sets no SLP_EN. */
	wr(f, CNT, 0, 1);
	assert_int_equal(f->power_off, 2);
	assert_int_equal(rd(f, CNT, 2), ACPI_PM1_CNT_SCI_EN | SLP_TYP(ACPI_SLP_TYP_S5));
}

static void test_reset_register(void **state)
{
	struct fake *f = *state;

	wr(f, RST, 0x00, 1);
	wr(f, RST, 0xff, 1);
	wr(f, RST, ACPI_PM_RESET_VALUE + 1, 1);
	assert_int_equal(f->reset, 0);
	wr(f, RST, ACPI_PM_RESET_VALUE, 1);
	assert_int_equal(f->reset, 1);
	/* A wider write that puts the value on the register's byte. */
	wr(f, RST - 1, ACPI_PM_RESET_VALUE << 8, 2);
	assert_int_equal(f->reset, 2);
	assert_int_equal(f->power_off, 0);
}

static void test_timer(void **state)
{
	struct fake *f = *state;
	uint64_t big = 10000000ULL * NS_PER_SEC + 123456789; /* ~116 days */
	uint32_t expect;

	assert_int_equal(rd(f, TMR, 4), 0);
	f->now_ns = NS_PER_SEC;
	assert_int_equal(rd(f, TMR, 4), ACPI_PM_TMR_HZ);
	f->now_ns = NS_PER_SEC + NS_PER_SEC / 2;
	assert_int_equal(rd(f, TMR, 4), ACPI_PM_TMR_HZ + ACPI_PM_TMR_HZ / 2);
	f->now_ns = 1000; /* 1 us: 3.58 ticks */
	assert_int_equal(rd(f, TMR, 4), 3);
	/* 32 bits wide, wrapping; no overflow in the arithmetic for large clocks. */
	f->now_ns = big;
	expect = (uint32_t)(10000000ULL * ACPI_PM_TMR_HZ +
			    123456789ULL * ACPI_PM_TMR_HZ / NS_PER_SEC);
	assert_int_equal(rd(f, TMR, 4), expect);
	assert_int_equal(rd(f, TMR, 2), expect & 0xffff);
	assert_int_equal(rd(f, TMR + 2, 2), expect >> 16);
	assert_int_equal(rd(f, TMR + 3, 1), expect >> 24);
	/* Read-only. */
	wr(f, TMR, 0, 4);
	assert_int_equal(rd(f, TMR, 4), expect);
	assert_int_equal(f->sci_calls, 0);
}

/* ---- The device on a VM's I/O bus. ---- */

struct vm_ctx {
	struct vm vm;
	struct acpi_pm *pm;
};

static int vm_setup(void **state)
{
	struct vm_ctx *c = test_calloc(1, sizeof(*c));

	if (!c || bus_init(&c->vm.pio, "pio"))
		return -1;
	c->vm.vm_fd = c->vm.kvm_fd = -1;
	c->vm.loop.epfd = c->vm.loop.wake_fd = -1;
	*state = c;
	return 0;
}

static int vm_teardown(void **state)
{
	struct vm_ctx *c = *state;

	while (c->vm.nr_cleanups) {
		struct vm_cleanup *cl = &c->vm.cleanups[--c->vm.nr_cleanups];

		cl->fn(cl->opaque);
	}
	bus_destroy(&c->vm.pio);
	test_free(c);
	return 0;
}

static uint32_t pio_read(struct vm_ctx *c, uint64_t port, uint32_t len)
{
	uint32_t v = 0;

	assert_true(bus_read(&c->vm.pio, port, &v, len));
	return v;
}

static void pio_write(struct vm_ctx *c, uint64_t port, uint32_t v, uint32_t len)
{
	assert_true(bus_write(&c->vm.pio, port, &v, len));
}

static void test_device_poweroff(void **state)
{
	struct vm_ctx *c = *state;
	const uint16_t base = ACPI_PM_IO_BASE;
	uint32_t t0, t1;

	assert_int_equal(acpi_pm_create(&c->vm, base, ACPI_SCI_IRQ, &c->pm), 0);
	assert_non_null(c->pm);
	/* The whole block and nothing more is claimed. */
	assert_false(bus_read(&c->vm.pio, base - 1, &t0, 1));
	assert_false(bus_read(&c->vm.pio, base + ACPI_PM_IO_LEN, &t0, 1));
	assert_int_equal(pio_read(c, base + CNT, 2), ACPI_PM1_CNT_SCI_EN);

	/* The timer runs on the host's monotonic clock. */
	t0 = pio_read(c, base + TMR, 4);
	t1 = pio_read(c, base + TMR, 4);
	assert_true(t1 - t0 < ACPI_PM_TMR_HZ);

	/* The power button from the control plane, then S5 from the guest. */
	pio_write(c, base + EN, PWRBTN, 2);
	acpi_pm_power_button(c->pm);
	assert_int_equal(pio_read(c, base + STS, 2), PWRBTN);
	assert_false(c->vm.exiting);
	pio_write(c, base + CNT, SLP_TYP(ACPI_SLP_TYP_S5) | SLP_EN, 2);
	assert_true(c->vm.exiting);
	assert_int_equal(c->vm.exit_status, EXIT_OK);
}

static void test_device_reset(void **state)
{
	struct vm_ctx *c = *state;
	const uint16_t base = 0xb000;

	assert_int_equal(acpi_pm_create(&c->vm, base, ACPI_SCI_IRQ, NULL), 0);
	pio_write(c, base + RST, 0x06, 1);
	assert_false(c->vm.exiting);
	pio_write(c, base + RST, ACPI_PM_RESET_VALUE, 1);
	assert_true(c->vm.exiting);
	assert_int_equal(c->vm.exit_status, EXIT_OK);
}

static void test_device_ports_taken(void **state)
{
	struct vm_ctx *c = *state;

	assert_int_equal(acpi_pm_create(&c->vm, 0x600, ACPI_SCI_IRQ, NULL), 0);
	assert_int_equal(acpi_pm_create(&c->vm, 0x608, ACPI_SCI_IRQ, NULL), -EBUSY);
	assert_non_null(strstr(err_msg(EBUSY), "0x608-0x617"));
	/* The failed one is cleaned up with the VM (teardown; ASan checks it). */
	assert_int_equal(c->vm.nr_cleanups, 2);
}

int main(void)
{
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TV(fn) cmocka_unit_test_setup_teardown(fn, vm_setup, vm_teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_state),	      T(test_power_button_not_enabled),
		T(test_power_button_enabled), T(test_enable_bits_without_events),
		T(test_wide_access),	      T(test_sleep),
		T(test_reset_register),	      T(test_timer),
		TV(test_device_poweroff),     TV(test_device_reset),
		TV(test_device_ports_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
