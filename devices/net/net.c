// SPDX-License-Identifier: MIT
/* -netdev: parsing the argument, picking the backend, attaching it to its NIC. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"
#include "util.h"

/* QEMU's user backend takes several hostfwd=; tap refuses it by name like any other key. */
const char *const net_repeatable_keys[] = { NET_HOSTFWD_KEY, NULL };

int net_check_unused(const struct opts *o, const char *type)
{
	if (opts_unused(o))
		return err_set(EINVAL, "unknown or unsupported parameter '%s' for %s",
			       opts_unused(o), type);
	return 0;
}

static int create_type(struct netdev **dev, const char *type, struct opts *o,
		       struct event_loop *loop)
{
	static const char *const unsupported[] = { "bridge",	 "socket",     "stream", "dgram",
						   "vhost-user", "vhost-vdpa", "l2tpv3", "vde",
						   "netmap",	 "hubport",    "af-xdp" };

	if (!strcmp(type, "tap"))
		return tap_create(dev, o, loop);
	if (!strcmp(type, "user"))
		return slirp_create(dev, o, loop);
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
		if (!strcmp(type, unsupported[i]))
			return err_set(ENOTSUP,
				       "netdev type '%s' is not supported (use tap or user)", type);
	}
	return err_set(EINVAL, "unknown netdev type '%s' (tap or user)", type);
}

int net_backend_create(struct net_backend **nbp, const char *arg, struct event_loop *loop)
{
	struct netdev *dev = NULL;
	const char *type, *id;
	struct opts o;
	int ret;

	*nbp = NULL;
	ret = opts_parse_multi(&o, arg, "type", net_repeatable_keys);
	if (ret)
		return ret;
	type = opts_get(&o, "type");
	id = opts_get(&o, "id");
	if (!type)
		ret = err_set(EINVAL,
			      "the netdev type is missing (tap,id=ID,... or user,id=ID,...)");
	else if (!id || !id[0])
		ret = err_set(EINVAL, "id= is required (%s,id=ID,...)", type);
	else
		ret = create_type(&dev, type, &o, loop);
	if (!ret) {
		dev->nb.id = strdup(id);
		dev->nb.loop = loop;
		if (!dev->nb.id)
			ret = -ENOMEM;
	}
	opts_free(&o);
	if (ret) {
		net_backend_close(dev ? &dev->nb : NULL);
		return ret;
	}
	*nbp = &dev->nb;
	return 0;
}

void net_attach(struct net_backend *nb, const struct net_peer_ops *peer, void *opaque)
{
	struct netdev *dev = (struct netdev *)nb;
	int ret;

	nb->peer = peer;
	nb->peer_opaque = opaque;
	ret = dev->attach(dev);
	/* Only -ENOMEM gets here; the NIC then sees a silent link, as with a cable pulled. */
	if (ret)
		pr_err("netdev %s: %s", nb->id, err_msg(-ret));
}

void net_backend_close(struct net_backend *nb)
{
	char *id;

	if (!nb)
		return;
	id = nb->id;
	nb->ops->close(nb);
	free(id);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int net_parse_mac(const char *str, uint8_t mac[6])
{
	uint8_t out[6];

	if (strlen(str) != 17)
		return err_set(EINVAL,
			       "MAC address '%s': expected six hex pairs like "
			       "52:54:00:12:34:56",
			       str);
	for (int i = 0; i < 6; i++) {
		const char *p = str + 3 * i;
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);

		if (hi < 0 || lo < 0)
			return err_set(EINVAL, "MAC address '%s': '%c' is not a hex digit", str,
				       hi < 0 ? p[0] : p[1]);
		if (i < 5 && p[2] != ':')
			return err_set(EINVAL,
				       "MAC address '%s': the pairs must be separated by ':'", str);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (out[0] & 1)
		return err_set(EINVAL,
			       "MAC address '%s' is multicast (bit 0 of the first byte): "
			       "a NIC needs a unicast address such as 52:54:00:12:34:56",
			       str);
	memcpy(mac, out, 6);
	return 0;
}
