// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.2, 5.1): one receive/transmit queue pair and a
 * control queue in front of a network backend (devices/net/).  Every frame
 * in the rings starts with the 12-byte virtio_net_hdr_v1.  A backend with
 * the same header (a TAP with IFF_VNET_HDR) gets it untouched and the
 * offloads are offered; otherwise the device strips it on transmit and
 * writes a plain one on receive, and offers no offloads.
 *
 * Threads: queue and backend work runs on the I/O thread under vd->lock.
 * The backend calls back without the lock, except from inside a call the
 * device makes to it (slirp answers an ARP request while it takes it in):
 * in_backend tells, and the lock is then already ours.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "device.h"
#include "error.h"
#include "iov.h"
#include "net.h"
#include "util.h"
#include "virtio.h"
#include "virtio_net.h"
#include "vm.h"

#define QUEUE_SIZE 256
#define NR_QUEUES  3
#define TX_BUDGET  64 /* frames per turn: then the event loop serves RX */
/*
 * After a flush that sent frames, kicks stay off this long and the queue is
 * looked at again: a guest in the middle of a burst then adds frames without
 * a notification (an exit each) per frame.  Only when a look finds nothing
 * are kicks turned back on, so an idle queue costs one timer expiry.
 */
#define TX_COALESCE_NS		   50000
#define HDR			   VIRTIO_NET_HDR_LEN
#define PCI_CLASS_NETWORK_ETHERNET 0x020000
#define F(bit)			   (1ULL << VIRTIO_NET_F_##bit)

/* What the driver takes in received frames, and what the backend calls it. */
static const struct {
	unsigned int feature, offload;
} guest_offloads[] = {
	{ VIRTIO_NET_F_GUEST_CSUM, NET_OFFLOAD_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO4, NET_OFFLOAD_TSO4 },
	{ VIRTIO_NET_F_GUEST_TSO6, NET_OFFLOAD_TSO6 },
	{ VIRTIO_NET_F_GUEST_ECN, NET_OFFLOAD_TSO_ECN },
	{ VIRTIO_NET_F_GUEST_UFO, NET_OFFLOAD_UFO },
};

struct virtio_net {
	struct virtio_dev vd;
	struct net_backend *nb;
	pthread_t io_thread; /* the one that creates devices runs the event loop */
	uint8_t config[VIRTIO_NET_CONFIG_SIZE];
	bool in_backend;      /* this (I/O) thread holds vd->lock and is calling the backend */
	bool offloads_synced; /* the backend knows the driver's offloads: frames may flow */
	bool tx_pending;      /* tx_elem is popped but the backend said -EAGAIN */
	bool tx_timer_armed;  /* kicks are off until tx_timer_fd expires */
	int tx_timer_fd;
	struct event_loop *loop;
	struct virtio_net_stats stats;
	struct virtq_elem tx_elem;
	struct iovec tx_iov[VIRTQ_MAX_SIZE]; /* the frame without its header */
	/* A received frame: the chain with its header, the others, all pushed together. */
	struct virtq_elem rx_first, rx_elem;
	struct virtq_used_elem rx_used[VIRTQ_MAX_SIZE];
	struct virtq_elem ctrl_elem;
};

static const struct net_peer_ops peer_ops;

/* Copy @len bytes of @src, from @sskip on, into @dst from @dskip on. */
static void copy_iov(const struct iovec *dst, unsigned int dn, size_t dskip,
		     const struct iovec *src, unsigned int sn, size_t sskip, size_t len)
{
	for (unsigned int i = 0; i < dn && len; i++) {
		size_t n;

		if (dskip >= dst[i].iov_len) {
			dskip -= dst[i].iov_len;
			continue;
		}
		n = dst[i].iov_len - dskip < len ? dst[i].iov_len - dskip : len;
		n = iov_to_buf(src, sn, sskip, (uint8_t *)dst[i].iov_base + dskip, n);
		sskip += n;
		len -= n;
		dskip = 0;
	}
}

