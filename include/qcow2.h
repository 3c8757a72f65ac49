/* SPDX-License-Identifier: MIT */
/*
 * Disk images for tools and for the block layer: raw files and qcow2 images
 * (QEMU's docs/interop/qcow2.txt, versions 2 and 3) behind one synchronous
 * API, with their backing chains.  kvmini-img is written against this
 * header; devices/block/ wraps it into a block_backend (include/block.h).
 *
 * An image is a struct img: a raw file or a qcow2 file, and the image it is
 * layered on (its backing file, opened read-only, to any depth).  Calls are
 * not thread-safe: one caller at a time per image.  Every function returns
 * 0 or -errno and records what was wrong with err_set() (include/error.h),
 * e.g. "not a qcow2 image (bad magic)", "unsupported qcow2 feature:
 * 'extended L2 entries' (incompatible bit 4)", "image is marked corrupt:
 * run kvmini-img check -r all".  Messages about the image itself do not
 * name it (the caller puts its path in front); messages about a backing
 * file start with "backing file 'PATH': ".
 *
 * Offsets and lengths are bytes of the virtual disk; they need no alignment.
 * Reads past the end of the virtual disk fail with -EINVAL; reads of what no
 * layer has allocated return zeros.
 *
 * Crash consistency of a qcow2 image opened read-write: guest data reaches
 * the file before the refcounts that account for its cluster, refcounts
 * before the L2 entries that use them, L2 tables before the L1 entries: a
 * process killed at any point leaves at worst leaked clusters (which
 * qcow2_check() with QCOW2_FIX_LEAKS reclaims).  img_flush() makes every
 * earlier write durable, metadata included.
 */
#ifndef KVMINI_QCOW2_H
#define KVMINI_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct img;

enum img_format {
	IMG_FORMAT_RAW,
	IMG_FORMAT_QCOW2,
};

enum qcow2_compression {
	QCOW2_COMPRESSION_ZLIB = 0, /* raw deflate, 4 KiB window */
	QCOW2_COMPRESSION_ZSTD = 1, /* zstd frames; incompatible feature bit 3 */
};

/* Backing chains deeper than this are refused (a loop is refused before that). */
#define IMG_MAX_CHAIN 64

/* ---- opening and closing ---- */

struct img_open_opts {
	/* "raw", "qcow2", or NULL: probe (qcow2 by its magic, else raw). */
	const char *format;
	bool readwrite;
	/*
	 * Do not open the backing chain: what this layer has not allocated
	 * reads as zeros (img_info() still names the backing file).
	 */
	bool no_backing;
	/*
	 * For qcow2_check(): open a corrupt image read-write, and leave a
	 * dirty (lazy refcounts) image as it is instead of rebuilding its
	 * refcounts first.
	 */
	bool check;
	/*
	 * Take QEMU's image locks (include/block_lock.h): for writing on this
	 * file when readwrite, for reading on every backing file.
	 */
	bool lock;
	/*
	 * Do not print the warning when probing guessed raw (format NULL);
	 * the backing chain never warns.
	 */
	bool quiet;
};

/*
 * Open @path.  A qcow2 image's backing file is resolved relative to the
 * directory of @path unless absolute, opened read-only with its recorded
 * format (probed when none is recorded; a qcow2 file is never taken as
 * raw), and so on down the chain.  A read-write open of a qcow2 image whose
 * dirty bit is set (lazy refcounts, not closed cleanly) rebuilds its
 * refcounts first; an image marked corrupt opens read-only only (unless
 * @opts->check).  Unknown incompatible features refuse the open; unknown
 * autoclear bits are cleared on a read-write open, as the spec says.
 */
int img_open(struct img **img, const char *path, const struct img_open_opts *opts);

/*
 * The same on an open file descriptor (a memfd, a locked fd): @fd is
 * duplicated, the caller keeps its own.  @path names the image in messages
 * and is the base for a relative backing file name (may be NULL: no
 * backing file is opened then, as with no_backing).
 */
int img_open_fd(struct img **img, int fd, const char *path, const struct img_open_opts *opts);

/*
 * Flush (as img_flush()), clear the dirty bit of a lazy-refcounts image,
 * close the chain and free @img (even on failure).  NULL is a no-op.
 * 0 or the -errno of the final flush.
 */
int img_close(struct img *img);

/*
 * What is in the file at @fd: "qcow2" (by its magic) or "raw" (including
 * empty and short files).  When it guesses raw and @warn, prints on stderr
 * (pr_warn) that the format was not specified for @path and that
 * format=raw removes the warning.  0 or -errno.
 */
