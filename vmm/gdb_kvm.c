// SPDX-License-Identifier: MIT
/*
 * The gdb stub's target: kvmini's vCPUs under KVM.  All-stop: a stop parks
 * every vCPU thread at the top of its run loop (vm_gdb_gate()); once the last
 * one is parked, an eventfd tells the I/O thread (main_loop), which reports the
 * stop to the server.  Registers are read and written with the vCPU ioctls
 * while its thread is parked.  Guest-virtual addresses are translated with
 * the vCPU's own page tables (paging.c), so software breakpoints work before
 * paging is on and in early kernel code; the int3 byte goes into guest
 * physical memory and is hidden from reads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "gdb.h"
#include "paging.h"
#include "util.h"
#include "vm.h"

#define INT3		   0xcc
#define MAX_SW_BP	   256
#define NR_HW_SLOTS	   4
#define MSR_KERNEL_GS_BASE 0xc0000102
#define DR6_BS		   (1u << 14)
#define DR7_GE		   (1u << 9)
#define MAXPHYADDR	   52

struct sw_bp {
	uint64_t gva, gpa;
	uint8_t orig;
};

struct hw_slot {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr, len;
};

struct gdb_kvm {
	struct vm *vm;
	struct gdb_server *srv;
	int stopped_fd; /* eventfd: every vCPU is parked, report the stop */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop_requested;
	unsigned int nr_parked;
	bool reported; /* this stop went to the server */
	struct gdb_stop stop;
	bool have_stop;
	enum gdb_action *actions;
	bool *step_armed; /* the vCPU resumed with single-step on */

	/* Loop thread only (vCPUs are parked whenever these change). */
	struct sw_bp sw[MAX_SW_BP];
	unsigned int nr_sw;
	struct hw_slot hw[NR_HW_SLOTS];
};

static struct vcpu *cpu(struct gdb_kvm *g, unsigned int i)
{
	return &g->vm->vcpus[i];
}

/* ---- Stopping and parking -------------------------------------------------------------- */

/* Caller holds the lock. */
static void request_stop(struct gdb_kvm *g)
{
	if (g->stop_requested)
		return;
	g->stop_requested = true;
	g->reported = false;
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		vcpu_kick(cpu(g, i));
}

/* Caller holds the lock: the first reason of a stop wins. */
static void record_stop(struct gdb_kvm *g, const struct gdb_stop *s)
{
	if (!g->have_stop) {
		g->stop = *s;
		g->have_stop = true;
	}
	request_stop(g);
}

static void apply_guest_debug(struct gdb_kvm *g, struct vcpu *v, bool step)
{
	struct kvm_guest_debug dbg = { 0 };
	uint64_t dr7 = 0;
	bool hw = false;

	for (unsigned int i = 0; i < NR_HW_SLOTS; i++) {
		static const unsigned int rw[] = {
			[GDB_BP_HW] = 0, [GDB_WP_WRITE] = 1, [GDB_WP_ACCESS] = 3
		};
		const struct hw_slot *s = &g->hw[i];
		unsigned int len;

		if (!s->used)
			continue;
		hw = true;
		len = s->type == GDB_BP_HW ? 0 : s->len == 8 ? 2 : s->len - 1;
		dbg.arch.debugreg[i] = s->addr;
		dr7 |= (2ULL << (2 * i)) | ((uint64_t)(rw[s->type] | len << 2) << (16 + 4 * i));
	}
	if (hw || g->nr_sw || step) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
		if (hw) {
			dbg.control |= KVM_GUESTDBG_USE_HW_BP;
			dbg.arch.debugreg[7] = dr7 | DR7_GE;
		}
		if (step)
			dbg.control |= KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ;
	}
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) && step) {
		/* Older KVMs lack BLOCKIRQ: step without it. */
		dbg.control &= ~(uint32_t)KVM_GUESTDBG_BLOCKIRQ;
		ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
	}
}

