// SPDX-License-Identifier: MIT
/*
 * bzimage: a test guest booted through the Linux 64-bit boot protocol.  The
 * loader enters startup_64 (entry.S) with %rsi -> boot_params; bz_start()
 * keeps what it got and runs main() through the runtime of guests/lib, which
 * checks the zero page: setup header, memory map, command line, initrd
 * (against initrd_size= and initrd_sum= on the command line), setup_data (a
 * device tree of dtb_size= bytes), the CPUs in the ACPI MADT (against
 * expect_cpus=) and the CPU state at entry.  Prints
 * "bzimage: PASS" and exits 0, or prints what is wrong and exits 1
 * (GUEST_EXIT_FAIL); no boot_params: exit 2.
 */
#include "acpi.h"

/* boot_params offsets (Documentation/x86/zero-page.rst, boot.rst) */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_BOOT_FLAG	     0x1fe
#define BP_HEADER	     0x202
#define BP_VERSION	     0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE	     0x21c
#define BP_CMD_LINE_PTR	     0x228
#define BP_SETUP_DATA	     0x250
#define BP_INIT_SIZE	     0x260
#define BP_E820_TABLE	     0x2d0
#define BP_E820_MAX	     128
#define E820_ENTRY_SIZE	     20

#define SETUP_DTB      2
#define SETUP_DATA_MAX 16	  /* nodes followed */
#define FDT_MAGIC_LE   0xedfe0dd0 /* 0xd00dfeed, big-endian in the blob */

#define BOOT_CS	     0x10
#define BOOT_DS	     0x18
#define HDRS_MAGIC   0x53726448
#define RFLAGS_IF_ON 0x200

noreturn void guest_start(uint32_t start_info_paddr); /* lib/runtime.c */
noreturn void bz_start(const uint8_t *bp, uint64_t rflags, uint64_t cs, uint64_t ds, uint64_t ss);

extern const char __kernel_start[]; /* bzimage.ld: where we run */

static const uint8_t *boot_params;
static struct {
	uint64_t rflags, cs, ds, ss;
} entry;
/* Lets the runtime's guest_cmdline() and cmdline_get() see the command line. */
static struct hvm_start_info start_info = { .magic = HVM_START_MAGIC, .version = 1 };

static uint64_t bp_read(unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, boot_params + off, size);
	return v;
}

noreturn void bz_start(const uint8_t *bp, uint64_t rflags, uint64_t cs, uint64_t ds, uint64_t ss)
{
	boot_params = bp;
	entry.rflags = rflags;
	entry.cs = cs & 0xffff;
	entry.ds = ds & 0xffff;
	entry.ss = ss & 0xffff;
	if (bp && bp_read(BP_HEADER, 4) == HDRS_MAGIC)
		start_info.cmdline_paddr =
			bp_read(BP_CMD_LINE_PTR, 4) | bp_read(BP_EXT_CMD_LINE_PTR, 4) << 32;
	guest_start((uint32_t)(uintptr_t)&start_info);
}

static int problems;

static void check(bool ok, const char *what)
{
	if (!ok) {
		printf("bzimage: error: %s\n", what);
		problems++;
	}
}

/* A number from the command line, decimal or 0x hex; false if absent or bad. */
static bool cmdline_number(const char *key, uint64_t *out)
{
	const char *s;
	size_t len, i = 0;
	unsigned int base = 10;

	if (!cmdline_get(key, &s, &len) || !len)
		return false;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (*out = 0; i < len; i++) {
		char c = s[i] | 0x20; /* lower case */
		unsigned int d = 99;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;

		if (d >= base)
			return false;
		*out = *out * base + d;
	}
	return true;
}

