// SPDX-License-Identifier: MIT
/*
 * The TAP backend: a kernel network interface whose other end is a file
 * descriptor.  One frame per read()/write(), with a 12-byte virtio-net header
 * in front when IFF_VNET_HDR is on, so the NIC's offloads reach the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "event_loop.h"

/* Frames read per event: other fds get their turn while a busy TAP floods us. */
#define TAP_RX_BURST 64

#define TAP_OFFLOADS                                                                    \
	(NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_TSO_ECN | \
	 NET_OFFLOAD_UFO)

struct tap {
	struct netdev dev;
	int fd;
	char ifname[IFNAMSIZ];
	uint32_t events; /* what the event loop watches the fd for (0: not on it) */
	bool stopped;	 /* the interface is gone: the fd is watched no more */
	uint8_t buf[NET_VNET_HDR_LEN + NET_MAX_FRAME];
};

static struct tap *to_tap(struct net_backend *nb)
{
	return (struct tap *)nb;
}

static void tap_event(void *opaque, uint32_t events);

/*
 * Watch the fd for @events.  0 takes it off the loop: epoll reports errors
 * whatever the mask says, and a TAP whose interface is gone has one forever.
 */
static int tap_watch(struct tap *t, uint32_t events)
{
	int ret = 0;

	if (events == t->events)
		return 0;
	if (!events)
		event_loop_del(t->dev.nb.loop, t->fd);
	else if (t->events)
		ret = event_loop_mod(t->dev.nb.loop, t->fd, events);
	else
		ret = event_loop_add(t->dev.nb.loop, t->fd, events, tap_event, t);
	if (ret)
		return err_set(-ret, "cannot watch the TAP: %s", strerror(-ret));
	t->events = events;
	return 0;
}

/* As tap_watch(), on paths that cannot report. */
static void tap_watch_or_warn(struct tap *t, uint32_t events)
{
	int ret = tap_watch(t, events);

	if (ret)
		pr_err("netdev %s: %s", t->dev.nb.id, err_msg(-ret));
}

static void tap_stop(struct tap *t)
{
	t->stopped = true;
	tap_watch_or_warn(t, 0);
}

static void tap_read(struct tap *t)
{
	struct net_backend *nb = &t->dev.nb;

	for (int i = 0; i < TAP_RX_BURST; i++) {
		struct iovec iov = { .iov_base = t->buf };
		ssize_t n;

		if (!nb->peer->can_receive(nb->peer_opaque)) {
			/* The kernel queues (and then drops) frames until rx_ready(). */
			tap_watch_or_warn(t, t->events & ~EPOLLIN);
			return;
		}
		n = read(t->fd, t->buf, sizeof(t->buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* Nothing else is expected: stop rather than spin on a level-triggered fd. */
			pr_err("netdev %s: reading the TAP %s: %s; no more frames from it", nb->id,
			       t->ifname, strerror(errno));
			tap_stop(t);
			return;
		}
		iov.iov_len = (size_t)n;
		nb->peer->receive(nb->peer_opaque, &iov, 1);
	}
}

static void tap_event(void *opaque, uint32_t events)
{
	struct tap *t = opaque;
	struct net_backend *nb = &t->dev.nb;

	/* A TAP reports EPOLLERR only once its interface is gone. */
	if (events & EPOLLERR) {
		pr_err("netdev %s: the TAP %s is gone; no more frames from it", nb->id, t->ifname);
		tap_stop(t);
		return;
	}
	if (events & EPOLLOUT) {
		/* Dropped first: writable() may send and hit -EAGAIN again. */
		tap_watch_or_warn(t, t->events & ~EPOLLOUT);
		nb->peer->writable(nb->peer_opaque);
	}
	if ((events & EPOLLIN) && (t->events & EPOLLIN))
		tap_read(t);
}

static int tap_send(struct net_backend *nb, const struct iovec *iov, unsigned int iovcnt)
{
	struct tap *t = to_tap(nb);

	if (writev(t->fd, iov, (int)iovcnt) >= 0)
		return 0;
	if (errno == EAGAIN) {
		tap_watch_or_warn(t, t->events | EPOLLOUT);
		return -EAGAIN;
	}
	/* EIO: the interface is down, and a down link drops frames like a wire would. */
	return errno == EIO ? 0 : -errno;
}

static void tap_rx_ready(struct net_backend *nb)
{
	struct tap *t = to_tap(nb);

	if (!t->stopped)
		tap_watch_or_warn(t, t->events | EPOLLIN);
}

static unsigned int tun_offload_flags(unsigned int offloads)
{
	unsigned int f = 0;

	if (offloads & NET_OFFLOAD_CSUM)
		f |= TUN_F_CSUM;
	if (offloads & NET_OFFLOAD_TSO4)
		f |= TUN_F_TSO4;
	if (offloads & NET_OFFLOAD_TSO6)
		f |= TUN_F_TSO6;
	if (offloads & NET_OFFLOAD_TSO_ECN)
		f |= TUN_F_TSO_ECN;
	if (offloads & NET_OFFLOAD_UFO)
		f |= TUN_F_UFO;
	return f;
}

static int tap_set_offload(struct net_backend *nb, unsigned int offloads)
{
	struct tap *t = to_tap(nb);

	if (offloads & ~nb->offloads_supported)
		return err_set(EOPNOTSUPP, "TAP %s: offloads %#x are not supported", t->ifname,
			       offloads & ~nb->offloads_supported);
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_offload_flags(offloads)))
		return err_set(errno, "TAP %s: TUNSETOFFLOAD %#x: %s", t->ifname,
			       tun_offload_flags(offloads), strerror(errno));
	return 0;
}

