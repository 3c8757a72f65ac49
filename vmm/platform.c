// SPDX-License-Identifier: MIT
/*
 * The platform around the CPUs: interrupt routing, the PCI bus, the ACPI and
 * MP tables that describe it to the guest, and the ACPI power-management block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "acpi.h"
#include "cpuid.h"
#include "device.h"
#include "error.h"
#include "layout.h"
#include "mptable.h"
#include "pci.h"
#include "snapshot.h"
#include "vm.h"

/* Bus 0 and its host bridge, both allocated together. */
struct pci_root {
	struct pci_bus bus;
	struct pci_device host_bridge;
};

static void pci_root_free(void *opaque)
{
	struct pci_root *r = opaque;

	pci_bus_destroy(&r->bus);
	free(r);
}

static void pci_root_save(void *opaque, struct snap_buf *out)
{
	pci_bus_save(opaque, out);
}

static int pci_root_load(void *opaque, const uint8_t *data, size_t len)
{
	return pci_bus_load(opaque, data, len);
}

static const struct vm_state_ops pci_root_state_ops = {
	.save = pci_root_save,
	.load = pci_root_load,
};

/* Bus 0 with the host bridge at 00.0, configured through ports 0xCF8/0xCFC and ECAM. */
static int platform_setup_pci(struct vm *vm, const struct pci_windows *win)
{
	struct pci_root *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return err_set(ENOMEM, "cannot allocate the PCI bus");
	pci_bus_init(&r->bus, &vm->pio, &vm->mmio, win, &vm_pci_host_ops, vm);
	ret = vm_add_cleanup(vm, pci_root_free, r);
	if (ret) {
		pci_root_free(r);
		return ret;
	}
	vm->pci = &r->bus;
	ret = pci_host_bridge_init(&r->host_bridge);
	if (!ret)
		ret = pci_bus_add(&r->bus, &r->host_bridge);
	if (ret)
		return ret;
	ret = vm_register_state(vm, "pci0", &pci_root_state_ops, &r->bus);
	if (ret)
		return ret;
	ret = bus_register(&vm->pio, PCI_CONFIG_PORT, PCI_CONFIG_PORT_LEN, &pci_config_port_ops,
			   &r->bus);
	if (!ret)
		ret = bus_register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &r->bus);
	if (ret)
		return err_set(-ret, "cannot register the PCI configuration space: %s",
			       strerror(-ret));
	return 0;
}

/*
 * The PCI bus, the ACPI tables, the MP table, and the PM block the tables
 * point at.  *rsdp for the boot loader.
 */
int platform_setup_tables(struct vm *vm, uint64_t *rsdp)
{
	const struct vm_config *cfg = vm->cfg;
	uint32_t ids[MAX_VCPUS];
	/* Where the PCI bus places BARs, and what the DSDT says it forwards. */
	struct pci_windows win = {
		.mmio32_base = PCI_MMIO_BASE,
		.mmio32_end = PCI_ECAM_BASE,
		.mmio64_base = pci_mmio64_base(cfg->ram_size),
		.mmio64_end = pci_mmio64_base(cfg->ram_size) + PCI_MMIO64_SIZE,
		.io_base = PCI_IO_BASE,
		.io_end = PCI_IO_END,
	};
	struct acpi_platform p = {
		.nr_cpus = cfg->nr_vcpus,
		.apic_ids = ids,
		.pm_base = ACPI_PM_IO_BASE,
		.sci_irq = ACPI_SCI_IRQ,
		.mmio64_base = win.mmio64_base,
		.mmio64_size = win.mmio64_end - win.mmio64_base,
	};
	int ret;

	/* The IDs the vCPUs are created with. */
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++)
		ids[i] = topo_apic_id(&cfg->topo, i);
	for (unsigned int i = 0; i < MAX_SERIAL_PORTS; i++)
		p.serial[i] = cfg->nr_serial
				      ? i < cfg->nr_serial && cfg->serial[i].backend != SERIAL_NONE
				      : i == 0;
	p.ioapic_id = acpi_free_apic_id(&p);
	ret = platform_setup_pci(vm, &win);
	if (!ret)
		ret = acpi_build(&vm->mem, &p, rsdp);
	if (!ret)
		ret = mptable_build(&vm->mem, &p);
	if (!ret)
		ret = acpi_pm_create(vm, ACPI_PM_IO_BASE, ACPI_SCI_IRQ, &vm->acpi_pm);
	return ret;
}
