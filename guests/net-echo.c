// SPDX-License-Identifier: MIT
/*
 * Network test guest: takes an address (static or DHCP), answers ARP and
 * ping, serves TCP echo on one port (one connection at a time) and, given a
 * peer, pings it.  The PCI probe and the printing run at CPL0; everything
 * else, the polling loop included, at CPL3.
 * Command line:
 *   ip=A.B.C.D[/N] | ip=dhcp   address (default dhcp; /24 without /N)
 *   gw=A.B.C.D                 gateway for a static address
 *   port=N                     TCP echo port (default 7)
 *   nic=N                      the Nth virtio-net device (default 0)
 *   peer=A.B.C.D count=N       ping the peer N times (default 3), a second apart
 *   runtime=S                  exit after S seconds (default: run forever)
 * Exit status: 1 at once for a bad option or no NIC, and after 30 s without
 * a DHCP lease; else, once runtime= is over, 0, or 1 if peer= got fewer than
 * count ping replies.
 */
#include "netstack.h"

#define DHCP_SECONDS  30
#define ARP_TRIES     10 /* a second apart: the peer VM may still be starting */
#define DEFAULT_PORT  7
#define DEFAULT_COUNT 3

enum loop_result { LOOP_LOG, LOOP_DONE };
enum phase { PHASE_ADDR, PHASE_RESOLVE, PHASE_PING, PHASE_SERVE };

static struct net_dev nic;
static struct netstack ns;
static uint64_t tsc_hz;

static struct {
	bool dhcp;
	uint32_t ip, mask, gw, peer;
	uint64_t port, nic, count, runtime;
} opt;

static struct {
	enum phase phase;
	uint64_t end; /* runtime= deadline, 0: none */
	uint64_t dhcp_end;
	uint8_t peer_mac[ETH_ALEN];
	uint16_t seq;	  /* the last ping sent */
	bool waiting;	  /* for the reply to seq */
	uint64_t sent_at; /* when seq went out */
	uint64_t replies, rtt_sum;
	int status;
} st;

static bool opt_u64(const char *key, uint64_t *v)
{
	const char *s;
	size_t len;

	return !cmdline_get(key, &s, &len) || ns_parse_u64(s, len, v);
}

static bool opt_ip(const char *key, uint32_t *ip, int *prefix)
{
	const char *s;
	size_t len;

	return !cmdline_get(key, &s, &len) || ns_parse_ip(s, len, ip, prefix);
}

/* CPL3: the options into opt; NULL, or the name of a bad one. */
static long parse_options(void *arg)
{
	const char *s;
	size_t len;
	int prefix = -1;

	(void)arg;
	opt.port = DEFAULT_PORT;
	opt.count = DEFAULT_COUNT;
	opt.dhcp = !cmdline_get("ip", &s, &len) || (len == 4 && !memcmp(s, "dhcp", 4));
	if (!opt.dhcp) {
		if (!ns_parse_ip(s, len, &opt.ip, &prefix))
			return (long)"ip=";
		opt.mask = prefix < 0 ? 0xffffff00 : prefix ? ~0U << (32 - prefix) : 0;
	}
	if (!opt_ip("gw", &opt.gw, NULL))
		return (long)"gw=";
	if (!opt_ip("peer", &opt.peer, NULL))
		return (long)"peer=";
	if (!opt_u64("port", &opt.port) || !opt.port || opt.port > 0xffff)
		return (long)"port=";
	if (!opt_u64("nic", &opt.nic))
		return (long)"nic=";
	if (!opt_u64("count", &opt.count) || opt.count > 0xffff)
		return (long)"count=";
	if (!opt_u64("runtime", &opt.runtime))
		return (long)"runtime=";
	return 0;
}

static long setup(void *arg)
{
	int ret = net_init(&nic, 0);

	(void)arg;
	if (ret)
		return ret;
	ns_init(&ns, &nic, "net-echo", tsc_hz);
	ns_log(&ns, "mac " MAC_FMT, MAC_ARGS(nic.mac));
	ns_log(&ns, "link %s", net_link_up(&nic) ? "up" : "down");
	st.end = opt.runtime ? rdtsc() + opt.runtime * tsc_hz : 0;
	if (opt.dhcp) {
		ns_dhcp_start(&ns);
		st.dhcp_end = rdtsc() + DHCP_SECONDS * tsc_hz;
	} else {
		ns_set_ip(&ns, opt.ip, opt.mask, opt.gw);
	}
	return 0;
}

static bool time_after(uint64_t now, uint64_t t)
{
	return (int64_t)(now - t) >= 0;
}

