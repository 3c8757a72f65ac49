// SPDX-License-Identifier: MIT
/*
 * Unit tests for the network backends (devices/net/): -netdev parsing and
 * its errors, MAC addresses, the user backend talking DHCP/ARP to a fake
 * NIC on a private event loop, and (as root, in a network namespace of a
 * forked child) the TAP backend both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "event_loop.h"
#include "net.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

#define MAX_FRAMES     32
#define TEST_ETHERTYPE 0x88b5 /* IEEE local experimental: nothing else sends it */

/* The fake NIC: keeps what it receives. */
struct fake_peer {
	bool can_receive;
	unsigned int nr, writable;
	size_t len[MAX_FRAMES];
	uint8_t frame[MAX_FRAMES][2048];
};

static bool peer_can_receive(void *opaque)
{
	return ((struct fake_peer *)opaque)->can_receive;
}

static void peer_receive(void *opaque, const struct iovec *iov, unsigned int iovcnt)
{
	struct fake_peer *p = opaque;
	size_t n = 0;

	if (p->nr == MAX_FRAMES)
		return;
	for (unsigned int i = 0; i < iovcnt; i++) {
		size_t c = iov[i].iov_len < sizeof(p->frame[0]) - n ? iov[i].iov_len
								    : sizeof(p->frame[0]) - n;

		memcpy(p->frame[p->nr] + n, iov[i].iov_base, c);
		n += c;
	}
	p->len[p->nr++] = n;
}

static void peer_writable(void *opaque)
{
	((struct fake_peer *)opaque)->writable++;
}

static const struct net_peer_ops peer_ops = {
	.can_receive = peer_can_receive,
	.receive = peer_receive,
	.writable = peer_writable,
};

struct fixture {
	struct event_loop loop;
	struct fake_peer peer;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || event_loop_init(&fx->loop))
		return -1;
	fx->peer.can_receive = true;
	err_clear();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	event_loop_destroy(&fx->loop);
	free(fx);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef bool (*frame_match)(const uint8_t *f, size_t len, const void *arg);

/* Run the loop until a received frame matches (its index) or @ms pass (-1). */
static int pump_until(struct fixture *fx, frame_match match, const void *arg, int ms)
{
	int64_t end = now_ms() + ms;
	unsigned int seen = 0;

	for (;;) {
		for (; seen < fx->peer.nr; seen++) {
			if (match(fx->peer.frame[seen], fx->peer.len[seen], arg))
				return (int)seen;
		}
		if (now_ms() >= end)
			return -1;
		assert_true(event_loop_poll(&fx->loop, 20) >= 0);
	}
}

/* Expect net_backend_create() to fail with @err and a message containing @msg. */
static void expect_create_error(const char *arg, int err, const char *msg)
{
	struct event_loop loop;
	struct net_backend *nb = (struct net_backend *)1;
	int ret;

	assert_int_equal(event_loop_init(&loop), 0);
	err_clear();
	ret = net_backend_create(&nb, arg, &loop);
	if (ret != -err || !strstr(err_msg(-ret), msg))
		fail_msg("%s: got %d '%s', expected %d '...%s...'", arg, ret, err_msg(-ret), -err,
			 msg);
	assert_null(nb);
	event_loop_destroy(&loop);
}

