// SPDX-License-Identifier: MIT
/* Building, running and tearing down a VM, in one explicit order. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "device.h"
#include "error.h"
#include "layout.h"
#include "net.h"
#include "opts.h"
#include "snapshot.h"
#include "virtio_blk.h"
#include "vm.h"

int vm_add_cleanup(struct vm *vm, void (*fn)(void *opaque), void *opaque)
{
	if (vm->nr_cleanups == VM_MAX_CLEANUPS)
		return err_set(ENOSPC, "too many devices");
	vm->cleanups[vm->nr_cleanups++] = (struct vm_cleanup){ fn, opaque };
	return 0;
}

void vm_request_shutdown(struct vm *vm, int status, enum vm_shutdown_cause cause)
{
	bool expected = false;

	if (!atomic_compare_exchange_strong(&vm->exiting, &expected, true))
		return;
	vm->exit_status = status;
	vm->shutdown_cause = cause;
	/* Wakes main_loop too while the device loop runs in it; paused, nothing else runs. */
	event_loop_stop(&vm->loop);
	if (vm->gdb)
		vm_gdb_wake(vm); /* parked vCPUs see the exit */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

void vm_request_exit(struct vm *vm, int status)
{
	enum vm_shutdown_cause cause = status & 1 ? VM_CAUSE_GUEST_SHUTDOWN : VM_CAUSE_GUEST_RESET;

	if (pthread_equal(pthread_self(), vm->io_thread))
		cause = VM_CAUSE_HOST_UI;
	vm_request_shutdown(vm, status, cause);
}

static const char *const cause_names[] = {
	[VM_CAUSE_HOST_ERROR] = "host-error",
	[VM_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
	[VM_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
	[VM_CAUSE_HOST_SIGNAL] = "host-signal",
	[VM_CAUSE_HOST_UI] = "host-ui",
	[VM_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
	[VM_CAUSE_GUEST_RESET] = "guest-reset",
	[VM_CAUSE_GUEST_PANIC] = "guest-panic",
};

const char *vm_shutdown_cause_name(enum vm_shutdown_cause cause)
{
	return cause_names[cause];
}

bool vm_shutdown_cause_guest(enum vm_shutdown_cause cause)
{
	return cause >= VM_CAUSE_GUEST_SHUTDOWN;
}

void vm_park_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_requested, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	while (vm->nr_parked < vm->nr_vcpus && !atomic_load(&vm->exiting))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_unpark_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_requested, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* main_loop runs the device loop's handlers whenever it has some, unless paused. */
static void vm_devices_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	int ret;

	(void)events;
	ret = event_loop_poll(&vm->loop, 0);
	if (ret < 0) {
		pr_err("event loop failed: %s", strerror(-ret));
		vm_request_shutdown(vm, EXIT_VCPU_DIED, VM_CAUSE_HOST_ERROR);
	}
}

int vm_pause(struct vm *vm)
{
	int ret;

	if (vm->paused)
		return 0;
	vm_park_vcpus(vm);
	/* Requests already on the disk complete into guest memory now, not after the stop. */
	for (unsigned int i = 0; i < vm->nr_disks; i++)
		virtio_blk_drain(vm->disks[i]);
	ret = event_loop_del(&vm->main_loop, vm->loop.epfd);
	if (ret) {
		vm_unpark_vcpus(vm);
		return err_set(-ret, "cannot stop the device loop: %s", strerror(-ret));
	}
	/* The guest must not see the stopped time in kvmclock, as with QEMU. */
	vm->clock_saved = !ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->clock);
	vm->paused = true;
	return 0;
}

int vm_resume(struct vm *vm)
{
	int ret;

	if (!vm->paused)
		return 0;
	if (vm->clock_saved) {
		struct kvm_clock_data c = { .clock = vm->clock.clock };

		if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &c))
			pr_warn("cont: KVM_SET_CLOCK: %s", strerror(errno));
	}
	ret = event_loop_add(&vm->main_loop, vm->loop.epfd, EPOLLIN, vm_devices_event, vm);
	if (ret)
		return err_set(-ret, "cannot restart the device loop: %s", strerror(-ret));
	vm->paused = false;
	vm_unpark_vcpus(vm);
	return 0;
}

int vm_set_irq_line(struct vm *vm, unsigned int gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) ? -errno : 0;
}

