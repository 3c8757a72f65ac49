// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "iov.h"

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t len = 0;

	for (unsigned int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/* Copy between @buf and the bytes of @iov from @skip on, in the direction @to_iov says. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t skip, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;
		uint8_t *p;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		p = (uint8_t *)iov[i].iov_base + skip;
		c = l - skip < len - done ? l - skip : len - done;
		if (to_iov)
			memcpy(p, buf + done, c);
		else
			memcpy(buf + done, p, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t skip, const void *buf,
		    size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}

int iov_slice(const struct iovec *iov, unsigned int n, size_t skip, size_t len, struct iovec *dst,
	      unsigned int max)
{
	unsigned int out = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		if (out == max)
			return -1;
		c = l - skip < len ? l - skip : len;
		dst[out].iov_base = (uint8_t *)iov[i].iov_base + skip;
		dst[out].iov_len = c;
		out++;
		len -= c;
		skip = 0;
	}
	return len ? -1 : (int)out;
}
