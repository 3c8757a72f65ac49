// SPDX-License-Identifier: MIT
/*
 * Reports what the VMM handed over (command line, memory map), runs a loop
 * at CPL3 and then does what "action=" on the command line asks:
 *   exit:N     guest_exit(N)
 *   reset      i8042 reset (exit 4 if the VM is still running afterwards)
 *   acpi-off   S5 through the ACPI FADT (exit 4 if the VM is still running)
 *   triple     triple fault
 *   mmio-exec  jump to 0xd0000000 (not RAM): an emulation error in the VMM
 *   ud2        an unexpected #UD: the runtime reports it and exits 3
 * Without action=, it exits 0.
 */
#include "acpi.h"

#define MMIO_EXEC_ADDR 0xd0000000UL
/* How long a VMM gets to act on a reset or power-off: 0.25 to 1 s at 1 to 4 GHz. */
#define STOP_WAIT_TICKS 1000000000ULL

static long user_sum(void *arg)
{
	long n = *(const long *)arg, sum = 0;

	for (long i = 1; i <= n; i++) {
		sum += i;
		asm volatile("" : "+r"(sum)); /* keep the loop a loop */
	}
	return sum;
}

/* CPL3 (native on PVM hosts): QEMU stops the VM a little after the request, not at once. */
static long wait_for_stop(void *arg)
{
	uint64_t t0 = rdtsc();

	(void)arg;
	while (rdtsc() - t0 < STOP_WAIT_TICKS)
		cpu_pause();
	return 0;
}

static bool parse_uint(const char *s, size_t len, unsigned int *out)
{
	unsigned int v = 0;

	if (!len || len > 9)
		return false;
	for (; len; len--, s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

static bool word_is(const char *val, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(val, word, len);
}

int main(void)
{
	const struct hvm_memmap_entry *map;
	uint64_t ram = 0;
	uint32_t n, i;
	const char *action = "exit:0";
	size_t alen = 6;
	long count = 1000000;
	unsigned int code;

	if (!guest_start_info()) {
		console_puts("probe: no valid hvm_start_info\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	printf("probe: cmdline=%s\n", guest_cmdline());
	n = guest_memmap(&map);
	for (i = 0; i < n; i++) {
		printf("probe: e820 0x%llx 0x%llx %u\n", (unsigned long long)map[i].addr,
		       (unsigned long long)map[i].size, map[i].type);
		if (map[i].type == E820_RAM)
			ram += map[i].size;
	}
	printf("probe: ram=%lluK\n", (unsigned long long)(ram >> 10));
	printf("probe: user=%ld\n", run_user(user_sum, &count));

	cmdline_get("action", &action, &alen);
	printf("probe: action=%.*s\n", (int)alen, action);

	if (alen > 5 && !memcmp(action, "exit:", 5) && parse_uint(action + 5, alen - 5, &code))
		return code;
	if (word_is(action, alen, "reset")) {
		guest_i8042_reset();
		run_user(wait_for_stop, NULL);
		console_puts("probe: still running after the i8042 reset\n");
		return GUEST_EXIT_ALIVE;
	}
	if (word_is(action, alen, "acpi-off")) {
		if (!acpi_power_off(guest_start_info()->rsdp_paddr)) {
			console_puts("probe: no FADT with a register to power off through\n");
			return GUEST_EXIT_FAIL;
		}
		run_user(wait_for_stop, NULL);
		console_puts("probe: still running after the ACPI power-off\n");
		return GUEST_EXIT_ALIVE;
	}
	if (word_is(action, alen, "triple"))
		guest_triple_fault();
	if (word_is(action, alen, "mmio-exec")) {
		((void (*)(void))MMIO_EXEC_ADDR)();
		console_puts("probe: returned from MMIO\n");
		return GUEST_EXIT_FAIL;
	}
	if (word_is(action, alen, "ud2"))
		asm volatile("ud2");
	console_puts("probe: unknown action\n");
	return GUEST_EXIT_FAIL;
}