static void test_parse_mac(void **state)
{
	uint8_t mac[6] = { 0 };

	(void)state;
	assert_int_equal(net_parse_mac("52:54:00:12:34:56", mac), 0);
	assert_memory_equal(mac, guest_mac, 6);
	assert_int_equal(net_parse_mac("02:AB:cd:EF:00:ff", mac), 0);
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[5], 0xff);

	memcpy(mac, guest_mac, 6);
	assert_int_equal(net_parse_mac("52:54:00:12:34", mac), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "six hex pairs"));
	assert_int_equal(net_parse_mac("52:54:00:12:34:567", mac), -EINVAL);
	assert_int_equal(net_parse_mac("", mac), -EINVAL);
	assert_int_equal(net_parse_mac("52:54:00:12:34:5g", mac), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "'g' is not a hex digit"));
	assert_int_equal(net_parse_mac("52-54-00-12-34-56", mac), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "separated by ':'"));
	assert_int_equal(net_parse_mac("525400:12:34:56:78", mac), -EINVAL);
	assert_int_equal(net_parse_mac("01:00:5e:00:00:01", mac), -EINVAL);
	assert_non_null(strstr(err_msg(EINVAL), "multicast"));
	assert_int_equal(net_parse_mac("ff:ff:ff:ff:ff:ff", mac), -EINVAL);
	/* Failures leave @mac alone. */
	assert_memory_equal(mac, guest_mac, 6);
}

static void test_option_errors(void **state)
{
	(void)state;
	expect_create_error("foo,id=n", EINVAL, "unknown netdev type 'foo' (tap or user)");
	expect_create_error("bridge,id=n,br=br0", ENOTSUP,
			    "netdev type 'bridge' is not supported (use tap or user)");
	expect_create_error("vhost-user,id=n", ENOTSUP, "'vhost-user' is not supported");
	expect_create_error("id=n", EINVAL, "type is missing");
	expect_create_error("user", EINVAL, "id= is required");
	expect_create_error("tap,ifname=tap0", EINVAL, "id= is required");
	expect_create_error("user,id=u,foo=1", EINVAL, "parameter 'foo'");
	expect_create_error("user,id=u,id=v", EINVAL, "given twice");
	expect_create_error("tap,id=t,ifname=tap0,script=/etc/qemu-ifup", ENOTSUP,
			    "script=/etc/qemu-ifup is not supported: configure the TAP before "
			    "starting kvmini (script=no)");
	expect_create_error("tap,id=t,ifname=tap0,script=no,downscript=/bin/true", ENOTSUP,
			    "downscript=/bin/true is not supported");
	expect_create_error("tap,id=t,fd=3,ifname=tap0", EINVAL,
			    "fd= and ifname= cannot be used together");
	expect_create_error("tap,id=t,ifname=tap0,vnet_hdr=maybe", EINVAL, "vnet_hdr");
	expect_create_error("tap,id=t,ifname=tap0,queues=4", EINVAL, "parameter 'queues'");
	expect_create_error("tap,id=t,ifname=tap0,hostfwd=tcp::1-:2", EINVAL,
			    "unknown or unsupported parameter 'hostfwd' for tap");
	expect_create_error("tap,id=t,ifname=a-name-too-long-for-linux", EINVAL,
			    "longer than 15 characters");
	expect_create_error("tap,id=t,fd=0", EINVAL, "fd=0: not a TAP file descriptor");
	expect_create_error("tap,id=t,fd=9999", EBADF, "fd=9999: not an open file descriptor");

	expect_create_error("user,id=u,hostfwd=tcp:8022-:22", EINVAL,
			    "hostfwd=tcp:8022-:22: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-"
			    "[GUESTADDR]:GUESTPORT");
	expect_create_error("user,id=u,hostfwd=tcp::8022", EINVAL, "expected [tcp|udp]");
	expect_create_error("user,id=u,hostfwd=sctp::8022-:22", EINVAL,
			    "protocol 'sctp' (tcp or udp)");
	expect_create_error("user,id=u,hostfwd=tcp::70000-:22", EINVAL,
			    "port '70000' is not 1-65535");
	expect_create_error("user,id=u,hostfwd=tcp::8022-:0", EINVAL, "port '0' is not 1-65535");
	expect_create_error("user,id=u,hostfwd=tcp:localhost:8022-:22", EINVAL,
			    "'localhost' is not an IPv4 address");
	expect_create_error("user,id=u,hostfwd=tcp::8022-192.168.1.5:22", EINVAL,
			    "the guest address is not in net=10.0.2.0/24");
	expect_create_error("user,id=u,net=10.0.2.0/33", EINVAL,
			    "net=10.0.2.0/33: expected A.B.C.D/N with N from 8 to 30");
	expect_create_error("user,id=u,net=10.0.2.1/24", EINVAL,
			    "host bits are set (net=10.0.2.0/24?)");
	expect_create_error("user,id=u,net=ten", EINVAL, "'ten' is not an IPv4 address");
	expect_create_error("user,id=u,dns=192.168.1.1", EINVAL,
			    "dns=192.168.1.1 is not in net=10.0.2.0/24");
	expect_create_error("user,id=u,net=192.168.7.0/24,host=10.0.2.2", EINVAL,
			    "host=10.0.2.2 is not in net=192.168.7.0/24");
	expect_create_error("user,id=u,restrict=perhaps", EINVAL, "restrict");
	expect_create_error("user,id=u,net=10.0.2.0/29", EINVAL,
			    "net=10.0.2.0/29 has no room for the default dhcpstart=10.0.2.15 "
			    "(give dhcpstart=)");
}

