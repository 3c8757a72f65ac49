// SPDX-License-Identifier: MIT
/*
 * libFuzzer over QMP's input path (vmm/qmp.c, vmm/qmp_commands.c) and the
 * human monitor's (vmm/monitor.c), against the fake VM of the unit tests.
 * The first byte picks how the rest is cut into reads (1 to 256 bytes), so
 * objects split at every place get tried; the same bytes then go to a
 * monitor session.  Every message the server writes must be one JSON object
 * followed by CRLF; a session is never answered by anything else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/qmp_fake.h"

struct sink {
	char *buf;
	size_t len;
};

static void capture(void *opaque, const char *buf, size_t len)
{
	struct sink *s = opaque;

	s->buf = realloc(s->buf, s->len + len + 1);
	if (!s->buf)
		abort();
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = 0;
}

/* Every message: a JSON object, then CRLF, nothing else in between. */
static void check_messages(const struct sink *s)
{
	size_t off = 0;

	while (off < s->len) {
		const char *end = memmem(s->buf + off, s->len - off, "\r\n", 2);
		json_t *j;

		if (!end)
			abort();
		j = json_loadb(s->buf + off, (size_t)(end - (s->buf + off)), 0, NULL);
		if (!j || !json_is_object(j) ||
		    (!json_object_get(j, "QMP") && !json_object_get(j, "return") &&
		     !json_object_get(j, "error") && !json_object_get(j, "event")))
			abort();
		json_decref(j);
		off = (size_t)(end + 2 - s->buf);
	}
}

static void discard(void *opaque, const char *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_vm vm = { 0 };
	struct sink out = { 0 };
	struct qmp_server *srv;
	struct qmp_session *ss;
	struct monitor *mon;
	size_t chunk;
	int ret = 0;

	if (!size)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	srv = qmp_server_new(&fake_ops, &vm);
	ss = qmp_session_new(srv, capture, &out);
	for (size_t off = 0; off < size && !ret; off += chunk)
		ret = qmp_session_input(ss, data + off, size - off < chunk ? size - off : chunk);
	check_messages(&out);
	mon = monitor_new(srv, discard, NULL, true);
	monitor_input(mon, data, size);
	monitor_free(mon);
	qmp_server_free(srv);
	free(out.buf);
	return 0;
}
