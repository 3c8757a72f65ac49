// SPDX-License-Identifier: MIT
/* COM1 by polling, and a small printf. */
#include "guest.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define IER_ERBFI 0x01 /* receive data available interrupt */
#define LCR_8N1	  0x03
#define MCR_DTR	  0x01
#define MCR_RTS	  0x02
#define MCR_OUT2  0x08 /* gates the IRQ line on PC UARTs */
#define LSR_DR	  0x01
#define LSR_THRE  0x20

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0);
	outb(COM1_PORT + UART_LCR, LCR_8N1);
	outb(COM1_PORT + UART_MCR, MCR_DTR | MCR_RTS);
}

void serial_enable_rx_irq(void)
{
	outb(COM1_PORT + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	outb(COM1_PORT + UART_IER, IER_ERBFI);
}

void serial_putc(char c)
{
	while (!(inb(COM1_PORT + UART_LSR) & LSR_THRE))
		cpu_pause();
	outb(COM1_PORT + UART_THR, c);
}

int serial_getc_nowait(void)
{
	if (!(inb(COM1_PORT + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1_PORT + UART_RBR);
}

void console_write(const char *s, size_t len)
{
	while (len--)
		serial_putc(*s++);
}

void console_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* Where formatted output goes: the console or a buffer. */
struct sink {
	bool console;
	char *buf;
	size_t size;
	size_t count;
};

static void sink_putc(struct sink *o, char c)
{
	if (o->console)
		serial_putc(c);
	else if (o->count + 1 < o->size)
		o->buf[o->count] = c;
	o->count++;
}

static void sink_pad(struct sink *o, char c, int n)
{
	while (n-- > 0)
		sink_putc(o, c);
}

static void format(struct sink *o, const char *fmt, va_list ap)
{
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";

	for (; *fmt; fmt++) {
		char digits[24], sign = 0, pad = ' ';
		const char *s, *prefix = "", *dig = lower;
		bool left = false, alt = false, is_signed = false;
		int width = 0, prec = -1, lng = 0, len;
		unsigned int base = 10;
		unsigned long long v;

		if (*fmt != '%') {
			sink_putc(o, *fmt);
			continue;
		}
		for (fmt++;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;

		switch (*fmt) {
		case '\0':
			return;
		case 'c':
			sink_pad(o, ' ', left ? 0 : width - 1);
			sink_putc(o, (char)va_arg(ap, int));
			sink_pad(o, ' ', left ? width - 1 : 0);
			continue;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (len = 0; s[len] && (prec < 0 || len < prec); len++)
				;
			sink_pad(o, ' ', left ? 0 : width - len);
			for (int k = 0; k < len; k++)
				sink_putc(o, s[k]);
			sink_pad(o, ' ', left ? width - len : 0);
			continue;
		case 'p':
			lng = 1;
			alt = true;
			base = 16;
			break;
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'X':
			dig = upper;
			/* fall through */
		case 'x':
			base = 16;
			break;
		default: /* "%%" and anything unknown: print it */
			sink_putc(o, *fmt);
			continue;
		}

		if (is_signed) {
			long long sv;

			if (lng >= 2)
				sv = va_arg(ap, long long);
			else if (lng == 1)
				sv = va_arg(ap, long);
			else
				sv = va_arg(ap, int);

			if (sv < 0) {
				sign = '-';
				v = -(unsigned long long)sv;
			} else {
				v = sv;
			}
		} else {
			if (lng >= 2)
				v = va_arg(ap, unsigned long long);
			else if (lng == 1)
				v = va_arg(ap, unsigned long);
			else
				v = va_arg(ap, unsigned int);
		}
		if (alt && base == 16 && (v || *fmt == 'p'))
			prefix = dig == upper ? "0X" : "0x";

		len = 0;
		do {
			digits[len++] = dig[v % base];
			v /= base;
		} while (v);
		width -= len + (sign != 0) + strlen(prefix);
		if (!left && pad == ' ')
			sink_pad(o, ' ', width);
		if (sign)
			sink_putc(o, sign);
		while (*prefix)
			sink_putc(o, *prefix++);
		if (!left && pad == '0')
			sink_pad(o, '0', width);
		while (len)
			sink_putc(o, digits[--len]);
		if (left)
			sink_pad(o, ' ', width);
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink o = { .console = true };

	format(&o, fmt, ap);
	return o.count;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink o = { .buf = buf, .size = size };

	format(&o, fmt, ap);
	if (size)
		buf[o.count < size ? o.count : size - 1] = '\0';
	return o.count;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
