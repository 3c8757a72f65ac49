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
 * (exit 0; without it, it counts until stopped).  "fill=M" first fills M
 * MiB of RAM with a pattern (at CPL3: native speed on PVM hosts), checked
 * after the last line ("counter: fill ok"): the snapshot tests' and
 * benchmark's guest RAM that is not zero.
 */
#include "acpi.h"
#include "mm.h"

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

struct fill {
	uint64_t *p;
	size_t words;
};

static uint64_t fill_word(size_t i)
{
	return i * 0x9e3779b97f4a7c15ULL | 1;
}

/* CPL3: allocate and fill; 0 or -1 when RAM runs out. */
static long fill_mem(void *arg)
{
	struct fill *f = arg;

	f->p = mm_alloc(f->words * 8, 4096);
	if (!f->p)
		return -1;
	for (size_t i = 0; i < f->words; i++)
		f->p[i] = fill_word(i);
	return 0;
}

/* CPL3: the number of words that changed. */
static long check_mem(void *arg)
{
	const struct fill *f = arg;
	long bad = 0;

	for (size_t i = 0; i < f->words; i++)
		bad += f->p[i] != fill_word(i);
	return bad;
}

static unsigned long parse_number(const char *key)
{
	const char *v;
	size_t len;
	unsigned long n = 0;

	if (!cmdline_get(key, &v, &len))
		return 0;
	for (; len && *v >= '0' && *v <= '9'; v++, len--)
		n = n * 10 + (unsigned long)(*v - '0');
	return n;
}

int main(void)
{
	uint64_t rsdp = guest_start_info() ? guest_start_info()->rsdp_paddr : 0;
	const struct acpi_header *fadt = rsdp ? acpi_find_table(rsdp, "FACP") : NULL;
	unsigned long limit = parse_number("limit");
	struct fill fill = { .words = parse_number("fill") << 17 };

	if (fadt && fadt->length >= FADT_PM1A_EVT + 4) {
		pm1_evt = (uint16_t) * (const uint32_t *)((const uint8_t *)fadt + FADT_PM1A_EVT);
		trap_register(PIC_VECTOR(SCI_IRQ), sci_handler);
		pic_init();
		pic_unmask(SCI_IRQ);
		outw(pm1_evt + 2, PM1_PWRBTN);
		irq_enable();
	}
	if (fill.words && run_user(fill_mem, &fill)) {
		printf("counter: fill: out of memory\n");
		return GUEST_EXIT_FAIL;
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
	if (fill.words) {
		long bad = run_user(check_mem, &fill);

		printf("counter: fill %s (%ld words changed)\n", bad ? "BAD" : "ok", bad);
		if (bad)
			return GUEST_EXIT_FAIL;
	}
	return GUEST_EXIT_OK;
}
