/* SPDX-License-Identifier: MIT */
/*
 * Character back ends for serial ports: stdio (with the QEMU-style Ctrl-A
 * escapes and raw terminal mode), an output file, or nothing.  Input is read
 * on the event loop and handed to the front end (a UART) only as fast as it
 * takes it: the rest waits here, never queued without bound.
 */
#ifndef KVMINI_CHARDEV_H
#define KVMINI_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;

struct chardev_frontend {
	/* Take up to @len bytes; return how many were taken. */
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

/* What the stdio console asks of the rest of kvmini. */
struct chardev_hooks {
	void (*quit)(void *opaque); /* Ctrl-A x */
	/* Ctrl-A c switched the input to the monitor (@on) or back to the guest; NULL: no monitor. */
	void (*monitor_mode)(void *opaque, bool on);
	void (*monitor_input)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

#define CHARDEV_BUF 256

struct chardev {
	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output discarded */
	bool own_out;
	bool escapes;
	bool in_watched;
	bool in_pollable;
	bool in_eof;
	bool escape_armed; /* last input byte was Ctrl-A */
	bool to_monitor;   /* input goes to hooks.monitor_input, not the front end */
	int room_fd;	   /* eventfd: the front end has room again */
	struct event_loop *el;
	struct chardev_frontend fe;
	struct chardev_hooks hooks;
	uint8_t pending[CHARDEV_BUF];
	size_t pending_off, pending_len;
};

/* stdin/stdout; @escapes enables the Ctrl-A commands. */
int chardev_open_stdio(struct chardev *c, struct event_loop *el, bool escapes,
		       const struct chardev_hooks *hooks);
/* Output to a file created or truncated at @path, no input. */
int chardev_open_file(struct chardev *c, const char *path);
void chardev_open_null(struct chardev *c);

/* Connect the front end and start reading input (if any). */
int chardev_attach(struct chardev *c, const struct chardev_frontend *fe);
void chardev_close(struct chardev *c);

/* Output from the guest.  Callable from any thread. */
void chardev_write(struct chardev *c, const void *buf, size_t len);
/* The front end has room again.  Callable from any thread. */
void chardev_room(struct chardev *c);

enum escape_action {
	ESC_NONE,    /* byte consumed (Ctrl-A armed, or an unknown command) */
	ESC_PASS,    /* pass *out to the guest */
	ESC_QUIT,    /* Ctrl-A x */
	ESC_HELP,    /* Ctrl-A h */
	ESC_MONITOR, /* Ctrl-A c */
};

/* The Ctrl-A state machine, one input byte at a time. */
enum escape_action escape_feed(bool *armed, uint8_t c, uint8_t *out);

#endif
