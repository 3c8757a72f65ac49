// SPDX-License-Identifier: MIT
/*
 * Prints "counter: N", N = 1, 2, 3..., one line about every 10 ms of TSC
 * time, for the control-plane tests: while the VM is stopped the count does
 * not move.  The waiting runs at CPL3 (native on PVM hosts), the printing
 * at CPL0 (port I/O faults at CPL3 there), a few hundred instructions a
 * line.
 *
 * The ACPI power button is enabled in PM1_EN: its SCI (IRQ 9) makes the
 * guest print "counter: power button" and power off through S5, as an OS
 * does.  "limit=N" on the command line ends the guest after N lines
 * (exit 0; without it, it counts until stopped).  "fill=M" first fills M
 * MiB of RAM with a pattern (at CPL3: native speed on PVM hosts), checked
 * after the last line ("counter: fill ok"): the snapshot tests' and
 * benchmark's guest RAM that is not zero.
 *
 * Devices in use across a snapshot (the tests save, kill and restore the VM
 * in the middle of this):
 *   blk=1  the first virtio-blk disk (at least 64 sectors), completions by
 *          MSI-X (vector 0x40).  Tick N writes sector N % 64 full of N (64
 *          little-endian u64 words), then reads sector (N - 1) % 64 and
 *          checks it holds N - 1 (from tick 2 on).  Each request must
 *          complete with status OK and an interrupt.
 *   net=1  the first virtio-net NIC, static 10.0.2.15/24 (user-mode
 *          networking's guest address): tick N sends an ICMP echo request
 *          with seq N (mod 2^16) to the gateway 10.0.2.2, which must answer
 *          (a reply after 200 ms or more adds "counter: net slow tick N: ...").
 * Both run at CPL3 (MMIO and RAM; the MSI-X handler runs at CPL0), so a
 * tick costs few emulated instructions.  Waits are bounded (2 s for a
 * request, 0.5 s for a reply) in time the guest ran: a TSC jump of more than
 * 10 ms between two looks (the VM was stopped, its vCPU preempted) is not
 * counted.  Anything wrong prints one line, "counter: blk BAD ..." or
 * "counter: net BAD ...", and the guest exits 1 (kvmini exit status 3).
 * With limit=, the last line says what was done ("counter: blk ok, W
 * writes, R reads, I interrupts", "counter: net ok, R replies").
 */
#include "acpi.h"
#include "mm.h"
#include "netstack.h"
#include "virtio_blk.h"

#include <errno.h>

#define TICK_TSC      20000000ULL /* ~10 ms at 2 GHz */
#define SCI_IRQ	      9
#define FADT_PM1A_EVT 56 /* PM1a_EVT_BLK: PM1_STS, then PM1_EN 2 bytes on */
#define PM1_PWRBTN    (1u << 8)

#define BLK_MSIX_VEC   0x40
#define BLK_SLOTS      64 /* sectors the ticks cycle through */
#define BLK_WORDS      (BLK_SECTOR / 8)
#define BLK_WAIT_MS    2000
#define NET_WAIT_MS    500
#define NET_SLOW_MS    200	  /* slirp answers in well under 1 ms */
#define NET_ARP_TRIES  3	  /* a second apart */
#define NET_GUEST_IP   0x0a00020f /* 10.0.2.15 */
#define NET_GATEWAY_IP 0x0a000202 /* 10.0.2.2 */
#define NET_MASK       0xffffff00

static volatile bool power_button;
static uint16_t pm1_evt;
static uint64_t tsc_hz;

static void sci_handler(struct trap_frame *tf)
{
	uint16_t sts = inw(pm1_evt);

	(void)tf;
	/* Writing the status bit back clears it and drops the (level) SCI. */
	outw(pm1_evt, sts & PM1_PWRBTN);
	if (sts & PM1_PWRBTN)
		power_button = true;
}

/* CPL3: one tick, or less when the power button was pressed. */
static long wait_tick(void *arg)
{
	uint64_t t0 = rdtsc();

	(void)arg;
	while (rdtsc() - t0 < TICK_TSC && !power_button)
		cpu_pause();
	return 0;
}

struct fill {
	uint64_t *p;
	size_t words;
};

static uint64_t fill_word(size_t i)
{
	return i * 0x9e3779b97f4a7c15ULL | 1;
}

