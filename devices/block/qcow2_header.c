// SPDX-License-Identifier: MIT
/*
 * The qcow2 header: reading and checking it (every offset and size against
 * the file, before anything is allocated from it), its extensions (backing
 * format, feature names; the others kept as found), and writing it back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "qcow2_int.h"

static const char *const incompat_names[] = {
	"dirty bit", "corrupt bit", "external data file", "compression type", "extended L2 entries",
};

/* The name the image's feature table gives bit @bit of @type, else ours. */
static void feature_name(const uint8_t *ext, uint32_t len, unsigned int type, unsigned int bit,
			 char *name, size_t size)
{
	for (uint32_t i = 0; ext && i + 48 <= len; i += 48) {
		if (ext[i] == type && ext[i + 1] == bit) {
			snprintf(name, size, "%.46s", (const char *)ext + i + 2);
			return;
		}
	}
	if (type == 0 && bit < ARRAY_SIZE(incompat_names))
		snprintf(name, size, "%s", incompat_names[bit]);
	else
		snprintf(name, size, "unknown feature");
}

static int unsupported(struct img *img, const uint8_t *ftab, uint32_t ftab_len)
{
	uint64_t bad = img->q.incompat & ~INCOMPAT_KNOWN;
	unsigned int bit = __builtin_ctzll(bad);
	char name[64];

	feature_name(ftab, ftab_len, 0, bit, name, sizeof(name));
	return err_set(ENOTSUP, "%sunsupported qcow2 feature: '%s' (incompatible bit %u)", img->who,
		       name, bit);
}

/* Extensions, from @off to the end marker: what we read, the rest kept as found. */
static int parse_extensions(struct img *img, const uint8_t *h, uint64_t off, uint64_t end,
			    const uint8_t **ftab, uint32_t *ftab_len)
{
	struct qcow2 *q = &img->q;

	while (off + 8 <= end) {
		uint32_t type = be32(h + off), len = be32(h + off + 4);
		uint64_t padded = ((uint64_t)len + 7) & ~7ULL;

		if (type == EXT_END)
			return 0;
		if (padded > end - off - 8)
			return err_set(EINVAL,
				       "%sqcow2 header extension %#x overflows the header "
				       "(length %u)",
				       img->who, type, len);
		if (type == EXT_BACKING_FMT) {
			img->backing_format = strndup((const char *)h + off + 8, len);
			if (!img->backing_format)
				return -ENOMEM;
		} else if (type == EXT_FEATURES) {
			*ftab = h + off + 8;
			*ftab_len = len;
			q->has_features_ext = true;
		} else {
			uint8_t *p = realloc(q->other_ext, q->other_ext_len + 8 + padded);

			if (!p)
				return -ENOMEM;
			memcpy(p + q->other_ext_len, h + off, 8 + padded);
			q->other_ext = p;
			q->other_ext_len += 8 + padded;
		}
		off += 8 + padded;
	}
	/* No end marker before the header's end: QEMU stops there too. */
	return 0;
}

static int bad(struct img *img, const char *what)
{
	return err_set(EINVAL, "%sinvalid qcow2 image: %s", img->who, what);
}

static uint64_t file_size(struct img *img)
{
	struct stat st;

	return fstat(img->fd, &st) ? 0 : (uint64_t)st.st_size;
}

/* A table of @bytes at @off: aligned and inside the file. */
static int check_table(struct img *img, uint64_t off, uint64_t bytes, uint64_t max,
		       const char *what)
{
	char msg[96];

	if (bytes > max)
		snprintf(msg, sizeof(msg), "%s too large", what);
	else if (off & (img->q.cluster_size - 1))
		snprintf(msg, sizeof(msg), "%s offset not cluster-aligned", what);
	else if (off >= QCOW2_MAX_HOST_OFFSET || off + bytes > file_size(img))
		snprintf(msg, sizeof(msg), "%s beyond the end of the file", what);
	else if (bytes && off == 0)
		snprintf(msg, sizeof(msg), "%s overlaps the header", what);
	else
		return 0;
	return bad(img, msg);
}

