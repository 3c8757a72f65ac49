/* SPDX-License-Identifier: MIT */
/*
 * Network backends (devices/net/): where a NIC model's frames go.  A backend
 * (TAP, user-mode through libslirp) is created from a -netdev argument,
 * attached to one device (its peer), and from then on runs on the I/O
 * thread: it hands received frames to the peer's receive() and takes the
 * peer's transmitted frames through net_send().  Nothing here takes a lock:
 * the peer serialises its calls and is called back only from the I/O thread.
 *
 * Frames carry a 12-byte virtio-net header in front (struct
 * virtio_net_hdr_v1, virtio 1.2 5.1.6) in both directions when the backend
 * has one (nb->vnet_hdr: a TAP with IFF_VNET_HDR), so offloads pass through
 * untouched; otherwise they are bare Ethernet frames and the device must
 * offer no offloads.
 */
#ifndef KVMINI_NET_H
#define KVMINI_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define NET_VNET_HDR_LEN 12
#define NET_MAX_FRAME	 65536 /* largest frame a backend passes, without the header */

/* Offloads the peer asks the backend to accept in received frames (TUNSETOFFLOAD). */
#define NET_OFFLOAD_CSUM    (1u << 0) /* partial checksums */
#define NET_OFFLOAD_TSO4    (1u << 1)
#define NET_OFFLOAD_TSO6    (1u << 2)
#define NET_OFFLOAD_TSO_ECN (1u << 3)
#define NET_OFFLOAD_UFO	    (1u << 4)

struct event_loop;
struct net_backend;

/* What a backend calls on its peer (the NIC), on the I/O thread. */
struct net_peer_ops {
	/*
	 * Can a frame be taken now (receive buffers posted)?  When not, a
	 * backend that can hold frames back (TAP: the kernel's queue) stops
	 * reading until net_rx_ready(); one that cannot (slirp) drops and
	 * counts the frame.
	 */
	bool (*can_receive)(void *opaque);
	/* One frame; @iov starts with the header when nb->vnet_hdr. */
	void (*receive)(void *opaque, const struct iovec *iov, unsigned int iovcnt);
	/* net_send() said -EAGAIN before; the backend takes frames again. */
	void (*writable)(void *opaque);
};

struct net_backend_ops {
	/*
	 * Send one frame (@iov as in receive()).  0: sent (or dropped by the
	 * backend's network, as a wire would); -EAGAIN: the backend is full,
	 * keep the frame and wait for writable(); other -errno: the frame was
	 * bad and is dropped.
	 */
	int (*send)(struct net_backend *nb, const struct iovec *iov, unsigned int iovcnt);
	/* The peer has receive buffers again: resume reading. */
	void (*rx_ready)(struct net_backend *nb);
	/* Accept these NET_OFFLOAD_* in received frames.  0 or -errno. */
	int (*set_offload)(struct net_backend *nb, unsigned int offloads);
	/* One line for `info network`: "tap: ifname=tap0" or "user: net=10.0.2.0/24". */
	void (*describe)(struct net_backend *nb, char *buf, size_t size);
	/* Stop watching fds, close them, free @nb. */
	void (*close)(struct net_backend *nb);
};

struct net_backend {
	const struct net_backend_ops *ops;
	char *id;			 /* the -netdev id */
	bool vnet_hdr;			 /* frames carry the 12-byte virtio-net header */
	unsigned int offloads_supported; /* NET_OFFLOAD_* set_offload() can turn on */
	struct event_loop *loop;
	/* Set by net_attach(). */
	const struct net_peer_ops *peer;
	void *peer_opaque;
	uint64_t rx_dropped; /* frames dropped because the peer could not take them */
};

/* Backend keys that may be given several times (opts_parse_multi()): QEMU's hostfwd=. */
extern const char *const net_repeatable_keys[];

/*
 * Create the backend a -netdev argument describes ("tap,id=n0,ifname=tap0",
 * "user,id=n1,hostfwd=tcp::8022-:22"), its fds watched on @loop once
 * attached.  0 or -errno with err_set() saying what was wrong.
 */
int net_backend_create(struct net_backend **nb, const char *arg, struct event_loop *loop);

/* Connect @nb to its NIC; frames start to flow. */
void net_attach(struct net_backend *nb, const struct net_peer_ops *peer, void *opaque);

static inline int net_send(struct net_backend *nb, const struct iovec *iov, unsigned int iovcnt)
{
	return nb->ops->send(nb, iov, iovcnt);
}

static inline void net_rx_ready(struct net_backend *nb)
{
	nb->ops->rx_ready(nb);
}

static inline int net_set_offload(struct net_backend *nb, unsigned int offloads)
{
	return nb->ops->set_offload(nb, offloads);
}

void net_backend_close(struct net_backend *nb);

/*
 * "52:54:00:12:34:56" -> @mac.  0 or -EINVAL (not six hex pairs, or a
 * multicast address, which no NIC may have).
 */
int net_parse_mac(const char *str, uint8_t mac[6]);

#endif
