// SPDX-License-Identifier: MIT
/*
 * Unit tests for the PCI bus (devices/pci/): the host bridge and a fake
 * device with every kind of BAR, reached the way a guest reaches them,
 * through ports 0xCF8/0xCFC and ECAM on a PIO and an MMIO bus.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "layout.h"
#include "pci.h"

#define ENABLE	   0x80000000u
#define FAKE_SLOT  1
#define ALL_ONES   0xffffffffu
#define CAP_VENDOR 0x09

#define MMIO64_BASE 0x100000000ULL

struct fake {
	struct pci_device dev;
	unsigned int reads, writes;
	unsigned int offset, len; /* of the last hook call */
	unsigned int moves;	  /* bar_moved calls */
	uint64_t moved_to[PCI_NR_BARS];
	struct pci_msix *msix;
};

/* What the bus asked of the host. */
struct host {
	int line[PCI_NR_INTX_GSIS]; /* level per INTx GSI; -1: never driven */
	unsigned int intx_calls;
	unsigned int next_gsi, updates;
	uint64_t addr[64];
	uint32_t data[64];
};

struct ctx {
	struct bus pio, mmio;
	struct pci_bus pci;
	struct pci_device host_bridge;
	struct fake fake;
	struct host host;
};

static void host_set_intx(void *opaque, unsigned int gsi, bool level)
{
	struct host *h = opaque;

	assert_in_range(gsi, PCI_INTX_GSI_BASE, PCI_INTX_GSI_BASE + PCI_NR_INTX_GSIS - 1);
	h->line[gsi - PCI_INTX_GSI_BASE] = level;
	h->intx_calls++;
}

static int host_msi_alloc(void *opaque, struct pci_msi_route *route)
{
	struct host *h = opaque;

	route->gsi = h->next_gsi++;
	route->fd = eventfd(0, EFD_NONBLOCK);
	return route->fd < 0 ? -errno : 0;
}

static int host_msi_update(void *opaque, struct pci_msi_route *route, uint64_t addr, uint32_t data)
{
	struct host *h = opaque;

	h->addr[route->gsi] = addr;
	h->data[route->gsi] = data;
	h->updates++;
	return 0;
}

static void host_msi_free(void *opaque, struct pci_msi_route *route)
{
	(void)opaque;
	close(route->fd);
}

static const struct pci_host_ops host_ops = {
	.set_intx = host_set_intx,
	.msi_alloc = host_msi_alloc,
	.msi_update = host_msi_update,
	.msi_free = host_msi_free,
};

static const struct pci_windows windows = {
	.mmio32_base = PCI_MMIO_BASE,
	.mmio32_end = PCI_ECAM_BASE,
	.mmio64_base = MMIO64_BASE,
	.mmio64_end = MMIO64_BASE + 8 * GIB,
	.io_base = PCI_IO_BASE,
	.io_end = PCI_IO_END,
};

static void fake_config_read(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct fake *f = container_of(dev, struct fake, dev);

	f->reads++;
	f->offset = offset;
	f->len = len;
	dev->config[0x48] = (uint8_t)f->reads; /* a register that changes on its own */
}

static void fake_config_write(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct fake *f = container_of(dev, struct fake, dev);

	f->writes++;
	f->offset = offset;
	f->len = len;
	if (f->msix)
		pci_msix_config_write(f->msix, offset, len);
}

static void fake_bar_moved(struct pci_device *dev, unsigned int bar, uint64_t addr)
{
	struct fake *f = container_of(dev, struct fake, dev);

	f->moves++;
	f->moved_to[bar] = addr;
}

static const struct pci_device_ops fake_ops = {
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.bar_moved = fake_bar_moved,
};

