/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART register model.  It knows nothing about KVM or file
 * descriptors: the owner supplies callbacks for the interrupt line, for
 * transmitted bytes and for "the receive FIFO has room again".
 */
#ifndef KVMINI_UART16550_H
#define KVMINI_UART16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_FIFO_SIZE 16
#define UART_NR_REGS   8

struct uart_ops {
	void (*set_irq)(void *opaque, bool level);
	void (*transmit)(void *opaque, uint8_t byte);
	void (*rx_ready)(void *opaque); /* room in the RX FIFO again */
};

struct uart16550 {
	pthread_mutex_t lock;
	const struct uart_ops *ops;
	void *opaque;

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thre_pending; /* THR-empty interrupt latched, cleared by IIR read/THR write */
	bool irq_level;
	bool rx_armed; /* the guest listens: host input may be queued */
	uint8_t rx_fifo[UART_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

void uart_init(struct uart16550 *u, const struct uart_ops *ops, void *opaque);
void uart_destroy(struct uart16550 *u);

/* Guest register access, @reg in 0..7. */
uint8_t uart_read(struct uart16550 *u, unsigned int reg);
void uart_write(struct uart16550 *u, unsigned int reg, uint8_t val);

/* Host side: queue received bytes; returns how many were taken (FIFO room). */
size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len);

/* Snapshots: the registers and the pending input, UART_STATE_LEN bytes. */
#define UART_STATE_LEN (13 + UART_FIFO_SIZE)
void uart_save(struct uart16550 *u, uint8_t *buf);
/* Back to a saved state, with the IRQ line at its saved level.  false: not a saved state. */
bool uart_load(struct uart16550 *u, const uint8_t *buf, size_t len);

#endif
