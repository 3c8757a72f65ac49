// SPDX-License-Identifier: MIT
/* C entry, the PVH start info and the ways out of the guest. */
#include "guest.h"

noreturn void guest_start(uint32_t start_info_paddr);

static const struct hvm_start_info *start_info;

noreturn void guest_start(uint32_t start_info_paddr)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info_paddr;

	if (si && si->magic == HVM_START_MAGIC)
		start_info = si;
	serial_init();
	guest_exit(main());
}

const struct hvm_start_info *guest_start_info(void)
{
	return start_info;
}

/* Only the identity-mapped first 4 GiB can be read. */
static bool paddr_ok(uint64_t paddr)
{
	return paddr && paddr < 0x100000000ULL;
}

const char *guest_cmdline(void)
{
	if (!start_info || !paddr_ok(start_info->cmdline_paddr))
		return "";
	return (const char *)(uintptr_t)start_info->cmdline_paddr;
}

uint32_t guest_memmap(const struct hvm_memmap_entry **entries)
{
	*entries = NULL;
	if (!start_info || start_info->version < 1 || !paddr_ok(start_info->memmap_paddr))
		return 0;
	*entries = (const void *)(uintptr_t)start_info->memmap_paddr;
	return start_info->memmap_entries;
}

bool cmdline_get(const char *key, const char **val, size_t *len)
{
	const char *p = guest_cmdline();
	size_t klen = strlen(key);

	while (*p) {
		const char *word;

		while (*p == ' ')
			p++;
		word = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - word) > klen && !memcmp(word, key, klen) && word[klen] == '=') {
			*val = word + klen + 1;
			*len = p - *val;
			return true;
		}
	}
	return false;
}

void guest_debug_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
}

void guest_i8042_reset(void)
{
	outb(I8042_CMD_PORT, I8042_CMD_RESET);
}

noreturn void guest_triple_fault(void)
{
	static const struct {
		uint16_t pad[3];
		uint16_t limit;
		uint64_t base;
	} __attribute__((aligned(16))) empty_idt;

	/*
	 * #UD -> no gate (limit 0) -> #GP -> #DF -> shutdown.  Not int3: a
	 * software interrupt at CPL0 is an emulation failure on PVM hosts.
	 */
	asm volatile("cli; lidt %0; ud2" : : "m"(empty_idt.limit));
	for (;;)
		asm volatile("cli; hlt");
}

noreturn void guest_exit(int code)
{
	irq_disable();
	if (code == 0) {
		guest_i8042_reset();
	} else {
		guest_debug_exit(code);
		printf("guest: isa-debug-exit is missing; exit code %d lost\n", code);
	}
	guest_triple_fault();
}
