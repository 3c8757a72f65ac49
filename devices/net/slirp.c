// SPDX-License-Identifier: MIT
/*
 * The user-mode backend: libslirp plays router, DHCP and DNS server for the
 * guest and turns its TCP/UDP into ordinary host sockets, so no privilege is
 * needed.  libslirp is poll()-based; here it runs on the epoll event loop:
 *
 * - after every call into slirp (a frame from the guest, an fd event, a
 *   timer), slirp_pollfds_fill() says which fds it wants and for what; the
 *   set is compared with what is registered and the differences are added
 *   or removed (event_loop has no MOD: a change is a del and an add);
 * - an fd event calls slirp_pollfds_poll() with that fd's revents (the
 *   others read as 0), which is what a poll() returning one fd would do;
 * - slirp's own deadline (TCP timers, at most 1 s away) is a timerfd, never
 *   pushed later by traffic so that the timers run under a steady load;
 * - slirp's timers (IPv6 router advertisements) are timerfds as well.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "event_loop.h"
#include "iov.h"
#include "util.h"

#define DESC_MAX 1024

/* An fd slirp asked for at the last fill; the index is what add_poll() returned. */
struct slirp_want {
	int fd;
	int events;  /* SLIRP_POLL_* */
	int revents; /* SLIRP_POLL_* seen, for get_revents() */
};

/* An fd registered with the event loop. */
struct slirp_watch {
	struct user *u;
	int fd;
	uint32_t events; /* EPOLL* */
};

struct slirp_timer {
	struct user *u;
	int fd; /* timerfd */
	SlirpTimerId id;
	void *cb_opaque;
};

struct user {
	struct netdev dev;
	Slirp *slirp;
	bool attached;
	struct slirp_want *want;
	unsigned int nr_want, max_want;
	struct slirp_watch **watch;
	unsigned int nr_watch, max_watch;
	int timeout_fd;	     /* timerfd for slirp's deadline */
	int64_t deadline_ms; /* when timeout_fd fires; 0: not armed */
	char desc[DESC_MAX];
	uint8_t buf[NET_MAX_FRAME];
};

static struct user *to_user(struct net_backend *nb)
{
	return (struct user *)nb;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Arm @fd (CLOCK_MONOTONIC) to fire at @ms. */
static void timerfd_at(int fd, int64_t ms)
{
	struct itimerspec its = { 0 };

	if (ms <= 0)
		ms = 1; /* 0 would disarm it */
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timerfd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: re-armed between the event and now. */
	}
}

