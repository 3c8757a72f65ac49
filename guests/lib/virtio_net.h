/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (5.1) on top of virtio.h: receive queue 0, transmit queue 1,
 * both polled, so everything after net_probe() works at CPL3.  Negotiated:
 * VERSION_1, MAC, STATUS, MRG_RXBUF; no offloads, so every frame carries a
 * 12-byte struct virtio_net_hdr with nothing in it but num_buffers.
 */
#ifndef KVMINI_GUEST_VIRTIO_NET_H
#define KVMINI_GUEST_VIRTIO_NET_H

#include "virtio.h"

#define VIRTIO_TYPE_NET 1

#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_F_CTRL_VQ   17

/* Configuration offsets */
#define VIRTIO_NET_CFG_MAC    0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_S_LINK_UP  1

#define NET_FEATURES                                                      \
	(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) | \
	 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))

#define NET_RXQ	       0
#define NET_TXQ	       1
#define NET_CTRLQ      2    /* without MQ (5.1.2) */
#define NET_BUF_SIZE   2048 /* one receive or transmit buffer, header included */
#define NET_FRAME_MIN  60   /* shorter frames are padded (Ethernet minimum without FCS) */
#define NET_GATHER_MAX 65536

/* virtio_net_hdr_v1: the layout whenever VERSION_1 is negotiated. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

#define NET_HDR_LEN	 sizeof(struct virtio_net_hdr)
#define NET_TX_FRAME_MAX (NET_BUF_SIZE - NET_HDR_LEN)

struct net_dev {
	struct virtio_dev vd;
	struct virtq *rxq, *txq;
	struct virtq *ctrlq; /* NULL unless CTRL_VQ was asked for and negotiated */
	uint8_t mac[6];
	uint8_t *rx_buf, *tx_buf; /* a NET_BUF_SIZE buffer per queue entry */
	uint8_t *gather;	  /* NET_GATHER_MAX: frames spread over several buffers */
	uint16_t *tx_free;	  /* stack of idle transmit buffers */
	unsigned int tx_nfree;
	uint16_t rx_held[VIRTQ_MAX_SIZE]; /* buffers of the last frame, reposted on the next poll */
	unsigned int rx_nheld;
	uint64_t rx_errors; /* short or truncated frames dropped */
};

/* CPL0: find the @nth virtio-net device and enable it. 0 or -errno. */
int net_probe(struct net_dev *nd, unsigned int nth);
/*
 * Negotiate, set up both queues (at most @qsize entries each, 0: the device's),
 * read the MAC (a locally administered one if the device has none), fill the
 * receive queue and set DRIVER_OK.  MMIO and RAM only.  0 or -errno.
 */
int net_init(struct net_dev *nd, uint16_t qsize);
/*
 * net_init() asking for the @extra features too (e.g. VIRTIO_F_INDIRECT_DESC);
 * with VIRTIO_NET_F_CTRL_VQ negotiated, the control queue is set up (polled)
 * as nd->ctrlq.  Both may be called again after a reset.
 */
int net_init_features(struct net_dev *nd, uint16_t qsize, uint64_t extra);
/* True without the STATUS feature (the link is then always up). */
bool net_link_up(struct net_dev *nd);
/*
 * Copy @frame (an Ethernet frame without FCS, at most NET_TX_FRAME_MAX bytes)
 * into a transmit buffer and kick.  Reclaims completed buffers first.
 * 0, -EINVAL, or -EAGAIN when every buffer is still with the device.
 */
int net_send(struct net_dev *nd, const void *frame, size_t len);
/* Reclaim completed transmit buffers; returns how many are still with the device. */
unsigned int net_tx_reclaim(struct net_dev *nd);
/*
 * The next received frame: its length with *frame set, or 0 if none is
 * waiting.  The frame stays valid until the next call, which gives its
 * buffers back to the device.
 */
size_t net_recv(struct net_dev *nd, const uint8_t **frame);

#endif