static const struct pci_device_info fake_info = {
	.vendor_id = 0x1234,
	.device_id = 0x5678,
	.subsystem_vendor_id = 0x9abc,
	.subsystem_id = 0xdef0,
	.class_code = 0xff0102,
	.revision = 7,
	.interrupt_pin = 1,
	.bars = {
		{ PCI_BAR_IO, 0x40, false },
		{ PCI_BAR_MEM32, 0x1000, false },
		{ PCI_BAR_MEM64, 0x100000, true },
	},
};

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c || bus_init(&c->pio, "pio") || bus_init(&c->mmio, "mmio"))
		return -1;
	memset(c->host.line, 0xff, sizeof(c->host.line));
	pci_bus_init(&c->pci, &c->pio, &c->mmio, &windows, &host_ops, &c->host);
	if (pci_host_bridge_init(&c->host_bridge) || pci_bus_add(&c->pci, &c->host_bridge) ||
	    pci_device_init(&c->fake.dev, &fake_ops, &fake_info) ||
	    pci_bus_add(&c->pci, &c->fake.dev) ||
	    bus_register(&c->pio, PCI_CONFIG_PORT, PCI_CONFIG_PORT_LEN, &pci_config_port_ops,
			 &c->pci) ||
	    bus_register(&c->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &c->pci))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	pci_bus_destroy(&c->pci);
	bus_destroy(&c->mmio);
	bus_destroy(&c->pio);
	test_free(c);
	return 0;
}

static uint32_t cf8_address(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t pio_read(struct ctx *c, uint64_t port, unsigned int len)
{
	uint32_t v = 0;

	assert_true(bus_read(&c->pio, port, &v, len));
	return v;
}

static void pio_write(struct ctx *c, uint64_t port, uint32_t v, unsigned int len)
{
	assert_true(bus_write(&c->pio, port, &v, len));
}

/* Mechanism #1: the address, then the data port of the byte at @reg. */
static uint32_t cf8_read(struct ctx *c, unsigned int dev, unsigned int reg, unsigned int len)
{
	pio_write(c, 0xcf8, cf8_address(0, dev, 0, reg), 4);
	return pio_read(c, 0xcfc + (reg & 3), len);
}

static void cf8_write(struct ctx *c, unsigned int dev, unsigned int reg, uint32_t v,
		      unsigned int len)
{
	pio_write(c, 0xcf8, cf8_address(0, dev, 0, reg), 4);
	pio_write(c, 0xcfc + (reg & 3), v, len);
}

static uint64_t ecam_addr(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)bus << 20 | dev << 15 | fn << 12 | reg);
}

static uint64_t ecam_read(struct ctx *c, unsigned int bus, unsigned int dev, unsigned int reg,
			  unsigned int len)
{
	uint64_t v = 0;

	assert_true(bus_read(&c->mmio, ecam_addr(bus, dev, 0, reg), &v, len));
	return v;
}

static void ecam_write(struct ctx *c, unsigned int dev, unsigned int reg, uint32_t v,
		       unsigned int len)
{
	assert_true(bus_write(&c->mmio, ecam_addr(0, dev, 0, reg), &v, len));
}

/* Both mechanisms read @want at @reg of slot @dev. */
static void assert_config(struct ctx *c, unsigned int dev, unsigned int reg, unsigned int len,
			  uint32_t want)
{
	assert_int_equal(cf8_read(c, dev, reg, len), want);
	assert_int_equal(ecam_read(c, 0, dev, reg, len), want);
}

static void test_host_bridge(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(c->host_bridge.devfn, 0);
	assert_config(c, 0, 0x00, 4, 0x00081b36);
	assert_config(c, 0, 0x08, 4, 0x06000000); /* class 06/00/00, revision 0 */
	assert_config(c, 0, 0x0e, 1, 0);	  /* header type 0, one function */
	assert_config(c, 0, 0x06, 2, 0);	  /* no capabilities */
	for (unsigned int reg = 0x10; reg < 0x28; reg += 4) {
		cf8_write(c, 0, reg, ALL_ONES, 4);
		assert_config(c, 0, reg, 4, 0); /* no BARs */
	}
	assert_config(c, 0, 0x34, 1, 0);
	assert_config(c, 0, 0x3d, 1, 0); /* no interrupt pin */
}

