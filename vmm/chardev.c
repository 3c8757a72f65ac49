// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chardev.h"
#include "error.h"
#include "event_loop.h"
#include "term.h"
#include "util.h"

#define CTRL_A 0x01

static const char escape_help[] = "\n"
				  "C-a h    print this help\n"
				  "C-a x    exit kvmini\n"
				  "C-a c    switch between console and monitor\n"
				  "C-a C-a  send C-a to the guest\n";

enum escape_action escape_feed(bool *armed, uint8_t c, uint8_t *out)
{
	if (!*armed) {
		if (c == CTRL_A) {
			*armed = true;
			return ESC_NONE;
		}
		*out = c;
		return ESC_PASS;
	}
	*armed = false;
	switch (c) {
	case CTRL_A:
		*out = c;
		return ESC_PASS;
	case 'x':
	case 'X':
		return ESC_QUIT;
	case 'c':
	case 'C':
		return ESC_MONITOR;
	case 'h':
	case 'H':
	case '?':
		return ESC_HELP;
	default:
		return ESC_NONE;
	}
}

static void chardev_init(struct chardev *c)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = -1;
	c->out_fd = -1;
	c->room_fd = -1;
}

void chardev_open_null(struct chardev *c)
{
	chardev_init(c);
}

int chardev_open_file(struct chardev *c, const char *path)
{
	chardev_init(c);
	c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->out_fd < 0)
		return -errno;
	c->own_out = true;
	return 0;
}

int chardev_open_stdio(struct chardev *c, struct event_loop *el, bool escapes,
		       const struct chardev_hooks *hooks)
{
	chardev_init(c);
	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	c->el = el;
	c->escapes = escapes;
	c->hooks = *hooks;
	if (isatty(STDIN_FILENO)) {
		int ret = term_raw(STDIN_FILENO);

		if (ret)
			return err_set(-ret, "cannot put the terminal into raw mode: %s",
				       strerror(-ret));
	}
	return 0;
}

void chardev_write(struct chardev *c, const void *buf, size_t len)
{
	/* A closed or full output must not stop the guest: the bytes are dropped. */
	if (c->out_fd >= 0)
		write_full(c->out_fd, buf, len);
}

void chardev_room(struct chardev *c)
{
	uint64_t one = 1;

	if (c->room_fd >= 0 && write(c->room_fd, &one, sizeof(one)) < 0) {
		/* Counter saturated: a wake-up is pending anyway. */
	}
}

static void chardev_watch(struct chardev *c, bool on);

/* Turn raw input into bytes for the guest, acting on escapes. */
static void chardev_process(struct chardev *c, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t out;
		enum escape_action a = ESC_PASS;

		if (c->escapes)
			a = escape_feed(&c->escape_armed, buf[i], &out);
		else
			out = buf[i];
		switch (a) {
		case ESC_PASS:
			if (c->to_monitor)
				c->hooks.monitor_input(c->hooks.opaque, &out, 1);
			else
				c->pending[c->pending_len++] = out;
			break;
		case ESC_MONITOR:
			if (c->hooks.monitor_mode) {
				c->to_monitor = !c->to_monitor;
				c->hooks.monitor_mode(c->hooks.opaque, c->to_monitor);
			}
			break;
		case ESC_QUIT:
			if (c->hooks.quit)
				c->hooks.quit(c->hooks.opaque);
			break;
		case ESC_HELP:
			chardev_write(c, escape_help, sizeof(escape_help) - 1);
			break;
		case ESC_NONE:
			break;
		}
	}
}

/* Read one buffer of input.  false on end of input. */
static bool chardev_read_input(struct chardev *c)
{
	uint8_t buf[CHARDEV_BUF];
	ssize_t n;

	do {
		n = read(c->in_fd, buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n <= 0) {
		c->in_eof = true;
		return false;
	}
	c->pending_off = 0;
	c->pending_len = 0;
	chardev_process(c, buf, (size_t)n);
	return true;
}

/* Hand pending input to the front end; read more while it takes everything. */
static void chardev_pump(struct chardev *c)
{
	for (;;) {
		while (c->pending_len) {
			size_t n = c->fe.receive(c->fe.opaque, c->pending + c->pending_off,
						 c->pending_len);

			if (!n) {
				/* Full: wait for chardev_room() before reading more. */
				chardev_watch(c, false);
				return;
			}
			c->pending_off += n;
			c->pending_len -= n;
		}
		if (c->in_eof || c->in_fd < 0) {
			chardev_watch(c, false);
			return;
		}
		if (c->in_pollable) {
			chardev_watch(c, true);
			return;
		}
		/* Regular files and /dev/null cannot be polled; they never block. */
		if (!chardev_read_input(c))
			return;
	}
}

static void chardev_input_event(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;

	(void)events;
	chardev_read_input(c);
	chardev_pump(c);
}

static void chardev_room_event(void *opaque, uint32_t events)
{
	struct chardev *c = opaque;
	uint64_t v;

	(void)events;
	if (read(c->room_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	chardev_pump(c);
}

static void chardev_watch(struct chardev *c, bool on)
{
	if (!c->in_pollable || on == c->in_watched)
		return;
	if (on) {
		if (event_loop_add(c->el, c->in_fd, EPOLLIN, chardev_input_event, c))
			return;
	} else {
		event_loop_del(c->el, c->in_fd);
	}
	c->in_watched = on;
}

int chardev_attach(struct chardev *c, const struct chardev_frontend *fe)
{
	int ret;

	c->fe = *fe;
	if (c->in_fd < 0)
		return 0;
	c->room_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->room_fd < 0)
		return err_set(errno, "eventfd: %s", strerror(errno));
	ret = event_loop_add(c->el, c->room_fd, EPOLLIN, chardev_room_event, c);
	if (ret)
		return err_set(-ret, "event loop: %s", strerror(-ret));
	/* Probe: epoll refuses regular files (EPERM); those are read directly. */
	ret = event_loop_add(c->el, c->in_fd, EPOLLIN, chardev_input_event, c);
	if (ret == 0) {
		c->in_pollable = true;
		c->in_watched = true;
		return 0;
	}
	if (ret != -EPERM)
		return err_set(-ret, "cannot watch standard input: %s", strerror(-ret));
	chardev_pump(c);
	return 0;
}

void chardev_close(struct chardev *c)
{
	if (c->el) {
		chardev_watch(c, false);
		if (c->room_fd >= 0)
			event_loop_del(c->el, c->room_fd);
	}
	if (c->room_fd >= 0)
		close(c->room_fd);
	if (c->own_out && c->out_fd >= 0)
		close(c->out_fd);
	if (c->in_fd == STDIN_FILENO)
		term_restore();
	chardev_init(c);
}
