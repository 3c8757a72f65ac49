// SPDX-License-Identifier: MIT
/*
 * Linux bzImage boot through the 64-bit boot protocol (Documentation/x86/
 * boot.rst): check the setup header, load the protected-mode kernel, build
 * the zero page (boot_params: command line, initrd, e820 map, RSDP, -dtb as
 * setup_data) and enter startup_64 in long mode with %rsi -> zero page.  The
 * 16-bit setup code never runs.  Everything is checked before anything is
 * written, and every offset and size read from the file against the file.
 */
#include <errno.h>
#include <libfdt.h>
#include <string.h>

#include "bootparam.h"
#include "e820.h"
#include "error.h"
#include "layout.h"

#define HDR_OFF(field) offsetof(struct boot_params, hdr.field)
#define HDR_START      BP_SETUP_HEADER_OFF

#define VERSION_MIN	   0x0206
#define VERSION_XLOADFLAGS 0x020c
#define VERSION_RSDP	   0x020e /* boot_params.acpi_rsdp_addr */

/* The header must reach past every field kvmini reads (init_size is the last). */
#define HDR_END_MIN (HDR_OFF(init_size) + sizeof(uint32_t))

#define SETUP_DATA_MAX (BOOT_CMDLINE_ADDR - BOOT_SETUP_DATA_ADDR - sizeof(struct setup_data))

/* What the loader decided, before anything is written to guest memory. */
struct bzimage {
	struct setup_header hdr; /* the file's */
	size_t hdr_end;		 /* file offset where the header ends */
	uint64_t kernel_off;	 /* the protected-mode kernel in the file */
	uint64_t kernel_size;
	uint64_t load_addr;  /* where it runs: startup_64 is at +0x200 */
	uint64_t kernel_end; /* the kernel uses [load_addr, kernel_end) while it boots */
	uint64_t initrd_addr;
	size_t cmdline_len;
};

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + MIB - 1) / MIB;
}

static bool bzimage_probe(const uint8_t *image, size_t size)
{
	uint16_t flag;
	uint32_t magic;

	/* Either magic will do: a file with only one is told what it lacks. */
	if (size < HDR_OFF(version))
		return false;
	memcpy(&flag, image + HDR_OFF(boot_flag), sizeof(flag));
	memcpy(&magic, image + HDR_OFF(header), sizeof(magic));
	return flag == BP_BOOT_FLAG || magic == BP_HDRS_MAGIC;
}

/* The magic numbers, the version and the setup sectors.  0 or -ENOEXEC. */
static int bz_check_magic(const uint8_t *image, size_t size, struct bzimage *bz)
{
	const struct setup_header *h = &bz->hdr;
	uint64_t setup_sects;

	memcpy(&bz->hdr, image + HDR_START,
	       size - HDR_START < sizeof(bz->hdr) ? size - HDR_START : sizeof(bz->hdr));
	if (h->boot_flag != BP_BOOT_FLAG)
		return err_set(ENOEXEC, "not a Linux bzImage: no boot flag 0xAA55 at 0x1fe");
	if (h->header != BP_HDRS_MAGIC)
		return err_set(ENOEXEC, "not a Linux bzImage: no \"HdrS\" setup header magic at "
					"0x202");
	if (size < HDR_END_MIN)
		return err_set(ENOEXEC, "bzImage is truncated (%zu bytes): no whole setup header",
			       size);
	if (h->version < VERSION_MIN)
		return err_set(ENOEXEC,
			       "boot protocol %u.%02u is too old; kvmini needs 2.06 or later",
			       h->version >> 8, h->version & 0xff);
	setup_sects = h->setup_sects ? h->setup_sects : BP_SETUP_SECTS_DEF;
	bz->kernel_off = (setup_sects + 1) * BP_SECTOR_SIZE;
	if (bz->kernel_off > size)
		return err_set(ENOEXEC,
			       "bzImage is truncated: its setup code (%llu sectors) runs past the "
			       "end of the file (%zu bytes)",
			       (unsigned long long)setup_sects, size);
	return 0;
}