static bool e820_is_ram(uint64_t addr, uint64_t size)
{
	unsigned int n = boot_params[BP_E820_ENTRIES];

	for (unsigned int i = 0; i < n && i < BP_E820_MAX; i++) {
		unsigned int off = BP_E820_TABLE + i * E820_ENTRY_SIZE;
		uint64_t a = bp_read(off, 8), s = bp_read(off + 8, 8);

		if (bp_read(off + 16, 4) == E820_RAM && addr >= a && addr - a <= s &&
		    size <= s - (addr - a))
			return true;
	}
	return false;
}

/* Entries need not be sorted (QEMU's are not), but must not overlap. */
static bool e820_overlaps(unsigned int n, unsigned int i)
{
	uint64_t a = bp_read(BP_E820_TABLE + i * E820_ENTRY_SIZE, 8);
	uint64_t s = bp_read(BP_E820_TABLE + i * E820_ENTRY_SIZE + 8, 8);

	for (unsigned int j = 0; j < n; j++) {
		uint64_t b = bp_read(BP_E820_TABLE + j * E820_ENTRY_SIZE, 8);
		uint64_t t = bp_read(BP_E820_TABLE + j * E820_ENTRY_SIZE + 8, 8);

		if (j != i && s && t && a < b + t && b < a + s)
			return true;
	}
	return false;
}

static void check_e820(void)
{
	unsigned int n = boot_params[BP_E820_ENTRIES];

	check(n > 0 && n <= BP_E820_MAX, "bad e820_entries");
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int off = BP_E820_TABLE + i * E820_ENTRY_SIZE;

		/* QEMU's firmware ends the map with an empty entry; Linux drops those. */
		printf("bzimage: e820 %#llx %#llx %u\n", (unsigned long long)bp_read(off, 8),
		       (unsigned long long)bp_read(off + 8, 8), (unsigned int)bp_read(off + 16, 4));
		check(!e820_overlaps(n, i), "e820 entries overlap");
	}
	check(n > 0 && bp_read(BP_E820_TABLE, 8) == 0 && bp_read(BP_E820_TABLE + 16, 4) == E820_RAM,
	      "the first e820 entry is not RAM at 0");
	check(e820_is_ram(0x100000, 0x100000), "no RAM at 1 MiB in the e820 map");
}

/* h = h * 31 + byte, mod 2^32: what the integration test computes. */
static uint32_t checksum(const uint8_t *p, uint64_t len)
{
	uint32_t h = 0;

	while (len--)
		h = h * 31 + *p++;
	return h;
}

static void check_initrd(void)
{
	uint64_t addr = bp_read(BP_RAMDISK_IMAGE, 4) | bp_read(BP_EXT_RAMDISK_IMAGE, 4) << 32;
	uint64_t size = bp_read(BP_RAMDISK_SIZE, 4) | bp_read(BP_EXT_RAMDISK_SIZE, 4) << 32;
	uint64_t kernel = (uintptr_t)__kernel_start, init_size = bp_read(BP_INIT_SIZE, 4);
	uint64_t want_size, want_sum;
	uint32_t sum;

	if (!cmdline_number("initrd_size", &want_size)) {
		printf("bzimage: initrd none\n");
		check(!addr && !size, "an initrd nobody asked for");
		return;
	}
	check(size == want_size, "the initrd has the wrong size");
	check(addr && !(addr & 0xfff), "the initrd is not page-aligned");
	check(e820_is_ram(addr, size), "the initrd is not in RAM");
	check(addr >= kernel + init_size || addr + size <= kernel,
	      "the initrd overlaps the kernel's init_size");
	if (!size || addr + size > 0x100000000ULL) {
		check(false, "the initrd is empty or beyond the 4 GiB this guest can read");
		return;
	}
	/* Summed at CPL0 (emulated on PVM hosts): keep test initrds small. */
	sum = checksum((const uint8_t *)(uintptr_t)addr, size);
	printf("bzimage: initrd size=%llu sum=%#x\n", (unsigned long long)size, sum);
	check(cmdline_number("initrd_sum", &want_sum) && sum == want_sum,
	      "the initrd's checksum is not initrd_sum= from the command line");
}

