// SPDX-License-Identifier: MIT
/* PCI configuration mechanism #1, capability walk, BAR set-up. */
#include "pci.h"

#include "mm.h"

#include <errno.h>

#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc

#define BAR_IO	     0x1
#define BAR_MEM_64   0x4
#define BAR_MEM_TYPE 0x6
#define BAR_IO_MASK  0xfffffffcU
#define BAR_MEM_MASK 0xfffffff0U

/*
 * Where BARs the firmware left unassigned go: above kvmini's BAR window
 * (0xc0000000-0xdfffffff) and ECAM (0xe0000000-0xefffffff), QEMU q35's ECAM
 * (0xb0000000) and below the IOAPIC; I/O above the ports firmware hands out.
 */
static uint64_t mem_window = 0xf0000000, mem_window_end = 0xfec00000;
static uint32_t io_window = 0xd000, io_window_end = 0x10000;
/* 64-bit BARs go above 4 GiB, as kvmini places them, so the high mapping gets exercised. */
static uint64_t mem64_window = 0x800000000ULL, mem64_window_end = 0x1000000000ULL;

static void pci_select(const struct pci_dev *d, unsigned int off)
{
	outl(PCI_CONFIG_ADDR,
	     0x80000000U | d->bus << 16 | d->slot << 11 | d->func << 8 | (off & 0xfc));
}

uint32_t pci_read32(const struct pci_dev *d, unsigned int off)
{
	pci_select(d, off);
	return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned int off)
{
	pci_select(d, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

uint8_t pci_read8(const struct pci_dev *d, unsigned int off)
{
	pci_select(d, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write32(const struct pci_dev *d, unsigned int off, uint32_t v)
{
	pci_select(d, off);
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_dev *d, unsigned int off, uint16_t v)
{
	pci_select(d, off);
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

int pci_find(pci_match_t match, void *arg, unsigned int nth, struct pci_dev *d)
{
	for (unsigned int slot = 0; slot < 32; slot++) {
		uint32_t id;

		memset(d, 0, sizeof(*d));
		d->slot = slot;
		id = pci_read32(d, PCI_VENDOR_ID);
		if ((id & 0xffff) == 0xffff)
			continue;
		d->vendor = id & 0xffff;
		d->device = id >> 16;
		id = pci_read32(d, PCI_SUBSYS_VENDOR);
		d->subsys_vendor = id & 0xffff;
		d->subsys_id = id >> 16;
		if ((!match || match(d, arg)) && !nth--)
			return 0;
	}
	return -ENODEV;
}

unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned int after)
{
	unsigned int off, guard;

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = after ? pci_read8(d, after + 1) : pci_read8(d, PCI_CAP_PTR);
	/* 48 capabilities fit in 192 bytes: a longer list is a loop. */
	for (guard = 0; off >= 0x40 && guard < 48; guard++) {
		off &= 0xfc;
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, off + 1);
	}
	return 0;
}

/* Size BAR @i (decode must be off); returns how many BAR slots it takes. */
static unsigned int bar_probe(struct pci_dev *d, unsigned int i)
{
	unsigned int off = PCI_BAR0 + 4 * i;
	struct pci_bar *b = &d->bar[i];
	uint32_t lo = pci_read32(d, off), mask;
	uint64_t hi = 0, size;

	pci_write32(d, off, 0xffffffff);
	mask = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (!mask || mask == 0xffffffff)
		return 1; /* not implemented (or nothing answered) */
	b->io = lo & BAR_IO;
	if (b->io) {
		b->addr = lo & BAR_IO_MASK;
		b->size = (~(mask & BAR_IO_MASK) + 1) & 0xffff;
		return 1;
	}
	b->mem64 = (lo & BAR_MEM_TYPE) == BAR_MEM_64 && i + 1 < PCI_NUM_BARS;
	size = mask & BAR_MEM_MASK;
	if (b->mem64) {
		hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, 0xffffffff);
		size |= (uint64_t)pci_read32(d, off + 4) << 32;
		pci_write32(d, off + 4, hi);
	} else {
		size |= 0xffffffff00000000ULL;
	}
	b->size = ~size + 1;
	b->addr = (hi << 32) | (lo & BAR_MEM_MASK);
	return b->mem64 ? 2 : 1;
}

static int bar_assign(struct pci_dev *d, unsigned int i)
{
	struct pci_bar *b = &d->bar[i];
	unsigned int off = PCI_BAR0 + 4 * i;
	uint64_t a;

	if (b->io) {
		a = (io_window + b->size - 1) & ~(b->size - 1);
		if (a + b->size > io_window_end)
			return -ENOSPC;
		io_window = a + b->size;
	} else if (b->mem64) {
		a = (mem64_window + b->size - 1) & ~(b->size - 1);
		if (a + b->size > mem64_window_end)
			return -ENOSPC;
		mem64_window = a + b->size;
	} else {
		a = (mem_window + b->size - 1) & ~(b->size - 1);
		if (a + b->size > mem_window_end)
			return -ENOSPC;
		mem_window = a + b->size;
	}
	b->addr = a;
	pci_write32(d, off, (uint32_t)a | (pci_read32(d, off) & (b->io ? 0x3 : 0xf)));
	if (b->mem64)
		pci_write32(d, off + 4, a >> 32);
	return 0;
}

int pci_enable(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	unsigned int i;
	int ret = 0;

	if ((pci_read8(d, PCI_HEADER_TYPE) & 0x7f) != 0)
		return -ENOTSUP;
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEM));
	for (i = 0; i < PCI_NUM_BARS; i += bar_probe(d, i))
		;
	for (i = 0; i < PCI_NUM_BARS && !ret; i++) {
		struct pci_bar *b = &d->bar[i];

		if (!b->size)
			continue;
		if (!b->addr)
			ret = bar_assign(d, i);
		if (!ret && !b->io)
			ret = mm_map_mmio(b->addr, b->size);
	}
	if (ret)
		return ret;
	pci_write16(d, PCI_COMMAND,
		    cmd | PCI_COMMAND_IO | PCI_COMMAND_MEM | PCI_COMMAND_MASTER |
			    PCI_COMMAND_INTX_OFF);
	return 0;
}

volatile void *pci_bar_ptr(const struct pci_dev *d, unsigned int bar, uint64_t off)
{
	if (bar >= PCI_NUM_BARS || !d->bar[bar].size || d->bar[bar].io || off >= d->bar[bar].size)
		return NULL;
	return (volatile void *)(uintptr_t)(d->bar[bar].addr + off);
}