/* A TCP port on 127.0.0.1 nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
}

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A DHCPDISCOVER from guest_mac: Ethernet, IPv4 0.0.0.0 -> broadcast, UDP 68 -> 67, BOOTP. */
static size_t dhcp_discover(uint8_t *f)
{
	static const uint8_t options[] = { 99, 130, 83, 99, 53, 1, 1, 255 };
	uint8_t *ip = f + 14, *udp = ip + 20, *bootp = udp + 8;
	size_t bootp_len = 236 + sizeof(options) + 52; /* padded to BOOTP's 300 bytes */

	memset(f, 0, 14 + 20 + 8 + bootp_len);
	eth_header(f, broadcast, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + bootp_len));
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)(8 + bootp_len));
	bootp[0] = 1; /* BOOTREQUEST */
	bootp[1] = 1; /* Ethernet */
	bootp[2] = 6;
	memcpy(bootp + 4, "\x12\x34\x56\x78", 4); /* xid */
	memcpy(bootp + 28, guest_mac, 6);
	memcpy(bootp + 236, options, sizeof(options));
	return 14 + 20 + 8 + bootp_len;
}

/* A DHCPOFFER of @arg (an IPv4 address, network order) to guest_mac. */
static bool is_dhcp_offer(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *ip = f + 14, *udp, *bootp, *opt, *end = f + len;

	if (len < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || ip[9] != 17)
		return false;
	udp = ip + (ip[0] & 0xf) * 4;
	bootp = udp + 8;
	if (get16(udp) != 67 || get16(udp + 2) != 68 || bootp[0] != 2 ||
	    memcmp(bootp + 4, "\x12\x34\x56\x78", 4) || memcmp(bootp + 28, guest_mac, 6) ||
	    memcmp(bootp + 16, arg, 4) || memcmp(bootp + 236, "\x63\x82\x53\x63", 4))
		return false;
	for (opt = bootp + 240; opt + 2 < end && opt[0] != 255; opt += opt[0] ? 2 + opt[1] : 1) {
		if (opt[0] == 53)
			return opt[1] == 1 && opt[2] == 2; /* DHCPOFFER */
	}
	return false;
}

/* An ARP request from 10.0.2.15 for @tpa. */
static size_t arp_request(uint8_t *f, const char *tpa)
{
	uint8_t *a = f + 14;

	memset(f, 0, 60);
	eth_header(f, broadcast, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	inet_pton(AF_INET, "10.0.2.15", a + 14);
	inet_pton(AF_INET, tpa, a + 24);
	return 60;
}

/* The ARP reply to guest_mac that @arg (a dotted address) is at some MAC. */
static bool is_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
	struct in_addr spa;

	inet_pton(AF_INET, arg, &spa);
	return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 14 + 6) == 2 &&
	       !memcmp(f, guest_mac, 6) && !memcmp(f + 14 + 14, &spa, 4) &&
	       !memcmp(f + 14 + 18, guest_mac, 6);
}

