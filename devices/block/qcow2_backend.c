// SPDX-License-Identifier: MIT
/*
 * The qcow2 block backend (include/block.h) over the image engine.  A
 * request's guest range is translated into host extents with the cached L2
 * tables; extents that map straight onto the file (allocated data, or
 * clusters written in place) go to the raw io_uring backend as
 * sub-requests, and the request completes when its last one does.  The rest
 * (reads of unallocated, zero or compressed clusters; allocating writes,
 * copy-on-write, discard, write-zeroes, flush) runs synchronously on the
 * I/O thread through the engine.  Anything that may change the metadata
 * first waits for the sub-requests in flight, so that no write lands in a
 * cluster after it was freed.  Requests finished synchronously wait on a
 * list, and an eventfd gets the owner to call poll(): completions never run
 * inside queue().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "event_loop.h"
#include "iov.h"
#include "qcow2_int.h"

#define BOUNCE_BYTES  (1 * MIB)
#define NR_SUBS	      512
#define SUB_IOV	      64
#define NR_PENDS      64
#define MAX_ALLOC_RUN 256 /* clusters per allocating extent */

/* An allocating write whose data is on its way: the L2 entries follow it. */
struct qpend {
	struct qcow2_alloc a;
	struct block_request *parent;
	unsigned int subs; /* its sub-requests in flight */
	int err;
	bool busy;
};

/* One extent of a request, handed to the raw backend. */
struct qsub {
	struct block_request br;
	struct qbackend *qb;
	struct block_request *parent;
	struct qpend *pend; /* NULL: data written in place */
	struct qsub *next_free;
	struct iovec iov[SUB_IOV];
};

struct qbackend {
	struct block_backend bb;
	struct img *img;
	struct block_backend *raw; /* the data path, on block_open()'s file */
	int efd;
	struct event_loop *loop;
	void (*ready)(void *opaque);
	void *opaque;
	struct block_request *done, **done_tail; /* finished synchronously */
	bool signalled;
	unsigned int inflight; /* sub-requests in the raw backend */
	struct qsub *free_subs;
	unsigned int nr_free_subs;
	struct qsub subs[NR_SUBS];
	struct qpend pends[NR_PENDS];
	uint8_t *bounce;
};

/*
 * While a request is ours, its done field counts the sub-requests still in
 * flight (low 32 bits) and keeps the first error (positive errno, above).
 */
#define PENDING(r) ((uint32_t)(r)->done)
#define ERRNO(r)   ((int)((r)->done >> 32))

static struct qbackend *to_qb(struct block_backend *bb)
{
	return container_of(bb, struct qbackend, bb);
}

static void set_error(struct block_request *req, int ret)
{
	if (ret && !ERRNO(req))
		req->done |= (uint64_t)-ret << 32;
}

static void finish_sync(struct qbackend *qb, struct block_request *req)
{
	req->next = NULL;
	*qb->done_tail = req;
	qb->done_tail = &req->next;
}

/* One fewer thing in flight for @parent; done when nothing is. */
static void parent_put(struct qbackend *qb, struct block_request *parent, int ret)
{
	set_error(parent, ret);
	parent->done--;
	/* Completions run from poll() only (this may be inside queue(): quiesce()). */
	if (!PENDING(parent))
		finish_sync(qb, parent);
}

/* The data of an allocating write is in the file: now the L2 entries may point to it. */
static void pend_done(struct qbackend *qb, struct qpend *p)
{
	int ret = p->err;

	if (ret)
		qcow2_abort_write(qb->img, &p->a);
	else
		ret = qcow2_commit_write(qb->img, &p->a);
	if (ret && !p->err)
		pr_err("%s: %s", img_path(qb->img), err_msg(-ret));
	p->busy = false;
	parent_put(qb, p->parent, ret);
}

