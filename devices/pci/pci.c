// SPDX-License-Identifier: MIT
/*
 * The PCI bus: configuration space of bus 0 through mechanism #1 (PCI Local
 * Bus 3.0, 3.2.2.3.2) and ECAM (PCI Express Base 4.0, 7.2.2).  A function's
 * space is its bytes plus a write mask, so read-only fields, the command
 * register and BAR sizing need no code per register: a BAR's address bits
 * below its size are read-only zeros, so writing all ones reads back the size.
 * Both mechanisms become one ECAM-style address: bus, device, function, register.
 */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "pci.h"
#include "snapshot.h"
#include "util.h"

#define CONFIG_ENABLE	    (1u << 31)
#define CONFIG_ADDRESS_MASK 0x80fffffcu /* bits 30:24 are reserved, 1:0 are zero */
#define LEGACY_CONFIG_SIZE  256		/* the part of config space mechanism #1 reaches */
#define CONFIG_DATA	    4		/* the data window's offset from PCI_CONFIG_PORT */
#define CAP_ALIGN	    4

/* The BAR's flag bits and its write mask: the address bits at and above its size. */
static int bar_init(struct pci_device *dev, const struct pci_bar *bars, unsigned int i)
{
	const struct pci_bar *b = &bars[i];
	unsigned int reg = PCI_BAR0 + 4 * i, width = 4;
	uint64_t flags = 0, min = 16, max = 2 * GIB;

	switch (b->type) {
	case PCI_BAR_NONE:
		return 0;
	case PCI_BAR_IO:
		flags = PCI_BAR_IO_SPACE;
		min = 4;
		max = 256;
		break;
	case PCI_BAR_MEM32:
		break;
	case PCI_BAR_MEM64:
		flags = PCI_BAR_MEM_TYPE_64;
		max = 1ULL << 63;
		width = 8;
		if (i + 1 == PCI_NR_BARS || bars[i + 1].type != PCI_BAR_NONE)
			return err_set(EINVAL, "PCI BAR %u: a 64-bit BAR needs the next BAR free",
				       i);
		break;
	}
	if (b->size < min || b->size > max || (b->size & (b->size - 1)))
		return err_set(EINVAL,
			       "PCI BAR %u: size %#llx is not a power of two in %#llx..%#llx", i,
			       (unsigned long long)b->size, (unsigned long long)min,
			       (unsigned long long)max);
	if (b->prefetchable) {
		if (b->type == PCI_BAR_IO)
			return err_set(EINVAL, "PCI BAR %u: an I/O BAR cannot be prefetchable", i);
		flags |= PCI_BAR_MEM_PREFETCH;
	}
	put_le(dev->config + reg, flags, width);
	put_le(dev->wmask + reg, ~(b->size - 1), width);
	return 0;
}

int pci_device_init(struct pci_device *dev, const struct pci_device_ops *ops,
		    const struct pci_device_info *info)
{
	uint8_t *c = dev->config;

	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->cap_end = PCI_HEADER_END;
	if (info->interrupt_pin > 4)
		return err_set(EINVAL, "PCI interrupt pin %u: not INTA#..INTD#",
			       info->interrupt_pin);
	put_le(c + PCI_VENDOR_ID, info->vendor_id, 2);
	put_le(c + PCI_DEVICE_ID, info->device_id, 2);
	c[PCI_REVISION_ID] = info->revision;
	put_le(c + PCI_CLASS_PROG, info->class_code, 3);
	c[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	put_le(c + PCI_SUBSYSTEM_VENDOR, info->subsystem_vendor_id, 2);
	put_le(c + PCI_SUBSYSTEM_ID, info->subsystem_id, 2);
	c[PCI_INTERRUPT_PIN] = info->interrupt_pin;
	/* What a guest may set: decode enables, bus mastering, INTx off; scratch bytes. */
	put_le(dev->wmask + PCI_COMMAND,
	       PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE,
	       2);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		int ret = bar_init(dev, info->bars, i);

		if (ret)
			return ret;
	}
	memcpy(dev->bars, info->bars, sizeof(dev->bars));
	return 0;
}

