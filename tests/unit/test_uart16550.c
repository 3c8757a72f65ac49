// SPDX-License-Identifier: MIT
/* Unit tests for the 16550A register model (devices/uart16550.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "uart16550.h"

#define RBR 0 /* also THR, DLL */
#define IER 1 /* also DLM */
#define IIR 2 /* also FCR */
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* What the UART told its owner. */
struct fake {
	bool level;
	unsigned int irq_calls;
	uint8_t tx[64];
	size_t nr_tx;
	unsigned int rx_ready;
};

static void fake_set_irq(void *opaque, bool level)
{
	struct fake *f = opaque;

	f->level = level;
	f->irq_calls++;
}

static void fake_transmit(void *opaque, uint8_t byte)
{
	struct fake *f = opaque;

	assert_true(f->nr_tx < sizeof(f->tx));
	f->tx[f->nr_tx++] = byte;
}

static void fake_rx_ready(void *opaque)
{
	struct fake *f = opaque;

	f->rx_ready++;
}

static const struct uart_ops fake_ops = {
	.set_irq = fake_set_irq,
	.transmit = fake_transmit,
	.rx_ready = fake_rx_ready,
};

struct ctx {
	struct uart16550 u;
	struct fake f;
};

static int setup(void **state)
{
	struct ctx *c = test_calloc(1, sizeof(*c));

	if (!c)
		return -1;
	uart_init(&c->u, &fake_ops, &c->f);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	uart_destroy(&c->u);
	test_free(c);
	return 0;
}

static size_t receive_str(struct uart16550 *u, const char *s)
{
	return uart_receive(u, (const uint8_t *)s, strlen(s));
}

static void test_reset_values(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(uart_read(&c->u, IER), 0x00);
	assert_int_equal(uart_read(&c->u, LCR), 0x03);
	assert_int_equal(uart_read(&c->u, MCR), 0x00);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	/* A connected peer (CTS, DSR, DCD) and no deltas at power on. */
	assert_int_equal(uart_read(&c->u, MSR), 0xb0);
	assert_int_equal(uart_read(&c->u, SCR), 0x00);
	assert_int_equal(uart_read(&c->u, RBR), 0x00);
	assert_false(c->f.level);
	assert_int_equal(c->f.irq_calls, 0);
	assert_int_equal(c->f.nr_tx, 0);
}

static void test_dlab_divisor(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, LCR, 0x83);
	assert_int_equal(uart_read(&c->u, LCR), 0x83);
	assert_int_equal(uart_read(&c->u, RBR), 0x0c); /* 9600 baud */
	assert_int_equal(uart_read(&c->u, IER), 0x00);
	uart_write(&c->u, RBR, 0x01);
	uart_write(&c->u, IER, 0x02);
	assert_int_equal(uart_read(&c->u, RBR), 0x01);
	assert_int_equal(uart_read(&c->u, IER), 0x02);
	/* Divisor writes neither transmit nor enable interrupts. */
	assert_int_equal(c->f.nr_tx, 0);
	assert_false(c->f.level);

	uart_write(&c->u, LCR, 0x03);
	assert_int_equal(uart_read(&c->u, IER), 0x00);
	uart_write(&c->u, IER, 0x05);
	assert_int_equal(uart_read(&c->u, IER), 0x05);

	/* The divisor survives the round trip. */
	uart_write(&c->u, LCR, 0x80);
	assert_int_equal(uart_read(&c->u, RBR), 0x01);
	assert_int_equal(uart_read(&c->u, IER), 0x02);
}

static void test_scratch(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, SCR, 0x5a);
	assert_int_equal(uart_read(&c->u, SCR), 0x5a);
	uart_write(&c->u, SCR, 0xa5);
	assert_int_equal(uart_read(&c->u, SCR), 0xa5);
	assert_int_equal(c->f.nr_tx, 0);
}

static void test_register_masks(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, IER, 0xff);
	assert_int_equal(uart_read(&c->u, IER), 0x0f);
	uart_write(&c->u, IER, 0x00);
	uart_write(&c->u, MCR, 0xef);
	assert_int_equal(uart_read(&c->u, MCR), 0x0f);
	/* LSR and MSR are read-only. */
	uart_write(&c->u, LSR, 0x00);
	uart_write(&c->u, MSR, 0x00);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
}