int img_probe(int fd, const char *path, bool warn, const char **format);

/* ---- data ---- */

int img_read(struct img *img, uint64_t offset, void *buf, size_t len);
/* Allocates (and copies on write from the backing file) what it must. */
int img_write(struct img *img, uint64_t offset, const void *buf, size_t len);
/*
 * The range reads as zeros afterwards.  qcow2 v3: whole clusters get the
 * zero flag and lose their host cluster; partial clusters are written.
 * qcow2 v2: zeros are written where the range is allocated or a backing
 * file shows through.  Raw: a punched hole (or written zeros).
 */
int img_write_zeroes(struct img *img, uint64_t offset, uint64_t len);
/*
 * The range may be forgotten: whole clusters are deallocated (v3: they read
 * as zeros; v2: they show the backing file again, if any); partial clusters
 * are left alone.  Raw: a punched hole.
 */
int img_discard(struct img *img, uint64_t offset, uint64_t len);
/* Write back cached metadata and fdatasync: everything earlier is durable. */
int img_flush(struct img *img);

/*
 * Change the virtual size.  Growing always works (the L1 table grows as
 * needed); shrinking a qcow2 image fails with -EBUSY unless nothing is
 * allocated (data, zero flag, compressed) beyond the new size.  Raw:
 * ftruncate().  Snapshots keep their own sizes.
 */
int img_resize(struct img *img, uint64_t size);

/*
 * Write one cluster compressed (qemu-img convert -c): @offset is
 * cluster-aligned and @len is the cluster size, or less for the last
 * cluster of the disk (the rest is taken as zeros).  The cluster must not
 * be allocated in this image yet (-EEXIST otherwise: convert writes each
 * cluster once).  Written uncompressed when compression saves nothing.
 * qcow2 only (-ENOTSUP for raw), with the image's compression type.
 */
int qcow2_write_compressed(struct img *img, uint64_t offset, const void *buf, size_t len);

/* ---- what an image is ---- */

struct img_info {
	enum img_format format;
	const char *format_name; /* "raw" or "qcow2" */
	uint64_t virtual_size;
	uint64_t file_size;   /* the file's length */
	uint64_t actual_size; /* bytes the file occupies on the host (st_blocks * 512) */
	/* The rest is qcow2's (zeros, NULLs and false for raw). */
	uint32_t version;      /* 2 (compat 0.10) or 3 (compat 1.1) */
	uint32_t cluster_size; /* bytes, 512 .. 2 MiB */
	uint32_t refcount_bits;
	enum qcow2_compression compression;
	bool lazy_refcounts;
	bool dirty;   /* incompatible bit 0, as found at open */
	bool corrupt; /* incompatible bit 1 */
	uint64_t incompatible_features, compatible_features, autoclear_features;
	const char *backing_file;   /* as recorded in the header, NULL: none */
	const char *backing_format; /* as recorded (extension 0xe2792aca), NULL: none */
	const char *backing_path;   /* what backing_file resolved to, NULL: none */
	unsigned int nb_snapshots;
};

/* The strings stay valid until @img changes them (qcow2_set_backing()) or is closed. */
void img_get_info(struct img *img, struct img_info *info);
uint64_t img_size(const struct img *img);
/* The image @img is layered on, NULL if none (or not opened: no_backing). */
struct img *img_backing(const struct img *img);
/* The path @img was opened with. */
const char *img_path(const struct img *img);

enum img_extent_type {
	IMG_EXTENT_DATA,	/* data (possibly compressed) */
	IMG_EXTENT_ZERO,	/* reads as zeros: qcow2 zero flag, raw hole */
	IMG_EXTENT_UNALLOCATED, /* no layer looked at has it: zeros, or the backing file's */
};

struct img_extent {
	uint64_t offset, length; /* the virtual range this extent covers */
	enum img_extent_type type;
	/*
	 * Where the range is in the file of the layer at @depth: valid for
	 * uncompressed data (and preallocated zero clusters, and raw holes),
	 * contiguous over @length.
	 */
	bool has_host_offset;
	uint64_t host_offset;
	bool compressed;
	/* 0: @img itself; n: the n-th backing file (as qemu-img map). */
	unsigned int depth;
};

/*
 * The status of the longest run starting at @offset (at most @len bytes,
 * > 0) that is the same kind throughout: same type, same depth, host
 * offsets contiguous, compressed clusters one at a time.  With
 * @whole_chain, what this layer has not allocated is looked up in the
 * backing chain (UNALLOCATED then means: no layer has it, depth = the last
 * layer's; beyond the end of a shorter backing file it is ZERO); without,
 * it stays UNALLOCATED at depth 0.
 */
