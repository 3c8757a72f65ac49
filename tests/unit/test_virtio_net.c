// SPDX-License-Identifier: MIT
/*
 * Unit tests for virtio-net (devices/virtio-net.c) without /dev/kvm: the NIC
 * is created through the -device registry on the harness's hand-made VM, in
 * front of a fake network backend defined here that records what is sent
 * and lets the test hand frames in, and driven like a guest driver drives
 * it, through config space, BAR 4 and its three queues in fake RAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "virtio_harness.h"
#include "iov.h"
#include "net.h"
#include "virtio_net.h"
/* net_attach() takes any backend as a struct netdev. */
#include "../../devices/net/backend.h"

#define DEV_NET	  0x1041
#define QSIZE	  256
#define NR_Q	  3
#define HDR	  VIRTIO_NET_HDR_LEN
#define VERSION_1 (1ULL << VIRTIO_F_VERSION_1)
#define NF(bit)	  (1ULL << VIRTIO_NET_F_##bit)
#define BASE_FEATURES                                                                   \
	(NF(MAC) | NF(STATUS) | NF(MRG_RXBUF) | NF(CTRL_VQ) | NF(CTRL_RX) | VERSION_1 | \
	 1ULL << VIRTIO_F_RING_EVENT_IDX | 1ULL << VIRTIO_F_RING_INDIRECT_DESC)
#define HOST_OFFLOADS (NF(CSUM) | NF(HOST_TSO4) | NF(HOST_TSO6) | NF(HOST_ECN) | NF(HOST_UFO))
#define ALL_OFFLOADS                                                                    \
	(NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_TSO_ECN | \
	 NET_OFFLOAD_UFO)

/* Guest buffers, below H_RING_GPA. */
#define TX_GPA	 0x10000ULL
#define RX_GPA	 0x20000ULL
#define CTRL_GPA 0x30000ULL
#define ACK_GPA	 0x30100ULL

#define MAX_SENT 8

/* A backend that keeps what the NIC sends and does what the test says. */
struct fake_nb {
	struct netdev dev;
	uint8_t sent[MAX_SENT][256];
	size_t sent_len[MAX_SENT];
	unsigned int nr_sent, send_calls;
	unsigned int eagain; /* this many sends say -EAGAIN */
	unsigned int rx_ready_calls, set_offload_calls, offloads;
};

static int fake_send(struct net_backend *nb, const struct iovec *iov, unsigned int iovcnt)
{
	struct fake_nb *f = (struct fake_nb *)nb;
	size_t len = iov_size(iov, iovcnt);

	f->send_calls++;
	if (f->eagain) {
		f->eagain--;
		return -EAGAIN;
	}
	assert_true(len <= sizeof(f->sent[0]));
	if (f->nr_sent < MAX_SENT) /* the first ones are kept */
		f->sent_len[f->nr_sent] = iov_to_buf(iov, iovcnt, 0, f->sent[f->nr_sent], len);
	f->nr_sent++;
	return 0;
}

static void fake_rx_ready(struct net_backend *nb)
{
	((struct fake_nb *)nb)->rx_ready_calls++;
}

static int fake_set_offload(struct net_backend *nb, unsigned int offloads)
{
	struct fake_nb *f = (struct fake_nb *)nb;

	f->set_offload_calls++;
	f->offloads = offloads;
	return 0;
}

static void fake_close(struct net_backend *nb)
{
	free(nb);
}

static int fake_attach(struct netdev *dev)
{
	(void)dev;
	return 0;
}

static const struct net_backend_ops fake_ops = {
	.send = fake_send,
	.rx_ready = fake_rx_ready,
	.set_offload = fake_set_offload,
	.close = fake_close,
};

