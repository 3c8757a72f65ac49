/* SPDX-License-Identifier: MIT */
/* virtio-net (virtio 1.2, 5.1): the guest-visible constants, and the NIC's counters. */
#ifndef KVMINI_VIRTIO_NET_H
#define KVMINI_VIRTIO_NET_H

#include <stdint.h>

struct net_backend;

#define VIRTIO_ID_NET 1

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_CTRL_RX	18

/* Configuration layout (5.1.4): byte offsets. */
#define VIRTIO_NET_CFG_MAC	    0
#define VIRTIO_NET_CFG_STATUS	    6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8
#define VIRTIO_NET_CONFIG_SIZE	    10
#define VIRTIO_NET_S_LINK_UP	    1

/* struct virtio_net_hdr_v1 (5.1.6): flags, gso_type, ..., num_buffers at 10. */
#define VIRTIO_NET_HDR_LEN	    12
#define VIRTIO_NET_HDR_NUM_BUFFERS  10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE	    0

/* Queues: one receive/transmit pair and the control queue. */
#define VIRTIO_NET_RXQ	 0
#define VIRTIO_NET_TXQ	 1
#define VIRTIO_NET_CTRLQ 2

/* Control queue (5.1.6.5): class, command, data; then the device's ack byte. */
#define VIRTIO_NET_OK		      0
#define VIRTIO_NET_ERR		      1
#define VIRTIO_NET_CTRL_RX	      0
#define VIRTIO_NET_CTRL_RX_PROMISC    0
#define VIRTIO_NET_CTRL_RX_NOBCAST    5
#define VIRTIO_NET_CTRL_MAC	      1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET 0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET  1
#define VIRTIO_NET_CTRL_ANNOUNCE      3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK  0

struct virtio_net_stats {
	uint64_t rx_dropped; /* frames the guest had no room for */
	uint64_t tx_errors;  /* frames the guest sent that went nowhere */
};

/* The counters of the virtio-net NIC @nb is attached to.  0, or -ENODEV: not one. */
int virtio_net_get_stats(const struct net_backend *nb, struct virtio_net_stats *st);

#endif
