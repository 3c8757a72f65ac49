// SPDX-License-Identifier: MIT
/*
 * QMP sessions: the greeting, framing the input into objects, checking the
 * request's shape, replies with the request's id, and events.  The commands
 * themselves are in qmp_commands.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "qmp.h"

struct qmp_server {
	const struct qmp_vm_ops *ops;
	void *vm;
	struct qmp_session *sessions;
};

/* Where the splitter is in the object being collected. */
struct qmp_splitter {
	char *buf;
	size_t len, cap;
	unsigned int depth; /* open braces and brackets */
	bool in_string, escaped;
	bool bare; /* collecting a run outside any object */
};

struct qmp_session {
	struct qmp_server *srv;
	qmp_write_fn write;
	void *opaque;
	bool negotiated;
	struct qmp_splitter sp;
	struct qmp_session *next;
};

struct qmp_server *qmp_server_new(const struct qmp_vm_ops *ops, void *vm)
{
	struct qmp_server *s = calloc(1, sizeof(*s));

	if (s) {
		s->ops = ops;
		s->vm = vm;
	}
	return s;
}

void qmp_server_free(struct qmp_server *s)
{
	if (!s)
		return;
	while (s->sessions)
		qmp_session_free(s->sessions);
	free(s);
}

const struct qmp_vm_ops *qmp_server_ops(struct qmp_server *s, void **vm)
{
	*vm = s->vm;
	return s->ops;
}

/* One message on the wire: compact JSON, CRLF as QEMU ends them. */
static void send_json(struct qmp_session *ss, json_t *msg)
{
	char *text = json_dumps(msg, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	size_t len;

	if (!text)
		return;
	len = strlen(text);
	text = realloc(text, len + 3);
	if (text) {
		memcpy(text + len, "\r\n", 3);
		ss->write(ss->opaque, text, len + 2);
	}
	free(text);
}

struct qmp_session *qmp_session_new(struct qmp_server *s, qmp_write_fn write, void *opaque)
{
	struct qmp_session *ss = calloc(1, sizeof(*ss));
	json_t *greeting;

	if (!ss)
		return NULL;
	ss->srv = s;
	ss->write = write;
	ss->opaque = opaque;
	ss->next = s->sessions;
	s->sessions = ss;
	/* QEMU's shape, kvmini's numbers: tools that parse the version keep working. */
	greeting = json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[]}}", "QMP", "version", "qemu",
			     "micro", KVMINI_VERSION_MICRO, "minor", KVMINI_VERSION_MINOR, "major",
			     KVMINI_VERSION_MAJOR, "package", "kvmini " KVMINI_VERSION,
			     "capabilities");
	if (greeting)
		send_json(ss, greeting);
	json_decref(greeting);
	return ss;
}

void qmp_session_free(struct qmp_session *ss)
{
	if (!ss)
		return;
	for (struct qmp_session **p = &ss->srv->sessions; *p; p = &(*p)->next) {
		if (*p == ss) {
			*p = ss->next;
			break;
		}
	}
	free(ss->sp.buf);
	free(ss);
}

json_t *qmp_fail(struct qmp_error *err, enum qmp_error_class cls, const char *fmt, ...)
{
	va_list ap;

	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return NULL;
}

static void send_error(struct qmp_session *ss, json_t *id, const struct qmp_error *err)
{
	static const char *const names[] = {
		[QMP_ERR_GENERIC] = "GenericError",
		[QMP_ERR_COMMAND_NOT_FOUND] = "CommandNotFound",
	};
	json_t *msg =
		json_pack("{s:{s:s,s:s}}", "error", "class", names[err->cls], "desc", err->desc);

	if (!msg)
		return;
	if (id)
		json_object_set(msg, "id", id);
	send_json(ss, msg);
	json_decref(msg);
}

/* One request: { "execute": NAME [, "arguments": {...}] [, "id": ANY] }. */
static void handle_request(struct qmp_session *ss, json_t *req)
{
	struct qmp_error err = { 0 };
	json_t *id = NULL, *args = NULL, *result = NULL;
	const char *name = NULL, *key;
	bool negotiate = false;
	json_t *v;

	if (!json_is_object(req)) {
		qmp_fail(&err, QMP_ERR_GENERIC, "QMP input must be a JSON object");
		goto error;
	}
	id = json_object_get(req, "id");
	json_object_foreach(req, key, v)
	{
		if (!strcmp(key, "execute")) {
			if (!json_is_string(v)) {
				qmp_fail(&err, QMP_ERR_GENERIC,
					 "QMP input member 'execute' must be a string");
				goto error;
			}
			name = json_string_value(v);
		} else if (!strcmp(key, "arguments")) {
			if (!json_is_object(v)) {
				qmp_fail(&err, QMP_ERR_GENERIC,
					 "QMP input member 'arguments' must be an object");
				goto error;
			}
			args = v;
		} else if (strcmp(key, "id")) {
			qmp_fail(&err, QMP_ERR_GENERIC, "QMP input member '%s' is unexpected", key);
			goto error;
		}
	}
	if (!name) {
		qmp_fail(&err, QMP_ERR_GENERIC, "QMP input lacks member 'execute'");
		goto error;
	}
	result = qmp_dispatch(ss->srv, name, args, ss->negotiated, &negotiate, &err);
	if (!result)
		goto error;
	v = json_pack("{s:o}", "return", result);
	if (v) {
		if (id)
			json_object_set(v, "id", id);
		send_json(ss, v);
		json_decref(v);
	}
	if (negotiate)
		ss->negotiated = true;
	return;
error:
	send_error(ss, id, &err);
}

