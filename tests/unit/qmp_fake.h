/* SPDX-License-Identifier: MIT */
/*
 * A fake VM behind QMP and the human monitor (struct qmp_vm_ops), for the
 * unit tests and the fuzzer: run control only counts and changes a state,
 * the queries describe two vCPUs, a disk, a serial port and a netdev.
 */
#ifndef KVMINI_TEST_QMP_FAKE_H
#define KVMINI_TEST_QMP_FAKE_H

#include <stdio.h>

#include "error.h"
#include "qmp.h"

struct fake_vm {
	enum qmp_run_state state;
	unsigned int stops, conts, powerdowns, resets, quits;
	int fail_stop; /* -errno from stop() */
	/* load(): what it fails with (-errno), whether it changed the VM first, what it got */
	int fail_load;
	bool load_touches;
	char loaded[64];
	bool loaded_disk_check;
	/* delete_snapshot(): what it fails with (-errno), the tag it got last */
	int fail_delete;
	char deleted[64];
};

static enum qmp_run_state f_state(void *vm)
{
	return ((struct fake_vm *)vm)->state;
}

static int f_stop(void *opaque)
{
	struct fake_vm *vm = opaque;

	if (vm->fail_stop)
		return err_set(-vm->fail_stop, "cannot stop: fake failure");
	vm->stops++;
	vm->state = QMP_PAUSED;
	return 0;
}

static int f_cont(void *opaque)
{
	struct fake_vm *vm = opaque;

	vm->conts++;
	vm->state = QMP_RUNNING;
	return 0;
}

static int f_powerdown(void *opaque)
{
	((struct fake_vm *)opaque)->powerdowns++;
	return 0;
}

static int f_reset(void *opaque)
{
	struct fake_vm *vm = opaque;

	vm->resets++;
	vm->state = QMP_SHUTDOWN;
	return 0;
}

static int f_quit(void *opaque)
{
	struct fake_vm *vm = opaque;

	vm->quits++;
	vm->state = QMP_SHUTDOWN;
	return 0;
}

static const char *f_name(void *vm)
{
	(void)vm;
	return "fake";
}

static unsigned int f_two(void *vm)
{
	(void)vm;
	return 2;
}

static unsigned int f_one(void *vm)
{
	(void)vm;
	return 1;
}

static void f_cpu_info(void *vm, unsigned int cpu, struct qmp_cpu_info *info)
{
	(void)vm;
	*info = (struct qmp_cpu_info){ .thread_id = 1000 + (int)cpu, .core = cpu };
}

static int f_cpu_regs(void *vm, unsigned int cpu, char *buf, size_t size)
{
	(void)vm;
	snprintf(buf, size, "RIP=%016x\n", cpu);
	return 0;
}

static void f_disk_info(void *vm, unsigned int disk, struct qmp_disk_info *info)
{
	(void)vm;
	(void)disk;
	*info = (struct qmp_disk_info){ "d0", "/img/d0.raw", "raw", true, 1 << 20 };
}

static void f_chardev_info(void *vm, unsigned int chr, struct qmp_chardev_info *info)
{
	(void)vm;
	snprintf(info->label, sizeof(info->label), "serial%u", chr);
	snprintf(info->filename, sizeof(info->filename), "stdio");
}

static void f_net_info(void *vm, unsigned int net, struct qmp_net_info *info)
{
	(void)vm;
	(void)net;
	snprintf(info->desc, sizeof(info->desc), "user: net=10.0.2.0/24");
	snprintf(info->id, sizeof(info->id), "n0");
	info->rx_dropped = 7;
}

static int f_load(void *opaque, const char *path, bool disk_check, bool *touched)
{
	struct fake_vm *vm = opaque;

	snprintf(vm->loaded, sizeof(vm->loaded), "%s", path);
	vm->loaded_disk_check = disk_check;
	*touched = vm->load_touches || !vm->fail_load;
	if (*touched && vm->state == QMP_INMIGRATE)
		vm->state = QMP_PAUSED;
	return vm->fail_load ? err_set(-vm->fail_load, "fake load failure") : 0;
}

static int f_delete_snapshot(void *opaque, const char *tag)
{
	struct fake_vm *vm = opaque;

	snprintf(vm->deleted, sizeof(vm->deleted), "%s", tag);
	return vm->fail_delete ? err_set(-vm->fail_delete, "fake delete failure") : 0;
}

static const struct qmp_vm_ops fake_ops = {
	.state = f_state,
	.stop = f_stop,
	.cont = f_cont,
	.powerdown = f_powerdown,
	.reset = f_reset,
	.quit = f_quit,
	.name = f_name,
	.nr_cpus = f_two,
	.cpu_info = f_cpu_info,
	.cpu_regs = f_cpu_regs,
	.nr_disks = f_one,
	.disk_info = f_disk_info,
	.nr_chardevs = f_one,
	.chardev_info = f_chardev_info,
	.nr_nets = f_one,
	.net_info = f_net_info,
	.load = f_load,
	.delete_snapshot = f_delete_snapshot,
};

#endif
