/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus (devices/pci/): bus 0 of segment 0, reached through
 * configuration mechanism #1 (ports 0xCF8/0xCFC) and ECAM.  A device embeds
 * struct pci_device, describes its header and BARs once, and the bus owns
 * the generic behaviour: read-only fields, the command register, BAR sizing
 * and decoding (a BAR's handler is on the I/O or memory bus exactly while
 * its decode bit is on), the capability list, INTx wiring, all ones for
 * empty slots.  No KVM in here: interrupts leave through struct
 * pci_host_ops, which vmm/irq.c implements.
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
#define PCI_STATUS_INTX		 (1u << 3)
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

/* INTx: pin INTA#..INTD# of slot s is IOAPIC input 16 + (s + pin) % 4, as the DSDT's _PRT says. */
#define PCI_INTX_GSI_BASE 16
#define PCI_NR_INTX_GSIS  4

static inline unsigned int pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin - 1) % PCI_NR_INTX_GSIS;
}

/* An MSI(-X) vector's way into the guest: a GSI with a route, and an eventfd bound to it. */
struct pci_msi_route {
	unsigned int gsi;
	int fd; /* write 1 to interrupt */
};

/* How the bus reaches the VM's interrupt controllers (vmm/irq.c). */
struct pci_host_ops {
	void (*set_intx)(void *host, unsigned int gsi, bool level);
	/* A GSI and an eventfd for one vector, not routed anywhere yet.  0 or -errno. */
	int (*msi_alloc)(void *host, struct pci_msi_route *route);
	/* Route the vector to the MSI message (address, data).  0 or -errno. */
	int (*msi_update)(void *host, struct pci_msi_route *route, uint64_t addr, uint32_t data);
	void (*msi_free)(void *host, struct pci_msi_route *route);
};

struct pci_device;

/* All optional; called with the bus lock held. */
struct pci_device_ops {
	/* Before a read of [offset, offset + len): refresh registers that change on their own. */
	void (*config_read)(struct pci_device *dev, unsigned int offset, unsigned int len);
	/* After a write to [offset, offset + len) went into config[] through wmask[]. */
	void (*config_write)(struct pci_device *dev, unsigned int offset, unsigned int len);
	/* BAR @bar now decodes at @addr (0: no longer decoded). */
	void (*bar_moved)(struct pci_device *dev, unsigned int bar, uint64_t addr);
};

/* What answers accesses to a BAR: a handler for the I/O or memory bus. */
struct pci_bar_handler {
	const struct bus_ops *ops;
	void *opaque;
};

struct pci_bus;

struct pci_device {
	const struct pci_device_ops *ops;
	struct pci_bus *bus;
	uint8_t devfn;	  /* device << 3 | function, set by pci_bus_add() */
	uint16_t cap_end; /* where pci_add_capability() puts the next one */
	uint8_t last_cap; /* offset of the last capability; 0: none yet */
	struct pci_bar bars[PCI_NR_BARS];
	struct pci_bar_handler bar_handlers[PCI_NR_BARS];
	uint64_t bar_mapped[PCI_NR_BARS]; /* where the handler is registered; 0: nowhere */
	bool intx_level;		  /* the device's INTx output, before INTX_DISABLE */
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE]; /* bits a guest write may change */
};

struct pci_bus {
	pthread_mutex_t lock;	 /* config accesses come from every vCPU */
	uint32_t config_address; /* the 0xCF8 register */
	struct pci_device *slots[PCI_NR_SLOTS];
	struct bus *pio, *mmio; /* where BARs decode */
	uint64_t mmio32_next, mmio32_end, mmio64_next, mmio64_end, io_next, io_end;
	const struct pci_host_ops *host;
	void *host_opaque;
	pthread_mutex_t intx_lock; /* device interrupt state; taken inside device locks */
	unsigned int intx_count[PCI_NR_INTX_GSIS]; /* asserted devices per shared line */
};