/* -netdev @id for the next NIC; the NIC that takes it closes it. */
static struct fake_nb *add_netdev(struct harness *h, const char *id, bool vnet_hdr,
				  unsigned int offloads)
{
	/* Not test_calloc(): it outlives the test function, until teardown. */
	struct fake_nb *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dev.nb.ops = &fake_ops;
	f->dev.nb.id = strdup(id); /* net_backend_close() frees it */
	f->dev.nb.vnet_hdr = vnet_hdr;
	f->dev.nb.offloads_supported = offloads;
	f->dev.nb.loop = &h->vm.loop;
	f->dev.attach = fake_attach;
	h->cfg.netdevs[h->cfg.nr_netdevs] = id;
	h->vm.netdevs[h->cfg.nr_netdevs++] = &f->dev.nb;
	return f;
}

/* The driver's view of a NIC: the function and each queue (q[i].ring: queue i's rings). */
struct nic {
	struct harness *h;
	struct fake_nb *f;
	struct vdev v;
	struct vdev q[NR_Q];
};

static void nic_open(struct nic *n, struct harness *h, const char *arg, struct fake_nb *f,
		     unsigned int nth)
{
	assert_int_equal(h_device(h, arg), 0);
	n->h = h;
	n->f = f;
	vdev_open(&n->v, h, h_find(h, DEV_NET, nth));
}

/* Start-up with EVENT_IDX, @extra features and all three queues, up to DRIVER_OK. */
static void nic_start(struct nic *n, uint64_t extra)
{
	struct vdev *v = &n->v;

	assert_true(vdev_negotiate(v, VERSION_1 | 1ULL << VIRTIO_F_RING_EVENT_IDX | extra));
	for (unsigned int i = 0; i < NR_Q; i++) {
		struct vdev *q = &n->q[i];

		*q = *v;
		q->ring = H_RING_GPA + (v->slot * 4 + i) * H_RING_STRIDE;
		q->qsize = QSIZE;
		memset(h_ptr(n->h, q->ring), 0, H_RING_STRIDE);
		vr_write(v, H_Q_SELECT, i, 2);
		vr_write(v, H_Q_SIZE, QSIZE, 2);
		vr_write(v, H_Q_DESC, q->ring, 8);
		vr_write(v, H_Q_AVAIL, q->ring + H_AVAIL_OFF, 8);
		vr_write(v, H_Q_USED, q->ring + H_USED_OFF, 8);
		vr_write(v, H_Q_ENABLE, 1, 2);
	}
	vdev_driver_ok(v);
	vdev_settle(v);
}

static void nic_kick(struct nic *n, unsigned int q)
{
	vr_write(&n->v, H_NOTIFY_OFF + q * H_NOTIFY_MULT, q, 2);
}

/*
 * A driver's kick after making chains available from index @old on: only if
 * the device's avail_event asks for it (2.7.10), as Linux does.
 */
static void nic_notify(struct nic *n, unsigned int q, uint16_t old)
{
	struct vdev *v = &n->q[q];
	uint16_t new = vdev_avail(v)->idx;
	uint16_t *event = h_ptr(n->h, v->ring + H_USED_OFF + VIRTQ_USED_BYTES(v->qsize) - 2);

	if ((uint16_t)(new - *event - 1) < (uint16_t)(new - old))
		nic_kick(n, q);
}

static struct virtio_net_stats nic_stats(struct nic *n)
{
	struct virtio_net_stats st;

	assert_int_equal(virtio_net_get_stats(&n->f->dev.nb, &st), 0);
	return st;
}

/* What the backend does with a frame it read: through the NIC's peer ops. */
static bool peer_can_receive(struct nic *n)
{
	struct net_backend *nb = &n->f->dev.nb;

	return nb->peer->can_receive(nb->peer_opaque);
}