/* A UDP datagram "hello" from 10.0.2.15:5555 to 10.0.2.2:@port (checksum 0: none). */
static size_t udp_to_host(uint8_t *f, const uint8_t *router_mac, int port)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	memset(f, 0, 14 + 20 + 8 + 5);
	eth_header(f, router_mac, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + 5);
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, "10.0.2.15", ip + 12);
	inet_pton(AF_INET, "10.0.2.2", ip + 16);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, 5555);
	put16(udp + 2, (uint16_t)port);
	put16(udp + 4, 8 + 5);
	memcpy(udp + 8, "hello", 5);
	return 14 + 20 + 8 + 5;
}

/* The answer "world" to udp_to_host(), from 10.0.2.2:*(int *)@arg. */
static bool is_udp_answer(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *ip = f + 14, *udp = ip + 20;
	struct in_addr router, guest;

	inet_pton(AF_INET, "10.0.2.2", &router);
	inet_pton(AF_INET, "10.0.2.15", &guest);
	return len >= 14 + 20 + 8 + 5 && get16(f + 12) == 0x0800 && ip[9] == 17 &&
	       !memcmp(f, guest_mac, 6) && !memcmp(ip + 12, &router, 4) &&
	       !memcmp(ip + 16, &guest, 4) && get16(udp) == *(const int *)arg &&
	       get16(udp + 2) == 5555 && !memcmp(udp + 8, "world", 5);
}

/* A TCP SYN from 10.0.2.15:40000 to 10.0.2.2:@port, sequence 1000. */
static size_t tcp_syn_to_host(uint8_t *f, const uint8_t *router_mac, int port)
{
	uint8_t *ip = f + 14, *tcp = ip + 20, pseudo[12 + 20];

	memset(f, 0, 14 + 20 + 20);
	eth_header(f, router_mac, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 20);
	ip[8] = 64;
	ip[9] = 6;
	inet_pton(AF_INET, "10.0.2.15", ip + 12);
	inet_pton(AF_INET, "10.0.2.2", ip + 16);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(tcp, 40000);
	put16(tcp + 2, (uint16_t)port);
	memcpy(tcp + 4, "\0\0\x03\xe8", 4);
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	put16(tcp + 14, 65535);
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, 20);
	memcpy(pseudo + 12, tcp, 20);
	put16(tcp + 16, ip_checksum(pseudo, sizeof(pseudo)));
	return 14 + 20 + 20;
}

/* The SYN-ACK to tcp_syn_to_host(), from 10.0.2.2:*(int *)@arg. */
static bool is_syn_ack(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *ip = f + 14, *tcp = ip + 20;

	return len >= 14 + 20 + 20 && get16(f + 12) == 0x0800 && ip[9] == 6 &&
	       get16(tcp) == *(const int *)arg && get16(tcp + 2) == 40000 &&
	       (tcp[13] & 0x12) == 0x12 && !memcmp(tcp + 8, "\0\0\x03\xe9", 4);
}

static int send_frame(struct net_backend *nb, uint8_t *f, size_t len)
{
	struct iovec iov[2] = { { f, 14 }, { f + 14, len - 14 } };

	return net_send(nb, iov, 2);
}

