// SPDX-License-Identifier: MIT
/*
 * The network options.  -netdev is kept as written, for the backends to
 * parse; the shorthands are rewritten into the long form QEMU documents them
 * as: "-nic user,hostfwd=..,mac=M" is "-netdev user,id=nicN,hostfwd=.."
 * plus "-device virtio-net-pci,netdev=nicN,mac=M", and each legacy
 * "-net nic" is connected to the next "-net user|tap" (QEMU joins them on a
 * hub; one NIC per backend is what a hub of two amounts to).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "net.h"
#include "opts.h"

#define NIC_MODEL "virtio-net-pci"

/* Keep @s until cli_free(); NULL when there is no room or memory. */
static char *keep(struct vm_config *cfg, char *s)
{
	if (!s || cfg->nr_strings == sizeof(cfg->strings) / sizeof(cfg->strings[0])) {
		free(s);
		return NULL;
	}
	cfg->strings[cfg->nr_strings++] = s;
	return s;
}

static int netdev_room(const struct vm_config *cfg)
{
	if (cfg->nr_netdevs == MAX_NETDEVS)
		return err_set(EINVAL, "too many network backends (at most %d)", MAX_NETDEVS);
	return 0;
}

static int add_netdev(struct vm_config *cfg, const char *arg, const char *origin)
{
	int ret = netdev_room(cfg);

	if (ret)
		return ret;
	cfg->netdev_origin[cfg->nr_netdevs] = origin;
	cfg->netdevs[cfg->nr_netdevs++] = arg;
	return 0;
}

static int add_device(struct vm_config *cfg, const char *arg)
{
	if (cfg->nr_devices == MAX_DEVICE_ARGS)
		return err_set(EINVAL, "too many devices (at most %d)", MAX_DEVICE_ARGS);
	cfg->devices[cfg->nr_devices++] = arg;
	return 0;
}

/* Append ",key=value" to the string at @buf (a ',' in @value written ",,"). */
static void append_opt(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",%s", key);
	if (!value)
		return;
	fputc('=', f);
	for (; *value; value++) {
		if (*value == ',')
			fputc(',', f);
		fputc(*value, f);
	}
}

static int check_model(const char *model)
{
	if (model && strcmp(model, NIC_MODEL) && strcmp(model, "virtio"))
		return err_set(EINVAL, "model=%s is not supported (kvmini has %s only)", model,
			       NIC_MODEL);
	return 0;
}

/*
 * The NIC and backend @o describes: "TYPE,id=ID,<backend keys>" and
 * "virtio-net-pci,netdev=ID[,mac=MAC]": @o's keys nobody has asked for
 * yet go to the backend.
 */
static int expand(struct vm_config *cfg, struct opts *o, const char *id, const char *mac,
		  const char *origin)
{
	char *netdev = NULL, *device = NULL;
	size_t len;
	FILE *f = open_memstream(&netdev, &len);
	int ret;

	if (!f)
		return -ENOMEM;
	fprintf(f, "%s,id=%s", opts_get(o, "type"), id);
	for (unsigned int i = 0; i < o->nr; i++) {
		if (!o->items[i].used)
			append_opt(f, o->items[i].key, o->items[i].value);
	}
	if (fclose(f) || !keep(cfg, netdev))
		return -ENOMEM;
	if (asprintf(&device, NIC_MODEL ",netdev=%s%s%s", id, mac ? ",mac=" : "", mac ? mac : "") <
		    0 ||
	    !keep(cfg, device))
		return -ENOMEM;
	ret = add_netdev(cfg, netdev, origin);
	return ret ? ret : add_device(cfg, device);
}

/* A name for an expansion's backend that no -netdev id= can clash with (ids are user-chosen). */
static const char *auto_id(struct vm_config *cfg, const char *prefix)
{
	char *id;

	if (asprintf(&id, "%s%u", prefix, cfg->nr_netdevs) < 0)
		return NULL;
	return keep(cfg, id);
}

/* -nic TYPE[,id=ID][,model=virtio-net-pci][,mac=MAC][,backend keys] */
static int opt_nic(struct vm_config *cfg, const char *arg)
{
	struct opts o;
	const char *type, *id, *mac;
	char *origin = NULL;
	int ret = opts_parse_multi(&o, arg, "type", net_repeatable_keys);

	if (ret)
		return ret;
	type = opts_get(&o, "type");
	id = opts_get(&o, "id");
	mac = opts_get(&o, "mac");
	ret = check_model(opts_get(&o, "model"));
	if (!ret && !type)
		ret = err_set(EINVAL, "a backend type is required (tap, user or none)");
	if (!ret && !strcmp(type, "none")) {
		if (o.nr > 1)
			ret = err_set(EINVAL, "none takes no parameters");
		opts_free(&o);
		return ret;
	}
	if (!ret)
		ret = netdev_room(cfg);
	if (!ret && !id && !(id = auto_id(cfg, "nic.")))
		ret = -ENOMEM;
	if (!ret && (asprintf(&origin, "-nic %s", arg) < 0 || !keep(cfg, origin)))
		ret = -ENOMEM;
	if (!ret)
		ret = expand(cfg, &o, id, mac, origin);
	opts_free(&o);
	return ret;
}

