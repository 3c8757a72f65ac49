// SPDX-License-Identifier: MIT
/*
 * virtio-net robustness, against the first NIC.  Each case gets a freshly
 * initialised device, one malformed chain on the transmit (or control)
 * queue and a kick; the device should set NEEDS_RESET, or may consume the
 * chain harmlessly.  Either way the guest then resets and re-initialises it
 * and one good frame must go out.  Then the receive queue is starved: its
 * buffers are posted once and never refilled for STARVE_SECONDS while the
 * host floods the guest, and a frame a second must still be transmitted.
 * At the end the buffers are reposted and an ARP reply for ARP_TARGET must
 * come in.  Everything but the probe, the TSC calibration and the printing
 * runs at CPL3.
 * Lines:
 *   net-hostile: <case> needs-reset | dropped | ignored | skipped (<why>)
 *   net-hostile: <case> recovered | FAIL <detail>
 *   net-hostile: starving rx
 *   net-hostile: starved N s: T of N tx frames completed, R of Q rx buffers used
 *   net-hostile: rx recovered (...) | rx FAIL <detail>
 *   net-hostile: done
 * Exit 0, or 1 if any line says FAIL.
 */
#include "mm.h"
#include "netstack.h"

#include <errno.h>

#define QSIZE	       16
#define OOB_ADDR       0x7000000000ULL /* no RAM or device there, in kvmini or QEMU */
#define PUMP_ETHERTYPE 0x88b5
#define ETH_P_ARP      0x0806
#define STARVE_SECONDS 10
#define RX_SECONDS     5
#define GUEST_IP       0x0a00020f /* 10.0.2.15 */
#define ARP_TARGET     0x0a000201 /* 10.0.2.1: the test's namespace */
#define LONG_CHAIN     (2 * QSIZE + 2)
#define PIECE	       2 /* bytes of frame per entry of the long chain */

enum outcome { OUT_FLAGGED, OUT_CONSUMED, OUT_IGNORED, OUT_SKIP };

struct result {
	enum outcome outcome;
	int init_err;	 /* net_init before the case */
	int recover_err; /* net_init after it, or the good frame */
	uint8_t status;	 /* device_status when the good frame failed */
};

struct hostile_case {
	const char *name;
	/* Builds and publishes a bad chain: its queue, or NULL for a missing feature. */
	struct virtq *(*build)(void);
};

static struct net_dev nic;
static uint64_t tsc_hz;
/* A zeroed virtio_net_hdr and then a frame, in one buffer: what a good chain would carry. */
static uint8_t *pkt;
static struct virtq_desc *table, *table2; /* indirect tables */

static void set_desc(volatile struct virtq_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* A broadcast frame of @type from our MAC: the payload starts at ETH_HLEN. */
static void eth_header(uint8_t *f, uint16_t type)
{
	memset(f, 0xff, ETH_ALEN);
	memcpy(f + ETH_ALEN, nic.mac, ETH_ALEN);
	put16(f + 2 * ETH_ALEN, type);
}

/* An ARP request (RFC 826) for ARP_TARGET from GUEST_IP, padded to NET_FRAME_MIN. */
static size_t arp_request(uint8_t *f)
{
	uint8_t *a = f + ETH_HLEN;

	memset(f, 0, NET_FRAME_MIN);
	eth_header(f, ETH_P_ARP);
	put16(a, 1);	      /* Ethernet */
	put16(a + 2, 0x0800); /* IPv4 */
	a[4] = ETH_ALEN;
	a[5] = 4;
	put16(a + 6, 1); /* request */
	memcpy(a + 8, nic.mac, ETH_ALEN);
	put32(a + 14, GUEST_IP);
	put32(a + 24, ARP_TARGET);
	return NET_FRAME_MIN;
}

static bool is_arp_reply(const uint8_t *f, size_t len)
{
	const uint8_t *a = f + ETH_HLEN;
	static const uint8_t sender[] = { 0x0a, 0, 2, 1 }; /* ARP_TARGET */

	return len >= ETH_HLEN + 28 && f[12] == ETH_P_ARP >> 8 && f[13] == (ETH_P_ARP & 0xff) &&
	       a[6] == 0 && a[7] == 2 && !memcmp(a + 14, sender, 4) &&
	       !memcmp(a + 18, nic.mac, ETH_ALEN);
}

/* Send a 0x88b5 frame and wait up to a second for the device to complete it. */
static int send_good(void)
{
	uint8_t f[NET_FRAME_MIN] = { 0 };
	uint64_t t0 = rdtsc();
	int ret;

	eth_header(f, PUMP_ETHERTYPE);
	ret = net_send(&nic, f, sizeof(f));
	if (ret)
		return ret;
	while (net_tx_reclaim(&nic)) {
		if (rdtsc() - t0 > tsc_hz)
			return -ETIMEDOUT;
		cpu_pause();
	}
	return 0;
}

/* Header and frame as separate readable descriptors, the frame's one taken from the caller. */
static int header_desc(struct virtq *q, uint16_t next)
{
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)pkt, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, next);
	return a;
}

