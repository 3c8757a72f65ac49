// SPDX-License-Identifier: MIT
/*
 * -drive: QEMU's keys for a disk image.  What kvmini cannot do is refused
 * by name, so a command line copied from QEMU never silently means
 * something else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "opts.h"
#include "qcow2.h"

static int dup_opt(struct opts *o, const char *key, char **out)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int parse_choice(struct opts *o, const char *key, const char *const *words, const char *hint,
			int *out)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	for (int i = 0; words[i]; i++) {
		if (!strcmp(v, words[i])) {
			*out = i;
			return 0;
		}
	}
	return err_set(EINVAL, "%s=%s: %s", key, v, hint);
}

/*
 * No format=: qcow2 by its magic, else raw with a warning (as QEMU does).
 * A file that cannot be read stays unprobed: opening it says why.
 */
static int drive_probe(struct drive_config *d)
{
	const char *format;
	int fd = open(d->file, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return 0;
	ret = img_probe(fd, d->file, true, &format);
	close(fd);
	if (ret)
		return 0;
	d->format = strdup(format);
	return d->format ? 0 : -ENOMEM;
}

static int drive_parse_opts(struct drive_config *d, struct opts *o)
{
	static const char *const ifs[] = { "virtio", "none", NULL };
	static const char *const caches[] = { "writeback", "none", NULL };
	static const char *const discards[] = { "ignore", "unmap", "off", "on", NULL };
	static const char *const aios[] = { "io_uring", NULL };
	int iface = DRIVE_IF_VIRTIO, cache = 0, discard = 1, aio = 0, ret;

	ret = dup_opt(o, "file", &d->file);
	if (!ret)
		ret = dup_opt(o, "format", &d->format);
	if (!ret)
		ret = dup_opt(o, "id", &d->id);
	if (!ret)
		ret = dup_opt(o, "serial", &d->serial);
	if (ret)
		return ret;
	if (!d->file || !*d->file)
		return err_set(EINVAL, "file= is required");
	ret = parse_choice(o, "if", ifs, "kvmini has virtio disks only (if=virtio or if=none)",
			   &iface);
	if (!ret)
		ret = parse_choice(o, "cache", caches, "supported: writeback, none", &cache);
	if (!ret)
		ret = parse_choice(o, "discard", discards, "supported: unmap, ignore", &discard);
	if (!ret)
		ret = parse_choice(o, "aio", aios, "kvmini does disk I/O with io_uring only", &aio);
	if (!ret)
		ret = opts_get_bool(o, "readonly", &d->readonly);
	if (ret)
		return ret;
	d->iface = (enum drive_if)iface;
	d->cache_none = cache == 1;
	d->discard = discard & 1;
	if (d->iface == DRIVE_IF_NONE && !d->id)
		return err_set(EINVAL, "if=none needs an id= for -device ...,drive=ID");
	if (opts_unused(o))
		return err_set(EINVAL, "unknown or unsupported parameter '%s'", opts_unused(o));
	return d->format ? 0 : drive_probe(d);
}

int drive_parse(struct drive_config *d, const char *arg)
{
	struct opts o;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = opts_parse(&o, arg, NULL);
	if (ret)
		return ret;
	ret = drive_parse_opts(d, &o);
	opts_free(&o);
	return ret;
}

void drive_free(struct drive_config *d)
{
	free(d->file);
	free(d->format);
	free(d->id);
	free(d->serial);
	memset(d, 0, sizeof(*d));
}
