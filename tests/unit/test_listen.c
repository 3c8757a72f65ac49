// SPDX-License-Identifier: MIT
/*
 * Unit tests for the listening sockets of -gdb, -qmp and -monitor
 * (vmm/listen.c): the address parser with its exact messages, a unix socket
 * (a stale one replaced, anything else left alone, removed at the end) and a
 * loopback tcp one on port 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "listen.h"

#define GDB_FLAGS (LISTEN_PORT_ALONE | LISTEN_NAME_ADDR)

/* @addr must fail to parse with -EINVAL and exactly the message @msg. */
static void parse_fails(const char *addr, unsigned int flags, const char *msg)
{
	struct listen_endpoint ep;

	err_clear();
	assert_int_equal(listen_endpoint_parse(&ep, addr, flags), -EINVAL);
	assert_string_equal(err_msg(EINVAL), msg);
}

static void test_parse(void **state)
{
	struct listen_endpoint ep;

	(void)state;
	assert_int_equal(listen_endpoint_parse(&ep, "unix:/tmp/q.sock", 0), 0);
	assert_true(ep.is_unix);
	assert_string_equal(ep.path, "/tmp/q.sock");

	/* No host: the loopback, never every interface. */
	assert_int_equal(listen_endpoint_parse(&ep, "tcp::4444", 0), 0);
	assert_false(ep.is_unix);
	assert_string_equal(ep.host, "127.0.0.1");
	assert_string_equal(ep.port, "4444");
	assert_int_equal(listen_endpoint_parse(&ep, "tcp:localhost:65535", 0), 0);
	assert_string_equal(ep.host, "localhost");
	assert_string_equal(ep.port, "65535");
	assert_int_equal(listen_endpoint_parse(&ep, "tcp:[::1]:0", 0), 0);
	assert_string_equal(ep.host, "::1");
	assert_string_equal(ep.port, "0");
	assert_int_equal(listen_endpoint_parse(&ep, "tcp:0.0.0.0:1234", 0), 0);
	assert_string_equal(ep.host, "0.0.0.0");

	/* -gdb's "tcp:PORT"; -qmp and -monitor want the ':'. */
	assert_int_equal(listen_endpoint_parse(&ep, "tcp:1234", LISTEN_PORT_ALONE), 0);
	assert_string_equal(ep.host, "127.0.0.1");
	assert_string_equal(ep.port, "1234");
	parse_fails("tcp:1234", 0, "expected tcp:[HOST]:PORT");
}