static void peer_receive(struct nic *n, const void *frame, size_t len)
{
	struct net_backend *nb = &n->f->dev.nb;
	struct iovec iov[2] = { { (void *)frame, len / 2 },
				{ (uint8_t *)frame + len / 2, len - len / 2 } };

	nb->peer->receive(nb->peer_opaque, iov, 2);
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

static bool needs_reset(struct nic *n)
{
	return vr_read(&n->v, H_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

static int setup(void **state)
{
	struct harness *h = h_create();

	if (!h)
		return -1;
	err_clear();
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_destroy(*state);
	return 0;
}

static void test_ids_config_and_features(void **state)
{
	struct harness *h = *state;
	struct nic n;
	int slot;

	nic_open(&n, h, "virtio-net-pci,netdev=n0,mac=52:54:00:ab:cd:ef",
		 add_netdev(h, "n0", false, ALL_OFFLOADS), 0);
	slot = (int)n.v.slot;
	assert_int_equal(h_cfg_read(h, slot, PCI_SUBSYSTEM_VENDOR, 4), DEV_NET << 16 | 0x1af4);
	assert_int_equal(h_cfg_read(h, slot, PCI_CLASS_PROG, 2) | h_cfg_read(h, slot, 0x0b, 1)
									  << 16,
			 0x020000);
	assert_int_equal(vr_read(&n.v, H_NUMQ, 2), NR_Q);
	/* No vnet header: no offloads, whatever the backend could do. */
	assert_int_equal(vdev_features(&n.v), BASE_FEATURES);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + VIRTIO_NET_CFG_MAC, 4), 0xab005452);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + 4, 2), 0xefcd);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + VIRTIO_NET_CFG_STATUS, 2),
			 VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 2), 1);
	for (unsigned int q = 0; q < NR_Q; q++) {
		vr_write(&n.v, H_Q_SELECT, q, 2);
		assert_int_equal(vr_read(&n.v, H_Q_SIZE, 2), 256);
	}
	/* Offloads the device never offered do not negotiate. */
	assert_false(vdev_negotiate(&n.v, VERSION_1 | NF(CSUM)));
	assert_true(vdev_negotiate(&n.v, BASE_FEATURES));
	/* Without a vnet header the backend is never asked about offloads. */
	nic_start(&n, 0);
	assert_int_equal(n.f->set_offload_calls, 0);
}

