// SPDX-License-Identifier: MIT
/*
 * PVH direct boot of an ELF kernel: load its PT_LOAD segments at their
 * physical addresses, find XEN_ELFNOTE_PHYS32_ENTRY, and start the CPU in
 * flat 32-bit protected mode with paging off and %ebx -> hvm_start_info
 * (command line, memory map, RSDP, the -initrd as module 0).
 * Every offset and size read from the file is checked against the file and
 * every load address against guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "e820.h"
#include "error.h"
#include "layout.h"
#include "pvh.h"

#define PVH_MEMMAP_ADDR	 (BOOT_INFO_ADDR + 0x40)
#define PVH_MODLIST_ADDR (PVH_MEMMAP_ADDR + E820_MAX_ENTRIES * sizeof(struct hvm_memmap_entry))

/* One module (the -initrd) in hvm_start_info's module list. */
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

static bool pvh_probe(const uint8_t *image, size_t size)
{
	return size >= SELFMAG && !memcmp(image, ELFMAG, SELFMAG);
}

/* The ELF header and program header table, checked.  0 or -ENOEXEC. */
static int elf_headers(const uint8_t *image, size_t size, const Elf64_Ehdr **ehdr,
		       const Elf64_Phdr **phdrs)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
	uint64_t table;

	if (size < sizeof(*eh) || memcmp(image, ELFMAG, SELFMAG))
		return err_set(ENOEXEC, "not an ELF file");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return err_set(ENOEXEC, "32-bit ELF kernels are not supported (need ELF64)");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return err_set(ENOEXEC, "not an x86-64 ELF file (e_machine %u)", eh->e_machine);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum)
		return err_set(ENOEXEC, "ELF file has no usable program headers");
	table = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > size || table > size - eh->e_phoff || eh->e_phoff % 8)
		return err_set(ENOEXEC, "ELF program headers lie outside the file (truncated?)");
	*ehdr = eh;
	*phdrs = (const Elf64_Phdr *)(image + eh->e_phoff);
	return 0;
}

static bool in_file(const Elf64_Phdr *ph, size_t size)
{
	return ph->p_offset <= size && ph->p_filesz <= size - ph->p_offset;
}

/* Look for the entry note in one PT_NOTE segment.  1 found, 0 not, <0 error. */
static int pvh_scan_notes(const uint8_t *p, uint64_t len, uint64_t *entry)
{
	while (len >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr note, *nh = &note;
		uint64_t name_sz, desc_sz;
		const uint8_t *name = p + sizeof(note), *desc;

		/* The file decides the alignment: copy the header out. */
		memcpy(&note, p, sizeof(note));
		name_sz = ((uint64_t)note.n_namesz + 3) & ~3ULL;
		desc_sz = ((uint64_t)note.n_descsz + 3) & ~3ULL;
		desc = name + name_sz;

		if (name_sz > len - sizeof(*nh) || desc_sz > len - sizeof(*nh) - name_sz)
			return err_set(ENOEXEC, "malformed ELF note (sizes exceed the segment)");
		if (nh->n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh->n_namesz == 4 &&
		    !memcmp(name, "Xen", 4)) {
			uint32_t e32;

			if (nh->n_descsz == 4) {
				memcpy(&e32, desc, 4);
				*entry = e32;
			} else if (nh->n_descsz == 8) {
				memcpy(entry, desc, 8);
			} else {
				return err_set(ENOEXEC, "PVH entry note has a bad size (%u)",
					       nh->n_descsz);
			}
			if (*entry > UINT32_MAX)
				return err_set(ENOEXEC, "PVH entry 0x%llx is above 4 GiB",
					       (unsigned long long)*entry);
			return 1;
		}
		p += sizeof(*nh) + name_sz + desc_sz;
		len -= sizeof(*nh) + name_sz + desc_sz;
	}
	return 0;
}

int pvh_elf_entry(const uint8_t *image, size_t size, uint64_t *entry)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	int ret = elf_headers(image, size, &eh, &ph);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		if (!in_file(&ph[i], size))
			return err_set(ENOEXEC, "ELF note segment lies outside the file");
		ret = pvh_scan_notes(image + ph[i].p_offset, ph[i].p_filesz, entry);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	return err_set(ENOEXEC, "no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): build the kernel "
				"with PVH support (CONFIG_PVH=y for Linux)");
}

