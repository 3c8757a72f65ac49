// SPDX-License-Identifier: MIT
/* Ethernet, ARP, IPv4, ICMP echo, UDP/DHCP client and a one-connection TCP echo server. */
#include "netstack.h"

#include <stddef.h>

#define ETH_P_IP  0x0800
#define ETH_P_ARP 0x0806

#define ARP_HLEN    28
#define ARP_REQUEST 1
#define ARP_REPLY   2

#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP  6
#define IP_PROTO_UDP  17
#define IP_DF	      0x4000
#define IP_FRAG_MASK  0x3fff /* MF and the fragment offset */
#define IP_TTL	      64
#define IP_BROADCAST  0xffffffffU

#define ICMP_ECHO_REPLY	  0
#define ICMP_ECHO_REQUEST 8
#define ICMP_HLEN	  8
#define PING_DATA	  56

#define UDP_HLEN	 8
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

/* DHCP (RFC 2131/2132): the BOOTP fixed part, the magic cookie, then options. */
#define DHCP_XID       4
#define DHCP_FLAGS     10
#define DHCP_YIADDR    16
#define DHCP_SIADDR    20
#define DHCP_CHADDR    28
#define DHCP_COOKIE    236
#define DHCP_OPTIONS   240
#define DHCP_MIN_LEN   300 /* BOOTP's minimum message; some servers want it */
#define DHCP_MAGIC     0x63825363
#define DHCP_BROADCAST 0x8000
#define DHCP_DISCOVER  1
#define DHCP_OFFER     2
#define DHCP_REQUEST   3
#define DHCP_ACK       5
#define DHCP_NAK       6
#define OPT_PAD	       0
#define OPT_MASK       1
#define OPT_ROUTER     3
#define OPT_REQ_IP     50
#define OPT_LEASE      51
#define OPT_MSG_TYPE   53
#define OPT_SERVER_ID  54
#define OPT_PARAMS     55
#define OPT_END	       255
#define DHCP_REQ_TRIES 3 /* REQUESTs before going back to DISCOVER */

#define TCP_HLEN	20
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define TCP_OPT_MSS	2
#define TCP_MSS		(ETH_DATA_MAX - IP_HLEN - TCP_HLEN)
#define TCP_MSS_DEFAULT 536 /* without the option (RFC 9293 3.7.1) */
#define TCP_RETRIES	8
#define TCP_RTO_INIT_MS 300 /* short: the peers are a host or a VM next door */
#define TCP_RTO_MAX_MS	3000

#define PIT_HZ	      1193182
#define PIT_TICKS     11932 /* 10 ms */
#define PIT_RUNS      3
#define PIT_POLLS     1000000
#define PIT_CH2	      0x42
#define PIT_CMD	      0x43
#define PORT_B	      0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define TSC_HZ_GUESS  2500000000ULL
#define CPUID_HV_BIT  (1U << 31)
#define CPUID_HV_BASE 0x40000000
#define CPUID_HV_FREQ 0x40000010 /* eax: TSC kHz (KVM/VMware timing leaf) */

static const uint8_t mac_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_zero[ETH_ALEN];

static uint16_t rd16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The Internet checksum (RFC 1071): a ones'-complement sum of big-endian 16-bit words. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += rd16(p);
	if (len)
		sum += p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

static bool time_after(uint64_t now, uint64_t t)
{
	return (int64_t)(now - t) >= 0;
}

static uint64_t ms_ticks(const struct netstack *ns, uint64_t ms)
{
	return ns->hz * ms / 1000;
}

uint64_t ns_tsc_hz(void)
{
	uint32_t a, b, c, d;
	uint64_t t0, best = UINT64_MAX;
	unsigned int i;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (c & CPUID_HV_BIT) {
		asm volatile("cpuid"
			     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(CPUID_HV_BASE), "c"(0));
		if (a >= CPUID_HV_FREQ) {
			asm volatile("cpuid"
				     : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				     : "a"(CPUID_HV_FREQ), "c"(0));
			if (a)
				return (uint64_t)a * 1000;
		}
	}
	/*
	 * PIT channel 2, mode 0: its output (port 0x61 bit 5) rises when the count
	 * runs out.  Every delay (exits, a descheduled vCPU) only lengthens a
	 * measurement, so take the shortest of a few.
	 */
	outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01);
	for (unsigned int run = 0; run < PIT_RUNS; run++) {
		outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
		outb(PIT_CH2, PIT_TICKS & 0xff);
		t0 = rdtsc();
		outb(PIT_CH2, PIT_TICKS >> 8); /* counting starts here */
		for (i = 0; i < PIT_POLLS && !(inb(PORT_B) & 0x20); i++)
			;
		if (i == PIT_POLLS)
			return TSC_HZ_GUESS;
		t0 = rdtsc() - t0;
		if (t0 < best)
			best = t0;
	}
	return best * PIT_HZ / PIT_TICKS;
}

