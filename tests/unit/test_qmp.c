// SPDX-License-Identifier: MIT
/*
 * Unit tests for QMP (vmm/qmp.c, vmm/qmp_commands.c) and the human monitor
 * (vmm/monitor.c) against a fake VM: the greeting, capabilities
 * negotiation, framing, argument checking, error classes, id echo, events
 * and the HMP commands.  No sockets, no /dev/kvm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "qmp_fake.h"

/* ---- A client: what the server wrote, one JSON message a line --------------------------------- */

struct client {
	char buf[1 << 16];
	size_t len;
	size_t read_off; /* next_msg() position */
};

static void capture(void *opaque, const char *buf, size_t len)
{
	struct client *c = opaque;

	assert_true(c->len + len < sizeof(c->buf));
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	c->buf[c->len] = 0;
}

/* The next message the server sent (NULL: none left).  Every one must be an object + CRLF. */
static json_t *next_msg(struct client *c)
{
	char *end;
	json_t *j;

	if (c->read_off >= c->len)
		return NULL;
	end = strstr(c->buf + c->read_off, "\r\n");
	assert_non_null(end);
	j = json_loadb(c->buf + c->read_off, (size_t)(end - (c->buf + c->read_off)), 0, NULL);
	assert_non_null(j);
	assert_true(json_is_object(j));
	c->read_off = (size_t)(end + 2 - c->buf);
	return j;
}

struct ctx {
	struct fake_vm vm;
	struct qmp_server *srv;
	struct qmp_session *ss;
	struct client cl;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	json_t *greeting;

	c->srv = qmp_server_new(&fake_ops, &c->vm);
	c->ss = qmp_session_new(c->srv, capture, &c->cl);
	greeting = next_msg(&c->cl);
	json_decref(greeting);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	qmp_server_free(c->srv);
	free(c);
	return 0;
}

static void feed(struct ctx *c, const char *text)
{
	assert_int_equal(qmp_session_input(c->ss, text, strlen(text)), 0);
}

/* Send @text, expect exactly one reply; returned for more checks (decref it). */
static json_t *one_reply(struct ctx *c, const char *text)
{
	json_t *r;

	feed(c, text);
	r = next_msg(&c->cl);
	assert_non_null(r);
	assert_null(next_msg(&c->cl));
	return r;
}

static void negotiate(struct ctx *c)
{
	json_t *r = one_reply(c, "{\"execute\": \"qmp_capabilities\"}");

	assert_true(json_is_object(json_object_get(r, "return")));
	assert_int_equal(json_object_size(json_object_get(r, "return")), 0);
	json_decref(r);
}

static void expect_error(json_t *r, const char *cls, const char *desc)
{
	json_t *e = json_object_get(r, "error");

	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "class")), cls);
	if (desc)
		assert_string_equal(json_string_value(json_object_get(e, "desc")), desc);
	assert_null(json_object_get(r, "return"));
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_greeting(void **state)
{
	struct client cl = { 0 };
	struct qmp_server *srv = qmp_server_new(&fake_ops, NULL);
	struct qmp_session *ss = qmp_session_new(srv, capture, &cl);
	json_t *g = next_msg(&cl), *v;

	(void)state;
	assert_non_null(ss);
	v = json_object_get(json_object_get(g, "QMP"), "version");
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "major")));
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "minor")));
	assert_true(json_is_integer(json_object_get(json_object_get(v, "qemu"), "micro")));
	assert_string_equal(json_string_value(json_object_get(v, "package")), "kvmini 0.1.0");
	assert_true(json_is_array(json_object_get(json_object_get(g, "QMP"), "capabilities")));
	json_decref(g);
	qmp_server_free(srv);
}