static void sub_done(struct block_request *br, int ret)
{
	struct qsub *s = container_of(br, struct qsub, br);
	struct block_request *parent = s->parent;
	struct qbackend *qb = s->qb;
	struct qpend *p = s->pend;

	qb->inflight--;
	s->next_free = qb->free_subs;
	qb->free_subs = s;
	qb->nr_free_subs++;
	if (!p) {
		parent_put(qb, parent, ret);
		return;
	}
	if (ret && !p->err)
		p->err = ret;
	if (!--p->subs)
		pend_done(qb, p);
}

/* Wait for every sub-request: before anything that may free or reuse clusters. */
static void quiesce(struct qbackend *qb)
{
	if (qb->inflight) {
		block_submit(qb->raw);
		block_drain(qb->raw);
	}
}

/* The extent [pos, pos + n) of @req through the engine and the bounce buffer. */
static int slow_extent(struct qbackend *qb, struct block_request *req, uint64_t pos, uint64_t n)
{
	if (req->op == BLOCK_OP_WRITE)
		quiesce(qb);
	for (uint64_t done = 0; done < n;) {
		uint64_t m = n - done < BOUNCE_BYTES ? n - done : BOUNCE_BYTES;
		uint64_t off = req->offset + pos + done;
		int ret;

		if (req->op == BLOCK_OP_WRITE) {
			iov_to_buf(req->iov, req->iovcnt, pos + done, qb->bounce, m);
			ret = img_write(qb->img, off, qb->bounce, m);
		} else {
			ret = img_read(qb->img, off, qb->bounce, m);
			if (!ret)
				iov_from_buf(req->iov, req->iovcnt, pos + done, qb->bounce, m);
		}
		if (ret)
			return ret;
		done += m;
	}
	return 0;
}

/* A sub-request for @iov (@k pieces) at @host; @p: part of an allocating write. */
static void send_sub(struct qbackend *qb, struct block_request *req, struct qsub *s, unsigned int k,
		     uint64_t host, struct qpend *p)
{
	qb->free_subs = s->next_free;
	qb->nr_free_subs--;
	s->parent = req;
	s->pend = p;
	s->qb = qb;
	s->br = (struct block_request){ .op = BLOCK_OP_WRITE,
					.offset = host,
					.iov = s->iov,
					.iovcnt = k,
					.complete = sub_done };
	if (p)
		p->subs++;
	else
		s->br.op = req->op;
	qb->inflight++;
	block_queue(qb->raw, &s->br);
}

/* The extent [pos, pos + n) of @req at @host in the file: a sub-request. */
static int fast_extent(struct qbackend *qb, struct block_request *req, uint64_t pos, uint64_t n,
		       uint64_t host)
{
	int k;

	if (!qb->free_subs)
		quiesce(qb);
	k = iov_slice(req->iov, req->iovcnt, pos, n, qb->free_subs->iov, SUB_IOV);
	if (k <= 0)
		return slow_extent(qb, req, pos, n); /* too many pieces for a sub-request */
	req->done++;
	send_sub(qb, req, qb->free_subs, (unsigned int)k, host, NULL);
	return 0;
}

/* Whether a write to [off, off + n) touches a cluster an allocating write has in flight. */
static bool pend_overlaps(struct qbackend *qb, uint64_t off, uint64_t n)
{
	uint64_t cs = qb->img->q.cluster_size, first = off / cs, last = (off + n - 1) / cs;

	for (unsigned int i = 0; i < NR_PENDS; i++) {
		const struct qpend *p = &qb->pends[i];

		if (p->busy && first < p->a.gc + p->a.n && p->a.gc <= last)
			return true;
	}
	return false;
}

static struct qpend *free_pend(struct qbackend *qb)
{
	for (unsigned int i = 0; i < NR_PENDS; i++) {
		if (!qb->pends[i].busy)
			return &qb->pends[i];
	}
	return NULL;
}

/*
 * [pos, pos + n) of @req goes to new clusters: allocated (and the partial
 * ones' old content read) now, the data written through the raw backend,
 * the L2 entries set when it is in the file (pend_done()).
 */