static void test_absent(void **state)
{
	struct ctx *c = *state;
	static const unsigned int lens[] = { 1, 2, 4 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		unsigned int len = lens[i];
		uint32_t ones = len == 4 ? ALL_ONES : (1u << (8 * len)) - 1;

		assert_config(c, 2, 0, len, ones);
		assert_config(c, 31, 0, len, ones);
		/* Function 1 of a present device, and a bus that does not exist. */
		pio_write(c, 0xcf8, cf8_address(0, 0, 1, 0), 4);
		assert_int_equal(pio_read(c, 0xcfc, len), ones);
		assert_int_equal(bus_read(&c->mmio, ecam_addr(0, 0, 1, 0), &(uint32_t){ 0 }, 4),
				 true);
		pio_write(c, 0xcf8, cf8_address(1, 0, 0, 0), 4);
		assert_int_equal(pio_read(c, 0xcfc, len), ones);
		assert_int_equal(ecam_read(c, 1, 0, 0, len), ones);
		assert_int_equal(ecam_read(c, 255, FAKE_SLOT, 0, len), ones);
	}
	/* Writes to nothing go nowhere. */
	cf8_write(c, 2, 0x04, ALL_ONES, 4);
	ecam_write(c, 3, 0x04, ALL_ONES, 4);
	assert_config(c, 2, 0x04, 4, ALL_ONES);
}

static void test_address_register(void **state)
{
	struct ctx *c = *state;

	/* Reserved bits 30:24 and 1:0 read as zero. */
	pio_write(c, 0xcf8, ALL_ONES, 4);
	assert_int_equal(pio_read(c, 0xcf8, 4), 0x80fffffc);
	/* Only dword accesses reach it (Linux probes with a byte write to 0xCFB). */
	pio_write(c, 0xcfb, 0x01, 1);
	pio_write(c, 0xcf8, 0x12, 2);
	assert_int_equal(pio_read(c, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(pio_read(c, 0xcf8, 1), 0xff);
	/* Without the enable bit the data port is dead. */
	pio_write(c, 0xcf8, cf8_address(0, FAKE_SLOT, 0, 0x04) & ~ENABLE, 4);
	assert_int_equal(pio_read(c, 0xcfc, 4), ALL_ONES);
	pio_write(c, 0xcfc, 0x0002, 2); /* command, if it were enabled */
	assert_config(c, FAKE_SLOT, 0x04, 2, 0);
	/* An access that runs past the data port is not the bus's. */
	assert_false(bus_read(&c->pio, 0xcfe, &(uint32_t){ 0 }, 4));
}

static void test_read_only(void **state)
{
	struct ctx *c = *state;
	static const struct {
		unsigned int reg;
		uint32_t want;
	} regs[] = {
		{ 0x00, 0x56781234 }, /* vendor, device */
		{ 0x08, 0xff010207 }, /* class, revision */
		{ 0x0c, 0x000000ff }, /* cache line size (scratch); latency, header type, BIST: 0 */
		{ 0x28, 0 },	      /* CardBus CIS */
		{ 0x2c, 0xdef09abc }, /* subsystem */
		{ 0x30, 0 },	      /* no expansion ROM */
		{ 0x34, 0 },	      /* no capabilities yet */
		{ 0x3c, 0x000001ff }, /* interrupt line (scratch), pin A, no grant/latency */
	};

	for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
		cf8_write(c, FAKE_SLOT, regs[i].reg, ALL_ONES, 4);
		ecam_write(c, FAKE_SLOT, regs[i].reg, ALL_ONES, 4);
		assert_config(c, FAKE_SLOT, regs[i].reg, 4, regs[i].want);
	}
	/* Status is read-only; command keeps its decode, master and INTx-disable bits. */
	cf8_write(c, FAKE_SLOT, 0x04, ALL_ONES, 4);
	assert_config(c, FAKE_SLOT, 0x04, 4, 0x00000407);
	ecam_write(c, FAKE_SLOT, 0x04, 0x0002, 2);
	assert_config(c, FAKE_SLOT, 0x04, 4, 0x00000002);
}

static void test_access_sizes(void **state)
{
	struct ctx *c = *state;

	/* Every byte and word at any offset within a dword, through each data port. */
	for (unsigned int i = 0; i < 4; i++) {
		assert_config(c, FAKE_SLOT, i, 1, (0x56781234u >> (8 * i)) & 0xff);
		if (i < 3)
			assert_config(c, FAKE_SLOT, i, 2, (0x56781234u >> (8 * i)) & 0xffff);
	}
	assert_config(c, FAKE_SLOT, 0x09, 2, 0x0102);
	/* Unaligned writes: bytes 0x3c (line) and 0x3d (pin, read-only) in one word. */
	cf8_write(c, FAKE_SLOT, 0x3c, 0x550b, 2);
	assert_config(c, FAKE_SLOT, 0x3c, 2, 0x010b);
	ecam_write(c, FAKE_SLOT, 0x3c, 0x0a, 1);
	assert_config(c, FAKE_SLOT, 0x3c, 1, 0x0a);
	/* The command register's high byte (INTx disable) alone, at 0xCFD. */
	cf8_write(c, FAKE_SLOT, 0x05, 0x04, 1);
	assert_config(c, FAKE_SLOT, 0x04, 2, 0x0400);
	/* ECAM accesses crossing a dword, or 8 bytes wide, are dropped. */
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x03, 2), 0xffff);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x02, 4), ALL_ONES);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x00, 8), UINT64_MAX);
	ecam_write(c, FAKE_SLOT, 0x03, 0x0000, 2);
	assert_config(c, FAKE_SLOT, 0x04, 2, 0x0400);
}