/* Address windows BARs are placed in: [base, end). */
struct pci_windows {
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
	uint64_t io_base, io_end;
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

/* Serve BAR @bar with @ops (before pci_bus_add()). */
void pci_set_bar_handler(struct pci_device *dev, unsigned int bar, const struct bus_ops *ops,
			 void *opaque);

void pci_bus_init(struct pci_bus *bus, struct bus *pio, struct bus *mmio,
		  const struct pci_windows *win, const struct pci_host_ops *host,
		  void *host_opaque);
void pci_bus_destroy(struct pci_bus *bus);
/*
 * Plug @dev (as function 0) into the lowest free slot, give its BARs
 * addresses in the windows (as firmware would; decoding stays off until the
 * guest turns it on) and its INTx pin a line.  0, or -ENOSPC with err_set().
 */
int pci_bus_add(struct pci_bus *bus, struct pci_device *dev);

struct snap_buf;
/*
 * Snapshots: the 0xCF8 latch and every function's configuration space.  On
 * load the BARs decode where the saved registers say and each device's
 * config_write() sees the whole space written; INTx lines start low, each
 * device drives its own again when it loads.  Load: 0 or -EINVAL with
 * err_set().
 */
void pci_bus_save(struct pci_bus *bus, struct snap_buf *out);
int pci_bus_load(struct pci_bus *bus, const uint8_t *data, size_t len);

/* Drive @dev's INTx pin (level-triggered, shared).  Any thread. */
void pci_set_intx(struct pci_device *dev, bool level);

/* Register on the I/O bus at PCI_CONFIG_PORT, and on the MMIO bus over the ECAM window. */
extern const struct bus_ops pci_config_port_ops;
extern const struct bus_ops pci_ecam_ops;

/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2; devices/pci/msix.c): the capability, the
 * vector table and the pending-bit array in one BAR of the device's, and
 * per-vector delivery through the host's MSI routes.
 */
#define PCI_CAP_ID_MSIX	      0x11
#define PCI_MSIX_MAX_VECTORS  64
#define PCI_MSIX_ENTRY_SIZE   16
#define PCI_MSIX_CTRL_ENABLE  (1u << 15)
#define PCI_MSIX_CTRL_MASKALL (1u << 14)
#define PCI_MSIX_VECTOR_MASK  1u /* vector control bit 0 */

struct pci_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
	struct pci_device *dev;
	pthread_mutex_t lock;	     /* table, pending bits and routes; vCPUs and the I/O thread */
	unsigned int nr;	     /* vectors */
	unsigned int cap;	     /* the capability's config-space offset */
	uint32_t table_off, pba_off; /* in the BAR */
	bool enabled, masked;	     /* message control: MSI-X enable, function mask */
	uint64_t pending;	     /* the PBA */
	struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
	struct pci_msi_route routes[PCI_MSIX_MAX_VECTORS];
	bool routed[PCI_MSIX_MAX_VECTORS]; /* the route carries the entry's message */
	unsigned int nr_routes;		   /* allocated so far */
};

/*
 * Add the capability for @nr vectors with the table at @table_off and the PBA
 * at @pba_off of BAR @bar (both 8-byte aligned, inside it), and a route per
 * vector.  The device must be on its bus (routes come from the bus's host).
 * 0 or -errno with err_set().
 */
int pci_msix_init(struct pci_msix *m, struct pci_device *dev, unsigned int nr, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off);
void pci_msix_destroy(struct pci_msix *m);
/* From the device's config_write: follow the enable and function-mask bits. */
void pci_msix_config_write(struct pci_msix *m, unsigned int offset, unsigned int len);
bool pci_msix_enabled(struct pci_msix *m);
/* Interrupt with @vector, or mark it pending while masked.  Any thread. */
void pci_msix_notify(struct pci_msix *m, unsigned int vector);
/* Accesses to the table and PBA, @offset relative to the BAR (opaque: the pci_msix). */
extern const struct bus_ops pci_msix_bar_ops;
/*
 * Snapshots: the table and the PBA (enable and mask bits are config space,
 * loaded first by pci_bus_load()).  Load: 0 or -EINVAL with err_set().
 */
struct snap_cursor;
void pci_msix_save(struct pci_msix *m, struct snap_buf *out);
int pci_msix_load(struct pci_msix *m, struct snap_cursor *c);

/* The host bridge at 00.0 (devices/pci/host_bridge.c). */
int pci_host_bridge_init(struct pci_device *dev);

#endif