void ns_init(struct netstack *ns, struct net_dev *nd, const char *name, uint64_t hz)
{
	memset(ns, 0, sizeof(*ns));
	ns->nd = nd;
	ns->name = name;
	ns->hz = hz;
	memcpy(ns->mac, nd->mac, ETH_ALEN);
	ns->ping_id = rdtsc();
}

void ns_log(struct netstack *ns, const char *fmt, ...)
{
	char line[200];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", ns->name);

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (ns->log_len + n <= sizeof(ns->log)) {
		memcpy(ns->log + ns->log_len, line, n);
		ns->log_len += n;
	}
}

void ns_set_ip(struct netstack *ns, uint32_t ip, uint32_t mask, uint32_t gw)
{
	ns->ip = ip;
	ns->mask = mask;
	ns->gw = gw;
}

/* ---- Ethernet and IPv4 output: the payload is already in place in ns->tx ---- */

static void eth_send(struct netstack *ns, const uint8_t *dst, uint16_t type, size_t len)
{
	memcpy(ns->tx, dst, ETH_ALEN);
	memcpy(ns->tx + ETH_ALEN, ns->mac, ETH_ALEN);
	wr16(ns->tx + 2 * ETH_ALEN, type);
	/* A full transmit ring drops the frame: ARP, DHCP and TCP retry. */
	net_send(ns->nd, ns->tx, ETH_HLEN + len);
}

static uint8_t *ip_payload(struct netstack *ns)
{
	return ns->tx + ETH_HLEN + IP_HLEN;
}

static void ip_send(struct netstack *ns, const uint8_t *mac, uint32_t dst, uint8_t proto,
		    size_t len)
{
	uint8_t *ip = ns->tx + ETH_HLEN;

	ip[0] = 0x45; /* version 4, 5 words */
	ip[1] = 0;
	wr16(ip + 2, IP_HLEN + len);
	wr16(ip + 4, ns->ip_id++);
	wr16(ip + 6, IP_DF);
	ip[8] = IP_TTL;
	ip[9] = proto;
	wr16(ip + 10, 0);
	wr32(ip + 12, ns->ip);
	wr32(ip + 16, dst);
	wr16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
	eth_send(ns, mac, ETH_P_IP, IP_HLEN + len);
}

/* ---- ARP (RFC 826) ---- */

static const uint8_t *arp_lookup(struct netstack *ns, uint32_t ip)
{
	for (unsigned int i = 0; i < NS_ARP_SLOTS; i++)
		if (ns->arp[i].ip == ip)
			return ns->arp[i].mac;
	return NULL;
}

/* Update @ip's entry; add one (replacing round-robin) only if @add. */
static void arp_learn(struct netstack *ns, uint32_t ip, const uint8_t *mac, bool add)
{
	uint8_t *m = (uint8_t *)arp_lookup(ns, ip);

	if (!m && add) {
		struct arp_entry *e = &ns->arp[ns->arp_next++ % NS_ARP_SLOTS];

		e->ip = ip;
		m = e->mac;
	}
	if (m)
		memcpy(m, mac, ETH_ALEN);
}

static void arp_send(struct netstack *ns, uint16_t op, const uint8_t *dst, const uint8_t *tha,
		     uint32_t tpa)
{
	uint8_t *a = ns->tx + ETH_HLEN;

	wr16(a, 1); /* Ethernet */
	wr16(a + 2, ETH_P_IP);
	a[4] = ETH_ALEN;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, ns->mac, ETH_ALEN);
	wr32(a + 14, ns->ip);
	memcpy(a + 18, tha, ETH_ALEN);
	wr32(a + 24, tpa);
	eth_send(ns, dst, ETH_P_ARP, ARP_HLEN);
}

