/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI (Xen's hvm_start_info, as used by Linux and QEMU for
 * direct kernel boot): 32-bit protected mode, paging off, %ebx pointing at
 * struct hvm_start_info.
 */
#ifndef KVMINI_PVH_H
#define KVMINI_PVH_H

#include <stdint.h>

#include "boot.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578
#define HVM_START_VERSION	 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

extern const struct boot_loader pvh_elf_loader;

/*
 * Find the PVH entry point in an ELF image.  0 with *entry set, or -errno
 * with err_set() saying what is wrong with the file.
 */
int pvh_elf_entry(const uint8_t *image, size_t size, uint64_t *entry);

#endif
