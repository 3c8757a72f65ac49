// SPDX-License-Identifier: MIT
/*
 * The raw backend: the image file is the disk, every request one io_uring
 * operation.  Requests the rings have no room for yet wait on a FIFO.  The
 * ring's registered eventfd wakes the owner through the event loop;
 * completions run only from poll() and drain().
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "event_loop.h"
#include "iov.h"
#include "util.h"

#define RAW_RING_ENTRIES 256
#define MAX_FIXED	 16
#define FIXED_MAX_LEN	 (1ULL << 30) /* the kernel's limit per registered buffer */

struct raw {
	struct block_backend bb;
	struct io_uring ring;
	int fd;
	int efd; /* registered with the ring: readable when CQEs arrive */
	struct event_loop *loop;
	void (*ready)(void *opaque);
	void *opaque;
	/* Requests not yet in the SQ ring, oldest first. */
	struct block_request *waiting, **waiting_tail;
	unsigned int inflight;	       /* SQEs prepared and not yet reaped */
	bool no_zero_range;	       /* the file system lacks FALLOC_FL_ZERO_RANGE */
	struct iovec fixed[MAX_FIXED]; /* registered with the ring (READ_FIXED/WRITE_FIXED) */
	unsigned int nr_fixed;
};

static struct raw *to_raw(struct block_backend *bb)
{
	return container_of(bb, struct raw, bb);
}

/* One buffer inside registered memory: no page pinning per request.  False if it is not. */
static bool prep_fixed(struct raw *r, struct io_uring_sqe *sqe, const struct iovec *iov,
		       uint64_t off, bool rd)
{
	uintptr_t a = (uintptr_t)iov->iov_base;

	for (unsigned int k = 0; k < r->nr_fixed; k++) {
		uintptr_t base = (uintptr_t)r->fixed[k].iov_base;

		if (a < base || a - base > r->fixed[k].iov_len ||
		    iov->iov_len > r->fixed[k].iov_len - (a - base))
			continue;
		if (rd)
			io_uring_prep_read_fixed(sqe, r->fd, iov->iov_base, iov->iov_len, off, k);
		else
			io_uring_prep_write_fixed(sqe, r->fd, iov->iov_base, iov->iov_len, off, k);
		return true;
	}
	return false;
}

/* Register @args' buffers, cut to the kernel's size limit; without them I/O is just slower. */
static void register_fixed(struct raw *r, const struct block_open_args *args)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < args->nr_buffers; i++) {
		uint8_t *p = args->buffers[i].iov_base;
		uint64_t left = args->buffers[i].iov_len;

		for (; left && n < MAX_FIXED; n++) {
			uint64_t len = left < FIXED_MAX_LEN ? left : FIXED_MAX_LEN;

			r->fixed[n] = (struct iovec){ p, len };
			p += len;
			left -= len;
		}
	}
	if (n && !io_uring_register_buffers(&r->ring, r->fixed, n))
		r->nr_fixed = n;
}

/* READ/WRITE from byte req->done on: after a short transfer, only the rest. */
static void prep_rw(struct raw *r, struct io_uring_sqe *sqe, struct block_request *req)
{
	uint64_t off = req->offset + req->done, skip = req->done;
	bool rd = req->op == BLOCK_OP_READ;
	unsigned int i = 0;

	while (i < req->iovcnt && skip >= req->iov[i].iov_len)
		skip -= req->iov[i++].iov_len;
	if (!skip && i + 1 == req->iovcnt && prep_fixed(r, sqe, &req->iov[i], off, rd))
		return;
	if (!skip) {
		if (rd)
			io_uring_prep_readv(sqe, r->fd, &req->iov[i], req->iovcnt - i, off);
		else
			io_uring_prep_writev(sqe, r->fd, &req->iov[i], req->iovcnt - i, off);
		return;
	}
	/* A buffer cut in the middle: finish it alone (the iovecs are the caller's, const). */
	if (rd)
		io_uring_prep_read(sqe, r->fd, (char *)req->iov[i].iov_base + skip,
				   req->iov[i].iov_len - skip, off);
	else
		io_uring_prep_write(sqe, r->fd, (char *)req->iov[i].iov_base + skip,
				    req->iov[i].iov_len - skip, off);
}