static void test_negotiation(void **state)
{
	struct ctx *c = *state;
	json_t *r;

	r = one_reply(c, "{\"execute\": \"query-status\", \"id\": 42}");
	expect_error(r, "CommandNotFound",
		     "Expecting capabilities negotiation with 'qmp_capabilities'");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 42);
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": 1}}");
	expect_error(r, "GenericError", "Invalid parameter type for 'enable', expected: array");
	json_decref(r);
	/* A capability that is not offered: refused, still negotiating. */
	r = one_reply(
		c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	expect_error(r, "GenericError", "Capability 'oob' not available");
	json_decref(r);
	negotiate(c);
	r = one_reply(c, "{\"execute\": \"qmp_capabilities\"}");
	expect_error(r, "CommandNotFound", NULL);
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"query-status\"}");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "return"), "status")),
		"running");
	json_decref(r);
}

/* Every command query-commands lists can run (the table and the list agree). */
static void test_command_table(void **state)
{
	struct ctx *c = *state;
	json_t *r, *list, *v;
	size_t i, n = 0;

	negotiate(c);
	r = one_reply(c, "{\"execute\": \"query-commands\"}");
	list = json_object_get(r, "return");
	json_array_foreach(list, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		char req[256];
		json_t *rr;

		/* migrate needs a VM that can be saved: test_snapshot.sh; test_migrate_incoming. */
		if (!strcmp(name, "qmp_capabilities") || !strcmp(name, "quit") ||
		    !strcmp(name, "system_reset") || !strcmp(name, "migrate") ||
		    !strcmp(name, "migrate-incoming"))
			continue;
		snprintf(req, sizeof(req), "{\"execute\": \"%s\"%s}", name,
			 strcmp(name, "human-monitor-command")
				 ? ""
				 : ", \"arguments\": {\"command-line\": \"info name\"}");
		feed(c, req);
		/* stop and cont send an event before their reply. */
		while ((rr = next_msg(&c->cl)) && json_object_get(rr, "event"))
			json_decref(rr);
		assert_non_null(rr);
		assert_non_null(json_object_get(rr, "return"));
		json_decref(rr);
		n++;
	}
	assert_true(n >= 12);
	json_decref(r);
}

static void test_arguments(void **state)
{
	struct ctx *c = *state;
	json_t *r;

	negotiate(c);
	r = one_reply(c, "{\"execute\": \"human-monitor-command\", \"arguments\": "
			 "{\"command-line\": 5}}");
	expect_error(r, "GenericError",
		     "Invalid parameter type for 'command-line', expected: string");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"human-monitor-command\", \"arguments\": "
			 "{\"command-line\": \"info name\", \"cpu-index\": 0}}");
	expect_error(r, "GenericError", "Parameter 'cpu-index' is unexpected");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"human-monitor-command\"}");
	expect_error(r, "GenericError", "Parameter 'command-line' is missing");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"stop\", \"arguments\": {\"now\": true}}");
	expect_error(r, "GenericError", "Parameter 'now' is unexpected");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"stop\", \"arguments\": [1]}");
	expect_error(r, "GenericError", "QMP input member 'arguments' must be an object");
	json_decref(r);
	r = one_reply(c, "{\"execute\": 3}");
	expect_error(r, "GenericError", "QMP input member 'execute' must be a string");
	json_decref(r);
	r = one_reply(c, "{\"id\": 1}");
	expect_error(r, "GenericError", "QMP input lacks member 'execute'");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"stop\", \"extra\": 1}");
	expect_error(r, "GenericError", "QMP input member 'extra' is unexpected");
	json_decref(r);
	assert_int_equal(c->vm.stops, 0);
	r = one_reply(c, "{\"execute\": \"human-monitor-command\", \"arguments\": "
			 "{\"command-line\": \"info name\"}}");
	assert_string_equal(json_string_value(json_object_get(r, "return")), "fake\n");
	json_decref(r);
}

