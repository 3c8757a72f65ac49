/* SPDX-License-Identifier: MIT */
/*
 * An address-range bus.  Devices register [base, base + len) ranges with an
 * ops table; the vCPU loop forwards PIO and MMIO exits here and never names
 * a device.  Lookups take a read lock so ranges can move at run time (PCI
 * BARs being reprogrammed) while vCPUs run; handlers are called without it,
 * so an ops->read/write may still run just after its range was unregistered
 * (harmless: devices live until every vCPU thread has been joined).
 */
#ifndef KVMINI_BUS_H
#define KVMINI_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct bus_ops {
	/* @offset is relative to the range's base; 1 <= len <= 8. */
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base, never overlapping */
	size_t nr_ranges;
	size_t cap;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);
/* Remove the range starting at @base.  0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * Dispatch an access.  An access must lie inside one range; otherwise it is
 * unclaimed: reads return all ones (a floating bus), writes are dropped, and
 * the functions return false.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif
