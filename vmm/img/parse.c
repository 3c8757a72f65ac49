// SPDX-License-Identifier: MIT
/* kvmini-img's parsers: sizes and -o option lists (no I/O, unit-tested). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "img_cmd.h"
#include "opts.h"

static int suffix_shift(char c)
{
	const char *units = "bkmgtpe";
	const char *u = c ? strchr(units, c | 0x20) : NULL;

	return u ? (int)(u - units) * 10 : -1;
}

int img_parse_size(const char *s, uint64_t *size)
{
	const char *p = s;
	uint64_t whole = 0, mult = 1;
	double frac = 0;
	bool hex = false;
	int shift = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
	}
	if (!(hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		return -EINVAL;
	for (; hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++) {
		unsigned int d = isdigit((unsigned char)*p) ? *p - '0' : (*p | 0x20) - 'a' + 10;

		if (whole > (UINT64_MAX - d) / (hex ? 16 : 10))
			return -EINVAL;
		whole = whole * (hex ? 16 : 10) + d;
	}
	if (*p == '.' && !hex) {
		double scale = 0.1;

		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
		/* A fraction of a byte means nothing: it needs a unit. */
		if (!*p)
			return -EINVAL;
	}
	if (*p) {
		shift = suffix_shift(*p);
		if (shift < 0 || p[1])
			return -EINVAL;
		mult = UINT64_C(1) << shift;
	}
	if (whole > (uint64_t)INT64_MAX >> shift)
		return -EINVAL;
	whole = whole * mult + (uint64_t)(frac * (double)mult);
	if (whole > INT64_MAX)
		return -EINVAL;
	*size = whole;
	return 0;
}

void size_to_str(uint64_t val, char *buf, size_t len)
{
	static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	unsigned int i = 0;

	/* As qemu: the next unit from 1000 of this one up, so "1000 KiB" is "0.977 MiB". */
	while (i < 6 && (double)val * 1.024 >= (double)(UINT64_C(1) << (10 * (i + 1))))
		i++;
	snprintf(buf, len, "%0.3g %sB", (double)val / (double)(UINT64_C(1) << (10 * i)), units[i]);
}

static int parse_bool_opt(const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(val, "off") || !strcmp(val, "false")) {
		*out = false;
		return 0;
	}
	return err_set(EINVAL, "invalid value '%s' for %s (use on or off)", val, key);
}

static int parse_u32_opt(const char *key, const char *val, uint32_t *out)
{
	uint64_t v;

	if (img_parse_size(val, &v) || v > UINT32_MAX)
		return err_set(EINVAL, "invalid value '%s' for %s", val, key);
	*out = (uint32_t)v;
	return 0;
}

static int apply_create_opt(const char *key, const char *val, struct img_create_opts *o)
{
	bool qcow2 = o->format == IMG_FORMAT_QCOW2;

	if (!strcmp(key, "size")) {
		if (img_parse_size(val, &o->size))
			return err_set(EINVAL, "invalid size '%s'", val);
		return 0;
	}
	if (qcow2 && !strcmp(key, "compat")) {
		if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
			o->version = 2;
		else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
			o->version = 3;
		else
			return err_set(EINVAL, "invalid compat '%s' (use 0.10 or 1.1)", val);
		return 0;
	}
	if (qcow2 && !strcmp(key, "cluster_size"))
		return parse_u32_opt(key, val, &o->cluster_size);
	if (qcow2 && !strcmp(key, "refcount_bits"))
		return parse_u32_opt(key, val, &o->refcount_bits);
	if (qcow2 && !strcmp(key, "lazy_refcounts"))
		return parse_bool_opt(key, val, &o->lazy_refcounts);
	if (qcow2 && !strcmp(key, "compression_type")) {
		if (!strcmp(val, "zlib"))
			o->compression = QCOW2_COMPRESSION_ZLIB;
		else if (!strcmp(val, "zstd"))
			o->compression = QCOW2_COMPRESSION_ZSTD;
		else
			return err_set(EINVAL, "invalid compression_type '%s' (use zlib or zstd)",
				       val);
		return 0;
	}
	if (qcow2 && !strcmp(key, "backing_file")) {
		o->backing_file = *val ? val : NULL;
		return 0;
	}
	if (qcow2 && !strcmp(key, "backing_fmt")) {
		o->backing_format = *val ? val : NULL;
		return 0;
	}
	return err_set(EINVAL, "invalid parameter '%s' for format '%s'", key,
		       qcow2 ? "qcow2" : "raw");
}

int append_opt_list(char **acc, const char *arg)
{
	char *joined;

	if (!*acc)
		joined = strdup(arg);
	else if (asprintf(&joined, "%s,%s", *acc, arg) < 0)
		joined = NULL;
	if (!joined)
		return -ENOMEM;
	free(*acc);
	*acc = joined;
	return 0;
}

int parse_create_opts(const char *list, struct opts *store, struct img_create_opts *opts)
{
	unsigned int i;
	int ret;

	memset(store, 0, sizeof(*store));
	if (!list)
		return 0;
	ret = opts_parse(store, list, NULL);
	for (i = 0; !ret && i < store->nr; i++)
		ret = apply_create_opt(store->items[i].key, store->items[i].value, opts);
	return ret;
}