static void test_user_dhcp_arp(void **state)
{
	struct fixture *fx = *state;
	struct in_addr offered;
	struct net_backend *nb;
	char arg[128], desc[256];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	unsigned int wakeups = 0;
	int port = free_port(), idx, host, host_port;
	struct pollfd pfd;
	uint8_t f[1024];
	char buf[16];

	snprintf(arg, sizeof(arg), "user,id=u,hostfwd=tcp::%d-:7", port);
	assert_int_equal(net_backend_create(&nb, arg, &fx->loop), 0);
	assert_string_equal(nb->id, "u");
	assert_false(nb->vnet_hdr);
	assert_int_equal(nb->offloads_supported, 0);
	assert_int_equal(net_set_offload(nb, 0), 0);
	assert_int_equal(net_set_offload(nb, NET_OFFLOAD_CSUM), -EOPNOTSUPP);
	nb->ops->describe(nb, desc, sizeof(desc));
	snprintf(arg, sizeof(arg), "user: net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:7",
		 port);
	assert_string_equal(desc, arg);
	net_attach(nb, &peer_ops, &fx->peer);

	assert_int_equal(send_frame(nb, f, dhcp_discover(f)), 0);
	inet_pton(AF_INET, "10.0.2.15", &offered);
	assert_true(pump_until(fx, is_dhcp_offer, &offered, 5000) >= 0);

	assert_int_equal(send_frame(nb, f, arp_request(f, "10.0.2.2")), 0);
	idx = pump_until(fx, is_arp_reply, "10.0.2.2", 5000);
	assert_true(idx >= 0);
	assert_int_equal(nb->rx_dropped, 0);

	/* 10.0.2.2 is the host's loopback: slirp's own UDP socket, watched on the loop. */
	host = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(host >= 0);
	pfd = (struct pollfd){ .fd = host, .events = POLLIN };
	assert_int_equal(bind(host, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(host, (struct sockaddr *)&a, &alen), 0);
	host_port = ntohs(a.sin_port);
	assert_int_equal(send_frame(nb, f, udp_to_host(f, fx->peer.frame[idx] + 6, host_port)), 0);
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	alen = sizeof(a);
	assert_int_equal(recvfrom(host, buf, sizeof(buf), 0, (struct sockaddr *)&a, &alen), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sendto(host, "world", 5, 0, (struct sockaddr *)&a, alen), 5);
	assert_true(pump_until(fx, is_udp_answer, &host_port, 5000) >= 0);
	close(host);

	/* TCP: slirp's connect() completes on EPOLLOUT, then it answers the SYN. */
	host = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(host >= 0);
	a = (struct sockaddr_in){ .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(host, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(host, 1), 0);
	alen = sizeof(a);
	assert_int_equal(getsockname(host, (struct sockaddr *)&a, &alen), 0);
	host_port = ntohs(a.sin_port);
	assert_int_equal(send_frame(nb, f, tcp_syn_to_host(f, fx->peer.frame[idx] + 6, host_port)),
			 0);
	assert_true(pump_until(fx, is_syn_ack, &host_port, 5000) >= 0);
	close(host);

	/* Idle, the loop wakes for slirp's deadline (at most 1 s away) and nothing else. */
	for (int64_t end = now_ms() + 1000; now_ms() < end;)
		wakeups += event_loop_poll(&fx->loop, 100) > 0;
	print_message("%u wakeups in an idle second\n", wakeups);
	assert_in_range(wakeups, 1, 10);

	/* Slirp cannot hold frames back: a full NIC loses them, counted. */
	fx->peer.can_receive = false;
	assert_int_equal(send_frame(nb, f, arp_request(f, "10.0.2.3")), 0);
	assert_int_equal(event_loop_poll(&fx->loop, 50) >= 0, 1);
	assert_int_equal(nb->rx_dropped, 1);
	net_backend_close(nb);
}

/* What a connection to the hostfwd port makes slirp send the guest. */
static bool is_syn_or_arp_for_guest(const uint8_t *f, size_t len, const void *arg)
{
	const uint8_t *ip = f + 14, *tcp = ip + 20;
	struct in_addr guest;

	(void)arg;
	inet_pton(AF_INET, "10.0.2.15", &guest);
	if (len >= 42 && get16(f + 12) == 0x0806 && get16(ip + 6) == 1)
		return !memcmp(ip + 24, &guest, 4); /* who-has the guest (it never spoke) */
	return len >= 54 && get16(f + 12) == 0x0800 && ip[9] == 6 && !memcmp(ip + 16, &guest, 4) &&
	       get16(tcp + 2) == 7 && (tcp[13] & 0x02);
}

/* The listening socket is watched by the event loop: a connection reaches the guest side. */
static void test_user_hostfwd_connect(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct net_backend *nb;
	char arg[128], desc[256];
	int port = free_port(), host_port = free_port(), s;

	snprintf(arg, sizeof(arg), "user,id=u,hostfwd=tcp::%d-:7,hostfwd=udp:127.0.0.1:%d-:53",
		 port, host_port);
	assert_int_equal(net_backend_create(&nb, arg, &fx->loop), 0);
	nb->ops->describe(nb, desc, sizeof(desc));
	snprintf(arg, sizeof(arg),
		 "user: net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:7,"
		 "hostfwd=udp:127.0.0.1:%d-10.0.2.15:53",
		 port, host_port);
	assert_string_equal(desc, arg);
	net_attach(nb, &peer_ops, &fx->peer);

	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	a.sin_port = htons(port);
	assert_true(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	assert_true(pump_until(fx, is_syn_or_arp_for_guest, NULL, 5000) >= 0);
	close(s);
	net_backend_close(nb);
}

static void test_user_hostfwd_in_use(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct net_backend *nb;
	char arg[128], msg[128];
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	snprintf(arg, sizeof(arg), "user,id=u,hostfwd=tcp::%d-:22", port);
	assert_int_equal(net_backend_create(&nb, arg, &fx->loop), -EADDRINUSE);
	snprintf(msg, sizeof(msg), "hostfwd=tcp::%d-:22: host port %d is in use", port, port);
	assert_string_equal(err_msg(EADDRINUSE), msg);
	assert_null(nb);
	close(s);
}

static void test_user_options(void **state)
{
	struct fixture *fx = *state;
	struct in_addr offered;
	struct net_backend *nb;
	char desc[256];
	uint8_t f[1024];

	assert_int_equal(net_backend_create(&nb,
					    "user,id=u2,net=192.168.76.0/24,dhcpstart="
					    "192.168.76.100,restrict=on,ipv6=on",
					    &fx->loop),
			 0);
	nb->ops->describe(nb, desc, sizeof(desc));
	assert_string_equal(desc, "user: net=192.168.76.0/24,restrict=on,ipv6=on");
	net_attach(nb, &peer_ops, &fx->peer);
	assert_int_equal(send_frame(nb, f, dhcp_discover(f)), 0);
	inet_pton(AF_INET, "192.168.76.100", &offered);
	assert_true(pump_until(fx, is_dhcp_offer, &offered, 5000) >= 0);
	net_backend_close(nb);
	net_backend_close(NULL);
}

/* TAP, in a child process in its own network namespace: CHECK() reports and exits 1. */
#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "tap child, line %d: %s failed (last error: %s)\n", \
				__LINE__, #cond, err_msg(0));                               \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

static bool is_test_frame(const uint8_t *f, size_t len, const void *arg)
{
	(void)arg;
	return len >= NET_VNET_HDR_LEN + 14 + 4 &&
	       get16(f + NET_VNET_HDR_LEN + 12) == TEST_ETHERTYPE &&
	       !memcmp(f + NET_VNET_HDR_LEN + 14, "ping", 4);
}

static void set_link_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	CHECK(s >= 0);
	strcpy(ifr.ifr_name, ifname);
	CHECK(ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	CHECK(ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
	close(s);
}

/* A packet socket on @ifname for TEST_ETHERTYPE. */
static int packet_socket(const char *ifname, struct sockaddr_ll *ll)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(TEST_ETHERTYPE));

	CHECK(s >= 0);
	*ll = (struct sockaddr_ll){ .sll_family = AF_PACKET,
				    .sll_protocol = htons(TEST_ETHERTYPE),
				    .sll_ifindex = (int)if_nametoindex(ifname),
				    .sll_halen = 6 };
	CHECK(ll->sll_ifindex > 0);
	memcpy(ll->sll_addr, guest_mac, 6);
	CHECK(bind(s, (struct sockaddr *)ll, sizeof(*ll)) == 0);
	return s;
}

/* A persistent TAP named @ifname owned by us: what `ip tuntap add ... user` makes. */
static void make_owned_tap(const char *ifname)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR);

	CHECK(fd >= 0);
	strcpy(ifr.ifr_name, ifname);
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	CHECK(ioctl(fd, TUNSETOWNER, (unsigned long)geteuid()) == 0);
	CHECK(ioctl(fd, TUNSETPERSIST, 1UL) == 0);
	close(fd);
}

