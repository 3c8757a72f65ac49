/* SPDX-License-Identifier: MIT */
/* A virtual machine: KVM handles, memory, buses, vCPUs and devices. */
#ifndef KVMINI_VM_H
#define KVMINI_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "bus.h"
#include "chardev.h"
#include "config.h"
#include "event_loop.h"
#include "guest_mem.h"

/* Exit statuses of the kvmini process. */
#define EXIT_OK	       0
#define EXIT_USAGE     1
#define EXIT_VCPU_DIED 2 /* even: never produced by isa-debug-exit */

struct vm;
struct acpi_pm;
struct pci_bus;
struct pci_host_ops;
struct gdb_kvm;
struct net_backend;
struct control;
struct virtio_blk;
struct vm_state_ops;

/* Why the VM ended, for the SHUTDOWN event (QEMU's ShutdownCause names). */
enum vm_shutdown_cause {
	VM_CAUSE_HOST_ERROR,
	VM_CAUSE_HOST_QMP_QUIT,
	VM_CAUSE_HOST_QMP_SYSTEM_RESET,
	VM_CAUSE_HOST_SIGNAL,
	VM_CAUSE_HOST_UI,
	VM_CAUSE_GUEST_SHUTDOWN,
	VM_CAUSE_GUEST_RESET,
	VM_CAUSE_GUEST_PANIC,
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	atomic_int tid; /* the thread's TID, for query-cpus-fast */
};

struct vm_cleanup {
	void (*fn)(void *opaque);
	void *opaque;
};

/* A device's state for snapshots (vm_register_state(), include/snapshot.h). */
struct vm_state_dev {
	char name[32];
	const struct vm_state_ops *ops;
	void *opaque;
};

#define VM_MAX_STATE_DEVS 64

#define VM_MAX_CLEANUPS 64

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_mmap_size;
	struct kvm_cpuid2 *cpuid;

	void *ram;
	uint64_t ram_map_size;
	struct guest_mem mem;

	struct bus pio;
	struct bus mmio;
	struct event_loop loop;	     /* devices: runs inside main_loop while the VM is not paused */
	struct event_loop main_loop; /* the I/O thread: signals, console, control plane */
	int signal_fd;
	pthread_t io_thread;

	struct vcpu *vcpus;
	unsigned int nr_vcpus;
	struct boot_cpu boot_cpu;

	/* The GSI routing table, committed whole (vmm/irq.c). */
	pthread_mutex_t irq_lock;
	struct kvm_irq_routing_entry *routes;
	unsigned int nr_routes, cap_routes;
	unsigned int next_msi_gsi;

	struct gdb_kvm *gdb; /* the gdb stub's target, with -s/-gdb */

	struct acpi_pm *acpi_pm; /* the power button, for the control plane */
	struct pci_bus *pci;	 /* bus 0, for the devices plugged into it */

	bool drive_used[MAX_DRIVES];		  /* -drive if=none taken by a -device */
	struct net_backend *netdevs[MAX_NETDEVS]; /* from cfg->netdevs, in order */
	bool netdev_used[MAX_NETDEVS];

	struct chardev serial_chr[MAX_SERIAL_PORTS];
	unsigned int nr_serial_chr;

	struct control *ctl;		      /* QMP and the human monitor */
	struct virtio_blk *disks[MAX_DRIVES]; /* for drain and query-block */
	unsigned int nr_disks;

	/*
	 * stop/cont: while pause_requested, vCPUs park before KVM_RUN
	 * (vcpu_gate()); nr_parked counts them, pause_cond signals changes.
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_bool pause_requested;
	unsigned int nr_parked;
	bool paused;		     /* stopped by the control plane (I/O thread only) */
	struct kvm_clock_data clock; /* kvmclock at stop, restored at cont */
	bool clock_saved;
	bool incoming_wait; /* -incoming defer: stopped until migrate-incoming (I/O thread only) */

	struct vm_state_dev state_devs[VM_MAX_STATE_DEVS];
	unsigned int nr_state_devs;
	bool snapshot_disk_check; /* for the load in progress: refuse disks changed since the save */
	const char *
		snapshot_tag; /* for the save in progress: savevm's NAME (qcow2 snapshots), or NULL */

	/* Torn down in reverse order of registration. */
	struct vm_cleanup cleanups[VM_MAX_CLEANUPS];
	unsigned int nr_cleanups;

	atomic_bool exiting;
	int exit_status;
	enum vm_shutdown_cause shutdown_cause;
};