/* Write all ones to BAR @i, read the size mask, then program @addr, to read @want. */
static void check_bar(struct ctx *c, unsigned int i, uint32_t mask, uint32_t addr, uint32_t want)
{
	unsigned int reg = 0x10 + 4 * i;

	cf8_write(c, FAKE_SLOT, reg, ALL_ONES, 4);
	assert_config(c, FAKE_SLOT, reg, 4, mask);
	ecam_write(c, FAKE_SLOT, reg, addr, 4);
	assert_config(c, FAKE_SLOT, reg, 4, want);
}

static void test_bar_sizing(void **state)
{
	struct ctx *c = *state;

	/* The bus placed each BAR in its window, naturally aligned, as firmware would. */
	assert_config(c, FAKE_SLOT, 0x10, 4, 0xc001);
	assert_config(c, FAKE_SLOT, 0x14, 4, 0xc0000000);
	assert_config(c, FAKE_SLOT, 0x18, 4, 0xc);
	assert_config(c, FAKE_SLOT, 0x1c, 4, MMIO64_BASE >> 32);
	check_bar(c, 0, 0xffffffc1, 0xc040, 0xc041);	     /* I/O, 64 ports */
	check_bar(c, 1, 0xfffff000, 0xc0001234, 0xc0001000); /* 32-bit memory, 4 KiB */
	check_bar(c, 2, 0xfff0000c, 0xc0100000, 0xc010000c); /* 64-bit prefetchable, 1 MiB */
	check_bar(c, 3, 0xffffffff, 0x00000001, 0x00000001); /* its high half */
	check_bar(c, 4, 0, 0xc0200000, 0);		     /* unused */
	check_bar(c, 5, 0, 0xc0200000, 0);
	/* Sizing with a word write: the low bits stay the type. */
	cf8_write(c, FAKE_SLOT, 0x14, 0xffff, 2);
	assert_config(c, FAKE_SLOT, 0x14, 4, 0xc000f000);
}

static unsigned int bar_reads;

static void bar_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	bar_reads++;
	memset(data, 0, len);
	memcpy(data, &offset, len < 8 ? len : 8);
}

