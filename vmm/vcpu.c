// SPDX-License-Identifier: MIT
/*
 * vCPU threads.  Each runs KVM_RUN in a loop and forwards PIO and MMIO exits
 * to the buses.  A vCPU is stopped from any thread by vcpu_kick():
 * immediate_exit covers the window before KVM_RUN, the signal the time
 * inside it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "error.h"
#include "util.h"
#include "vm.h"
#include "x86_insn.h"

#define SIG_VCPU_KICK SIGUSR1

/* This vCPU's CPUID: the model, feature masks and topology from the command line. */
static int vcpu_set_cpuid(struct vcpu *vcpu)
{
	const struct vm_config *cfg = vcpu->vm->cfg;
	/* Room for the topology leaves cpuid_build() adds. */
	unsigned int max = vcpu->vm->cpuid->nent + 8;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	int ret;

	if (!c)
		return -ENOMEM;
	ret = cpuid_build(vcpu->vm->cpuid, &cfg->cpu, &cfg->topo, vcpu->id, c, max);
	if (ret) {
		ret = err_prefix(ret, "-cpu %s", cfg->cpu_arg ? cfg->cpu_arg : "host");
	} else if (ioctl(vcpu->fd, KVM_SET_CPUID2, c)) {
		ret = err_set(errno, "vCPU %u: KVM_SET_CPUID2: %s", vcpu->id, strerror(errno));
	}
	free(c);
	return ret;
}

int kvm_vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int ret;

	vcpu->vm = vm;
	vcpu->id = id;
	/* KVM's vCPU id is the initial APIC ID: the topology's, not the index. */
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, topo_apic_id(&vm->cfg->topo, id));
	if (vcpu->fd < 0)
		return err_set(errno, "cannot create vCPU %u: %s", id, strerror(errno));
	vcpu->run = mmap(NULL, vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return err_set(errno, "cannot map vCPU %u: %s", id, strerror(errno));
	}
	ret = vcpu_set_cpuid(vcpu);
	if (ret)
		return ret;
	if (id != 0)
		return 0; /* APs wait in the in-kernel LAPIC for INIT/SIPI */
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return err_set(errno, "vCPU 0: cannot read registers: %s", strerror(errno));
	boot_cpu_apply(&vm->boot_cpu, &regs, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) || ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return err_set(errno, "vCPU 0: cannot set the boot registers: %s", strerror(errno));
	return 0;
}

int vcpu_format_regs(struct vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) || ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return err_set(errno, "registers unavailable: %s", strerror(errno));
	snprintf(buf, size,
		 "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		 "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
		 "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
		 "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
		 "RIP=%016llx RFLAGS=%08llx\n"
		 "CS =%04x %016llx %08x  SS =%04x %016llx %08x\n"
		 "DS =%04x %016llx %08x  ES =%04x %016llx %08x\n"
		 "FS =%04x %016llx %08x  GS =%04x %016llx %08x\n"
		 "TR =%04x %016llx %08x  GDT=%016llx %04x  IDT=%016llx %04x\n"
		 "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%08llx\n",
		 r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
		 r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags, s.cs.selector, s.cs.base, s.cs.limit,
		 s.ss.selector, s.ss.base, s.ss.limit, s.ds.selector, s.ds.base, s.ds.limit,
		 s.es.selector, s.es.base, s.es.limit, s.fs.selector, s.fs.base, s.fs.limit,
		 s.gs.selector, s.gs.base, s.gs.limit, s.tr.selector, s.tr.base, s.tr.limit,
		 s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit, s.cr0, s.cr2, s.cr3, s.cr4,
		 s.efer);
	return 0;
}

static void vcpu_dump(struct vcpu *vcpu)
{
	char buf[1024];
	int ret = vcpu_format_regs(vcpu, buf, sizeof(buf));

	if (ret)
		fprintf(stderr, "(%s)\n", err_msg(ret));
	else
		fputs(buf, stderr);
}

static const char *internal_suberror(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	default:
		return "internal error";
	}
}

/* The vCPU cannot go on: say why, show its state, end the VM. */
static void vcpu_die(struct vcpu *vcpu, const char *why)
{
	struct kvm_run *run = vcpu->run;

	pr_err("vCPU %u stopped: %s", vcpu->id, why);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned int n = run->emulation_failure.insn_size;

		fprintf(stderr, "instruction bytes:");
		for (unsigned int i = 0; i < n && i < sizeof(run->emulation_failure.insn_bytes);
		     i++)
			fprintf(stderr, " %02x", run->emulation_failure.insn_bytes[i]);
		fprintf(stderr, "\n");
	}
	vcpu_dump(vcpu);
	vm_request_shutdown(vcpu->vm, EXIT_VCPU_DIED,
			    run->exit_reason == KVM_EXIT_SYSTEM_EVENT ? VM_CAUSE_GUEST_PANIC
								      : VM_CAUSE_HOST_ERROR);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* String I/O arrives as @count elements of @size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&vcpu->vm->pio, run->io.port, data, run->io.size);
		else
			bus_read(&vcpu->vm->pio, run->io.port, data, run->io.size);
	}
}