static struct virtq *build_write_only(void)
{
	struct virtq *q = nic.txq;
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)pkt, NET_HDR_LEN + NET_FRAME_MIN, VIRTQ_DESC_F_WRITE, 0);
	virtq_publish(q, a);
	return q;
}

static struct virtq *build_short_header(void)
{
	struct virtq *q = nic.txq;
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)pkt, NET_HDR_LEN - 4, 0, 0);
	virtq_publish(q, a);
	return q;
}

static struct virtq *build_loop(void)
{
	struct virtq *q = nic.txq;
	int b = virtq_alloc_desc(q), a = header_desc(q, b);

	set_desc(&q->desc[b], (uintptr_t)pkt + NET_HDR_LEN, NET_FRAME_MIN, VIRTQ_DESC_F_NEXT, a);
	virtq_publish(q, a);
	return q;
}

static struct virtq *build_next_oob(void)
{
	struct virtq *q = nic.txq;

	virtq_publish(q, header_desc(q, q->size + 5));
	return q;
}

static struct virtq *build_addr_oob(void)
{
	struct virtq *q = nic.txq;
	int b = virtq_alloc_desc(q), a = header_desc(q, b);

	set_desc(&q->desc[b], OOB_ADDR, NET_FRAME_MIN, 0, 0);
	virtq_publish(q, a);
	return q;
}

static struct virtq *build_zero_len(void)
{
	struct virtq *q = nic.txq;
	int c = virtq_alloc_desc(q), b = virtq_alloc_desc(q), a = header_desc(q, b);

	set_desc(&q->desc[b], (uintptr_t)pkt + NET_HDR_LEN, 0, VIRTQ_DESC_F_NEXT, c);
	set_desc(&q->desc[c], (uintptr_t)pkt + NET_HDR_LEN, NET_FRAME_MIN, 0, 0);
	virtq_publish(q, a);
	return q;
}

static void publish_indirect(struct virtq *q, struct virtq_desc *t, unsigned int n)
{
	int a = virtq_alloc_desc(q);

	set_desc(&q->desc[a], (uintptr_t)t, n * sizeof(*t), VIRTQ_DESC_F_INDIRECT, 0);
	virtq_publish(q, a);
}

/* Well-formed readable entries, more of them than the queue has (2.7.5.3.1). */
static struct virtq *build_chain_too_long(void)
{
	struct virtq *q = nic.txq;

