/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets (vmm/listen.c) for the servers on the command line: the
 * gdb stub (-gdb, -s) and the control plane (-qmp, -monitor).  An endpoint is
 * "unix:PATH" or "tcp:[HOST]:PORT"; HOST is a name, an IPv4 or a bracketed
 * IPv6 address and defaults to the loopback (127.0.0.1), PORT is 0-65535 (0:
 * any free port).
 */
#ifndef KVMINI_LISTEN_H
#define KVMINI_LISTEN_H

#include <stdbool.h>

#define LISTEN_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define LISTEN_HOST_MAX 256

/* listen_endpoint_parse() flags. */
enum {
	/*
	 * "tcp:PORT" is "tcp::PORT" (-gdb); without it the ':' is required
	 * (-qmp, -monitor).  A bad port's message then carries the syntax hint.
	 */
	LISTEN_PORT_ALONE = 1u << 0,
	/*
	 * Messages spell out the address ("cannot listen on unix:PATH: ...",
	 * "host name too long in '...'"), for a caller whose prefix does not.
	 */
	LISTEN_NAME_ADDR = 1u << 1,
};

struct listen_endpoint {
	bool is_unix;
	unsigned int flags;
	char path[LISTEN_PATH_MAX]; /* unix */
	char host[LISTEN_HOST_MAX]; /* tcp: without brackets */
	char port[6];		    /* tcp: decimal */
};

/* Parse "unix:PATH" or "tcp:[HOST]:PORT" into @ep.  0 or -EINVAL with err_set(). */
int listen_endpoint_parse(struct listen_endpoint *ep, const char *addr, unsigned int flags);
/*
 * A socket listening on @ep (SOCK_CLOEXEC, SOCK_NONBLOCK; SO_REUSEADDR for
 * tcp).  A unix socket left at the path by an earlier run is replaced, any
 * other file there is not.  The fd, or -errno with err_set().
 */
int listen_open(const struct listen_endpoint *ep, int backlog);
/* Close @fd from listen_open() (nothing if negative) and remove its unix socket. */
void listen_close(const struct listen_endpoint *ep, int fd);
/*
 * accept4() on listening @fd with SOCK_CLOEXEC and @flags (SOCK_NONBLOCK),
 * TCP_NODELAY on a tcp connection.  The fd, or -errno (-EAGAIN: nobody
 * there); no message, callers drop a failed connection silently.
 */
int listen_accept(int fd, int flags);

#endif
