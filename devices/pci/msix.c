// SPDX-License-Identifier: MIT
/*
 * MSI-X: the capability in config space, the vector table and the PBA in a
 * BAR.  Each vector owns a host route (a GSI and an irqfd); the route is
 * rewritten only when a vector fires or is unmasked after the guest changed
 * its message, because every routing change costs the host a grace period.
 * A masked vector (or function) collects its interrupt in the PBA and
 * delivers it on unmask.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "error.h"
#include "pci.h"
#include "snapshot.h"

#define CAP_CONTROL   2
#define CAP_TABLE     4
#define CAP_PBA	      8
#define CAP_LEN	      12
#define ENTRY_DATA    8
#define ENTRY_CONTROL 12

int pci_msix_init(struct pci_msix *m, struct pci_device *dev, unsigned int nr, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off)
{
	struct pci_bus *bus = dev->bus;
	int cap;

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->dev = dev;
	if (!nr || nr > PCI_MSIX_MAX_VECTORS)
		return err_set(EINVAL, "%u MSI-X vectors: 1..%u are supported", nr,
			       PCI_MSIX_MAX_VECTORS);
	cap = pci_add_capability(dev, PCI_CAP_ID_MSIX, CAP_LEN);
	if (cap < 0)
		return cap;
	m->cap = (unsigned int)cap;
	m->nr = nr;
	m->table_off = table_off;
	m->pba_off = pba_off;
	dev->config[cap + CAP_CONTROL] = (uint8_t)(nr - 1);
	dev->config[cap + CAP_CONTROL + 1] = (uint8_t)((nr - 1) >> 8);
	dev->wmask[cap + CAP_CONTROL + 1] = (PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL) >> 8;
	for (unsigned int i = 0; i < 4; i++) {
		dev->config[cap + CAP_TABLE + i] = (uint8_t)((table_off | bar) >> (8 * i));
		dev->config[cap + CAP_PBA + i] = (uint8_t)((pba_off | bar) >> (8 * i));
	}
	for (unsigned int v = 0; v < nr; v++) {
		int ret;

		m->table[v].ctrl = PCI_MSIX_VECTOR_MASK; /* reset state: masked */
		ret = bus->host->msi_alloc(bus->host_opaque, &m->routes[v]);
		if (ret)
			return err_set(-ret, "cannot set up an MSI-X vector: %s", strerror(-ret));
		m->nr_routes = v + 1;
	}
	return 0;
}

void pci_msix_destroy(struct pci_msix *m)
{
	for (unsigned int v = 0; v < m->nr_routes; v++)
		m->dev->bus->host->msi_free(m->dev->bus->host_opaque, &m->routes[v]);
	m->nr_routes = 0;
	pthread_mutex_destroy(&m->lock);
}

/* Caller holds the lock. */
static void fire(struct pci_msix *m, unsigned int v)
{
	struct pci_bus *bus = m->dev->bus;
	const struct pci_msix_entry *e = &m->table[v];

	if (!m->routed[v]) {
		uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;

		if (bus->host->msi_update(bus->host_opaque, &m->routes[v], addr, e->data))
			return; /* lost, and unrouted: the next interrupt retries */
		m->routed[v] = true;
	}
	eventfd_write(m->routes[v].fd, 1); /* cannot fail: the count never nears overflow */
}

static bool vector_masked(const struct pci_msix *m, unsigned int v)
{
	return m->masked || (m->table[v].ctrl & PCI_MSIX_VECTOR_MASK);
}

/* Deliver what is pending and no longer masked.  Caller holds the lock. */
static void flush_pending(struct pci_msix *m)
{
	if (!m->enabled)
		return;
	for (unsigned int v = 0; v < m->nr; v++) {
		if ((m->pending >> v & 1) && !vector_masked(m, v)) {
			m->pending &= ~(1ULL << v);
			fire(m, v);
		}
	}
}