void pci_set_bar_handler(struct pci_device *dev, unsigned int bar, const struct bus_ops *ops,
			 void *opaque)
{
	dev->bar_handlers[bar] = (struct pci_bar_handler){ ops, opaque };
}

/* The address BAR @i holds now (for a 64-bit BAR, both halves). */
static uint64_t bar_address(const struct pci_device *dev, unsigned int i)
{
	const uint8_t *reg = dev->config + PCI_BAR0 + 4 * i;

	switch (dev->bars[i].type) {
	case PCI_BAR_IO:
		return get_le(reg, 4) & 0xfffc;
	case PCI_BAR_MEM32:
		return get_le(reg, 4) & ~0xfULL;
	case PCI_BAR_MEM64:
		return get_le(reg, 8) & ~0xfULL;
	case PCI_BAR_NONE:
		break;
	}
	return 0;
}

/*
 * Put each BAR's handler where the BAR and the command register say, or take
 * it off the bus.  A BAR that would wrap, leave the 16-bit port space, or
 * overlap something else (a guest sizing BARs with decoding on) decodes
 * nothing until it is moved somewhere sensible.
 */
static void update_bars(struct pci_device *dev)
{
	uint16_t cmd = (uint16_t)get_le(dev->config + PCI_COMMAND, 2);

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &dev->bars[i];
		const struct pci_bar_handler *h = &dev->bar_handlers[i];
		bool io = b->type == PCI_BAR_IO;
		struct bus *target = io ? dev->bus->pio : dev->bus->mmio;
		uint64_t old = dev->bar_mapped[i], addr;

		if (b->type == PCI_BAR_NONE || !h->ops)
			continue;
		addr = cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY) ? bar_address(dev, i) : 0;
		if (addr && (addr + b->size - 1 < addr || (io && addr + b->size > 0x10000)))
			addr = 0;
		if (addr == old)
			continue;
		if (old)
			bus_unregister(target, old);
		dev->bar_mapped[i] = 0;
		if (addr && !bus_register(target, addr, b->size, h->ops, h->opaque))
			dev->bar_mapped[i] = addr;
		if (dev->bar_mapped[i] != old && dev->ops && dev->ops->bar_moved)
			dev->ops->bar_moved(dev, i, dev->bar_mapped[i]);
	}
}

/* The line as the interrupt controller sees it changes only on 0 <-> 1 of the shared count. */
static void intx_drive(struct pci_device *dev, bool was, bool now)
{
	struct pci_bus *bus = dev->bus;
	unsigned int line;

	if (was == now)
		return;
	line = pci_intx_gsi(dev->devfn >> 3, dev->config[PCI_INTERRUPT_PIN]) - PCI_INTX_GSI_BASE;
	if (now ? bus->intx_count[line]++ == 0 : --bus->intx_count[line] == 0)
		bus->host->set_intx(bus->host_opaque, PCI_INTX_GSI_BASE + line, now);
}

static bool intx_disabled(const struct pci_device *dev)
{
	return get_le(dev->config + PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
}

void pci_set_intx(struct pci_device *dev, bool level)
{
	struct pci_bus *bus = dev->bus;
	bool was;

	if (!dev->config[PCI_INTERRUPT_PIN])
		return;
	pthread_mutex_lock(&bus->intx_lock);
	was = dev->intx_level && !intx_disabled(dev);
	dev->intx_level = level;
	intx_drive(dev, was, level && !intx_disabled(dev));
	pthread_mutex_unlock(&bus->intx_lock);
}

int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len)
{
	unsigned int off = dev->cap_end;

	/* In the first 256 bytes, where mechanism #1 and every OS can walk the list. */
	if (len < 2 || len > LEGACY_CONFIG_SIZE - off)
		return err_set(ENOSPC, "no room for a %u-byte PCI capability", len);
	dev->config[off] = id;
	dev->config[dev->last_cap ? dev->last_cap + 1 : PCI_CAPABILITY_LIST] = (uint8_t)off;
	dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->last_cap = (uint8_t)off;
	dev->cap_end = (uint16_t)((off + len + CAP_ALIGN - 1) & ~(CAP_ALIGN - 1));
	return (int)off;
}