static void test_offload_features_and_mapping(void **state)
{
	struct harness *h = *state;
	struct nic all, none, some;

	nic_open(&all, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", true, ALL_OFFLOADS), 0);
	nic_open(&none, h, "virtio-net-pci,netdev=n1",
		 add_netdev(h, "n1", true, NET_OFFLOAD_TSO4 | NET_OFFLOAD_UFO), 1);
	nic_open(
		&some, h, "virtio-net-pci,netdev=n2",
		add_netdev(h, "n2", true, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO_ECN | NET_OFFLOAD_UFO),
		2);
	assert_int_equal(vdev_features(&all.v), BASE_FEATURES | HOST_OFFLOADS | NF(GUEST_CSUM) |
							NF(GUEST_TSO4) | NF(GUEST_TSO6) |
							NF(GUEST_ECN) | NF(GUEST_UFO));
	/* The guest offloads all need GUEST_CSUM; ECN needs TSO4 or TSO6 (5.1.3.1). */
	assert_int_equal(vdev_features(&none.v), BASE_FEATURES | HOST_OFFLOADS);
	assert_int_equal(vdev_features(&some.v),
			 BASE_FEATURES | HOST_OFFLOADS | NF(GUEST_CSUM) | NF(GUEST_UFO));

	/* DRIVER_OK: the backend takes what was negotiated, once. */
	assert_int_equal(all.f->set_offload_calls, 0);
	nic_start(&all, NF(GUEST_CSUM) | NF(GUEST_TSO6) | NF(GUEST_ECN) | NF(MRG_RXBUF));
	assert_int_equal(all.f->set_offload_calls, 1);
	assert_int_equal(all.f->offloads,
			 NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO6 | NET_OFFLOAD_TSO_ECN);
	nic_kick(&all, VIRTIO_NET_TXQ);
	vdev_settle(&all.v);
	assert_int_equal(all.f->set_offload_calls, 1);
	/* After a reset, the next negotiation counts. */
	nic_start(&all, NF(GUEST_CSUM) | NF(GUEST_TSO4) | NF(GUEST_UFO));
	assert_int_equal(all.f->set_offload_calls, 2);
	assert_int_equal(all.f->offloads, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_UFO);
	nic_start(&all, 0);
	assert_int_equal(all.f->offloads, 0);
	/* A backend without guest offloads is told there are none. */
	nic_start(&none, 0);
	assert_int_equal(none.f->set_offload_calls, 1);
}

/* A TX chain: the header (flags @hflags, gso_type @gso) then @len bytes of frame in two buffers. */
static uint16_t tx_add(struct nic *n, unsigned int slot, uint8_t hflags, uint8_t gso, size_t len,
		       unsigned int seed)
{
	uint64_t gpa = TX_GPA + slot * 0x1000;
	uint8_t *p = h_ptr(n->h, gpa);
	struct vbuf bufs[2] = { { gpa, (uint32_t)(HDR + len / 2), false },
				{ gpa + 0x800, (uint32_t)(len - len / 2), false } };

	memset(p, 0, HDR);
	p[0] = hflags;
	p[1] = gso;
	fill(p + HDR, len / 2, seed);
	fill(h_ptr(n->h, gpa + 0x800), len - len / 2, seed + (unsigned int)(len / 2) * 13);
	return vdev_add(&n->q[VIRTIO_NET_TXQ], bufs, 2);
}

static void expect_frame(const uint8_t *got, size_t len, unsigned int seed)
{
	uint8_t want[256];

	fill(want, len, seed);
	assert_memory_equal(got, want, len);
}

static void test_tx_header_stripped(void **state)
{
	struct harness *h = *state;
	struct nic n;
	uint16_t heads[3];

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	(void)vr_read(&n.v, H_ISR_OFF, 1);
	for (unsigned int i = 0; i < 3; i++)
		heads[i] = tx_add(&n, i, 0, VIRTIO_NET_HDR_GSO_NONE, 60 + i, i);
	nic_notify(&n, VIRTIO_NET_TXQ, 0);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 3));
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(vdev_take(&n.q[VIRTIO_NET_TXQ], heads[i]), 0);
		assert_int_equal(n.f->sent_len[i], 60 + i);
		expect_frame(n.f->sent[i], 60 + i, i);
	}
	assert_int_equal(n.f->nr_sent, 3);
	assert_int_equal(vr_read(&n.v, H_ISR_OFF, 1), 1); /* a queue interrupt (INTx) */

	/* A header asking for an offload that was not offered: dropped, counted, used. */
	heads[0] = tx_add(&n, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_NONE, 60, 0);
	heads[1] = tx_add(&n, 1, 0, 1 /* TCPV4 */, 60, 0);
	nic_notify(&n, VIRTIO_NET_TXQ, 3);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 2));
	vdev_take(&n.q[VIRTIO_NET_TXQ], heads[0]);
	vdev_take(&n.q[VIRTIO_NET_TXQ], heads[1]);
	assert_int_equal(n.f->nr_sent, 3);
	assert_int_equal(nic_stats(&n).tx_errors, 2);
	assert_false(needs_reset(&n));
}

/*
 * After a flush that sent frames the driver is not asked to kick: frames it
 * adds meanwhile go out when the coalescing timer looks again.  A look that
 * finds nothing asks for kicks again (avail_event at the ring's index).
 */
static void test_tx_coalescing(void **state)
{
	struct harness *h = *state;
	struct nic n;
	uint16_t head, *event;

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	event = h_ptr(n.h, n.q[VIRTIO_NET_TXQ].ring + H_USED_OFF +
				   VIRTQ_USED_BYTES(n.q[VIRTIO_NET_TXQ].qsize) - 2);
	head = tx_add(&n, 0, 0, VIRTIO_NET_HDR_GSO_NONE, 60, 0);
	nic_notify(&n, VIRTIO_NET_TXQ, 0);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 1));
	vdev_take(&n.q[VIRTIO_NET_TXQ], head);
	/* The timer is armed and kicks are still off: the next frame needs none. */
	head = tx_add(&n, 1, 0, VIRTIO_NET_HDR_GSO_NONE, 61, 1);
	assert_int_not_equal(*event, 1);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 1));
	vdev_take(&n.q[VIRTIO_NET_TXQ], head);
	assert_int_equal(n.f->nr_sent, 2);
	/* Idle: one more look finds nothing, and kicks are wanted from index 2 on. */
	vdev_settle(&n.q[VIRTIO_NET_TXQ]);
	assert_int_equal(*event, 2);
	head = tx_add(&n, 2, 0, VIRTIO_NET_HDR_GSO_NONE, 62, 2);
	nic_notify(&n, VIRTIO_NET_TXQ, 2);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 1));
	vdev_take(&n.q[VIRTIO_NET_TXQ], head);
	assert_int_equal(n.f->nr_sent, 3);
	assert_false(needs_reset(&n));
}

