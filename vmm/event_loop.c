// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "event_loop.h"

struct event_source {
	int fd;
	event_fn fn;
	void *opaque;
	struct event_source *next;
};

int event_loop_init(struct event_loop *el)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	el->sources = NULL;
	el->dead = NULL;
	el->stopping = false;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0)
		return -errno;
	el->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->wake_fd < 0 || epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->wake_fd, &ev)) {
		int ret = -errno;

		event_loop_destroy(el);
		return ret;
	}
	return 0;
}

static void free_sources(struct event_source **list)
{
	while (*list) {
		struct event_source *s = *list;

		*list = s->next;
		free(s);
	}
}

void event_loop_destroy(struct event_loop *el)
{
	free_sources(&el->sources);
	free_sources(&el->dead);
	if (el->wake_fd >= 0)
		close(el->wake_fd);
	if (el->epfd >= 0)
		close(el->epfd);
	el->wake_fd = el->epfd = -1;
}

int event_loop_add(struct event_loop *el, int fd, uint32_t events, event_fn fn, void *opaque)
{
	struct event_source *s = malloc(sizeof(*s));
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOMEM;
	*s = (struct event_source){ fd, fn, opaque, el->sources };
	ev.data.ptr = s;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int ret = -errno;

		free(s);
		return ret;
	}
	el->sources = s;
	return 0;
}

int event_loop_mod(struct event_loop *el, int fd, uint32_t events)
{
	for (struct event_source *s = el->sources; s; s = s->next) {
		struct epoll_event ev = { .events = events, .data.ptr = s };

		if (s->fd == fd)
			return epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
	}
	return -ENOENT;
}

int event_loop_del(struct event_loop *el, int fd)
{
	for (struct event_source **p = &el->sources; *p; p = &(*p)->next) {
		struct event_source *s = *p;

		if (s->fd != fd)
			continue;
		epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL);
		*p = s->next;
		/* It may still be in the current epoll batch: free it after the batch. */
		s->fn = NULL;
		s->next = el->dead;
		el->dead = s;
		return 0;
	}
	return -ENOENT;
}

int event_loop_poll(struct event_loop *el, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(el->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !el->stopping; i++) {
		struct event_source *s = evs[i].data.ptr;

		if (!s) {
			uint64_t v;

			if (read(el->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			continue;
		}
		if (s->fn)
			s->fn(s->opaque, evs[i].events);
	}
	free_sources(&el->dead);
	return n;
}

int event_loop_run(struct event_loop *el)
{
	while (!el->stopping) {
		int ret = event_loop_poll(el, -1);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void event_loop_stop(struct event_loop *el)
{
	uint64_t one = 1;

	el->stopping = true;
	if (write(el->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter is full: the loop is being woken anyway. */
	}
}
