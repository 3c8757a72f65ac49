// SPDX-License-Identifier: MIT
/* kvmini-img map: where each range of the virtual disk comes from, merged as qemu-img merges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "img_cmd.h"

struct map_entry {
	uint64_t start, length, offset;
	unsigned int depth;
	bool present, zero, data, has_offset;
};

static void entry_from_extent(struct map_entry *e, const struct img_extent *x)
{
	*e = (struct map_entry){
		.start = x->offset,
		.length = x->length,
		.depth = x->depth,
		.present = x->type != IMG_EXTENT_UNALLOCATED,
		.zero = x->type != IMG_EXTENT_DATA,
		.data = x->type == IMG_EXTENT_DATA,
		/* Compressed data has no offset of its own (qemu-img 7.2 prints none). */
		.has_offset = x->has_host_offset && !x->compressed,
		.offset = x->host_offset,
	};
}

static bool can_merge(const struct map_entry *a, const struct map_entry *b)
{
	return a->depth == b->depth && a->present == b->present && a->zero == b->zero &&
	       a->data == b->data && a->has_offset == b->has_offset &&
	       (!a->has_offset || a->offset + a->length == b->offset);
}

/* 0 printed, 1: a data range without an offset, which the human format cannot show. */
static int print_entry(char *const *names, unsigned int nr_names, const struct map_entry *e,
		       bool json, bool first)
{
	if (json) {
		printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %u, \"present\": %s, "
		       "\"zero\": %s, \"data\": %s",
		       first ? "[" : ",\n", (unsigned long long)e->start,
		       (unsigned long long)e->length, e->depth, e->present ? "true" : "false",
		       e->zero ? "true" : "false", e->data ? "true" : "false");
		if (e->has_offset)
			printf(", \"offset\": %llu", (unsigned long long)e->offset);
		putchar('}');
		return 0;
	}
	if (!e->data)
		return 0;
	if (!e->has_offset)
		return 1;
	printf("%#-16llx%#-16llx%#-16llx%s\n", (unsigned long long)e->start,
	       (unsigned long long)e->length, (unsigned long long)e->offset,
	       e->depth < nr_names ? names[e->depth] : "?");
	return 0;
}

int cmd_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct map_entry cur = { 0 }, next;
	char *names[IMG_MAX_CHAIN + 1];
	unsigned int nr_names, i;
	const char *fmt = NULL, *path;
	uint64_t off = 0, size;
	bool json = false, first = true;
	struct img *img;
	int c, ret = 0;

	while ((c = img_getopt(argc, argv, "f:U", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'U':
			break;
		case OPT_OUTPUT:
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		default:
			return 1;
		}
	}
	if (img_need_args(argc, argv, 1, 1))
		return 1;
	path = argv[optind];
	if (img_open_path(&img, path, fmt, 0))
		return 1;
	size = img_size(img);
	nr_names = layer_names(img, path, names);
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	while (off < size && !ret) {
		struct img_extent x;

		err_clear();
		ret = img_block_status(img, off, size - off, true, &x);
		if (ret) {
			img_err_file(path, ret);
			break;
		}
		entry_from_extent(&next, &x);
		off = x.offset + x.length;
		if (!first && can_merge(&cur, &next)) {
			cur.length += next.length;
			continue;
		}
		if (!first)
			ret = print_entry(names, nr_names, &cur, json, cur.start == 0);
		cur = next;
		first = false;
	}
	if (!ret && !first)
		ret = print_entry(names, nr_names, &cur, json, cur.start == 0);
	/* qemu-img describes an empty disk with one empty entry. */
	if (json && first && !ret)
		printf("[{ \"start\": 0, \"length\": 0, \"depth\": 0, \"present\": false, "
		       "\"zero\": false, \"data\": false}]\n");
	else if (json && !ret)
		printf("]\n");
	if (ret == 1)
		img_err("%s: the image has compressed clusters, which the human format cannot show "
			"(use --output=json)",
			path);
	for (i = 0; i < nr_names; i++)
		free(names[i]);
	img_close(img);
	return !!ret;
}