/* The rest of the header, now known to lie inside the file.  0 or -ENOEXEC. */
static int bz_check_header(size_t size, struct bzimage *bz)
{
	const struct setup_header *h = &bz->hdr;

	if (!(h->loadflags & LOADED_HIGH))
		return err_set(ENOEXEC, "zImage kernels (not loaded high) are not supported");
	if (h->version < VERSION_XLOADFLAGS || !(h->xloadflags & XLF_KERNEL_64))
		return err_set(ENOEXEC, "the kernel has no 64-bit entry point (XLF_KERNEL_64, boot "
					"protocol 2.12+); kvmini boots 64-bit kernels only");
	/* "jmp short" over the header: its offset is the header's length. */
	bz->hdr_end = HDR_OFF(header) + (h->jump >> 8);
	if ((h->jump & 0xff) != 0xeb || bz->hdr_end < HDR_END_MIN ||
	    bz->hdr_end > BP_SETUP_HEADER_MAX_END)
		return err_set(ENOEXEC,
			       "malformed setup header (the jump at 0x200 gives it no valid "
			       "length)");
	bz->kernel_size = (uint64_t)h->syssize * 16;
	if (!bz->kernel_size)
		return err_set(ENOEXEC, "the setup header gives no kernel size (syssize is 0)");
	if (bz->kernel_size > size - bz->kernel_off)
		return err_set(ENOEXEC,
			       "bzImage is truncated: the kernel is %llu bytes at offset 0x%llx, "
			       "but the file has only %zu bytes",
			       (unsigned long long)bz->kernel_size,
			       (unsigned long long)bz->kernel_off, size);
	if (h->relocatable_kernel &&
	    (!h->kernel_alignment || (h->kernel_alignment & (h->kernel_alignment - 1))))
		return err_set(ENOEXEC, "bad kernel_alignment 0x%x (not a power of two)",
			       h->kernel_alignment);
	return 0;
}

/*
 * Load at pref_address; a relocatable kernel whose pref_address is unusable
 * (below 1 MiB, unaligned) goes to the next aligned address.  Never below
 * pref_address: x86-64 Linux runs at pref_address when loaded lower anyway.
 */
static int bz_place_kernel(const struct guest_mem *mem, struct bzimage *bz)
{
	const struct setup_header *h = &bz->hdr;
	uint64_t need = h->init_size > bz->kernel_size ? h->init_size : bz->kernel_size;
	uint64_t addr = h->pref_address ? h->pref_address : BIOS_AREA_END;

	if (addr > 4 * GIB)
		return err_set(ENOEXEC, "the kernel wants to run at 0x%llx, above 4 GiB",
			       (unsigned long long)addr);
	if (h->relocatable_kernel) {
		uint64_t a = h->kernel_alignment;

		if (addr < BIOS_AREA_END)
			addr = BIOS_AREA_END;
		addr = (addr + a - 1) & ~(a - 1);
	} else if (addr < BIOS_AREA_END) {
		return err_set(ENOEXEC,
			       "the kernel must run at 0x%llx, inside the first MiB that "
			       "kvmini keeps for boot data",
			       (unsigned long long)addr);
	}
	if (addr + need > 4 * GIB || !guest_mem_ptr(mem, addr, need))
		return err_set(ENOMEM,
			       "the kernel needs %llu MiB of RAM from 0x%llx (its init_size): give "
			       "more memory with -m (at least %lluM)",
			       (unsigned long long)mib_up(need), (unsigned long long)addr,
			       (unsigned long long)mib_up(addr + need));
	bz->load_addr = addr;
	bz->kernel_end = addr + need;
	return 0;
}

/*
 * As high as initrd_addr_max allows above the kernel's init_size, else below
 * the kernel (out of the first MiB), else above 4 GiB if the kernel can take that.
 */
static int bz_place_initrd(const struct guest_mem *mem, const struct boot_params_in *in,
			   struct bzimage *bz)
{
	uint64_t max = (uint64_t)bz->hdr.initrd_addr_max + 1;
	uint64_t below = bz->load_addr < max ? bz->load_addr : max;
	uint64_t ram = guest_mem_total(mem);

	if (!in->initrd)
		return 0;
	if (!boot_place_high(mem, in->initrd_size, bz->kernel_end, max, &bz->initrd_addr) ||
	    !boot_place_high(mem, in->initrd_size, BIOS_AREA_END, below, &bz->initrd_addr))
		return 0;
	if ((bz->hdr.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) &&
	    !boot_place_high(mem, in->initrd_size, HIGH_RAM_START, UINT64_MAX, &bz->initrd_addr))
		return 0;
	return err_set(ENOMEM,
		       "-initrd: %llu MiB initrd does not fit below the kernel's initrd_addr_max "
		       "(%llu MiB) with -m %lluM%s",
		       (unsigned long long)mib_up(in->initrd_size), (unsigned long long)(max / MIB),
		       (unsigned long long)(ram / MIB),
		       ram < max ? ": give more memory with -m" : "");
}

static int bz_check_cmdline(const struct boot_params_in *in, struct bzimage *bz)
{
	uint64_t max = bz->hdr.cmdline_size;
	bool ours = BOOT_CMDLINE_MAX - 1 < max;

	bz->cmdline_len = in->cmdline ? strlen(in->cmdline) : 0;
	if (ours)
		max = BOOT_CMDLINE_MAX - 1;
	if (bz->cmdline_len > max)
		return err_set(E2BIG, "kernel command line too long (%zu bytes; %s at most %llu)",
			       bz->cmdline_len, ours ? "kvmini passes" : "this kernel takes",
			       (unsigned long long)max);
	return 0;
}

