/* SPDX-License-Identifier: MIT */
/*
 * Disks in VM state files (devices/block/disk_state.c).  A state file holds
 * no disk contents: the guest's caches and file systems expect the disk as
 * it was at the save.  So each disk records the identity of its image file
 * (the top layer, not its backing files) after the save flushed it, and a
 * restore compares it with the file as the restoring kvmini opened it,
 * before anything wrote to it.  A disk that changed refuses the restore,
 * unless the check is off (then a warning).
 *
 * savevm NAME takes the internal snapshot NAME of a writable qcow2 disk
 * first and records it (version 2): a restore then reverts the disk to
 * that snapshot instead of comparing the identity (which is still recorded,
 * after the snapshot was taken).
 *
 * The payload, little-endian; version 1 (a disk without an internal snapshot):
 *   0   u32  version
 *   4   u32  length of the path (bytes, no NUL; less than DISK_STATE_PATH_MAX)
 *   8   u64  st_dev
 *   16  u64  st_ino
 *   24  u64  st_size
 *   32  s64  st_mtim.tv_sec
 *   40  u32  st_mtim.tv_nsec
 *   44  u32  format: 0 raw, 1 qcow2
 *   48  the path as the command line gave it (for messages)
 * Version 2 (written only with a snapshot name; both are read):
 *   0   the same 48 bytes as version 1, with version 2
 *   48  u32  length of the snapshot's name (bytes, no NUL; less than DISK_STATE_SNAP_MAX)
 *   52  the path, then the snapshot's name
 */
#ifndef KVMINI_DISK_STATE_H
#define KVMINI_DISK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define DISK_STATE_VERSION  2
#define DISK_STATE_HDR_LEN  48 /* version 1 */
#define DISK_STATE_HDR2_LEN 52 /* version 2 */
#define DISK_STATE_PATH_MAX 4096
#define DISK_STATE_SNAP_MAX 256

enum disk_format {
	DISK_FORMAT_RAW = 0,
	DISK_FORMAT_QCOW2 = 1,
};

struct disk_identity {
	uint64_t dev, ino, size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t format; /* enum disk_format */
	char path[DISK_STATE_PATH_MAX];
	char snapshot[DISK_STATE_SNAP_MAX]; /* the internal snapshot savevm took, or "" */
};

struct snap_buf;

/* @st of the image at @path, in @format ("raw" or "qcow2"); a long @path is cut; no snapshot. */
void disk_identity_set(struct disk_identity *id, const struct stat *st, const char *path,
		       const char *format);

/* Append @id's payload to @out: version 1 without a snapshot name, else version 2. */
void disk_state_encode(const struct disk_identity *id, struct snap_buf *out);

/*
 * A payload (version 1 or 2) back into @id.  0, or -EINVAL with err_set()
 * for one it does not understand.
 */
int disk_state_decode(struct disk_identity *id, const uint8_t *data, size_t len);

/*
 * Whether @now differs from @saved: 0 if not; else 1 and, in @buf, how
 * ("disk.qcow2 changed since the state was saved (modified ...)"), naming
 * the file by @now's path.  Times are local.
 */
int disk_state_compare(const struct disk_identity *saved, const struct disk_identity *now,
		       char *buf, size_t size);

/*
 * The restore's check of disk @name: 0 when @now is @saved.  Else, with
 * @check, -ESTALE with err_set() saying what changed and "restore anyway
 * with @retry"; without, a warning (pr_warn) naming @name, and 0.
 */
int disk_state_check(const char *name, const struct disk_identity *saved,
		     const struct disk_identity *now, bool check, const char *retry);

#endif