/* Objects split anywhere, several in one read, blanks between. */
static void test_framing(void **state)
{
	static const char text[] = " {\"execute\":\n\"qmp_capabilities\", \"id\": \"a{\\\"}\"}\r\n"
				   "{\"execute\": \"query-kvm\", \"id\": [1, {\"b\": \"]\"}]}"
				   "{\"execute\": \"query-name\"}\n";
	struct ctx *c = *state;
	json_t *r;

	for (size_t i = 0; i < sizeof(text) - 1; i++)
		assert_int_equal(qmp_session_input(c->ss, text + i, 1), 0);
	r = next_msg(&c->cl);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "a{\"}");
	json_decref(r);
	r = next_msg(&c->cl);
	assert_true(json_is_true(json_object_get(json_object_get(r, "return"), "enabled")));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r, "id"), 1), "b")),
			    "]");
	json_decref(r);
	r = next_msg(&c->cl);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "return"), "name")), "fake");
	json_decref(r);
	assert_null(next_msg(&c->cl));
}

/* Garbage: one error each, and the session goes on. */
static void test_garbage(void **state)
{
	struct ctx *c = *state;
	const char *descs[8];
	unsigned int n = 0;
	json_t *r, *msgs[8];

	negotiate(c);
	feed(c, "hello } {\"execute\": \"query-kvm\" bad} [1, 2] \"str\" {\"execute\": \"stop\"}");
	while (n < 8 && (r = next_msg(&c->cl))) {
		msgs[n] = r;
		descs[n] = json_object_get(r, "error")
				   ? json_string_value(
					     json_object_get(json_object_get(r, "error"), "desc"))
				   : NULL;
		n++;
	}
	/* hello, }, the bad object, the array, the string, STOP, stop's reply. */
	assert_int_equal(n, 7);
	assert_true(!strncmp(descs[0], "JSON parse error", 16));
	assert_true(!strncmp(descs[1], "JSON parse error", 16));
	assert_true(!strncmp(descs[2], "JSON parse error", 16));
	assert_string_equal(descs[3], "QMP input must be a JSON object");
	assert_string_equal(descs[4], "QMP input must be a JSON object");
	assert_string_equal(json_string_value(json_object_get(msgs[5], "event")), "STOP");
	assert_non_null(json_object_get(msgs[6], "return"));
	for (unsigned int i = 0; i < n; i++)
		json_decref(msgs[i]);
	assert_int_equal(c->vm.stops, 1);
}

/* An unterminated string ends at the line end: the next line is a new object. */
static void test_unterminated_string(void **state)
{
	struct ctx *c = *state;
	json_t *r;

	negotiate(c);
	r = one_reply(c, "{\"execute\": \"query-kvm\n");
	expect_error(r, "GenericError", NULL);
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"query-kvm\"}");
	assert_non_null(json_object_get(r, "return"));
	json_decref(r);
}

static void test_too_large(void **state)
{
	struct ctx *c = *state;
	char *big = malloc(QMP_MAX_INPUT + 16);
	json_t *r;

	big[0] = '[';
	memset(big + 1, ' ', QMP_MAX_INPUT + 14);
	assert_int_equal(qmp_session_input(c->ss, big, QMP_MAX_INPUT + 15), -EMSGSIZE);
	r = next_msg(&c->cl);
	expect_error(r, "GenericError", NULL);
	json_decref(r);
	free(big);
}

/* The id comes back as it was sent, whatever JSON value; none when there was none. */
static void test_id_echo(void **state)
{
	static const char *const ids[] = {
		"1", "-2.5", "\"s\"", "null", "true", "[1, [2]]", "{\"a\": {\"b\": null}}"
	};
	struct ctx *c = *state;

	negotiate(c);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char req[128];
		json_t *r, *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);

		snprintf(req, sizeof(req), "{\"id\": %s, \"execute\": \"%s\"}", ids[i],
			 i & 1 ? "query-kvm" : "no-such");
		r = one_reply(c, req);
		assert_true(json_equal(json_object_get(r, "id"), want));
		if (!(i & 1))
			expect_error(r, "CommandNotFound",
				     "The command no-such has not been found");
		json_decref(want);
		json_decref(r);
	}
	{
		json_t *r = one_reply(c, "{\"execute\": \"query-kvm\"}");

		assert_null(json_object_get(r, "id"));
		json_decref(r);
	}
}