static void test_tx_header_passthrough(void **state)
{
	struct harness *h = *state;
	struct nic n;
	uint16_t head;

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", true, ALL_OFFLOADS), 0);
	nic_start(&n, NF(CSUM) | NF(HOST_TSO4));
	head = tx_add(&n, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM, 1, 100, 5);
	nic_kick(&n, VIRTIO_NET_TXQ);
	assert_true(vdev_wait(&n.q[VIRTIO_NET_TXQ], 1));
	vdev_take(&n.q[VIRTIO_NET_TXQ], head);
	assert_int_equal(n.f->nr_sent, 1);
	assert_int_equal(n.f->sent_len[0], HDR + 100);
	assert_int_equal(n.f->sent[0][0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(n.f->sent[0][1], 1);
	expect_frame(n.f->sent[0] + HDR, 100, 5);
	assert_int_equal(nic_stats(&n).tx_errors, 0);
}

static void test_tx_eagain_then_writable(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *tx = &n.q[VIRTIO_NET_TXQ];
	uint16_t heads[3];

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	n.f->eagain = 2;
	heads[0] = tx_add(&n, 0, 0, 0, 60, 1);
	heads[1] = tx_add(&n, 1, 0, 0, 61, 2);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	/* The backend is full: the first frame waits, nothing used, nothing lost. */
	assert_int_equal(n.f->send_calls, 1);
	assert_int_equal(vdev_used(tx)->idx, 0);
	/* A kick meanwhile does not retry: writable() does. */
	heads[2] = tx_add(&n, 2, 0, 0, 62, 3);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	assert_int_equal(n.f->send_calls, 1);
	n.f->dev.nb.peer->writable(n.f->dev.nb.peer_opaque);
	assert_int_equal(n.f->send_calls, 2); /* -EAGAIN again */
	assert_int_equal(vdev_used(tx)->idx, 0);
	n.f->dev.nb.peer->writable(n.f->dev.nb.peer_opaque);
	assert_int_equal(n.f->nr_sent, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(vdev_take(tx, heads[i]), 0);
		assert_int_equal(n.f->sent_len[i], 60 + i);
		expect_frame(n.f->sent[i], 60 + i, i + 1);
	}
	/* A reset forgets a waiting frame. */
	n.f->eagain = 1;
	tx_add(&n, 0, 0, 0, 60, 1);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	nic_start(&n, 0);
	n.f->dev.nb.peer->writable(n.f->dev.nb.peer_opaque);
	assert_int_equal(n.f->nr_sent, 3);
}

/* More frames than one turn takes (64): the rest in the next turn of the event loop. */
static void test_tx_budget(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *tx = &n.q[VIRTIO_NET_TXQ];
	uint16_t heads[100];

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	for (unsigned int i = 0; i < 100; i++)
		heads[i] = tx_add(&n, 0, 0, 0, 60, 0);
	nic_kick(&n, VIRTIO_NET_TXQ);
	assert_true(event_loop_poll(&h->vm.loop, 1000) > 0);
	assert_int_equal(vdev_used(tx)->idx, 64);
	assert_true(vdev_wait(tx, 100));
	for (unsigned int i = 0; i < 100; i++)
		vdev_take(tx, heads[i]);
	assert_int_equal(n.f->nr_sent, 100);
}

/* Queue a receive chain of @n buffers of @len bytes each at @gpa. */
static uint16_t rx_add(struct nic *n, uint64_t gpa, unsigned int nbufs, uint32_t len)
{
	struct vbuf bufs[4];

	assert_true(nbufs <= 4);
	for (unsigned int i = 0; i < nbufs; i++)
		bufs[i] = (struct vbuf){ gpa + i * 0x400, len, true };
	memset(h_ptr(n->h, gpa), 0xee, 0x1000);
	return vdev_add(&n->q[VIRTIO_NET_RXQ], bufs, nbufs);
}

static void expect_hdr(const uint8_t *p, uint8_t flags, uint16_t num_buffers)
{
	assert_int_equal(p[0], flags);
	assert_int_equal(get_le(p + VIRTIO_NET_HDR_NUM_BUFFERS, 2), num_buffers);
}

static void test_rx_one_buffer(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *rx = &n.q[VIRTIO_NET_RXQ];
	uint8_t frame[200];
	uint8_t *p = h_ptr(h, RX_GPA);
	uint16_t head;

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	fill(frame, sizeof(frame), 9);
	/* Two descriptors of 128: the header and the frame cross between them. */
	head = rx_add(&n, RX_GPA, 2, 128);
	assert_true(peer_can_receive(&n));
	peer_receive(&n, frame, sizeof(frame));
	assert_true(vdev_wait(rx, 1));
	assert_int_equal(vdev_take(rx, head), HDR + sizeof(frame));
	expect_hdr(p, 0, 1);
	assert_memory_equal(p + HDR, frame, 128 - HDR);
	assert_memory_equal(p + 0x400, frame + 128 - HDR, sizeof(frame) - (128 - HDR));
	assert_int_equal(nic_stats(&n).rx_dropped, 0);
	assert_false(peer_can_receive(&n));

	/* Without MRG_RXBUF a chain too small drops the frame and stays for the next one. */
	head = rx_add(&n, RX_GPA, 1, 100);
	peer_receive(&n, frame, sizeof(frame));
	assert_int_equal(nic_stats(&n).rx_dropped, 1);
	assert_int_equal(vdev_used(rx)->idx, 1);
	peer_receive(&n, frame, 60);
	assert_true(vdev_wait(rx, 1));
	assert_int_equal(vdev_take(rx, head), HDR + 60);
	assert_memory_equal(p + HDR, frame, 60);
}

static void test_rx_vnet_hdr(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *rx = &n.q[VIRTIO_NET_RXQ];
	uint8_t frame[HDR + 64] = { 2 /* DATA_VALID */ };
	uint8_t *p = h_ptr(h, RX_GPA);
	uint16_t head;

	fill(frame + HDR, 64, 3);
	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", true, ALL_OFFLOADS), 0);
	nic_start(&n, NF(GUEST_CSUM));
	head = rx_add(&n, RX_GPA, 1, 256);
	peer_receive(&n, frame, sizeof(frame));
	assert_true(vdev_wait(rx, 1));
	assert_int_equal(vdev_take(rx, head), sizeof(frame));
	expect_hdr(p, 2, 1);
	assert_memory_equal(p + HDR, frame + HDR, 64);
	/* Without GUEST_CSUM the driver gets no checksum flags. */
	nic_start(&n, 0);
	head = rx_add(&n, RX_GPA, 1, 256);
	peer_receive(&n, frame, sizeof(frame));
	assert_true(vdev_wait(rx, 1));
	vdev_take(rx, head);
	expect_hdr(p, 0, 1);
}

static void test_rx_mergeable(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *rx = &n.q[VIRTIO_NET_RXQ];
	uint8_t frame[150];
	uint16_t heads[4];

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, NF(MRG_RXBUF));
	fill(frame, sizeof(frame), 4);
	for (unsigned int i = 0; i < 4; i++)
		heads[i] = rx_add(&n, RX_GPA + i * 0x1000, 1, 64);
	/* 12 + 150 bytes: 64 + 64 + 34, three chains, all used at once. */
	peer_receive(&n, frame, sizeof(frame));
	assert_true(vdev_wait(rx, 3));
	assert_int_equal(vdev_used(rx)->idx, 3);
	assert_int_equal(vdev_take(rx, heads[0]), 64);
	assert_int_equal(vdev_take(rx, heads[1]), 64);
	assert_int_equal(vdev_take(rx, heads[2]), 34);
	expect_hdr(h_ptr(h, RX_GPA), 0, 3);
	assert_memory_equal(h_ptr(h, RX_GPA + HDR), frame, 52);
	assert_memory_equal(h_ptr(h, RX_GPA + 0x1000), frame + 52, 64);
	assert_memory_equal(h_ptr(h, RX_GPA + 0x2000), frame + 116, 34);
	/* One 64-byte chain left: 150 bytes do not fit; the chain is not lost. */
	peer_receive(&n, frame, sizeof(frame));
	assert_int_equal(nic_stats(&n).rx_dropped, 1);
	assert_int_equal(vdev_used(rx)->idx, 3);
	assert_true(peer_can_receive(&n));
	heads[0] = rx_add(&n, RX_GPA, 1, 64);
	peer_receive(&n, frame, 100);
	assert_true(vdev_wait(rx, 2));
	assert_int_equal(vdev_take(rx, heads[3]), 64);
	assert_int_equal(vdev_take(rx, heads[0]), 100 + HDR - 64);
	expect_hdr(h_ptr(h, RX_GPA + 0x3000), 0, 2);
	assert_memory_equal(h_ptr(h, RX_GPA + 0x3000 + HDR), frame, 52);
	assert_memory_equal(h_ptr(h, RX_GPA), frame + 52, 48);
}

static void test_rx_no_buffers_and_rx_ready(void **state)
{
	struct harness *h = *state;
	struct nic n;
	uint8_t frame[60] = { 0 };

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	/* Before DRIVER_OK nothing is taken. */
	assert_false(peer_can_receive(&n));
	peer_receive(&n, frame, sizeof(frame));
	assert_int_equal(nic_stats(&n).rx_dropped, 1);
	nic_start(&n, 0);
	/* DRIVER_OK: the backend may read. */
	assert_int_equal(n.f->rx_ready_calls, 1);
	assert_false(peer_can_receive(&n));
	peer_receive(&n, frame, sizeof(frame));
	assert_int_equal(nic_stats(&n).rx_dropped, 2);
	/* New buffers and a kick: rx_ready(). */
	rx_add(&n, RX_GPA, 1, 128);
	nic_kick(&n, VIRTIO_NET_RXQ);
	vdev_settle(&n.v);
	assert_int_equal(n.f->rx_ready_calls, 2);
	assert_true(peer_can_receive(&n));
}

static void test_tx_hostile_chains(void **state)
{
	struct harness *h = *state;
	struct nic n;
	struct vdev *tx = &n.q[VIRTIO_NET_TXQ];
	struct vbuf writable = { TX_GPA + 0x800, 64, true }, short_hdr = { TX_GPA, 8, false };
	uint16_t head;

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, 0);
	vdev_add(tx, &writable, 1);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	assert_true(needs_reset(&n));
	assert_int_equal(vdev_used(tx)->idx, 0);
	assert_int_equal(n.f->send_calls, 0);
	/* A reset brings it back. */
	nic_start(&n, 0);
	assert_false(needs_reset(&n));
	vdev_add(tx, &short_hdr, 1);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	assert_true(needs_reset(&n));
	nic_start(&n, 0);
	/* A good frame followed by a writable buffer. */
	vdev_add(tx, (struct vbuf[]){ { TX_GPA, HDR + 60, false }, writable }, 2);
	nic_kick(&n, VIRTIO_NET_TXQ);
	vdev_settle(&n.v);
	assert_true(needs_reset(&n));
	assert_int_equal(n.f->send_calls, 0);
	nic_start(&n, 0);
	head = tx_add(&n, 0, 0, 0, 60, 7);
	nic_kick(&n, VIRTIO_NET_TXQ);
	assert_true(vdev_wait(tx, 1));
	vdev_take(tx, head);
	assert_int_equal(n.f->nr_sent, 1);
	expect_frame(n.f->sent[0], 60, 7);
}