int img_block_status(struct img *img, uint64_t offset, uint64_t len, bool whole_chain,
		     struct img_extent *ext);

/* ---- creating ---- */

struct img_create_opts {
	enum img_format format;
	/* Bytes (qcow2: rounded up to 512).  0 with a backing file: its size. */
	uint64_t size;
	/* qcow2 only; zeros mean the defaults (qemu-img's). */
	uint32_t version;		    /* 2 or 3 (default) */
	uint32_t cluster_size;		    /* a power of two, 512 .. 2 MiB (default 64 KiB) */
	uint32_t refcount_bits;		    /* 1, 2, 4, ..., 64 (default 16); v2: 16 only */
	bool lazy_refcounts;		    /* v3 only */
	enum qcow2_compression compression; /* zstd: v3 only */
	/*
	 * Recorded as given; a relative name is relative to the new image's
	 * directory.  The backing file is opened to check it (and to take its
	 * size when @size is 0).
	 */
	const char *backing_file;
	/* Recorded as given; NULL: the backing file's probed format is recorded. */
	const char *backing_format;
};

/* Create (or truncate and overwrite) @path as an empty image. */
int img_create(const char *path, const struct img_create_opts *opts);

/*
 * Record another backing file (NULL: none) and format in the header, as
 * qemu-img rebase -u and commit do; the data is not touched and the open
 * chain stays the one @img was opened with.  qcow2 only, read-write.
 */
int qcow2_set_backing(struct img *img, const char *backing_file, const char *backing_format);

/* ---- checking and repairing ---- */

enum qcow2_fix {
	QCOW2_FIX_NONE = 0,
	QCOW2_FIX_LEAKS = 1,  /* check -r leaks: drop refcounts nothing uses */
	QCOW2_FIX_ERRORS = 2, /* with LEAKS: check -r all */
	QCOW2_FIX_ALL = QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS,
};

struct qcow2_check_result {
	uint64_t corruptions;  /* left after repair */
	uint64_t leaks;	       /* left after repair */
	uint64_t check_errors; /* the check itself failed (I/O, no memory) */
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t allocated_clusters; /* guest clusters with data in this file */
	uint64_t total_clusters;     /* guest clusters of the virtual disk */
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset; /* the end of the last cluster in use */
};

/*
 * What each problem found is reported as: one line without a newline, as
 * qemu-img check prints them ("Leaked cluster 9 refcount=1 reference=0",
 * "ERROR cluster 5 refcount=1 reference=2", "ERROR OFLAG_COPIED ...").
 */
typedef void (*qcow2_report_fn)(void *opaque, const char *line);

/*
 * Recount every cluster's references (header, L1/L2 tables, data,
 * compressed data, refcount structures, snapshots and their L1 tables) and
 * compare with the refcounts and the COPIED flags; with @fix, repair (the
 * image must be open read-write; open it with check = true to repair a
 * corrupt or dirty image).  A successful QCOW2_FIX_ALL repair clears the
 * corrupt bit.  @report may be NULL.  0 when the check ran, whatever it
 * found (see @res); -errno when it could not.  Raw: -ENOTSUP.
 */
int qcow2_check(struct img *img, unsigned int fix, struct qcow2_check_result *res,
		qcow2_report_fn report, void *opaque);

/* ---- internal snapshots (qcow2 only; -ENOTSUP for raw) ---- */

struct qcow2_snapshot {
	const char *id;	  /* "1", "2", ... */
	const char *name; /* may be empty */
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec; /* when it was taken (wall clock) */
	uint64_t vm_clock_nsec;	      /* guest time then (0 for snapshots taken offline) */
	uint64_t icount;	      /* UINT64_MAX: not recorded */
	uint64_t disk_size;	      /* the virtual size then */
};

/* The table as read at open or last changed; valid until the next snapshot call or close. */
int qcow2_snapshot_list(struct img *img, const struct qcow2_snapshot **list, unsigned int *nr);
/* Take a snapshot of the disk (no VM state) with the next free numeric id. */
int qcow2_snapshot_create(struct img *img, const char *name);
/*
 * Revert the disk to the snapshot whose id or name is @name (-ENOENT if
 * none); the virtual size becomes the snapshot's.
 */
int qcow2_snapshot_apply(struct img *img, const char *name);
int qcow2_snapshot_delete(struct img *img, const char *name);

#endif