static void prep(struct raw *r, struct io_uring_sqe *sqe, struct block_request *req)
{
	/* KEEP_SIZE always: block devices refuse fallocate without it. */
	int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	int zero = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
		prep_rw(r, sqe, req);
		break;
	case BLOCK_OP_FLUSH:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLOCK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, r->fd, punch, req->offset, req->len);
		break;
	case BLOCK_OP_WRITE_ZEROES:
		/* A punched hole reads back as zeros too. */
		io_uring_prep_fallocate(sqe, r->fd, r->no_zero_range ? punch : zero, req->offset,
					req->len);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
}

/* Into the SQ ring if it has room, and the CQ ring room for the completion. */
static bool push(struct raw *r, struct block_request *req)
{
	struct io_uring_sqe *sqe;

	if (r->inflight >= r->ring.cq.ring_entries)
		return false;
	sqe = io_uring_get_sqe(&r->ring);
	if (!sqe)
		return false;
	prep(r, sqe, req);
	r->inflight++;
	return true;
}

/* Behind whatever waits already, so that requests start in order. */
static void start(struct raw *r, struct block_request *req)
{
	if (!r->waiting && push(r, req))
		return;
	req->next = NULL;
	*r->waiting_tail = req;
	r->waiting_tail = &req->next;
}

static void push_waiting(struct raw *r)
{
	while (r->waiting && push(r, r->waiting)) {
		r->waiting = r->waiting->next;
		if (!r->waiting)
			r->waiting_tail = &r->waiting;
	}
}

/* The kernel finished one operation of @req with @res. */
static void finish(struct raw *r, struct block_request *req, int res)
{
	r->inflight--;
	if (res == -EINTR || res == -EAGAIN) {
		start(r, req);
		return;
	}
	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
		if (res < 0)
			break;
		req->done += res;
		if (req->done >= iov_size(req->iov, req->iovcnt)) {
			res = 0;
			break;
		}
		/* Nothing moved: a read at the end of the file, or a stuck write. */
		if (!res) {
			res = -EIO;
			break;
		}
		start(r, req);
		return;
	case BLOCK_OP_WRITE_ZEROES:
		/* Once per request: others may have gone out with ZERO_RANGE too. */
		if (res == -EOPNOTSUPP && !req->done) {
			r->no_zero_range = true;
			req->done = 1;
			start(r, req);
			return;
		}
		/* fall through */
	case BLOCK_OP_DISCARD:
		if (res == -EOPNOTSUPP)
			r->bb.can_discard = false;
		break;
	case BLOCK_OP_FLUSH:
		break;
	}
	req->complete(req, res < 0 ? res : 0);
}

/* Start what waits, and hand everything in the SQ ring to the kernel. */
static void kick(struct raw *r)
{
	push_waiting(r);
	/* On failure (-EAGAIN, -EBUSY) the SQEs stay in the ring for the next call. */
	if (io_uring_sq_ready(&r->ring))
		io_uring_submit(&r->ring);
}

static void reap(struct raw *r)
{
	struct io_uring_cqe *cqe;

	while (!io_uring_peek_cqe(&r->ring, &cqe)) {
		struct block_request *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		finish(r, req, res);
	}
}

static void raw_queue(struct block_backend *bb, struct block_request *req)
{
	req->done = 0;
	start(to_raw(bb), req);
}

static void raw_submit(struct block_backend *bb)
{
	kick(to_raw(bb));
}

static void raw_poll(struct block_backend *bb)
{
	struct raw *r = to_raw(bb);

	reap(r);
	/* Remainders of short transfers, and what the completions queued. */
	kick(r);
}