static void arp_input(struct netstack *ns, const uint8_t *a, size_t len)
{
	uint32_t spa, tpa;
	const uint8_t *sha = a + 8;

	if (len < ARP_HLEN || rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != ETH_ALEN ||
	    a[5] != 4 || !ns->ip)
		return;
	spa = rd32(a + 14);
	tpa = rd32(a + 24);
	if (!spa)
		return; /* a probe (RFC 5227): nothing to learn */
	arp_learn(ns, spa, sha, tpa == ns->ip);
	if (tpa == ns->ip && rd16(a + 6) == ARP_REQUEST)
		arp_send(ns, ARP_REPLY, sha, sha, spa);
}

int ns_resolve(struct netstack *ns, uint32_t ip, uint8_t *mac, unsigned int tries)
{
	uint32_t hop = (ip ^ ns->ip) & ns->mask ? ns->gw : ip;
	const uint8_t *m = arp_lookup(ns, hop);
	uint64_t now = rdtsc();

	if (!hop)
		return -1;
	if (m) {
		memcpy(mac, m, ETH_ALEN);
		return 1;
	}
	if (hop != ns->resolve_ip) {
		ns->resolve_ip = hop;
		ns->resolve_tries = 0;
		ns->resolve_at = now;
	}
	if (time_after(now, ns->resolve_at)) {
		if (ns->resolve_tries >= tries)
			return -1;
		ns->resolve_tries++;
		ns->resolve_at = now + ns->hz;
		arp_send(ns, ARP_REQUEST, mac_broadcast, mac_zero, hop);
	}
	return 0;
}

/* ---- ICMP ---- */

static void icmp_input(struct netstack *ns, const uint8_t *mac, uint32_t src, const uint8_t *p,
		       size_t len)
{
	uint8_t *r = ip_payload(ns);

	if (len < ICMP_HLEN || csum_fold(csum_add(0, p, len)))
		return;
	if (p[0] == ICMP_ECHO_REQUEST && !p[1] && len <= ETH_DATA_MAX - IP_HLEN) {
		memcpy(r, p, len);
		r[0] = ICMP_ECHO_REPLY;
		wr16(r + 2, 0);
		wr16(r + 2, csum_fold(csum_add(0, r, len)));
		ip_send(ns, mac, src, IP_PROTO_ICMP, len);
	} else if (p[0] == ICMP_ECHO_REPLY && rd16(p + 4) == ns->ping_id) {
		ns->ping_seq = rd16(p + 6);
		ns->ping_replied = true;
	}
}

void ns_ping(struct netstack *ns, uint32_t ip, const uint8_t *mac, uint16_t seq)
{
	uint8_t *p = ip_payload(ns);

	p[0] = ICMP_ECHO_REQUEST;
	p[1] = 0;
	wr16(p + 2, 0);
	wr16(p + 4, ns->ping_id);
	wr16(p + 6, seq);
	for (unsigned int i = 0; i < PING_DATA; i++)
		p[ICMP_HLEN + i] = i;
	wr16(p + 2, csum_fold(csum_add(0, p, ICMP_HLEN + PING_DATA)));
	ip_send(ns, mac, ip, IP_PROTO_ICMP, ICMP_HLEN + PING_DATA);
}

/* ---- UDP and DHCP ---- */

static void udp_send(struct netstack *ns, const uint8_t *mac, uint32_t dst, uint16_t sport,
		     uint16_t dport, size_t len)
{
	uint8_t *u = ip_payload(ns);
	uint16_t sum;

	wr16(u, sport);
	wr16(u + 2, dport);
	wr16(u + 4, UDP_HLEN + len);
	wr16(u + 6, 0);
	sum = csum_fold(
		csum_add(pseudo_sum(ns->ip, dst, IP_PROTO_UDP, UDP_HLEN + len), u, UDP_HLEN + len));
	wr16(u + 6, sum ? sum : 0xffff); /* 0 would mean "no checksum" */
	ip_send(ns, mac, dst, IP_PROTO_UDP, UDP_HLEN + len);
}

