// SPDX-License-Identifier: MIT
/*
 * The host bridge at 00.0: a header with class 06/00/00 (host bridge) and
 * nothing else.  It decodes no addresses of its own (no BARs); the windows
 * behind it are in the DSDT's \_SB.PCI0._CRS.  The ID is the one QEMU's
 * generic PCIe host bridge uses: OSes know it and apply no chipset quirks.
 */
#include "pci.h"

#define HOST_BRIDGE_VENDOR_ID 0x1b36 /* Red Hat, Inc. */
#define HOST_BRIDGE_DEVICE_ID 0x0008

int pci_host_bridge_init(struct pci_device *dev)
{
	static const struct pci_device_info info = {
		.vendor_id = HOST_BRIDGE_VENDOR_ID,
		.device_id = HOST_BRIDGE_DEVICE_ID,
		.class_code = PCI_CLASS_BRIDGE_HOST,
	};

	return pci_device_init(dev, NULL, &info);
}