/* Tell the backend what the driver takes in received frames, once per DRIVER_OK. */
static void sync_offloads(struct virtio_net *n)
{
	unsigned int offloads = 0;
	int ret;

	if (n->offloads_synced)
		return;
	n->offloads_synced = true;
	if (!n->nb->vnet_hdr)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(guest_offloads); i++) {
		if (virtio_has_feature(&n->vd, guest_offloads[i].feature))
			offloads |= guest_offloads[i].offload;
	}
	n->in_backend = true;
	ret = net_set_offload(n->nb, offloads);
	n->in_backend = false;
	/* Frames then come without the offloads: slower, still right. */
	if (ret)
		pr_warn("virtio-net: netdev %s: %s", n->nb->id, err_msg(-ret));
}

/*
 * Hand tx_elem to the backend.  0: sent, or dropped and counted; -EAGAIN:
 * keep it; -EPROTO: malformed, the device now needs a reset.
 */
static int tx_send(struct virtio_net *n)
{
	const struct virtq_elem *e = &n->tx_elem;
	const struct iovec *iov = e->iov;
	unsigned int cnt = e->nr_out;
	uint8_t hdr[HDR];
	int ret;

	/* 5.1.6.2: a header and the frame, all readable. */
	if (e->nr_in || e->out_len < HDR) {
		virtio_dev_error(&n->vd,
				 "a transmit chain without a header or with writable buffers");
		return -EPROTO;
	}
	if (!n->nb->vnet_hdr) {
		iov_to_buf(e->iov, e->nr_out, 0, hdr, HDR);
		/* Offloads were not offered: a frame that needs one cannot go out. */
		if ((hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) || hdr[1] != VIRTIO_NET_HDR_GSO_NONE ||
		    e->out_len == HDR) {
			n->stats.tx_errors++;
			return 0;
		}
		ret = iov_slice(e->iov, e->nr_out, HDR, e->out_len - HDR, n->tx_iov,
				VIRTQ_MAX_SIZE);
		iov = n->tx_iov;
		cnt = (unsigned int)ret; /* fewer entries than the chain: cannot fail */
	}
	n->in_backend = true;
	ret = net_send(n->nb, iov, cnt);
	n->in_backend = false;
	if (ret && ret != -EAGAIN) {
		n->stats.tx_errors++;
		return 0;
	}
	return ret;
}

/* Look at the TX queue again in TX_COALESCE_NS, kicks off till then.  false: no timer. */
static bool arm_tx_timer(struct virtio_net *n)
{
	const struct itimerspec its = { .it_value.tv_nsec = TX_COALESCE_NS };

	if (n->tx_timer_armed)
		return true;
	if (timerfd_settime(n->tx_timer_fd, 0, &its, NULL))
		return false;
	n->tx_timer_armed = true;
	return true;
}

/* Send what the driver queued, TX_BUDGET frames at most; one interrupt for them all. */
static void tx_flush(struct virtio_net *n)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq *vq = &vd->queues[VIRTIO_NET_TXQ].vq;
	unsigned int done = 0;

	for (;;) {
		virtq_set_notify(vq, false);
		while (done < TX_BUDGET &&
		       (n->tx_pending || virtio_queue_pop(vd, VIRTIO_NET_TXQ, &n->tx_elem) > 0)) {
			int ret;

			n->tx_pending = true;
			ret = tx_send(n);
			/* Notifications stay off: writable() brings us back. */
			if (ret == -EAGAIN)
				goto out;
			n->tx_pending = false;
			if (ret)
				break;
			virtq_push(vq, n->tx_elem.head, 0);
			done++;
		}
		if (!virtio_queue_live(vd, VIRTIO_NET_TXQ))
			break;
		if (done == TX_BUDGET) {
			/* More may wait: come back through the event loop, after the others. */
			eventfd_write(vd->queues[VIRTIO_NET_TXQ].kick_fd, 1);
			break;
		}
		if (done && arm_tx_timer(n))
			break;
		/* Kicks on again, and a last look for chains that came before they were. */
		if (!virtq_set_notify(vq, true))
			break;
	}
out:
	if (done)
		virtio_queue_notify_driver(vd, VIRTIO_NET_TXQ);
}

/*
 * One frame into the receive queue.  0, or -errno when it was dropped:
 * nothing to put it in, or the driver broke the rules (-EPROTO).
 */