static int alloc_extent(struct qbackend *qb, struct block_request *req, uint64_t pos, uint64_t *n)
{
	uint64_t cs = qb->img->q.cluster_size, off = req->offset + pos, max;
	struct qsub *s;
	struct qpend *p;
	int k, ret;

	max = MAX_ALLOC_RUN * cs - off % cs;
	*n = *n < max ? *n : max;
	p = free_pend(qb);
	if (!p || qb->nr_free_subs < 3) {
		quiesce(qb);
		p = free_pend(qb);
	}
	ret = qcow2_prepare_write(qb->img, off, *n, &p->a);
	if (ret)
		return ret;
	s = qb->free_subs;
	k = p->a.whole ? iov_slice(req->iov, req->iovcnt, pos + p->a.head_bytes, p->a.whole, s->iov,
				   SUB_IOV)
		       : 0;
	if (k < 0) {
		qcow2_abort_write(qb->img, &p->a);
		return slow_extent(qb, req, pos, *n); /* too many pieces for a sub-request */
	}
	*p = (struct qpend){ .a = p->a, .parent = req, .busy = true };
	req->done++;
	if (k)
		send_sub(qb, req, s, (unsigned int)k, p->a.host + (p->a.head ? cs : 0), p);
	if (p->a.head) {
		iov_to_buf(req->iov, req->iovcnt, pos, p->a.head + p->a.in, p->a.head_bytes);
		s = qb->free_subs;
		s->iov[0] = (struct iovec){ p->a.head, cs };
		send_sub(qb, req, s, 1, p->a.host, p);
	}
	if (p->a.tail) {
		iov_to_buf(req->iov, req->iovcnt, pos + p->a.head_bytes + p->a.whole, p->a.tail,
			   p->a.tail_bytes);
		s = qb->free_subs;
		s->iov[0] = (struct iovec){ p->a.tail, cs };
		send_sub(qb, req, s, 1, p->a.host + (p->a.n - 1) * cs, p);
	}
	return 0;
}

static int do_rw(struct qbackend *qb, struct block_request *req)
{
	bool wr = req->op == BLOCK_OP_WRITE;
	uint64_t total = iov_size(req->iov, req->iovcnt), pos = 0;

	while (pos < total) {
		uint64_t host, n;
		int ret = qcow2_map(qb->img, req->offset + pos, total - pos, wr, &host, &n);

		/*
		 * A cluster with an allocating write in flight: its mapping is
		 * about to change, so wait for it and look again.
		 */
		if (!ret && wr && pend_overlaps(qb, req->offset + pos, n)) {
			quiesce(qb);
			continue;
		}
		if (!ret && host)
			ret = fast_extent(qb, req, pos, n, host);
		else if (!ret && wr)
			ret = alloc_extent(qb, req, pos, &n);
		else if (!ret)
			ret = slow_extent(qb, req, pos, n);
		if (ret)
			return ret;
		pos += n;
	}
	return 0;
}

static int execute(struct qbackend *qb, struct block_request *req)
{
	if (qb->bb.readonly && req->op != BLOCK_OP_READ && req->op != BLOCK_OP_FLUSH)
		return err_set(EROFS, "the image is open read-only");
	switch (req->op) {
	case BLOCK_OP_READ:
	case BLOCK_OP_WRITE:
		return do_rw(qb, req);
	case BLOCK_OP_FLUSH:
		quiesce(qb);
		return img_flush(qb->img);
	case BLOCK_OP_DISCARD:
		quiesce(qb);
		return img_discard(qb->img, req->offset, req->len);
	case BLOCK_OP_WRITE_ZEROES:
		quiesce(qb);
		return img_write_zeroes(qb->img, req->offset, req->len);
	}
	return -EINVAL;
}

