// SPDX-License-Identifier: MIT
/*
 * Raw Ethernet packet pump for benchmarks: sends or counts frames of
 * EtherType 0x88b5 (IEEE local experimental), polling at CPL3.
 * Command line:
 *   mode=tx size=N count=N dst=MAC   send count frames (default 100000) of
 *                                    size bytes (60-2036, default 1514, no
 *                                    FCS) to dst (default broadcast)
 *   mode=rx count=N timeout=S        count frames of that EtherType until
 *                                    count (default 100000) or S seconds
 *                                    (default 30) from the start
 *   nic=N                            the Nth virtio-net device (default 0)
 * Lines: "net-pump: mac <mac>", "net-pump: rx ready" (rx, before waiting),
 *   net-pump: tx frames=N bytes=N ticks=N tsc_hz=N
 *   net-pump: rx frames=N bytes=N ticks=N tsc_hz=N
 * tx ticks run from the first send until the device has completed every
 * frame; rx ticks from the first counted frame to the last.  bytes count
 * Ethernet frames without FCS.  Exit 0; 1 for a bad option, no NIC, a
 * transmit ring that stopped moving for 5 s, or an rx timeout.
 */
#include "netstack.h"

#define PUMP_ETHERTYPE	0x88b5
#define DEFAULT_COUNT	100000
#define DEFAULT_SIZE	1514
#define DEFAULT_TIMEOUT 30
#define STALL_SECONDS	5

static struct net_dev nic;
static uint64_t tsc_hz;
static uint8_t frame[NET_TX_FRAME_MAX];

static struct {
	bool tx;
	uint8_t dst[ETH_ALEN];
	uint64_t size, count, timeout, nic;
} opt = { false,	   { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	  DEFAULT_SIZE,	   DEFAULT_COUNT,
	  DEFAULT_TIMEOUT, 0 };

static struct {
	uint64_t frames, bytes, ticks;
	bool failed;
} res;

static bool opt_u64(const char *key, uint64_t *v)
{
	const char *s;
	size_t len;

	return !cmdline_get(key, &s, &len) || ns_parse_u64(s, len, v);
}

/* CPL3: NULL, or the name of a bad option. */
static long parse_options(void *arg)
{
	const char *s;
	size_t len;

	(void)arg;
	if (!cmdline_get("mode", &s, &len) ||
	    !((len == 2 && !memcmp(s, "tx", 2)) || (len == 2 && !memcmp(s, "rx", 2))))
		return (long)"mode= (tx or rx)";
	opt.tx = s[0] == 't';
	if (cmdline_get("dst", &s, &len) && !ns_parse_mac(s, len, opt.dst))
		return (long)"dst=";
	if (!opt_u64("size", &opt.size) || opt.size < NET_FRAME_MIN || opt.size > NET_TX_FRAME_MAX)
		return (long)"size=";
	if (!opt_u64("count", &opt.count))
		return (long)"count=";
	if (!opt_u64("timeout", &opt.timeout))
		return (long)"timeout=";
	if (!opt_u64("nic", &opt.nic))
		return (long)"nic=";
	return 0;
}

static long setup(void *arg)
{
	(void)arg;
	return net_init(&nic, 0);
}

static long pump_tx(void *arg)
{
	uint64_t t0, progress;

	(void)arg;
	memcpy(frame, opt.dst, ETH_ALEN);
	memcpy(frame + ETH_ALEN, nic.mac, ETH_ALEN);
	frame[12] = PUMP_ETHERTYPE >> 8;
	frame[13] = PUMP_ETHERTYPE & 0xff;
	for (size_t i = ETH_HLEN; i < opt.size; i++)
		frame[i] = i;
	t0 = progress = rdtsc();
	while (res.frames < opt.count) {
		uint64_t now;

		memcpy(frame + ETH_HLEN, &res.frames, sizeof(res.frames)); /* a sequence number */
		if (!net_send(&nic, frame, opt.size)) {
			res.frames++;
			progress = rdtsc();
			continue;
		}
		now = rdtsc();
		if (now - progress > STALL_SECONDS * tsc_hz) {
			res.failed = true;
			break;
		}
		cpu_pause();
	}
	while (net_tx_reclaim(&nic) && rdtsc() - progress < STALL_SECONDS * tsc_hz)
		cpu_pause();
	res.ticks = rdtsc() - t0;
	res.bytes = res.frames * opt.size;
	return 0;
}

static long pump_rx(void *arg)
{
	uint64_t start = rdtsc(), first = 0, last = 0;

	(void)arg;
	while (res.frames < opt.count) {
		const uint8_t *f;
		size_t len = net_recv(&nic, &f);

		if (!len) {
			if (rdtsc() - start > opt.timeout * tsc_hz) {
				res.failed = true;
				break;
			}
			cpu_pause();
			continue;
		}
		if (len < ETH_HLEN || (f[12] << 8 | f[13]) != PUMP_ETHERTYPE)
			continue;
		last = rdtsc();
		if (!res.frames)
			first = last;
		res.frames++;
		res.bytes += len;
	}
	res.ticks = last - first;
	return 0;
}

int main(void)
{
	const char *bad = (const char *)run_user(parse_options, NULL);
	long ret;

	if (bad) {
		printf("net-pump: bad option %s\n", bad);
		return GUEST_EXIT_FAIL;
	}
	tsc_hz = ns_tsc_hz();
	ret = net_probe(&nic, opt.nic);
	if (!ret)
		ret = run_user(setup, NULL);
	if (ret) {
		printf("net-pump: no usable virtio-net device %lu (%ld)\n", opt.nic, ret);
		return GUEST_EXIT_FAIL;
	}
	printf("net-pump: mac " MAC_FMT "\n", MAC_ARGS(nic.mac));
	if (!opt.tx)
		printf("net-pump: rx ready\n");
	run_user(opt.tx ? pump_tx : pump_rx, NULL);
	printf("net-pump: %s frames=%lu bytes=%lu ticks=%lu tsc_hz=%lu\n", opt.tx ? "tx" : "rx",
	       res.frames, res.bytes, res.ticks, tsc_hz);
	if (nic.rx_errors)
		printf("net-pump: %lu malformed frames dropped\n", nic.rx_errors);
	if (res.failed)
		printf("net-pump: %s\n", opt.tx ? "transmit ring stalled" : "rx timeout");
	return res.failed ? GUEST_EXIT_FAIL : GUEST_EXIT_OK;
}
