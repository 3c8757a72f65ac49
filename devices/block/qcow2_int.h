/* SPDX-License-Identifier: MIT */
/* Private to devices/block/qcow2*.c: the image state and the engine's internal calls. */
#ifndef KVMINI_QCOW2_INT_H
#define KVMINI_QCOW2_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qcow2.h"
#include "util.h"

#define QCOW2_MAGIC 0x514649fbU

#define QCOW_OFLAG_COPIED     (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO	      1ULL
#define L1E_OFFSET_MASK	      0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK	      0x00fffffffffffe00ULL
#define REFT_OFFSET_MASK      0xfffffffffffffe00ULL

#define INCOMPAT_DIRTY	      (1ULL << 0)
#define INCOMPAT_CORRUPT      (1ULL << 1)
#define INCOMPAT_DATA_FILE    (1ULL << 2)
#define INCOMPAT_COMPRESSION  (1ULL << 3)
#define INCOMPAT_EXTL2	      (1ULL << 4)
#define INCOMPAT_KNOWN	      (INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION)
#define COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define AUTOCLEAR_BITMAPS     (1ULL << 0)

#define EXT_END		0
#define EXT_BACKING_FMT 0xe2792acaU
#define EXT_FEATURES	0x6803f857U
#define EXT_BITMAPS	0x23852875U

/* Limits that keep hostile headers from making us allocate or loop without end. */
#define QCOW2_MAX_L1_BYTES	 (32 * MIB)
#define QCOW2_MAX_RT_BYTES	 (8 * MIB)
#define QCOW2_MAX_SNAPSHOTS	 65536
#define QCOW2_MAX_HOST_OFFSET	 (1ULL << 56)
#define QCOW2_MAX_BACKING_NAME	 1023
#define QCOW2_V2_HEADER_LEN	 72
#define QCOW2_V3_HEADER_LEN	 104
#define QCOW2_HEADER_LEN_CREATED 112

/* A cached metadata cluster (an L2 table or a refcount block). */
struct qcache_ent {
	uint64_t off; /* 0: free slot */
	uint8_t *data;
	uint64_t used; /* LRU tick */
	bool dirty;
};

/* Metadata write stages, in the order a crash-consistent image needs them on disk. */
enum qstage {
	STAGE_NONE,
	STAGE_REFCOUNT,
	STAGE_L2,
	STAGE_L1, /* and the header */
};

struct qcache {
	struct qcache_ent *ent;
	unsigned int n;
	uint64_t tick;
	enum qstage stage;
};

struct qsnap {
	char *id, *name;
	uint64_t l1_offset;
	uint32_t l1_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount; /* UINT64_MAX: none */
	uint8_t *extra;	 /* extra data beyond what we interpret, preserved */
	uint32_t extra_len;
};

/* A host range to free once the metadata that stopped using it is on disk. */
struct qfree {
	uint64_t off, len;
};

struct qcow2 {
	uint32_t version, cluster_bits, refcount_order, header_len;
	uint64_t cluster_size;
	uint64_t incompat, compat, autoclear;
	enum qcow2_compression compression;
	uint64_t l1_offset;
	uint32_t l1_size;
	uint64_t *l1; /* host byte order, as on disk otherwise */
	uint64_t rt_offset;
	uint32_t rt_clusters;
	uint64_t rt_entries;
	uint64_t *rt;
	uint64_t snapshots_offset, snapshots_size;
	unsigned int nb_snapshots;
	struct qsnap *snaps;
	struct qcow2_snapshot *snap_list; /* what qcow2_snapshot_list() hands out */
	uint8_t *hdr_extra;		  /* header bytes 104..header_length-1 as found (v3) */
	uint8_t *other_ext; /* extensions we do not interpret, as found (with headers) */
	size_t other_ext_len;
	bool has_features_ext;
	struct qcache l2c, rcc;
	uint64_t free_hint;  /* cluster index: no free cluster below it */
	uint64_t file_end;   /* bytes, cluster-aligned: where appending starts */
	uint64_t file_alloc; /* the file's length: file_end, or more once grown ahead */
	enum qstage unsynced;
	struct qfree *frees;
	unsigned int nr_frees, cap_frees;
	uint64_t cfree; /* next free byte in the cluster compressed data is packed into, 0: none */
	bool dirty_on_disk;
};

struct img {
	enum img_format format;
	char *path;
	/* What messages start with: "" for the top image, "backing file 'PATH': " below it. */
	char *who;
	int fd;
	bool rw;
	uint64_t size;
	struct img *backing;
	unsigned int depth; /* 0 for the top image */
	char *backing_file, *backing_format, *backing_path;
	struct qcow2 q;
};

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | p[7];
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint64_t q_l2_entries(const struct qcow2 *q)
{
	return q->cluster_size / 8;
}

/* Bits of a refcount block index: entries per block = 1 << rb_bits. */
static inline unsigned int q_rb_bits(const struct qcow2 *q)
{
	return q->cluster_bits + 3 - q->refcount_order;
}

/* The host clusters a compressed L2 entry's data touches: [*off, *off + *len). */
void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2.c */
int qcow2_pread(struct img *img, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct img *img, const void *buf, size_t len, uint64_t off);