static int rx_frame(struct virtio_net *n, const struct iovec *iov, unsigned int iovcnt)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq *vq = &vd->queues[VIRTIO_NET_RXQ].vq;
	bool mrg = virtio_has_feature(vd, VIRTIO_NET_F_MRG_RXBUF);
	size_t skip = n->nb->vnet_hdr ? HDR : 0; /* where the frame starts in @iov */
	size_t len = iov_size(iov, iovcnt), done = 0;
	uint8_t hdr[HDR] = { 0 };
	uint16_t nr = 0;

	if (!n->offloads_synced || !virtio_queue_live(vd, VIRTIO_NET_RXQ) || len < skip)
		return -ENOBUFS;
	iov_to_buf(iov, iovcnt, 0, hdr, skip);
	/* Without GUEST_CSUM the driver expects no checksum flags (5.1.6.4.1). */
	if (!virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM))
		hdr[0] = 0;
	len -= skip;
	/* Without MRG_RXBUF, one chain must hold it all (5.1.6.3.1). */
	do {
		struct virtq_elem *e = nr ? &n->rx_elem : &n->rx_first;
		size_t at = nr ? 0 : HDR, chunk;
		int ret = virtio_queue_pop(vd, VIRTIO_NET_RXQ, e);

		if (ret < 0)
			return ret;
		if (!ret)
			break;
		if (e->nr_out || e->in_len < at) {
			virtio_dev_error(vd, "a receive chain with readable buffers or no room "
					     "for the header");
			return -EPROTO;
		}
		chunk = e->in_len - at < len - done ? e->in_len - at : len - done;
		copy_iov(e->iov, e->nr_in, at, iov, iovcnt, skip + done, chunk);
		n->rx_used[nr++] = (struct virtq_used_elem){ e->head, (uint32_t)(at + chunk) };
		done += chunk;
	} while (done < len && mrg);
	if (!nr || done < len) {
		/* Too small: the chains stay for the next frame, which may fit. */
		virtq_unpop(vq, nr);
		return -ENOBUFS;
	}
	put_le(hdr + VIRTIO_NET_HDR_NUM_BUFFERS, nr, 2);
	iov_from_buf(n->rx_first.iov, n->rx_first.nr_in, 0, hdr, HDR);
	virtq_push_n(vq, n->rx_used, nr);
	virtio_queue_notify_driver(vd, VIRTIO_NET_RXQ);
	return 0;
}

/* One control command (5.1.6.5), @len bytes of @data after class and command: the ack. */
static uint8_t ctrl_command(struct virtio_net *n, uint8_t class, uint8_t cmd, const uint8_t *data,
			    size_t len)
{
	switch (class) {
	case VIRTIO_NET_CTRL_RX:
		/* Every frame goes to the guest anyway: no filter to set up. */
		return cmd <= VIRTIO_NET_CTRL_RX_NOBCAST && len == 1 ? VIRTIO_NET_OK
								     : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET)
			return VIRTIO_NET_OK;
		if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET || len != 6 || (data[0] & 1))
			return VIRTIO_NET_ERR;
		memcpy(n->config + VIRTIO_NET_CFG_MAC, data, 6);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		return cmd == VIRTIO_NET_CTRL_ANNOUNCE_ACK ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	}
	return VIRTIO_NET_ERR;
}

static void ctrl_flush(struct virtio_net *n)
{
	struct virtio_dev *vd = &n->vd;
	struct virtq *vq = &vd->queues[VIRTIO_NET_CTRLQ].vq;
	struct virtq_elem *e = &n->ctrl_elem;
	bool pushed = false;

	do {
		while (virtio_queue_pop(vd, VIRTIO_NET_CTRLQ, e) > 0) {
			uint8_t cmd[2 + 6] = { 0 }, ack;

			if (e->out_len < 2 || !e->in_len) {
				virtio_dev_error(vd,
						 "a control command without class, command or ack");
				break;
			}
			iov_to_buf(e->iov, e->nr_out, 0, cmd, sizeof(cmd));
			ack = ctrl_command(n, cmd[0], cmd[1], cmd + 2, e->out_len - 2);
			/* The ack is the last writable byte. */
			iov_from_buf(e->iov + e->nr_out, e->nr_in, e->in_len - 1, &ack, 1);
			virtq_push(vq, e->head, 1);
			pushed = true;
		}
		/* With EVENT_IDX the driver kicks again only once avail_event moves on. */
	} while (virtio_queue_live(vd, VIRTIO_NET_CTRLQ) && virtq_set_notify(vq, true));
	if (pushed)
		virtio_queue_notify_driver(vd, VIRTIO_NET_CTRLQ);
}