static void step_addr(uint64_t now)
{
	int prefix = 0;

	if (opt.dhcp && ns.dhcp != DHCP_BOUND) {
		if (time_after(now, st.dhcp_end)) {
			ns_log(&ns, "dhcp: no lease in %u s", DHCP_SECONDS);
			st.status = GUEST_EXIT_FAIL;
			st.end = now;
		}
		return;
	}
	for (uint32_t m = ns.mask; m; m <<= 1)
		prefix++;
	ns_log(&ns, "ip " IP_FMT "/%d gw " IP_FMT " (%s)", IP_ARGS(ns.ip), prefix, IP_ARGS(ns.gw),
	       opt.dhcp ? "dhcp" : "static");
	ns_tcp_listen(&ns, opt.port);
	ns_log(&ns, "listening on tcp port %lu", opt.port);
	st.phase = opt.peer ? PHASE_RESOLVE : PHASE_SERVE;
}

static void step_resolve(void)
{
	int r = ns_resolve(&ns, opt.peer, st.peer_mac, ARP_TRIES);

	if (r > 0) {
		ns_log(&ns, "arp " IP_FMT " is " MAC_FMT, IP_ARGS(ns.resolve_ip),
		       MAC_ARGS(st.peer_mac));
		st.phase = PHASE_PING;
	} else if (r < 0) {
		ns_log(&ns, "ping " IP_FMT ": no ARP reply", IP_ARGS(opt.peer));
		st.phase = PHASE_SERVE;
	}
}

/* One echo request a second; each waits up to a second for its reply. */
static void step_ping(uint64_t now)
{
	if (st.waiting) {
		if (ns.ping_replied && ns.ping_seq == st.seq) {
			st.replies++;
			st.rtt_sum += now - st.sent_at;
			ns_log(&ns, "ping " IP_FMT " seq=%u ok", IP_ARGS(opt.peer), st.seq);
		} else if (time_after(now, st.sent_at + tsc_hz)) {
			ns_log(&ns, "ping " IP_FMT " seq=%u timeout", IP_ARGS(opt.peer), st.seq);
		} else {
			return;
		}
		st.waiting = false;
	}
	if (st.seq == opt.count) {
		ns_log(&ns, "ping " IP_FMT " %lu sent, %lu received, rtt avg %lu us",
		       IP_ARGS(opt.peer), opt.count, st.replies,
		       st.replies ? st.rtt_sum * 1000000 / tsc_hz / st.replies : 0);
		st.phase = PHASE_SERVE;
		return;
	}
	if (st.seq && !time_after(now, st.sent_at + tsc_hz))
		return;
	st.seq++;
	ns.ping_replied = false;
	st.sent_at = now;
	st.waiting = true;
	ns_ping(&ns, opt.peer, st.peer_mac, st.seq);
}

/* CPL3: run until there is something to print (LOOP_LOG) or the time is up. */
static long echo_loop(void *arg)
{
	(void)arg;
	while (!ns.log_len) {
		uint64_t now;

		ns_poll(&ns);
		now = rdtsc();
		if (st.end && time_after(now, st.end))
			return LOOP_DONE;
		switch (st.phase) {
		case PHASE_ADDR:
			step_addr(now);
			break;
		case PHASE_RESOLVE:
			step_resolve();
			break;
		case PHASE_PING:
			step_ping(now);
			break;
		case PHASE_SERVE:
			break;
		}
	}
	return LOOP_LOG;
}

static void flush_log(void)
{
	console_write(ns.log, ns.log_len);
	ns.log_len = 0;
}

int main(void)
{
	const char *bad = (const char *)run_user(parse_options, NULL);
	long ret;

	if (bad) {
		printf("net-echo: bad option %s\n", bad);
		return GUEST_EXIT_FAIL;
	}
	tsc_hz = ns_tsc_hz();
	ret = net_probe(&nic, opt.nic);
	if (!ret)
		ret = run_user(setup, NULL);
	if (ret) {
		printf("net-echo: no usable virtio-net device %lu (%ld)\n", opt.nic, ret);
		return GUEST_EXIT_FAIL;
	}
	while (run_user(echo_loop, NULL) == LOOP_LOG)
		flush_log();
	flush_log();
	if (nic.rx_errors)
		printf("net-echo: %lu malformed frames dropped\n", nic.rx_errors);
	if (opt.peer && st.replies < opt.count)
		st.status = GUEST_EXIT_FAIL;
	printf("net-echo: exit %d\n", st.status);
	return st.status;
}