static const struct bus_ops bar_ops = { .read = bar_read };

static bool claimed(struct bus *b, uint64_t addr)
{
	uint32_t v;

	return bus_read(b, addr, &v, 4);
}

static void test_bar_decode(void **state)
{
	struct ctx *c = *state;
	struct fake *f = &c->fake;
	uint32_t v = 0;

	for (unsigned int i = 0; i < 3; i++)
		pci_set_bar_handler(&f->dev, i, &bar_ops, f);
	/* Placed but not decoded until the command register says so. */
	assert_false(claimed(&c->mmio, 0xc0000000));
	assert_false(claimed(&c->pio, 0xc000));
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(bus_read(&c->mmio, 0xc0000010, &v, 4));
	assert_int_equal(v, 0x10); /* the handler sees offsets from the BAR */
	assert_true(claimed(&c->mmio, MMIO64_BASE + 0xffffc));
	assert_false(claimed(&c->mmio, MMIO64_BASE + 0x100000));
	assert_false(claimed(&c->pio, 0xc000));
	assert_int_equal(f->moves, 2);
	assert_int_equal(f->moved_to[1], 0xc0000000);
	assert_int_equal(f->moved_to[2], MMIO64_BASE);
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_true(claimed(&c->pio, 0xc03c));
	assert_int_equal(f->moved_to[0], 0xc000);
	/* Moving a BAR moves its handler. */
	cf8_write(c, FAKE_SLOT, 0x14, 0xd0000000, 4);
	assert_false(claimed(&c->mmio, 0xc0000000));
	assert_true(claimed(&c->mmio, 0xd0000ffc));
	assert_int_equal(f->moved_to[1], 0xd0000000);
	/* Sizing with decoding on: the all-ones address overlaps ECAM's neighbour, not ECAM. */
	cf8_write(c, FAKE_SLOT, 0x14, ALL_ONES, 4);
	assert_true(claimed(&c->mmio, 0xfffff000));
	cf8_write(c, FAKE_SLOT, 0x14, 0xd0000000, 4);
	/* A BAR over another range (ECAM) decodes nothing rather than steal it. */
	cf8_write(c, FAKE_SLOT, 0x14, PCI_ECAM_BASE, 4);
	assert_int_equal(f->moved_to[1], 0);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0, 2), 0x1234);
	/* Decoding off: everything goes. */
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, 0, 2);
	assert_false(claimed(&c->mmio, MMIO64_BASE));
	assert_false(claimed(&c->pio, 0xc000));
	assert_int_equal(f->moved_to[0], 0);
	assert_int_equal(f->moved_to[2], 0);
}

static void test_intx(void **state)
{
	struct ctx *c = *state;
	struct pci_device *other = test_malloc(sizeof(*other));
	struct pci_device_info info = fake_info;
	unsigned int gsi = pci_intx_gsi(FAKE_SLOT, 1), line = gsi - PCI_INTX_GSI_BASE;

	/* INTA# of slot 1 and INTD# of slot 2 share a line. */
	info.interrupt_pin = 4;
	memset(info.bars, 0, sizeof(info.bars));
	assert_int_equal(pci_device_init(other, NULL, &info), 0);
	assert_int_equal(pci_bus_add(&c->pci, other), 0);
	assert_int_equal(pci_intx_gsi(2, 4), gsi);
	assert_config(c, FAKE_SLOT, PCI_INTERRUPT_LINE, 1, gsi);
	assert_config(c, 2, PCI_INTERRUPT_LINE, 1, gsi);

	pci_set_intx(&c->fake.dev, true);
	assert_int_equal(c->host.line[line], 1);
	assert_config(c, FAKE_SLOT, PCI_STATUS, 2, PCI_STATUS_INTX);
	pci_set_intx(other, true);
	pci_set_intx(&c->fake.dev, false);
	assert_int_equal(c->host.line[line], 1); /* still held by the other device */
	assert_config(c, FAKE_SLOT, PCI_STATUS, 2, 0);
	pci_set_intx(other, false);
	assert_int_equal(c->host.line[line], 0);
	assert_int_equal(c->host.intx_calls, 2);
	/* INTX_DISABLE masks the output but not the status bit; clearing it re-asserts. */
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	pci_set_intx(&c->fake.dev, true);
	assert_int_equal(c->host.line[line], 0);
	assert_config(c, FAKE_SLOT, PCI_STATUS, 2, PCI_STATUS_INTX);
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, 0, 2);
	assert_int_equal(c->host.line[line], 1);
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(c->host.line[line], 0);
	test_free(other);
}

