/* SPDX-License-Identifier: MIT */
/*
 * Block backends (devices/block/): what a disk image looks like to a block
 * device model.  Requests are asynchronous: a backend queues them, pushes the
 * queued batch to the kernel on block_submit(), and calls each request's
 * completion from block_poll() or block_drain().  A backend is not
 * thread-safe: its owner serialises every call (a device holds its lock).
 * When completions may be waiting, the backend calls the owner's ready()
 * from the event loop it was opened with (the I/O thread), and the owner
 * then calls block_poll().  The raw backend goes through io_uring; the
 * qcow2 one (include/qcow2.h) maps requests to the image file and sends
 * the data through the raw one.
 */
#ifndef KVMINI_BLOCK_H
#define KVMINI_BLOCK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct event_loop;

enum block_cache {
	BLOCK_CACHE_WRITEBACK, /* the host page cache; FLUSH -> fdatasync */
	BLOCK_CACHE_NONE,      /* O_DIRECT; FLUSH -> fdatasync (the disk's cache) */
};

struct block_open_args {
	const char *path;
	const char *format; /* "raw" or "qcow2" (NULL: probed, raw with a warning) */
	bool readonly;
	enum block_cache cache;
	void (*ready)(void *opaque); /* on the I/O thread: call block_poll() */
	void *opaque;
	/*
	 * Optional: the memory most buffers will be in (guest RAM).  A backend
	 * may register it with the kernel once, so that single-buffer I/O there
	 * skips pinning pages on every request.
	 */
	const struct iovec *buffers;
	unsigned int nr_buffers;
};

enum block_op {
	BLOCK_OP_READ,
	BLOCK_OP_WRITE,
	BLOCK_OP_FLUSH,
	BLOCK_OP_DISCARD,
	BLOCK_OP_WRITE_ZEROES,
};

/* What block_snapshot() does with an internal snapshot (qcow2 images only). */
enum block_snapshot_op {
	BLOCK_SNAPSHOT_FIND,   /* 0 if the image has one named @name, else -ENOENT (no message) */
	BLOCK_SNAPSHOT_CREATE, /* take it, replacing one with that name (QEMU's savevm) */
	BLOCK_SNAPSHOT_APPLY,  /* revert the disk to it */
	BLOCK_SNAPSHOT_DELETE, /* delete it; -ENOENT (no message) if there is none */
};

struct block_request;
/* @ret: 0, or -errno (-EIO for a short transfer). */
typedef void (*block_complete_fn)(struct block_request *req, int ret);

/* Owned by the caller until its completion has been called. */
struct block_request {
	enum block_op op;
	uint64_t offset;	 /* bytes; READ, WRITE, DISCARD, WRITE_ZEROES */
	uint64_t len;		 /* bytes; DISCARD and WRITE_ZEROES */
	const struct iovec *iov; /* READ and WRITE: the buffers, in order */
	unsigned int iovcnt;
	block_complete_fn complete;
	/* The backend's, from queue() to the completion: queue() never allocates. */
	struct block_request *next; /* waiting for room in the kernel */
	uint64_t done; /* READ, WRITE: bytes moved so far; WRITE_ZEROES: 1 once retried as a hole */
};

struct block_backend;

struct block_backend_ops {
	/*
	 * Queue @req (any number may be queued; the backend keeps what the
	 * kernel cannot take yet).  Its completion is called later, from
	 * poll() or drain(), never from inside this call.  Bounds and
	 * alignment are the caller's to check.
	 */
	void (*queue)(struct block_backend *bb, struct block_request *req);
	/* Hand everything queued so far to the kernel. */
	void (*submit)(struct block_backend *bb);
	/* Run the completions of finished requests; never blocks. */
	void (*poll)(struct block_backend *bb);
	/* Wait for every queued or in-flight request, running their completions. */
	void (*drain)(struct block_backend *bb);
	/* Drains first; releases the locks, closes the file, frees @bb. */
	void (*close)(struct block_backend *bb);
	/*
	 * With nothing in flight (after drain()): write back cached metadata
	 * and make everything written so far durable, leaving the file as
	 * close() would (a VM state save).  0, or -errno with err_set().
	 */
	int (*flush)(struct block_backend *bb);
	/*
	 * Optional: the internal snapshot @name of the open image, by name
	 * only (not id).  Drains and flushes first (nothing may be in flight
	 * but what drain() waits for); afterwards the backend's caches agree
	 * with the file.  0, or -errno with err_set() (-ENOTSUP: no internal
	 * snapshots, -EROFS: a read-only image for anything but FIND).
	 */
	int (*snapshot)(struct block_backend *bb, enum block_snapshot_op op, const char *name);
};

struct block_backend {
	const struct block_backend_ops *ops;
	uint64_t length;    /* bytes */
	uint32_t alignment; /* buffers, offsets and lengths must be multiples (cache=none) */
	bool readonly;
	bool can_discard;   /* DISCARD and WRITE_ZEROES are supported */
	const char *format; /* "raw" or "qcow2" */
	int fd;		    /* the image file (a qcow2 image's own, not its backing files') */
	struct stat opened; /* that file as it was opened, before anything wrote to it */
};

/*
 * Open the image @args names for the I/O thread running @loop, taking the
 * same advisory locks as QEMU (block_lock()).  0, or -errno with err_set()
 * saying what was wrong (the caller adds the option in front).
 */
int block_open(struct block_backend **bb, const struct block_open_args *args,
	       struct event_loop *loop);

static inline void block_queue(struct block_backend *bb, struct block_request *req)
{
	bb->ops->queue(bb, req);
}

static inline void block_submit(struct block_backend *bb)
{
	bb->ops->submit(bb);
}

static inline void block_poll(struct block_backend *bb)
{
	bb->ops->poll(bb);
}

static inline void block_drain(struct block_backend *bb)
{
	bb->ops->drain(bb);
}

static inline int block_flush(struct block_backend *bb)
{
	return bb->ops->flush ? bb->ops->flush(bb) : 0;
}

/* -ENOTSUP (without a message) for a backend without internal snapshots. */
static inline int block_snapshot(struct block_backend *bb, enum block_snapshot_op op,
				 const char *name)
{
	return bb->ops->snapshot ? bb->ops->snapshot(bb, op, name) : -ENOTSUP;
}

static inline void block_close(struct block_backend *bb)
{
	if (bb)
		bb->ops->close(bb);
}

#endif