void pci_bus_init(struct pci_bus *bus, struct bus *pio, struct bus *mmio,
		  const struct pci_windows *win, const struct pci_host_ops *host, void *host_opaque)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	bus->pio = pio;
	bus->mmio = mmio;
	bus->mmio32_next = win->mmio32_base;
	bus->mmio32_end = win->mmio32_end;
	bus->mmio64_next = win->mmio64_base;
	bus->mmio64_end = win->mmio64_end;
	bus->io_next = win->io_base;
	bus->io_end = win->io_end;
	bus->host = host;
	bus->host_opaque = host_opaque;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
}

/* The next naturally aligned @size bytes of [*next, end), or 0 when they do not fit. */
static uint64_t window_alloc(uint64_t *next, uint64_t end, uint64_t size)
{
	uint64_t addr = (*next + size - 1) & ~(size - 1);

	if (addr < *next || addr > end || size > end - addr)
		return 0;
	*next = addr + size;
	return addr;
}

/* Addresses for every BAR, as firmware would leave them (decoding off). */
static int place_bars(struct pci_bus *bus, struct pci_device *dev)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &dev->bars[i];
		uint8_t *reg = dev->config + PCI_BAR0 + 4 * i;
		uint64_t addr = 0;

		switch (b->type) {
		case PCI_BAR_NONE:
			continue;
		case PCI_BAR_IO:
			addr = window_alloc(&bus->io_next, bus->io_end, b->size);
			break;
		case PCI_BAR_MEM32:
			addr = window_alloc(&bus->mmio32_next, bus->mmio32_end, b->size);
			break;
		case PCI_BAR_MEM64:
			addr = window_alloc(&bus->mmio64_next, bus->mmio64_end, b->size);
			break;
		}
		if (!addr)
			return err_set(ENOSPC, "no room for a %#llx-byte PCI BAR in its window",
				       (unsigned long long)b->size);
		put_le(reg, get_le(reg, 4) | addr, b->type == PCI_BAR_MEM64 ? 8 : 4);
	}
	return 0;
}

