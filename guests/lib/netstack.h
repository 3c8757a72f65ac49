/* SPDX-License-Identifier: MIT */
/*
 * A tiny IPv4 stack over virtio_net.h for the network test guests:
 * Ethernet, ARP (answers for our address, a small cache, resolution with
 * retries), IPv4 without fragments, ICMP echo (replies, and requests of our
 * own), UDP for a DHCP client, and a TCP echo server for one connection at
 * a time.  Single-threaded and polled: call ns_poll() in a loop.  Nothing
 * here does port I/O, so it all runs at CPL3; messages go to a log buffer
 * that the caller prints at CPL0.  Addresses are host-order uint32_t.
 */
#ifndef KVMINI_GUEST_NETSTACK_H
#define KVMINI_GUEST_NETSTACK_H

#include "virtio_net.h"

#define ETH_ALEN     6
#define ETH_HLEN     14
#define ETH_DATA_MAX 1500
#define IP_HLEN	     20

#define TCP_BUF_SIZE 8192 /* what was received and not yet echoed and acknowledged */
#define NS_ARP_SLOTS 8
#define NS_LOG_SIZE  4096

#define IP_FMT	    "%u.%u.%u.%u"
#define IP_ARGS(a)  (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a)&0xff
#define MAC_FMT	    "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

enum dhcp_state { DHCP_OFF, DHCP_SELECTING, DHCP_REQUESTING, DHCP_BOUND };

enum tcp_state { TCP_LISTEN, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_LAST_ACK };

struct tcp_conn {
	enum tcp_state state;
	uint32_t peer_ip;
	uint16_t peer_port, mss;
	uint8_t peer_mac[ETH_ALEN];
	uint32_t iss, snd_una, snd_wnd, rcv_nxt;
	/* buf[head..] holds len bytes from snd_una on; sent of them are out this round */
	uint32_t head, len, sent, sent_max;
	bool fin_rcvd, fin_sent, fin_ever_sent;
	uint32_t adv_wnd;	/* the window last advertised */
	uint64_t rto, deadline; /* retransmission timeout and when it fires (0: idle) */
	unsigned int retries;
	uint64_t bytes; /* received (and so echoed) on this connection */
	uint8_t buf[TCP_BUF_SIZE];
};

struct arp_entry {
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
};

struct netstack {
	struct net_dev *nd;
	const char *name; /* prefix of log lines */
	uint64_t hz;	  /* TSC ticks per second */
	uint8_t mac[ETH_ALEN];
	uint32_t ip, mask, gw; /* ip 0: not configured */

	struct arp_entry arp[NS_ARP_SLOTS];
	unsigned int arp_next;
	uint32_t resolve_ip; /* the address ns_resolve() is asking for */
	unsigned int resolve_tries;
	uint64_t resolve_at;

	enum dhcp_state dhcp;
	uint32_t dhcp_xid, dhcp_offer, dhcp_server;
	unsigned int dhcp_tries;
	uint64_t dhcp_at;

	uint16_t ping_id, ping_seq; /* the last echo reply to our requests */
	bool ping_replied;

	uint16_t tcp_port; /* 0: no TCP service */
	struct tcp_conn tcp;

	uint16_t ip_id;
	char log[NS_LOG_SIZE];
	size_t log_len;
	uint8_t tx[ETH_HLEN + ETH_DATA_MAX];
};

/* CPL0: the TSC frequency, from CPUID leaf 0x40000010 or else measured with PIT channel 2. */
uint64_t ns_tsc_hz(void);

/* After net_init(); @name prefixes the log lines ("name: ..."). */
void ns_init(struct netstack *ns, struct net_dev *nd, const char *name, uint64_t hz);
void ns_log(struct netstack *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handle every frame waiting, then the timers (TCP retransmission, DHCP retries). */
void ns_poll(struct netstack *ns);

void ns_set_ip(struct netstack *ns, uint32_t ip, uint32_t mask, uint32_t gw);
/* Start DHCP (DISCOVER); ns->dhcp is DHCP_BOUND and the address set once it is leased. */
void ns_dhcp_start(struct netstack *ns);

/*
 * The MAC of @ip, or of the gateway if @ip is off-link: 1 with @mac set, 0 while
 * ARP requests (one a second) go out, -1 after @tries requests got no answer.
 */
int ns_resolve(struct netstack *ns, uint32_t ip, uint8_t *mac, unsigned int tries);
/* Send an ICMP echo request (id ns->ping_id, 56 bytes of data). */
void ns_ping(struct netstack *ns, uint32_t ip, const uint8_t *mac, uint16_t seq);

/* Serve the TCP echo service on @port. */
void ns_tcp_listen(struct netstack *ns, uint16_t port);

/* Parsing of command-line values ("A.B.C.D", "A.B.C.D/N", "aa:bb:..", decimal). */
bool ns_parse_ip(const char *s, size_t len, uint32_t *ip, int *prefix);
bool ns_parse_mac(const char *s, size_t len, uint8_t *mac);
bool ns_parse_u64(const char *s, size_t len, uint64_t *v);

#endif