static uint64_t eventfd_count(int fd)
{
	eventfd_t v = 0;

	return eventfd_read(fd, &v) ? 0 : v;
}

static void msix_write32(struct ctx *c, uint64_t off, uint32_t v)
{
	assert_true(bus_write(&c->mmio, 0xc0000000 + off, &v, 4));
}

static uint32_t msix_read32(struct ctx *c, uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_read(&c->mmio, 0xc0000000 + off, &v, 4));
	return v;
}

static void test_msix(void **state)
{
	struct ctx *c = *state;
	struct pci_msix *m = test_malloc(sizeof(*m));
	int cap;

	/* Keep MSI-X clear of the fake's self-changing byte at 0x48. */
	assert_int_equal(pci_add_capability(&c->fake.dev, CAP_VENDOR, 12), 0x40);
	assert_int_equal(pci_msix_init(m, &c->fake.dev, 3, 1, 0, 0x800), 0);
	c->fake.msix = m;
	cap = (int)m->cap;
	pci_set_bar_handler(&c->fake.dev, 1, &pci_msix_bar_ops, m);
	cf8_write(c, FAKE_SLOT, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_config(c, FAKE_SLOT, cap, 4, 0x00020000 | PCI_CAP_ID_MSIX); /* 3 vectors */
	assert_config(c, FAKE_SLOT, cap + 4, 4, 1);			   /* table: BAR 1, 0 */
	assert_config(c, FAKE_SLOT, cap + 8, 4, 0x801);			   /* PBA: BAR 1, 0x800 */
	/* Vectors start masked; a disabled function drops interrupts. */
	assert_int_equal(msix_read32(c, 12), 1);
	pci_msix_notify(m, 0);
	assert_int_equal(msix_read32(c, 0x800), 0);
	/* Program vector 1, enable MSI-X, unmask: an interrupt goes through the route. */
	msix_write32(c, 16, 0xfee01000);
	msix_write32(c, 20, 0);
	msix_write32(c, 24, 0x4041);
	cf8_write(c, FAKE_SLOT, cap + 2, PCI_MSIX_CTRL_ENABLE, 2);
	assert_true(pci_msix_enabled(m));
	pci_msix_notify(m, 1);
	assert_int_equal(msix_read32(c, 0x800), 2); /* masked: pending */
	assert_int_equal(eventfd_count(m->routes[1].fd), 0);
	msix_write32(c, 28, 0);
	assert_int_equal(msix_read32(c, 0x800), 0);
	assert_int_equal(eventfd_count(m->routes[1].fd), 1);
	assert_int_equal(c->host.addr[m->routes[1].gsi], 0xfee01000);
	assert_int_equal(c->host.data[m->routes[1].gsi], 0x4041);
	pci_msix_notify(m, 1);
	assert_int_equal(eventfd_count(m->routes[1].fd), 1);
	assert_int_equal(c->host.updates, 1); /* the route is reused while the message stays */
	/* The function mask holds everything back until cleared. */
	cf8_write(c, FAKE_SLOT, cap + 2, PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL, 2);
	pci_msix_notify(m, 1);
	assert_int_equal(eventfd_count(m->routes[1].fd), 0);
	assert_int_equal(msix_read32(c, 0x800), 2);
	cf8_write(c, FAKE_SLOT, cap + 2, PCI_MSIX_CTRL_ENABLE, 2);
	assert_int_equal(eventfd_count(m->routes[1].fd), 1);
	/* A new message is routed at the next interrupt. */
	msix_write32(c, 24, 0x4042);
	pci_msix_notify(m, 1);
	assert_int_equal(c->host.data[m->routes[1].gsi], 0x4042);
	assert_int_equal(c->host.updates, 2);
	/* The PBA is read-only, unaligned or odd-sized accesses are ignored, bad vectors too. */
	msix_write32(c, 0x800, ALL_ONES);
	assert_int_equal(msix_read32(c, 0x800), 0);
	assert_true(bus_write(&c->mmio, 0xc0000000 + 18, &(uint16_t){ 0xffff }, 2));
	assert_int_equal(msix_read32(c, 16), 0xfee01000);
	pci_msix_notify(m, 3);
	assert_int_equal(msix_read32(c, 0x800), 0);
	assert_int_equal(msix_read32(c, 48), 0); /* past the table */
	pci_msix_destroy(m);
	c->fake.msix = NULL;
	test_free(m);
}

static void test_bar_errors(void **state)
{
	static const struct {
		unsigned int index;
		struct pci_bar bar;
	} bad[] = {
		{ 0, { PCI_BAR_IO, 0x30, false } },  /* not a power of two */
		{ 0, { PCI_BAR_IO, 0x200, false } }, /* I/O BARs are at most 256 ports */
		{ 0, { PCI_BAR_IO, 2, false } },
		{ 0, { PCI_BAR_IO, 0x10, true } },	  /* prefetchable I/O */
		{ 0, { PCI_BAR_MEM32, 8, false } },	  /* memory BARs are at least 16 bytes */
		{ 0, { PCI_BAR_MEM32, 4 * GIB, false } }, /* a 32-bit BAR holds at most 2 GiB */
		{ 5, { PCI_BAR_MEM64, 0x1000, false } },  /* no room for the high half */
		{ 0, { PCI_BAR_MEM64, 0, false } },
	};
	struct pci_device_info info = fake_info;
	struct pci_device *dev = test_malloc(sizeof(*dev));

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(info.bars, 0, sizeof(info.bars));
		info.bars[bad[i].index] = bad[i].bar;
		assert_int_equal(pci_device_init(dev, NULL, &info), -EINVAL);
		assert_non_null(strstr(err_msg(EINVAL), "BAR"));
	}
	/* A 64-bit BAR whose high half is taken. */
	memset(info.bars, 0, sizeof(info.bars));
	info.bars[2] = (struct pci_bar){ PCI_BAR_MEM64, 0x1000, false };
	info.bars[3] = (struct pci_bar){ PCI_BAR_MEM32, 0x1000, false };
	assert_int_equal(pci_device_init(dev, NULL, &info), -EINVAL);
	info.bars[3].type = PCI_BAR_NONE;
	assert_int_equal(pci_device_init(dev, NULL, &info), 0);
	info.interrupt_pin = 5;
	assert_int_equal(pci_device_init(dev, NULL, &info), -EINVAL);
	test_free(dev);
}