	if (!q->indirect)
		return NULL;
	set_desc(&table[0], (uintptr_t)pkt, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	for (unsigned int i = 1; i < LONG_CHAIN; i++)
		set_desc(&table[i], (uintptr_t)pkt + NET_HDR_LEN + (i - 1) * PIECE, PIECE,
			 i + 1 < LONG_CHAIN ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	publish_indirect(q, table, LONG_CHAIN);
	return q;
}

static struct virtq *build_nested_indirect(void)
{
	struct virtq *q = nic.txq;

	if (!q->indirect)
		return NULL;
	set_desc(&table2[0], (uintptr_t)pkt + NET_HDR_LEN, NET_FRAME_MIN, 0, 0);
	set_desc(&table[0], (uintptr_t)pkt, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&table[1], (uintptr_t)table2, sizeof(*table2), VIRTQ_DESC_F_INDIRECT, 0);
	publish_indirect(q, table, 2);
	return q;
}

/* A control command of one byte (the class, no command) and no writable ack byte. */
static struct virtq *build_ctrl_truncated(void)
{
	struct virtq *q = nic.ctrlq;
	int a;

	if (!q)
		return NULL;
	a = virtq_alloc_desc(q);
	pkt[0] = 0; /* VIRTIO_NET_CTRL_RX */
	set_desc(&q->desc[a], (uintptr_t)pkt, 1, 0, 0);
	virtq_publish(q, a);
	return q;
}

static const struct hostile_case cases[] = {
	{ "write-only", build_write_only },
	{ "short-header", build_short_header },
	{ "loop", build_loop },
	{ "next-oob", build_next_oob },
	{ "addr-oob", build_addr_oob },
	{ "zero-len", build_zero_len },
	{ "chain-too-long", build_chain_too_long },
	{ "nested-indirect", build_nested_indirect },
	{ "ctrl-truncated", build_ctrl_truncated },
};

static const struct hostile_case *current;

static int init_nic(void)
{
	return net_init_features(
		&nic, QSIZE, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ));
}

/* The good chain's contents: a zeroed header and a broadcast 0x88b5 frame. */
static void fill_pkt(void)
{
	memset(pkt, 0, NET_HDR_LEN + NET_FRAME_MIN + LONG_CHAIN * PIECE);
	eth_header(pkt + NET_HDR_LEN, PUMP_ETHERTYPE);
}

/* CPL3: one case, from init to the good frame after the reset. */
static long run_case(void *arg)
{
	struct result *r = arg;
	struct virtq *q;
	uint64_t t0;

	r->init_err = init_nic();
	if (r->init_err)
		return 0;
	fill_pkt();
	q = current->build();
	if (!q) {
		r->outcome = OUT_SKIP;
		return 0;
	}
	virtq_kick(&nic.vd, q);
	virtq_notify(q); /* whatever the ring state says */
	r->outcome = OUT_IGNORED;
	for (t0 = rdtsc(); rdtsc() - t0 < tsc_hz; cpu_pause()) {
		/* The flag is set before a chain would be completed: look at it last. */
		bool used = virtq_has_used(q);

		if (virtio_get_status(&nic.vd) & VIRTIO_STATUS_NEEDS_RESET) {
			r->outcome = OUT_FLAGGED;
			break;
		}
		if (used) {
			r->outcome = OUT_CONSUMED;
			break;
		}
	}
	r->recover_err = init_nic();
	if (!r->recover_err)
		r->recover_err = send_good();
	if (r->recover_err)
		r->status = virtio_get_status(&nic.vd);
	return 0;
}

static struct {
	unsigned int tx_sent, tx_done;
	uint16_t rx_used; /* receive buffers the device filled while starved */
	int tx_err;	  /* the first failed keep-alive frame */
	bool arp_reply;
	uint64_t rx_frames; /* received after the buffers came back */
	uint64_t rx_ticks;  /* from the repost to the ARP reply */
} starve;

static long setup_starve(void *arg)
{
	(void)arg;
	return init_nic();
}

/* CPL3: no receive buffer is given back; a keep-alive frame a second must go out. */
static long run_starve(void *arg)
{
	(void)arg;
	for (unsigned int s = 0; s < STARVE_SECONDS; s++) {
		uint64_t t0 = rdtsc();
		int ret = send_good();

		starve.tx_sent++;
		if (!ret)
			starve.tx_done++;
		else if (!starve.tx_err)
			starve.tx_err = ret;
		while (rdtsc() - t0 < tsc_hz)
			cpu_pause();
	}
	starve.rx_used = nic.rxq->used->idx;
	return 0;
}

/* CPL3: take every frame (which reposts the buffers) until the ARP reply or RX_SECONDS. */
static long run_rx_recover(void *arg)
{
	uint8_t f[NET_FRAME_MIN];
	uint64_t t0 = rdtsc(), sent = 0;

	(void)arg;
	while (rdtsc() - t0 < RX_SECONDS * tsc_hz) {
		const uint8_t *frame;
		size_t len = net_recv(&nic, &frame);

		if (len) {
			starve.rx_frames++;
			if (is_arp_reply(frame, len)) {
				starve.arp_reply = true;
				break;
			}
			continue;
		}
		/* An ARP request a second: the flood may be over already. */
		if (rdtsc() - t0 >= sent * tsc_hz) {
			net_send(&nic, f, arp_request(f));
			sent++;
		}
		net_tx_reclaim(&nic);
	}
	starve.rx_ticks = rdtsc() - t0;
	return 0;
}

static long alloc_buffers(void *arg)
{
	(void)arg;
	pkt = mm_alloc(NET_HDR_LEN + NET_FRAME_MIN + LONG_CHAIN * PIECE, 64);
	table = mm_alloc(LONG_CHAIN * sizeof(*table), 16);
	table2 = mm_alloc(sizeof(*table2), 16);
	return pkt && table && table2 ? 0 : -ENOMEM;
}

static const char *outcome_name(enum outcome o)
{
	switch (o) {
	case OUT_FLAGGED:
		return "needs-reset";
	case OUT_CONSUMED:
		return "dropped";
	case OUT_IGNORED:
		return "ignored (neither NEEDS_RESET nor completed)";
	case OUT_SKIP:
		break;
	}
	return "skipped (feature not negotiated)";
}

static bool run_cases(void)
{
	bool ok = true;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct result r = { 0 };
		const char *name = cases[i].name;

		current = &cases[i];
		run_user(run_case, &r);
		if (r.init_err) {
			printf("net-hostile: %s FAIL init %d\n", name, r.init_err);
			ok = false;
			continue;
		}
		printf("net-hostile: %s %s\n", name, outcome_name(r.outcome));
		if (r.outcome == OUT_SKIP)
			continue;
		if (r.recover_err) {
			printf("net-hostile: %s FAIL no good frame after the reset: %d "
			       "(device_status %#x)\n",
			       name, r.recover_err, r.status);
			ok = false;
		} else {
			printf("net-hostile: %s recovered\n", name);
		}
	}
	return ok;
}

