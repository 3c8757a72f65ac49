// SPDX-License-Identifier: MIT
/*
 * Interrupt-driven serial echo.  Receive interrupts (IRQ 4 through the 8259)
 * move bytes into a ring; the main loop halts while the ring is empty.
 * Every byte is echoed as received, except that a line end ("\r", "\n" or
 * "\r\n") is echoed as "\r\n".  The line "quit" ends the guest.
 */
#include "guest.h"

#define RX_RING_SIZE 256 /* a power of two */
#define LINE_MAX     128

static volatile uint8_t rx_ring[RX_RING_SIZE];
static volatile unsigned int rx_head, rx_tail; /* free-running */

/* Move every waiting byte into the ring (interrupts are off). */
static void uart_drain(void)
{
	int c;

	while ((c = serial_getc_nowait()) >= 0) {
		if (rx_head - rx_tail < RX_RING_SIZE)
			rx_ring[rx_head++ % RX_RING_SIZE] = c;
	}
}

static void uart_irq(struct trap_frame *tf)
{
	(void)tf;
	uart_drain();
}

int main(void)
{
	char line[LINE_MAX];
	size_t len = 0;
	bool after_cr = false;

	trap_register(PIC_VECTOR(COM1_IRQ), uart_irq);
	pic_init();
	pic_unmask(COM1_IRQ);
	serial_enable_rx_irq();
	console_puts("echo: ready\n");
	uart_drain(); /* whatever arrived before the interrupt was on */

	for (;;) {
		char c;

		while (rx_head == rx_tail)
			irq_wait();
		c = rx_ring[rx_tail++ % RX_RING_SIZE];

		if (c == '\n' && after_cr) { /* the second half of "\r\n" */
			after_cr = false;
			continue;
		}
		after_cr = c == '\r';
		if (c != '\r' && c != '\n') {
			serial_putc(c);
			if (len < sizeof(line))
				line[len] = c;
			len++;
			continue;
		}
		console_puts("\r\n");
		if (len == 4 && !memcmp(line, "quit", 4)) {
			console_puts("echo: bye\n");
			return GUEST_EXIT_OK;
		}
		len = 0;
	}
}