static int bz_check_dtb(const struct boot_params_in *in)
{
	int ret;

	if (!in->dtb)
		return 0;
	ret = fdt_check_full(in->dtb, in->dtb_size);
	if (ret)
		return err_set(EINVAL, "-dtb: not a valid device tree blob (%s)",
			       fdt_strerror(ret));
	if (fdt_totalsize(in->dtb) > SETUP_DATA_MAX)
		return err_set(EFBIG,
			       "-dtb: the device tree is %u bytes; kvmini passes at most %llu",
			       fdt_totalsize(in->dtb), (unsigned long long)SETUP_DATA_MAX);
	return 0;
}

/* The zero page: the file's setup header, then what the loader fills in. */
static int bz_zero_page(const struct guest_mem *mem, const struct boot_params_in *in,
			const struct bzimage *bz, struct boot_params *bp)
{
	struct setup_header *h = &bp->hdr;
	struct e820_entry e820[E820_MAX_ENTRIES];
	int n = e820_build(mem, e820, E820_MAX_ENTRIES);

	if (n < 0)
		return err_set(-n, "too many memory map entries");
	memset(bp, 0, sizeof(*bp));
	/* The file's header may be longer than the fields kvmini knows. */
	memcpy((uint8_t *)bp + HDR_START, in->image + HDR_START, bz->hdr_end - HDR_START);
	h->type_of_loader = BP_LOADER_UNDEFINED;
	h->code32_start = (uint32_t)bz->load_addr;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	if (in->initrd) {
		h->ramdisk_image = (uint32_t)bz->initrd_addr;
		bp->ext_ramdisk_image = (uint32_t)(bz->initrd_addr >> 32);
		h->ramdisk_size = (uint32_t)in->initrd_size;
		bp->ext_ramdisk_size = (uint32_t)((uint64_t)in->initrd_size >> 32);
	}
	h->setup_data = in->dtb ? BOOT_SETUP_DATA_ADDR : 0;
	if (h->version >= VERSION_RSDP)
		bp->acpi_rsdp_addr = in->rsdp_addr;
	for (int i = 0; i < n; i++)
		bp->e820_table[i] =
			(struct boot_e820_entry){ e820[i].addr, e820[i].size, e820[i].type };
	bp->e820_entries = (uint8_t)n;
	return 0;
}

static int bz_write(struct guest_mem *mem, const struct boot_params_in *in,
		    const struct bzimage *bz)
{
	struct boot_params bp;
	int ret = bz_zero_page(mem, in, bz, &bp);

	if (ret)
		return ret;
	if (in->dtb) {
		struct setup_data sd = { .type = SETUP_DTB, .len = fdt_totalsize(in->dtb) };

		if (guest_mem_write(mem, BOOT_SETUP_DATA_ADDR, &sd, sizeof(sd)) ||
		    guest_mem_write(mem, BOOT_SETUP_DATA_ADDR + sizeof(sd), in->dtb, sd.len))
			return err_set(EFAULT, "no RAM for the boot data");
	}
	if (guest_mem_write(mem, BOOT_CMDLINE_ADDR, in->cmdline ? in->cmdline : "",
			    bz->cmdline_len + 1) ||
	    guest_mem_write(mem, BOOT_ZERO_PAGE_ADDR, &bp, sizeof(bp)))
		return err_set(EFAULT, "no RAM for the boot data");
	/* Both ranges were placed in RAM: a failure here is a kvmini bug. */
	if (guest_mem_write(mem, bz->load_addr, in->image + bz->kernel_off, bz->kernel_size) ||
	    (in->initrd && guest_mem_write(mem, bz->initrd_addr, in->initrd, in->initrd_size)))
		return err_set(EFAULT, "kernel or initrd placed outside RAM");
	return 0;
}

static int bzimage_load(struct guest_mem *mem, const struct boot_params_in *in,
			struct boot_cpu *cpu)
{
	struct bzimage bz = { 0 };
	int ret = bz_check_magic(in->image, in->image_size, &bz);

	if (!ret)
		ret = bz_check_header(in->image_size, &bz);
	if (!ret)
		ret = bz_place_kernel(mem, &bz);
	if (!ret)
		ret = bz_check_cmdline(in, &bz);
	if (!ret)
		ret = bz_place_initrd(mem, in, &bz);
	if (!ret)
		ret = bz_check_dtb(in);
	if (!ret)
		ret = bz_write(mem, in, &bz);
	if (!ret)
		ret = boot_cpu_long_mode(mem, cpu);
	if (ret)
		return ret;
	cpu->regs.rip = bz.load_addr + BP_ENTRY64_OFF;
	cpu->regs.rsi = BOOT_ZERO_PAGE_ADDR;
	return 0;
}

const struct boot_loader bzimage_loader = {
	.name = "Linux bzImage",
	.probe = bzimage_probe,
	.load = bzimage_load,
};
