// SPDX-License-Identifier: MIT
/* kvmini-img create: a new empty raw or qcow2 image, optionally over a backing file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "img_cmd.h"
#include "opts.h"

static void print_formatting(const char *path, const struct img_create_opts *o, bool compat_given)
{
	const char *compat = o->version == 2 ? "0.10" : "1.1";

	printf("Formatting '%s', fmt=%s", path, o->format == IMG_FORMAT_QCOW2 ? "qcow2" : "raw");
	if (o->format == IMG_FORMAT_RAW) {
		printf(" size=%llu\n", (unsigned long long)o->size);
		return;
	}
	printf(" cluster_size=%u extended_l2=off compression_type=%s size=%llu",
	       o->cluster_size ? o->cluster_size : 65536,
	       o->compression == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib",
	       (unsigned long long)o->size);
	if (compat_given)
		printf(" compat=%s", compat);
	if (o->backing_file)
		printf(" backing_file=%s", o->backing_file);
	if (o->backing_format)
		printf(" backing_fmt=%s", o->backing_format);
	printf(" lazy_refcounts=%s refcount_bits=%u\n", o->lazy_refcounts ? "on" : "off",
	       o->refcount_bits ? o->refcount_bits : 16);
}

/* The virtual size of a created image, when it was taken from the backing file. */
static int created_size(const char *path, const char *fmt, uint64_t *size)
{
	struct img *img;
	int ret = img_open_path(&img, path, fmt, IMG_OPEN_NO_BACKING);

	if (ret)
		return ret;
	*size = img_size(img);
	img_close(img);
	return 0;
}

/* Create @path with @o (-o applied) and the command line's -b, -F and SIZE; 0 or 1 (printed). */
static int create(const char *path, const char *fmt, struct img_create_opts *o, const char *backing,
		  const char *backing_fmt, const char *size)
{
	bool size_given;
	int ret;

	if (backing)
		o->backing_file = backing;
	if (backing_fmt)
		o->backing_format = backing_fmt;
	if (size && img_size_arg(size, &o->size))
		return 1;
	if (o->format == IMG_FORMAT_RAW && o->backing_file)
		return img_err("%s: raw images have no backing file", path);
	if (o->backing_format && img_parse_format(o->backing_format, &(enum img_format){ 0 }))
		return 1;
	if (o->backing_file && !o->backing_format)
		return img_err(
			"%s: backing file specified without backing format (add -F raw|qcow2)",
			path);
	if (o->size == UINT64_MAX && !o->backing_file)
		return img_err("%s: image creation needs a size", path);
	size_given = o->size != UINT64_MAX;
	if (!size_given)
		o->size = 0;
	/* img_create() truncates the file: not under a VM using it. */
	if (img_check_unused(path))
		return 1;
	err_clear();
	ret = img_create(path, o);
	if (ret) {
		img_err_file(path, ret);
		return 1;
	}
	if (!size_given && created_size(path, fmt, &o->size))
		return 1;
	print_formatting(path, o, o->version != 0);
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	/* UINT64_MAX: no size given (0 is a valid size). */
	struct img_create_opts o = { .size = UINT64_MAX };
	const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL, *path;
	char *list = NULL;
	struct opts store;
	int c, ret;

	while ((c = img_getopt(argc, argv, "f:b:F:o:uq", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			backing_fmt = optarg;
			break;
		case 'o':
			if (append_opt_list(&list, optarg))
				return img_err("out of memory");
			break;
		case 'u':
			/* qemu-img's "unsafe": the engine checks the backing file regardless. */
			break;
		case 'q':
			img_set_quiet();
			break;
		default:
			return 1;
		}
	}
	if (img_need_args(argc, argv, 1, 2) || img_parse_format(fmt, &o.format))
		return 1;
	path = argv[optind];
	err_clear();
	ret = parse_create_opts(list, &store, &o);
	if (ret)
		img_err("%s: %s", path, err_msg(ret));
	else
		ret = create(path, fmt, &o, backing, backing_fmt,
			     argc - optind == 2 ? argv[optind + 1] : NULL);
	opts_free(&store);
	free(list);
	return ret ? 1 : 0;
}