static void test_thr_transmits(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, RBR, 'h');
	uart_write(&c->u, RBR, 'i');
	uart_write(&c->u, RBR, 0x00);
	assert_int_equal(c->f.nr_tx, 3);
	assert_memory_equal(c->f.tx, "hi\0", 3);
	/* Transmission is instant: the transmitter stays empty. */
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	/* Without IER.THRI no interrupt. */
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(c->f.irq_calls, 0);
}

static void test_thri_interrupt(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, IER, 0x02);
	assert_true(c->f.level);
	assert_int_equal(c->f.irq_calls, 1);

	/* Reading IIR reports THRI once and drops the line. */
	assert_int_equal(uart_read(&c->u, IIR), 0x02);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(c->f.irq_calls, 2);

	/* A THR write latches it again. */
	uart_write(&c->u, RBR, 'a');
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x02);
	assert_false(c->f.level);

	/* Rewriting IER with THRI still set does not re-latch ... */
	uart_write(&c->u, IER, 0x02);
	assert_false(c->f.level);
	/* ... but disabling and enabling it does. */
	uart_write(&c->u, IER, 0x00);
	uart_write(&c->u, IER, 0x02);
	assert_true(c->f.level);

	/* Masking it drops the line. */
	uart_write(&c->u, IER, 0x00);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(c->f.irq_calls, 6);
}

static void test_rx_refused_until_lsr_read(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(receive_str(&c->u, "a"), 0);
	/* Reads of other registers are not listening. */
	uart_read(&c->u, IIR);
	uart_read(&c->u, IER);
	uart_read(&c->u, MSR);
	uart_read(&c->u, SCR);
	uart_write(&c->u, IER, 0x02);
	assert_int_equal(receive_str(&c->u, "a"), 0);
	assert_int_equal(c->f.rx_ready, 0);

	assert_int_equal(uart_read(&c->u, LSR) & 0x01, 0);
	assert_int_equal(c->f.rx_ready, 1);
	assert_int_equal(receive_str(&c->u, "a"), 1);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	/* Only the start of listening is news. */
	assert_int_equal(c->f.rx_ready, 1);
}

static void test_rx_refused_until_rbr_read(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(receive_str(&c->u, "a"), 0);
	assert_int_equal(uart_read(&c->u, RBR), 0);
	assert_int_equal(c->f.rx_ready, 1);
	assert_int_equal(receive_str(&c->u, "q"), 1);
	assert_int_equal(uart_read(&c->u, RBR), 'q');
}

static void test_rx_refused_until_rdi_enabled(void **state)
{
	struct ctx *c = *state;

	/* A divisor write to the same address is not listening. */
	uart_write(&c->u, LCR, 0x83);
	uart_write(&c->u, IER, 0x01);
	uart_write(&c->u, LCR, 0x03);
	assert_int_equal(receive_str(&c->u, "a"), 0);
	assert_int_equal(c->f.rx_ready, 0);

	uart_write(&c->u, IER, 0x01);
	assert_int_equal(c->f.rx_ready, 1);
	assert_int_equal(receive_str(&c->u, "a"), 1);
	assert_true(c->f.level);
}

static void test_rx_without_fifo(void **state)
{
	struct ctx *c = *state;

	uart_read(&c->u, LSR);
	assert_int_equal(c->f.rx_ready, 1);
	/* No FIFO: a single holding register. */
	assert_int_equal(receive_str(&c->u, "abc"), 1);
	assert_int_equal(receive_str(&c->u, "bc"), 0);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	assert_false(c->f.level);

	uart_write(&c->u, IER, 0x01);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x04);
	/* Reading IIR does not acknowledge received data. */
	assert_true(c->f.level);

	assert_int_equal(uart_read(&c->u, RBR), 'a');
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	/* The full holding register got room. */
	assert_int_equal(c->f.rx_ready, 2);

	assert_int_equal(receive_str(&c->u, "bc"), 1);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, RBR), 'b');
	assert_int_equal(c->f.rx_ready, 3);
	/* An empty RBR read is not news. */
	uart_read(&c->u, RBR);
	assert_int_equal(c->f.rx_ready, 3);
}