static void expect_event(json_t *m, const char *name)
{
	json_t *ts = json_object_get(m, "timestamp");

	assert_string_equal(json_string_value(json_object_get(m, "event")), name);
	assert_true(json_is_integer(json_object_get(ts, "seconds")));
	assert_true(json_integer_value(json_object_get(ts, "seconds")) > 1600000000);
	assert_true(json_is_integer(json_object_get(ts, "microseconds")));
	assert_true(json_integer_value(json_object_get(ts, "microseconds")) < 1000000);
}

/* Events go to the negotiated sessions only; stop and cont only on a change. */
static void test_events(void **state)
{
	struct ctx *c = *state;
	struct client other = { 0 }, late = { 0 };
	struct qmp_session *s2 = qmp_session_new(c->srv, capture, &other);
	struct qmp_session *s3 = qmp_session_new(c->srv, capture, &late);
	json_t *m;

	json_decref(next_msg(&other));
	json_decref(next_msg(&late));
	negotiate(c);
	assert_int_equal(qmp_session_input(s2, "{\"execute\": \"qmp_capabilities\"}", 31), 0);
	json_decref(next_msg(&other));
	feed(c, "{\"execute\": \"stop\"}{\"execute\": \"stop\"}{\"execute\": \"cont\"}");
	m = next_msg(&c->cl);
	expect_event(m, "STOP");
	json_decref(m);
	json_decref(next_msg(&c->cl)); /* stop's reply */
	m = next_msg(&c->cl);	       /* the second stop: a reply, no event */
	assert_non_null(json_object_get(m, "return"));
	json_decref(m);
	m = next_msg(&c->cl);
	expect_event(m, "RESUME");
	json_decref(m);
	json_decref(next_msg(&c->cl));
	assert_int_equal(c->vm.stops, 1);
	assert_int_equal(c->vm.conts, 1);
	m = next_msg(&other);
	expect_event(m, "STOP");
	json_decref(m);
	m = next_msg(&other);
	expect_event(m, "RESUME");
	json_decref(m);
	assert_null(next_msg(&other));
	assert_null(next_msg(&late)); /* still negotiating */
	qmp_event(c->srv, "SHUTDOWN", json_pack("{s:b,s:s}", "guest", 1, "reason", "guest-reset"));
	m = next_msg(&other);
	expect_event(m, "SHUTDOWN");
	assert_true(json_is_true(json_object_get(json_object_get(m, "data"), "guest")));
	json_decref(m);
	qmp_session_free(s2);
	qmp_session_free(s3);
}

static void test_run_control(void **state)
{
	struct ctx *c = *state;
	json_t *m;

	negotiate(c);
	feed(c, "{\"execute\": \"system_powerdown\"}");
	m = next_msg(&c->cl);
	expect_event(m, "POWERDOWN");
	json_decref(m);
	json_decref(next_msg(&c->cl));
	assert_int_equal(c->vm.powerdowns, 1);
	c->vm.fail_stop = EBUSY;
	m = one_reply(c, "{\"execute\": \"stop\", \"id\": 3}");
	expect_error(m, "GenericError", "cannot stop: fake failure");
	json_decref(m);
	feed(c, "{\"execute\": \"system_reset\"}");
	m = next_msg(&c->cl);
	expect_event(m, "RESET");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(m, "data"), "reason")),
		"host-qmp-system-reset");
	json_decref(m);
	json_decref(next_msg(&c->cl));
	assert_int_equal(c->vm.resets, 1);
	m = one_reply(c, "{\"execute\": \"query-status\"}");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(m, "return"), "status")),
		"shutdown");
	json_decref(m);
	m = one_reply(c, "{\"execute\": \"quit\"}");
	assert_int_equal(json_object_size(json_object_get(m, "return")), 0);
	json_decref(m);
	assert_int_equal(c->vm.quits, 1);
}