static void raw_drain(struct block_backend *bb)
{
	struct raw *r = to_raw(bb);

	while (r->waiting || r->inflight) {
		push_waiting(r);
		/* Errors (-EINTR...) are retried: nothing else can finish the requests. */
		io_uring_submit_and_wait(&r->ring, 1);
		reap(r);
	}
}

static void raw_close(struct block_backend *bb)
{
	struct raw *r = to_raw(bb);

	raw_drain(bb);
	event_loop_del(r->loop, r->efd);
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	close(r->fd);
	free(r);
}

/* The data is in the file once drained: make it durable. */
static int raw_flush(struct block_backend *bb)
{
	struct raw *r = to_raw(bb);

	if (!bb->readonly && fdatasync(r->fd))
		return err_set(errno, "fdatasync: %s", strerror(errno));
	return 0;
}

static int raw_snapshot(struct block_backend *bb, enum block_snapshot_op op, const char *name)
{
	(void)bb;
	(void)op;
	(void)name;
	return err_set(ENOTSUP, "only qcow2 images have internal snapshots");
}

static const struct block_backend_ops raw_ops = {
	.queue = raw_queue,
	.submit = raw_submit,
	.poll = raw_poll,
	.drain = raw_drain,
	.close = raw_close,
	.flush = raw_flush,
	.snapshot = raw_snapshot,
};

/* The eventfd fired on the I/O thread: the owner takes its lock and polls. */
static void raw_event(void *opaque, uint32_t events)
{
	struct raw *r = opaque;
	uint64_t v;

	(void)events;
	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already read; a spurious ready() only costs an empty poll. */
	}
	r->ready(r->opaque);
}

/*
 * A hole punched past the end changes no data, and tells whether punching
 * works.  File systems count it as a write, though (ext4 updates the
 * modification time): put back the time @st had, so that merely opening an
 * image does not make it look changed (a VM state's disk check compares
 * it).  Only the file's owner may; for others the probe's time stays.
 */
static bool probe_discard(const struct block_file *f, const struct stat *st)
{
	bool ok;

	if (f->readonly)
		return false;
	ok = !fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, f->length, 1) ||
	     errno != EOPNOTSUPP;
	if (S_ISREG(st->st_mode))
		futimens(f->fd,
			 (const struct timespec[2]){ { .tv_nsec = UTIME_OMIT }, st->st_mtim });
	return ok;
}

int raw_open(struct block_backend **bb, const struct block_file *file,
	     const struct block_open_args *args, struct event_loop *loop)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct stat st;
	int ret;

	if (!r)
		return err_set(ENOMEM, "out of memory");
	/* Before anything may count as a write (probe_discard()). */
	if (fstat(file->fd, &st)) {
		ret = err_set(errno, "%s", strerror(errno));
		free(r);
		return ret;
	}
	ret = io_uring_queue_init(RAW_RING_ENTRIES, &r->ring, 0);
	if (ret) {
		free(r);
		return err_set(-ret, "io_uring is not available: %s", strerror(-ret));
	}
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		ret = err_set(errno, "eventfd: %s", strerror(errno));
		goto err_ring;
	}
	ret = io_uring_register_eventfd(&r->ring, r->efd);
	if (!ret)
		ret = event_loop_add(loop, r->efd, EPOLLIN, raw_event, r);
	if (ret) {
		err_set(-ret, "io_uring eventfd: %s", strerror(-ret));
		close(r->efd);
		goto err_ring;
	}
	register_fixed(r, args);
	r->fd = file->fd;
	r->loop = loop;
	r->ready = args->ready;
	r->opaque = args->opaque;
	r->waiting_tail = &r->waiting;
	r->bb = (struct block_backend){
		.ops = &raw_ops,
		.length = file->length,
		.alignment = file->alignment,
		.readonly = file->readonly,
		.can_discard = probe_discard(file, &st),
		.format = "raw",
		.fd = file->fd,
		.opened = st,
	};
	*bb = &r->bb;
	return 0;

err_ring:
	io_uring_queue_exit(&r->ring);
	free(r);
	return ret;
}