static void tap_describe(struct net_backend *nb, char *buf, size_t size)
{
	struct tap *t = to_tap(nb);

	snprintf(buf, size, "tap: ifname=%s,vnet_hdr=%s", t->ifname, nb->vnet_hdr ? "on" : "off");
}

static void tap_close(struct net_backend *nb)
{
	struct tap *t = to_tap(nb);

	tap_watch(t, 0);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.rx_ready = tap_rx_ready,
	.set_offload = tap_set_offload,
	.describe = tap_describe,
	.close = tap_close,
};

static int tap_attach(struct netdev *dev)
{
	return tap_watch((struct tap *)dev, EPOLLIN);
}

static int tunsetiff_error(const char *ifname, int err)
{
	if (!ifname && err == EPERM)
		return err_set(EPERM,
			       "creating a TAP needs CAP_NET_ADMIN (create one with "
			       "`ip tuntap add tap0 mode tap user $USER` and give ifname=tap0)");
	switch (err) {
	case EPERM:
		return err_set(EPERM,
			       "ifname=%s: permission denied (create it with `ip tuntap add "
			       "%s mode tap user $USER`, or run with CAP_NET_ADMIN)",
			       ifname, ifname);
	case EBUSY:
		return err_set(EBUSY, "ifname=%s: in use by another program", ifname);
	case EINVAL:
		return err_set(EINVAL,
			       "ifname=%s: not a TAP (a TUN, a multi-queue TAP, or another "
			       "kind of interface), or not a valid interface name",
			       ifname);
	default:
		return err_set(err, "ifname=%s: TUNSETIFF: %s", ifname, strerror(err));
	}
}