static void net_queue_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_net *n = container_of(vd, struct virtio_net, vd);

	/* DRIVER_OK comes here on a vCPU thread: the backend is the I/O thread's. */
	if (!pthread_equal(pthread_self(), n->io_thread)) {
		eventfd_write(vd->queues[q].kick_fd, 1);
		return;
	}
	sync_offloads(n);
	switch (q) {
	case VIRTIO_NET_RXQ:
		/*
		 * New buffers: no more kicks until they run out (can_receive()
		 * asks again), and a backend that stopped reading resumes.
		 */
		virtq_set_notify(&vd->queues[q].vq, false);
		n->in_backend = true;
		net_rx_ready(n->nb);
		n->in_backend = false;
		break;
	case VIRTIO_NET_TXQ:
		if (!n->tx_pending) /* else writable() resumes */
			tx_flush(n);
		break;
	case VIRTIO_NET_CTRLQ:
		ctrl_flush(n);
		break;
	}
}

/* The frame waiting for writable() and the coalescing timer go with the rings. */
static void net_reset(struct virtio_dev *vd)
{
	struct virtio_net *n = container_of(vd, struct virtio_net, vd);
	const struct itimerspec off = { 0 };

	n->tx_pending = false;
	n->offloads_synced = false;
	timerfd_settime(n->tx_timer_fd, 0, &off, NULL);
	n->tx_timer_armed = false;
}

/* RX and control chains are used before the I/O thread lets go; a TX frame may wait. */
static unsigned int net_in_flight(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_net *n = container_of(vd, struct virtio_net, vd);

	return q == VIRTIO_NET_TXQ && n->tx_pending;
}

static const struct virtio_device_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = PCI_CLASS_NETWORK_ETHERNET,
	.nr_queues = NR_QUEUES,
	.queue_size = QUEUE_SIZE,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.in_flight = net_in_flight,
};

/* Backend callbacks take vd->lock, unless this thread holds it already (in_backend). */
static bool net_lock(struct virtio_net *n)
{
	if (n->in_backend)
		return false;
	pthread_mutex_lock(&n->vd.lock);
	return true;
}

static void net_unlock(struct virtio_net *n, bool locked)
{
	if (locked)
		pthread_mutex_unlock(&n->vd.lock);
}

static bool net_can_receive(void *opaque)
{
	struct virtio_net *n = opaque;
	struct virtq *vq = &n->vd.queues[VIRTIO_NET_RXQ].vq;
	bool locked = net_lock(n);
	bool ok = n->offloads_synced && virtio_queue_live(&n->vd, VIRTIO_NET_RXQ);

	/*
	 * With buffers, leave kicks off (asking for one here would make the
	 * driver notify for every buffer it posts); without, ask for a kick
	 * when some come (it calls rx_ready()), and look once more.
	 */
	if (ok && !virtq_has_avail(vq))
		ok = virtq_set_notify(vq, true);
	net_unlock(n, locked);
	return ok;
}

static void net_receive(void *opaque, const struct iovec *iov, unsigned int iovcnt)
{
	struct virtio_net *n = opaque;
	bool locked = net_lock(n);

	if (rx_frame(n, iov, iovcnt))
		n->stats.rx_dropped++;
	net_unlock(n, locked);
}

static void net_writable(void *opaque)
{
	struct virtio_net *n = opaque;

	/* From inside net_send(): the flush that called it goes on by itself. */
	if (n->in_backend)
		return;
	pthread_mutex_lock(&n->vd.lock);
	if (n->tx_pending && virtio_queue_live(&n->vd, VIRTIO_NET_TXQ))
		tx_flush(n);
	pthread_mutex_unlock(&n->vd.lock);
}

static const struct net_peer_ops peer_ops = {
	.can_receive = net_can_receive,
	.receive = net_receive,
	.writable = net_writable,
};

int virtio_net_get_stats(const struct net_backend *nb, struct virtio_net_stats *st)
{
	struct virtio_net *n = nb->peer_opaque;

	if (nb->peer != &peer_ops)
		return -ENODEV;
	pthread_mutex_lock(&n->vd.lock);
	*st = n->stats;
	pthread_mutex_unlock(&n->vd.lock);
	return 0;
}