static int load_table(struct img *img, uint64_t off, uint64_t entries, uint64_t **out)
{
	uint64_t *t = calloc(entries ? entries : 1, 8);
	int ret;

	if (!t)
		return err_set(ENOMEM, "out of memory");
	ret = qcow2_pread(img, t, entries * 8, off);
	if (ret) {
		free(t);
		return ret;
	}
	for (uint64_t i = 0; i < entries; i++)
		t[i] = be64((uint8_t *)&t[i]);
	*out = t;
	return 0;
}

int qcow2_parse_header(struct img *img, const struct img_open_opts *opts)
{
	struct qcow2 *q = &img->q;
	uint8_t fixed[QCOW2_V3_HEADER_LEN + 1] = { 0 };
	const uint8_t *ftab = NULL;
	uint32_t ftab_len = 0, bf_size;
	uint64_t bf_off, ext_end, l2_entries, need_l1;
	uint8_t *h;
	int ret;

	ret = qcow2_pread(img, fixed, sizeof(fixed), 0);
	if (ret)
		return ret;
	if (be32(fixed) != QCOW2_MAGIC)
		return err_set(EINVAL, "%snot a qcow2 image (bad magic)", img->who);
	q->version = be32(fixed + 4);
	if (q->version != 2 && q->version != 3)
		return err_set(ENOTSUP, "%sunsupported qcow2 version %u", img->who, q->version);
	q->cluster_bits = be32(fixed + 20);
	if (q->cluster_bits < 9 || q->cluster_bits > 21)
		return bad(img, "cluster size out of range (512 bytes .. 2 MiB)");
	q->cluster_size = 1ULL << q->cluster_bits;
	q->refcount_order = 4;
	q->header_len = QCOW2_V2_HEADER_LEN;
	if (q->version == 3) {
		q->incompat = be64(fixed + 72);
		q->compat = be64(fixed + 80);
		q->autoclear = be64(fixed + 88);
		q->refcount_order = be32(fixed + 96);
		q->header_len = be32(fixed + 100);
		if (q->header_len < QCOW2_V3_HEADER_LEN)
			return bad(img, "header_length too small");
		if (q->header_len > q->cluster_size)
			return bad(img, "header_length larger than a cluster");
		if (q->refcount_order > 6)
			return bad(img, "refcount_order above 6");
		if (q->header_len > QCOW2_V3_HEADER_LEN)
			q->compression = fixed[104];
	}
	h = malloc(q->cluster_size);
	if (!h)
		return err_set(ENOMEM, "out of memory");
	ret = qcow2_pread(img, h, q->cluster_size, 0);
	if (ret)
		goto out;
	if (q->header_len > QCOW2_V3_HEADER_LEN) {
		/* Fields after compression_type we do not know: written back as they are. */
		q->hdr_extra = malloc(q->header_len - QCOW2_V3_HEADER_LEN);
		if (!q->hdr_extra) {
			ret = err_set(ENOMEM, "out of memory");
			goto out;
		}
		memcpy(q->hdr_extra, h + QCOW2_V3_HEADER_LEN, q->header_len - QCOW2_V3_HEADER_LEN);
	}
	bf_off = be64(h + 8);
	bf_size = be32(h + 16);
	ext_end = bf_off && bf_off < q->cluster_size ? bf_off : q->cluster_size;
	ret = parse_extensions(img, h, q->header_len, ext_end, &ftab, &ftab_len);
	if (ret)
		goto out;
	if (q->incompat & ~INCOMPAT_KNOWN) {
		ret = unsupported(img, ftab, ftab_len);
		goto out;
	}
	ret = -EINVAL;
	if ((q->incompat & INCOMPAT_COMPRESSION) ? q->compression > QCOW2_COMPRESSION_ZSTD
						 : q->compression != 0) {
		err_set(ENOTSUP, "%sunsupported qcow2 compression type %u", img->who,
			q->compression);
		goto out;
	}
	if (be32(h + 32)) {
		err_set(ENOTSUP, "%sencrypted qcow2 images are not supported", img->who);
		goto out;
	}
	if (bf_off) {
		if (bf_size > QCOW2_MAX_BACKING_NAME || bf_off > q->cluster_size ||
		    bf_size > q->cluster_size - bf_off) {
			ret = bad(img, "backing file name outside the first cluster");
			goto out;
		}
		img->backing_file = strndup((const char *)h + bf_off, bf_size);
		if (!img->backing_file) {
			ret = -ENOMEM;
			goto out;
		}
	}
	img->size = be64(h + 24);
	q->l1_size = be32(h + 36);
	q->l1_offset = be64(h + 40);
	q->rt_offset = be64(h + 48);
	q->rt_clusters = be32(h + 56);
	q->nb_snapshots = be32(h + 60);
	q->snapshots_offset = be64(h + 64);
	l2_entries = q_l2_entries(q);
	if (img->size > QCOW2_MAX_HOST_OFFSET) {
		ret = bad(img, "virtual size too large");
		goto out;
	}
	need_l1 =
		(img->size + (l2_entries << q->cluster_bits) - 1) / (l2_entries << q->cluster_bits);
	if (q->l1_size < need_l1) {
		ret = bad(img, "L1 table too small for the virtual size");
		goto out;
	}
	ret = check_table(img, q->l1_offset, (uint64_t)q->l1_size * 8, QCOW2_MAX_L1_BYTES,
			  "L1 table");
	if (!ret)
		ret = check_table(img, q->rt_offset, (uint64_t)q->rt_clusters << q->cluster_bits,
				  QCOW2_MAX_RT_BYTES, "refcount table");
	if (!ret && !q->rt_clusters)
		ret = bad(img, "no refcount table");
	if (!ret && q->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		ret = bad(img, "too many snapshots");
	if (!ret && q->nb_snapshots)
		ret = check_table(img, q->snapshots_offset, 40, UINT64_MAX, "snapshot table");
	if (ret)
		goto out;
	q->rt_entries = ((uint64_t)q->rt_clusters << q->cluster_bits) / 8;
	q->file_alloc = file_size(img);
	q->file_end = (q->file_alloc + q->cluster_size - 1) & ~(q->cluster_size - 1);
	ret = load_table(img, q->l1_offset, q->l1_size, &q->l1);
	if (!ret)
		ret = load_table(img, q->rt_offset, q->rt_entries, &q->rt);
	if (!ret)
		ret = qcow2_snapshots_load(img);
	if (!ret && (q->incompat & INCOMPAT_CORRUPT) && img->rw && !opts->check)
		ret = err_set(EROFS, "%simage is marked corrupt: run kvmini-img check -r all",
			      img->who);
out:
	free(h);
	return ret;
}

/* The fixed header, our extensions and the kept ones, the backing name: the first cluster. */
int qcow2_write_header(struct img *img)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size, off;
	size_t bf_len = img->backing_file ? strlen(img->backing_file) : 0;
	uint8_t *h = calloc(1, cs);
	int ret;

	if (!h)
		return err_set(ENOMEM, "out of memory");
	put_be32(h, QCOW2_MAGIC);
	put_be32(h + 4, q->version);
	put_be32(h + 16, (uint32_t)bf_len);
	put_be32(h + 20, q->cluster_bits);
	put_be64(h + 24, img->size);
	put_be32(h + 36, q->l1_size);
	put_be64(h + 40, q->l1_offset);
	put_be64(h + 48, q->rt_offset);
	put_be32(h + 56, q->rt_clusters);
	put_be32(h + 60, q->nb_snapshots);
	put_be64(h + 64, q->snapshots_offset);
	off = QCOW2_V2_HEADER_LEN;
	if (q->version == 3) {
		put_be64(h + 72, q->incompat);
		put_be64(h + 80, q->compat);
		put_be64(h + 88, q->autoclear);
		put_be32(h + 96, q->refcount_order);
		put_be32(h + 100, q->header_len);
		if (q->hdr_extra)
			memcpy(h + QCOW2_V3_HEADER_LEN, q->hdr_extra,
			       q->header_len - QCOW2_V3_HEADER_LEN);
		if (q->header_len > QCOW2_V3_HEADER_LEN)
			h[104] = (uint8_t)q->compression;
		off = (q->header_len + 7) & ~7U;
	}
	ret = -ENOSPC;
	if (img->backing_format) {
		size_t n = strlen(img->backing_format);

		if (off + 16 + n + bf_len > cs)
			goto too_big;
		put_be32(h + off, EXT_BACKING_FMT);
		put_be32(h + off + 4, (uint32_t)n);
		memcpy(h + off + 8, img->backing_format, n);
		off += 8 + ((n + 7) & ~7ULL);
	}
	if (q->version == 3) {
		static const struct {
			uint8_t type, bit;
			const char *name;
		} feats[] = {
			{ 0, 0, "dirty bit" },
			{ 0, 1, "corrupt bit" },
			{ 0, 2, "external data file" },
			{ 0, 3, "compression type" },
			{ 0, 4, "extended L2 entries" },
			{ 1, 0, "lazy refcounts" },
			{ 2, 0, "bitmaps" },
			{ 2, 1, "raw external data" },
		};

		if (off + 8 + ARRAY_SIZE(feats) * 48 + 8 + bf_len > cs)
			goto too_big;
		put_be32(h + off, EXT_FEATURES);
		put_be32(h + off + 4, ARRAY_SIZE(feats) * 48);
		off += 8;
		for (size_t i = 0; i < ARRAY_SIZE(feats); i++, off += 48) {
			h[off] = feats[i].type;
			h[off + 1] = feats[i].bit;
			strncpy((char *)h + off + 2, feats[i].name, 46);
		}
	}
	if (off + q->other_ext_len + 8 + bf_len > cs)
		goto too_big;
	if (q->other_ext_len)
		memcpy(h + off, q->other_ext, q->other_ext_len);
	off += q->other_ext_len + 8; /* the end marker: zeros */
	if (bf_len) {
		put_be64(h + 8, off);
		memcpy(h + off, img->backing_file, bf_len);
	}
	ret = qcow2_stage(img, STAGE_L1);
	if (!ret)
		ret = qcow2_pwrite(img, h, off + bf_len, 0);
	free(h);
	return ret;
too_big:
	free(h);
	return err_set(ENOSPC, "%sthe qcow2 header does not fit in a cluster", img->who);
}

