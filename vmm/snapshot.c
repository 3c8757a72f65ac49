// SPDX-License-Identifier: MIT
/*
 * Saving and restoring a whole VM: per vCPU the KVM register state, the
 * in-kernel irqchip, PIT and kvmclock, guest RAM (all-zero pages left out)
 * and the state of every device registered with vm_register_state().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error.h"
#include "pci.h"
#include "snapshot.h"
#include "vm.h"

#define PAGE_SIZE   4096u
#define RAM_RUN_MAX (4u << 20) /* bytes per RAM section: bounded writes, early checksums */

/* Sections: per vCPU (instance = vCPU index), the VM, RAM, devices (instance = index). */
#define TAG_REGS  SNAP_TAG('R', 'E', 'G', 'S')
#define TAG_SREGS SNAP_TAG('S', 'R', 'E', 'G') /* KVM_GET_SREGS, without KVM_CAP_SREGS2 */
#define TAG_SREG2 SNAP_TAG('S', 'R', 'G', '2') /* KVM_GET_SREGS2: with the PAE PDPTRs */
#define TAG_XSAVE SNAP_TAG('X', 'S', 'A', 'V')
#define TAG_XCRS  SNAP_TAG('X', 'C', 'R', 'S')
#define TAG_DEBUG SNAP_TAG('D', 'B', 'G', 'R')
#define TAG_MSRS  SNAP_TAG('M', 'S', 'R', 'S')
#define TAG_LAPIC SNAP_TAG('L', 'A', 'P', 'I')
#define TAG_EVENT SNAP_TAG('E', 'V', 'N', 'T')
#define TAG_MP	  SNAP_TAG('M', 'P', 'S', 'T')
#define TAG_CHIP  SNAP_TAG('C', 'H', 'I', 'P') /* instance: KVM_IRQCHIP_* */
#define TAG_PIT	  SNAP_TAG('P', 'I', 'T', '2')
#define TAG_CLOCK SNAP_TAG('C', 'L', 'C', 'K')
#define TAG_RAM	  SNAP_TAG('R', 'A', 'M', ' ') /* u64 offset into RAM, then the bytes */
#define TAG_DEV	  SNAP_TAG('D', 'E', 'V', ' ')

_Static_assert(VM_MAX_STATE_DEVS <= SNAP_MAX_DEVS, "the CONF section holds every device");
_Static_assert(sizeof(((struct vm_state_dev *)0)->name) == SNAP_DEV_NAME_LEN, "device names");

int vm_register_state(struct vm *vm, const char *name, const struct vm_state_ops *ops, void *opaque)
{
	struct vm_state_dev *d;

	if (vm->nr_state_devs == VM_MAX_STATE_DEVS)
		return err_set(ENOSPC, "too many devices");
	d = &vm->state_devs[vm->nr_state_devs++];
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->ops = ops;
	d->opaque = opaque;
	return 0;
}

static void vm_snap_config(const struct vm *vm, struct snap_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ram_size = vm->cfg->ram_size;
	c->nr_vcpus = vm->nr_vcpus;
	c->nr_devs = vm->nr_state_devs;
	for (unsigned int i = 0; i < vm->nr_state_devs; i++)
		memcpy(c->devs[i], vm->state_devs[i].name, SNAP_DEV_NAME_LEN);
}

/* The size KVM_GET_XSAVE2 needs, or that of struct kvm_xsave. */
static size_t xsave_size(const struct vm *vm)
{
	int n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n : sizeof(struct kvm_xsave);
}

/* KVM_GET_MSR_INDEX_LIST: every MSR KVM saves and restores.  malloc'ed, or NULL. */
static struct kvm_msr_list *msr_index_list(const struct vm *vm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (!ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) || errno != E2BIG)
		return NULL;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return NULL;
	l->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l)) {
		free(l);
		return NULL;
	}
	return l;
}

/*
 * The MSRs of @vcpu that KVM_GET_MSRS reads: it stops at the first one it
 * refuses, so ask again for the ones past it.  malloc'ed, or NULL.
 */
