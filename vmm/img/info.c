// SPDX-License-Identifier: MIT
/* kvmini-img info: what qemu-img info prints, human or JSON, for one layer or the chain. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "img_cmd.h"

/* A backing file's name as qemu combines it with the image's name, malloc'd (NULL: no memory). */
static char *full_backing_name(const char *path, const char *backing)
{
	const char *slash = strrchr(path, '/');
	char *full;

	/* qemu's path_combine(): relative to the directory the image was named in. */
	if (backing[0] == '/' || !slash)
		return strdup(backing);
	if (asprintf(&full, "%.*s%s", (int)(slash - path + 1), path, backing) < 0)
		return NULL;
	return full;
}

unsigned int layer_names(struct img *top, const char *top_name, char **names)
{
	unsigned int n = 0;
	struct img *img;

	names[0] = strdup(top_name);
	for (img = top; img && names[n] && n + 1 < IMG_MAX_CHAIN + 1; img = img_backing(img)) {
		struct img_info in;

		img_get_info(img, &in);
		if (!in.backing_file)
			break;
		names[n + 1] = full_backing_name(names[n], in.backing_file);
		n++;
	}
	return names[n] ? n + 1 : n;
}

static void print_human(struct img *img, const char *name, const struct img_info *in,
			const char *full_backing)
{
	char size[32], disk[32];

	size_to_str(in->virtual_size, size, sizeof(size));
	size_to_str(in->actual_size, disk, sizeof(disk));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n", name,
	       in->format_name, size, (unsigned long long)in->virtual_size, disk);
	if (in->format != IMG_FORMAT_QCOW2)
		return;
	printf("cluster_size: %u\n", in->cluster_size);
	if (in->dirty)
		printf("cleanly shut down: no\n");
	if (in->backing_file) {
		printf("backing file: %s", in->backing_file);
		if (strcmp(full_backing, in->backing_file))
			printf(" (actual path: %s)", full_backing);
		putchar('\n');
	}
	if (in->backing_format)
		printf("backing file format: %s\n", in->backing_format);
	if (in->nb_snapshots) {
		printf("Snapshot list:\n");
		snapshot_print_table(img);
	}
	printf("Format specific information:\n    compat: %s\n    compression type: %s\n",
	       in->version == 2 ? "0.10" : "1.1",
	       in->compression == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib");
	if (in->version >= 3)
		printf("    lazy refcounts: %s\n", in->lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %u\n", in->refcount_bits);
	if (in->version >= 3)
		printf("    corrupt: %s\n    extended l2: false\n", in->corrupt ? "true" : "false");
}

static json_t *snapshots_json(struct img *img)
{
	const struct qcow2_snapshot *sn;
	json_t *arr = json_array();
	unsigned int nr, i;

	if (qcow2_snapshot_list(img, &sn, &nr))
		nr = 0;
	for (i = 0; i < nr; i++) {
		json_t *o = json_object();

		if (sn[i].icount != UINT64_MAX)
			json_object_set_new(o, "icount", json_integer((json_int_t)sn[i].icount));
		json_object_set_new(o, "vm-clock-nsec",
				    json_integer(sn[i].vm_clock_nsec % 1000000000));
		json_object_set_new(o, "name", json_string(sn[i].name));
		json_object_set_new(o, "date-sec", json_integer(sn[i].date_sec));
		json_object_set_new(o, "date-nsec", json_integer(sn[i].date_nsec));
		json_object_set_new(o, "vm-clock-sec",
				    json_integer(sn[i].vm_clock_nsec / 1000000000));
		json_object_set_new(o, "id", json_string(sn[i].id));
		json_object_set_new(o, "vm-state-size",
				    json_integer((json_int_t)sn[i].vm_state_size));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* The keys in qemu-img's order, so that the two outputs diff cleanly. */
static json_t *info_json(struct img *img, const char *name, const struct img_info *in,
			 const char *full_backing)
{
	bool qcow2 = in->format == IMG_FORMAT_QCOW2;
	json_t *o = json_object();

	if (in->backing_format)
		json_object_set_new(o, "backing-filename-format", json_string(in->backing_format));
	if (in->nb_snapshots)
		json_object_set_new(o, "snapshots", snapshots_json(img));
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)in->virtual_size));
	json_object_set_new(o, "filename", json_string(name));
	if (qcow2)
		json_object_set_new(o, "cluster-size", json_integer(in->cluster_size));
	json_object_set_new(o, "format", json_string(in->format_name));
	json_object_set_new(o, "actual-size", json_integer((json_int_t)in->actual_size));
	if (qcow2) {
		json_t *fs = json_object(), *data = json_object();
		bool v3 = in->version >= 3;

		json_object_set_new(data, "compat", json_string(v3 ? "1.1" : "0.10"));
		json_object_set_new(
			data, "compression-type",
			json_string(in->compression == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib"));
		if (v3)
			json_object_set_new(data, "lazy-refcounts",
					    json_boolean(in->lazy_refcounts));
		json_object_set_new(data, "refcount-bits", json_integer(in->refcount_bits));
		if (v3) {
			json_object_set_new(data, "corrupt", json_boolean(in->corrupt));
			json_object_set_new(data, "extended-l2", json_false());
		}
		json_object_set_new(fs, "type", json_string("qcow2"));
		json_object_set_new(fs, "data", data);
		json_object_set_new(o, "format-specific", fs);
	}
	if (in->backing_file) {
		json_object_set_new(o, "full-backing-filename", json_string(full_backing));
		json_object_set_new(o, "backing-filename", json_string(in->backing_file));
	}
	json_object_set_new(o, "dirty-flag", json_boolean(in->dirty));
	return o;
}

void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL;
	bool json = false, chain = false;
	struct img *top, *img;
	char *names[IMG_MAX_CHAIN + 1];
	unsigned int nr, i;
	json_t *arr = NULL;
	int c;

	while ((c = img_getopt(argc, argv, "f:U", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'U':
			/* Readers never take locks here: -U is always on. */
			break;
		case OPT_OUTPUT:
			if (img_parse_output(optarg, &json))
				return 1;
			break;
		case OPT_BACKING_CHAIN:
			chain = true;
			break;
		default:
			return 1;
		}
	}
	if (img_need_args(argc, argv, 1, 1))
		return 1;
	if (img_open_path(&top, argv[optind], fmt, chain ? 0 : IMG_OPEN_NO_BACKING))
		return 1;
	if (json && chain)
		arr = json_array();
	nr = layer_names(top, argv[optind], names);
	for (img = top, i = 0; img && i < nr; img = chain ? img_backing(img) : NULL, i++) {
		/* Layers are named as qemu names them: by their parent's full backing name. */
		const char *full = i + 1 < nr ? names[i + 1] : "";
		struct img_info in;

		img_get_info(img, &in);
		if (arr)
			json_array_append_new(arr, info_json(img, names[i], &in, full));
		else if (json)
			print_json(info_json(img, names[i], &in, full));
		else
			print_human(img, names[i], &in, full);
		if (!json && chain && img_backing(img))
			putchar('\n');
	}
	for (i = 0; i < nr; i++)
		free(names[i]);
	if (arr)
		print_json(arr);
	img_close(top);
	return 0;
}
