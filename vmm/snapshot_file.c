// SPDX-License-Identifier: MIT
/* The state file format (include/snapshot.h): writing, checking, reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "snapshot.h"

const char *snap_tag_name(uint32_t tag, char buf[5])
{
	int n = 4;

	for (int i = 0; i < 4; i++) {
		char c = (char)(tag >> (8 * i));

		buf[i] = c >= ' ' && c <= '~' ? c : '?';
	}
	while (n > 1 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

void snap_buf_put(struct snap_buf *b, const void *p, size_t len)
{
	if (b->oom || !len)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void snap_take(struct snap_cursor *c, void *dst, size_t len)
{
	if (c->bad || len > c->left) {
		c->bad = true;
		memset(dst, 0, len);
		return;
	}
	memcpy(dst, c->p, len);
	c->p += len;
	c->left -= len;
}

/* ---- Writing -------------------------------------------------------------------------------- */

static void write_all(struct snap_writer *w, struct iovec *iov, int n)
{
	while (n && !w->err) {
		ssize_t done = writev(w->fd, iov, n);

		if (done < 0) {
			if (errno != EINTR)
				w->err = err_set(errno, "%s: %s", w->path, strerror(errno));
			continue;
		}
		while (n && (size_t)done >= iov->iov_len) {
			done -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
}

void snap_put(struct snap_writer *w, uint32_t tag, uint32_t inst, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	uint8_t hdr[SNAP_SEC_HDR_LEN];
	uint64_t len = alen + blen;
	uint32_t crc;
	struct iovec iov[4];

	memcpy(hdr, &tag, 4);
	memcpy(hdr + 4, &inst, 4);
	memcpy(hdr + 8, &len, 8);
	crc = (uint32_t)crc32(0, hdr, sizeof(hdr));
	if (alen)
		crc = (uint32_t)crc32_z(crc, a, alen);
	if (blen)
		crc = (uint32_t)crc32_z(crc, b, blen);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ (void *)a, alen };
	iov[2] = (struct iovec){ (void *)b, blen };
	iov[3] = (struct iovec){ &crc, sizeof(crc) };
	write_all(w, iov, 4);
}

int snap_writer_open(struct snap_writer *w, const char *path, const struct snap_config *cfg)
{
	uint8_t hdr[SNAP_HDR_LEN];
	uint32_t version = SNAP_VERSION;
	struct iovec iov = { hdr, sizeof(hdr) };

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->path = strdup(path);
	if (!w->path || asprintf(&w->tmp, "%s.XXXXXX", path) < 0) {
		free(w->path);
		return -ENOMEM;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int ret = err_set(errno, "%s: %s", path, strerror(errno));

		free(w->tmp);
		free(w->path);
		return ret;
	}
	memcpy(hdr, SNAP_MAGIC, SNAP_MAGIC_LEN);
	memcpy(hdr + SNAP_MAGIC_LEN, &version, 4);
	write_all(w, &iov, 1);
	snap_put(w, SNAP_TAG_CONF, 0, cfg, offsetof(struct snap_config, devs), cfg->devs,
		 (size_t)cfg->nr_devs * SNAP_DEV_NAME_LEN);
	return w->err;
}

int snap_writer_close(struct snap_writer *w, bool commit)
{
	int ret;

	if (commit && !w->err) {
		snap_put(w, SNAP_TAG_END, 0, NULL, 0, NULL, 0);
		if (!w->err && fsync(w->fd))
			w->err = err_set(errno, "%s: %s", w->path, strerror(errno));
	}
	close(w->fd);
	if (commit && !w->err && rename(w->tmp, w->path))
		w->err = err_set(errno, "%s: %s", w->path, strerror(errno));
	ret = w->err;
	if (!commit || ret)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	return ret;
}

/* ---- Reading -------------------------------------------------------------------------------- */

static int parse_config(struct snap_reader *r, const struct snap_section *s)
{
	size_t fixed = offsetof(struct snap_config, devs);

	if (s->len < fixed)
		return err_set(EINVAL, "the configuration section is too short");
	memset(&r->cfg, 0, sizeof(r->cfg));
	memcpy(&r->cfg, s->data, fixed);
	if (r->cfg.nr_devs > SNAP_MAX_DEVS ||
	    s->len != fixed + (uint64_t)r->cfg.nr_devs * SNAP_DEV_NAME_LEN)
		return err_set(EINVAL, "the configuration section is malformed");
	memcpy(r->cfg.devs, s->data + fixed, (size_t)r->cfg.nr_devs * SNAP_DEV_NAME_LEN);
	for (unsigned int i = 0; i < r->cfg.nr_devs; i++)
		r->cfg.devs[i][SNAP_DEV_NAME_LEN - 1] = '\0';
	return 0;
}

static int parse(struct snap_reader *r, const uint8_t *buf, size_t size)
{
	uint32_t version;
	size_t off = SNAP_HDR_LEN;
	unsigned int cap = 0;
	bool end = false;
	char name[5];

	if (memcmp(buf, SNAP_MAGIC, size < SNAP_MAGIC_LEN ? size : SNAP_MAGIC_LEN))
		return err_set(EINVAL, "not a kvmini state file");
	if (size < SNAP_HDR_LEN)
		return err_set(EINVAL, "truncated: the file ends in its header");
	memcpy(&version, buf + SNAP_MAGIC_LEN, 4);
	if (version != SNAP_VERSION)
		return err_set(EINVAL, "state format version %u, this kvmini reads version %u",
			       version, SNAP_VERSION);
	while (!end) {
		struct snap_section s;
		uint32_t crc, want;

		if (size - off < SNAP_SEC_HDR_LEN)
			return err_set(EINVAL,
				       "truncated: the file ends at offset %zu, before its "
				       "END section",
				       size);
		memcpy(&s.tag, buf + off, 4);
		memcpy(&s.inst, buf + off + 4, 4);
		memcpy(&s.len, buf + off + 8, 8);
		if (s.len > size - off - SNAP_SEC_HDR_LEN ||
		    size - off - SNAP_SEC_HDR_LEN - s.len < 4)
			return err_set(EINVAL,
				       "truncated: section %s at offset %zu ends past the "
				       "end of the file",
				       snap_tag_name(s.tag, name), off);
		s.data = buf + off + SNAP_SEC_HDR_LEN;
		crc = (uint32_t)crc32_z(0, buf + off, SNAP_SEC_HDR_LEN + (size_t)s.len);
		memcpy(&want, s.data + s.len, 4);
		if (crc != want)
			return err_set(EINVAL, "bad checksum in section %s at offset %zu",
				       snap_tag_name(s.tag, name), off);
		if (!r->nr_secs && s.tag != SNAP_TAG_CONF)
			return err_set(EINVAL, "no configuration section");
		end = s.tag == SNAP_TAG_END;
		off += SNAP_SEC_HDR_LEN + (size_t)s.len + 4;
		if (r->nr_secs == cap) {
			struct snap_section *n;

			cap = cap ? cap * 2 : 64;
			n = realloc(r->secs, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			r->secs = n;
		}
		r->secs[r->nr_secs++] = s;
	}
	if (off != size)
		return err_set(EINVAL, "%zu bytes of garbage after the END section", size - off);
	return parse_config(r, &r->secs[0]);
}

int snap_reader_parse(struct snap_reader *r, const uint8_t *buf, size_t size)
{
	int ret;

	memset(r, 0, sizeof(*r));
	ret = parse(r, buf, size);
	if (ret) {
		free(r->secs);
		r->secs = NULL;
		r->nr_secs = 0;
	}
	return ret;
}

int snap_reader_open(struct snap_reader *r, const char *path)
{
	struct stat st;
	void *p;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(errno, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(EINVAL, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return err_set(EINVAL, "not a kvmini state file (empty)");
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_set(errno, "%s", strerror(errno));
	ret = snap_reader_parse(r, p, (size_t)st.st_size);
	if (ret) {
		munmap(p, (size_t)st.st_size);
		return ret;
	}
	r->map = p;
	r->size = (size_t)st.st_size;
	return 0;
}

void snap_reader_close(struct snap_reader *r)
{
	if (r->map)
		munmap((void *)r->map, r->size);
	free(r->secs);
	memset(r, 0, sizeof(*r));
}

const struct snap_section *snap_find(const struct snap_reader *r, uint32_t tag, uint32_t inst)
{
	for (unsigned int i = 0; i < r->nr_secs; i++) {
		if (r->secs[i].tag == tag && r->secs[i].inst == inst)
			return &r->secs[i];
	}
	return NULL;
}

int snap_get(const struct snap_reader *r, uint32_t tag, uint32_t inst, void *buf, size_t len)
{
	const struct snap_section *s = snap_find(r, tag, inst);
	char name[5];

	if (!s)
		return err_set(EINVAL, "section %s/%u is missing", snap_tag_name(tag, name), inst);
	if (s->len != len)
		return err_set(EINVAL, "section %s/%u has %llu bytes, expected %zu",
			       snap_tag_name(tag, name), inst, (unsigned long long)s->len, len);
	memcpy(buf, s->data, len);
	return 0;
}

int snap_config_check(const struct snap_config *saved, const struct snap_config *mine)
{
	if (saved->nr_vcpus != mine->nr_vcpus)
		return err_set(EINVAL, "the state is for %u vCPU%s, this VM has %u",
			       saved->nr_vcpus, saved->nr_vcpus == 1 ? "" : "s", mine->nr_vcpus);
	if (saved->ram_size != mine->ram_size)
		return err_set(EINVAL, "the state is for %llu MiB of RAM, this VM has %llu MiB",
			       (unsigned long long)(saved->ram_size >> 20),
			       (unsigned long long)(mine->ram_size >> 20));
	for (unsigned int i = 0; i < saved->nr_devs || i < mine->nr_devs; i++) {
		if (i >= mine->nr_devs)
			return err_set(EINVAL, "the state has device %s, this VM does not",
				       saved->devs[i]);
		if (i >= saved->nr_devs)
			return err_set(EINVAL, "this VM has device %s, the state does not",
				       mine->devs[i]);
		if (strcmp(saved->devs[i], mine->devs[i]))
			return err_set(EINVAL, "the state has device %s where this VM has %s",
				       saved->devs[i], mine->devs[i]);
	}
	return 0;
}
