// SPDX-License-Identifier: MIT
/*
 * The part of the i8042 keyboard controller a PC guest uses to reboot:
 * command 0xFE on port 0x64 pulses the reset line.  kvmini ends the VM there
 * (QEMU's -no-reboot behaviour).  There is no keyboard: the status port
 * reads "output buffer empty, input buffer empty".
 */
#include <errno.h>

#include "device.h"
#include "vm.h"

#define I8042_DATA	0x60
#define I8042_CMD	0x64
#define I8042_CMD_RESET 0xfe

static void i8042_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)data)[i] = 0;
}

static void i8042_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct vm *vm = opaque;

	(void)len;
	if (offset == 0 && *(const uint8_t *)data == I8042_CMD_RESET)
		vm_request_exit(vm, EXIT_OK);
}

static const struct bus_ops i8042_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_create(struct vm *vm)
{
	int ret = bus_register(&vm->pio, I8042_DATA, 1, &i8042_ops, vm);

	return ret ? ret : bus_register(&vm->pio, I8042_CMD, 1, &i8042_ops, vm);
}
