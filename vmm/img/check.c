// SPDX-License-Identifier: MIT
/*
 * kvmini-img check: qcow2_check() with qemu-img's output and exit status
 * (0 clean, 1 the check failed, 2 corruptions left, 3 only leaks left, 63
 * the format has no checks).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "img_cmd.h"

static void report_line(void *opaque, const char *line)
{
	(void)opaque;
	fprintf(stderr, "%s\n", line);
}

static void print_human(const struct qcow2_check_result *r)
{
	if (r->corruptions_fixed || r->leaks_fixed)
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu leaked clusters\n    %llu corruptions\n\n"
		       "Double checking the fixed image now...\n",
		       (unsigned long long)r->leaks_fixed,
		       (unsigned long long)r->corruptions_fixed);
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)r->leaks);
	if (r->check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		       (unsigned long long)r->check_errors);
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed "
		       "clusters\n",
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->total_clusters,
		       (double)r->allocated_clusters * 100.0 / (double)r->total_clusters,
		       (double)r->fragmented_clusters * 100.0 / (double)r->allocated_clusters,
		       (double)r->compressed_clusters * 100.0 / (double)r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

/* qemu-img leaves out the counters that are zero, except check-errors. */
static void set_nonzero(json_t *o, const char *key, uint64_t v)
{
	if (v)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void print_json_result(const char *path, const struct qcow2_check_result *r)
{
	json_t *o = json_object();

	set_nonzero(o, "image-end-offset", r->image_end_offset);
	set_nonzero(o, "compressed-clusters", r->compressed_clusters);
	set_nonzero(o, "total-clusters", r->total_clusters);
	json_object_set_new(o, "check-errors", json_integer((json_int_t)r->check_errors));
	set_nonzero(o, "leaks", r->leaks);
	set_nonzero(o, "leaks-fixed", r->leaks_fixed);
	set_nonzero(o, "corruptions", r->corruptions);
	set_nonzero(o, "corruptions-fixed", r->corruptions_fixed);
	set_nonzero(o, "allocated-clusters", r->allocated_clusters);
	json_object_set_new(o, "filename", json_string(path));
	json_object_set_new(o, "format", json_string("qcow2"));
	set_nonzero(o, "fragmented-clusters", r->fragmented_clusters);
	print_json(o);
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct qcow2_check_result r = { 0 };
	const char *fmt = NULL, *path;
	unsigned int fix = QCOW2_FIX_NONE;
	bool json = false;
	struct img *img;
	int c, ret;

	while ((c = img_getopt(argc, argv, "f:r:qU", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				fix = QCOW2_FIX_LEAKS;
			else if (!strcmp(optarg, "all"))
				fix = QCOW2_FIX_ALL;
			else
				return img_err("check: -r %s: use -r leaks or -r all", optarg);
			break;
		case 'q':
			img_set_quiet();
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
	if (img_open_path(&img, path, fmt,
			  IMG_OPEN_NO_BACKING | IMG_OPEN_CHECK | (fix ? IMG_OPEN_RW : 0)))
		return 1;
	err_clear();
	ret = qcow2_check(img, fix, &r, report_line, NULL);
	if (ret == -ENOTSUP) {
		img_close(img);
		img_err("%s: this image format does not support checks", path);
		return 63;
	}
	if (ret) {
		img_err_file(path, ret);
		img_close(img);
		return 1;
	}
	ret = img_close(img);
	if (ret) {
		img_err_file(path, ret);
		return 1;
	}
	if (json)
		print_json_result(path, &r);
	else
		print_human(&r);
	if (r.check_errors)
		return 1;
	return r.corruptions ? 2 : r.leaks ? 3 : 0;
}