/* qcow2_header.c */
/* Read and check the header, the tables it points to and the snapshot table. */
int qcow2_parse_header(struct img *img, const struct img_open_opts *opts);
int qcow2_write_header(struct img *img);
int qcow2_mark_corrupt(struct img *img, const char *what);
/* @name relative to the directory of @top (unless absolute): malloc'ed, NULL: no memory. */
char *qcow2_resolve_backing(const char *top, const char *name);

/* qcow2_image.c */
/* The bytes a whole-chain read of [off, off + len) of @img's backing file gives. */
int qcow2_read_backing(struct img *img, uint64_t off, void *buf, size_t len);

/* qcow2_cache.c: the metadata caches and the write ordering between stages. */
int qcache_init(struct qcache *c, unsigned int n, uint64_t cluster_size, enum qstage stage);
void qcache_free(struct qcache *c);
/* The cached cluster at @off: read from the file, or zeroed when !@fill. */
int qcache_get(struct img *img, struct qcache *c, uint64_t off, bool fill, unsigned int *slot);
void qcache_forget(struct qcache *c, uint64_t off);
int qcache_flush(struct img *img, struct qcache *c);
/* Before writing metadata of @stage: make the earlier stages durable (fdatasync). */
int qcow2_stage(struct img *img, enum qstage stage);
/* All metadata to the file in dependency order, then the deferred frees. */
int qcow2_meta_flush(struct img *img);
int qcow2_sync(struct img *img);

/* qcow2_refcount.c */
int qcow2_rc_get(struct img *img, uint64_t cluster, uint64_t *rc);
/* Entry @i of the refcount block @b := @v. */
void qcow2_rb_write(const struct qcow2 *q, uint8_t *b, uint64_t i, uint64_t v);
int qcow2_rc_add(struct img *img, uint64_t cluster, int64_t delta);
/* @n contiguous free clusters, their refcounts set to 1: the host offset of the first. */
int qcow2_alloc_clusters(struct img *img, uint64_t n, uint64_t *off);
/* Decrement the clusters [off, off + len) touches now (metadata already on disk). */
int qcow2_free_now(struct img *img, uint64_t off, uint64_t len);
/* ... once the metadata that referenced them has been written. */
int qcow2_free_later(struct img *img, uint64_t off, uint64_t len);
int qcow2_apply_frees(struct img *img);

/* qcow2_cluster.c */
/* The L2 entry of guest cluster @gc (0 when unallocated in this layer). */
int qcow2_l2_entry(struct img *img, uint64_t gc, uint64_t *entry);
int qcow2_read(struct img *img, uint64_t off, void *buf, size_t len);
int qcow2_write(struct img *img, uint64_t off, const void *buf, size_t len);
int qcow2_zero(struct img *img, uint64_t off, uint64_t len, bool discard);
int qcow2_block_status(struct img *img, uint64_t off, uint64_t len, struct img_extent *ext);
int qcow2_resize(struct img *img, uint64_t size);
/* Set the L2 entry of guest cluster @gc, making its L2 table writable first. */
int qcow2_set_l2_entry(struct img *img, uint64_t gc, uint64_t entry);
int qcow2_check_host_offset(struct img *img, uint64_t off, const char *what);
/* The same for a metadata table, which must also lie inside the file. */
int qcow2_check_table_offset(struct img *img, uint64_t off, const char *what);
/*
 * How much of [off, off + len) maps straight onto the file (allocated data;
 * for @write, clusters written in place): *n bytes at *host.  *host = 0:
 * the first *n bytes need qcow2_read()/qcow2_write().
 */
int qcow2_map(struct img *img, uint64_t off, uint64_t len, bool write, uint64_t *host, uint64_t *n);

/*
 * An allocating write in two steps, so that the data can be written by
 * someone else in between: new clusters for guest clusters @gc..@gc+@n-1,
 * @head/@tail (whole clusters) holding the old content of partial first and
 * last clusters, the caller's @head_bytes go at @in in @head, the next
 * @whole bytes straight to the file after it, the last @tail_bytes at the
 * start of @tail.  Then commit (L2 entries, old clusters freed) or abort.
 */
struct qcow2_alloc {
	uint64_t gc, n, in, host;
	uint8_t *head, *tail;
	uint64_t head_bytes, whole, tail_bytes;
	uint64_t written; /* progress of the synchronous writer */
};

int qcow2_prepare_write(struct img *img, uint64_t off, uint64_t len, struct qcow2_alloc *a);
int qcow2_commit_write(struct img *img, struct qcow2_alloc *a);
void qcow2_abort_write(struct img *img, struct qcow2_alloc *a);

/* qcow2_compress.c */
int qcow2_decompress_cluster(struct img *img, uint64_t entry, uint8_t *out);

/* qcow2_snapshot.c */
int qcow2_snapshots_load(struct img *img);
void qcow2_snapshots_free(struct qcow2 *q);
/* COPIED exactly where the active image alone uses an L2 table or data cluster. */
int qcow2_fix_copied(struct img *img);

/* qcow2_check.c */
/* Rebuild the refcounts of a dirty lazy-refcounts image (repair before use). */
int qcow2_repair_dirty(struct img *img);

#endif