static void test_rx_fifo_16(void **state)
{
	struct ctx *c = *state;
	uint8_t in[20];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0x40 + i);
	uart_write(&c->u, IIR, 0x01);
	assert_int_equal(uart_read(&c->u, IIR), 0xc1);
	uart_read(&c->u, LSR);
	assert_int_equal(uart_receive(&c->u, in, sizeof(in)), 16);
	assert_int_equal(uart_receive(&c->u, in + 16, 4), 0);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	assert_int_equal(c->f.rx_ready, 1);

	/* The first read makes room in the full FIFO. */
	assert_int_equal(uart_read(&c->u, RBR), 0x40);
	assert_int_equal(c->f.rx_ready, 2);
	for (unsigned int i = 1; i < 16; i++)
		assert_int_equal(uart_read(&c->u, RBR), 0x40 + i);
	assert_int_equal(c->f.rx_ready, 2);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);

	/* The ring wraps around its end. */
	assert_int_equal(uart_receive(&c->u, in, 4), 4);
	assert_int_equal(uart_read(&c->u, RBR), 0x40);
	assert_int_equal(uart_read(&c->u, RBR), 0x41);
	assert_int_equal(uart_receive(&c->u, in + 4, 16), 14);
	for (unsigned int i = 2; i < 18; i++)
		assert_int_equal(uart_read(&c->u, RBR), 0x40 + i);
	assert_int_equal(uart_read(&c->u, LSR) & 0x01, 0);
}

/* Each trigger level: below it the timeout interrupt, at it "data available". */
static void test_rx_trigger_levels(void **state)
{
	static const struct {
		uint8_t fcr;
		unsigned int level;
	} cases[] = { { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 } };
	uint8_t in[UART_FIFO_SIZE] = { 0 };

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uart16550 u;
		struct fake f = { 0 };

		uart_init(&u, &fake_ops, &f);
		uart_write(&u, IIR, cases[i].fcr);
		uart_write(&u, IER, 0x01);
		assert_int_equal(uart_read(&u, IIR), 0xc1);
		assert_int_equal(uart_receive(&u, in, cases[i].level - 1), cases[i].level - 1);
		if (cases[i].level > 1) {
			assert_true(f.level);
			assert_int_equal(uart_read(&u, IIR), 0xcc);
		}
		assert_int_equal(uart_receive(&u, in, 1), 1);
		assert_true(f.level);
		assert_int_equal(uart_read(&u, IIR), 0xc4);
		/* Fill up: still "data available". */
		uart_receive(&u, in, sizeof(in));
		assert_int_equal(uart_read(&u, IIR), 0xc4);
		/* Drain to one below the level: timeout again. */
		for (unsigned int n = UART_FIFO_SIZE; n >= cases[i].level; n--)
			uart_read(&u, RBR);
		if (cases[i].level > 1)
			assert_int_equal(uart_read(&u, IIR), 0xcc);
		else
			assert_int_equal(uart_read(&u, IIR), 0xc1);
		uart_destroy(&u);
	}
}

static void test_fifo_clear_rx(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, IIR, 0x01);
	uart_write(&c->u, IER, 0x01);
	assert_int_equal(receive_str(&c->u, "hello"), 5);
	assert_true(c->f.level);
	assert_int_equal(c->f.rx_ready, 1);

	uart_write(&c->u, IIR, 0x03);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0xc1);
	/* Cleared, and not listening until the guest looks again. */
	assert_int_equal(receive_str(&c->u, "x"), 0);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	assert_int_equal(c->f.rx_ready, 2);
	assert_int_equal(receive_str(&c->u, "xy"), 2);
	assert_int_equal(uart_read(&c->u, RBR), 'x');
	assert_int_equal(uart_read(&c->u, RBR), 'y');
	/* The FIFO stays on after a clear. */
	assert_int_equal(uart_read(&c->u, IIR), 0xc1);
}

