// SPDX-License-Identifier: MIT
/*
 * 16550A UART register model.  Transmission is instantaneous, so the
 * transmitter is always empty (LSR.THRE and LSR.TEMT stay set) and a THR
 * write re-latches the THR-empty interrupt at once.  A received character
 * below the FIFO trigger level raises the character-timeout interrupt right
 * away: input arrives in bursts, and waiting four character times would only
 * add latency.
 *
 * Host input is fed to the receiver only while the guest listens: after it
 * enabled the receive interrupt or read LSR/RBR, and not again after it
 * cleared the receive FIFO until it does so once more.  Otherwise input
 * that is ready at start-up (a pipe) would be thrown away by the guest's
 * FIFO reset during its UART set-up.
 */
#include <string.h>

#include "uart16550.h"

enum {
	REG_RBR_THR = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI	 0x01 /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */

#define IIR_NO_INT  0x01
#define IIR_MSI	    0x00
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_RLSI    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_KEEP     0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS	 0x10
#define MSR_DSR	 0x20
#define MSR_RI	 0x40
#define MSR_DCD	 0x80

static bool fifo_on(const struct uart16550 *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned int rx_capacity(const struct uart16550 *u)
{
	return fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct uart16550 *u)
{
	static const unsigned int levels[] = { 1, 4, 8, 14 };

	return fifo_on(u) ? levels[u->fcr >> 6] : 1;
}

static uint8_t uart_iir(const struct uart16550 *u)
{
	uint8_t id = IIR_NO_INT;

	if ((u->ier & IER_RLSI) && (u->lsr & LSR_OE))
		id = IIR_RLSI;
	else if ((u->ier & IER_RDI) && u->rx_count >= rx_trigger(u))
		id = IIR_RDI;
	else if ((u->ier & IER_RDI) && u->rx_count)
		id = IIR_TIMEOUT;
	else if ((u->ier & IER_THRI) && u->thre_pending)
		id = IIR_THRI;
	else if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		id = IIR_MSI;
	return id | (fifo_on(u) ? IIR_FIFO_ON : 0);
}

static void uart_update_irq(struct uart16550 *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		u->ops->set_irq(u->opaque, level);
	}
}

/* Modem status lines: loopback reflects MCR outputs, otherwise a connected peer. */
static void uart_update_msr(struct uart16550 *u)
{
	uint8_t old = u->msr, lines;

	if (u->mcr & MCR_LOOP) {
		lines = (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
			(u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
	} else {
		lines = MSR_DCD | MSR_DSR | MSR_CTS;
	}
	u->msr = (old & 0x0f) | lines;
	if ((old ^ lines) & MSR_CTS)
		u->msr |= MSR_DCTS;
	if ((old ^ lines) & MSR_DSR)
		u->msr |= MSR_DDSR;
	if ((old & MSR_RI) && !(lines & MSR_RI))
		u->msr |= MSR_TERI;
	if ((old ^ lines) & MSR_DCD)
		u->msr |= MSR_DDCD;
}

static void rx_push(struct uart16550 *u, uint8_t byte)
{
	if (u->rx_count == rx_capacity(u)) {
		u->lsr |= LSR_OE;
		/* Without FIFO the new character overwrites the holding register. */
		if (!fifo_on(u))
			u->rx_fifo[u->rx_head] = byte;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
}

static void rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->rx_armed = false;
}

/* The guest listens; true when that is news (the host may have input waiting). */
static bool rx_arm(struct uart16550 *u)
{
	bool was = u->rx_armed;

	u->rx_armed = true;
	return !was;
}

void uart_init(struct uart16550 *u, const struct uart_ops *ops, void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->ops = ops;
	u->opaque = opaque;
	u->lcr = 0x03; /* 8N1 */
	u->dll = 0x0c; /* 9600 baud */
	uart_update_msr(u);
	u->msr &= 0xf0; /* no deltas at power on */
}

void uart_destroy(struct uart16550 *u)
{
	pthread_mutex_destroy(&u->lock);
}

uint8_t uart_read(struct uart16550 *u, unsigned int reg)
{
	uint8_t val = 0;
	bool room = false;

	pthread_mutex_lock(&u->lock);
	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			val = u->dll;
			break;
		}
		room = rx_arm(u);
		if (u->rx_count) {
			room |= u->rx_count == rx_capacity(u);
			val = u->rx_fifo[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
		}
		break;
	case REG_IER:
		val = u->lcr & LCR_DLAB ? u->dlm : u->ier;
		break;
	case REG_IIR_FCR:
		val = uart_iir(u);
		if ((val & 0x0f) == IIR_THRI)
			u->thre_pending = false;
		break;
	case REG_LCR:
		val = u->lcr;
		break;
	case REG_MCR:
		val = u->mcr;
		break;
	case REG_LSR:
		val = u->lsr | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		u->lsr &= ~LSR_OE;
		room = rx_arm(u);
		break;
	case REG_MSR:
		val = u->msr;
		u->msr &= 0xf0;
		break;
	case REG_SCR:
		val = u->scr;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (room && u->ops->rx_ready)
		u->ops->rx_ready(u->opaque);
	return val;
}

void uart_write(struct uart16550 *u, unsigned int reg, uint8_t val)
{
	bool room = false;

	pthread_mutex_lock(&u->lock);
	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = val;
			break;
		}
		if (u->mcr & MCR_LOOP)
			rx_push(u, val);
		else
			u->ops->transmit(u->opaque, val);
		/* Sent at once: the holding register is empty again. */
		u->thre_pending = true;
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = val;
			break;
		}
		/* Enabling the THR-empty interrupt with THR empty raises it. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		if (val & IER_RDI)
			room = rx_arm(u);
		u->ier = val & 0x0f;
		break;
	case REG_IIR_FCR:
		if ((val ^ u->fcr) & FCR_ENABLE)
			val |= FCR_CLEAR_RX | FCR_CLEAR_TX;
		if (val & FCR_CLEAR_RX)
			rx_clear(u);
		u->fcr = val & FCR_KEEP;
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		room = (u->mcr & MCR_LOOP) && !(val & MCR_LOOP);
		u->mcr = val & 0x1f;
		uart_update_msr(u);
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only; writes are for factory test */
	case REG_SCR:
		u->scr = val;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (room && u->ops->rx_ready)
		u->ops->rx_ready(u->opaque);
}

size_t uart_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	/* In loopback mode the receiver is cut off from the outside. */
	if (u->rx_armed && !(u->mcr & MCR_LOOP)) {
		while (n < len && u->rx_count < rx_capacity(u))
			rx_push(u, buf[n++]);
		uart_update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart_save(struct uart16550 *u, uint8_t *buf)
{
	pthread_mutex_lock(&u->lock);
	buf[0] = u->ier;
	buf[1] = u->lcr;
	buf[2] = u->mcr;
	buf[3] = u->lsr;
	buf[4] = u->msr;
	buf[5] = u->scr;
	buf[6] = u->fcr;
	buf[7] = u->dll;
	buf[8] = u->dlm;
	buf[9] = u->thre_pending;
	buf[10] = u->irq_level;
	buf[11] = u->rx_armed;
	buf[12] = (uint8_t)u->rx_count;
	/* The FIFO from its head: the restored one starts at 0. */
	for (unsigned int i = 0; i < UART_FIFO_SIZE; i++)
		buf[13 + i] = u->rx_fifo[(u->rx_head + i) % UART_FIFO_SIZE];
	pthread_mutex_unlock(&u->lock);
}

bool uart_load(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	if (len != UART_STATE_LEN || buf[12] > UART_FIFO_SIZE || buf[9] > 1 || buf[10] > 1 ||
	    buf[11] > 1)
		return false;
	pthread_mutex_lock(&u->lock);
	u->ier = buf[0];
	u->lcr = buf[1];
	u->mcr = buf[2];
	u->lsr = buf[3];
	u->msr = buf[4];
	u->scr = buf[5];
	u->fcr = buf[6];
	u->dll = buf[7];
	u->dlm = buf[8];
	u->thre_pending = buf[9];
	u->rx_armed = buf[11];
	u->rx_count = buf[12];
	u->rx_head = 0;
	memcpy(u->rx_fifo, buf + 13, UART_FIFO_SIZE);
	/* The line's level lives in KVM's irqchip sources, not in its saved state. */
	u->irq_level = buf[10];
	u->ops->set_irq(u->opaque, u->irq_level);
	pthread_mutex_unlock(&u->lock);
	return true;
}