static int tap_open(struct tap *t, const char *ifname, bool vnet_hdr)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return err_set(EINVAL, "ifname=%s: longer than %d characters", ifname,
			       IFNAMSIZ - 1);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		if (errno == ENOENT)
			return err_set(ENOENT, "/dev/net/tun does not exist (modprobe tun)");
		if (errno == EACCES)
			return err_set(
				EACCES,
				"/dev/net/tun: permission denied (it is normally mode 0666; "
				"then a TAP of your own comes from `ip tuntap add %s mode tap "
				"user $USER`)",
				ifname ? ifname : "tap0");
		return err_set(errno, "/dev/net/tun: %s", strerror(errno));
	}
	if (vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (ifname)
		strcpy(ifr.ifr_name, ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr))
		return tunsetiff_error(ifname, errno);
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* fd=N: a TAP opened (IFF_TAP|IFF_NO_PI) by whoever started us; it becomes ours. */
static int tap_take_fd(struct tap *t, uint64_t fd, const bool *vnet_hdr, bool *has_vnet_hdr)
{
	struct ifreq ifr = { 0 };
	int flags;

	if (fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0)
		return err_set(EBADF, "fd=%llu: not an open file descriptor",
			       (unsigned long long)fd);
	if (ioctl((int)fd, TUNGETIFF, &ifr))
		return err_set(EINVAL, "fd=%llu: not a TAP file descriptor (TUNGETIFF: %s)",
			       (unsigned long long)fd, strerror(errno));
	/* IFF_NO_PI cannot be checked: TUNGETIFF reports IFF_NOFILTER, the same bit. */
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP)
		return err_set(EINVAL, "fd=%llu: a TUN (IP) device, not a TAP",
			       (unsigned long long)fd);
	*has_vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	if (vnet_hdr && *vnet_hdr != *has_vnet_hdr)
		return err_set(EINVAL,
			       "fd=%llu: the TAP was opened %s IFF_VNET_HDR (vnet_hdr=%s "
			       "cannot change that)",
			       (unsigned long long)fd, *has_vnet_hdr ? "with" : "without",
			       *vnet_hdr ? "on" : "off");
	flags = fcntl((int)fd, F_GETFL);
	if (flags < 0 || fcntl((int)fd, F_SETFL, flags | O_NONBLOCK))
		return err_set(errno, "fd=%llu: %s", (unsigned long long)fd, strerror(errno));
	t->fd = (int)fd;
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* The header is virtio 1.x's, and every offload the kernel takes can be offered. */
static int tap_setup_vnet_hdr(struct tap *t)
{
	struct net_backend *nb = &t->dev.nb;
	int len = NET_VNET_HDR_LEN;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &len))
		return err_set(errno, "TAP %s: TUNSETVNETHDRSZ: %s", t->ifname, strerror(errno));
	nb->vnet_hdr = true;
	nb->offloads_supported = TAP_OFFLOADS;
	/* Kernels that dropped UFO refuse TUN_F_UFO: offer it only when taken. */
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_offload_flags(TAP_OFFLOADS)))
		nb->offloads_supported &= ~NET_OFFLOAD_UFO;
	/* Nothing until the NIC's driver says what it takes. */
	if (ioctl(t->fd, TUNSETOFFLOAD, 0UL))
		return err_set(errno, "TAP %s: TUNSETOFFLOAD: %s", t->ifname, strerror(errno));
	return 0;
}

static int check_script(struct opts *o, const char *key)
{
	const char *v = opts_get(o, key);

	if (v && strcmp(v, "no"))
		return err_set(ENOTSUP,
			       "%s=%s is not supported: configure the TAP before starting "
			       "kvmini (%s=no)",
			       key, v, key);
	return 0;
}

int tap_create(struct netdev **devp, struct opts *o, struct event_loop *loop)
{
	const char *ifname = opts_get(o, "ifname");
	bool vnet_hdr = true, has_vnet_hdr = true, vnet_given;
	uint64_t fd = UINT64_MAX;
	struct tap *t;
	int ret;

	vnet_given = opts_get(o, "vnet_hdr") != NULL;
	ret = opts_get_bool(o, "vnet_hdr", &vnet_hdr);
	if (!ret)
		ret = check_script(o, "script");
	if (!ret)
		ret = check_script(o, "downscript");
	if (!ret)
		ret = opts_get_u64(o, "fd", &fd);
	if (!ret)
		ret = net_check_unused(o, "tap");
	if (!ret && fd != UINT64_MAX && ifname)
		ret = err_set(EINVAL, "fd= and ifname= cannot be used together (fd= is a TAP "
				      "already opened)");
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->dev.nb.ops = &tap_ops;
	t->dev.nb.loop = loop;
	t->dev.attach = tap_attach;
	t->fd = -1;
	if (fd != UINT64_MAX)
		ret = tap_take_fd(t, fd, vnet_given ? &vnet_hdr : NULL, &has_vnet_hdr);
	else
		ret = tap_open(t, ifname, vnet_hdr);
	if (!ret && vnet_hdr && has_vnet_hdr)
		ret = tap_setup_vnet_hdr(t);
	if (ret) {
		tap_close(&t->dev.nb);
		return ret;
	}
	*devp = &t->dev;
	return 0;
}