/* What the device offers with @nb behind it. */
static uint64_t net_features(const struct net_backend *nb)
{
	uint64_t f = F(MAC) | F(STATUS) | F(MRG_RXBUF) | F(CTRL_VQ) | F(CTRL_RX);

	if (!nb->vnet_hdr)
		return f;
	/* The header goes through: the backend's kernel does what the driver left out. */
	f |= F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(HOST_UFO);
	/* The guest offloads the backend can turn on, with what they need (5.1.3.1). */
	if (!(nb->offloads_supported & NET_OFFLOAD_CSUM))
		return f;
	for (size_t i = 0; i < ARRAY_SIZE(guest_offloads); i++) {
		if (nb->offloads_supported & guest_offloads[i].offload)
			f |= 1ULL << guest_offloads[i].feature;
	}
	if (!(f & (F(GUEST_TSO4) | F(GUEST_TSO6))))
		f &= ~F(GUEST_ECN);
	return f;
}

static void tx_timer_event(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;
	uint64_t expirations;

	(void)events;
	if (read(n->tx_timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&n->vd.lock);
	n->tx_timer_armed = false;
	if (!n->tx_pending && virtio_queue_live(&n->vd, VIRTIO_NET_TXQ))
		tx_flush(n);
	pthread_mutex_unlock(&n->vd.lock);
}

static void virtio_net_free(void *opaque)
{
	struct virtio_net *n = opaque;

	if (n->tx_timer_fd >= 0) {
		event_loop_del(n->loop, n->tx_timer_fd);
		close(n->tx_timer_fd);
	}
	net_backend_close(n->nb);
	virtio_dev_destroy(&n->vd);
	free(n);
}

/* QEMU's first default MAC; each NIC without mac= takes the next. */
static uint8_t next_default_mac = 0x56;

/* -device virtio-net-pci,netdev=ID[,mac=52:54:00:xx:xx:xx] */
static int virtio_net_pci_create(struct vm *vm, struct opts *o)
{
	static const uint8_t default_oui[5] = { 0x52, 0x54, 0x00, 0x12, 0x34 };
	const char *id = opts_get(o, "netdev"), *mac = opts_get(o, "mac");
	struct virtio_net *n;
	int ret;

	if (!id)
		return err_set(EINVAL, "netdev= is required (the id of a -netdev)");
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (mac) {
		ret = net_parse_mac(mac, n->config + VIRTIO_NET_CFG_MAC);
	} else {
		memcpy(n->config + VIRTIO_NET_CFG_MAC, default_oui, sizeof(default_oui));
		n->config[VIRTIO_NET_CFG_MAC + 5] = next_default_mac++;
		ret = 0;
	}
	if (!ret)
		ret = vm_take_netdev(vm, id, &n->nb);
	if (ret) {
		free(n);
		return ret;
	}
	n->loop = &vm->loop;
	n->tx_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ret = n->tx_timer_fd < 0
		      ? -errno
		      : event_loop_add(n->loop, n->tx_timer_fd, EPOLLIN, tx_timer_event, n);
	if (ret) {
		if (n->tx_timer_fd >= 0)
			close(n->tx_timer_fd);
		net_backend_close(n->nb);
		free(n);
		return err_set(-ret, "cannot create a timer: %s", strerror(-ret));
	}
	put_le(n->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP, 2);
	put_le(n->config + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 1, 2);
	n->io_thread = pthread_self();
	ret = virtio_dev_init(&n->vd, &net_ops, net_features(n->nb), n->config, sizeof(n->config),
			      &vm->mem, &vm->loop);
	if (!ret)
		ret = vm_add_cleanup(vm, virtio_net_free, n);
	if (ret) {
		virtio_net_free(n);
		return ret;
	}
	net_attach(n->nb, &peer_ops, n);
	return virtio_pci_create(vm, &n->vd);
}

const struct device_driver virtio_net_pci_driver = {
	.name = "virtio-net-pci",
	.help = "virtio NIC: netdev=ID (a -netdev) [,mac=52:54:00:xx:xx:xx]",
	.create = virtio_net_pci_create,
};
