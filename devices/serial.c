// SPDX-License-Identifier: MIT
/* The PC serial ports COM1..COM4: a 16550A on the PIO bus, wired to a chardev. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "device.h"
#include "error.h"
#include "layout.h"
#include "snapshot.h"
#include "uart16550.h"
#include "vm.h"

struct serial_port {
	struct uart16550 uart;
	struct vm *vm;
	struct chardev *chr;
	unsigned int irq;
};

static void serial_set_irq(void *opaque, bool level)
{
	struct serial_port *s = opaque;

	vm_set_irq_line(s->vm, s->irq, level);
}

static void serial_transmit(void *opaque, uint8_t byte)
{
	struct serial_port *s = opaque;

	chardev_write(s->chr, &byte, 1);
}

static void serial_rx_ready(void *opaque)
{
	struct serial_port *s = opaque;

	chardev_room(s->chr);
}

static const struct uart_ops serial_uart_ops = {
	.set_irq = serial_set_irq,
	.transmit = serial_transmit,
	.rx_ready = serial_rx_ready,
};

static size_t serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial_port *s = opaque;

	return uart_receive(&s->uart, buf, len);
}

static void serial_pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct serial_port *s = opaque;
	uint8_t *p = data;

	/* Wider accesses read consecutive registers, as on an ISA bus. */
	for (uint32_t i = 0; i < len; i++)
		p[i] = offset + i < UART_NR_REGS ? uart_read(&s->uart, offset + i) : 0xff;
}

static void serial_pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct serial_port *s = opaque;
	const uint8_t *p = data;

	for (uint32_t i = 0; i < len && offset + i < UART_NR_REGS; i++)
		uart_write(&s->uart, offset + i, p[i]);
}

static const struct bus_ops serial_bus_ops = {
	.read = serial_pio_read,
	.write = serial_pio_write,
};

static void serial_save(void *opaque, struct snap_buf *out)
{
	struct serial_port *s = opaque;
	uint8_t buf[UART_STATE_LEN];

	uart_save(&s->uart, buf);
	snap_buf_put(out, buf, sizeof(buf));
}

static int serial_load(void *opaque, const uint8_t *data, size_t len)
{
	struct serial_port *s = opaque;

	if (!uart_load(&s->uart, data, len))
		return err_set(EINVAL, "the saved UART state is malformed");
	return 0;
}

static const struct vm_state_ops serial_state_ops = {
	.save = serial_save,
	.load = serial_load,
};

static void serial_destroy(void *opaque)
{
	struct serial_port *s = opaque;

	uart_destroy(&s->uart);
	free(s);
}

int serial_create(struct vm *vm, unsigned int index, struct chardev *chr)
{
	struct serial_port *s;
	struct chardev_frontend fe;
	char name[16];
	int ret;

	if (index >= MAX_SERIAL_PORTS)
		return err_set(EINVAL, "at most %d serial ports", MAX_SERIAL_PORTS);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->chr = chr;
	s->irq = serial_port_irq(index);
	uart_init(&s->uart, &serial_uart_ops, s);
	ret = vm_add_cleanup(vm, serial_destroy, s);
	if (ret) {
		serial_destroy(s);
		return ret;
	}
	ret = bus_register(&vm->pio, serial_port_base(index), SERIAL_PORT_LEN, &serial_bus_ops, s);
	if (ret)
		return err_set(-ret, "COM%u: I/O ports 0x%x-0x%x are taken", index + 1,
			       serial_port_base(index),
			       serial_port_base(index) + SERIAL_PORT_LEN - 1);
	snprintf(name, sizeof(name), "serial%u", index);
	ret = vm_register_state(vm, name, &serial_state_ops, s);
	if (ret)
		return ret;
	fe = (struct chardev_frontend){ .receive = serial_receive, .opaque = s };
	return chardev_attach(chr, &fe);
}
