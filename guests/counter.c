// SPDX-License-Identifier: MIT
/*
 * Prints "counter: N", N = 1, 2, 3..., one line about every 10 ms of TSC
 * time, for the control-plane tests: while the VM is stopped the count does
 * not move.  The waiting runs at CPL3 (native on PVM hosts), the printing
 * at CPL0 (port I/O faults at CPL3 there), a few hundred instructions a
 * line.
 *
 * The ACPI power button is enabled in PM1_EN: its SCI (IRQ 9) makes the
 * guest print "counter: power button" and power off through S5, as an OS
 * does.  "limit=N" on the command line ends the guest after N lines
 * (exit 0; without it, it counts until stopped).
 */
#include "acpi.h"

#define TICK_TSC      20000000ULL /* ~10 ms at 2 GHz */
#define SCI_IRQ	      9
#define FADT_PM1A_EVT 56 /* PM1a_EVT_BLK: PM1_STS, then PM1_EN 2 bytes on */
#define PM1_PWRBTN    (1u << 8)

static volatile bool power_button;
static uint16_t pm1_evt;

static void sci_handler(struct trap_frame *tf)
{
	uint16_t sts = inw(pm1_evt);

	(void)tf;
	/* Writing the status bit back clears it and drops the (level) SCI. */
	outw(pm1_evt, sts & PM1_PWRBTN);
	if (sts & PM1_PWRBTN)
		power_button = true;
}

/* CPL3: one tick, or less when the power button was pressed. */
static long wait_tick(void *arg)
{
	uint64_t t0 = rdtsc();

	(void)arg;
	while (rdtsc() - t0 < TICK_TSC && !power_button)
		cpu_pause();
	return 0;
}

static unsigned long parse_limit(void)
{
	const char *v;
	size_t len;
	unsigned long n = 0;

	if (!cmdline_get("limit", &v, &len))
		return 0;
	for (; len && *v >= '0' && *v <= '9'; v++, len--)
		n = n * 10 + (unsigned long)(*v - '0');
	return n;
}

int main(void)
{
	uint64_t rsdp = guest_start_info() ? guest_start_info()->rsdp_paddr : 0;
	const struct acpi_header *fadt = rsdp ? acpi_find_table(rsdp, "FACP") : NULL;
	unsigned long limit = parse_limit();

	if (fadt && fadt->length >= FADT_PM1A_EVT + 4) {
		pm1_evt = (uint16_t) * (const uint32_t *)((const uint8_t *)fadt + FADT_PM1A_EVT);
		trap_register(PIC_VECTOR(SCI_IRQ), sci_handler);
		pic_init();
		pic_unmask(SCI_IRQ);
		outw(pm1_evt + 2, PM1_PWRBTN);
		irq_enable();
	}
	printf("counter: ready%s\n", pm1_evt ? " (power button on)" : "");
	for (unsigned long n = 1; !limit || n <= limit; n++) {
		run_user(wait_tick, NULL);
		if (power_button) {
			console_puts("counter: power button\n");
			if (!acpi_power_off(rsdp))
				return GUEST_EXIT_FAIL;
			for (;;)
				irq_wait(); /* the VMM ends the VM */
		}
		printf("counter: %lu\n", n);
	}
	return GUEST_EXIT_OK;
}
