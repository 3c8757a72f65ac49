// SPDX-License-Identifier: MIT
/* virtio-net: polled receive and transmit queues with a buffer per queue entry. */
#include "virtio_net.h"

#include "mm.h"

#include <errno.h>

/* How long the rest of a multi-buffer frame may take to show up in the used ring. */
#define GATHER_TICKS 1000000000ULL

int net_probe(struct net_dev *nd, unsigned int nth)
{
	memset(nd, 0, sizeof(*nd));
	return virtio_pci_probe(&nd->vd, VIRTIO_TYPE_NET, nth);
}

static uint8_t *rx_addr(struct net_dev *nd, unsigned int i)
{
	return nd->rx_buf + (size_t)i * NET_BUF_SIZE;
}

static void rx_post(struct net_dev *nd, unsigned int i)
{
	struct virtq_buf b = { (uintptr_t)rx_addr(nd, i), NET_BUF_SIZE, true };

	virtq_add(nd->rxq, &b, 1, false, i);
}

int net_init_features(struct net_dev *nd, uint16_t qsize, uint64_t extra)
{
	struct virtio_dev *vd = &nd->vd;
	int ret;

	if (!vd->devcfg)
		return -ENODEV;
	/* A re-initialisation starts from empty queues: forget the old buffers. */
	nd->ctrlq = NULL;
	nd->tx_nfree = 0;
	nd->rx_nheld = 0;
	ret = virtio_init(vd, NET_FEATURES | extra);
	if (!ret)
		ret = virtio_setup_queue(vd, NET_RXQ, qsize, VIRTIO_MSI_NO_VECTOR);
	if (!ret)
		ret = virtio_setup_queue(vd, NET_TXQ, qsize, VIRTIO_MSI_NO_VECTOR);
	if (!ret && (vd->features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ))) {
		ret = virtio_setup_queue(vd, NET_CTRLQ, qsize, VIRTIO_MSI_NO_VECTOR);
		nd->ctrlq = &vd->vq[NET_CTRLQ];
	}
	if (ret)
		return ret;
	nd->rxq = &vd->vq[NET_RXQ];
	nd->txq = &vd->vq[NET_TXQ];
	nd->rx_buf = mm_alloc((size_t)nd->rxq->size * NET_BUF_SIZE, 4096);
	nd->tx_buf = mm_alloc((size_t)nd->txq->size * NET_BUF_SIZE, 4096);
	nd->gather = mm_alloc(NET_GATHER_MAX, 4096);
	nd->tx_free = mm_alloc(sizeof(*nd->tx_free) * nd->txq->size, 8);
	if (!nd->rx_buf || !nd->tx_buf || !nd->gather || !nd->tx_free)
		return -ENOMEM;
	for (unsigned int i = 0; i < nd->txq->size; i++)
		nd->tx_free[nd->tx_nfree++] = i;
	if (vd->features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) {
		for (unsigned int i = 0; i < 6; i++)
			nd->mac[i] = virtio_cfg_read(vd, VIRTIO_NET_CFG_MAC + i, 1);
	} else {
		/* 5.1.5: the driver makes one up; locally administered, unicast. */
		uint64_t r = rdtsc();

		nd->mac[0] = 0x02;
		for (unsigned int i = 1; i < 6; i++)
			nd->mac[i] = r >> (8 * i);
	}
	for (unsigned int i = 0; i < nd->rxq->size; i++)
		rx_post(nd, i);
	virtio_driver_ok(vd);
	virtq_kick(vd, nd->rxq); /* no notifications before DRIVER_OK */
	return 0;
}

int net_init(struct net_dev *nd, uint16_t qsize)
{
	return net_init_features(nd, qsize, 0);
}

bool net_link_up(struct net_dev *nd)
{
	if (!(nd->vd.features & VIRTIO_BIT(VIRTIO_NET_F_STATUS)))
		return true;
	return virtio_cfg_read(&nd->vd, VIRTIO_NET_CFG_STATUS, 2) & VIRTIO_NET_S_LINK_UP;
}

unsigned int net_tx_reclaim(struct net_dev *nd)
{
	uint64_t token;
	uint32_t len;

	while (virtq_get(nd->txq, &token, &len))
		if (token < nd->txq->size)
			nd->tx_free[nd->tx_nfree++] = token;
	return nd->txq->size - nd->tx_nfree;
}

int net_send(struct net_dev *nd, const void *frame, size_t len)
{
	struct virtq_buf b;
	uint8_t *buf;
	uint16_t i;

	if (len > NET_TX_FRAME_MAX)
		return -EINVAL;
	if (!nd->tx_nfree)
		net_tx_reclaim(nd);
	if (!nd->tx_nfree)
		return -EAGAIN;
	i = nd->tx_free[--nd->tx_nfree];
	buf = nd->tx_buf + (size_t)i * NET_BUF_SIZE;
	memset(buf, 0, NET_HDR_LEN); /* no offloads; num_buffers is 0 on transmit */
	memcpy(buf + NET_HDR_LEN, frame, len);
	if (len < NET_FRAME_MIN) {
		memset(buf + NET_HDR_LEN + len, 0, NET_FRAME_MIN - len);
		len = NET_FRAME_MIN;
	}
	b = (struct virtq_buf){ (uintptr_t)buf, NET_HDR_LEN + len, false };
	virtq_add(nd->txq, &b, 1, false, i);
	virtq_kick(&nd->vd, nd->txq);
	return 0;
}

/* Wait for the next used receive buffer: its index, or -1 after GATHER_TICKS. */
static int rx_next(struct net_dev *nd, uint32_t *len)
{
	uint64_t t0 = rdtsc(), token;

	while (!virtq_get(nd->rxq, &token, len)) {
		if (rdtsc() - t0 > GATHER_TICKS)
			return -1;
		cpu_pause();
	}
	return token;
}

size_t net_recv(struct net_dev *nd, const uint8_t **frame)
{
	const struct virtio_net_hdr *hdr;
	uint64_t token;
	uint32_t len;
	size_t total;
	unsigned int nbufs;
	bool bad = false;

	if (nd->rx_nheld) {
		for (unsigned int i = 0; i < nd->rx_nheld; i++)
			rx_post(nd, nd->rx_held[i]);
		nd->rx_nheld = 0;
		virtq_kick(&nd->vd, nd->rxq);
	}
	if (!virtq_get(nd->rxq, &token, &len))
		return 0;
	nd->rx_held[nd->rx_nheld++] = token;
	hdr = (const struct virtio_net_hdr *)rx_addr(nd, token);
	nbufs = hdr->num_buffers;
	if (len < NET_HDR_LEN || len > NET_BUF_SIZE) {
		nd->rx_errors++;
		return 0;
	}
	total = len - NET_HDR_LEN;
	if (nbufs <= 1) {
		*frame = (const uint8_t *)(hdr + 1);
		return total;
	}
	/* MRG_RXBUF: the frame continues in the next nbufs - 1 used buffers; take them all. */
	memcpy(nd->gather, hdr + 1, total);
	for (unsigned int n = 1; n < nbufs; n++) {
		int i = rx_next(nd, &len);

		if (i < 0 || nd->rx_nheld == ARRAY_SIZE(nd->rx_held)) {
			bad = true;
			break;
		}
		nd->rx_held[nd->rx_nheld++] = i;
		if (len > NET_BUF_SIZE || total + len > NET_GATHER_MAX) {
			bad = true;
			continue;
		}
		memcpy(nd->gather + total, rx_addr(nd, i), len);
		total += len;
	}
	if (bad) {
		nd->rx_errors++;
		return 0;
	}
	*frame = nd->gather;
	return total;
}
