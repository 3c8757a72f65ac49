// SPDX-License-Identifier: MIT
/* kvmini-img snapshot: list, create, apply and delete internal qcow2 snapshots. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "error.h"
#include "img_cmd.h"

/* The column layout of qemu's bdrv_snapshot_dump(). */
void snapshot_print_table(struct img *img)
{
	const struct qcow2_snapshot *sn;
	unsigned int nr, i;

	if (qcow2_snapshot_list(img, &sn, &nr))
		return;
	printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (i = 0; i < nr; i++) {
		char date[32], clock[32], size[32], icount[24] = "";
		uint64_t secs = sn[i].vm_clock_nsec / 1000000000;
		time_t t = sn[i].date_sec;
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(clock, sizeof(clock), "%02llu:%02u:%02u.%03u",
			 (unsigned long long)(secs / 3600), (unsigned int)(secs / 60 % 60),
			 (unsigned int)(secs % 60),
			 (unsigned int)(sn[i].vm_clock_nsec / 1000000 % 1000));
		size_to_str(sn[i].vm_state_size, size, sizeof(size));
		if (sn[i].icount != UINT64_MAX)
			snprintf(icount, sizeof(icount), "%llu", (unsigned long long)sn[i].icount);
		printf("%-9s %-16s %8s%20s%13s%11s\n", sn[i].id, sn[i].name, size, date, clock,
		       icount);
	}
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt = NULL, *name = NULL, *path;
	const struct qcow2_snapshot *sn;
	int c, op = 0, ret;
	unsigned int nr;
	struct img *img;

	while ((c = img_getopt(argc, argv, "f:c:a:d:lqU", longopts)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'c':
		case 'a':
		case 'd':
			name = optarg;
			/* fall through */
		case 'l':
			if (op)
				return img_err("snapshot: use one of -l, -c, -a and -d");
			op = c;
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
	if (img_need_args(argc, argv, 1, 1))
		return 1;
	path = argv[optind];
	op = op ? op : 'l';
	if (img_open_path(&img, path, fmt, op == 'l' ? IMG_OPEN_NO_BACKING : IMG_OPEN_RW))
		return 1;
	err_clear();
	switch (op) {
	case 'l':
		ret = qcow2_snapshot_list(img, &sn, &nr);
		if (!ret && nr) {
			printf("Snapshot list:\n");
			snapshot_print_table(img);
		}
		break;
	case 'c':
		ret = qcow2_snapshot_create(img, name);
		break;
	case 'a':
		ret = qcow2_snapshot_apply(img, name);
		break;
	default:
		ret = qcow2_snapshot_delete(img, name);
		break;
	}
	if (ret) {
		img_err_file(path, ret);
		img_close(img);
		return 1;
	}
	ret = img_close(img);
	if (ret)
		img_err_file(path, ret);
	return !!ret;
}