int qcow2_mark_corrupt(struct img *img, const char *what)
{
	if (img->rw && !(img->q.incompat & INCOMPAT_CORRUPT)) {
		img->q.incompat |= INCOMPAT_CORRUPT;
		if (img->q.version == 3 && !qcow2_write_header(img))
			qcow2_sync(img);
		pr_err("%s: %s: image marked corrupt", img->path, what);
	}
	return err_set(EIO, "%scorrupt qcow2 image: %s", img->who, what);
}

int qcow2_set_backing(struct img *img, const char *backing_file, const char *backing_format)
{
	char *bf = NULL, *fmt = NULL;
	int ret;

	if (img->format != IMG_FORMAT_QCOW2)
		return err_set(ENOTSUP, "%sonly qcow2 images have a backing file", img->who);
	if (!img->rw)
		return err_set(EROFS, "%sthe image is open read-only", img->who);
	if (backing_file && strlen(backing_file) > QCOW2_MAX_BACKING_NAME)
		return err_set(ENAMETOOLONG, "backing file name longer than %d bytes",
			       QCOW2_MAX_BACKING_NAME);
	if ((backing_file && !(bf = strdup(backing_file))) ||
	    (backing_file && backing_format && !(fmt = strdup(backing_format)))) {
		free(bf);
		return err_set(ENOMEM, "out of memory");
	}
	ret = qcow2_meta_flush(img);
	if (ret) {
		free(bf);
		free(fmt);
		return ret;
	}
	free(img->backing_file);
	free(img->backing_format);
	img->backing_file = bf;
	img->backing_format = fmt;
	ret = qcow2_write_header(img);
	return ret ? ret : qcow2_sync(img);
}
