/* SPDX-License-Identifier: MIT */
/*
 * The I/O thread's event loop (epoll).  Device back ends and the console run
 * their fd work here, off the vCPU threads.
 */
#ifndef KVMINI_EVENT_LOOP_H
#define KVMINI_EVENT_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*event_fn)(void *opaque, uint32_t events);

struct event_source;

struct event_loop {
	int epfd;
	int wake_fd; /* eventfd: event_loop_stop() from any thread */
	atomic_bool stopping;
	struct event_source *sources;
	struct event_source *dead; /* removed during a batch, freed after it */
};

int event_loop_init(struct event_loop *el);
void event_loop_destroy(struct event_loop *el);

/* Watch @fd for @events (EPOLLIN...).  0 or -errno (-EPERM: fd not pollable). */
int event_loop_add(struct event_loop *el, int fd, uint32_t events, event_fn fn, void *opaque);
/* Watch @fd, added before, for @events instead (0: nothing for now).  0 or -errno. */
int event_loop_mod(struct event_loop *el, int fd, uint32_t events);
int event_loop_del(struct event_loop *el, int fd);

/* Wait up to @timeout_ms (-1: forever) and handle one batch.  Events handled, or -errno. */
int event_loop_poll(struct event_loop *el, int timeout_ms);
/* Run until event_loop_stop().  0 or -errno. */
int event_loop_run(struct event_loop *el);
/* Thread-safe and async-signal-safe. */
void event_loop_stop(struct event_loop *el);

#endif