/*
 * Open a TAP @ifname with @flags and hand it over as fd=N[,@extra]: true when
 * the backend describes itself as @expect, or fails with @expect in its message.
 */
static bool fd_child_tap(struct fixture *fx, const char *ifname, short flags, const char *extra,
			 const char *expect)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR), ret;
	struct net_backend *nb;
	char arg[64], desc[128];

	CHECK(fd >= 0);
	strcpy(ifr.ifr_name, ifname);
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	snprintf(arg, sizeof(arg), "tap,id=f,fd=%d%s%s", fd, extra ? "," : "", extra ? extra : "");
	ret = net_backend_create(&nb, arg, &fx->loop);
	if (ret) {
		close(fd);
		return strstr(err_msg(-ret), expect);
	}
	nb->ops->describe(nb, desc, sizeof(desc));
	net_backend_close(nb); /* closes @fd */
	return !strcmp(desc, expect) && fcntl(fd, F_GETFD) < 0;
}

static void drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	CHECK(syscall(SYS_capget, &hdr, data) == 0);
	data[0].effective &= ~(1u << CAP_NET_ADMIN);
	data[0].permitted &= ~(1u << CAP_NET_ADMIN);
	CHECK(syscall(SYS_capset, &hdr, data) == 0);
}

static void tap_child(struct fixture *fx)
{
	struct net_backend *nb, *other;
	struct sockaddr_ll ll;
	uint8_t f[NET_VNET_HDR_LEN + 64] = { 0 }, buf[256];
	char desc[128];
	int s, idx;
	ssize_t n;

	if (unshare(CLONE_NEWNET))
		_exit(77);
	CHECK(net_backend_create(&nb, "tap,id=t,ifname=kvmtest%d,script=no,downscript=no",
				 &fx->loop) == 0);
	CHECK(nb->vnet_hdr);
	CHECK((nb->offloads_supported & 0xf) == 0xf); /* UFO depends on the kernel */
	CHECK(net_set_offload(nb, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6) == 0);
	CHECK(net_set_offload(nb, 0) == 0);
	nb->ops->describe(nb, desc, sizeof(desc));
	CHECK(!strcmp(desc, "tap: ifname=kvmtest0,vnet_hdr=on"));
	net_attach(nb, &peer_ops, &fx->peer);
	set_link_up("kvmtest0");
	s = packet_socket("kvmtest0", &ll);

	/* Host -> guest. */
	memcpy(f, broadcast, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, TEST_ETHERTYPE);
	memcpy(f + 14, "ping", 4);
	CHECK(sendto(s, f, 60, 0, (struct sockaddr *)&ll, sizeof(ll)) == 60);
	idx = pump_until(fx, is_test_frame, NULL, 2000);
	CHECK(idx >= 0);
	CHECK(fx->peer.frame[idx][0] == 0 && fx->peer.frame[idx][1] == 0); /* no flags, no GSO */

	/* A full NIC: the kernel holds the frame until rx_ready(). */
	fx->peer.can_receive = false;
	fx->peer.nr = 0;
	CHECK(sendto(s, f, 60, 0, (struct sockaddr *)&ll, sizeof(ll)) == 60);
	CHECK(event_loop_poll(&fx->loop, 100) >= 0);
	CHECK(event_loop_poll(&fx->loop, 100) == 0); /* not watched: no spinning */
	CHECK(fx->peer.nr == 0);
	fx->peer.can_receive = true;
	net_rx_ready(nb);
	CHECK(pump_until(fx, is_test_frame, NULL, 2000) >= 0);

	/* Guest -> host, with a (zero) virtio-net header in front. */
	memset(f, 0, sizeof(f));
	memcpy(f + NET_VNET_HDR_LEN, broadcast, 6);
	memcpy(f + NET_VNET_HDR_LEN + 6, guest_mac, 6);
	put16(f + NET_VNET_HDR_LEN + 12, TEST_ETHERTYPE);
	memcpy(f + NET_VNET_HDR_LEN + 14, "pong", 4);
	{
		struct iovec iov[2] = { { f, NET_VNET_HDR_LEN }, { f + NET_VNET_HDR_LEN, 60 } };
		struct pollfd pfd = { .fd = s, .events = POLLIN };

		CHECK(net_send(nb, iov, 2) == 0);
		CHECK(poll(&pfd, 1, 2000) == 1);
	}
	n = recv(s, buf, sizeof(buf), 0);
	CHECK(n >= 18 && !memcmp(buf + 14, "pong", 4));
	close(s);

	/* The interface deleted under us: reported once, then the fd is no longer watched. */
	if (system("ip link del kvmtest0") == 0) {
		fprintf(stderr, "(an error about kvmtest0 being gone is expected next)\n");
		CHECK(event_loop_poll(&fx->loop, 1000) == 1);
		CHECK(event_loop_poll(&fx->loop, 100) == 0);
		net_rx_ready(nb);
		CHECK(event_loop_poll(&fx->loop, 100) == 0);
	}
	net_backend_close(nb);

	/* fd=: a TAP opened by a parent process, taken as it is. */
	CHECK(fd_child_tap(fx, "kvmfd0", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, NULL,
			   "tap: ifname=kvmfd0,vnet_hdr=on"));
	CHECK(fd_child_tap(fx, "kvmfd1", IFF_TAP | IFF_NO_PI, NULL,
			   "tap: ifname=kvmfd1,vnet_hdr=off"));
	CHECK(fd_child_tap(
		fx, "kvmfd2", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, "vnet_hdr=off",
		"the TAP was opened with IFF_VNET_HDR (vnet_hdr=off cannot change that)"));
	CHECK(fd_child_tap(fx, "kvmfd3", IFF_TUN | IFF_NO_PI, NULL,
			   "a TUN (IP) device, not a TAP"));

	/* Without CAP_NET_ADMIN: a TAP we own attaches, creating one is refused. */
	make_owned_tap("kvmown0");
	drop_net_admin();
	CHECK(net_backend_create(&nb, "tap,id=t,ifname=kvmown0", &fx->loop) == 0);
	CHECK(net_backend_create(&other, "tap,id=t2,ifname=kvmown0", &fx->loop) == -EBUSY);
	CHECK(!strcmp(err_msg(EBUSY), "ifname=kvmown0: in use by another program"));
	net_backend_close(nb);
	CHECK(net_backend_create(&nb, "tap,id=t,ifname=kvmnew0", &fx->loop) == -EPERM);
	CHECK(!strcmp(err_msg(EPERM), "ifname=kvmnew0: permission denied (create it with `ip "
				      "tuntap add kvmnew0 mode tap user $USER`, or run with "
				      "CAP_NET_ADMIN)"));
	CHECK(net_backend_create(&nb, "tap,id=t", &fx->loop) == -EPERM);
	CHECK(strstr(err_msg(EPERM), "creating a TAP needs CAP_NET_ADMIN"));
	_exit(0);
}

static void test_tap(void **state)
{
	struct fixture *fx = *state;
	int status;
	pid_t pid;

	if (geteuid() != 0 || access("/dev/net/tun", F_OK)) {
		print_message("skipped: needs root and /dev/net/tun\n");
		skip();
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		tap_child(fx);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("skipped: cannot create a network namespace\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mac),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test_setup_teardown(test_user_dhcp_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_hostfwd_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_hostfwd_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