bool vm_gdb_gate(struct vcpu *v)
{
	struct gdb_kvm *g = v->vm->gdb;
	bool step;

	pthread_mutex_lock(&g->lock);
	if (!g->stop_requested && g->actions[v->id] != GDB_ACT_STOP) {
		pthread_mutex_unlock(&g->lock);
		return true;
	}
	if (++g->nr_parked == g->vm->nr_vcpus)
		eventfd_write(g->stopped_fd, 1);
	while ((g->stop_requested || g->actions[v->id] == GDB_ACT_STOP) &&
	       !atomic_load(&v->vm->exiting))
		pthread_cond_wait(&g->cond, &g->lock);
	g->nr_parked--;
	step = g->actions[v->id] == GDB_ACT_STEP;
	g->step_armed[v->id] = step;
	pthread_mutex_unlock(&g->lock);
	if (atomic_load(&v->vm->exiting))
		return false;
	apply_guest_debug(g, v, step);
	return true;
}

void vm_gdb_wake(struct vm *vm)
{
	struct gdb_kvm *g = vm->gdb;

	pthread_mutex_lock(&g->lock);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static bool is_our_sw_bp(struct gdb_kvm *g, uint64_t gpa)
{
	for (unsigned int i = 0; i < g->nr_sw; i++) {
		if (g->sw[i].gpa == gpa)
			return true;
	}
	return false;
}

static int gva_to_gpa(struct gdb_kvm *g, struct vcpu *v, uint64_t gva, uint64_t *gpa);

/*
 * A #BP or #DB exit (KVM_EXIT_DEBUG).  True when it is ours and the vCPU
 * must park; false: the guest's own, to be handed back to it.
 */
bool vm_gdb_debug_exit(struct vcpu *v)
{
	struct gdb_kvm *g = v->vm->gdb;
	const struct kvm_debug_exit_arch *a = &v->run->debug.arch;
	struct gdb_stop s = { .cpu = v->id, .signal = 5 };
	uint64_t gpa;

	if (a->exception == 3) {
		if (gva_to_gpa(g, v, a->pc, &gpa) || !is_our_sw_bp(g, gpa))
			return false;
		s.reason = GDB_STOP_SWBREAK;
	} else if (a->dr6 & 0xf) {
		unsigned int i = __builtin_ctz((unsigned int)a->dr6 & 0xf);

		s.reason = g->hw[i].type == GDB_BP_HW ? GDB_STOP_HWBREAK : GDB_STOP_WATCH;
		s.kind = g->hw[i].type;
		s.addr = g->hw[i].addr;
	} else if ((a->dr6 & DR6_BS) && g->step_armed[v->id]) {
		s.reason = GDB_STOP_STEP;
	} else {
		return false;
	}
	pthread_mutex_lock(&g->lock);
	g->step_armed[v->id] = false;
	record_stop(g, &s);
	pthread_mutex_unlock(&g->lock);
	return true;
}

/*
 * PVM hosts cannot emulate int3 at CPL0: it arrives as an emulation failure.
 * True when it is one of ours (the vCPU parks, rip still on the int3).
 */
bool vm_gdb_int3(struct vcpu *v)
{
	struct gdb_kvm *g = v->vm->gdb;
	struct kvm_regs regs;
	struct gdb_stop s = { .cpu = v->id, .signal = 5, .reason = GDB_STOP_SWBREAK };
	uint64_t gpa;

	/* The byte at rip is the int3 the stub put there: nothing else to check. */
	if (ioctl(v->fd, KVM_GET_REGS, &regs) || gva_to_gpa(g, v, regs.rip, &gpa) ||
	    !is_our_sw_bp(g, gpa))
		return false;
	pthread_mutex_lock(&g->lock);
	record_stop(g, &s);
	pthread_mutex_unlock(&g->lock);
	return true;
}

/*
 * On the I/O thread: every vCPU is parked, at the stub's gate or by a stop
 * of the control plane (vm_pause(): they wait before that gate until cont).
 */
static void stopped_event(void *opaque, uint32_t events)
{
	struct gdb_kvm *g = opaque;
	struct gdb_stop s;
	eventfd_t v;
	bool report;

	(void)events;
	if (eventfd_read(g->stopped_fd, &v))
		return;
	pthread_mutex_lock(&g->lock);
	report = g->stop_requested && !g->reported &&
		 (g->nr_parked == g->vm->nr_vcpus || g->vm->paused);
	if (report) {
		s = g->have_stop ? g->stop
				 : (struct gdb_stop){ .reason = GDB_STOP_SIGNAL, .signal = 2 };
		g->reported = true;
	}
	pthread_mutex_unlock(&g->lock);
	if (report)
		gdb_server_stopped(g->srv, &s);
}

/* ---- Target ops ------------------------------------------------------------------------ */

static unsigned int t_nr_cpus(void *t)
{
	struct gdb_kvm *g = t;

	return g->vm->nr_vcpus;
}

static int gva_to_gpa(struct gdb_kvm *g, struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct kvm_sregs sregs;
	struct paging_mode m;
	struct paging_result res;
	int ret;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	paging_mode_init(&m, &sregs, MAXPHYADDR);
	ret = paging_translate(&g->vm->mem, &m, gva, 0, &res);
	if (ret)
		return ret;
	*gpa = res.gpa;
	return 0;
}

/* Copy guest memory page by page, each page translated on its own. */
static int access_mem(struct gdb_kvm *g, unsigned int c, uint64_t addr, uint8_t *buf, size_t len,
		      bool phys, bool write)
{
	while (len) {
		size_t chunk = 4096 - (addr & 4095);
		uint64_t gpa;
		int ret;

		if (chunk > len)
			chunk = len;
		gpa = addr;
		ret = phys ? 0 : gva_to_gpa(g, cpu(g, c), addr, &gpa);
		if (!ret)
			ret = write ? guest_mem_write(&g->vm->mem, gpa, buf, chunk)
				    : guest_mem_read(&g->vm->mem, gpa, buf, chunk);
		if (ret)
			return -EFAULT;
		/* Breakpoint bytes: reads show the original, writes update it. */
		for (unsigned int i = 0; i < g->nr_sw; i++) {
			struct sw_bp *b = &g->sw[i];
			uint8_t int3 = INT3;

			if (b->gpa < gpa || b->gpa >= gpa + chunk)
				continue;
			if (write) {
				b->orig = buf[b->gpa - gpa];
				guest_mem_write(&g->vm->mem, b->gpa, &int3, 1);
			} else {
				buf[b->gpa - gpa] = b->orig;
			}
		}
		addr += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

static int t_read_mem(void *t, unsigned int c, uint64_t addr, void *buf, size_t len, bool phys)
{
	return access_mem(t, c, addr, buf, len, phys, false);
}

static int t_write_mem(void *t, unsigned int c, uint64_t addr, const void *buf, size_t len,
		       bool phys)
{
	return access_mem(t, c, addr, (uint8_t *)buf, len, phys, true);
}

/* 80-bit x87 registers sit in 16-byte slots; gdb wants the full tag word, KVM gives the abridged one. */
static int read_fpu_reg(struct vcpu *v, enum gdb_reg reg, uint8_t *buf)
{
	struct kvm_fpu f;

	if (ioctl(v->fd, KVM_GET_FPU, &f))
		return -errno;
	if (reg >= GDB_ST0 && reg < GDB_ST0 + 8) {
		memcpy(buf, f.fpr[reg - GDB_ST0], 10);
	} else if (reg >= GDB_XMM0 && reg < GDB_XMM0 + 16) {
		memcpy(buf, f.xmm[reg - GDB_XMM0], 16);
	} else {
		uint32_t v32 = 0;

		switch (reg) {
		case GDB_FCTRL:
			v32 = f.fcw;
			break;
		case GDB_FSTAT:
			v32 = f.fsw;
			break;
		case GDB_FTAG:
			for (unsigned int i = 0; i < 8; i++)
				v32 |= (f.ftwx >> i & 1 ? 0u : 3u) << (2 * i);
			break;
		case GDB_FIOFF:
			v32 = (uint32_t)f.last_ip;
			break;
		case GDB_FOOFF:
			v32 = (uint32_t)f.last_dp;
			break;
		case GDB_FOP:
			v32 = f.last_opcode;
			break;
		case GDB_MXCSR:
			v32 = f.mxcsr;
			break;
		default: /* FISEG, FOSEG: KVM does not keep them in 64-bit mode */
			return -EOPNOTSUPP;
		}
		put_le(buf, v32, 4);
	}
	return 0;
}

static int get_msr(struct vcpu *v, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index };

	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*value = m.e.data;
	return 0;
}

static int set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = value };

	return ioctl(v->fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EIO;
}

/* Where a general or system register lives in kvm_regs / kvm_sregs; NULL for others. */
static __u64 *reg_slot(struct kvm_regs *r, struct kvm_sregs *s, enum gdb_reg reg)
{
	__u64 *gpr[] = {
		&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp, &r->r8,
		&r->r9,	 &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15, &r->rip, &r->rflags,
	};

	if (reg <= GDB_EFLAGS)
		return gpr[reg];
	switch (reg) {
	case GDB_FS_BASE:
		return &s->fs.base;
	case GDB_GS_BASE:
		return &s->gs.base;
	case GDB_CR0:
		return &s->cr0;
	case GDB_CR2:
		return &s->cr2;
	case GDB_CR3:
		return &s->cr3;
	case GDB_CR4:
		return &s->cr4;
	case GDB_CR8:
		return &s->cr8;
	case GDB_EFER:
		return &s->efer;
	default:
		return NULL;
	}
}

static struct kvm_segment *seg_slot(struct kvm_sregs *s, enum gdb_reg reg)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs };

	return reg >= GDB_CS && reg <= GDB_GS ? segs[reg - GDB_CS] : NULL;
}

static int t_read_reg(void *t, unsigned int c, enum gdb_reg reg, uint8_t *buf)
{
	struct vcpu *v = cpu(t, c);
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_segment *seg;
	__u64 *slot;
	uint64_t val;

	memset(buf, 0, gdb_reg_size(reg));
	if (reg >= GDB_ST0 && reg <= GDB_MXCSR)
		return read_fpu_reg(v, reg, buf);
	if (reg == GDB_K_GS_BASE) {
		if (get_msr(v, MSR_KERNEL_GS_BASE, &val))
			return -EIO;
		put_le(buf, val, 8);
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return -errno;
	seg = seg_slot(&s, reg);
	if (seg) {
		put_le(buf, seg->selector, 4);
		return 0;
	}
	slot = reg_slot(&r, &s, reg);
	if (!slot)
		return -EINVAL;
	put_le(buf, *slot, gdb_reg_size(reg));
	return 0;
}

static int t_write_reg(void *t, unsigned int c, enum gdb_reg reg, const uint8_t *buf)
{
	struct vcpu *v = cpu(t, c);
	struct kvm_regs r;
	struct kvm_sregs s;
	__u64 *slot;

	if (reg == GDB_K_GS_BASE)
		return set_msr(v, MSR_KERNEL_GS_BASE, get_le(buf, 8));
	/* Selectors would need descriptor loads, x87/SSE the FPU block: not writable here. */
	if (seg_slot(&s, reg) || (reg >= GDB_ST0 && reg <= GDB_MXCSR))
		return -EOPNOTSUPP;
	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
		return -errno;
	slot = reg_slot(&r, &s, reg);
	if (!slot)
		return -EINVAL;
	*slot = get_le(buf, gdb_reg_size(reg));
	if (reg <= GDB_EFLAGS)
		return ioctl(v->fd, KVM_SET_REGS, &r) ? -errno : 0;
	return ioctl(v->fd, KVM_SET_SREGS, &s) ? -errno : 0;
}

static int insert_sw(struct gdb_kvm *g, uint64_t addr)
{
	struct sw_bp *b;
	uint8_t int3 = INT3;
	uint64_t gpa;

	if (g->nr_sw == MAX_SW_BP)
		return -ENOSPC;
	if (gva_to_gpa(g, cpu(g, 0), addr, &gpa))
		return -EFAULT;
	for (unsigned int i = 0; i < g->nr_sw; i++) {
		if (g->sw[i].gva == addr)
			return 0;
	}
	b = &g->sw[g->nr_sw];
	b->gva = addr;
	b->gpa = gpa;
	if (guest_mem_read(&g->vm->mem, gpa, &b->orig, 1) ||
	    guest_mem_write(&g->vm->mem, gpa, &int3, 1))
		return -EFAULT;
	g->nr_sw++;
	return 0;
}

static int remove_sw(struct gdb_kvm *g, uint64_t addr)
{
	for (unsigned int i = 0; i < g->nr_sw; i++) {
		if (g->sw[i].gva != addr)
			continue;
		guest_mem_write(&g->vm->mem, g->sw[i].gpa, &g->sw[i].orig, 1);
		g->sw[i] = g->sw[--g->nr_sw];
		return 0;
	}
	return -ENOENT;
}

static int t_insert_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct gdb_kvm *g = t;

	if (type == GDB_BP_SW)
		return insert_sw(g, addr);
	if (type == GDB_WP_READ)
		return -EOPNOTSUPP; /* x86 debug registers cannot watch reads alone */
	if (type != GDB_BP_HW && (len != 1 && len != 2 && len != 4 && len != 8))
		return -EINVAL;
	if (type != GDB_BP_HW && (addr & (len - 1)))
		return -EINVAL;
	for (unsigned int i = 0; i < NR_HW_SLOTS; i++) {
		if (!g->hw[i].used) {
			g->hw[i] = (struct hw_slot){ true, type, addr, len };
			return 0;
		}
	}
	return -ENOSPC;
}

static int t_remove_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct gdb_kvm *g = t;

	if (type == GDB_BP_SW)
		return remove_sw(g, addr);
	for (unsigned int i = 0; i < NR_HW_SLOTS; i++) {
		struct hw_slot *s = &g->hw[i];

		if (s->used && s->type == type && s->addr == addr &&
		    (type == GDB_BP_HW || s->len == len)) {
			s->used = false;
			return 0;
		}
	}
	return -ENOENT;
}

static void t_resume(void *t, const enum gdb_action *actions)
{
	struct gdb_kvm *g = t;

	pthread_mutex_lock(&g->lock);
	memcpy(g->actions, actions, g->vm->nr_vcpus * sizeof(*actions));
	g->stop_requested = false;
	g->have_stop = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void t_interrupt(void *t)
{
	struct gdb_kvm *g = t;

	pthread_mutex_lock(&g->lock);
	request_stop(g);
	/* Already parked (stopped before, at -S, or by QMP stop): report the new request. */
	if (g->nr_parked == g->vm->nr_vcpus || g->vm->paused)
		eventfd_write(g->stopped_fd, 1);
	pthread_mutex_unlock(&g->lock);
}

static void t_detach(void *t)
{
	struct gdb_kvm *g = t;
	enum gdb_action *run = calloc(g->vm->nr_vcpus, sizeof(*run));

	while (g->nr_sw)
		remove_sw(g, g->sw[0].gva);
	memset(g->hw, 0, sizeof(g->hw));
	if (!run)
		return;
	for (unsigned int i = 0; i < g->vm->nr_vcpus; i++)
		run[i] = GDB_ACT_CONTINUE;
	t_resume(t, run);
	free(run);
}

static void t_kill(void *t)
{
	struct gdb_kvm *g = t;

	vm_request_exit(g->vm, EXIT_OK);
}

static int t_monitor(void *t, const char *cmd, char *out, size_t size)
{
	struct gdb_kvm *g = t;
	struct kvm_regs r;
	struct kvm_sregs s;
	size_t n = 0;

	if (strcmp(cmd, "info registers"))
		return -EINVAL;
	out[0] = 0;
	for (unsigned int i = 0; i < g->vm->nr_vcpus && n < size; i++) {
		struct vcpu *v = cpu(g, i);

		if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_SREGS, &s))
			return -errno;
		n += (size_t)snprintf(out + n, size - n,
				      "CPU %u: rip=%016llx rsp=%016llx rflags=%08llx cr0=%08llx "
				      "cr3=%016llx cr4=%08llx efer=%llx cs=%04x\n",
				      i, r.rip, r.rsp, r.rflags, s.cr0, s.cr3, s.cr4, s.efer,
				      s.cs.selector);
	}
	return 0;
}

static const struct gdb_target_ops kvm_target_ops = {
	.nr_cpus = t_nr_cpus,
	.read_reg = t_read_reg,
	.write_reg = t_write_reg,
	.read_mem = t_read_mem,
	.write_mem = t_write_mem,
	.insert_bp = t_insert_bp,
	.remove_bp = t_remove_bp,
	.resume = t_resume,
	.interrupt = t_interrupt,
	.detach = t_detach,
	.kill = t_kill,
	.monitor = t_monitor,
};

static void gdb_kvm_free(void *opaque)
{
	struct gdb_kvm *g = opaque;

	if (g->srv) {
		struct gdb_stop s = { .reason = GDB_STOP_EXITED,
				      .exit_status = g->vm->exit_status };

		gdb_server_stopped(g->srv, &s); /* the client gets W with the status */
		gdb_server_destroy(g->srv);
	}
	if (g->stopped_fd >= 0) {
		event_loop_del(&g->vm->main_loop, g->stopped_fd);
		close(g->stopped_fd);
	}
	g->vm->gdb = NULL;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g->actions);
	free(g->step_armed);
	free(g);
}

int vm_gdb_create(struct vm *vm, const char *addr, bool start_stopped)
{
	struct gdb_kvm *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return -ENOMEM;
	g->vm = vm;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->stopped_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->actions = calloc(vm->nr_vcpus, sizeof(*g->actions));
	g->step_armed = calloc(vm->nr_vcpus, sizeof(*g->step_armed));
	ret = vm_add_cleanup(vm, gdb_kvm_free, g);
	if (ret) {
		gdb_kvm_free(g);
		return ret;
	}
	vm->gdb = g;
	if (g->stopped_fd < 0 || !g->actions || !g->step_armed)
		return err_set(ENOMEM, "gdb: out of memory");
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		g->actions[i] = start_stopped ? GDB_ACT_STOP : GDB_ACT_CONTINUE;
	/* -S: every vCPU parks before its first instruction; the stop is a SIGTRAP. */
	g->stop_requested = start_stopped;
	if (start_stopped) {
		g->stop = (struct gdb_stop){ .reason = GDB_STOP_SIGNAL, .signal = 5 };
		g->have_stop = true;
	}
	/* On main_loop, not the device loop: gdb is served while QMP has the VM stopped. */
	ret = event_loop_add(&vm->main_loop, g->stopped_fd, EPOLLIN, stopped_event, g);
	if (ret)
		return err_set(-ret, "gdb: %s", strerror(-ret));
	return gdb_server_create(&g->srv, addr, &vm->main_loop, &kvm_target_ops, g);
}
