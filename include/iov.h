/* SPDX-License-Identifier: MIT */
/* Scatter-gather lists (struct iovec): copies and slices. */
#ifndef KVMINI_IOV_H
#define KVMINI_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* The bytes in @iov. */
size_t iov_size(const struct iovec *iov, unsigned int n);

/* Copy up to @len bytes out of / into @iov starting @skip bytes in; returns the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len);
/*
 * The bytes [skip, skip + len) of @iov as a new list in @dst (room for @max
 * entries).  Returns the number of entries, or -1 when @iov is too short or
 * @dst too small.
 */
int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len, struct iovec *dst,
	      unsigned int max);

#endif