/* A complete chunk from the splitter: parse it and act on it. */
static void handle_chunk(struct qmp_session *ss, const char *buf, size_t len)
{
	struct qmp_error err = { .cls = QMP_ERR_GENERIC };
	json_error_t jerr;
	json_t *req = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);

	if (!req) {
		snprintf(err.desc, sizeof(err.desc), "JSON parse error, %s", jerr.text);
		send_error(ss, NULL, &err);
		return;
	}
	handle_request(ss, req);
	json_decref(req);
}

static int sp_push(struct qmp_splitter *sp, char c)
{
	if (sp->len == sp->cap) {
		size_t cap = sp->cap ? 2 * sp->cap : 256;
		char *p;

		if (sp->len >= QMP_MAX_INPUT)
			return -EMSGSIZE;
		p = realloc(sp->buf, cap);
		if (!p)
			return -ENOMEM;
		sp->buf = p;
		sp->cap = cap;
	}
	sp->buf[sp->len++] = c;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Feed one byte; true when it completes a chunk (in sp->buf, sp->len). */
static bool sp_feed(struct qmp_splitter *sp, char c, int *ret)
{
	bool open = c == '{' || c == '[';

	*ret = 0;
	if (!sp->depth && !sp->bare) {
		/* Between values: skip blanks, start an object or a bare run. */
		if (is_space(c))
			return false;
		if (!open) {
			sp->bare = true;
			*ret = sp_push(sp, c);
			return c == '}' || c == ']';
		}
	}
	if (sp->bare) {
		/* A bare run ends before a blank or a brace: both start over. */
		if (is_space(c) || open || c == '}' || c == ']')
			return true;
		*ret = sp_push(sp, c);
		return false;
	}
	*ret = sp_push(sp, c);
	if (sp->in_string) {
		/* A raw control character (a line end) cannot be in a string: malformed, resync here. */
		if ((unsigned char)c < 0x20)
			return true;
		if (sp->escaped)
			sp->escaped = false;
		else if (c == '\\')
			sp->escaped = true;
		else if (c == '"')
			sp->in_string = false;
		return false;
	}
	if (c == '"')
		sp->in_string = true;
	else if (open)
		sp->depth++;
	else if (c == '}' || c == ']')
		return --sp->depth == 0;
	return false;
}

static void sp_reset(struct qmp_splitter *sp)
{
	sp->len = 0;
	sp->depth = 0;
	sp->in_string = sp->escaped = sp->bare = false;
}

int qmp_session_input(struct qmp_session *ss, const void *data, size_t len)
{
	const char *p = data;
	struct qmp_splitter *sp = &ss->sp;
	size_t i = 0;

	while (i < len) {
		bool was_bare = sp->bare;
		int ret;

		if (!sp_feed(sp, p[i], &ret)) {
			if (ret) {
				struct qmp_error err = { QMP_ERR_GENERIC, "" };

				snprintf(err.desc, sizeof(err.desc),
					 "JSON parse error, input larger than %u bytes",
					 QMP_MAX_INPUT);
				send_error(ss, NULL, &err);
				sp_reset(sp);
				return -EMSGSIZE;
			}
			i++;
			continue;
		}
		handle_chunk(ss, sp->buf, sp->len);
		sp_reset(sp);
		/* The byte that ended a bare run was not taken: it starts what follows. */
		if (!was_bare || is_space(p[i]))
			i++;
	}
	return 0;
}

void qmp_event(struct qmp_server *s, const char *name, json_t *data)
{
	struct timeval tv;
	json_t *msg;

	gettimeofday(&tv, NULL);
	msg = json_pack("{s:s,s:{s:I,s:I}}", "event", name, "timestamp", "seconds",
			(json_int_t)tv.tv_sec, "microseconds", (json_int_t)tv.tv_usec);
	if (msg && data)
		json_object_set(msg, "data", data);
	for (struct qmp_session *ss = msg ? s->sessions : NULL; ss; ss = ss->next) {
		if (ss->negotiated)
			send_json(ss, msg);
	}
	json_decref(msg);
	json_decref(data);
}
