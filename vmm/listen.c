// SPDX-License-Identifier: MIT
/*
 * Listening sockets for -gdb, -qmp and -monitor: one parser for their
 * addresses, one way to open, accept on and close them.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "listen.h"

_Static_assert(LISTEN_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "LISTEN_PATH_MAX is sun_path's size");

/* "[HOST]:PORT", or "PORT" with LISTEN_PORT_ALONE. */
static int parse_tcp(struct listen_endpoint *ep, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	const char *port = spec;

	strcpy(ep->host, "127.0.0.1");
	if (!colon && !(ep->flags & LISTEN_PORT_ALONE))
		return err_set(EINVAL, "expected tcp:[HOST]:PORT");
	if (colon) {
		size_t hl = (size_t)(colon - spec);

		port = colon + 1;
		if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
			spec++;
			hl -= 2;
		}
		if (hl >= sizeof(ep->host)) {
			if (ep->flags & LISTEN_NAME_ADDR)
				return err_set(EINVAL, "host name too long in '%s'", spec);
			return err_set(EINVAL, "host name too long");
		}
		if (hl) {
			memcpy(ep->host, spec, hl);
			ep->host[hl] = 0;
		}
	}
	/* getaddrinfo() would take 99999 and listen on 99999 mod 65536.  0: any free port. */
	if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    atoi(port) > 65535)
		return err_set(EINVAL, "'%s' is not a port number, 0-65535%s", port,
			       ep->flags & LISTEN_PORT_ALONE ? " (expected tcp:[HOST]:PORT)" : "");
	strcpy(ep->port, port);
	return 0;
}

int listen_endpoint_parse(struct listen_endpoint *ep, const char *addr, unsigned int flags)
{
	*ep = (struct listen_endpoint){ .flags = flags };
	if (!strncmp(addr, "tcp:", 4))
		return parse_tcp(ep, addr + 4);
	if (strncmp(addr, "unix:", 5))
		return err_set(EINVAL,
			       "unknown address '%s' (expected tcp:[HOST]:PORT or unix:PATH)",
			       addr);
	addr += 5;
	if (!*addr || strlen(addr) >= sizeof(ep->path))
		return err_set(EINVAL, "bad unix socket path '%s'", addr);
	strcpy(ep->path, addr);
	ep->is_unix = true;
	return 0;
}

static int open_unix(const struct listen_endpoint *ep, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	strcpy(sa.sun_path, ep->path);
	/* A socket left behind by an earlier run would make bind() fail. */
	if (!stat(ep->path, &st) && S_ISSOCK(st.st_mode))
		unlink(ep->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(errno, "socket: %s", strerror(errno));
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(fd, backlog))
		return fd;
	e = errno;
	close(fd);
	if (ep->flags & LISTEN_NAME_ADDR)
		return err_set(e, "cannot listen on unix:%s: %s", ep->path, strerror(e));
	return err_set(e, "cannot listen: %s", strerror(e));
}

static int open_tcp(const struct listen_endpoint *ep, int backlog)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai, *a;
	int fd = -1, e = EINVAL, one = 1, ret;

	ret = getaddrinfo(ep->host, ep->port, &hints, &ai);
	if (ret)
		return err_set(EINVAL, "cannot resolve '%s': %s", ep->host, gai_strerror(ret));
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, backlog))
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return err_set(e, "cannot listen on %s%s:%s: %s",
			       ep->flags & LISTEN_NAME_ADDR ? "tcp:" : "", ep->host, ep->port,
			       strerror(e));
	return fd;
}

int listen_open(const struct listen_endpoint *ep, int backlog)
{
	return ep->is_unix ? open_unix(ep, backlog) : open_tcp(ep, backlog);
}

void listen_close(const struct listen_endpoint *ep, int fd)
{
	if (fd < 0)
		return;
	close(fd);
	if (ep->is_unix)
		unlink(ep->path);
}

int listen_accept(int fd, int flags)
{
	int one = 1, conn;

	conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | flags);
	if (conn < 0)
		return -errno;
	/* Replies are small and answer requests: no Nagle delay (fails harmlessly on unix). */
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return conn;
}
