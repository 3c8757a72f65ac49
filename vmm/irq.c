// SPDX-License-Identifier: MIT
/*
 * Interrupt routing: the GSI table KVM_SET_GSI_ROUTING takes, and MSI routes
 * with irqfds for PCI devices.  KVM replaces the whole table on every call,
 * so kvmini keeps the table here and commits it whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "pci.h"
#include "vm.h"

#define NR_ISA_IRQS    16
#define NR_IOAPIC_PINS 24
#define FIRST_MSI_GSI  NR_IOAPIC_PINS

/* Caller holds irq_lock. */
static int routes_commit(struct vm *vm)
{
	size_t size = sizeof(struct kvm_irq_routing) +
		      vm->nr_routes * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *r = calloc(1, size);
	int ret = 0;

	if (!r)
		return -ENOMEM;
	r->nr = vm->nr_routes;
	memcpy(r->entries, vm->routes, vm->nr_routes * sizeof(r->entries[0]));
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r))
		ret = -errno;
	free(r);
	return ret;
}

/* The entry for MSI route @gsi, or a new one.  Caller holds irq_lock. */
static struct kvm_irq_routing_entry *route_slot(struct vm *vm, unsigned int gsi)
{
	struct kvm_irq_routing_entry *e;

	for (unsigned int i = 0; i < vm->nr_routes; i++) {
		if (vm->routes[i].gsi == gsi && vm->routes[i].type == KVM_IRQ_ROUTING_MSI)
			return &vm->routes[i];
	}
	if (vm->nr_routes == vm->cap_routes) {
		unsigned int cap = vm->cap_routes ? 2 * vm->cap_routes : 64;

		e = realloc(vm->routes, cap * sizeof(*e));
		if (!e)
			return NULL;
		vm->routes = e;
		vm->cap_routes = cap;
	}
	e = &vm->routes[vm->nr_routes++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	return e;
}

static void add_irqchip_route(struct vm *vm, unsigned int gsi, unsigned int chip, unsigned int pin)
{
	struct kvm_irq_routing_entry *e = &vm->routes[vm->nr_routes++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/*
 * ISA IRQ n goes to PIC input n and IOAPIC pin n, except the PIT: IRQ0 is
 * wired to IOAPIC pin 2, as on every PC and as the MADT and MP table say
 * (KVM's default routing would put it on pin 0).  GSIs 16-23 are the PCI
 * INTx lines; MSI routes are added from GSI 24 on.
 */
int platform_setup_irq_routing(struct vm *vm)
{
	int ret;

	vm->cap_routes = 64;
	vm->routes = calloc(vm->cap_routes, sizeof(*vm->routes));
	if (!vm->routes)
		return -ENOMEM;
	vm->next_msi_gsi = FIRST_MSI_GSI;
	for (unsigned int irq = 0; irq < NR_ISA_IRQS; irq++) {
		if (irq != 2) /* the cascade */
			add_irqchip_route(vm, irq,
					  irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					  irq % 8);
	}
	for (unsigned int gsi = 0; gsi < NR_IOAPIC_PINS; gsi++) {
		if (gsi != 2) /* pin 2 is IRQ0's */
			add_irqchip_route(vm, gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
	}
	ret = routes_commit(vm);
	if (ret)
		return err_set(-ret, "cannot set the interrupt routing: %s", strerror(-ret));
	return 0;
}

static void host_set_intx(void *host, unsigned int gsi, bool level)
{
	vm_set_irq_line(host, gsi, level);
}

static int host_msi_alloc(void *host, struct pci_msi_route *route)
{
	struct vm *vm = host;
	struct kvm_irqfd irqfd = { 0 };
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&vm->irq_lock);
	route->gsi = vm->next_msi_gsi++;
	pthread_mutex_unlock(&vm->irq_lock);
	irqfd.fd = (uint32_t)fd;
	irqfd.gsi = route->gsi;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	route->fd = fd;
	return 0;
}

static int host_msi_update(void *host, struct pci_msi_route *route, uint64_t addr, uint32_t data)
{
	struct vm *vm = host;
	struct kvm_irq_routing_entry *e;
	int ret = -ENOMEM;

	pthread_mutex_lock(&vm->irq_lock);
	e = route_slot(vm, route->gsi);
	if (e) {
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = routes_commit(vm);
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

/* At teardown: the irqfd goes; the route stays in the table, which dies with the VM. */
static void host_msi_free(void *host, struct pci_msi_route *route)
{
	struct vm *vm = host;
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)route->fd,
		.gsi = route->gsi,
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
	close(route->fd);
	route->fd = -1;
}

const struct pci_host_ops vm_pci_host_ops = {
	.set_intx = host_set_intx,
	.msi_alloc = host_msi_alloc,
	.msi_update = host_msi_update,
	.msi_free = host_msi_free,
};
