// SPDX-License-Identifier: MIT
/* The -device drivers: one file each, one line each here. */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "util.h"

static const struct device_driver *const drivers[] = {
	&debug_exit_driver,
	&virtio_blk_pci_driver,
	&virtio_net_pci_driver,
	&virtio_rng_pci_driver,
};

const struct device_driver *device_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	}
	return NULL;
}

void device_list(void)
{
	printf("Devices for -device:\n");
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		printf("  %-16s %s\n", drivers[i]->name, drivers[i]->help);
}