static int vm_setup_kvm(struct vm *vm)
{
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	int max_vcpus, ret;

	ret = kvm_open(vm->cfg->kvm_path, &vm->kvm_fd);
	if (ret)
		return ret;
	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && vm->cfg->nr_vcpus > (unsigned int)max_vcpus)
		return err_set(EINVAL, "-smp %u: this host's KVM allows at most %d vCPUs",
			       vm->cfg->nr_vcpus, max_vcpus);
	vm->run_mmap_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return err_set(errno, "cannot create a VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity))
		return err_set(errno, "cannot place KVM's TSS: %s", strerror(errno));
	return 0;
}

/*
 * Memory slots go in before the irqchip: with an irqchip, every slot change
 * waits for an SRCU grace period (milliseconds on nested hosts).
 */
static int vm_setup_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return err_set(errno, "cannot create the in-kernel irqchip: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit))
		return err_set(errno, "cannot create the in-kernel PIT: %s", strerror(errno));
	return platform_setup_irq_routing(vm);
}

static int vm_add_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return err_set(errno, "cannot add guest memory: %s", strerror(errno));
	return guest_mem_add(&vm->mem, gpa, size, hva);
}

/* RAM below the 32-bit hole, the rest from 4 GiB up. */
static int vm_setup_ram(struct vm *vm)
{
	uint64_t size = vm->cfg->ram_size;
	uint64_t low = size < LOW_RAM_LIMIT ? size : LOW_RAM_LIMIT;
	int ret;

	vm->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		return err_set(errno, "-m: cannot allocate %llu MiB of guest RAM: %s",
			       (unsigned long long)(size >> 20), strerror(errno));
	}
	vm->ram_map_size = size;
	/* 2 MiB pages where the host allows them: fewer TLB misses, cheaper O_DIRECT pinning. */
	madvise(vm->ram, size, MADV_HUGEPAGE);
	ret = vm_add_slot(vm, 0, 0, low, vm->ram);
	if (!ret && size > low)
		ret = vm_add_slot(vm, 1, HIGH_RAM_START, size - low, (uint8_t *)vm->ram + low);
	return ret;
}

