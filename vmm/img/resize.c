// SPDX-License-Identifier: MIT
/* kvmini-img resize: a new virtual size, absolute or relative; shrinking needs --shrink. */
#include <errno.h>
#include <stdio.h>

#include "error.h"
#include "img_cmd.h"

int cmd_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ "shrink", no_argument, NULL, OPT_SHRINK },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *arg, *path;
	bool shrink = false;
	uint64_t cur, delta, size;
	struct img *img;
	int c, ret;

	/* The size goes last and may start with '-': keep it away from getopt, as qemu-img does. */
	if (argc < 3)
		return img_err("resize: expecting a filename and a size (see kvmini-img --help)");
	arg = argv[--argc];
	while ((c = img_getopt(argc, argv, "f:q", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'q':
			img_set_quiet();
			break;
		case OPT_SHRINK:
			shrink = true;
			break;
		default:
			return 1;
		}
	}
	if (img_need_args(argc, argv, 1, 1))
		return 1;
	path = argv[optind];
	if (img_size_arg(arg + (*arg == '+' || *arg == '-'), &delta))
		return 1;
	if (img_open_path(&img, path, fmt, IMG_OPEN_RW))
		return 1;
	cur = img_size(img);
	if (*arg == '-' && delta > cur) {
		img_close(img);
		return img_err("%s: cannot shrink by %s: the image is only %llu bytes", path, arg,
			       (unsigned long long)cur);
	}
	size = *arg == '+' ? cur + delta : *arg == '-' ? cur - delta : delta;
	if (size < cur && !shrink) {
		img_close(img);
		return img_err("%s: use the --shrink option to shrink the image", path);
	}
	err_clear();
	ret = img_resize(img, size);
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
	printf("Image resized.\n");
	return 0;
}
