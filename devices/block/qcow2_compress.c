// SPDX-License-Identifier: MIT
/*
 * qcow2 compressed clusters: raw deflate with a 4 KiB window (zlib) or zstd
 * frames.  The L2 entry gives the host byte offset and a size in 512-byte
 * sectors (rounded up), so the data read may end in garbage: decompression
 * stops when a whole cluster has come out.  Written clusters are packed
 * into shared host clusters (each counts one reference per user).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "error.h"
#include "qcow2_int.h"

static unsigned int csize_shift(const struct qcow2 *q)
{
	return 62 - (q->cluster_bits - 8);
}

void qcow2_compressed_range(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
	uint64_t sectors = ((entry >> csize_shift(q)) & ((1ULL << (q->cluster_bits - 8)) - 1)) + 1;

	*off = entry & ((1ULL << csize_shift(q)) - 1);
	*len = sectors * 512 - (*off & 511);
}

static int inflate_zlib(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z = { .next_in = (uint8_t *)in, .avail_in = (uInt)in_len };
	int ret;

	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* Z_BUF_ERROR: the input (rounded up to sectors) had more than the cluster. */
	return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && !z.avail_out ? 0 : -EIO;
}

static int inflate_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	int ret = 0;

	if (!dctx)
		return -ENOMEM;
	while (ob.pos < ob.size) {
		size_t last_in = ib.pos, last_out = ob.pos;
		size_t r = ZSTD_decompressStream(dctx, &ob, &ib);

		if (ZSTD_isError(r) || (ib.pos == last_in && ob.pos == last_out)) {
			ret = -EIO;
			break;
		}
	}
	ZSTD_freeDCtx(dctx);
	return ret;
}

int qcow2_decompress_cluster(struct img *img, uint64_t entry, uint8_t *out)
{
	struct qcow2 *q = &img->q;
	uint64_t off, len;
	uint8_t *in;
	int ret;

	qcow2_compressed_range(q, entry, &off, &len);
	if (off >= q->file_end || off >= QCOW2_MAX_HOST_OFFSET)
		return qcow2_mark_corrupt(img, "compressed cluster beyond the end of the file");
	in = malloc(len);
	if (!in)
		return err_set(ENOMEM, "out of memory");
	ret = qcow2_pread(img, in, len, off);
	if (!ret) {
		if (q->compression == QCOW2_COMPRESSION_ZSTD)
			ret = inflate_zstd(in, len, out, q->cluster_size);
		else
			ret = inflate_zlib(in, len, out, q->cluster_size);
		if (ret)
			ret = err_set(-ret, "%scannot decompress the cluster at %#llx", img->who,
				      (unsigned long long)off);
	}
	free(in);
	return ret;
}

/* @out has room for @cap bytes; 0 when the data does not fit (store it uncompressed). */
static size_t compress_cluster(enum qcow2_compression type, const uint8_t *in, size_t len,
			       uint8_t *out, size_t cap)
{
	z_stream z = { .next_in = (uint8_t *)in, .avail_in = (uInt)len };
	size_t n;

	if (type == QCOW2_COMPRESSION_ZSTD) {
		n = ZSTD_compress(out, cap, in, len, ZSTD_CLEVEL_DEFAULT);
		return ZSTD_isError(n) ? 0 : n;
	}
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	n = deflate(&z, Z_FINISH) == Z_STREAM_END ? cap - z.avail_out : 0;
	deflateEnd(&z);
	return n;
}

/* @len bytes for compressed data: in the cluster packed last, or a new one. */
static int alloc_bytes(struct img *img, uint64_t len, uint64_t *off)
{
	struct qcow2 *q = &img->q;
	uint64_t cs = q->cluster_size;
	int ret;

	if (q->cfree && q->cfree % cs && q->cfree % cs + len <= cs) {
		ret = qcow2_rc_add(img, q->cfree / cs, 1);
		if (ret)
			return ret;
		*off = q->cfree;
	} else {
		ret = qcow2_alloc_clusters(img, 1, off);
		if (ret)
			return ret;
	}
	q->cfree = *off + len;
	return 0;
}

int qcow2_write_compressed(struct img *img, uint64_t offset, const void *buf, size_t len)
{
	struct qcow2 *q;
	uint64_t cs, entry, off, sectors;
	uint8_t *in = NULL, *out = NULL;
	size_t n;
	int ret;

	if (img->format != IMG_FORMAT_QCOW2)
		return err_set(ENOTSUP, "%sonly qcow2 images have compressed clusters", img->who);
	q = &img->q;
	cs = q->cluster_size;
	if (!img->rw)
		return err_set(EROFS, "%sthe image is open read-only", img->who);
	if (offset % cs || offset >= img->size || len > cs ||
	    (len < cs && offset + len != img->size))
		return err_set(EINVAL, "%sa compressed write is one whole cluster", img->who);
	ret = qcow2_l2_entry(img, offset / cs, &entry);
	if (ret)
		return ret;
	if (entry)
		return err_set(EEXIST, "%sthe cluster at %llu is allocated already", img->who,
			       (unsigned long long)offset);
	in = calloc(1, cs);
	out = malloc(cs);
	if (!in || !out) {
		ret = err_set(ENOMEM, "out of memory");
		goto out;
	}
	memcpy(in, buf, len);
	n = compress_cluster(q->compression, in, cs, out, cs - 1);
	if (!n) {
		ret = qcow2_write(img, offset, in,
				  cs < img->size - offset ? cs : img->size - offset);
		goto out;
	}
	ret = alloc_bytes(img, n, &off);
	if (!ret)
		ret = qcow2_pwrite(img, out, n, off);
	if (ret)
		goto out;
	sectors = ((off + n - 1) >> 9) - (off >> 9);
	ret = qcow2_set_l2_entry(img, offset / cs,
				 QCOW_OFLAG_COMPRESSED | sectors << csize_shift(q) | off);
out:
	free(in);
	free(out);
	return ret;
}
