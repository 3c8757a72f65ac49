/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus (devices/pci/): bus 0 of segment 0, reached through
 * configuration mechanism #1 (ports 0xCF8/0xCFC) and ECAM.  A device embeds
 * struct pci_device, describes its header and BARs once, and the bus owns
 * the generic behaviour: read-only fields, the command register, BAR sizing,
 * the capability list, all ones for empty slots.  No KVM in here: the bus is
 * plain state behind two struct bus_ops, which vmm/platform.c registers.
 */
#ifndef KVMINI_PCI_H
#define KVMINI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define PCI_NR_SLOTS	 32
#define PCI_NR_BARS	 6
#define PCI_CONFIG_SIZE	 4096 /* per function, in ECAM; mechanism #1 reaches the first 256 */
#define PCI_ECAM_FN_BITS 12   /* ECAM: bus << 20 | device << 15 | function << 12 | register */

/* Configuration mechanism #1: the address register and the data window. */
#define PCI_CONFIG_PORT	    0xcf8
#define PCI_CONFIG_PORT_LEN 8

/* Type 0 header registers (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID	     0x00
#define PCI_DEVICE_ID	     0x02
#define PCI_COMMAND	     0x04
#define PCI_STATUS	     0x06
#define PCI_REVISION_ID	     0x08
#define PCI_CLASS_PROG	     0x09 /* prog-if, subclass, base class: 3 bytes */
#define PCI_CACHE_LINE_SIZE  0x0c
#define PCI_HEADER_TYPE	     0x0e
#define PCI_BAR0	     0x10
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d
#define PCI_HEADER_END	     0x40 /* capabilities go from here */

#define PCI_COMMAND_IO		 (1u << 0)
#define PCI_COMMAND_MEMORY	 (1u << 1)
#define PCI_COMMAND_MASTER	 (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_CAP_LIST	 (1u << 4)
#define PCI_BAR_IO_SPACE	 (1u << 0)
#define PCI_BAR_MEM_TYPE_64	 (2u << 1)
#define PCI_BAR_MEM_PREFETCH	 (1u << 3)
#define PCI_CLASS_BRIDGE_HOST	 0x060000
#define PCI_HEADER_TYPE_NORMAL	 0

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* takes its BAR and the next one, which stays PCI_BAR_NONE */
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size; /* a power of two: 4..256 for I/O, 16 bytes and up for memory */
	bool prefetchable;
};

/* What a device is, for its header; class_code is base class << 16 | subclass << 8 | prog-if. */
struct pci_device_info {
	uint16_t vendor_id, device_id;
	uint16_t subsystem_vendor_id, subsystem_id;
	uint32_t class_code;
	uint8_t revision;
	uint8_t interrupt_pin; /* 0: none, 1..4: INTA#..INTD# */
	struct pci_bar bars[PCI_NR_BARS];
};

struct pci_device;

/* Both optional; called with the bus lock held. */
struct pci_device_ops {
	/* Before a read of [offset, offset + len): refresh registers that change on their own. */
	void (*config_read)(struct pci_device *dev, unsigned int offset, unsigned int len);
	/* After a write to [offset, offset + len) went into config[] through wmask[]. */
	void (*config_write)(struct pci_device *dev, unsigned int offset, unsigned int len);
};

struct pci_device {
	const struct pci_device_ops *ops;
	uint8_t devfn;	  /* device << 3 | function, set by pci_bus_add() */
	uint16_t cap_end; /* where pci_add_capability() puts the next one */
	uint8_t last_cap; /* offset of the last capability; 0: none yet */
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE]; /* bits a guest write may change */
};

struct pci_bus {
	pthread_mutex_t lock;	 /* config accesses come from every vCPU */
	uint32_t config_address; /* the 0xCF8 register */
	struct pci_device *slots[PCI_NR_SLOTS];
};

/*
 * Fill @dev's header from @info and make the generic registers writable.
 * 0, or -EINVAL with err_set() when a BAR cannot be described.
 */
int pci_device_init(struct pci_device *dev, const struct pci_device_ops *ops,
		    const struct pci_device_info *info);

/*
 * Append a capability of @len bytes (ID and next pointer included) to the
 * list; its body is the caller's to fill and to open to writes in wmask[].
 * The config-space offset, or -ENOSPC with err_set().
 */
int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len);

void pci_bus_init(struct pci_bus *bus);
void pci_bus_destroy(struct pci_bus *bus);
/* Plug @dev (as function 0) into the lowest free slot.  0, or -ENOSPC with err_set(). */
int pci_bus_add(struct pci_bus *bus, struct pci_device *dev);

/* Register on the I/O bus at PCI_CONFIG_PORT, and on the MMIO bus over the ECAM window. */
extern const struct bus_ops pci_config_port_ops;
extern const struct bus_ops pci_ecam_ops;

/* The host bridge at 00.0 (devices/pci/host_bridge.c). */
int pci_host_bridge_init(struct pci_device *dev);

#endif