static void test_fifo_toggle_clears(void **state)
{
	struct ctx *c = *state;

	uart_read(&c->u, LSR);
	assert_int_equal(receive_str(&c->u, "a"), 1);
	/* Enabling the FIFO clears it. */
	uart_write(&c->u, IIR, 0x01);
	assert_int_equal(receive_str(&c->u, "b"), 0);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	assert_int_equal(receive_str(&c->u, "bcd"), 3);
	/* Rewriting the same enable bit does not. */
	uart_write(&c->u, IIR, 0xc1);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	/* Disabling it does. */
	uart_write(&c->u, IIR, 0x00);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	assert_int_equal(receive_str(&c->u, "zz"), 1);
	assert_int_equal(uart_read(&c->u, RBR), 'z');
}

static void test_overrun(void **state)
{
	struct ctx *c = *state;

	/* Only loopback can overrun: host input stops when the FIFO is full. */
	uart_write(&c->u, MCR, 0x10);
	uart_write(&c->u, IER, 0x04);
	uart_write(&c->u, RBR, 'a');
	assert_false(c->f.level);
	uart_write(&c->u, RBR, 'b');
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x06);
	/* IIR does not acknowledge it, reading LSR does. */
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, LSR), 0x63);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	/* Without FIFO the newer character overwrote the holding register. */
	assert_int_equal(uart_read(&c->u, RBR), 'b');
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
	assert_int_equal(c->f.nr_tx, 0);
}

static void test_overrun_fifo(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, IIR, 0x01);
	uart_write(&c->u, MCR, 0x10);
	for (unsigned int i = 0; i < UART_FIFO_SIZE; i++)
		uart_write(&c->u, RBR, (uint8_t)('a' + i));
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	uart_write(&c->u, RBR, 'z');
	assert_int_equal(uart_read(&c->u, LSR), 0x63);
	assert_int_equal(uart_read(&c->u, LSR), 0x61);
	/* Without IER.RLSI no interrupt. */
	uart_write(&c->u, RBR, 'z');
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0xc1);
	for (unsigned int i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(uart_read(&c->u, RBR), 'a' + i);
	assert_int_equal(uart_read(&c->u, LSR), 0x62);
	assert_int_equal(uart_read(&c->u, LSR), 0x60);
}

static void test_loopback_data(void **state)
{
	struct ctx *c = *state;
	unsigned int before;

	uart_read(&c->u, LSR);
	assert_int_equal(c->f.rx_ready, 1);
	uart_write(&c->u, MCR, 0x10);
	uart_write(&c->u, IER, 0x01);
	uart_write(&c->u, RBR, 'x');
	assert_int_equal(c->f.nr_tx, 0);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x04);
	/* The receiver is cut off from the host. */
	assert_int_equal(receive_str(&c->u, "h"), 0);
	assert_int_equal(uart_read(&c->u, RBR), 'x');
	assert_false(c->f.level);
	assert_int_equal(receive_str(&c->u, "h"), 0);

	/* Leaving loopback reconnects it and says so. */
	before = c->f.rx_ready;
	uart_write(&c->u, MCR, 0x00);
	assert_int_equal(c->f.rx_ready, before + 1);
	assert_int_equal(receive_str(&c->u, "h"), 1);
	uart_write(&c->u, RBR, 'y');
	assert_int_equal(c->f.nr_tx, 1);
	assert_int_equal(c->f.tx[0], 'y');
	assert_int_equal(uart_read(&c->u, RBR), 'h');
}

static void test_loopback_msr(void **state)
{
	static const struct {
		uint8_t mcr;
		uint8_t lines;
	} cases[] = {
		{ 0x10, 0x00 }, { 0x12, 0x10 }, { 0x11, 0x20 }, { 0x14, 0x40 },
		{ 0x18, 0x80 }, { 0x1f, 0xf0 }, { 0x1a, 0x90 }, { 0x15, 0x60 },
	};
	struct ctx *c = *state;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uart_write(&c->u, MCR, cases[i].mcr);
		assert_int_equal(uart_read(&c->u, MSR) & 0xf0, cases[i].lines);
		assert_int_equal(uart_read(&c->u, MCR), cases[i].mcr);
	}
	/* Out of loopback: the peer is back. */
	uart_write(&c->u, MCR, 0x03);
	assert_int_equal(uart_read(&c->u, MSR) & 0xf0, 0xb0);
}