static struct kvm_msrs *get_msrs(struct vcpu *vcpu, const struct kvm_msr_list *l)
{
	size_t size = sizeof(struct kvm_msrs) + l->nmsrs * sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = calloc(1, size), *req = calloc(1, size);
	unsigned int next = 0;

	if (!m || !req) {
		free(m);
		free(req);
		return NULL;
	}
	while (next < l->nmsrs) {
		int got;

		req->nmsrs = l->nmsrs - next;
		for (unsigned int i = 0; i < req->nmsrs; i++)
			req->entries[i] = (struct kvm_msr_entry){ .index = l->indices[next + i] };
		got = ioctl(vcpu->fd, KVM_GET_MSRS, req);
		if (got < 0)
			got = 0;
		memcpy(&m->entries[m->nmsrs], req->entries, (size_t)got * sizeof(req->entries[0]));
		m->nmsrs += (unsigned int)got;
		next += (unsigned int)got + 1; /* past the refused one */
	}
	free(req);
	return m;
}

static int save_vcpu(struct snap_writer *w, struct vcpu *vcpu, const struct kvm_msr_list *msrs,
		     size_t xs_size)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	bool has_sregs2 = ioctl(vcpu->vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SREGS2) > 0;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_msrs *m;
	void *xs;
	unsigned int id = vcpu->id;
	const char *what = NULL;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		what = "KVM_GET_REGS";
	else if (has_sregs2 && ioctl(vcpu->fd, KVM_GET_SREGS2, &sregs2))
		what = "KVM_GET_SREGS2";
	else if (!has_sregs2 && ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		what = "KVM_GET_SREGS";
	else if (ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &dbg))
		what = "KVM_GET_DEBUGREGS";
	else if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic))
		what = "KVM_GET_LAPIC";
	else if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev))
		what = "KVM_GET_VCPU_EVENTS";
	else if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp))
		what = "KVM_GET_MP_STATE";
	if (what)
		return err_set(errno, "vCPU %u: %s: %s", id, what, strerror(errno));
	snap_put(w, TAG_REGS, id, &regs, sizeof(regs), NULL, 0);
	if (has_sregs2)
		snap_put(w, TAG_SREG2, id, &sregs2, sizeof(sregs2), NULL, 0);
	else
		snap_put(w, TAG_SREGS, id, &sregs, sizeof(sregs), NULL, 0);
	snap_put(w, TAG_DEBUG, id, &dbg, sizeof(dbg), NULL, 0);
	snap_put(w, TAG_LAPIC, id, &lapic, sizeof(lapic), NULL, 0);
	snap_put(w, TAG_EVENT, id, &ev, sizeof(ev), NULL, 0);
	snap_put(w, TAG_MP, id, &mp, sizeof(mp), NULL, 0);

	xs = calloc(1, xs_size);
	if (!xs)
		return -ENOMEM;
	if (ioctl(vcpu->fd, xs_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		  xs)) {
		free(xs);
		return err_set(errno, "vCPU %u: KVM_GET_XSAVE: %s", id, strerror(errno));
	}
	snap_put(w, TAG_XSAVE, id, xs, xs_size, NULL, 0);
	free(xs);
	/* Without XSAVE in the guest's CPUID, KVM has no XCRs to give. */
	if (!ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs))
		snap_put(w, TAG_XCRS, id, &xcrs, sizeof(xcrs), NULL, 0);

	m = get_msrs(vcpu, msrs);
	if (!m)
		return -ENOMEM;
	snap_put(w, TAG_MSRS, id, m->entries, m->nmsrs * sizeof(m->entries[0]), NULL, 0);
	free(m);
	return w->err;
}

static int save_vm(struct snap_writer *w, struct vm *vm)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;

	for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		struct kvm_irqchip c = { .chip_id = chip };

		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &c))
			return err_set(errno, "KVM_GET_IRQCHIP: %s", strerror(errno));
		snap_put(w, TAG_CHIP, chip, &c, sizeof(c), NULL, 0);
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit))
		return err_set(errno, "KVM_GET_PIT2: %s", strerror(errno));
	snap_put(w, TAG_PIT, 0, &pit, sizeof(pit), NULL, 0);
	/* The time the VM stopped at: the guest must not see the stop, nor the save. */
	if (vm->clock_saved)
		clock = vm->clock;
	else if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock))
		return err_set(errno, "KVM_GET_CLOCK: %s", strerror(errno));
	snap_put(w, TAG_CLOCK, 0, &clock, sizeof(clock), NULL, 0);
	return w->err;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i += 4) {
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	}
	return true;
}

/* Runs of non-zero pages, each one section. */
static void save_ram(struct snap_writer *w, struct vm *vm)
{
	const uint8_t *ram = vm->ram;
	uint64_t size = vm->cfg->ram_size, off = 0;

	while (off < size && !w->err) {
		uint64_t start, end;

		while (off < size && page_is_zero(ram + off))
			off += PAGE_SIZE;
		start = off;
		while (off < size && off - start < RAM_RUN_MAX && !page_is_zero(ram + off))
			off += PAGE_SIZE;
		end = off;
		if (end > start)
			snap_put(w, TAG_RAM, 0, &start, sizeof(start), ram + start, end - start);
	}
}

static int save_devices(struct snap_writer *w, struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_state_devs; i++) {
		struct vm_state_dev *d = &vm->state_devs[i];
		struct snap_buf b = { 0 };

		d->ops->save(d->opaque, &b);
		if (b.oom) {
			free(b.data);
			return -ENOMEM;
		}
		snap_put(w, TAG_DEV, i, b.data, b.len, NULL, 0);
		free(b.data);
	}
	return w->err;
}

