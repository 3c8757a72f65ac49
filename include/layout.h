/* SPDX-License-Identifier: MIT */
/* The guest physical address map kvmini builds. */
#ifndef KVMINI_LAYOUT_H
#define KVMINI_LAYOUT_H

#include <stdint.h>

#include "util.h"

#define GUEST_PAGE_SIZE 0x1000ULL

/* Low RAM ends here at the latest; the rest of RAM starts at 4 GiB. */
#define LOW_RAM_LIMIT  0xc0000000ULL
#define HIGH_RAM_START (4 * GIB)
/* The 32-bit hole [LOW_RAM_LIMIT, 4 GiB) holds MMIO: PCI, IOAPIC, LAPIC. */
#define IOAPIC_BASE 0xfec00000ULL
/*
 * PCI: 32-bit BARs go in [PCI_MMIO_BASE, PCI_ECAM_BASE); ECAM (1 MiB per bus,
 * buses 0..PCI_ECAM_LAST_BUS) follows; BARs in I/O space go in the top 16 KiB
 * of ports, clear of the ISA devices.  The DSDT's PCI0 and the MCFG say so.
 */
#define PCI_MMIO_BASE	  LOW_RAM_LIMIT
#define PCI_ECAM_BASE	  0xe0000000ULL
#define PCI_ECAM_LAST_BUS 255
#define PCI_ECAM_SIZE	  ((PCI_ECAM_LAST_BUS + 1) * MIB)
#define PCI_IO_BASE	  0xc000
#define PCI_IO_END	  0x10000
/* 64-bit BARs: a window from the first GiB boundary above RAM (QEMU does the same). */
#define PCI_MMIO64_ALIGN GIB
#define PCI_MMIO64_SIZE	 (32 * GIB)

static inline uint64_t pci_mmio64_base(uint64_t ram_size)
{
	uint64_t top = HIGH_RAM_START + (ram_size > LOW_RAM_LIMIT ? ram_size - LOW_RAM_LIMIT : 0);

	return (top + PCI_MMIO64_ALIGN - 1) & ~(PCI_MMIO64_ALIGN - 1);
}
#define LAPIC_BASE 0xfee00000ULL
/* Pages KVM needs for its own use on Intel hosts, inside the hole. */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR	      0xfffbd000ULL

/* Legacy holes in the first MiB, reported as reserved in the memory map. */
#define EBDA_START	0x9fc00ULL
#define BIOS_AREA_START 0xa0000ULL
#define BIOS_AREA_END	0x100000ULL

/* Where kvmini puts its boot data.  Kernels may not load over it. */
#define BOOT_DATA_START	    0x1000ULL
#define BOOT_GDT_ADDR	    0x1000ULL
#define BOOT_INFO_ADDR	    0x2000ULL /* hvm_start_info, then its memory map */
#define BOOT_ZERO_PAGE_ADDR 0x3000ULL /* Linux boot_params */
/* Long-mode identity map of the first 4 GiB: PML4, PDPT, then 4 PDs of 2 MiB pages. */
#define BOOT_PML4_ADDR 0x4000ULL
#define BOOT_PDPT_ADDR 0x5000ULL
#define BOOT_PD_ADDR   0x6000ULL /* to 0xa000 */
/* The Linux setup_data chain (the -dtb), up to the command line. */
#define BOOT_SETUP_DATA_ADDR 0xa000ULL
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL /* including the NUL */
#define BOOT_DATA_END	     (BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)

/*
 * Platform tables live in the reserved BIOS area, where legacy scans look for
 * them: ACPI (RSDP first, 16-byte aligned) and then the MP table.
 */
#define ACPI_TABLES_ADDR 0xe0000ULL
#define ACPI_TABLES_END	 0xf0000ULL
#define MPTABLE_ADDR	 0xf0000ULL
#define MPTABLE_END	 0x100000ULL

/* The PC serial ports COM1..COM4: I/O base (8 ports each) and ISA IRQ. */
#define SERIAL_PORT_LEN 8
static inline uint16_t serial_port_base(unsigned int index)
{
	static const uint16_t bases[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };

	return bases[index];
}

static inline uint8_t serial_port_irq(unsigned int index)
{
	return index % 2 ? 3 : 4;
}

/* The smallest guest: the boot data and a kernel at 1 MiB. */
#define MIN_RAM_SIZE (2 * MIB)

#endif
