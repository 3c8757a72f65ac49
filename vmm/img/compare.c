// SPDX-License-Identifier: MIT
/*
 * kvmini-img compare: do two images read the same?  As qemu-img: the part
 * one image has beyond the other's end must read as zeros (unless -s), a
 * mismatch is reported at its 512-byte sector, and the exit status is 0
 * identical, 1 different (or a usage error), 2 error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "img_cmd.h"

#define SECTOR 512u

struct side {
	struct img *img;
	const char *name;
	uint8_t *buf;
};

/* The status of @s from @off to its end; false on error (printed). */
static bool status(struct side *s, uint64_t off, struct img_extent *x)
{
	int ret;

	err_clear();
	ret = img_block_status(s->img, off, img_size(s->img) - off, true, x);
	if (ret)
		img_err_file(s->name, ret);
	return !ret;
}

/*
 * -s compares the block status as qemu-img does: the kind of range, whether
 * it has a host offset, and whether it runs to the end of its image.
 */
static bool same_status(const struct side *a, const struct img_extent *xa, const struct side *b,
			const struct img_extent *xb)
{
	return xa->type == xb->type && xa->has_host_offset == xb->has_host_offset &&
	       (xa->offset + xa->length == img_size(a->img)) ==
		       (xb->offset + xb->length == img_size(b->img));
}

static bool read_side(struct side *s, uint64_t off, size_t len)
{
	int ret;

	err_clear();
	ret = img_read(s->img, off, s->buf, len);
	if (ret)
		img_err_file(s->name, ret);
	return !ret;
}

static int mismatch(uint64_t off)
{
	printf("Content mismatch at offset %llu!\n", (unsigned long long)(off / SECTOR * SECTOR));
	return 1;
}

/* 0: [0, size) reads the same in both, 1: it does not (printed), 2: error. */
static int compare_common(struct side *a, struct side *b, uint64_t size, bool strict)
{
	uint64_t off = 0;

	while (off < size) {
		uint64_t n, i;
		struct img_extent xa, xb;

		if (!status(a, off, &xa) || !status(b, off, &xb))
			return 2;
		if (strict && !same_status(a, &xa, b, &xb)) {
			printf("Strict mode: Offset %llu block status mismatch!\n",
			       (unsigned long long)off);
			return 1;
		}
		n = img_chunk_end(off, size) - off;
		n = xa.length < n ? xa.length : n;
		n = xb.length < n ? xb.length : n;
		if (xa.type != IMG_EXTENT_DATA && xb.type != IMG_EXTENT_DATA) {
			off += n;
			continue;
		}
		if (!read_side(a, off, n) || !read_side(b, off, n))
			return 2;
		if (memcmp(a->buf, b->buf, n)) {
			for (i = 0; a->buf[i] == b->buf[i]; i++)
				;
			return mismatch(off + i);
		}
		off += n;
	}
	return 0;
}

/* 0: [from, end of @s) reads as zeros, 1: it does not (printed), 2: error. */
static int check_zero_tail(struct side *s, uint64_t from)
{
	uint64_t size = img_size(s->img), off = from;

	while (off < size) {
		uint64_t n, i;
		struct img_extent x;

		if (!status(s, off, &x))
			return 2;
		n = img_chunk_end(off, size) - off;
		n = x.length < n ? x.length : n;
		if (x.type == IMG_EXTENT_DATA) {
			if (!read_side(s, off, n))
				return 2;
			for (i = 0; i < n; i++)
				if (s->buf[i])
					return mismatch(off + i);
		}
		off += n;
	}
	return 0;
}

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct side a = { 0 }, b = { 0 };
	const char *fmt_a = NULL, *fmt_b = NULL;
	bool strict = false;
	uint64_t size_a, size_b;
	int c, ret = 2;

	while ((c = img_getopt(argc, argv, "f:F:sqU", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt_a = optarg;
			break;
		case 'F':
			fmt_b = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 'q':
			img_set_quiet();
			break;
		case 'U':
			break;
		default:
			return 1;
		}
	}
	/* Usage errors are 1 (as qemu-img's), not 2. */
	if (img_need_args(argc, argv, 2, 2))
		return 1;
	a.name = argv[optind];
	b.name = argv[optind + 1];
	if (img_open_path(&a.img, a.name, fmt_a, 0) || img_open_path(&b.img, b.name, fmt_b, 0))
		goto out;
	a.buf = malloc(IMG_CHUNK);
	b.buf = malloc(IMG_CHUNK);
	if (!a.buf || !b.buf) {
		img_err("out of memory");
		goto out;
	}
	size_a = img_size(a.img);
	size_b = img_size(b.img);
	if (strict && size_a != size_b) {
		printf("Strict mode: Image size mismatch!\n");
		ret = 1;
		goto out;
	}
	ret = compare_common(&a, &b, size_a < size_b ? size_a : size_b, strict);
	if (!ret && size_a != size_b) {
		printf("Warning: Image size mismatch!\n");
		ret = check_zero_tail(size_a > size_b ? &a : &b, size_a < size_b ? size_a : size_b);
	}
	if (!ret)
		printf("Images are identical.\n");
out:
	img_close(a.img);
	img_close(b.img);
	free(a.buf);
	free(b.buf);
	return ret;
}
