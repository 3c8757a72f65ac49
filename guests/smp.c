// SPDX-License-Identifier: MIT
/*
 * Starts the other CPUs through INIT/SIPI (see lib/smp.h) and checks that
 * each reaches C with its own APIC ID.  Which CPUs to expect:
 *   cpus=N      on the command line: APIC IDs 0..N-1;
 *   otherwise the enabled local APICs of the ACPI MADT (through
 *   hvm_start_info.rsdp_paddr), or else the boot CPU alone.
 * With sipi=each, INIT/SIPI/SIPI go to each expected APIC ID in turn instead
 * of one broadcast to all but self; with apic=x2apic the boot CPU sends them
 * in x2APIC mode (through the ICR MSR, as Linux does on KVM).
 * Prints "smp: expecting N CPUs (<source>)", "smp: AP <APIC ID> up" from each
 * AP, then "smp: N CPUs up, APIC IDs: 0 1 ..." and exits 0.  If not all APs
 * come up in time it says how far they got and which are missing (exit 1).
 */
#include "acpi.h"
#include "smp.h"

/* How long to wait for the APs: 2.5 to 10 s for a TSC of 1 to 4 GHz. */
#define AP_TIMEOUT_TICKS 10000000000ULL

static struct spinlock console_lock;
static uint32_t aps_up;
static uint32_t apic_seen[LAPIC_MAX_ID + 1];
static uint32_t id_mismatches;

/*
 * Runs on each AP.  It is recorded and counted under the console lock, after
 * its line is out: what the boot CPU reports under that lock matches the
 * lines before it.
 */
static void ap_main(void)
{
	unsigned int id = lapic_id(), cpuid_id = cpuid_apic_id();

	spin_lock(&console_lock);
	if (cpuid_id != id) {
		printf("smp: AP %u: CPUID leaf 1 says APIC ID %u\n", id, cpuid_id);
		atomic_fetch_add32(&id_mismatches, 1);
	}
	printf("smp: AP %u up\n", id);
	apic_seen[id]++;
	atomic_fetch_add32(&aps_up, 1);
	spin_unlock(&console_lock);
}

/* CPL3 (native on PVM hosts): wait until *arg APs are up or the time is over. */
static long wait_for_aps(void *arg)
{
	uint32_t want = *(const uint32_t *)arg;
	uint64_t t0 = rdtsc();

	while (atomic_read32(&aps_up) < want && rdtsc() - t0 < AP_TIMEOUT_TICKS)
		cpu_pause();
	return 0;
}

/* ---- Which CPUs to expect ----------------------------------------------- */

static bool expected[LAPIC_MAX_ID + 1];
static unsigned int nr_expected;

static void expect_cpu(uint32_t apic_id)
{
	if (!expected[apic_id]) {
		expected[apic_id] = true;
		nr_expected++;
	}
}

/* cpus=N: 1 if given and valid, 0 if not given, -1 if malformed. */
static int cpus_from_cmdline(void)
{
	const char *val;
	size_t len, i = 0;
	unsigned int n = 0;

	if (!cmdline_get("cpus", &val, &len))
		return 0;
	while (i < len && i < 3 && val[i] >= '0' && val[i] <= '9')
		n = n * 10 + (val[i++] - '0');
	if (i != len || n < 1 || n > SMP_MAX_CPUS) {
		printf("smp: cpus= wants a number from 1 to %u\n", SMP_MAX_CPUS);
		return -1;
	}
	for (unsigned int id = 0; id < n; id++)
		expect_cpu(id);
	return 1;
}

/* For acpi_madt_cpus(): @arg is a bool set when an APIC ID is beyond this test. */
static void expect_madt_cpu(uint32_t apic_id, void *arg)
{
	if (apic_id > LAPIC_MAX_ID || nr_expected == SMP_MAX_CPUS) {
		printf("smp: MADT: APIC ID %u: beyond what this test handles\n", apic_id);
		*(bool *)arg = true;
		return;
	}
	expect_cpu(apic_id);
}

/* The enabled local APICs of the MADT: 1 if there is one, 0 if not, -1 if unusable. */
static int cpus_from_madt(void)
{
	const struct hvm_start_info *si = guest_start_info();
	bool beyond = false;

	if (!si || acpi_madt_cpus(si->rsdp_paddr, expect_madt_cpu, &beyond) < 0)
		return 0;
	return beyond ? -1 : 1;
}

/* ---- Starting the APs ---------------------------------------------------- */

static bool cmdline_is(const char *key, const char *word)
{
	const char *val;
	size_t len;

	return cmdline_get(key, &val, &len) && len == strlen(word) && !memcmp(val, word, len);
}

static bool start_aps(unsigned int bsp_id)
{
	if (!cmdline_is("sipi", "each"))
		return smp_start_aps(SMP_ALL_BUT_SELF);
	for (unsigned int id = 0; id <= LAPIC_MAX_ID; id++)
		if (expected[id] && id != bsp_id && !smp_start_aps(id))
			return false;
	return true;
}

int main(void)
{
	unsigned int bsp_id = lapic_id();
	const char *source = "cpus=";
	uint32_t want, up;
	bool ok = true;
	int found;

	if (cpuid_apic_id() != bsp_id) {
		printf("smp: BSP: CPUID leaf 1 says APIC ID %u, the xAPIC %u\n", cpuid_apic_id(),
		       bsp_id);
		return GUEST_EXIT_FAIL;
	}
	found = cpus_from_cmdline();
	if (!found) {
		source = "MADT";
		found = cpus_from_madt();
	}
	if (!found) {
		source = "default";
		expect_cpu(bsp_id);
	}
	if (found < 0)
		return GUEST_EXIT_FAIL;
	if (!expected[bsp_id]) {
		printf("smp: the boot CPU (APIC ID %u) is not in the %s list\n", bsp_id, source);
		return GUEST_EXIT_FAIL;
	}
	printf("smp: expecting %u CPUs (%s)\n", nr_expected, source);

	if (cmdline_is("apic", "x2apic") && !lapic_enable_x2apic()) {
		console_puts("smp: CPUID offers no x2APIC\n");
		return GUEST_EXIT_FAIL;
	}
	want = nr_expected - 1;
	if (want) {
		if (!smp_prepare(ap_main))
			return GUEST_EXIT_FAIL;
		if (!start_aps(bsp_id)) {
			console_puts("smp: the local APIC did not send the IPIs\n");
			return GUEST_EXIT_FAIL;
		}
	}
	run_user(wait_for_aps, &want);

	spin_lock(&console_lock);
	up = atomic_read32(&aps_up);
	apic_seen[bsp_id]++;
	if (up < want) {
		printf("smp: timeout: %u of %u APs up (%u entered the trampoline, %u reached long "
		       "mode); missing APIC IDs:",
		       up, want, smp_aps_in_trampoline(), smp_aps_in_long_mode());
		for (unsigned int id = 0; id <= LAPIC_MAX_ID; id++)
			if (expected[id] && !apic_seen[id])
				printf(" %u", id);
		console_puts("\n");
		return GUEST_EXIT_FAIL;
	}
	printf("smp: %u CPUs up, APIC IDs:", up + 1);
	for (unsigned int id = 0; id <= LAPIC_MAX_ID; id++) {
		if (apic_seen[id])
			printf(" %u", id);
		if (apic_seen[id] > 1 || (apic_seen[id] && !expected[id]))
			ok = false;
	}
	console_puts("\n");
	if (!ok || id_mismatches) {
		console_puts("smp: unexpected or duplicate APIC IDs\n");
		return GUEST_EXIT_FAIL;
	}
	return GUEST_EXIT_OK;
}