int snapshot_save(struct vm *vm, const char *path, const char *tag)
{
	struct snap_writer w;
	struct snap_config cfg;
	struct kvm_msr_list *msrs;
	size_t xs_size = xsave_size(vm);
	int ret;

	if (!vm->paused)
		return err_set(EBUSY, "the VM must be stopped");
	msrs = msr_index_list(vm);
	if (!msrs)
		return err_set(errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	vm_snap_config(vm, &cfg);
	ret = snap_writer_open(&w, path, &cfg);
	if (ret) {
		free(msrs);
		return ret;
	}
	vm->snapshot_tag = tag;
	ret = save_vm(&w, vm);
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = save_vcpu(&w, &vm->vcpus[i], msrs, xs_size);
	if (!ret)
		ret = save_devices(&w, vm);
	vm->snapshot_tag = NULL;
	if (!ret) {
		save_ram(&w, vm);
		ret = w.err;
	}
	free(msrs);
	if (ret) {
		if (!w.err)
			w.err = ret;
		snap_writer_close(&w, false);
		return ret;
	}
	return snap_writer_close(&w, true);
}

/* ---- Restore -------------------------------------------------------------------------------- */

/* KVM_SET_MSRS stops at the first MSR it refuses: skip it and go on. */
static int set_msrs(struct vcpu *vcpu, const struct snap_section *s, unsigned int *refused)
{
	size_t n = s->len / sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m;
	size_t next = 0;

	if (s->len % sizeof(struct kvm_msr_entry))
		return err_set(EINVAL, "vCPU %u: the MSR section is malformed", vcpu->id);
	m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	if (!m)
		return -ENOMEM;
	while (next < n) {
		int done;

		m->nmsrs = (uint32_t)(n - next);
		memcpy(m->entries, s->data + next * sizeof(m->entries[0]),
		       m->nmsrs * sizeof(m->entries[0]));
		done = ioctl(vcpu->fd, KVM_SET_MSRS, m);
		if (done < 0)
			done = 0;
		next += (size_t)done;
		if (next < n) {
			(*refused)++;
			next++;
		}
	}
	free(m);
	return 0;
}

static int load_vcpu(const struct snap_reader *r, struct vcpu *vcpu, size_t xs_size,
		     unsigned int *refused)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	/* A file from a host without SREGS2 restores on one with it too: SRG2 or SREG. */
	bool has_sregs2 = snap_find(r, TAG_SREG2, vcpu->id) != NULL;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	const struct snap_section *s, *xsec;
	unsigned int id = vcpu->id;
	const char *what = NULL;
	void *xs;
	int ret;

	ret = snap_get(r, TAG_REGS, id, &regs, sizeof(regs));
	if (!ret && has_sregs2)
		ret = snap_get(r, TAG_SREG2, id, &sregs2, sizeof(sregs2));
	else if (!ret)
		ret = snap_get(r, TAG_SREGS, id, &sregs, sizeof(sregs));
	if (!ret)
		ret = snap_get(r, TAG_DEBUG, id, &dbg, sizeof(dbg));
	if (!ret)
		ret = snap_get(r, TAG_LAPIC, id, &lapic, sizeof(lapic));
	if (!ret)
		ret = snap_get(r, TAG_EVENT, id, &ev, sizeof(ev));
	if (!ret)
		ret = snap_get(r, TAG_MP, id, &mp, sizeof(mp));
	if (ret)
		return ret;
	xsec = snap_find(r, TAG_XSAVE, id);
	if (!xsec || xsec->len < sizeof(struct kvm_xsave) || xsec->len > xs_size)
		return err_set(EINVAL, "vCPU %u: the FPU state is missing or does not fit", id);
	s = snap_find(r, TAG_MSRS, id);
	if (!s)
		return err_set(EINVAL, "section MSRS/%u is missing", id);

	/* QEMU's order: MSRs before events and the LAPIC (APIC base, TSC deadline). */
	xs = calloc(1, xs_size);
	if (!xs)
		return -ENOMEM;
	memcpy(xs, xsec->data, xsec->len);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		what = "KVM_SET_REGS";
	else if (ioctl(vcpu->fd, KVM_SET_XSAVE, xs))
		what = "KVM_SET_XSAVE";
	else if (!snap_get(r, TAG_XCRS, id, &xcrs, sizeof(xcrs)) &&
		 ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs))
		what = "KVM_SET_XCRS";
	else if (has_sregs2 && ioctl(vcpu->fd, KVM_SET_SREGS2, &sregs2))
		what = "KVM_SET_SREGS2";
	else if (!has_sregs2 && ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		what = "KVM_SET_SREGS";
	free(xs);
	if (!what) {
		ret = set_msrs(vcpu, s, refused);
		if (ret)
			return ret;
		if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev))
			what = "KVM_SET_VCPU_EVENTS";
		else if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp))
			what = "KVM_SET_MP_STATE";
		else if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic))
			what = "KVM_SET_LAPIC";
		else if (ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &dbg))
			what = "KVM_SET_DEBUGREGS";
	}
	if (what)
		return err_set(errno, "vCPU %u: %s: %s", id, what, strerror(errno));
	return 0;
}

static int load_vm(const struct snap_reader *r, struct vm *vm)
{
	struct kvm_pit_state2 pit;
	int ret;

	for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_IOAPIC; chip++) {
		struct kvm_irqchip c;

		ret = snap_get(r, TAG_CHIP, chip, &c, sizeof(c));
		if (ret)
			return ret;
		if (c.chip_id != chip)
			return err_set(EINVAL, "irqchip section %u is malformed", chip);
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &c))
			return err_set(errno, "KVM_SET_IRQCHIP: %s", strerror(errno));
	}
	ret = snap_get(r, TAG_PIT, 0, &pit, sizeof(pit));
	if (ret)
		return ret;
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit))
		return err_set(errno, "KVM_SET_PIT2: %s", strerror(errno));
	return 0;
}

/*
 * Pages absent from the file are zero: clear what is not (what vm_create()
 * wrote, or the running guest's).  In place, not MADV_DONTNEED: io_uring
 * holds the pages registered as fixed buffers, and new pages behind the
 * same addresses would leave disk I/O on the old ones.
 */