int pci_bus_add(struct pci_bus *bus, struct pci_device *dev)
{
	unsigned int slot;
	int ret = 0;

	pthread_mutex_lock(&bus->lock);
	for (slot = 0; slot < PCI_NR_SLOTS && bus->slots[slot]; slot++)
		;
	if (slot == PCI_NR_SLOTS)
		ret = err_set(ENOSPC, "all %u PCI slots are taken", PCI_NR_SLOTS);
	if (!ret)
		ret = place_bars(bus, dev);
	if (!ret) {
		bus->slots[slot] = dev;
		dev->bus = bus;
		dev->devfn = (uint8_t)(slot << 3);
		if (dev->config[PCI_INTERRUPT_PIN])
			dev->config[PCI_INTERRUPT_LINE] =
				(uint8_t)pci_intx_gsi(slot, dev->config[PCI_INTERRUPT_PIN]);
	}
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

/*
 * The function an ECAM-style address names, and the register in *reg.  Only
 * bus 0 exists, and only function 0 of each slot (no multi-function devices).
 */
static struct pci_device *config_target(struct pci_bus *bus, uint64_t addr, unsigned int *reg)
{
	unsigned int devfn = (unsigned int)(addr >> PCI_ECAM_FN_BITS) & 0xff;

	*reg = (unsigned int)addr & (PCI_CONFIG_SIZE - 1);
	if (addr >> (PCI_ECAM_FN_BITS + 8) || devfn & 7)
		return NULL;
	return bus->slots[devfn >> 3];
}

/* An access within one dword; @data stays all ones when no function answers. */
static void config_read(struct pci_bus *bus, uint64_t addr, void *data, unsigned int len)
{
	unsigned int reg;
	struct pci_device *dev = config_target(bus, addr, &reg);

	if (!dev)
		return;
	if (dev->ops && dev->ops->config_read)
		dev->ops->config_read(dev, reg, len);
	if (reg <= PCI_STATUS && reg + len > PCI_STATUS) {
		pthread_mutex_lock(&bus->intx_lock);
		dev->config[PCI_STATUS] = (uint8_t)((dev->config[PCI_STATUS] & ~PCI_STATUS_INTX) |
						    (dev->intx_level ? PCI_STATUS_INTX : 0));
		pthread_mutex_unlock(&bus->intx_lock);
	}
	memcpy(data, dev->config + reg, len);
}

static void config_write(struct pci_bus *bus, uint64_t addr, const void *data, unsigned int len)
{
	const uint8_t *v = data;
	unsigned int reg;
	struct pci_device *dev = config_target(bus, addr, &reg);
	bool was_disabled;

	if (!dev)
		return;
	pthread_mutex_lock(&bus->intx_lock);
	was_disabled = intx_disabled(dev);
	for (unsigned int i = 0; i < len; i++) {
		uint8_t m = dev->wmask[reg + i];

		dev->config[reg + i] = (uint8_t)((dev->config[reg + i] & ~m) | (v[i] & m));
	}
	if (dev->config[PCI_INTERRUPT_PIN])
		intx_drive(dev, dev->intx_level && !was_disabled,
			   dev->intx_level && !intx_disabled(dev));
	pthread_mutex_unlock(&bus->intx_lock);
	if (reg < PCI_BAR0 + 4 * PCI_NR_BARS && reg + len > PCI_COMMAND)
		update_bars(dev);
	if (dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, reg, len);
}

/* 0xCF8's bus, device, function and register as an ECAM address. */
static uint64_t port_target(const struct pci_bus *bus, uint64_t offset)
{
	uint32_t a = bus->config_address;

	return (uint64_t)((a >> 16) & 0xff) << (PCI_ECAM_FN_BITS + 8) |
	       (uint64_t)((a >> 8) & 0xff) << PCI_ECAM_FN_BITS | (a & 0xfc) |
	       (offset - CONFIG_DATA);
}

/*
 * The address register answers dword accesses only (byte accesses to 0xCF8..0xCFB
 * are other chipset registers, absent here); the data window needs bit 31 set.
 */
static bool port_is_address(uint64_t offset, uint32_t len)
{
	return offset == 0 && len == 4;
}

static bool port_is_data(const struct pci_bus *bus, uint64_t offset, uint32_t len)
{
	return offset >= CONFIG_DATA && offset + len <= PCI_CONFIG_PORT_LEN &&
	       (bus->config_address & CONFIG_ENABLE);
}

static void port_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;

	memset(data, 0xff, len);
	pthread_mutex_lock(&bus->lock);
	if (port_is_address(offset, len))
		put_le(data, bus->config_address, 4);
	else if (port_is_data(bus, offset, len))
		config_read(bus, port_target(bus, offset), data, len);
	pthread_mutex_unlock(&bus->lock);
}

static void port_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;

	pthread_mutex_lock(&bus->lock);
	if (port_is_address(offset, len))
		bus->config_address = (uint32_t)get_le(data, 4) & CONFIG_ADDRESS_MASK;
	else if (port_is_data(bus, offset, len))
		config_write(bus, port_target(bus, offset), data, len);
	pthread_mutex_unlock(&bus->lock);
}

const struct bus_ops pci_config_port_ops = {
	.read = port_read,
	.write = port_write,
};

/* ECAM accesses that cross a dword (or are 8 bytes wide) are not supported: dropped. */
static bool ecam_access_ok(uint64_t offset, uint32_t len)
{
	return (offset & 3) + len <= 4;
}