static void qb_queue(struct block_backend *bb, struct block_request *req)
{
	struct qbackend *qb = to_qb(bb);
	int ret;

	/* One reference of our own while we work: sub-requests may finish meanwhile. */
	req->done = 1;
	ret = execute(qb, req);
	if (ret && ret != -ENOMEM)
		pr_err("%s: %s", img_path(qb->img), err_msg(-ret));
	parent_put(qb, req, ret);
}

static void qb_submit(struct block_backend *bb)
{
	struct qbackend *qb = to_qb(bb);
	uint64_t one = 1;

	block_submit(qb->raw);
	if (qb->done && !qb->signalled && write(qb->efd, &one, sizeof(one)) == sizeof(one))
		qb->signalled = true;
}

static void run_sync_completions(struct qbackend *qb)
{
	while (qb->done) {
		struct block_request *req = qb->done;

		qb->done = req->next;
		if (!qb->done)
			qb->done_tail = &qb->done;
		req->complete(req, -ERRNO(req));
	}
}

static void qb_poll(struct block_backend *bb)
{
	struct qbackend *qb = to_qb(bb);

	block_poll(qb->raw);
	run_sync_completions(qb);
}

static void qb_drain(struct block_backend *bb)
{
	struct qbackend *qb = to_qb(bb);

	block_submit(qb->raw);
	block_drain(qb->raw);
	run_sync_completions(qb);
}

static void qb_close(struct block_backend *bb)
{
	struct qbackend *qb = to_qb(bb);

	qb_drain(bb);
	block_close(qb->raw);
	if (img_close(qb->img))
		pr_err("%s: %s", img_path(qb->img), err_msg(EIO));
	event_loop_del(qb->loop, qb->efd);
	close(qb->efd);
	free(qb->bounce);
	free(qb);
}

/*
 * The L2 and refcount caches are write-back and drain() leaves them so:
 * write them, sync, and give back the space grown ahead of need, as
 * img_close() would (a state save records the file as a later close
 * leaves it).
 */
static int qb_flush(struct block_backend *bb)
{
	struct qbackend *qb = to_qb(bb);
	struct img *img = qb->img;
	struct qcow2 *q = &img->q;

	qb_drain(bb);
	if (!img->rw)
		return 0;
	if (q->file_alloc > q->file_end) {
		if (ftruncate(img->fd, (off_t)q->file_end))
			return err_set(errno, "%s", strerror(errno));
		q->file_alloc = q->file_end;
	}
	return img_flush(img);
}

/*
 * The id of the image's snapshot named @name in @id ("" if none): savevm's
 * tags are names, and the engine looks ids up first, so it gets the id.
 */
static int find_snapshot(struct img *img, const char *name, char *id, size_t size)
{
	const struct qcow2_snapshot *list;
	unsigned int nr;
	int ret = qcow2_snapshot_list(img, &list, &nr);

	id[0] = '\0';
	for (unsigned int i = 0; !ret && i < nr; i++) {
		if (!strcmp(list[i].name, name))
			snprintf(id, size, "%s", list[i].id);
	}
	return ret;
}

/*
 * The engine's snapshot calls on the image the backend has open, with
 * nothing in flight (the raw data path drained) and the metadata written.
 * The engine keeps its own caches right across them (a freed table leaves
 * the L2 cache, the free-cluster hint follows frees).
 */
static int qb_snapshot(struct block_backend *bb, enum block_snapshot_op op, const char *name)
{
	struct qbackend *qb = to_qb(bb);
	struct img *img = qb->img;
	char id[64];
	bool found;
	int ret;

	qb_drain(bb);
	ret = find_snapshot(img, name, id, sizeof(id));
	found = id[0];
	if (ret || op == BLOCK_SNAPSHOT_FIND)
		return ret ? ret : found ? 0 : -ENOENT;
	if (!img->rw)
		return err_set(EROFS, "the image is open read-only");
	if (!found && op != BLOCK_SNAPSHOT_CREATE)
		return op == BLOCK_SNAPSHOT_DELETE
			       ? -ENOENT
			       : err_set(ENOENT, "no internal snapshot '%s'", name);
	ret = qb_flush(bb);
	if (!ret && found && op != BLOCK_SNAPSHOT_APPLY)
		ret = qcow2_snapshot_delete(img, id);
	if (!ret && op == BLOCK_SNAPSHOT_CREATE)
		ret = qcow2_snapshot_create(img, name);
	else if (!ret && op == BLOCK_SNAPSHOT_APPLY)
		ret = qcow2_snapshot_apply(img, id);
	/* Apply may change the virtual size (a snapshot taken before a resize). */
	bb->length = img_size(img);
	return ret;
}