/* Load the PT_LOAD segments; *end is the end of the highest one. */
static int pvh_load_segments(struct guest_mem *mem, const uint8_t *image, size_t size,
			     uint64_t entry, uint64_t *end)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	bool entry_loaded = false;
	int ret = elf_headers(image, size, &eh, &ph);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		uint64_t pa = ph[i].p_paddr, memsz = ph[i].p_memsz;
		uint8_t *dst;

		if (ph[i].p_type != PT_LOAD || !memsz)
			continue;
		if (!in_file(&ph[i], size))
			return err_set(ENOEXEC, "ELF segment %u lies outside the file", i);
		if (ph[i].p_filesz > memsz)
			return err_set(ENOEXEC,
				       "ELF segment %u has more file bytes than memory bytes", i);
		dst = guest_mem_ptr(mem, pa, memsz);
		if (!dst)
			return err_set(ENOMEM,
				       "ELF segment %u (0x%llx-0x%llx) does not fit in guest "
				       "RAM: give more memory with -m",
				       i, (unsigned long long)pa,
				       (unsigned long long)(pa + memsz - 1));
		if (pa < BOOT_DATA_END && pa + memsz > BOOT_DATA_START)
			return err_set(ENOEXEC,
				       "ELF segment %u (0x%llx-0x%llx) overlaps kvmini's boot "
				       "data at 0x%llx-0x%llx",
				       i, (unsigned long long)pa,
				       (unsigned long long)(pa + memsz - 1), BOOT_DATA_START,
				       BOOT_DATA_END - 1);
		memcpy(dst, image + ph[i].p_offset, ph[i].p_filesz);
		memset(dst + ph[i].p_filesz, 0, memsz - ph[i].p_filesz);
		if (entry >= pa && entry - pa < memsz)
			entry_loaded = true;
		if (pa + memsz > *end)
			*end = pa + memsz;
	}
	if (!entry_loaded)
		return err_set(ENOEXEC, "PVH entry 0x%llx is not inside a loaded segment",
			       (unsigned long long)entry);
	return 0;
}

/* The -initrd as module 0: high in RAM below 4 GiB, above the kernel and the first MiB. */
static int pvh_load_initrd(struct guest_mem *mem, const struct boot_params_in *in,
			   uint64_t kernel_end, struct hvm_start_info *si)
{
	uint64_t floor = kernel_end > BIOS_AREA_END ? kernel_end : BIOS_AREA_END, addr;
	struct hvm_modlist_entry mod;

	if (boot_place_high(mem, in->initrd_size, floor, 4 * GIB, &addr))
		return err_set(ENOMEM,
			       "-initrd: %llu MiB initrd does not fit in RAM between the kernel "
			       "and 4 GiB with -m %lluM: give more memory with -m",
			       (unsigned long long)((in->initrd_size + MIB - 1) / MIB),
			       (unsigned long long)(guest_mem_total(mem) / MIB));
	mod = (struct hvm_modlist_entry){ .paddr = addr, .size = in->initrd_size };
	if (guest_mem_write(mem, addr, in->initrd, in->initrd_size) ||
	    guest_mem_write(mem, PVH_MODLIST_ADDR, &mod, sizeof(mod)))
		return err_set(EFAULT, "no RAM for the initrd");
	si->nr_modules = 1;
	si->modlist_paddr = PVH_MODLIST_ADDR;
	return 0;
}

static int pvh_write_start_info(struct guest_mem *mem, const struct boot_params_in *in,
				uint64_t kernel_end)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = BOOT_CMDLINE_ADDR,
		.rsdp_paddr = in->rsdp_addr,
		.memmap_paddr = PVH_MEMMAP_ADDR,
	};
	struct e820_entry e820[E820_MAX_ENTRIES];
	const char *cmdline = in->cmdline;
	size_t len = cmdline ? strlen(cmdline) : 0;
	int n = e820_build(mem, e820, E820_MAX_ENTRIES);

	if (n < 0)
		return err_set(-n, "too many memory map entries");
	if (len + 1 > BOOT_CMDLINE_MAX)
		return err_set(E2BIG, "kernel command line too long (%zu bytes, at most %llu)", len,
			       BOOT_CMDLINE_MAX - 1);
	for (int i = 0; i < n; i++) {
		struct hvm_memmap_entry m = { e820[i].addr, e820[i].size, e820[i].type, 0 };

		if (guest_mem_write(mem, PVH_MEMMAP_ADDR + i * sizeof(m), &m, sizeof(m)))
			return err_set(EFAULT, "no RAM for the boot data");
	}
	si.memmap_entries = (uint32_t)n;
	if (in->initrd) {
		int ret = pvh_load_initrd(mem, in, kernel_end, &si);

		if (ret)
			return ret;
	}
	if (guest_mem_write(mem, BOOT_CMDLINE_ADDR, cmdline ? cmdline : "", len + 1) ||
	    guest_mem_write(mem, BOOT_INFO_ADDR, &si, sizeof(si)))
		return err_set(EFAULT, "no RAM for the boot data");
	return 0;
}

static int pvh_load(struct guest_mem *mem, const struct boot_params_in *in, struct boot_cpu *cpu)
{
	uint64_t entry, kernel_end = 0;
	int ret;

	if (in->dtb)
		return err_set(ENOTSUP, "-dtb needs a bzImage kernel (the Linux boot protocol)");
	ret = pvh_elf_entry(in->image, in->image_size, &entry);

	if (!ret)
		ret = pvh_load_segments(mem, in->image, in->image_size, entry, &kernel_end);
	if (!ret)
		ret = pvh_write_start_info(mem, in, kernel_end);
	if (!ret)
		ret = boot_cpu_flat32(mem, cpu);
	if (ret)
		return ret;
	cpu->regs.rip = entry;
	cpu->regs.rbx = BOOT_INFO_ADDR;
	return 0;
}

const struct boot_loader pvh_elf_loader = {
	.name = "PVH ELF",
	.probe = pvh_probe,
	.load = pvh_load,
};