void pci_msix_config_write(struct pci_msix *m, unsigned int offset, unsigned int len)
{
	unsigned int reg = m->cap + CAP_CONTROL + 1;
	uint8_t ctl;

	if (offset > reg || offset + len <= reg)
		return;
	ctl = m->dev->config[reg];
	pthread_mutex_lock(&m->lock);
	m->enabled = ctl & (PCI_MSIX_CTRL_ENABLE >> 8);
	m->masked = ctl & (PCI_MSIX_CTRL_MASKALL >> 8);
	flush_pending(m);
	pthread_mutex_unlock(&m->lock);
}

bool pci_msix_enabled(struct pci_msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

void pci_msix_notify(struct pci_msix *m, unsigned int vector)
{
	if (vector >= m->nr)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->enabled && !vector_masked(m, vector))
		fire(m, vector);
	else if (m->enabled)
		m->pending |= 1ULL << vector;
	pthread_mutex_unlock(&m->lock);
}

/* Table and PBA take aligned dword and qword accesses (6.8.2: others are undefined). */
static bool access_ok(uint64_t offset, uint32_t len)
{
	return (len == 4 || len == 8) && !(offset & (len - 1));
}

static void msix_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci_msix *m = opaque;
	uint64_t table_end = m->table_off + (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE;
	uint64_t v = 0;

	if (!access_ok(offset, len)) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (offset >= m->table_off && offset < table_end) {
		memcpy(&v, (const uint8_t *)m->table + (offset - m->table_off), len);
	} else if (offset >= m->pba_off && offset < m->pba_off + 8) {
		v = m->pending >> (8 * (offset - m->pba_off));
	}
	pthread_mutex_unlock(&m->lock);
	memcpy(data, &v, len);
}

static void msix_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci_msix *m = opaque;
	uint64_t table_end = m->table_off + (uint64_t)m->nr * PCI_MSIX_ENTRY_SIZE;
	unsigned int v, field;
	uint8_t *e;

	/* The PBA is read-only. */
	if (!access_ok(offset, len) || offset < m->table_off || offset >= table_end)
		return;
	v = (unsigned int)((offset - m->table_off) / PCI_MSIX_ENTRY_SIZE);
	field = (unsigned int)((offset - m->table_off) % PCI_MSIX_ENTRY_SIZE);
	e = (uint8_t *)&m->table[v];
	pthread_mutex_lock(&m->lock);
	memcpy(e + field, data, len);
	m->table[v].ctrl &= PCI_MSIX_VECTOR_MASK; /* the other control bits are reserved */
	if (field < ENTRY_DATA + 4)
		m->routed[v] = false;
	if (field + len > ENTRY_CONTROL)
		flush_pending(m);
	pthread_mutex_unlock(&m->lock);
}

void pci_msix_save(struct pci_msix *m, struct snap_buf *out)
{
	pthread_mutex_lock(&m->lock);
	snap_buf_put(out, &m->pending, sizeof(m->pending));
	snap_buf_put(out, m->table, m->nr * sizeof(m->table[0]));
	pthread_mutex_unlock(&m->lock);
}

int pci_msix_load(struct pci_msix *m, struct snap_cursor *c)
{
	struct pci_msix_entry table[PCI_MSIX_MAX_VECTORS];
	uint64_t pending;
	uint8_t ctl = m->dev->config[m->cap + CAP_CONTROL + 1];

	snap_take(c, &pending, sizeof(pending));
	snap_take(c, table, m->nr * sizeof(table[0]));
	if (c->bad)
		return err_set(EINVAL, "the saved MSI-X table is malformed");
	pthread_mutex_lock(&m->lock);
	m->pending = pending & (m->nr < 64 ? (1ULL << m->nr) - 1 : ~0ULL);
	for (unsigned int v = 0; v < m->nr; v++) {
		m->table[v] = table[v];
		m->table[v].ctrl &= PCI_MSIX_VECTOR_MASK;
		m->routed[v] =
			false; /* routes follow the messages lazily, as after a guest write */
	}
	/* The control register came back with config space (pci_bus_load()). */
	m->enabled = ctl & (PCI_MSIX_CTRL_ENABLE >> 8);
	m->masked = ctl & (PCI_MSIX_CTRL_MASKALL >> 8);
	flush_pending(m);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

const struct bus_ops pci_msix_bar_ops = {
	.read = msix_read,
	.write = msix_write,
};
