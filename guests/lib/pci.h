/* SPDX-License-Identifier: MIT */
/*
 * PCI for the test guests: configuration mechanism #1 (0xcf8/0xcfc, usable
 * at CPL3 too), bus 0 function 0 only; BAR sizing, assignment of BARs the
 * firmware left at 0, and mapping of BARs above 4 GiB.
 */
#ifndef KVMINI_GUEST_PCI_H
#define KVMINI_GUEST_PCI_H

#include "guest.h"

#define PCI_VENDOR_ID	     0x00
#define PCI_COMMAND	     0x04
#define PCI_STATUS	     0x06
#define PCI_HEADER_TYPE	     0x0e
#define PCI_BAR0	     0x10
#define PCI_SUBSYS_VENDOR    0x2c
#define PCI_SUBSYS_ID	     0x2e
#define PCI_CAP_PTR	     0x34
#define PCI_COMMAND_IO	     0x1
#define PCI_COMMAND_MEM	     0x2
#define PCI_COMMAND_MASTER   0x4
#define PCI_COMMAND_INTX_OFF 0x400
#define PCI_STATUS_CAP_LIST  0x10

#define PCI_CAP_ID_MSIX	  0x11
#define PCI_CAP_ID_VENDOR 0x09

#define PCI_NUM_BARS 6

struct pci_bar {
	uint64_t addr; /* 0: not implemented */
	uint64_t size;
	bool io;
	bool mem64;
};

struct pci_dev {
	uint8_t bus, slot, func;
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	struct pci_bar bar[PCI_NUM_BARS];
};

uint32_t pci_read32(const struct pci_dev *d, unsigned int off);
uint16_t pci_read16(const struct pci_dev *d, unsigned int off);
uint8_t pci_read8(const struct pci_dev *d, unsigned int off);
void pci_write32(const struct pci_dev *d, unsigned int off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned int off, uint16_t v);

typedef bool (*pci_match_t)(const struct pci_dev *d, void *arg);

/*
 * The @nth (from 0) device on bus 0 (function 0 of each slot) for which
 * @match returns true (NULL matches all); fills the IDs of @d.  0 or -ENODEV.
 */
int pci_find(pci_match_t match, void *arg, unsigned int nth, struct pci_dev *d);
/* Offset of the first capability @id after offset @after (0: from the start); 0 if none. */
unsigned int pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned int after);
/*
 * CPL0 only.  Sizes the BARs into d->bar, assigns a free address to memory
 * and I/O BARs that read back 0, maps memory BARs above 4 GiB uncached and
 * enables I/O and memory decode and bus mastering.  0 or -errno.
 */
int pci_enable(struct pci_dev *d);
/* The mapped address of offset @off in memory BAR @bar (NULL for I/O or missing BARs). */
volatile void *pci_bar_ptr(const struct pci_dev *d, unsigned int bar, uint64_t off);

#endif
