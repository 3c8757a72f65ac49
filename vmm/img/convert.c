// SPDX-License-Identifier: MIT
/*
 * kvmini-img convert: copy what an image's chain reads as into a new raw or
 * qcow2 image.  Ranges no layer has allocated, zero ranges and all-zero
 * buffers are not written (the new image reads zeros there already), so
 * the output is sparse.  Three threads: one reads the source, one writes
 * the output, one has the kernel write back what was written (see struct
 * writeback).  The output is built under a temporary name next to it and
 * renamed into place at the end: a failed or interrupted convert leaves no
 * partial output behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "img_cmd.h"
#include "opts.h"

/* What a raw output skips when it reads as zeros: a page, a filesystem block. */
#define RAW_GRANULE 4096u
/* Start the writeback of the output every this many bytes written (see struct writeback). */
#define WRITEBACK_EVERY (8u << 20)

/*
 * img_close() ends with an fdatasync of the output.  Rather than have it
 * wait for everything, a thread keeps starting the writeback of what has
 * been written (sync_file_range() blocks while the disk queue is full, so
 * the copy loop does not call it itself).  Only a hint: errors are the
 * final flush's to report.
 */
struct writeback {
	int fd;		   /* the output file, -1: no thread */
	uint64_t unkicked; /* bytes written since the last kick */
	bool kick, stop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *writeback_main(void *arg)
{
	struct writeback *wb = arg;

	pthread_mutex_lock(&wb->lock);
	while (!wb->stop) {
		if (!wb->kick) {
			pthread_cond_wait(&wb->cond, &wb->lock);
			continue;
		}
		wb->kick = false;
		pthread_mutex_unlock(&wb->lock);
		sync_file_range(wb->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		pthread_mutex_lock(&wb->lock);
	}
	pthread_mutex_unlock(&wb->lock);
	return NULL;
}

/* Takes over @fd.  Without the thread the copy works all the same, only slower. */
static void writeback_start(struct writeback *wb, int fd)
{
	wb->fd = fd;
	pthread_mutex_init(&wb->lock, NULL);
	pthread_cond_init(&wb->cond, NULL);
	if (pthread_create(&wb->thread, NULL, writeback_main, wb)) {
		close(fd);
		wb->fd = -1;
	}
}

static void writeback_kick(struct writeback *wb, uint64_t written)
{
	wb->unkicked += written;
	if (wb->fd < 0 || wb->unkicked < WRITEBACK_EVERY)
		return;
	wb->unkicked = 0;
	pthread_mutex_lock(&wb->lock);
	wb->kick = true;
	pthread_cond_signal(&wb->cond);
	pthread_mutex_unlock(&wb->lock);
}

static void writeback_stop(struct writeback *wb)
{
	if (wb->fd < 0)
		return;
	pthread_mutex_lock(&wb->lock);
	wb->stop = true;
	pthread_cond_signal(&wb->cond);
	pthread_mutex_unlock(&wb->lock);
	pthread_join(wb->thread, NULL);
	close(wb->fd);
	wb->fd = -1;
}

/* Chunks in flight: one being written, the others read ahead. */
#define NR_SLOTS 3

/* A chunk of the source with data in it, read and waiting to be written. */
struct slot {
	uint8_t *buf; /* IMG_CHUNK bytes */
	uint64_t off, end;
};

struct convert {
	struct img *src, *dst;
	const char *src_name, *dst_name;
	/* Where the output goes: @dst_name, or the file it is a symbolic link to (malloc'd). */
	char *dst_file;
	uint64_t size;
	uint32_t granule; /* zero detection and write unit: the output's cluster */
	bool compress;
	struct writeback wb;
	struct progress progress;
	/*
	 * A reader thread fills the slots (it alone uses @src) while this one
	 * writes them out in order (it alone uses @dst), so that reading and
	 * writing overlap.  Under @lock: @nr_full slots from @first on are
	 * ready, and how each side ended.
	 */
	struct slot slots[NR_SLOTS];
	unsigned int first, nr_full;
	bool read_done, write_failed;
	int read_ret;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* The temporary output, removed by the signal handler if the user interrupts us. */
static char *tmp_path;

static void on_signal(int sig)
{
	if (tmp_path)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool is_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* Read [off, off + len) of the chain into @buf: data extents read, the rest zeroed. */
static int fill_chunk(struct convert *cv, uint8_t *buf, uint64_t off, uint32_t len, bool *any_data)
{
	uint64_t pos = off, end = off + len;

	*any_data = false;
	while (pos < end) {
		struct img_extent x;
		uint64_t n;
		int ret;

		ret = img_block_status(cv->src, pos, end - pos, true, &x);
		if (ret)
			return ret;
		n = x.length < end - pos ? x.length : end - pos;
		if (x.type == IMG_EXTENT_DATA) {
			ret = img_read(cv->src, pos, buf + (pos - off), n);
			if (ret)
				return ret;
			*any_data = true;
		} else {
			memset(buf + (pos - off), 0, n);
		}
		pos += n;
	}
	return 0;
}

/* Write the granules of the chunk @buf at @off that are not all zeros, in runs. */
static int write_chunk(struct convert *cv, const uint8_t *buf, uint64_t off, uint32_t len)
{
	uint32_t g, run = 0, run_len = 0;
	int ret;

	for (g = 0; g < len; g += cv->granule) {
		uint32_t n = len - g < cv->granule ? len - g : cv->granule;

		if (is_zero(buf + g, n)) {
			if (run_len) {
				ret = img_write(cv->dst, off + run, buf + run, run_len);
				if (ret)
					return ret;
			}
			run_len = 0;
			continue;
		}
		if (cv->compress) {
			ret = qcow2_write_compressed(cv->dst, off + g, buf + g, n);
			if (ret)
				return ret;
			continue;
		}
		if (!run_len)
			run = g;
		run_len += n;
	}
	return run_len ? img_write(cv->dst, off + run, buf + run, run_len) : 0;
}

/*
 * The bytes of the chunk @s to write.  A qcow2 output's size is rounded up
 * to 512 bytes: its last cluster (which a compressed write wants whole)
 * ends past the source's end, and reads as zeros there.
 */
static uint32_t chunk_len(struct convert *cv, struct slot *s)
{
	uint64_t dst_end = img_size(cv->dst), end = s->end;

	if (end == cv->size && dst_end > end) {
		/* The chunk ends at a granule boundary short of IMG_CHUNK: the buffer has room. */
		dst_end = dst_end < end + cv->granule ? dst_end : end + cv->granule;
		dst_end = dst_end < s->off + IMG_CHUNK ? dst_end : s->off + IMG_CHUNK;
		memset(s->buf + (end - s->off), 0, dst_end - end);
		end = dst_end;
	}
	return (uint32_t)(end - s->off);
}

/* The next slot to fill, once there is one; NULL when the writer has given up. */
static struct slot *free_slot(struct convert *cv)
{
	struct slot *s = NULL;

	pthread_mutex_lock(&cv->lock);
	while (cv->nr_full == NR_SLOTS && !cv->write_failed)
		pthread_cond_wait(&cv->cond, &cv->lock);
	if (!cv->write_failed)
		s = &cv->slots[(cv->first + cv->nr_full) % NR_SLOTS];
	pthread_mutex_unlock(&cv->lock);
	return s;
}

/* The reader: queues the chunks that have data; prints its own error (messages are per thread). */
static void *reader_main(void *arg)
{
	struct convert *cv = arg;
	uint64_t off = 0;
	int ret = 0;

	while (off < cv->size) {
		struct img_extent x;
		uint64_t skip;
		struct slot *s;
		bool any_data;

		ret = img_block_status(cv->src, off, cv->size - off, true, &x);
		if (ret)
			break;
		/* Whole granules that read as zeros need nothing: the output has them. */
		skip = x.type == IMG_EXTENT_DATA ? 0 : x.length / cv->granule * cv->granule;
		if (x.type != IMG_EXTENT_DATA && x.offset + x.length >= cv->size)
			skip = cv->size - off;
		if (skip) {
			off += skip;
			continue;
		}
		s = free_slot(cv);
		if (!s)
			break;
		s->off = off;
		s->end = img_chunk_end(off, cv->size);
		ret = fill_chunk(cv, s->buf, s->off, (uint32_t)(s->end - s->off), &any_data);
		if (ret)
			break;
		off = s->end;
		if (!any_data)
			continue;
		pthread_mutex_lock(&cv->lock);
		cv->nr_full++;
		pthread_cond_broadcast(&cv->cond);
		pthread_mutex_unlock(&cv->lock);
	}
	if (ret)
		img_err_file(cv->src_name, ret);
	pthread_mutex_lock(&cv->lock);
	cv->read_done = true;
	cv->read_ret = ret;
	pthread_cond_broadcast(&cv->cond);
	pthread_mutex_unlock(&cv->lock);
	return NULL;
}

/* The next slot to write, once there is one; NULL when the reader is done. */
static struct slot *full_slot(struct convert *cv)
{
	struct slot *s = NULL;

	pthread_mutex_lock(&cv->lock);
	while (!cv->nr_full && !cv->read_done)
		pthread_cond_wait(&cv->cond, &cv->lock);
	if (cv->nr_full)
		s = &cv->slots[cv->first];
	pthread_mutex_unlock(&cv->lock);
	return s;
}

/* Copy the whole chain; prints the error line (naming the file that failed) itself. */
static int copy_image(struct convert *cv)
{
	pthread_t reader;
	struct slot *s;
	int ret = 0;

	progress_update(&cv->progress, 0, cv->size);
	if (pthread_create(&reader, NULL, reader_main, cv))
		return img_fail(-EAGAIN, "cannot start a thread");
	while ((s = full_slot(cv))) {
		err_clear();
		ret = write_chunk(cv, s->buf, s->off, chunk_len(cv, s));
		if (ret) {
			img_err_file(cv->dst_name, ret);
			break;
		}
		writeback_kick(&cv->wb, s->end - s->off);
		progress_update(&cv->progress, s->end, cv->size);
		pthread_mutex_lock(&cv->lock);
		cv->first = (cv->first + 1) % NR_SLOTS;
		cv->nr_full--;
		pthread_cond_broadcast(&cv->cond);
		pthread_mutex_unlock(&cv->lock);
	}
	pthread_mutex_lock(&cv->lock);
	cv->write_failed = ret;
	pthread_cond_broadcast(&cv->cond);
	pthread_mutex_unlock(&cv->lock);
	pthread_join(reader, NULL);
	return ret ? ret : cv->read_ret;
}

/*
 * Create the temporary output file next to where the output goes (through a
 * symbolic link, as qemu-img writes), with the mode of the file it replaces
 * or of a new file.  Its fd, or -errno after an error line.
 */
static int make_tmp(struct convert *cv)
{
	struct stat st;
	mode_t mode;
	char *path;
	int fd;

	cv->dst_file = realpath(cv->dst_name, NULL);
	if (!cv->dst_file || lstat(cv->dst_name, &st) || !S_ISLNK(st.st_mode)) {
		free(cv->dst_file);
		cv->dst_file = strdup(cv->dst_name);
	}
	if (!cv->dst_file || asprintf(&path, "%s.kvmini-tmp-XXXXXX", cv->dst_file) < 0)
		return img_fail(-ENOMEM, "out of memory");
	fd = mkstemp(path);
	if (fd < 0) {
		fd = img_fail(-errno, "%s: cannot create the output: %s", cv->dst_name,
			      strerror(errno));
		free(path);
		return fd;
	}
	if (stat(cv->dst_file, &st)) {
		mode = umask(0);
		umask(mode);
		st.st_mode = 0666 & ~mode;
	}
	fchmod(fd, st.st_mode & 07777);
	tmp_path = path;
	return fd;
}

/* Create the output under a temporary name (tmp_path) and open it. */
static int create_output(struct convert *cv, struct img_create_opts *o, const char *fmt)
{
	struct img_info info;
	int fd, ret;

	/* rename() would swap the file under a VM using it: refuse, as qemu-img does. */
	ret = img_check_unused(cv->dst_name);
	if (ret)
		return ret;
	fd = make_tmp(cv);
	if (fd < 0)
		return fd;
	writeback_start(&cv->wb, fd);
	err_clear();
	ret = img_create(tmp_path, o);
	if (ret)
		return img_err_file(cv->dst_name, ret);
	ret = img_open_path(&cv->dst, tmp_path, fmt, IMG_OPEN_RW | IMG_OPEN_NO_BACKING);
	if (ret)
		return ret;
	img_get_info(cv->dst, &info);
	cv->granule = info.cluster_size ? info.cluster_size : RAW_GRANULE;
	return 0;
}

/* The command line into @cv and @o (whose strings @store holds); 0 or -errno (printed). */
static int convert_opts(int argc, char **argv, struct convert *cv, struct img_create_opts *o,
			struct opts *store, const char **src_fmt, const char **dst_fmt)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	char *list = NULL;
	int c, ret;

	while ((c = img_getopt(argc, argv, "pcf:O:o:qU", longopts)) != -1) {
		switch (c) {
		case 'p':
			cv->progress.on = true;
			break;
		case 'c':
			cv->compress = true;
			break;
		case 'f':
			*src_fmt = optarg;
			break;
		case 'O':
			*dst_fmt = optarg;
			break;
		case 'o':
			if (append_opt_list(&list, optarg))
				return img_fail(-ENOMEM, "out of memory");
			break;
		case 'q':
			img_set_quiet();
			break;
		case 'U':
			break;
		default:
			free(list);
			return -EINVAL;
		}
	}
	if (img_need_args(argc, argv, 2, 2) || img_parse_format(*dst_fmt, &o->format)) {
		free(list);
		return -EINVAL;
	}
	cv->src_name = argv[optind];
	cv->dst_name = argv[optind + 1];
	err_clear();
	ret = parse_create_opts(list, store, o);
	free(list);
	if (ret)
		return img_fail(ret, "%s: %s", cv->dst_name, err_msg(ret));
	if (o->backing_file)
		return img_fail(-EINVAL, "%s: convert writes a whole image: no backing_file",
				cv->dst_name);
	if (cv->compress && o->format != IMG_FORMAT_QCOW2)
		return img_fail(-EINVAL, "%s: compression (-c) needs the qcow2 output format",
				cv->dst_name);
	return 0;
}

/* Close the output and move it into place, or remove it after @ret (an error). */
static int finish_output(struct convert *cv, int ret)
{
	char *path = tmp_path;
	int cret;

	writeback_stop(&cv->wb);
	if (cv->dst) {
		err_clear();
		cret = img_close(cv->dst);
		if (!ret && cret)
			ret = img_err_file(cv->dst_name, cret);
	}
	if (!ret && rename(path, cv->dst_file))
		ret = img_fail(-errno, "%s: %s", cv->dst_name, strerror(errno));
	if (ret && path)
		unlink(path);
	tmp_path = NULL;
	free(path);
	return ret;
}

int cmd_convert(int argc, char **argv)
{
	struct convert cv = {
		.progress.last = -1,
		.wb.fd = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct img_create_opts o = { 0 };
	struct opts store = { 0 };
	const char *src_fmt = NULL, *dst_fmt = "raw";
	uint8_t *bufs = NULL;
	unsigned int i;
	int ret = -EINVAL;

	if (convert_opts(argc, argv, &cv, &o, &store, &src_fmt, &dst_fmt) ||
	    img_open_path(&cv.src, cv.src_name, src_fmt, 0))
		goto out;
	cv.size = img_size(cv.src);
	o.size = cv.size;
	bufs = aligned_alloc(4096, NR_SLOTS * IMG_CHUNK);
	if (!bufs) {
		ret = img_fail(-ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < NR_SLOTS; i++)
		cv.slots[i].buf = bufs + i * IMG_CHUNK;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	ret = create_output(&cv, &o, dst_fmt);
	if (!ret)
		ret = copy_image(&cv);
	ret = finish_output(&cv, ret);
	if (!ret)
		progress_end(&cv.progress);
out:
	img_close(cv.src);
	free(cv.dst_file);
	free(bufs);
	opts_free(&store);
	return ret ? 1 : 0;
}