static void dhcp_send(struct netstack *ns, uint8_t type)
{
	uint8_t *d = ip_payload(ns) + UDP_HLEN, *o = d + DHCP_OPTIONS;

	memset(d, 0, DHCP_MIN_LEN);
	d[0] = 1; /* BOOTREQUEST */
	d[1] = 1; /* Ethernet */
	d[2] = ETH_ALEN;
	wr32(d + DHCP_XID, ns->dhcp_xid);
	wr16(d + DHCP_FLAGS,
	     DHCP_BROADCAST); /* we cannot take unicast before we have the address */
	memcpy(d + DHCP_CHADDR, ns->mac, ETH_ALEN);
	wr32(d + DHCP_COOKIE, DHCP_MAGIC);
	*o++ = OPT_MSG_TYPE;
	*o++ = 1;
	*o++ = type;
	if (type == DHCP_REQUEST) {
		*o++ = OPT_REQ_IP;
		*o++ = 4;
		wr32(o, ns->dhcp_offer);
		o += 4;
		*o++ = OPT_SERVER_ID;
		*o++ = 4;
		wr32(o, ns->dhcp_server);
		o += 4;
	}
	*o++ = OPT_PARAMS;
	*o++ = 3;
	*o++ = OPT_MASK;
	*o++ = OPT_ROUTER;
	*o++ = OPT_LEASE;
	*o++ = OPT_END;
	udp_send(ns, mac_broadcast, IP_BROADCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DHCP_MIN_LEN);
}

void ns_dhcp_start(struct netstack *ns)
{
	ns->ip = 0;
	ns->dhcp = DHCP_SELECTING;
	ns->dhcp_xid = rdtsc();
	ns->dhcp_tries = 0;
	ns->dhcp_at = rdtsc(); /* the timer sends the DISCOVER */
}

static void dhcp_timer(struct netstack *ns, uint64_t now)
{
	if ((ns->dhcp != DHCP_SELECTING && ns->dhcp != DHCP_REQUESTING) ||
	    !time_after(now, ns->dhcp_at))
		return;
	if (ns->dhcp == DHCP_REQUESTING && ns->dhcp_tries >= DHCP_REQ_TRIES) {
		ns->dhcp = DHCP_SELECTING;
		ns->dhcp_tries = 0;
	}
	ns->dhcp_tries++;
	dhcp_send(ns, ns->dhcp == DHCP_SELECTING ? DHCP_DISCOVER : DHCP_REQUEST);
	ns->dhcp_at = now + 2 * ns->hz;
}

static void dhcp_input(struct netstack *ns, const uint8_t *d, size_t len)
{
	uint32_t yiaddr, server, mask = 0xffffff00, router = 0, lease = 0;
	uint8_t type = 0;

	if (len < DHCP_OPTIONS || d[0] != 2 || rd32(d + DHCP_XID) != ns->dhcp_xid ||
	    memcmp(d + DHCP_CHADDR, ns->mac, ETH_ALEN) || rd32(d + DHCP_COOKIE) != DHCP_MAGIC)
		return;
	yiaddr = rd32(d + DHCP_YIADDR);
	server = rd32(d + DHCP_SIADDR);
	for (size_t i = DHCP_OPTIONS; i < len && d[i] != OPT_END;) {
		const uint8_t *v = d + i + 2;
		uint8_t code = d[i], olen;

		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + d[i + 1] > len)
			return;
		olen = d[i + 1];
		if (code == OPT_MSG_TYPE && olen >= 1)
			type = v[0];
		else if (code == OPT_SERVER_ID && olen >= 4)
			server = rd32(v);
		else if (code == OPT_MASK && olen >= 4)
			mask = rd32(v);
		else if (code == OPT_ROUTER && olen >= 4)
			router = rd32(v);
		else if (code == OPT_LEASE && olen >= 4)
			lease = rd32(v);
		i += 2 + olen;
	}
	if (type == DHCP_OFFER && ns->dhcp == DHCP_SELECTING) {
		ns->dhcp_offer = yiaddr;
		ns->dhcp_server = server;
		ns->dhcp = DHCP_REQUESTING;
		ns->dhcp_tries = 0;
		ns->dhcp_at = rdtsc();
	} else if (type == DHCP_ACK && ns->dhcp == DHCP_REQUESTING) {
		ns_set_ip(ns, yiaddr, mask, router);
		ns->dhcp = DHCP_BOUND;
		ns_log(ns, "dhcp lease " IP_FMT " from " IP_FMT " for %u s", IP_ARGS(yiaddr),
		       IP_ARGS(server), lease);
	} else if (type == DHCP_NAK && ns->dhcp == DHCP_REQUESTING) {
		ns_dhcp_start(ns);
	}
}

