// SPDX-License-Identifier: MIT
/*
 * A disk's identity in VM state files (include/disk_state.h): the payload,
 * and whether the image file a restore opened is the one the state was
 * saved with, unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "disk_state.h"
#include "error.h"
#include "snapshot.h"
#include "util.h"

/* Room for a description naming two paths, and what goes around it. */
#define DESC_MAX (2 * DISK_STATE_PATH_MAX + 256)

void disk_identity_set(struct disk_identity *id, const struct stat *st, const char *path,
		       const char *format)
{
	memset(id, 0, sizeof(*id));
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->size = (uint64_t)st->st_size;
	id->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	id->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	id->format = format && !strcmp(format, "qcow2") ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
	snprintf(id->path, sizeof(id->path), "%s", path ? path : "");
}

void disk_state_encode(const struct disk_identity *id, struct snap_buf *out)
{
	uint8_t hdr[DISK_STATE_HDR2_LEN];
	size_t plen = strnlen(id->path, DISK_STATE_PATH_MAX - 1);
	size_t slen = strnlen(id->snapshot, DISK_STATE_SNAP_MAX - 1);

	put_le(hdr + 0, slen ? 2 : 1, 4);
	put_le(hdr + 4, plen, 4);
	put_le(hdr + 8, id->dev, 8);
	put_le(hdr + 16, id->ino, 8);
	put_le(hdr + 24, id->size, 8);
	put_le(hdr + 32, (uint64_t)id->mtime_sec, 8);
	put_le(hdr + 40, id->mtime_nsec, 4);
	put_le(hdr + 44, id->format, 4);
	put_le(hdr + 48, slen, 4);
	snap_buf_put(out, hdr, slen ? DISK_STATE_HDR2_LEN : DISK_STATE_HDR_LEN);
	snap_buf_put(out, id->path, plen);
	snap_buf_put(out, id->snapshot, slen);
}

int disk_state_decode(struct disk_identity *id, const uint8_t *data, size_t len)
{
	uint32_t version, plen, slen = 0;
	size_t hlen = DISK_STATE_HDR_LEN;

	memset(id, 0, sizeof(*id));
	if (len < 4)
		return err_set(EINVAL, "the disk's state is malformed (%zu bytes)", len);
	version = (uint32_t)get_le(data, 4);
	if (version != 1 && version != DISK_STATE_VERSION)
		return err_set(EINVAL, "the disk's state has version %u, this kvmini knows 1 to %u",
			       version, DISK_STATE_VERSION);
	if (version >= 2)
		hlen = DISK_STATE_HDR2_LEN;
	if (len < hlen)
		return err_set(EINVAL, "the disk's state is malformed (%zu bytes)", len);
	plen = (uint32_t)get_le(data + 4, 4);
	if (version >= 2)
		slen = (uint32_t)get_le(data + 48, 4);
	if (slen >= DISK_STATE_SNAP_MAX || slen > len - hlen)
		return err_set(
			EINVAL,
			"the disk's state is malformed (a %u-byte snapshot name in %zu bytes)",
			slen, len);
	if (plen >= DISK_STATE_PATH_MAX || plen != len - hlen - slen)
		return err_set(EINVAL,
			       "the disk's state is malformed (a %u-byte path in %zu bytes)", plen,
			       len);
	if (memchr(data + hlen, 0, plen))
		return err_set(EINVAL, "the disk's state is malformed (a NUL in the path)");
	if (memchr(data + hlen + plen, 0, slen))
		return err_set(EINVAL,
			       "the disk's state is malformed (a NUL in the snapshot name)");
	id->dev = get_le(data + 8, 8);
	id->ino = get_le(data + 16, 8);
	id->size = get_le(data + 24, 8);
	id->mtime_sec = (int64_t)get_le(data + 32, 8);
	id->mtime_nsec = (uint32_t)get_le(data + 40, 4);
	id->format = (uint32_t)get_le(data + 44, 4);
	if (id->mtime_nsec >= 1000000000u)
		return err_set(EINVAL, "the disk's state is malformed (%u ns)", id->mtime_nsec);
	if (id->format != DISK_FORMAT_RAW && id->format != DISK_FORMAT_QCOW2)
		return err_set(EINVAL, "the disk's state has an unknown format (%u)", id->format);
	memcpy(id->path, data + hlen, plen);
	id->path[plen] = '\0';
	memcpy(id->snapshot, data + hlen + plen, slen);
	id->snapshot[slen] = '\0';
	return 0;
}