/*
 * A debug exception that was the guest's, not the stub's: deliver it as the
 * CPU would have (#BP after the int3, #DB where it happened).
 */
static bool vcpu_reinject_debug(struct vcpu *vcpu)
{
	const struct kvm_debug_exit_arch *a = &vcpu->run->debug.arch;
	struct kvm_vcpu_events ev;

	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev))
		return true;
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)a->exception;
	ev.exception.has_error_code = 0;
	if (a->exception == 3) {
		struct kvm_regs regs;

		/* A trap: the return address is past the one-byte int3. */
		if (!ioctl(vcpu->fd, KVM_GET_REGS, &regs)) {
			regs.rip = a->pc + 1;
			ioctl(vcpu->fd, KVM_SET_REGS, &regs);
		}
	}
	ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
	return true;
}

/* Handle one exit.  false: the vCPU is done. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		if (run->mmio.is_write)
			bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
				  run->mmio.len);
		else
			bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
				 run->mmio.len);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: a reset, and kvmini does not reboot. */
		vm_request_shutdown(vcpu->vm, EXIT_OK, VM_CAUSE_GUEST_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			vcpu_die(vcpu, "the guest reported a crash");
			return false;
		}
		vm_request_shutdown(vcpu->vm, EXIT_OK,
				    run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN
					    ? VM_CAUSE_GUEST_SHUTDOWN
					    : VM_CAUSE_GUEST_RESET);
		return false;
	case KVM_EXIT_DEBUG:
		if (vcpu->vm->gdb && vm_gdb_debug_exit(vcpu))
			return true;
		/* The guest's own #BP or #DB with guest debugging on: give it back. */
		return vcpu_reinject_debug(vcpu);
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			char msg[512];
			int ret;

			if (vcpu->vm->gdb && vm_gdb_int3(vcpu))
				return true;
			ret = insn_fallback(vcpu);

			if (!ret)
				return true;
			snprintf(msg, sizeof(msg), "KVM could not emulate an instruction: %s",
				 err_msg(ret));
			vcpu_die(vcpu, msg);
			return false;
		}
		snprintf(why, sizeof(why), "KVM internal error %u (%s)", run->internal.suberror,
			 internal_suberror(run->internal.suberror));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(why, sizeof(why), "unhandled KVM exit reason %u", run->exit_reason);
		break;
	}
	vcpu_die(vcpu, why);
	return false;
}

/*
 * Before each KVM_RUN: park while a stop is requested (vm_park_vcpus()) and
 * pass the gdb stub's gate.  false: the VM is ending.
 */
static bool vcpu_gate(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool ok = true;

	/* No stop asked for: the kick's immediate_exit covers a request racing with this test. */
	if (!vm->gdb && !atomic_load(&vm->pause_requested))
		return true;
	/*
	 * A PIO/MMIO exit completes (RIP moves past the instruction, an IN's
	 * value lands) only in the next KVM_RUN: do that now, so that the state
	 * a snapshot reads while parked is consistent (KVM's api.rst, KVM_RUN).
	 * Completing a string instruction may exit for its next element.
	 */
	if (atomic_load(&vm->pause_requested)) {
		vcpu->run->immediate_exit = 1;
		while (!ioctl(vcpu->fd, KVM_RUN, 0) && vcpu_handle_exit(vcpu))
			;
		vcpu->run->immediate_exit = 0;
	}
	pthread_mutex_lock(&vm->pause_lock);
	/* Parked, for vm_park_vcpus(), also while the gdb stub holds this vCPU. */
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	for (;;) {
		if (atomic_load(&vm->exiting)) {
			ok = false;
			break;
		}
		if (atomic_load(&vm->pause_requested)) {
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
			continue;
		}
		if (!vm->gdb)
			break;
		pthread_mutex_unlock(&vm->pause_lock);
		ok = vm_gdb_gate(vcpu);
		pthread_mutex_lock(&vm->pause_lock);
		if (!ok || !atomic_load(&vm->pause_requested))
			break;
	}
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
	return ok;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];

	atomic_store(&vcpu->tid, (int)gettid());
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	while (!atomic_load(&vm->exiting)) {
		if (!vcpu_gate(vcpu))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %u: KVM_RUN failed: %s", vcpu->id, strerror(errno));
			vm_request_shutdown(vm, EXIT_VCPU_DIED, VM_CAUSE_HOST_ERROR);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start(struct vcpu *vcpu)
{
	static bool handler_installed;
	int ret;

	if (!handler_installed) {
		struct sigaction sa;

		/* No SA_RESTART: KVM_RUN must return EINTR. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = vcpu_kick_handler;
		sigaction(SIG_VCPU_KICK, &sa, NULL);
		handler_installed = true;
	}
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return err_set(ret, "cannot start vCPU %u thread: %s", vcpu->id, strerror(ret));
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->run)
		return;
	vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, SIG_VCPU_KICK);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