/* CPL3: allocate and fill; 0 or -1 when RAM runs out. */
static long fill_mem(void *arg)
{
	struct fill *f = arg;

	f->p = mm_alloc(f->words * 8, 4096);
	if (!f->p)
		return -1;
	for (size_t i = 0; i < f->words; i++)
		f->p[i] = fill_word(i);
	return 0;
}

/* CPL3: the number of words that changed. */
static long check_mem(void *arg)
{
	const struct fill *f = arg;
	long bad = 0;

	for (size_t i = 0; i < f->words; i++)
		bad += f->p[i] != fill_word(i);
	return bad;
}

static unsigned long parse_number(const char *key)
{
	const char *v;
	size_t len;
	unsigned long n = 0;

	if (!cmdline_get(key, &v, &len))
		return 0;
	for (; len && *v >= '0' && *v <= '9'; v++, len--)
		n = n * 10 + (unsigned long)(*v - '0');
	return n;
}

/*
 * Bounded waits in the time the guest ran: gaps of more than 10 ms between
 * two looks at the TSC (a stopped VM, a preempted vCPU) do not count.
 */
struct waited {
	uint64_t last, total;
};

static void wait_start(struct waited *w)
{
	w->last = rdtsc();
	w->total = 0;
}

static bool wait_over(struct waited *w, unsigned int ms)
{
	uint64_t now = rdtsc(), d = now - w->last;

	w->last = now;
	if (d < tsc_hz / 100)
		w->total += d;
	return w->total > tsc_hz / 1000 * ms;
}

/* ---- blk=1 ------------------------------------------------------------- */

enum blk_result { BLK_OK, BLK_WRITE_FAILED, BLK_READ_FAILED, BLK_MISMATCH };

/* Request outcomes besides a status byte and -errno. */
#define BLK_NO_IRQ  (-1000) /* completed, but no interrupt came */
#define BLK_NO_DONE (-1001) /* an interrupt came, but no completion */

static struct {
	bool on;
	struct blk_dev dev;
	uint64_t *buf; /* one sector */
	unsigned long writes, reads;
	/* what went wrong, for the message */
	int status;
	unsigned int word;
	uint64_t found;
} blk;

static void blk_msix(struct trap_frame *tf)
{
	(void)tf;
	blk_irq(&blk.dev);
}

/*
 * CPL3, interrupts on: one request on blk.buf; its status byte, -errno,
 * BLK_NO_IRQ or BLK_NO_DONE.  The interrupt is waited for before the used
 * ring is looked at, as an interrupt-driven driver does: reaping first
 * would move used_event past the completion, and with EVENT_IDX the device
 * then rightly sends no interrupt for it.
 */
static int blk_request(uint32_t type, uint64_t sector)
{
	struct virtq_buf data = { (uintptr_t)blk.buf, BLK_SECTOR, false };
	unsigned int irqs = blk.dev.irqs;
	struct blk_req r;
	struct waited w;
	int ret = blk_submit(&blk.dev, &r, type, sector, &data, 1, false);

	if (ret)
		return ret;
	blk_kick(&blk.dev);
	wait_start(&w);
	while (blk.dev.irqs == irqs && !wait_over(&w, BLK_WAIT_MS))
		cpu_pause();
	blk_reap(&blk.dev);
	if (!*(volatile bool *)&r.done)
		return blk.dev.irqs == irqs ? -ETIMEDOUT : BLK_NO_DONE; /* it stays: we exit */
	return blk.dev.irqs == irqs ? BLK_NO_IRQ : r.status;
}

/* CPL3: tick N's write and read; an enum blk_result. */
static long blk_tick(void *arg)
{
	unsigned long n = *(unsigned long *)arg;

	for (unsigned int i = 0; i < BLK_WORDS; i++)
		blk.buf[i] = n;
	blk.status = blk_request(VIRTIO_BLK_T_OUT, n % BLK_SLOTS);
	if (blk.status != VIRTIO_BLK_S_OK)
		return BLK_WRITE_FAILED;
	blk.writes++;
	if (n < 2)
		return BLK_OK;
	memset(blk.buf, 0xee, BLK_SECTOR);
	blk.status = blk_request(VIRTIO_BLK_T_IN, (n - 1) % BLK_SLOTS);
	if (blk.status != VIRTIO_BLK_S_OK)
		return BLK_READ_FAILED;
	blk.reads++;
	for (unsigned int i = 0; i < BLK_WORDS; i++) {
		if (blk.buf[i] != n - 1) {
			blk.word = i;
			blk.found = blk.buf[i];
			return BLK_MISMATCH;
		}
	}
	return BLK_OK;
}