static void test_queries(void **state)
{
	struct ctx *c = *state;
	json_t *m, *v;

	negotiate(c);
	m = one_reply(c, "{\"execute\": \"query-cpus-fast\"}");
	v = json_array_get(json_object_get(m, "return"), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "cpu-index")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "thread-id")), 1001);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(v, "props"), "core-id")), 1);
	assert_string_equal(json_string_value(json_object_get(v, "target")), "x86_64");
	json_decref(m);
	m = one_reply(c, "{\"execute\": \"query-block\"}");
	v = json_array_get(json_object_get(m, "return"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "device")), "d0");
	v = json_object_get(v, "inserted");
	assert_true(json_is_true(json_object_get(v, "ro")));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(v, "image"), "virtual-size")),
		1 << 20);
	json_decref(m);
	m = one_reply(c, "{\"execute\": \"query-chardev\"}");
	v = json_array_get(json_object_get(m, "return"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "label")), "serial0");
	json_decref(m);
}

static void expect_hmp(struct ctx *c, const char *line, const char *want)
{
	char *out = hmp_execute(c->srv, line);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void expect_hmp_contains(struct ctx *c, const char *line, const char *want)
{
	char *out = hmp_execute(c->srv, line);

	assert_non_null(out);
	if (!strstr(out, want))
		fail_msg("'%s' printed '%s', without '%s'", line, out, want);
	free(out);
}

/* The desc of an error reply, or "". */
static const char *error_desc(json_t *r)
{
	const char *d = json_string_value(json_object_get(json_object_get(r, "error"), "desc"));

	return d ? d : "";
}

/* -incoming defer: migrate-incoming loads, cont waits for it, and nothing else loads that way. */
static void test_migrate_incoming(void **state)
{
	struct ctx *c = *state;
	json_t *r;

	negotiate(c);
	r = one_reply(c, "{\"execute\": \"migrate-incoming\", \"arguments\": "
			 "{\"uri\": \"file:vm.state\"}}");
	assert_non_null(strstr(error_desc(r), "-incoming defer"));
	json_decref(r);
	c->vm.state = QMP_INMIGRATE;
	r = one_reply(c, "{\"execute\": \"query-status\"}");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "return"), "status")),
		"inmigrate");
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"cont\"}");
	assert_non_null(json_object_get(r, "error"));
	json_decref(r);
	expect_hmp(c, "info status", "VM status: paused (inmigrate)\n");
	r = one_reply(c, "{\"execute\": \"migrate-incoming\", \"arguments\": "
			 "{\"uri\": \"tcp:localhost:4444\"}}");
	assert_non_null(strstr(error_desc(r), "file:PATH only"));
	json_decref(r);
	r = one_reply(c, "{\"execute\": \"migrate-incoming\", \"arguments\": "
			 "{\"uri\": \"file:vm.state\", \"disk-check\": false}}");
	assert_non_null(json_object_get(r, "return"));
	json_decref(r);
	assert_string_equal(c->vm.loaded, "vm.state");
	assert_false(c->vm.loaded_disk_check);
	/* The fake has no autostart: loaded and stopped, as with -S. */
	assert_int_equal(c->vm.state, QMP_PAUSED);
	assert_int_equal(c->vm.conts, 0);
}