static uint32_t to_epoll(int events)
{
	return (events & SLIRP_POLL_IN ? EPOLLIN : 0) | (events & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
	       (events & SLIRP_POLL_PRI ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t events)
{
	return (events & EPOLLIN ? SLIRP_POLL_IN : 0) | (events & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
	       (events & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (events & EPOLLERR ? SLIRP_POLL_ERR : 0) |
	       (events & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct user *u = opaque;

	if (u->nr_want == u->max_want) {
		unsigned int max = u->max_want ? 2 * u->max_want : 16;
		struct slirp_want *w = realloc(u->want, max * sizeof(*w));

		if (!w)
			return -1; /* not polled this round; slirp's timers still run */
		u->want = w;
		u->max_want = max;
	}
	u->want[u->nr_want] = (struct slirp_want){ fd, events, 0 };
	return (int)u->nr_want++;
}

static int get_revents(int idx, void *opaque)
{
	struct user *u = opaque;

	return idx >= 0 && (unsigned int)idx < u->nr_want ? u->want[idx].revents : 0;
}

static void user_refresh(struct user *u);

static void watch_event(void *opaque, uint32_t events)
{
	struct slirp_watch *w = opaque;
	struct user *u = w->u;

	/* @w may be freed by slirp's unregister_poll_fd() below. */
	for (unsigned int i = 0; i < u->nr_want; i++) {
		if (u->want[i].fd == w->fd)
			u->want[i].revents = from_epoll(events);
	}
	slirp_pollfds_poll(u->slirp, 0, get_revents, u);
	user_refresh(u);
}

static void watch_remove(struct user *u, unsigned int i)
{
	event_loop_del(u->dev.nb.loop, u->watch[i]->fd);
	free(u->watch[i]);
	u->watch[i] = u->watch[--u->nr_watch];
}

static int watch_add(struct user *u, int fd, uint32_t events)
{
	struct slirp_watch *w;
	int ret;

	if (u->nr_watch == u->max_watch) {
		unsigned int max = u->max_watch ? 2 * u->max_watch : 16;
		struct slirp_watch **p = realloc(u->watch, max * sizeof(*p));

		if (!p)
			return -ENOMEM;
		u->watch = p;
		u->max_watch = max;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct slirp_watch){ u, fd, events };
	ret = event_loop_add(u->dev.nb.loop, fd, events, watch_event, w);
	if (ret) {
		free(w);
		return ret;
	}
	u->watch[u->nr_watch++] = w;
	return 0;
}

/* Make the registered fds what slirp asked for at the last fill. */
static void watch_sync(struct user *u)
{
	for (unsigned int i = 0; i < u->nr_watch;) {
		uint32_t want = 0;

		for (unsigned int j = 0; j < u->nr_want; j++) {
			if (u->want[j].fd == u->watch[i]->fd)
				want |= to_epoll(u->want[j].events);
		}
		if (want != u->watch[i]->events)
			watch_remove(u, i); /* re-added below when still wanted */
		else
			i++;
	}
	for (unsigned int j = 0; j < u->nr_want; j++) {
		uint32_t want = to_epoll(u->want[j].events);
		bool have = false;
		int ret;

		/* No interest at all: epoll would still report ERR/HUP, endlessly. */
		if (!want)
			continue;
		for (unsigned int i = 0; i < u->nr_watch && !have; i++)
			have = u->watch[i]->fd == u->want[j].fd;
		ret = have ? 0 : watch_add(u, u->want[j].fd, want);
		if (ret)
			pr_err("netdev %s: cannot watch a slirp socket: %s", u->dev.nb.id,
			       strerror(-ret));
	}
}

/* After every call into slirp: its fds and its deadline may have changed. */
static void user_refresh(struct user *u)
{
	uint32_t timeout = UINT32_MAX;
	int64_t at;

	if (!u->attached)
		return;
	u->nr_want = 0;
	slirp_pollfds_fill(u->slirp, &timeout, add_poll, u);
	watch_sync(u);
	if (timeout == UINT32_MAX)
		return;
	at = now_ns() / 1000000 + timeout;
	if (!u->deadline_ms || at < u->deadline_ms) {
		u->deadline_ms = at;
		timerfd_at(u->timeout_fd, at);
	}
}

/* A poll with no fd ready: slirp runs its timers and sends what it queued. */
static void poll_no_events(struct user *u)
{
	for (unsigned int i = 0; i < u->nr_want; i++)
		u->want[i].revents = 0;
	slirp_pollfds_poll(u->slirp, 0, get_revents, u);
}

static void timeout_event(void *opaque, uint32_t events)
{
	struct user *u = opaque;

	(void)events;
	timerfd_drain(u->timeout_fd);
	u->deadline_ms = 0;
	poll_no_events(u);
	user_refresh(u);
}

/* SlirpCb */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user *u = opaque;
	struct net_backend *nb = &u->dev.nb;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	/* Nowhere to hold it: TCP in slirp retransmits, as after a loss on a wire. */
	if (!nb->peer || !nb->peer->can_receive(nb->peer_opaque)) {
		nb->rx_dropped++;
		return (ssize_t)len;
	}
	nb->peer->receive(nb->peer_opaque, &iov, 1);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct user *u = opaque;

	pr_warn("netdev %s: guest error: %s", u->dev.nb.id, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void timer_event(void *opaque, uint32_t events)
{
	struct slirp_timer *t = opaque;
	struct user *u = t->u;

	(void)events;
	timerfd_drain(t->fd);
	slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
	user_refresh(u);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_timer *t = malloc(sizeof(*t));
	struct user *u = opaque;

	if (!t)
		return NULL;
	*t = (struct slirp_timer){ u, -1, id, cb_opaque };
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0 || event_loop_add(u->dev.nb.loop, t->fd, EPOLLIN, timer_event, t)) {
		pr_err("netdev: cannot create a slirp timer: %s", strerror(errno));
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *t = timer;
	struct user *u = opaque;

	if (!t)
		return;
	event_loop_del(u->dev.nb.loop, t->fd);
	close(t->fd);
	free(t);
}

/* @expire_time: ms on cb_clock_get_ns()'s clock. */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (t)
		timerfd_at(t->fd, expire_time);
}

/* The fill after every slirp call picks new fds up. */
static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* Called before slirp closes @fd: a new socket may get its number before the next fill. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
	struct user *u = opaque;

	for (unsigned int i = 0; i < u->nr_watch; i++) {
		if (u->watch[i]->fd == fd) {
			watch_remove(u, i);
			break;
		}
	}
	for (unsigned int i = 0; i < u->nr_want; i++) {
		if (u->want[i].fd == fd)
			u->want[i].revents = 0;
	}
}

/* Everything runs on the I/O thread and is followed by a fill: nothing to kick. */
static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb user_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* net_backend_ops */

static int user_send(struct net_backend *nb, const struct iovec *iov, unsigned int iovcnt)
{
	struct user *u = to_user(nb);
	size_t len = iov_size(iov, iovcnt);

	if (len > sizeof(u->buf))
		return -EINVAL;
	iov_to_buf(iov, iovcnt, 0, u->buf, len);
	slirp_input(u->slirp, u->buf, (int)len);
	/*
	 * An ARP answer lets slirp send what waited for it, but only a poll
	 * sends it: do one now rather than at the next timeout (up to 1 s).
	 */
	if (len >= ETH_HLEN && (u->buf[12] << 8 | u->buf[13]) == ETHERTYPE_ARP)
		poll_no_events(u);
	user_refresh(u);
	return 0;
}

/* Frames slirp sends while the peer is full are dropped, never held. */
static void user_rx_ready(struct net_backend *nb)
{
	(void)nb;
}

static int user_set_offload(struct net_backend *nb, unsigned int offloads)
{
	(void)nb;
	return offloads ? err_set(EOPNOTSUPP, "the user backend takes no offloads") : 0;
}

static void user_describe(struct net_backend *nb, char *buf, size_t size)
{
	snprintf(buf, size, "%s", to_user(nb)->desc);
}

static void user_close(struct net_backend *nb)
{
	struct user *u = to_user(nb);

	while (u->nr_watch)
		watch_remove(u, u->nr_watch - 1);
	if (u->slirp)
		slirp_cleanup(u->slirp); /* frees its timers through cb_timer_free() */
	if (u->timeout_fd >= 0) {
		event_loop_del(nb->loop, u->timeout_fd);
		close(u->timeout_fd);
	}
	free(u->watch);
	free(u->want);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.send = user_send,
	.rx_ready = user_rx_ready,
	.set_offload = user_set_offload,
	.describe = user_describe,
	.close = user_close,
};

static int user_attach(struct netdev *dev)
{
	struct user *u = (struct user *)dev;
	int ret = event_loop_add(dev->nb.loop, u->timeout_fd, EPOLLIN, timeout_event, u);

	if (ret)
		return err_set(-ret, "cannot watch slirp's timer: %s", strerror(-ret));
	u->attached = true;
	user_refresh(u);
	return 0;
}

/* Options */

struct hostfwd {
	const char *spec; /* as given, for messages */
	bool udp;
	struct in_addr haddr, gaddr;
	int hport, gport;
};

struct user_cfg {
	struct in_addr net, mask, host, dhcp, dns;
	unsigned int prefix;
	bool restrict_, ipv6;
	struct hostfwd fwd[OPTS_MAX];
	unsigned int nr_fwd;
};

static int parse_addr(const char *key, const char *v, struct in_addr *out)
{
	if (inet_pton(AF_INET, v, out) != 1)
		return err_set(EINVAL, "%s=%s: not an IPv4 address", key, v);
	return 0;
}

static bool in_net(const struct user_cfg *c, struct in_addr a)
{
	return (a.s_addr & c->mask.s_addr) == c->net.s_addr;
}

static const char *ntoa(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* net=A.B.C.D[/N]: /24 when absent, as QEMU. */
static int parse_net(const char *v, struct user_cfg *c)
{
	char addr[INET_ADDRSTRLEN], ab[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);
	uint64_t prefix = 24;

	if (len >= sizeof(addr) ||
	    (slash && (parse_u64(slash + 1, &prefix) || prefix < 8 || prefix > 30)))
		return err_set(EINVAL, "net=%s: expected A.B.C.D/N with N from 8 to 30", v);
	memcpy(addr, v, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, &c->net) != 1)
		return err_set(EINVAL, "net=%s: '%s' is not an IPv4 address", v, addr);
	c->prefix = (unsigned int)prefix;
	c->mask.s_addr = htonl(~0u << (32 - prefix));
	if (c->net.s_addr & ~c->mask.s_addr) {
		struct in_addr n = { c->net.s_addr & c->mask.s_addr };

		return err_set(EINVAL, "net=%s: host bits are set (net=%s/%u?)", v, ntoa(n, ab),
			       c->prefix);
	}
	return 0;
}

/* host=, dhcpstart=, dns=: default the network's .2, .15, .3, as QEMU; inside the network. */
static int parse_in_net(struct opts *o, const char *key, unsigned int host_part,
			const struct user_cfg *c, struct in_addr *out)
{
	char nb[INET_ADDRSTRLEN], ab[INET_ADDRSTRLEN];
	const char *v = opts_get(o, key);
	int ret;

	if (!v) {
		out->s_addr = c->net.s_addr | htonl(host_part);
		if (!in_net(c, *out))
			return err_set(EINVAL,
				       "net=%s/%u has no room for the default %s=%s (give %s=)",
				       ntoa(c->net, nb), c->prefix, key, ntoa(*out, ab), key);
		return 0;
	}
	ret = parse_addr(key, v, out);
	if (!ret && !in_net(c, *out))
		ret = err_set(EINVAL, "%s=%s is not in net=%s/%u", key, v, ntoa(c->net, nb),
			      c->prefix);
	return ret;
}

#define HOSTFWD_SYNTAX "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"

/* "ADDR:PORT" or ":PORT" (ADDR = @def), split in place. */
static int parse_addr_port(const char *spec, char *s, struct in_addr def, struct in_addr *addr,
			   int *port)
{
	char *colon = strrchr(s, ':');
	uint64_t p;

	if (!colon)
		return err_set(EINVAL, "hostfwd=%s: expected " HOSTFWD_SYNTAX, spec);
	*colon = '\0';
	*addr = def;
	if (*s && inet_pton(AF_INET, s, addr) != 1)
		return err_set(EINVAL, "hostfwd=%s: '%s' is not an IPv4 address", spec, s);
	if (parse_u64(colon + 1, &p) || p < 1 || p > 65535)
		return err_set(EINVAL, "hostfwd=%s: port '%s' is not 1-65535", spec, colon + 1);
	*port = (int)p;
	return 0;
}

static int parse_hostfwd(const char *spec, const struct user_cfg *c, struct hostfwd *f)
{
	struct in_addr loopback = { htonl(INADDR_LOOPBACK) };
	char buf[128], *colon, *dash;
	int ret;

	if (strlen(spec) >= sizeof(buf))
		return err_set(EINVAL, "hostfwd=%s: too long", spec);
	strcpy(buf, spec);
	colon = strchr(buf, ':');
	dash = colon ? strchr(colon, '-') : NULL;
	if (!dash)
		return err_set(EINVAL, "hostfwd=%s: expected " HOSTFWD_SYNTAX, spec);
	*colon = *dash = '\0';
	if (!strcmp(buf, "udp"))
		f->udp = true;
	else if (!buf[0] || !strcmp(buf, "tcp"))
		f->udp = false;
	else
		return err_set(EINVAL, "hostfwd=%s: protocol '%s' (tcp or udp)", spec, buf);
	/* The host side listens on loopback unless told: 0.0.0.0 would open the guest to the LAN. */
	ret = parse_addr_port(spec, colon + 1, loopback, &f->haddr, &f->hport);
	if (!ret)
		ret = parse_addr_port(spec, dash + 1, c->dhcp, &f->gaddr, &f->gport);
	if (!ret && !in_net(c, f->gaddr)) {
		char nb[INET_ADDRSTRLEN];

		ret = err_set(EINVAL, "hostfwd=%s: the guest address is not in net=%s/%u", spec,
			      ntoa(c->net, nb), c->prefix);
	}
	return ret;
}

/* Every hostfwd=, in the order given. */
static int parse_hostfwds(struct opts *o, struct user_cfg *c)
{
	unsigned int n = opts_count(o, NET_HOSTFWD_KEY);

	c->nr_fwd = 0;
	for (unsigned int i = 0; i < n; i++) {
		const char *spec = opts_get_nth(o, NET_HOSTFWD_KEY, i);
		int ret = parse_hostfwd(spec, c, &c->fwd[c->nr_fwd]);

		if (ret)
			return ret;
		c->fwd[c->nr_fwd++].spec = spec;
	}
	return 0;
}

static int parse_cfg(struct opts *o, struct user_cfg *c)
{
	const char *net = opts_get(o, "net");
	int ret;

	c->restrict_ = false;
	c->ipv6 = false;
	ret = parse_net(net ? net : "10.0.2.0/24", c);
	if (!ret)
		ret = parse_in_net(o, "host", 2, c, &c->host);
	if (!ret)
		ret = parse_in_net(o, "dhcpstart", 15, c, &c->dhcp);
	if (!ret)
		ret = parse_in_net(o, "dns", 3, c, &c->dns);
	if (!ret)
		ret = opts_get_bool(o, "restrict", &c->restrict_);
	if (!ret)
		ret = opts_get_bool(o, "ipv6", &c->ipv6);
	if (!ret)
		ret = parse_hostfwds(o, c);
	if (!ret)
		ret = net_check_unused(o, "user");
	return ret;
}

static int add_hostfwd(struct user *u, const struct hostfwd *f)
{
	char hb[INET_ADDRSTRLEN], gb[INET_ADDRSTRLEN];
	size_t len = strlen(u->desc);

	errno = 0;
	if (slirp_add_hostfwd(u->slirp, f->udp, f->haddr, f->hport, f->gaddr, f->gport) < 0) {
		int err = errno ? errno : EINVAL;

		if (err == EADDRINUSE)
			return err_set(err, "hostfwd=%s: host port %d is in use", f->spec,
				       f->hport);
		if (err == EACCES)
			return err_set(err,
				       "hostfwd=%s: host port %d needs privileges (use a port "
				       "above 1023)",
				       f->spec, f->hport);
		if (err == EADDRNOTAVAIL)
			return err_set(err, "hostfwd=%s: %s is not an address of this host",
				       f->spec, ntoa(f->haddr, hb));
		return err_set(err, "hostfwd=%s: %s", f->spec, strerror(err));
	}
	snprintf(u->desc + len, sizeof(u->desc) - len, ",hostfwd=%s:%s:%d-%s:%d",
		 f->udp ? "udp" : "tcp", ntoa(f->haddr, hb), f->hport, ntoa(f->gaddr, gb),
		 f->gport);
	return 0;
}

static Slirp *user_new_slirp(struct user *u, const struct user_cfg *c)
{
	SlirpConfig cfg = {
		.version = 4,
		.restricted = c->restrict_,
		.in_enabled = true,
		.vnetwork = c->net,
		.vnetmask = c->mask,
		.vhost = c->host,
		.vdhcp_start = c->dhcp,
		.vnameserver = c->dns,
		.in6_enabled = c->ipv6,
		.vprefix_len = 64,
	};

	/* QEMU's IPv6 defaults: fec0::/64, the host at ::2, DNS at ::3. */
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	return slirp_new(&cfg, &user_callbacks, u);
}

int slirp_create(struct netdev **devp, struct opts *o, struct event_loop *loop)
{
	char nb[INET_ADDRSTRLEN];
	struct user_cfg c;
	struct user *u;
	int ret = parse_cfg(o, &c);

	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->dev.nb.ops = &user_ops;
	u->dev.nb.loop = loop;
	u->dev.attach = user_attach;
	u->timeout_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (u->timeout_fd < 0) {
		ret = err_set(errno, "timerfd: %s", strerror(errno));
		goto fail;
	}
	snprintf(u->desc, sizeof(u->desc), "user: net=%s/%u%s%s", ntoa(c.net, nb), c.prefix,
		 c.restrict_ ? ",restrict=on" : "", c.ipv6 ? ",ipv6=on" : "");
	u->slirp = user_new_slirp(u, &c);
	if (!u->slirp) {
		ret = err_set(EINVAL, "libslirp refused the configuration");
		goto fail;
	}
	for (unsigned int i = 0; i < c.nr_fwd; i++) {
		ret = add_hostfwd(u, &c.fwd[i]);
		if (ret)
			goto fail;
	}
	*devp = &u->dev;
	return 0;
fail:
	user_close(&u->dev.nb);
	return ret;
}
