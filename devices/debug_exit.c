// SPDX-License-Identifier: MIT
/*
 * isa-debug-exit: a guest writes a value to an I/O port and kvmini exits
 * with status (value << 1) | 1, as QEMU does.  Test guests use it to report
 * pass/fail through the exit status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "error.h"
#include "vm.h"

struct debug_exit {
	struct vm *vm;
};

static void debug_exit_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct debug_exit *d = opaque;
	uint64_t val = 0;

	(void)offset;
	memcpy(&val, data, len);
	vm_request_exit(d->vm, (int)((val << 1) | 1));
}

static const struct bus_ops debug_exit_ops = {
	.write = debug_exit_write,
};

static int debug_exit_create(struct vm *vm, struct opts *opts)
{
	uint64_t iobase = 0x501, iosize = 2;
	struct debug_exit *d;
	int ret;

	ret = opts_get_u64(opts, "iobase", &iobase);
	if (!ret)
		ret = opts_get_u64(opts, "iosize", &iosize);
	if (ret)
		return ret;
	if (iobase > 0xffff || !iosize || iosize > 4 || iobase + iosize > 0x10000)
		return err_set(EINVAL, "iobase/iosize out of range (ports 0-0xffff, size 1-4)");
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	ret = vm_add_cleanup(vm, free, d);
	if (ret) {
		free(d);
		return ret;
	}
	ret = bus_register(&vm->pio, iobase, iosize, &debug_exit_ops, d);
	if (ret == -EEXIST)
		return err_set(EBUSY, "I/O ports 0x%llx-0x%llx are taken by another device",
			       (unsigned long long)iobase,
			       (unsigned long long)(iobase + iosize - 1));
	return ret;
}

const struct device_driver debug_exit_driver = {
	.name = "isa-debug-exit",
	.help = "iobase=PORT,iosize=N: guest writes V, kvmini exits with (V << 1) | 1",
	.create = debug_exit_create,
};
