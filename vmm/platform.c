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
#include "vm.h"

#define NR_ISA_IRQS    16
#define NR_IOAPIC_PINS 24

/*
 * ISA IRQ n goes to PIC input n and IOAPIC pin n, except the PIT: IRQ0 is
 * wired to IOAPIC pin 2, as on every PC and as the MADT and MP table say
 * (KVM's default routing would put it on pin 0).
 */
int platform_setup_irq_routing(struct vm *vm)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[NR_ISA_IRQS + NR_IOAPIC_PINS];
	} rt;
	unsigned int n = 0;

	memset(&rt, 0, sizeof(rt));
	for (unsigned int irq = 0; irq < NR_ISA_IRQS; irq++) {
		if (irq == 2)
			continue; /* the cascade */
		rt.e[n].gsi = irq;
		rt.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt.e[n].u.irqchip.irqchip =
			irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		rt.e[n].u.irqchip.pin = irq % 8;
		n++;
	}
	for (unsigned int gsi = 0; gsi < NR_IOAPIC_PINS; gsi++) {
		if (gsi == 2)
			continue; /* pin 2 is IRQ0's */
		rt.e[n].gsi = gsi;
		rt.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		rt.e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		rt.e[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		n++;
	}
	rt.hdr.nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &rt))
		return err_set(errno, "cannot set the interrupt routing: %s", strerror(errno));
	return 0;
}

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

/* Bus 0 with the host bridge at 00.0, configured through ports 0xCF8/0xCFC and ECAM. */
static int platform_setup_pci(struct vm *vm)
{
	struct pci_root *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return err_set(ENOMEM, "cannot allocate the PCI bus");
	pci_bus_init(&r->bus);
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
	struct acpi_platform p = {
		.nr_cpus = cfg->nr_vcpus,
		.apic_ids = ids,
		.pm_base = ACPI_PM_IO_BASE,
		.sci_irq = ACPI_SCI_IRQ,
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
	ret = platform_setup_pci(vm);
	if (!ret)
		ret = acpi_build(&vm->mem, &p, rsdp);
	if (!ret)
		ret = mptable_build(&vm->mem, &p);
	if (!ret)
		ret = acpi_pm_create(vm, ACPI_PM_IO_BASE, ACPI_SCI_IRQ, &vm->acpi_pm);
	return ret;
}