static const struct block_backend_ops qcow2_ops = {
	.queue = qb_queue,
	.submit = qb_submit,
	.poll = qb_poll,
	.drain = qb_drain,
	.close = qb_close,
	.flush = qb_flush,
	.snapshot = qb_snapshot,
};

static void qb_event(void *opaque, uint32_t events)
{
	struct qbackend *qb = opaque;
	uint64_t v;

	(void)events;
	if (read(qb->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already read; a spurious ready() only costs an empty poll. */
	}
	qb->signalled = false;
	qb->ready(qb->opaque);
}

/* The raw backend's completions are ours to run, from the owner's poll(). */
static void raw_ready(void *opaque)
{
	struct qbackend *qb = opaque;

	qb->ready(qb->opaque);
}

int qcow2_backend_open(struct block_backend **bb, const struct block_file *file,
		       const struct block_open_args *args, struct event_loop *loop)
{
	struct img_open_opts opts = { .format = "qcow2",
				      .readwrite = !file->readonly,
				      .lock = true };
	struct block_open_args raw_args = *args;
	struct qbackend *qb = calloc(1, sizeof(*qb));
	struct stat st;
	char self[64];
	int fd, ret;

	if (!qb || posix_memalign((void **)&qb->bounce, 4096, BOUNCE_BYTES)) {
		free(qb);
		return err_set(ENOMEM, "out of memory");
	}
	/* Before the engine writes (the dirty bit, a repair, the autoclear bits). */
	if (fstat(file->fd, &st)) {
		ret = err_set(errno, "%s", strerror(errno));
		goto err;
	}
	/* The engine's own buffered file description (metadata is not O_DIRECT-aligned). */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", file->fd);
	fd = open(self, (file->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		ret = err_set(errno, "%s", strerror(errno));
		goto err;
	}
	ret = img_open_fd(&qb->img, fd, args->path, &opts);
	close(fd);
	if (ret)
		goto err;
	qb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (qb->efd < 0) {
		ret = err_set(errno, "eventfd: %s", strerror(errno));
		goto err_img;
	}
	ret = event_loop_add(loop, qb->efd, EPOLLIN, qb_event, qb);
	if (ret) {
		err_set(-ret, "eventfd: %s", strerror(-ret));
		close(qb->efd);
		goto err_img;
	}
	raw_args.ready = raw_ready;
	raw_args.opaque = qb;
	ret = raw_open(&qb->raw, file, &raw_args, loop);
	if (ret) {
		event_loop_del(loop, qb->efd);
		close(qb->efd);
		goto err_img;
	}
	for (unsigned int i = 0; i < NR_SUBS; i++) {
		qb->subs[i].next_free = qb->free_subs;
		qb->free_subs = &qb->subs[i];
	}
	qb->nr_free_subs = NR_SUBS;
	qb->loop = loop;
	qb->ready = args->ready;
	qb->opaque = args->opaque;
	qb->done_tail = &qb->done;
	qb->bb = (struct block_backend){
		.ops = &qcow2_ops,
		.length = img_size(qb->img),
		.alignment = file->alignment,
		.readonly = file->readonly,
		.can_discard = !file->readonly,
		.format = "qcow2",
		.fd = file->fd,
		.opened = st,
	};
	*bb = &qb->bb;
	return 0;

err_img:
	img_close(qb->img);
err:
	free(qb->bounce);
	free(qb);
	return ret;
}