static void test_parse_errors(void **state)
{
	char long_host[300], long_addr[320], long_path[120], msg[400];

	(void)state;
	parse_fails("tcp:", 0, "expected tcp:[HOST]:PORT");
	parse_fails("tcp:127.0.0.1:", 0, "'' is not a port number, 0-65535");
	parse_fails("tcp::65536", 0, "'65536' is not a port number, 0-65535");
	parse_fails("tcp::99999", 0, "'99999' is not a port number, 0-65535");
	parse_fails("tcp::1234567", 0, "'1234567' is not a port number, 0-65535");
	parse_fails("tcp::-1", 0, "'-1' is not a port number, 0-65535");
	parse_fails("tcp::12a", 0, "'12a' is not a port number, 0-65535");
	parse_fails("tcp:abc", GDB_FLAGS,
		    "'abc' is not a port number, 0-65535 (expected tcp:[HOST]:PORT)");
	parse_fails("tcp:", GDB_FLAGS,
		    "'' is not a port number, 0-65535 (expected tcp:[HOST]:PORT)");
	parse_fails("unix:", 0, "bad unix socket path ''");
	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = 0;
	snprintf(long_addr, sizeof(long_addr), "unix:%s", long_path);
	snprintf(msg, sizeof(msg), "bad unix socket path '%s'", long_path);
	parse_fails(long_addr, 0, msg);
	parse_fails("udp::1", 0,
		    "unknown address 'udp::1' (expected tcp:[HOST]:PORT or unix:PATH)");
	parse_fails("1234", GDB_FLAGS,
		    "unknown address '1234' (expected tcp:[HOST]:PORT or unix:PATH)");

	memset(long_host, 'h', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = 0;
	snprintf(long_addr, sizeof(long_addr), "tcp:%s:1", long_host);
	parse_fails(long_addr, 0, "host name too long");
	snprintf(msg, sizeof(msg), "host name too long in '%s:1'", long_host);
	parse_fails(long_addr, GDB_FLAGS, msg);
}

static void assert_cloexec_nonblock(int fd)
{
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_unix(void **state)
{
	char dir[] = "/tmp/listentest.XXXXXX", path[64], addr[80], msg[160];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct listen_endpoint ep;
	struct stat st;
	int fd, c, a, stale;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	assert_int_equal(listen_endpoint_parse(&ep, addr, 0), 0);

	/* A socket an earlier run left behind (bound, closed, never unlinked) is replaced. */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);
	fd = listen_open(&ep, 8);
	assert_true(fd >= 0);
	assert_cloexec_nonblock(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	/* Nobody there yet; then a client, non-blocking as asked. */
	assert_int_equal(listen_accept(fd, SOCK_NONBLOCK), -EAGAIN);
	c = connect_unix(path);
	a = listen_accept(fd, SOCK_NONBLOCK);
	assert_true(a >= 0);
	assert_cloexec_nonblock(a);
	assert_int_equal(write(c, "x", 1), 1);
	assert_int_equal(read(a, msg, sizeof(msg)), 1);
	close(a);
	close(c);
	c = connect_unix(path);
	a = listen_accept(fd, 0);
	assert_true(a >= 0);
	assert_false(fcntl(a, F_GETFL) & O_NONBLOCK);
	close(a);
	close(c);

	/* Closing removes the socket. */
	listen_close(&ep, fd);
	assert_int_equal(access(path, F_OK), -1);

	/* A file that is not a socket is never removed: bind() fails on it. */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	err_clear();
	assert_int_equal(listen_open(&ep, 8), -EADDRINUSE);
	snprintf(msg, sizeof(msg), "cannot listen: %s", strerror(EADDRINUSE));
	assert_string_equal(err_msg(EADDRINUSE), msg);
	assert_int_equal(listen_endpoint_parse(&ep, addr, GDB_FLAGS), 0);
	assert_int_equal(listen_open(&ep, 1), -EADDRINUSE);
	snprintf(msg, sizeof(msg), "cannot listen on unix:%s: %s", path, strerror(EADDRINUSE));
	assert_string_equal(err_msg(EADDRINUSE), msg);
	listen_close(&ep, -1); /* nothing opened: the file stays */
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* No such directory. */
	snprintf(addr, sizeof(addr), "unix:%s/no/sock", dir);
	assert_int_equal(listen_endpoint_parse(&ep, addr, 0), 0);
	assert_int_equal(listen_open(&ep, 8), -ENOENT);
	assert_int_equal(rmdir(dir), 0);
}

static void test_tcp(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct listen_endpoint ep, busy;
	char addr[32], msg[160];
	int fd, c, a, one = 0;
	unsigned int port;

	(void)state;
	assert_int_equal(listen_endpoint_parse(&ep, "tcp::0", 0), 0);
	fd = listen_open(&ep, 8);
	assert_true(fd >= 0);
	assert_cloexec_nonblock(fd);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), INADDR_LOOPBACK);
	port = ntohs(sin.sin_port);
	assert_true(port > 0);

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	a = listen_accept(fd, SOCK_NONBLOCK);
	assert_true(a >= 0);
	len = sizeof(one);
	assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, &len), 0);
	assert_true(one);
	close(a);
	close(c);

	/* The port is taken: both spellings of the message. */
	snprintf(addr, sizeof(addr), "tcp::%u", port);
	assert_int_equal(listen_endpoint_parse(&busy, addr, 0), 0);
	assert_int_equal(listen_open(&busy, 8), -EADDRINUSE);
	snprintf(msg, sizeof(msg), "cannot listen on 127.0.0.1:%u: %s", port, strerror(EADDRINUSE));
	assert_string_equal(err_msg(EADDRINUSE), msg);
	snprintf(addr, sizeof(addr), "tcp:%u", port);
	assert_int_equal(listen_endpoint_parse(&busy, addr, GDB_FLAGS), 0);
	assert_int_equal(listen_open(&busy, 1), -EADDRINUSE);
	snprintf(msg, sizeof(msg), "cannot listen on tcp:127.0.0.1:%u: %s", port,
		 strerror(EADDRINUSE));
	assert_string_equal(err_msg(EADDRINUSE), msg);
	listen_close(&ep, fd);

	/* Closed: the port can be had again at once. */
	assert_int_equal(listen_endpoint_parse(&ep, addr, GDB_FLAGS), 0);
	fd = listen_open(&ep, 1);
	assert_true(fd >= 0);
	listen_close(&ep, fd);

	assert_int_equal(listen_endpoint_parse(&ep, "tcp:no.such.host.invalid:1234", 0), 0);
	assert_int_equal(listen_open(&ep, 8), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "cannot resolve 'no.such.host.invalid': "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