static void test_capabilities(void **state)
{
	struct ctx *c = *state;
	int a, b;

	a = pci_add_capability(&c->fake.dev, CAP_VENDOR, 10);
	b = pci_add_capability(&c->fake.dev, 0x11, 12);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x4c);		      /* dword-aligned after the first */
	assert_config(c, FAKE_SLOT, 0x06, 2, 0x0010); /* capability list */
	assert_config(c, FAKE_SLOT, 0x34, 1, 0x40);
	assert_config(c, FAKE_SLOT, 0x40, 2, 0x4c00 | CAP_VENDOR);
	assert_config(c, FAKE_SLOT, 0x4c, 2, 0x0011);
	/* The list is read-only. */
	cf8_write(c, FAKE_SLOT, 0x40, ALL_ONES, 4);
	cf8_write(c, FAKE_SLOT, 0x34, ALL_ONES, 1);
	assert_config(c, FAKE_SLOT, 0x34, 1, 0x40);
	assert_config(c, FAKE_SLOT, 0x40, 2, 0x4c00 | CAP_VENDOR);
	/* Up to the end of the 256 bytes, not beyond. */
	assert_int_equal(pci_add_capability(&c->fake.dev, CAP_VENDOR, 256 - 0x58), 0x58);
	assert_int_equal(pci_add_capability(&c->fake.dev, CAP_VENDOR, 2), -ENOSPC);
	assert_int_equal(pci_add_capability(&c->host_bridge, CAP_VENDOR, 1), -ENOSPC);
	/* Extended config space (ECAM only) is empty for a conventional device. */
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x100, 4), 0);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0xffc, 4), 0);
}

