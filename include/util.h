/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every part of kvmini. */
#ifndef KVMINI_UTIL_H
#define KVMINI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB	      (1024ULL)
#define MIB	      (1024ULL * KIB)
#define GIB	      (1024ULL * MIB)
#define TIB	      (1024ULL * GIB)

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * Parse a size in QEMU's notation: a number with an optional B/K/M/G/T
 * suffix (either case).  A bare number is taken in units of @default_unit.
 * Returns 0 or -EINVAL (syntax) / -ERANGE (overflow).
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parse an unsigned integer (decimal, or hex with 0x).  0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *out);

/* The byte that makes @len bytes at @p sum to zero (ACPI and MP table checksums). */
uint8_t checksum8(const void *p, size_t len);

/* Little-endian fields of @len (1..8) bytes in guest-visible structures (config spaces). */
static inline void put_le(uint8_t *p, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* write() all of @buf, retrying on EINTR and short writes.  0 or -errno. */
int write_full(int fd, const void *buf, size_t len);

#endif