/* The setup_data chain; with dtb_size= on the command line, a SETUP_DTB of that size. */
static void check_setup_data(void)
{
	uint64_t next = bp_read(BP_SETUP_DATA, 8), want_dtb;
	bool dtb = false;

	for (unsigned int i = 0; next && i < SETUP_DATA_MAX; i++) {
		const uint8_t *sd = (const uint8_t *)(uintptr_t)next;
		uint32_t type, len, magic = 0;

		memcpy(&next, sd, 8);
		memcpy(&type, sd + 8, 4);
		memcpy(&len, sd + 12, 4);
		if (len >= 4)
			memcpy(&magic, sd + 16, 4);
		printf("bzimage: setup_data type=%u len=%u\n", type, len);
		if (type == SETUP_DTB && cmdline_number("dtb_size", &want_dtb)) {
			check(len == want_dtb, "the device tree has the wrong size");
			check(magic == FDT_MAGIC_LE, "the device tree has no FDT magic");
			dtb = true;
		}
	}
	check(dtb || !cmdline_number("dtb_size", &want_dtb), "no SETUP_DTB in setup_data");
}

static void print_madt_cpu(uint32_t apic_id, void *arg)
{
	(void)arg;
	printf("bzimage: madt cpu %u\n", apic_id);
}

/* With expect_cpus=N: the MADT that acpi_rsdp_addr leads to has N enabled local APICs. */
static void check_madt(void)
{
	uint64_t rsdp = bp_read(BP_ACPI_RSDP_ADDR, 8), want;
	const char *val;
	size_t len;
	int n;

	if (!cmdline_get("expect_cpus", &val, &len))
		return;
	printf("bzimage: acpi_rsdp_addr=%#llx\n", (unsigned long long)rsdp);
	n = acpi_madt_cpus(rsdp, print_madt_cpu, NULL);
	if (n < 0) {
		check(false, "no MADT through boot_params.acpi_rsdp_addr");
		return;
	}
	printf("bzimage: madt cpus=%d\n", n);
	check(cmdline_number("expect_cpus", &want) && (uint64_t)n == want,
	      "the MADT does not list expect_cpus= enabled CPUs");
}

int main(void)
{
	if (!boot_params || bp_read(BP_HEADER, 4) != HDRS_MAGIC) {
		printf("bzimage: no boot_params (%%rsi=%p)\n", boot_params);
		return GUEST_EXIT_BAD_BOOT;
	}
	printf("bzimage: cmdline=%s\n", guest_cmdline());
	printf("bzimage: entry cs=%#x ds=%#x ss=%#x if=%d\n", (unsigned int)entry.cs,
	       (unsigned int)entry.ds, (unsigned int)entry.ss, !!(entry.rflags & RFLAGS_IF_ON));
	printf("bzimage: boot_params=%p protocol=%#x loader=%#x\n", boot_params,
	       (unsigned int)bp_read(BP_VERSION, 2), (unsigned int)bp_read(BP_TYPE_OF_LOADER, 1));
	check(entry.cs == BOOT_CS && entry.ds == BOOT_DS && entry.ss == BOOT_DS,
	      "entered without __BOOT_CS/__BOOT_DS");
	check(!(entry.rflags & RFLAGS_IF_ON), "entered with interrupts on");
	check(bp_read(BP_BOOT_FLAG, 2) == 0xaa55, "no boot flag in boot_params");
	check(bp_read(BP_CMD_LINE_PTR, 4) != 0, "no cmd_line_ptr");
	check_e820();
	check_initrd();
	check_setup_data();
	check_madt();
	if (problems) {
		printf("bzimage: FAIL (%d problems)\n", problems);
		return GUEST_EXIT_FAIL;
	}
	printf("bzimage: PASS\n");
	return GUEST_EXIT_OK;
}