static void udp_input(struct netstack *ns, uint32_t src, uint32_t dst, const uint8_t *u, size_t len)
{
	uint16_t ulen;

	if (len < UDP_HLEN)
		return;
	ulen = rd16(u + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return;
	if (rd16(u + 6) && csum_fold(csum_add(pseudo_sum(src, dst, IP_PROTO_UDP, ulen), u, ulen)))
		return;
	if (rd16(u + 2) == DHCP_CLIENT_PORT &&
	    (ns->dhcp == DHCP_SELECTING || ns->dhcp == DHCP_REQUESTING))
		dhcp_input(ns, u + UDP_HLEN, ulen - UDP_HLEN);
}

/* ---- TCP (RFC 9293), the echo service ---- */

static void tcp_xmit(struct netstack *ns, const uint8_t *mac, uint32_t dst, uint16_t sport,
		     uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		     size_t len)
{
	uint8_t *t = ip_payload(ns);
	size_t hlen = TCP_HLEN;

	if (flags & TCP_SYN) { /* no data then: the MSS option takes its place */
		t[TCP_HLEN] = TCP_OPT_MSS;
		t[TCP_HLEN + 1] = 4;
		wr16(t + TCP_HLEN + 2, TCP_MSS);
		hlen += 4;
	}
	wr16(t, sport);
	wr16(t + 2, dport);
	wr32(t + 4, seq);
	wr32(t + 8, ack);
	t[12] = hlen / 4 << 4;
	t[13] = flags;
	wr16(t + 14, wnd);
	wr32(t + 16, 0); /* checksum, urgent pointer */
	wr16(t + 16,
	     csum_fold(csum_add(pseudo_sum(ns->ip, dst, IP_PROTO_TCP, hlen + len), t, hlen + len)));
	ip_send(ns, mac, dst, IP_PROTO_TCP, hlen + len);
}

/* Answer a segment that belongs to no connection (RFC 9293 3.10.7.1). */
static void tcp_reset(struct netstack *ns, const uint8_t *mac, uint32_t src, const uint8_t *t,
		      size_t dlen)
{
	uint8_t flags = t[13];

	if (flags & TCP_ACK)
		tcp_xmit(ns, mac, src, rd16(t + 2), rd16(t), rd32(t + 8), 0, TCP_RST, 0, 0);
	else
		tcp_xmit(ns, mac, src, rd16(t + 2), rd16(t), 0,
			 rd32(t + 4) + dlen + !!(flags & TCP_SYN) + !!(flags & TCP_FIN),
			 TCP_RST | TCP_ACK, 0, 0);
}

/* Send @n bytes from offset @off of the buffer (sequence snd_una + off), with ACK. */
static void conn_send(struct netstack *ns, uint32_t off, uint32_t n, uint8_t flags)
{
	struct tcp_conn *c = &ns->tcp;
	uint8_t *d = ip_payload(ns) + TCP_HLEN;
	uint32_t at = (c->head + off) % TCP_BUF_SIZE, first = min_u32(n, TCP_BUF_SIZE - at);

	memcpy(d, c->buf + at, first);
	memcpy(d + first, c->buf, n - first);
	c->adv_wnd = TCP_BUF_SIZE - c->len;
	tcp_xmit(ns, c->peer_mac, c->peer_ip, ns->tcp_port, c->peer_port, c->snd_una + off,
		 c->rcv_nxt, flags | TCP_ACK, c->adv_wnd, n);
}

static void conn_arm(struct netstack *ns)
{
	if (!ns->tcp.deadline)
		ns->tcp.deadline = rdtsc() + ns->tcp.rto;
}

static void conn_end(struct netstack *ns, const char *how)
{
	struct tcp_conn *c = &ns->tcp;

	ns_log(ns, "tcp connection from " IP_FMT ":%u %s, %lu bytes echoed", IP_ARGS(c->peer_ip),
	       c->peer_port, how, c->bytes);
	c->state = TCP_LISTEN;
	c->deadline = 0;
}

/* Send what the window allows, then our FIN once everything is out; else ACK if @ack. */
static void tcp_output(struct netstack *ns, bool ack)
{
	struct tcp_conn *c = &ns->tcp;

	while (c->sent < c->len) {
		uint32_t room = c->snd_wnd > c->sent ? c->snd_wnd - c->sent : 0;
		uint32_t n = min_u32(min_u32(c->len - c->sent, c->mss), room);

		if (!n)
			break;
		conn_send(ns, c->sent, n, c->sent + n == c->len ? TCP_PSH : 0);
		c->sent += n;
		if (c->sent > c->sent_max)
			c->sent_max = c->sent;
		ack = false;
	}
	if (c->sent < c->len || c->sent_max)
		conn_arm(ns); /* retransmission, or a probe of the peer's closed window */
	if (c->fin_rcvd && !c->fin_sent && c->sent == c->len) {
		conn_send(ns, c->len, 0, TCP_FIN);
		c->fin_sent = c->fin_ever_sent = true;
		c->state = TCP_LAST_ACK;
		ack = false;
		conn_arm(ns);
	}
	/* Reopen a window that had shrunk below half: the peer may be waiting for it. */
	if (c->adv_wnd < TCP_BUF_SIZE / 2 && TCP_BUF_SIZE - c->len >= TCP_BUF_SIZE / 2)
		ack = true;
	if (ack)
		conn_send(ns, c->sent + c->fin_sent, 0, 0);
}

/* Go-back-N retransmission, or a window probe of one byte. */
static void tcp_timer(struct netstack *ns, uint64_t now)
{
	struct tcp_conn *c = &ns->tcp;

	if (!c->deadline || !time_after(now, c->deadline))
		return;
	if (++c->retries > TCP_RETRIES) {
		conn_end(ns, "timed out");
		return;
	}
	c->rto = c->rto * 2 < ms_ticks(ns, TCP_RTO_MAX_MS) ? c->rto * 2
							   : ms_ticks(ns, TCP_RTO_MAX_MS);
	c->deadline = now + c->rto;
	if (c->state == TCP_SYN_RCVD) {
		conn_send(ns, 0, 0, TCP_SYN);
		return;
	}
	c->sent = 0;
	c->fin_sent = false;
	if (c->state == TCP_LAST_ACK)
		c->state = TCP_CLOSE_WAIT;
	if (c->len && !c->snd_wnd) {
		conn_send(ns, 0, 1, 0);
		c->sent = 1;
		if (!c->sent_max)
			c->sent_max = 1;
	} else {
		tcp_output(ns, false);
	}
}

static void tcp_accept(struct netstack *ns, const uint8_t *mac, uint32_t src, const uint8_t *t)
{
	struct tcp_conn *c = &ns->tcp;
	size_t off = (t[12] >> 4) * 4;

	memset(c, 0, offsetof(struct tcp_conn, buf));
	c->state = TCP_SYN_RCVD;
	c->peer_ip = src;
	c->peer_port = rd16(t);
	memcpy(c->peer_mac, mac, ETH_ALEN);
	c->iss = rdtsc();
	c->snd_una = c->iss;
	c->rcv_nxt = rd32(t + 4) + 1;
	c->snd_wnd = rd16(t + 14);
	c->mss = TCP_MSS_DEFAULT;
	for (size_t i = TCP_HLEN; i < off && t[i];) {
		if (t[i] == 1) { /* NOP */
			i++;
			continue;
		}
		if (i + 1 >= off || t[i + 1] < 2 || i + t[i + 1] > off)
			break;
		if (t[i] == TCP_OPT_MSS && t[i + 1] == 4)
			c->mss = min_u32(rd16(t + i + 2), TCP_MSS);
		i += t[i + 1];
	}
	if (!c->mss)
		c->mss = TCP_MSS_DEFAULT;
	c->rto = ms_ticks(ns, TCP_RTO_INIT_MS);
	conn_send(ns, 0, 0, TCP_SYN);
	conn_arm(ns);
}

/* Process an acknowledgement in a synchronized state; false if it closed the connection. */
static bool tcp_ack(struct netstack *ns, uint32_t ack, uint16_t wnd)
{
	struct tcp_conn *c = &ns->tcp;
	uint32_t a = ack - c->snd_una, data;

	if (a > c->sent_max + c->fin_ever_sent)
		return true; /* old, or for something never sent */
	c->snd_wnd = wnd;
	c->retries = 0; /* the peer is alive, whatever its window */
	if (!a)
		return true;
	data = min_u32(a, c->len);
	c->head = (c->head + data) % TCP_BUF_SIZE;
	c->len -= data;
	c->snd_una += a;
	c->sent = c->sent > data ? c->sent - data : 0;
	c->sent_max -= data;
	c->rto = ms_ticks(ns, TCP_RTO_INIT_MS);
	if (a > data) { /* our FIN */
		conn_end(ns, "closed");
		return false;
	}
	/* Data not yet acknowledged or held back by a closed window keeps the timer going. */
	c->deadline = c->len || c->fin_ever_sent ? rdtsc() + c->rto : 0;
	return true;
}

static void tcp_input(struct netstack *ns, const uint8_t *mac, uint32_t src, uint32_t dst,
		      const uint8_t *t, size_t len)
{
	struct tcp_conn *c = &ns->tcp;
	uint32_t seq, skip, take;
	size_t off, dlen;
	const uint8_t *data;
	uint8_t flags;
	bool ack = false;

	if (len < TCP_HLEN)
		return;
	off = (t[12] >> 4) * 4;
	if (off < TCP_HLEN || off > len ||
	    csum_fold(csum_add(pseudo_sum(src, dst, IP_PROTO_TCP, len), t, len)))
		return;
	flags = t[13];
	seq = rd32(t + 4);
	data = t + off;
	dlen = len - off;
	if (c->state == TCP_LISTEN || src != c->peer_ip || rd16(t) != c->peer_port ||
	    rd16(t + 2) != ns->tcp_port) {
		if (flags & TCP_RST)
			return;
		if (ns->tcp_port && rd16(t + 2) == ns->tcp_port && c->state == TCP_LISTEN &&
		    (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			tcp_accept(ns, mac, src, t);
		else
			tcp_reset(ns, mac, src, t, dlen);
		return;
	}
	if (flags & TCP_RST) {
		if (seq - c->rcv_nxt < TCP_BUF_SIZE)
			conn_end(ns, "reset");
		return;
	}
	if (flags & TCP_SYN) {
		/* A retransmitted SYN gets the SYN-ACK again; any other one an ACK (RFC 5961). */
		if (c->state == TCP_SYN_RCVD && seq + 1 == c->rcv_nxt)
			conn_send(ns, 0, 0, TCP_SYN);
		else if (c->state != TCP_SYN_RCVD)
			tcp_output(ns, true);
		return;
	}
	if (!(flags & TCP_ACK))
		return;
	if (c->state == TCP_SYN_RCVD) {
		if (rd32(t + 8) != c->iss + 1)
			return;
		c->snd_una = c->iss + 1;
		c->snd_wnd = rd16(t + 14);
		c->state = TCP_ESTABLISHED;
		c->deadline = 0;
		c->retries = 0;
		ns_log(ns, "tcp connection from " IP_FMT ":%u", IP_ARGS(src), c->peer_port);
	} else if (!tcp_ack(ns, rd32(t + 8), rd16(t + 14))) {
		return;
	}
	if (dlen || (flags & TCP_FIN)) {
		ack = true;
		skip = c->rcv_nxt - seq; /* bytes of the segment we already have */
		if ((int32_t)skip < 0) {
			/* Out of order: dropped; the duplicate ACK says where we are. */
			tcp_output(ns, true);
			return;
		}
		if (skip <= dlen && c->state == TCP_ESTABLISHED) {
			uint32_t at = (c->head + c->len) % TCP_BUF_SIZE, first;

			data += skip;
			dlen -= skip;
			take = min_u32(dlen, TCP_BUF_SIZE - c->len);
			first = min_u32(take, TCP_BUF_SIZE - at);
			memcpy(c->buf + at, data, first);
			memcpy(c->buf, data + first, take - first);
			c->len += take;
			c->rcv_nxt += take;
			c->bytes += take;
			if ((flags & TCP_FIN) && take == dlen) {
				c->rcv_nxt++;
				c->fin_rcvd = true;
				c->state = TCP_CLOSE_WAIT;
			}
		}
	}
	tcp_output(ns, ack);
}

void ns_tcp_listen(struct netstack *ns, uint16_t port)
{
	ns->tcp_port = port;
	ns->tcp.state = TCP_LISTEN;
}

/* ---- Input ---- */

static void ip_input(struct netstack *ns, const uint8_t *mac, const uint8_t *p, size_t len)
{
	size_t ihl, total;
	uint32_t src, dst;
	uint8_t proto;
	bool to_us;

	if (len < IP_HLEN || p[0] >> 4 != 4)
		return;
	ihl = (p[0] & 0xf) * 4;
	total = rd16(p + 2);
	if (ihl < IP_HLEN || total < ihl || total > len || csum_fold(csum_add(0, p, ihl)) ||
	    (rd16(p + 6) & IP_FRAG_MASK))
		return;
	proto = p[9];
	src = rd32(p + 12);
	dst = rd32(p + 16);
	to_us = ns->ip && dst == ns->ip;
	p += ihl;
	len = total - ihl;
	switch (proto) {
	case IP_PROTO_ICMP:
		if (to_us)
			icmp_input(ns, mac, src, p, len);
		break;
	case IP_PROTO_TCP:
		if (to_us)
			tcp_input(ns, mac, src, dst, p, len);
		break;
	case IP_PROTO_UDP:
		/* Without an address yet, DHCP replies may be for the offered one. */
		if (to_us || !ns->ip || dst == IP_BROADCAST || dst == (ns->ip | ~ns->mask))
			udp_input(ns, src, dst, p, len);
		break;
	}
}

void ns_poll(struct netstack *ns)
{
	const uint8_t *f;
	size_t len;
	uint64_t now;

	while ((len = net_recv(ns->nd, &f))) {
		if (len < ETH_HLEN || (!(f[0] & 1) && memcmp(f, ns->mac, ETH_ALEN)))
			continue; /* a bridge floods unicast for others too */
		if (rd16(f + 12) == ETH_P_ARP)
			arp_input(ns, f + ETH_HLEN, len - ETH_HLEN);
		else if (rd16(f + 12) == ETH_P_IP)
			ip_input(ns, f + ETH_ALEN, f + ETH_HLEN, len - ETH_HLEN);
	}
	now = rdtsc();
	dhcp_timer(ns, now);
	tcp_timer(ns, now);
}

/* ---- Command-line values ---- */

bool ns_parse_u64(const char *s, size_t len, uint64_t *v)
{
	uint64_t n = 0;

	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (s[i] - '0');
	}
	*v = n;
	return true;
}

bool ns_parse_ip(const char *s, size_t len, uint32_t *ip, int *prefix)
{
	const char *end = s + len;
	uint32_t a = 0;
	uint64_t n;

	for (int i = 0; i < 4; i++) {
		const char *p = s;

		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (!ns_parse_u64(s, p - s, &n) || n > 255)
			return false;
		a = a << 8 | n;
		if (i < 3 && (p == end || *p != '.'))
			return false;
		s = i < 3 ? p + 1 : p;
	}
	*ip = a;
	if (s == end) {
		if (prefix)
			*prefix = -1;
		return true;
	}
	if (!prefix || *s != '/' || !ns_parse_u64(s + 1, end - s - 1, &n) || n > 32)
		return false;
	*prefix = n;
	return true;
}

bool ns_parse_mac(const char *s, size_t len, uint8_t *mac)
{
	if (len != 3 * ETH_ALEN - 1)
		return false;
	for (unsigned int i = 0; i < ETH_ALEN; i++) {
		uint8_t b = 0;

		for (unsigned int j = 0; j < 2; j++) {
			char ch = s[3 * i + j];

			b <<= 4;
			if (ch >= '0' && ch <= '9')
				b |= ch - '0';
			else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
				b |= (ch | 0x20) - 'a' + 10;
			else
				return false;
		}
		if (i < ETH_ALEN - 1 && s[3 * i + 2] != ':')
			return false;
		mac[i] = b;
	}
	return true;
}