static void test_hooks(void **state)
{
	struct ctx *c = *state;
	struct fake *f = &c->fake;

	assert_int_equal(pci_add_capability(&f->dev, CAP_VENDOR, 12), 0x40);
	f->dev.wmask[0x44] = 0xff; /* the device opens a byte of its capability */
	f->reads = f->writes = 0;
	cf8_write(c, FAKE_SLOT, 0x44, 0x1234abcd, 4);
	assert_int_equal(f->writes, 1);
	assert_int_equal(f->offset, 0x44);
	assert_int_equal(f->len, 4);
	ecam_write(c, FAKE_SLOT, 0x46, 0x55, 1);
	assert_int_equal(f->writes, 2);
	assert_int_equal(f->offset, 0x46);
	assert_int_equal(f->len, 1);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x44, 4), 0xcd);
	assert_int_equal(f->reads, 1);
	assert_int_equal(f->offset, 0x44);
	assert_int_equal(f->len, 4);
	/* The read hook refreshes the register before it is read. */
	assert_int_equal(cf8_read(c, FAKE_SLOT, 0x48, 1), 2);
	assert_int_equal(ecam_read(c, 0, FAKE_SLOT, 0x48, 1), 3);
}

static void test_slots(void **state)
{
	struct ctx *c = *state;
	struct pci_device *devs = test_calloc(PCI_NR_SLOTS, sizeof(*devs));

	assert_int_equal(c->fake.dev.devfn, FAKE_SLOT << 3);
	for (unsigned int slot = 2; slot < PCI_NR_SLOTS; slot++) {
		assert_int_equal(pci_host_bridge_init(&devs[slot]), 0);
		assert_int_equal(pci_bus_add(&c->pci, &devs[slot]), 0);
		assert_int_equal(devs[slot].devfn, slot << 3);
	}
	assert_config(c, 31, 0x0a, 2, 0x0600);
	assert_int_equal(pci_bus_add(&c->pci, &devs[0]), -ENOSPC);
	assert_non_null(strstr(err_msg(ENOSPC), "PCI slots"));
	test_free(devs);
}

static void test_ecam_window(void **state)
{
	struct ctx *c = *state;
	uint32_t v = 0;

	/* The last byte of the window is bus 255's; the next is not the PCI bus's. */
	assert_true(bus_read(&c->mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE - 1, &v, 1));
	assert_int_equal(v, 0xff);
	assert_false(bus_read(&c->mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE, &v, 4));
	assert_false(bus_read(&c->mmio, PCI_ECAM_BASE - 4, &v, 4));
	/* Every bus but 0 is empty, whatever the device number. */
	for (unsigned int bus = 1; bus <= PCI_ECAM_LAST_BUS; bus++)
		assert_int_equal(ecam_read(c, bus, FAKE_SLOT, 0, 4), ALL_ONES);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_host_bridge), T(test_absent),	   T(test_address_register),
		T(test_read_only),   T(test_access_sizes), T(test_bar_sizing),
		T(test_bar_errors),  T(test_capabilities), T(test_hooks),
		T(test_slots),	     T(test_ecam_window),  T(test_bar_decode),
		T(test_intx),	     T(test_msix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
