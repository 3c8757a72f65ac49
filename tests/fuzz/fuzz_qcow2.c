// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for image opening (include/qcow2.h): the input is an
 * image file in a memfd, opened with the format probed, then walked the way
 * kvmini-img map and convert walk it (block status over the whole disk)
 * and read at the start of every extent and across its end.  Read-only and
 * without a backing chain (the name is NULL): the header, extensions,
 * feature table, L1/L2 tables, refcounts, snapshot table and compressed
 * descriptors all come from the input.  A crash, a hang or a sanitizer
 * report is a finding; an error from the image code is the expected outcome
 * for most inputs.  A second pass opens it read-write and runs the check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "qcow2.h"

#define READ_LEN   8192
#define MAX_EXTENTS 4096 /* walking a huge sparse disk cluster by cluster is not a finding */

static void walk(struct img *img)
{
	static uint8_t buf[READ_LEN];
	uint64_t size = img_size(img), off = 0;

	for (unsigned int n = 0; off < size && n < MAX_EXTENTS; n++) {
		struct img_extent e;
		size_t len;

		if (img_block_status(img, off, size - off, true, &e) || !e.length ||
		    e.offset != off || e.length > size - off)
			break;
		len = e.length < READ_LEN ? e.length : READ_LEN;
		img_read(img, off, buf, len);
		/* straddle the end of the extent into the next one */
		if (e.length > READ_LEN / 2 && size - off > e.length + READ_LEN / 2)
			img_read(img, off + e.length - READ_LEN / 2, buf, READ_LEN);
		off += e.length;
	}
}

static void report(void *opaque, const char *line)
{
	(void)opaque;
	(void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct img_open_opts ro = { .quiet = true, .no_backing = true };
	const struct img_open_opts check = { .quiet = true, .no_backing = true,
					     .readwrite = true, .check = true };
	struct qcow2_check_result res;
	struct img *img;
	int fd = memfd_create("fuzz-image", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (!img_open_fd(&img, fd, NULL, &ro)) {
		struct img_info info;
		const struct qcow2_snapshot *snaps;
		unsigned int nr;

		img_get_info(img, &info);
		qcow2_snapshot_list(img, &snaps, &nr);
		walk(img);
		img_close(img);
	}
	/* The check walks every structure, and repairs on a copy of the input. */
	if (!img_open_fd(&img, fd, NULL, &check)) {
		qcow2_check(img, QCOW2_FIX_ALL, &res, report, NULL);
		img_close(img);
	}
	close(fd);
	err_clear();
	return 0;
}