/*
 * Build the VM described by @cfg: KVM, memory, devices, guest image, vCPUs.
 * 0 or -errno with err_msg() naming what failed (prefix with nothing: the
 * message carries its own context).  On failure vm_destroy() still works.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Run until something ends the VM; returns the process exit status. */
int vm_run(struct vm *vm);
/*
 * Block SIGTERM, SIGINT and SIGHUP (in @set): from then on they wait for
 * vm_run(), which ends the VM in order on them.
 */
void vm_block_term_signals(sigset_t *set);
void vm_destroy(struct vm *vm);

/* End the VM with @status for @cause (the first request wins).  Any thread. */
void vm_request_shutdown(struct vm *vm, int status, enum vm_shutdown_cause cause);
/*
 * The same, from a device or the gdb stub: on a vCPU thread the guest asked
 * (an odd isa-debug-exit status: guest-shutdown; else guest-reset); on the
 * I/O thread the host did (host-ui).
 */
void vm_request_exit(struct vm *vm, int status);
/* The QMP name of @cause ("guest-shutdown"), and whether the guest caused it. */
const char *vm_shutdown_cause_name(enum vm_shutdown_cause cause);
bool vm_shutdown_cause_guest(enum vm_shutdown_cause cause);

/*
 * Park every vCPU outside KVM_RUN (a vCPU inside is kicked out) and wait
 * until they all are; vm_unpark_vcpus() lets them go.  I/O thread only.
 */
void vm_park_vcpus(struct vm *vm);
void vm_unpark_vcpus(struct vm *vm);
/*
 * stop: park the vCPUs, finish in-flight disk I/O, save kvmclock and stop
 * running device handlers (the device loop leaves main_loop), so nothing
 * writes guest memory until vm_resume().  I/O thread only.  0 or -errno.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* The registers of @vcpu as text, parked or not running.  0 or -errno. */
int vcpu_format_regs(struct vcpu *vcpu, char *buf, size_t size);

/* Drive ISA interrupt line @gsi of the in-kernel irqchip. */
int vm_set_irq_line(struct vm *vm, unsigned int gsi, bool level);

/*
 * The -netdev with id @id for a NIC, which owns it from now on (closes it
 * with net_backend_close()).  0, or -ENOENT / -EBUSY (another NIC has it)
 * with err_set().
 */
int vm_take_netdev(struct vm *vm, const char *id, struct net_backend **nb);

/* Register teardown work for something attached to @vm.  0 or -ENOSPC. */
int vm_add_cleanup(struct vm *vm, void (*fn)(void *opaque), void *opaque);

/* Interrupt routing (vmm/irq.c); PCI devices reach it through vm_pci_host_ops. */
int platform_setup_irq_routing(struct vm *vm);
extern const struct pci_host_ops vm_pci_host_ops;

/* The PCI bus, ACPI/MP tables and the PM block (vmm/platform.c). */
int platform_setup_tables(struct vm *vm, uint64_t *rsdp);

/*
 * The gdb stub's target (vmm/gdb_kvm.c): -gdb ADDR, parked at the first
 * instruction with -S.  The vCPU loop calls vm_gdb_gate() before each
 * KVM_RUN (false: the VM is ending), and offers its debug exits and, on
 * PVM hosts, int3 emulation failures to vm_gdb_debug_exit()/vm_gdb_int3()
 * (true: a breakpoint of the stub's; the vCPU parks at the next gate).
 */
int vm_gdb_create(struct vm *vm, const char *addr, bool start_stopped);
bool vm_gdb_gate(struct vcpu *vcpu);
bool vm_gdb_debug_exit(struct vcpu *vcpu);
bool vm_gdb_int3(struct vcpu *vcpu);
void vm_gdb_wake(struct vm *vm);

/* KVM plumbing (vmm/kvm.c). */
int kvm_open(const char *path, int *kvm_fd);
bool kvm_host_is_pvm(void);
/* Let KVM signal @fd on an MMIO write of @len bytes to @addr, without an exit to us. */
int kvm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, int fd, bool assign);
int kvm_vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

#endif