static long blk_setup(void *arg)
{
	int ret = blk_init(&blk.dev, BLK_FEATURES, 0, true);

	(void)arg;
	if (ret)
		return ret;
	if (blk.dev.capacity < BLK_SLOTS)
		return -ENOSPC;
	blk.buf = mm_alloc(BLK_SECTOR, 4096);
	return blk.buf ? 0 : -ENOMEM;
}

/* CPL0: find and set up the disk; false after printing why not. */
static bool blk_start(void)
{
	long ret = blk_probe(&blk.dev);

	if (!ret) {
		trap_register(BLK_MSIX_VEC, blk_msix);
		ret = virtio_msix_setup(&blk.dev.vd, 0, lapic_id(), BLK_MSIX_VEC);
	}
	if (!ret)
		ret = run_user(blk_setup, NULL);
	if (ret) {
		printf("counter: blk BAD no usable virtio-blk disk with MSI-X and %u sectors (%ld)\n",
		       BLK_SLOTS, ret);
		return false;
	}
	printf("counter: blk %lu sectors, MSI-X vector %#x\n", blk.dev.capacity, BLK_MSIX_VEC);
	return true;
}

static const char *blk_status_text(int status, char *buf, size_t size)
{
	if (status == -ETIMEDOUT)
		snprintf(buf, size, "no completion and no interrupt in %u ms", BLK_WAIT_MS);
	else if (status == BLK_NO_IRQ)
		snprintf(buf, size, "completed, but no MSI-X interrupt in %u ms", BLK_WAIT_MS);
	else if (status == BLK_NO_DONE)
		snprintf(buf, size, "an MSI-X interrupt, but no completion");
	else if (status < 0)
		snprintf(buf, size, "error %d", status);
	else
		snprintf(buf, size, "status %d", status);
	return buf;
}

/* CPL0: tick N on the disk; false after printing what went wrong. */
static bool blk_step(unsigned long n)
{
	unsigned long prev = n - 1;
	char text[64];

	switch (run_user(blk_tick, &n)) {
	case BLK_OK:
		return true;
	case BLK_WRITE_FAILED:
		printf("counter: blk BAD tick %lu: write of sector %lu: %s\n", n, n % BLK_SLOTS,
		       blk_status_text(blk.status, text, sizeof(text)));
		break;
	case BLK_READ_FAILED:
		printf("counter: blk BAD tick %lu: read of sector %lu: %s\n", n, prev % BLK_SLOTS,
		       blk_status_text(blk.status, text, sizeof(text)));
		break;
	default:
		printf("counter: blk BAD tick %lu: sector %lu word %u holds %#lx, expected %#lx\n",
		       n, prev % BLK_SLOTS, blk.word, blk.found, prev);
		break;
	}
	return false;
}

/* ---- net=1 ------------------------------------------------------------- */

static struct {
	bool on;
	struct net_dev dev;
	struct netstack ns;
	uint8_t gw_mac[ETH_ALEN];
	unsigned long replies;
} net;

/* CPL3: set up the NIC and find the gateway's MAC; 0, -errno, or 1 without an ARP reply. */
static long net_setup(void *arg)
{
	int ret = net_init(&net.dev, 0);

	(void)arg;
	if (ret)
		return ret;
	ns_init(&net.ns, &net.dev, "counter", tsc_hz);
	ns_set_ip(&net.ns, NET_GUEST_IP, NET_MASK, NET_GATEWAY_IP);
	while (!(ret = ns_resolve(&net.ns, NET_GATEWAY_IP, net.gw_mac, NET_ARP_TRIES)))
		ns_poll(&net.ns);
	return ret < 0;
}

/* CPL3: ping the gateway with seq N, wait for the reply; the ms waited, or -1. */
static long net_tick(void *arg)
{
	uint16_t seq = (uint16_t) * (unsigned long *)arg;
	struct waited w;

	net.ns.ping_replied = false;
	ns_ping(&net.ns, NET_GATEWAY_IP, net.gw_mac, seq);
	wait_start(&w);
	do {
		ns_poll(&net.ns);
		if (net.ns.ping_replied && net.ns.ping_seq == seq) {
			net.replies++;
			return (long)(w.total * 1000 / tsc_hz);
		}
	} while (!wait_over(&w, NET_WAIT_MS));
	return -1;
}