static bool run_starvation(void)
{
	long ret = run_user(setup_starve, NULL);
	bool ok = true;

	if (ret) {
		printf("net-hostile: rx FAIL init %ld\n", ret);
		return false;
	}
	printf("net-hostile: starving rx\n");
	run_user(run_starve, NULL);
	printf("net-hostile: starved %u s: %u of %u tx frames completed, %u of %u rx buffers "
	       "used\n",
	       STARVE_SECONDS, starve.tx_done, starve.tx_sent, starve.rx_used, QSIZE);
	if (starve.tx_done != starve.tx_sent) {
		printf("net-hostile: tx FAIL while rx was starved (%d)\n", starve.tx_err);
		ok = false;
	}
	run_user(run_rx_recover, NULL);
	if (starve.arp_reply) {
		printf("net-hostile: rx recovered (ARP reply from " IP_FMT " after %lu ms, %lu "
		       "frames)\n",
		       IP_ARGS(ARP_TARGET), starve.rx_ticks * 1000 / tsc_hz, starve.rx_frames);
	} else {
		printf("net-hostile: rx FAIL no ARP reply from " IP_FMT " in %u s (%lu frames, "
		       "device_status %#x)\n",
		       IP_ARGS(ARP_TARGET), RX_SECONDS, starve.rx_frames,
		       virtio_get_status(&nic.vd));
		ok = false;
	}
	return ok;
}

int main(void)
{
	int ret;
	bool ok;

	tsc_hz = ns_tsc_hz();
	ret = net_probe(&nic, 0);
	if (!ret)
		ret = run_user(alloc_buffers, NULL);
	if (ret) {
		printf("net-hostile: FAIL no virtio-net device or no memory (%d)\n", ret);
		return GUEST_EXIT_FAIL;
	}
	ok = run_cases();
	ok &= run_starvation();
	printf("net-hostile: done\n");
	return ok ? GUEST_EXIT_OK : GUEST_EXIT_FAIL;
}
