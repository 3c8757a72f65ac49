/* SPDX-License-Identifier: MIT */
/* Private to devices/net/: what net.c knows of a backend besides its ops. */
#ifndef KVMINI_NET_BACKEND_H
#define KVMINI_NET_BACKEND_H

#include "net.h"
#include "opts.h"

/* A -netdev key that may be given several times (opts_parse_multi(), opts_get_nth()). */
#define NET_HOSTFWD_KEY "hostfwd"

/* Every backend starts with this; nb.ops->close frees it. */
struct netdev {
	struct net_backend nb;
	/* net_attach(): start watching the fds.  0 or -errno with err_set(). */
	int (*attach)(struct netdev *dev);
};

/* A backend has read all its keys: refuse the others, before anything is opened. */
int net_check_unused(const struct opts *o, const char *type);

/*
 * Build a backend from the parsed -netdev options (type and id already
 * taken).  0 or -errno with err_set().
 */
int tap_create(struct netdev **dev, struct opts *o, struct event_loop *loop);
int slirp_create(struct netdev **dev, struct opts *o, struct event_loop *loop);

#endif