static void clear_ram(uint8_t *ram, uint64_t size)
{
	static const uint8_t zero[PAGE_SIZE];

	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		size_t n = size - off < PAGE_SIZE ? (size_t)(size - off) : PAGE_SIZE;

		if (memcmp(ram + off, zero, n))
			memset(ram + off, 0, n);
	}
}

static int load_ram(const struct snap_reader *r, struct vm *vm)
{
	uint64_t size = vm->cfg->ram_size;

	clear_ram(vm->ram, size);
	for (unsigned int i = 0; i < r->nr_secs; i++) {
		const struct snap_section *s = &r->secs[i];
		uint64_t off;

		if (s->tag != TAG_RAM)
			continue;
		if (s->len < sizeof(off))
			return err_set(EINVAL, "a RAM section is malformed");
		memcpy(&off, s->data, sizeof(off));
		if (off > size || s->len - sizeof(off) > size - off)
			return err_set(EINVAL, "a RAM section lies outside guest RAM");
		memcpy((uint8_t *)vm->ram + off, s->data + sizeof(off), s->len - sizeof(off));
	}
	return 0;
}

/* Every device's state is there, and those with a check accept theirs. */
static int check_devices(const struct snap_reader *r, struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_state_devs; i++) {
		struct vm_state_dev *d = &vm->state_devs[i];
		const struct snap_section *s = snap_find(r, TAG_DEV, i);
		int ret;

		if (!s)
			return err_set(EINVAL, "the state of %s is missing", d->name);
		ret = d->ops->check ? d->ops->check(d->opaque, s->data, (size_t)s->len) : 0;
		if (ret)
			return err_prefix(ret, "%s", d->name);
	}
	return 0;
}

static int load_devices(const struct snap_reader *r, struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_state_devs; i++) {
		struct vm_state_dev *d = &vm->state_devs[i];
		const struct snap_section *s = snap_find(r, TAG_DEV, i);
		int ret;

		if (!d->ops->load)
			continue;
		ret = d->ops->load(d->opaque, s->data, (size_t)s->len);
		if (ret)
			return err_prefix(ret, "%s", d->name);
	}
	return 0;
}

int snapshot_load(struct vm *vm, const char *path, bool disk_check, bool *touched)
{
	struct snap_reader r;
	struct snap_config mine;
	struct kvm_clock_data clock;
	unsigned int refused = 0;
	size_t xs_size = xsave_size(vm);
	int ret;

	*touched = false;
	if (vm->nr_vcpus && vm->vcpus[0].thread_started && !vm->paused)
		return err_set(EBUSY, "the VM must be stopped");
	ret = snap_reader_open(&r, path);
	if (ret)
		return ret;
	vm_snap_config(vm, &mine);
	ret = snap_config_check(&r.cfg, &mine);
	if (!ret)
		ret = snap_get(&r, TAG_CLOCK, 0, &clock, sizeof(clock));
	vm->snapshot_disk_check = disk_check;
	if (!ret)
		ret = check_devices(&r, vm);
	if (ret) {
		snap_reader_close(&r);
		return ret;
	}
	*touched = true;
	ret = load_ram(&r, vm);
	if (!ret)
		ret = load_vm(&r, vm);
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = load_vcpu(&r, &vm->vcpus[i], xs_size, &refused);
	if (!ret)
		ret = load_devices(&r, vm);
	/* Last, as QEMU does at its resume: kvmclock goes on from the saved time. */
	if (!ret &&
	    ioctl(vm->vm_fd, KVM_SET_CLOCK, &(struct kvm_clock_data){ .clock = clock.clock }))
		ret = err_set(errno, "KVM_SET_CLOCK: %s", strerror(errno));
	/* A stopped VM's cont sets kvmclock again (vm_resume()): to the loaded time. */
	if (!ret && vm->paused) {
		vm->clock.clock = clock.clock;
		vm->clock_saved = true;
	}
	snap_reader_close(&r);
	if (!ret && refused)
		pr_warn("%s: this host's KVM refused %u saved MSR value%s", path, refused,
			refused == 1 ? "" : "s");
	return ret;
}