static int finish_pair(struct vm_config *cfg, const char *nic, const char *backend);

/*
 * -net nic[,model=virtio][,macaddr=MAC][,netdev=ID], -net user|tap[,...],
 * -net none.  A nic with netdev= is complete; the others wait for
 * net_options_finish() to pair them with their backends.
 */
static int opt_net(struct vm_config *cfg, const char *arg)
{
	struct net_legacy *l = &cfg->legacy_net;
	struct opts o;
	const char *type;
	int ret = opts_parse_multi(&o, arg, "type", net_repeatable_keys);

	if (ret)
		return ret;
	type = opts_get(&o, "type");
	if (!type) {
		ret = err_set(EINVAL, "a type is required (nic, user, tap or none)");
	} else if (!strcmp(type, "none")) {
		l->none = true;
		if (o.nr > 1)
			ret = err_set(EINVAL, "none takes no parameters");
	} else if (!strcmp(type, "nic") && opts_get(&o, "netdev")) {
		ret = finish_pair(cfg, arg, NULL);
	} else if (!strcmp(type, "nic")) {
		if (l->nr_nics == MAX_NETDEVS)
			ret = err_set(EINVAL, "too many NICs (at most %d)", MAX_NETDEVS);
		else
			l->nics[l->nr_nics++] = arg;
	} else {
		if (l->nr_backends == MAX_NETDEVS)
			ret = err_set(EINVAL, "too many network backends (at most %d)",
				      MAX_NETDEVS);
		else
			l->backends[l->nr_backends++] = arg;
	}
	opts_free(&o);
	return ret;
}

int net_option(struct vm_config *cfg, const char *option, const char *arg)
{
	if (!strcmp(option, "netdev"))
		return add_netdev(cfg, arg, NULL);
	if (!strcmp(option, "nic"))
		return opt_nic(cfg, arg);
	return opt_net(cfg, arg);
}

/* One "-net nic" and its backend ("-net user|tap", or NULL with netdev=). */
static int finish_pair(struct vm_config *cfg, const char *nic, const char *backend)
{
	struct opts n, b;
	const char *mac, *netdev, *id;
	char *origin = NULL;
	int ret = opts_parse(&n, nic, "type");

	if (ret)
		return err_prefix(ret, "-net %s", nic);
	mac = opts_get(&n, "macaddr");
	netdev = opts_get(&n, "netdev");
	opts_get(&n, "type");
	ret = check_model(opts_get(&n, "model"));
	if (!ret && opts_unused(&n))
		ret = err_set(EINVAL, "parameter '%s' is not supported", opts_unused(&n));
	if (!ret && netdev) {
		char *device = NULL;

		if (asprintf(&device, NIC_MODEL ",netdev=%s%s%s", netdev, mac ? ",mac=" : "",
			     mac ? mac : "") < 0 ||
		    !keep(cfg, device))
			ret = -ENOMEM;
		else
			ret = add_device(cfg, device);
	}
	if (ret || netdev) {
		opts_free(&n);
		return ret ? err_prefix(ret, "-net %s", nic) : 0;
	}
	ret = netdev_room(cfg);
	if (!ret)
		ret = opts_parse_multi(&b, backend, "type", net_repeatable_keys);
	if (!ret) {
		id = opts_get(&b, "id");
		if (!id)
			id = opts_get(&b, "name");
		if (!id && !(id = auto_id(cfg, "net.")))
			ret = -ENOMEM;
		if (!ret && (asprintf(&origin, "-net %s", backend) < 0 || !keep(cfg, origin)))
			ret = -ENOMEM;
		if (!ret)
			ret = expand(cfg, &b, id, mac, origin);
		opts_free(&b);
	}
	opts_free(&n);
	return ret ? err_prefix(ret, "-net %s", backend) : 0;
}

int net_options_finish(struct vm_config *cfg)
{
	struct net_legacy *l = &cfg->legacy_net;
	unsigned int paired = 0;

	if (l->none && (l->nr_nics || l->nr_backends))
		return err_set(EINVAL, "-net none: cannot be combined with other -net options");
	for (unsigned int i = 0; i < l->nr_nics; i++) {
		int ret;

		if (paired == l->nr_backends)
			return err_set(EINVAL, "-net %s: no -net user or -net tap for this NIC",
				       l->nics[i]);
		ret = finish_pair(cfg, l->nics[i], l->backends[paired++]);
		if (ret)
			return ret;
	}
	if (paired < l->nr_backends)
		return err_set(EINVAL, "-net %s: no -net nic to connect it to (add -net nic)",
			       l->backends[paired]);
	return 0;
}