static const char *format_name(uint32_t format)
{
	return format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
}

/* @sec as local time: "YYYY-MM-DD HH:MM:SS" (@date) or "HH:MM:SS"; @frac adds nanoseconds. */
static void format_time(char *buf, size_t size, const struct tm *tm, uint32_t nsec, bool date,
			bool frac)
{
	size_t n = strftime(buf, size, date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", tm);

	buf[n] = '\0';
	if (frac)
		snprintf(buf + n, size - n, ".%09u", nsec);
}

/* "modified 2026-12-02 00:31:07, last modified 00:30:55 at the save" */
static void describe_mtime(char *buf, size_t size, const struct disk_identity *saved,
			   const struct disk_identity *now)
{
	time_t t_now = (time_t)now->mtime_sec, t_saved = (time_t)saved->mtime_sec;
	struct tm tm_now, tm_saved;
	char s_now[48], s_saved[48];
	bool same_day, frac;

	if (!localtime_r(&t_now, &tm_now) || !localtime_r(&t_saved, &tm_saved)) {
		snprintf(buf, size, "modified at %lld.%09u s, %lld.%09u s at the save",
			 (long long)now->mtime_sec, now->mtime_nsec, (long long)saved->mtime_sec,
			 saved->mtime_nsec);
		return;
	}
	same_day = tm_now.tm_year == tm_saved.tm_year && tm_now.tm_yday == tm_saved.tm_yday;
	/* Within one second, the seconds alone would read as the same time. */
	frac = now->mtime_sec == saved->mtime_sec;
	format_time(s_now, sizeof(s_now), &tm_now, now->mtime_nsec, true, frac);
	format_time(s_saved, sizeof(s_saved), &tm_saved, saved->mtime_nsec, !same_day, frac);
	snprintf(buf, size, "modified %s, last modified %s at the save", s_now, s_saved);
}

int disk_state_compare(const struct disk_identity *saved, const struct disk_identity *now,
		       char *buf, size_t size)
{
	const char *p = now->path;
	char when[160];

	if (saved->dev != now->dev || saved->ino != now->ino) {
		if (strcmp(saved->path, now->path))
			snprintf(buf, size, "%s is not the file the state was saved with (%s)", p,
				 saved->path);
		else
			snprintf(buf, size,
				 "%s is not the file the state was saved with (the name leads to "
				 "another file now)",
				 p);
		return 1;
	}
	if (saved->format != now->format) {
		snprintf(buf, size, "%s was saved as a %s image, it is now opened as %s", p,
			 format_name(saved->format), format_name(now->format));
		return 1;
	}
	if (saved->size != now->size) {
		snprintf(buf, size,
			 "%s changed since the state was saved (size %llu bytes, saved with %llu)",
			 p, (unsigned long long)now->size, (unsigned long long)saved->size);
		return 1;
	}
	if (saved->mtime_sec != now->mtime_sec || saved->mtime_nsec != now->mtime_nsec) {
		describe_mtime(when, sizeof(when), saved, now);
		snprintf(buf, size, "%s changed since the state was saved (%s)", p, when);
		return 1;
	}
	return 0;
}

int disk_state_check(const char *name, const struct disk_identity *saved,
		     const struct disk_identity *now, bool check, const char *retry)
{
	char desc[DESC_MAX];

	if (!disk_state_compare(saved, now, desc, sizeof(desc)))
		return 0;
	if (check)
		return err_set(ESTALE, "%s; restore anyway with %s", desc, retry);
	pr_warn("%s: %s; restoring anyway (disk-check=off)", name, desc);
	return 0;
}