/* Map the file an option names, read-only and whole.  0 or -errno + err_set(). */
static int map_file(const char *opt, const char *path, const uint8_t **data, size_t *size)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(errno, "%s %s: %s", opt, path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return err_set(EINVAL, "%s %s: not a regular, non-empty file", opt, path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_set(errno, "%s %s: %s", opt, path, strerror(errno));
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

static void unmap_file(const uint8_t *data, size_t size)
{
	if (data)
		munmap((void *)data, size);
}

static int vm_load_kernel(struct vm *vm, uint64_t rsdp)
{
	const struct vm_config *cfg = vm->cfg;
	struct boot_params_in in = { .cmdline = cfg->cmdline, .rsdp_addr = rsdp };
	int ret;

	ret = map_file("-kernel", cfg->kernel, &in.image, &in.image_size);
	if (!ret && cfg->initrd)
		ret = map_file("-initrd", cfg->initrd, &in.initrd, &in.initrd_size);
	if (!ret && cfg->dtb)
		ret = map_file("-dtb", cfg->dtb, &in.dtb, &in.dtb_size);
	if (!ret) {
		ret = boot_load(&vm->mem, &in, &vm->boot_cpu);
		/* A message about another option (-initrd, -dtb) names it already. */
		if (ret && err_msg(ret)[0] != '-')
			ret = err_prefix(ret, "-kernel %s", cfg->kernel);
	}
	unmap_file(in.dtb, in.dtb_size);
	unmap_file(in.initrd, in.initrd_size);
	unmap_file(in.image, in.image_size);
	return ret;
}

static int vm_setup_cpuid(struct vm *vm)
{
	for (unsigned int nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			vm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			break;
	}
	return err_set(errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
}

static int vm_setup_serial(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct chardev_hooks hooks;
	struct serial_config def = { .backend = SERIAL_STDIO };
	unsigned int n = cfg->nr_serial ? cfg->nr_serial : 1;
	struct chardev *console = NULL;

	control_console_hooks(vm->ctl, &hooks);
	for (unsigned int i = 0; i < n; i++) {
		const struct serial_config *s = cfg->nr_serial ? &cfg->serial[i] : &def;
		struct chardev *chr = &vm->serial_chr[i];
		int ret = 0;

		switch (s->backend) {
		case SERIAL_STDIO:
			/* On main_loop: the console and its monitor work while paused. */
			ret = chardev_open_stdio(chr, &vm->main_loop, true, &hooks);
			console = chr;
			break;
		case SERIAL_FILE:
			ret = chardev_open_file(chr, s->path);
			if (ret)
				ret = err_set(-ret, "-serial file:%s: %s", s->path, strerror(-ret));
			break;
		case SERIAL_NONE:
			chardev_open_null(chr);
			break;
		}
		vm->nr_serial_chr = i + 1;
		if (ret)
			return ret;
		/* -serial none leaves the port out, as in QEMU. */
		if (s->backend != SERIAL_NONE) {
			ret = serial_create(vm, i, chr);
			if (ret)
				return ret;
		}
	}
	return control_attach_console(vm->ctl, console);
}

/* -drive if=virtio: a disk each, in command-line order, before the -device ones. */
static int vm_add_drives(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg->nr_drives; i++) {
		const struct drive_config *d = &vm->cfg->drives[i];
		int ret;

		if (d->iface != DRIVE_IF_VIRTIO)
			continue;
		ret = virtio_blk_create(vm, d, d->serial);
		if (ret)
			return err_prefix(ret, "-drive file=%s", d->file);
	}
	return 0;
}

static void vm_close_netdevs(void *opaque)
{
	struct vm *vm = opaque;

	for (unsigned int i = 0; i < MAX_NETDEVS; i++) {
		if (!vm->netdev_used[i])
			net_backend_close(vm->netdevs[i]);
	}
}

/* The -netdev backends, for the NICs to take; the ones no NIC took are closed here. */
static int vm_add_netdevs(struct vm *vm)
{
	int ret = vm_add_cleanup(vm, vm_close_netdevs, vm);

	for (unsigned int i = 0; !ret && i < vm->cfg->nr_netdevs; i++) {
		const char *arg = vm->cfg->netdevs[i];

		ret = net_backend_create(&vm->netdevs[i], arg, &vm->loop);
		for (unsigned int j = 0; !ret && j < i; j++) {
			if (!strcmp(vm->netdevs[j]->id, vm->netdevs[i]->id))
				ret = err_set(EINVAL, "id %s is used twice", vm->netdevs[i]->id);
		}
		if (ret && vm->cfg->netdev_origin[i])
			return err_prefix(ret, "%s", vm->cfg->netdev_origin[i]);
		if (ret)
			return err_prefix(ret, "-netdev %s", arg);
	}
	return ret;
}

int vm_take_netdev(struct vm *vm, const char *id, struct net_backend **nb)
{
	for (unsigned int i = 0; i < vm->cfg->nr_netdevs; i++) {
		if (!vm->netdevs[i] || strcmp(vm->netdevs[i]->id, id))
			continue;
		if (vm->netdev_used[i])
			return err_set(EBUSY, "netdev=%s: already used by another NIC", id);
		vm->netdev_used[i] = true;
		*nb = vm->netdevs[i];
		return 0;
	}
	return err_set(ENOENT, "netdev=%s: no -netdev with id=%s", id, id);
}

static int vm_add_devices(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg->nr_devices; i++) {
		const char *arg = vm->cfg->devices[i];
		const struct device_driver *drv;
		struct opts o;
		int ret = opts_parse(&o, arg, "driver");

		if (!ret) {
			drv = device_find(opts_get(&o, "driver"));
			if (!drv)
				ret = err_set(ENOENT, "unknown device (-device help lists them)");
			else
				ret = drv->create(vm, &o);
			if (!ret && opts_unused(&o))
				ret = err_set(EINVAL, "unknown parameter '%s'", opts_unused(&o));
		}
		opts_free(&o);
		if (ret)
			return err_prefix(ret, "-device %s", arg);
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t rsdp = 0;
	int ret;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->irq_lock, NULL);
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->signal_fd = -1;
	vm->loop.epfd = vm->loop.wake_fd = -1;
	vm->main_loop.epfd = vm->main_loop.wake_fd = -1;
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	ret = bus_init(&vm->pio, "pio");
	if (!ret)
		ret = bus_init(&vm->mmio, "mmio");
	if (!ret)
		ret = event_loop_init(&vm->loop);
	if (!ret)
		ret = event_loop_init(&vm->main_loop);
	if (ret)
		return err_set(-ret, "cannot initialise: %s", strerror(-ret));
	ret = control_create(vm);
	if (ret)
		return ret;
	ret = vm_setup_kvm(vm);
	if (!ret)
		ret = vm_setup_ram(vm);
	if (!ret)
		ret = vm_setup_irqchip(vm);
	if (!ret)
		ret = platform_setup_tables(vm, &rsdp);
	/* -incoming: RAM comes from the state file. */
	if (!ret && !cfg->incoming)
		ret = vm_load_kernel(vm, rsdp);
	if (!ret)
		ret = vm_setup_cpuid(vm);
	if (!ret)
		ret = i8042_create(vm);
	if (!ret)
		ret = vm_setup_serial(vm);
	if (!ret)
		ret = vm_add_drives(vm);
	if (!ret)
		ret = vm_add_netdevs(vm);
	if (!ret)
		ret = vm_add_devices(vm);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < cfg->nr_netdevs; i++) {
		if (!vm->netdev_used[i])
			return err_set(EINVAL,
				       "-netdev %s: no NIC uses it (add -device "
				       "virtio-net-pci,netdev=%s)",
				       cfg->netdevs[i], vm->netdevs[i]->id);
	}
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (cfg->drives[i].iface == DRIVE_IF_NONE && !vm->drive_used[i])
			pr_warn("-drive id=%s: no -device uses it", cfg->drives[i].id);
	}
	vm->vcpus = calloc(cfg->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		vm->vcpus[i].fd = -1;
		vm->nr_vcpus = i + 1;
		ret = kvm_vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
	}
	if (cfg->gdb_wait && !cfg->gdb_addr && !cfg->nr_controls && !cfg->monitor_stdio)
		return err_set(EINVAL, "-S: the vCPUs would wait forever: add -s or -gdb for a "
				       "debugger to start them, or -qmp/-monitor for a cont");
	if (cfg->incoming_defer && !cfg->nr_controls && !cfg->monitor_stdio)
		return err_set(EINVAL, "-incoming defer: the VM would wait forever: add -qmp or "
				       "-monitor for a migrate-incoming");
	if (cfg->gdb_addr) {
		ret = vm_gdb_create(vm, cfg->gdb_addr, cfg->gdb_wait);
		if (ret)
			return err_prefix(ret, "-gdb %s", cfg->gdb_addr);
	}
	if (cfg->incoming) {
		bool touched;

		ret = snapshot_load(vm, cfg->incoming, !cfg->incoming_disk_check_off, &touched);
		if (ret)
			return err_prefix(ret, "-incoming file:%s", cfg->incoming);
	}
	return 0;
}