/* A control command; the ack the device wrote. */
static uint8_t ctrl(struct nic *n, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	uint8_t *p = h_ptr(n->h, CTRL_GPA), *ack = h_ptr(n->h, ACK_GPA);
	struct vbuf bufs[2] = { { CTRL_GPA, 2 + len, false }, { ACK_GPA, 1, true } };
	struct vdev *q = &n->q[VIRTIO_NET_CTRLQ];
	uint16_t head, old = vdev_avail(q)->idx;

	p[0] = class;
	p[1] = cmd;
	if (len)
		memcpy(p + 2, data, len);
	*ack = 0xee;
	head = vdev_add(q, bufs, 2);
	nic_notify(n, VIRTIO_NET_CTRLQ, old);
	assert_true(vdev_wait(q, 1));
	assert_int_equal(vdev_take(q, head), 1);
	return *ack;
}

static void test_ctrl_queue(void **state)
{
	struct harness *h = *state;
	struct nic n;
	uint8_t on = 1, mac[6] = { 0x52, 0x54, 0, 1, 2, 3 }, mcast[6] = { 1, 0, 0x5e, 0, 0, 1 };
	uint8_t table[8] = { 0 }; /* two empty tables */
	struct vbuf no_ack = { CTRL_GPA, 3, false };

	nic_open(&n, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_start(&n, NF(CTRL_VQ) | NF(CTRL_RX));
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_RX, 1 /* ALLMULTI */, &on, 1), VIRTIO_NET_OK);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_RX, 6, &on, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 8),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
			 VIRTIO_NET_OK);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + 4, 2), 0x0302);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mcast, 6),
			 VIRTIO_NET_ERR);
	assert_int_equal(vr_read(&n.v, H_DEVICE_OFF + 4, 2), 0x0302);
	assert_int_equal(ctrl(&n, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl(&n, 9, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_false(needs_reset(&n));
	/* No ack byte: the driver is broken. */
	vdev_add(&n.q[VIRTIO_NET_CTRLQ], &no_ack, 1);
	nic_kick(&n, VIRTIO_NET_CTRLQ);
	vdev_settle(&n.v);
	assert_true(needs_reset(&n));
}

static uint64_t cfg_mac(struct nic *n)
{
	return vr_read(&n->v, H_DEVICE_OFF, 4) | vr_read(&n->v, H_DEVICE_OFF + 4, 2) << 32;
}

static void test_options_and_default_macs(void **state)
{
	struct harness *h = *state;
	struct fake_nb *spare = add_netdev(h, "n0", false, 0);
	struct nic a, b;
	uint64_t mac;

	assert_int_equal(h_device(h, "virtio-net-pci"), -EINVAL);
	assert_int_equal(h_device(h, "virtio-net-pci,netdev=nope"), -ENOENT);
	assert_int_equal(h_device(h, "virtio-net-pci,netdev=n0,mac=52:54:00:12:34"), -EINVAL);
	assert_int_equal(h_device(h, "virtio-net-pci,netdev=n0,mac=01:54:00:12:34:56"), -EINVAL);
	/* None of those took it. */
	net_backend_close(&spare->dev.nb);
	h->cfg.nr_netdevs = 0;

	nic_open(&a, h, "virtio-net-pci,netdev=n0", add_netdev(h, "n0", false, 0), 0);
	nic_open(&b, h, "virtio-net-pci,netdev=n1", add_netdev(h, "n1", false, 0), 1);
	mac = cfg_mac(&a);
	assert_int_equal(mac & 0xffffffffffULL, 0x3412005452ULL);
	assert_int_equal(cfg_mac(&b), mac + (1ULL << 40));
	assert_int_equal(h_device(h, "virtio-net-pci,netdev=n1"), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_ids_config_and_features),
		T(test_offload_features_and_mapping),
		T(test_tx_header_stripped),
		T(test_tx_coalescing),
		T(test_tx_header_passthrough),
		T(test_tx_eagain_then_writable),
		T(test_tx_budget),
		T(test_rx_one_buffer),
		T(test_rx_vnet_hdr),
		T(test_rx_mergeable),
		T(test_rx_no_buffers_and_rx_ready),
		T(test_tx_hostile_chains),
		T(test_ctrl_queue),
		T(test_options_and_default_macs),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
