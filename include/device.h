/* SPDX-License-Identifier: MIT */
/*
 * Devices the user adds with -device.  Each driver is one file under
 * devices/ and one line in the table in devices/registry.c.
 */
#ifndef KVMINI_DEVICE_H
#define KVMINI_DEVICE_H

#include "chardev.h"
#include "opts.h"

struct vm;
struct acpi_pm;

struct device_driver {
	const char *name;
	const char *help;
	/* Parse @opts (driver-specific keys), create and register.  0 or -errno + err_set(). */
	int (*create)(struct vm *vm, struct opts *opts);
};

/* The drivers, defined in their own files. */
extern const struct device_driver debug_exit_driver;
extern const struct device_driver virtio_blk_pci_driver;
extern const struct device_driver virtio_net_pci_driver;
extern const struct device_driver virtio_rng_pci_driver;

const struct device_driver *device_find(const char *name);
/* Print the driver list (for -device help). */
void device_list(void);

/* Built-in platform devices, created for every VM from its config. */
int i8042_create(struct vm *vm);
int serial_create(struct vm *vm, unsigned int index, struct chardev *chr);
int acpi_pm_create(struct vm *vm, uint16_t base, unsigned int sci_gsi, struct acpi_pm **pm);

#endif