static void ecam_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;

	memset(data, 0xff, len);
	if (!ecam_access_ok(offset, len))
		return;
	pthread_mutex_lock(&bus->lock);
	config_read(bus, offset, data, len);
	pthread_mutex_unlock(&bus->lock);
}

static void ecam_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;

	if (!ecam_access_ok(offset, len))
		return;
	pthread_mutex_lock(&bus->lock);
	config_write(bus, offset, data, len);
	pthread_mutex_unlock(&bus->lock);
}

const struct bus_ops pci_ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

static uint32_t slot_mask(const struct pci_bus *bus)
{
	uint32_t mask = 0;

	for (unsigned int i = 0; i < PCI_NR_SLOTS; i++)
		mask |= bus->slots[i] ? 1u << i : 0;
	return mask;
}

void pci_bus_save(struct pci_bus *bus, struct snap_buf *out)
{
	uint32_t hdr[2];

	pthread_mutex_lock(&bus->lock);
	hdr[0] = bus->config_address;
	hdr[1] = slot_mask(bus);
	snap_buf_put(out, hdr, sizeof(hdr));
	for (unsigned int i = 0; i < PCI_NR_SLOTS; i++) {
		if (bus->slots[i])
			snap_buf_put(out, bus->slots[i]->config, PCI_CONFIG_SIZE);
	}
	pthread_mutex_unlock(&bus->lock);
}

/*
 * What a guest cannot write (IDs, class, capabilities, BAR sizes) must be
 * what this VM's devices have; the status register is the device's to change.
 */
static int check_same_devices(const struct pci_bus *bus, const uint8_t *saved)
{
	for (unsigned int i = 0; i < PCI_NR_SLOTS; i++) {
		const struct pci_device *dev = bus->slots[i];

		if (!dev)
			continue;
		for (unsigned int r = 0; r < PCI_CONFIG_SIZE; r++) {
			if (r == PCI_STATUS || r == PCI_STATUS + 1)
				continue;
			if ((saved[r] ^ dev->config[r]) & ~dev->wmask[r])
				return err_set(
					EINVAL,
					"the state has another device at 00:%02x.0 than this "
					"VM: give the same -device and -drive options",
					i);
		}
		saved += PCI_CONFIG_SIZE;
	}
	return 0;
}

int pci_bus_load(struct pci_bus *bus, const uint8_t *data, size_t len)
{
	uint32_t hdr[2], mask = slot_mask(bus);
	int ret;

	if (len < sizeof(hdr))
		return err_set(EINVAL, "the saved PCI bus is malformed");
	memcpy(hdr, data, sizeof(hdr));
	if (hdr[1] != mask)
		return err_set(EINVAL,
			       "the state has PCI devices in slots %#x, this VM in %#x: give "
			       "the same -device and -drive options",
			       hdr[1], mask);
	if (len != sizeof(hdr) + (size_t)__builtin_popcount(mask) * PCI_CONFIG_SIZE)
		return err_set(EINVAL, "the saved PCI bus is malformed");
	data += sizeof(hdr);
	ret = check_same_devices(bus, data);
	if (ret)
		return ret;
	pthread_mutex_lock(&bus->lock);
	bus->config_address = hdr[0];
	for (unsigned int i = 0; i < PCI_NR_SLOTS; i++) {
		struct pci_device *dev = bus->slots[i];

		if (!dev)
			continue;
		pthread_mutex_lock(&bus->intx_lock);
		if (dev->config[PCI_INTERRUPT_PIN])
			intx_drive(dev, dev->intx_level && !intx_disabled(dev), false);
		dev->intx_level = false;
		memcpy(dev->config, data, PCI_CONFIG_SIZE);
		pthread_mutex_unlock(&bus->intx_lock);
		data += PCI_CONFIG_SIZE;
		update_bars(dev);
		if (dev->ops && dev->ops->config_write)
			dev->ops->config_write(dev, 0, PCI_CONFIG_SIZE);
	}
	pthread_mutex_unlock(&bus->lock);
	return 0;
}
