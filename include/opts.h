/* SPDX-License-Identifier: MIT */
/*
 * QEMU-style option values: "value,key=value,key=value".  The first element
 * may omit its key (the "implied" key, e.g. the driver name of -device).  A
 * literal comma inside a value is written ",,".
 */
#ifndef KVMINI_OPTS_H
#define KVMINI_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#define OPTS_MAX 32

struct opt {
	char *key;
	char *value;
	bool used;
};

struct opts {
	struct opt items[OPTS_MAX];
	unsigned int nr;
};

/*
 * Parse @str.  @implied_key names the key of a leading element without '='
 * (NULL: every element needs a key).  0 or -EINVAL/-ENOMEM with err_set().
 */
int opts_parse(struct opts *o, const char *str, const char *implied_key);
/* Like opts_parse(), and "+name"/"-name" mean name=on/name=off (for -cpu). */
int opts_parse_flags(struct opts *o, const char *str, const char *implied_key);
/*
 * Like opts_parse(), and the keys in @multi (NULL-terminated) may be given
 * several times (QEMU's -netdev user,hostfwd=...,hostfwd=...): read them
 * with opts_count() and opts_get_nth().  Any other key given twice is
 * refused as opts_parse() does.
 */
int opts_parse_multi(struct opts *o, const char *str, const char *implied_key,
		     const char *const *multi);
void opts_free(struct opts *o);

/* Value of @key (marks it used), or NULL.  A repeated key: its first value. */
const char *opts_get(struct opts *o, const char *key);
/* How many times @key was given (marks nothing). */
unsigned int opts_count(const struct opts *o, const char *key);
/* Value of the @n-th @key, from 0 in the order given (marks that one used), or NULL. */
const char *opts_get_nth(struct opts *o, const char *key, unsigned int n);
/* Typed getters: 0 when absent (out untouched), -EINVAL with err_set(). */
int opts_get_u64(struct opts *o, const char *key, uint64_t *out);
int opts_get_bool(struct opts *o, const char *key, bool *out);
/* The first key nobody asked for, or NULL: callers reject it. */
const char *opts_unused(const struct opts *o);

#endif