/* Lines the stack logged (none are expected with a static address and no TCP). */
static void net_flush_log(void)
{
	console_write(net.ns.log, net.ns.log_len);
	net.ns.log_len = 0;
}

/* CPL0: find and set up the NIC; false after printing why not. */
static bool net_start(void)
{
	long ret = net_probe(&net.dev, 0);

	if (!ret)
		ret = run_user(net_setup, NULL);
	net_flush_log();
	if (ret < 0) {
		printf("counter: net BAD no usable virtio-net device (%ld)\n", ret);
		return false;
	}
	if (ret) {
		printf("counter: net BAD no ARP reply from " IP_FMT "\n", IP_ARGS(NET_GATEWAY_IP));
		return false;
	}
	printf("counter: net " IP_FMT " pings " IP_FMT " (" MAC_FMT ")\n", IP_ARGS(NET_GUEST_IP),
	       IP_ARGS(NET_GATEWAY_IP), MAC_ARGS(net.gw_mac));
	return true;
}

/* CPL0: tick N on the NIC; false after printing what went wrong. */
static bool net_step(unsigned long n)
{
	long ms = run_user(net_tick, &n);

	net_flush_log();
	if (ms >= NET_SLOW_MS)
		printf("counter: net slow tick %lu: reply to ping seq=%u after %ld ms\n", n,
		       (uint16_t)n, ms);
	if (ms >= 0)
		return true;
	printf("counter: net BAD tick %lu: no reply to ping seq=%u from " IP_FMT " in %u ms\n", n,
	       (uint16_t)n, IP_ARGS(NET_GATEWAY_IP), NET_WAIT_MS);
	return false;
}

int main(void)
{
	uint64_t rsdp = guest_start_info() ? guest_start_info()->rsdp_paddr : 0;
	const struct acpi_header *fadt = rsdp ? acpi_find_table(rsdp, "FACP") : NULL;
	unsigned long limit = parse_number("limit");
	struct fill fill = { .words = parse_number("fill") << 17 };

	blk.on = parse_number("blk");
	net.on = parse_number("net");
	if (fadt && fadt->length >= FADT_PM1A_EVT + 4) {
		pm1_evt = (uint16_t) * (const uint32_t *)((const uint8_t *)fadt + FADT_PM1A_EVT);
		trap_register(PIC_VECTOR(SCI_IRQ), sci_handler);
		pic_init();
		pic_unmask(SCI_IRQ);
		outw(pm1_evt + 2, PM1_PWRBTN);
		irq_enable();
	}
	if (fill.words && run_user(fill_mem, &fill)) {
		printf("counter: fill: out of memory\n");
		return GUEST_EXIT_FAIL;
	}
	if (blk.on || net.on)
		tsc_hz = ns_tsc_hz();
	if (blk.on) {
		if (!pm1_evt)
			pic_init(); /* software-enables the local APIC */
		if (!blk_start())
			return GUEST_EXIT_FAIL;
		irq_enable();
	}
	if (net.on && !net_start())
		return GUEST_EXIT_FAIL;
	printf("counter: ready%s\n", pm1_evt ? " (power button on)" : "");
	for (unsigned long n = 1; !limit || n <= limit; n++) {
		run_user(wait_tick, NULL);
		if (power_button) {
			console_puts("counter: power button\n");
			if (!acpi_power_off(rsdp))
				return GUEST_EXIT_FAIL;
			for (;;)
				irq_wait(); /* the VMM ends the VM */
		}
		if (blk.on && !blk_step(n))
			return GUEST_EXIT_FAIL;
		if (net.on && !net_step(n))
			return GUEST_EXIT_FAIL;
		printf("counter: %lu\n", n);
	}
	if (fill.words) {
		long bad = run_user(check_mem, &fill);

		printf("counter: fill %s (%ld words changed)\n", bad ? "BAD" : "ok", bad);
		if (bad)
			return GUEST_EXIT_FAIL;
	}
	if (blk.on)
		printf("counter: blk ok, %lu writes, %lu reads, %u interrupts\n", blk.writes,
		       blk.reads, blk.dev.irqs);
	if (net.on)
		printf("counter: net ok, %lu replies\n", net.replies);
	return GUEST_EXIT_OK;
}