static void test_hmp(void **state)
{
	struct ctx *c = *state;

	expect_hmp(c, "info status", "VM status: running\n");
	expect_hmp(c, "  stop  ", "");
	expect_hmp(c, "info status", "VM status: paused\n");
	expect_hmp(c, "c", "");
	assert_int_equal(c->vm.conts, 1);
	expect_hmp(c, "info cpus", "* CPU #0: thread_id=1000\n  CPU #1: thread_id=1001\n");
	expect_hmp(c, "info registers",
		   "CPU#0\nRIP=0000000000000000\nCPU#1\nRIP=0000000000000001\n");
	expect_hmp(c, "info snapshots", "There is no snapshot available.\n");
	expect_hmp(c, "info name", "fake\n");
	expect_hmp_contains(c, "info network", "n0: user: net=10.0.2.0/24\n");
	expect_hmp_contains(c, "info network", "rx_dropped=7");
	expect_hmp_contains(c, "info block", "d0: /img/d0.raw (raw, read-only)");
	expect_hmp_contains(c, "info", "info snapshots");
	expect_hmp_contains(c, "info bogus", "unknown info command: 'bogus'");
	/* The fake VM has no save operation; test_snapshot.sh saves real ones. */
	expect_hmp(c, "savevm s1", "Error: this VM cannot be saved\n");
	expect_hmp(c, "savevm ../s1",
		   "Error: a snapshot name, without '/' and not starting with '.'\n");
	/* loadvm: stopped around the load, running again unless the VM was changed and failed. */
	c->vm.state = QMP_RUNNING;
	c->vm.stops = c->vm.conts = 0;
	expect_hmp(c, "loadvm s1", "");
	assert_string_equal(c->vm.loaded, "s1.kvmini-state");
	assert_true(c->vm.loaded_disk_check);
	assert_int_equal(c->vm.stops, 1);
	assert_int_equal(c->vm.conts, 1);
	expect_hmp(c, "loadvm -f  s2", "");
	assert_string_equal(c->vm.loaded, "s2.kvmini-state");
	assert_false(c->vm.loaded_disk_check);
	c->vm.fail_load = EINVAL;
	expect_hmp(c, "loadvm s3", "Error: s3.kvmini-state: fake load failure\n");
	assert_int_equal(c->vm.conts, 3);
	c->vm.load_touches = true;
	expect_hmp(c, "loadvm s3",
		   "Error: s3.kvmini-state: fake load failure; the VM stays stopped, partly "
		   "loaded: load a state again or quit\n");
	assert_int_equal(c->vm.state, QMP_PAUSED);
	assert_int_equal(c->vm.conts, 3);
	c->vm.fail_load = 0;
	c->vm.state = QMP_RUNNING;
	expect_hmp(c, "loadvm ../s1",
		   "Error: a snapshot name, without '/' and not starting with '.'\n");
	assert_int_equal(c->vm.stops, 4);
	/* delvm: the disks' internal snapshots first, then the file (not after a failure). */
	expect_hmp(c, "delvm no-such-snapshot",
		   "Error: no-such-snapshot.kvmini-state: No such file or directory\n");
	assert_string_equal(c->vm.deleted, "no-such-snapshot");
	c->vm.fail_delete = EIO;
	expect_hmp(c, "delvm s4", "Error: fake delete failure\n");
	assert_string_equal(c->vm.deleted, "s4");
	c->vm.fail_delete = 0;
	expect_hmp(c, "delvm ../s1",
		   "Error: a snapshot name, without '/' and not starting with '.'\n");
	assert_string_equal(c->vm.deleted, "s4");
	expect_hmp(c, "", "");
	expect_hmp_contains(c, "help", "system_reset -- ");
	expect_hmp_contains(c, "? info", "info [subcommand]");
	c->vm.fail_stop = EIO;
	expect_hmp(c, "stop", "Error: cannot stop: fake failure\n");
	expect_hmp(c, "system_powerdown", "");
	assert_int_equal(c->vm.powerdowns, 1);
	expect_hmp(c, "q", "");
	assert_int_equal(c->vm.quits, 1);
}

/* A monitor session: banner, prompt, lines split anywhere, CRLF, backspace. */
static void test_monitor_session(void **state)
{
	struct ctx *c = *state;
	struct client out = { 0 };
	struct monitor *m = monitor_new(c->srv, capture, &out, false);

	assert_non_null(strstr(out.buf, "(kvmini) "));
	out.len = 0;
	monitor_input(m, "info st", 7);
	assert_int_equal(out.len, 0);
	monitor_input(m, "atx\x7f", 4);
	monitor_input(m, "us\r\n", 4);
	assert_string_equal(out.buf, "VM status: running\n(kvmini) ");
	out.len = 0;
	monitor_input(m, "\n", 1);
	assert_string_equal(out.buf, "(kvmini) ");
	monitor_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test_setup_teardown(test_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_incoming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_session, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