static void test_msr_deltas(void **state)
{
	struct ctx *c = *state;

	/* Loopback with all outputs low: CTS, DSR and DCD fall. */
	uart_write(&c->u, MCR, 0x10);
	assert_false(c->f.level);
	uart_write(&c->u, IER, 0x08);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x00);
	assert_int_equal(uart_read(&c->u, MSR), 0x0b);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, MSR), 0x00);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);

	/* RI rising is not a change to report, RI falling is (TERI). */
	uart_write(&c->u, MCR, 0x14);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, MSR), 0x40);
	uart_write(&c->u, MCR, 0x10);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, MSR), 0x04);
	assert_false(c->f.level);

	/* Each line has its own delta bit. */
	uart_write(&c->u, MCR, 0x12);
	assert_int_equal(uart_read(&c->u, MSR), 0x11);
	uart_write(&c->u, MCR, 0x13);
	assert_int_equal(uart_read(&c->u, MSR), 0x32);
	uart_write(&c->u, MCR, 0x1b);
	assert_int_equal(uart_read(&c->u, MSR), 0xb8);
	/* Deltas accumulate until read. */
	uart_write(&c->u, MCR, 0x10);
	uart_write(&c->u, MCR, 0x1b);
	assert_int_equal(uart_read(&c->u, MSR), 0xbb);
	/* Leaving loopback with the same levels changes nothing. */
	uart_write(&c->u, MCR, 0x0b);
	assert_int_equal(uart_read(&c->u, MSR), 0xb0);
	assert_false(c->f.level);

	/* Masked, the deltas raise nothing. */
	uart_write(&c->u, IER, 0x00);
	uart_write(&c->u, MCR, 0x10);
	assert_false(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_int_equal(uart_read(&c->u, MSR), 0x0b);
}

/* RLS > RDI > THRI > MSI, each acknowledged in turn. */
static void test_priority(void **state)
{
	struct ctx *c = *state;

	uart_write(&c->u, MCR, 0x10); /* MSR deltas pending */
	uart_write(&c->u, RBR, 'a');  /* THRI latched, data received */
	uart_write(&c->u, RBR, 'b');  /* overrun */
	assert_false(c->f.level);
	uart_write(&c->u, IER, 0x0f);
	assert_true(c->f.level);

	assert_int_equal(uart_read(&c->u, IIR), 0x06);
	assert_int_equal(uart_read(&c->u, IIR), 0x06);
	assert_int_equal(uart_read(&c->u, LSR) & 0x03, 0x03);
	assert_int_equal(uart_read(&c->u, IIR), 0x04);
	assert_int_equal(uart_read(&c->u, RBR), 'b');
	assert_int_equal(uart_read(&c->u, IIR), 0x02);
	assert_int_equal(uart_read(&c->u, IIR), 0x00);
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, MSR), 0x0b);
	assert_int_equal(uart_read(&c->u, IIR), 0x01);
	assert_false(c->f.level);
	assert_int_equal(c->f.irq_calls, 2);
}

/* A lower-priority source is not lost while a higher one is reported. */
static void test_priority_thri_kept(void **state)
{
	struct ctx *c = *state;

	uart_read(&c->u, LSR);
	uart_write(&c->u, IER, 0x03);
	assert_int_equal(receive_str(&c->u, "k"), 1);
	/* RDI hides THRI; reading IIR then must not acknowledge THRI. */
	assert_int_equal(uart_read(&c->u, IIR), 0x04);
	assert_int_equal(uart_read(&c->u, RBR), 'k');
	assert_true(c->f.level);
	assert_int_equal(uart_read(&c->u, IIR), 0x02);
	assert_false(c->f.level);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_divisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_masks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thr_transmits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thri_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_refused_until_lsr_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_refused_until_rbr_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_refused_until_rdi_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_without_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo_16, setup, teardown),
		cmocka_unit_test(test_rx_trigger_levels),
		cmocka_unit_test_setup_teardown(test_fifo_clear_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_toggle_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msr_deltas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_thri_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