void vm_block_term_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void vm_signal_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	pr_err("terminating on signal %u", si.ssi_signo);
	vm_request_shutdown(vm, EXIT_OK, VM_CAUSE_HOST_SIGNAL);
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	int ret;

	/* Termination signals are handled on the event loop; threads inherit the mask. */
	vm_block_term_signals(&set);
	vm->io_thread = pthread_self();
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0 ||
	    event_loop_add(&vm->main_loop, vm->signal_fd, EPOLLIN, vm_signal_event, vm) ||
	    event_loop_add(&vm->main_loop, vm->loop.epfd, EPOLLIN, vm_devices_event, vm)) {
		pr_err("cannot set up the I/O thread's loop: %s", strerror(errno));
		return EXIT_USAGE;
	}
	/* -qmp ...,server without nowait: the VM starts once a client is there. */
	if (control_wait_clients(vm->ctl, vm->signal_fd))
		vm_signal_event(vm, EPOLLIN);
	/*
	 * -S without gdb: the vCPUs park at their first instruction until a
	 * cont; -incoming defer: until migrate-incoming loaded a state.
	 */
	vm->incoming_wait = vm->cfg->incoming_defer;
	atomic_store(&vm->pause_requested,
		     (vm->cfg->gdb_wait && !vm->gdb) || vm->cfg->incoming_defer);
	for (unsigned int i = 0; i < vm->nr_vcpus && !atomic_load(&vm->exiting); i++) {
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			pr_err("%s", err_msg(ret));
			vm_request_shutdown(vm, EXIT_USAGE, VM_CAUSE_HOST_ERROR);
			break;
		}
	}
	if (atomic_load(&vm->pause_requested))
		vm_pause(vm);
	while (!atomic_load(&vm->exiting)) {
		ret = event_loop_poll(&vm->main_loop, -1);
		if (ret < 0) {
			pr_err("event loop failed: %s", strerror(-ret));
			vm_request_shutdown(vm, EXIT_VCPU_DIED, VM_CAUSE_HOST_ERROR);
		}
	}
	control_shutdown(vm->ctl);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	for (unsigned int i = 0; i < vm->nr_serial_chr; i++)
		chardev_close(&vm->serial_chr[i]);
	while (vm->nr_cleanups) {
		struct vm_cleanup *c = &vm->cleanups[--vm->nr_cleanups];

		c->fn(c->opaque);
	}
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	free(vm->cpuid);
	free(vm->routes);
	pthread_mutex_destroy(&vm->irq_lock);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->ram)
		munmap(vm->ram, vm->ram_map_size);
	event_loop_destroy(&vm->loop);
	event_loop_destroy(&vm->main_loop);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_cond_destroy(&vm->pause_cond);
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
}
