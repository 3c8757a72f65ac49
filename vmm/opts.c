// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opts.h"
#include "util.h"

/* Copy one element of @s up to an unescaped ',' into a new string; ",," is a comma. */
static char *opts_take(const char **s, bool *more)
{
	const char *p = *s;
	size_t n = 0;
	char *out = malloc(strlen(p) + 1);

	if (!out)
		return NULL;
	while (*p) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	*more = *p == ',';
	*s = *more ? p + 1 : p;
	return out;
}

static bool opts_listed(const char *const *list, const char *key)
{
	for (; list && *list; list++) {
		if (!strcmp(*list, key))
			return true;
	}
	return false;
}

static int opts_parse_common(struct opts *o, const char *str, const char *implied_key, bool flags,
			     const char *const *multi)
{
	const char *p = str;
	bool more = true;

	memset(o, 0, sizeof(*o));
	if (!*str)
		return err_set(EINVAL, "empty value");
	while (more) {
		struct opt *it;
		char *elem, *eq;

		if (o->nr == OPTS_MAX) {
			opts_free(o);
			return err_set(EINVAL, "too many parameters (at most %d)", OPTS_MAX);
		}
		elem = opts_take(&p, &more);
		if (!elem) {
			opts_free(o);
			return -ENOMEM;
		}
		it = &o->items[o->nr++];
		eq = strchr(elem, '=');
		if (eq) {
			*eq = '\0';
			it->key = elem;
			it->value = strdup(eq + 1);
		} else if (o->nr == 1 && implied_key && elem[0]) {
			it->key = strdup(implied_key);
			it->value = elem;
		} else if (flags && (elem[0] == '+' || elem[0] == '-') && elem[1]) {
			it->key = strdup(elem + 1);
			it->value = strdup(elem[0] == '+' ? "on" : "off");
			free(elem);
		} else {
			int ret = elem[0] ? err_set(EINVAL, "parameter '%s' needs a value (%s=...)",
						    elem, elem)
					  : err_set(EINVAL, "empty parameter");

			o->nr--;
			free(elem);
			opts_free(o);
			return ret;
		}
		if (!it->key || !it->value) {
			opts_free(o);
			return -ENOMEM;
		}
		if (!it->key[0]) {
			opts_free(o);
			return err_set(EINVAL, "empty parameter name");
		}
		for (unsigned int i = 0; i + 1 < o->nr; i++) {
			if (!strcmp(o->items[i].key, it->key) && !opts_listed(multi, it->key)) {
				int ret = err_set(EINVAL, "parameter '%s' given twice", it->key);

				opts_free(o);
				return ret;
			}
		}
	}
	return 0;
}

int opts_parse(struct opts *o, const char *str, const char *implied_key)
{
	return opts_parse_common(o, str, implied_key, false, NULL);
}

int opts_parse_flags(struct opts *o, const char *str, const char *implied_key)
{
	return opts_parse_common(o, str, implied_key, true, NULL);
}

int opts_parse_multi(struct opts *o, const char *str, const char *implied_key,
		     const char *const *multi)
{
	return opts_parse_common(o, str, implied_key, false, multi);
}

void opts_free(struct opts *o)
{
	for (unsigned int i = 0; i < o->nr; i++) {
		free(o->items[i].key);
		free(o->items[i].value);
	}
	o->nr = 0;
}

/* The @n-th item with @key (from 0), or NULL. */
static struct opt *opts_find(struct opts *o, const char *key, unsigned int n)
{
	for (unsigned int i = 0; i < o->nr; i++) {
		if (o->items[i].key && !strcmp(o->items[i].key, key) && !n--)
			return &o->items[i];
	}
	return NULL;
}

const char *opts_get_nth(struct opts *o, const char *key, unsigned int n)
{
	struct opt *it = opts_find(o, key, n);

	if (!it)
		return NULL;
	it->used = true;
	return it->value;
}

const char *opts_get(struct opts *o, const char *key)
{
	return opts_get_nth(o, key, 0);
}

unsigned int opts_count(const struct opts *o, const char *key)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < o->nr; i++) {
		if (o->items[i].key && !strcmp(o->items[i].key, key))
			n++;
	}
	return n;
}

int opts_get_u64(struct opts *o, const char *key, uint64_t *out)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	if (parse_u64(v, out))
		return err_set(EINVAL, "%s=%s: not a number", key, v);
	return 0;
}

int opts_get_bool(struct opts *o, const char *key, bool *out)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return err_set(EINVAL, "%s=%s: expected on or off", key, v);
}

const char *opts_unused(const struct opts *o)
{
	for (unsigned int i = 0; i < o->nr; i++) {
		if (!o->items[i].used)
			return o->items[i].key;
	}
	return NULL;
}
