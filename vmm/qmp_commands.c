// SPDX-License-Identifier: MIT
/*
 * The QMP commands: one table, each entry with its arguments' names and
 * types, checked before the handler runs.  Results follow QEMU's schema for
 * the same command, so QMP tools read them unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "qmp.h"
#include "util.h"

struct qmp_arg {
	const char *name;
	json_type type;
	bool required;
};

struct qmp_command {
	const char *name;
	/* NULL: the command is @action, run by action() */
	json_t *(*fn)(struct qmp_server *s, json_t *args, struct qmp_error *err);
	const struct qmp_arg *args; /* ends with a NULL name; NULL: none */
	enum qmp_action action;
};

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "value";
	}
}

static bool type_matches(json_t *v, json_type t)
{
	return t == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == t;
}

int qmp_run_action(struct qmp_server *s, enum qmp_action a)
{
	const struct qmp_vm_ops *ops;
	void *vm;
	enum qmp_run_state st;
	int ret = 0;

	ops = qmp_server_ops(s, &vm);
	st = ops->state(vm);
	switch (a) {
	case QMP_ACT_STOP:
		/* Stopping a stopped VM is no error and no event, as in QEMU. */
		if (st == QMP_RUNNING && !(ret = ops->stop(vm)))
			qmp_event(s, "STOP", NULL);
		break;
	case QMP_ACT_CONT:
		if (st == QMP_INMIGRATE)
			ret = err_set(EBUSY, "the VM waits for a state: send migrate-incoming "
					     "(-incoming defer)");
		else if (st == QMP_PAUSED && !(ret = ops->cont(vm)))
			qmp_event(s, "RESUME", NULL);
		break;
	case QMP_ACT_POWERDOWN:
		ret = ops->powerdown(vm);
		if (!ret)
			qmp_event(s, "POWERDOWN", NULL);
		break;
	case QMP_ACT_RESET:
		/* kvmini never reboots (-no-reboot): a reset ends the VM, SHUTDOWN follows. */
		qmp_event(s, "RESET",
			  json_pack("{s:b,s:s}", "guest", 0, "reason", "host-qmp-system-reset"));
		ret = ops->reset(vm);
		break;
	case QMP_ACT_QUIT:
		ret = ops->quit(vm);
		break;
	}
	return ret;
}

static json_t *action(struct qmp_server *s, enum qmp_action a, struct qmp_error *err)
{
	int ret = qmp_run_action(s, a);

	if (ret)
		return qmp_fail(err, QMP_ERR_GENERIC, "%s", err_msg(ret));
	return json_object();
}

int qmp_save_vm(struct qmp_server *s, const char *path, const char *tag, bool resume)
{
	void *vm;
	const struct qmp_vm_ops *ops = qmp_server_ops(s, &vm);
	bool running = ops->state(vm) == QMP_RUNNING;
	int ret;

	if (!ops->save)
		return err_set(ENOTSUP, "this VM cannot be saved");
	if (running) {
		ret = qmp_run_action(s, QMP_ACT_STOP);
		if (ret)
			return ret;
	}
	ret = ops->save(vm, path, tag);
	/* After a failure the VM runs on, as after a failed migration in QEMU. */
	if (running && (resume || ret)) {
		int r = qmp_run_action(s, QMP_ACT_CONT);

		if (!ret)
			ret = r;
	}
	return ret;
}

int qmp_load_vm(struct qmp_server *s, const char *path, bool disk_check)
{
	void *vm;
	const struct qmp_vm_ops *ops = qmp_server_ops(s, &vm);
	bool running = ops->state(vm) == QMP_RUNNING, touched = false;
	int ret;

	if (!ops->load)
		return err_set(ENOTSUP, "this VM cannot be loaded into");
	if (running) {
		ret = qmp_run_action(s, QMP_ACT_STOP);
		if (ret)
			return ret;
	}
	ret = ops->load(vm, path, disk_check, &touched);
	if (ret && touched) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err_msg(ret));
		return err_set(-ret,
			       "%s: %s; the VM stays stopped, partly loaded: load a state "
			       "again or quit",
			       path, msg);
	}
	if (ret)
		err_prefix(ret, "%s", path);
	if (running) {
		int r = qmp_run_action(s, QMP_ACT_CONT);

		if (!ret)
			ret = r;
	}
	return ret;
}

/*
 * migrate with a file: URI, as QEMU: the state goes to the file and the VM
 * stays stopped (QEMU's postmigrate), all before the reply.
 */
static json_t *cmd_migrate(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const char *uri = json_string_value(json_object_get(args, "uri"));
	int ret;

	if (strncmp(uri, "file:", 5) || !uri[5])
		return qmp_fail(err, QMP_ERR_GENERIC,
				"Invalid parameter 'uri': kvmini migrates to file:PATH only");
	ret = qmp_save_vm(s, uri + 5, NULL, false);
	if (ret)
		return qmp_fail(err, QMP_ERR_GENERIC, "%s", err_msg(ret));
	return json_object();
}

/*
 * migrate-incoming into a VM started with -incoming defer: the state comes
 * from a file: URI, then the VM runs unless -S (QEMU's autostart).
 * "disk-check": false restores even if a disk changed since the save.
 */
static json_t *cmd_migrate_incoming(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const char *uri = json_string_value(json_object_get(args, "uri"));
	json_t *check = json_object_get(args, "disk-check");
	void *vm;
	const struct qmp_vm_ops *ops = qmp_server_ops(s, &vm);
	int ret;

	if (ops->state(vm) != QMP_INMIGRATE)
		return qmp_fail(err, QMP_ERR_GENERIC,
				"The incoming migration has not been requested: start kvmini with "
				"-incoming defer (loadvm loads a state into a running VM)");
	if (strncmp(uri, "file:", 5) || !uri[5])
		return qmp_fail(err, QMP_ERR_GENERIC,
				"Invalid parameter 'uri': kvmini migrates from file:PATH only");
	ret = qmp_load_vm(s, uri + 5, !check || json_is_true(check));
	if (!ret && ops->autostart && ops->autostart(vm))
		ret = qmp_run_action(s, QMP_ACT_CONT);
	if (ret)
		return qmp_fail(err, QMP_ERR_GENERIC, "%s", err_msg(ret));
	return json_object();
}

/* Handled in qmp_dispatch(): it changes the session, not the VM. */
static json_t *cmd_qmp_capabilities(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	json_t *enable = args ? json_object_get(args, "enable") : NULL;
	size_t i;
	json_t *v;

	(void)s;
	json_array_foreach(enable, i, v)
	{
		if (!json_is_string(v))
			return qmp_fail(
				err, QMP_ERR_GENERIC,
				"Invalid parameter type for 'enable[%zu]', expected: string", i);
		/* No capability is offered (the greeting's list is empty). */
		return qmp_fail(err, QMP_ERR_GENERIC, "Capability '%s' not available",
				json_string_value(v));
	}
	return json_object();
}

const char *qmp_run_state_name(enum qmp_run_state st)
{
	static const char *const names[] = {
		[QMP_RUNNING] = "running",
		[QMP_PAUSED] = "paused",
		[QMP_SHUTDOWN] = "shutdown",
		[QMP_INMIGRATE] = "inmigrate",
	};

	return names[st];
}

static json_t *cmd_query_status(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const struct qmp_vm_ops *ops;
	enum qmp_run_state st;
	void *vm;

	(void)args;
	(void)err;
	ops = qmp_server_ops(s, &vm);
	st = ops->state(vm);
	return json_pack("{s:s,s:b,s:b}", "status", qmp_run_state_name(st), "running",
			 st == QMP_RUNNING, "singlestep", 0);
}

static json_t *cmd_query_version(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	(void)s;
	(void)args;
	(void)err;
	return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "micro", KVMINI_VERSION_MICRO, "minor",
			 KVMINI_VERSION_MINOR, "major", KVMINI_VERSION_MAJOR, "package",
			 "kvmini " KVMINI_VERSION);
}

static json_t *cmd_query_commands(struct qmp_server *s, json_t *args, struct qmp_error *err);

static json_t *cmd_query_name(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const struct qmp_vm_ops *ops;
	const char *name;
	void *vm;

	(void)args;
	(void)err;
	ops = qmp_server_ops(s, &vm);
	name = ops->name(vm);
	return name ? json_pack("{s:s}", "name", name) : json_object();
}

static json_t *cmd_query_kvm(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	(void)s;
	(void)args;
	(void)err;
	return json_pack("{s:b,s:b}", "enabled", 1, "present", 1);
}

static json_t *cmd_query_cpus_fast(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const struct qmp_vm_ops *ops;
	json_t *list = json_array();
	void *vm;

	(void)args;
	(void)err;
	ops = qmp_server_ops(s, &vm);
	for (unsigned int i = 0; list && i < ops->nr_cpus(vm); i++) {
		struct qmp_cpu_info ci;
		char path[64];

		ops->cpu_info(vm, i, &ci);
		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		json_array_append_new(list,
				      json_pack("{s:i,s:s,s:i,s:{s:i,s:i,s:i},s:s}", "cpu-index", i,
						"qom-path", path, "thread-id", ci.thread_id,
						"props", "core-id", ci.core, "thread-id", ci.thread,
						"socket-id", ci.socket, "target", "x86_64"));
	}
	return list;
}

static json_t *cmd_query_block(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const struct qmp_vm_ops *ops;
	json_t *list = json_array();
	void *vm;

	(void)args;
	(void)err;
	ops = qmp_server_ops(s, &vm);
	for (unsigned int i = 0; list && i < ops->nr_disks(vm); i++) {
		struct qmp_disk_info d;
		char qdev[64];

		ops->disk_info(vm, i, &d);
		snprintf(qdev, sizeof(qdev), "/machine/peripheral-anon/device[%u]/virtio-backend",
			 i);
		json_array_append_new(
			list,
			json_pack(
				"{s:s,s:s,s:b,s:b,s:s,s:{s:s,s:b,s:s,s:b,s:i,s:s,s:{s:s,s:s,s:I}}}",
				"device", d.device, "qdev", qdev, "locked", 0, "removable", 0,
				"type", "unknown", "inserted", "file", d.file, "ro", d.readonly,
				"drv", d.format, "encrypted", 0, "backing_file_depth", 0,
				"detect_zeroes", "off", "image", "filename", d.file, "format",
				d.format, "virtual-size", (json_int_t)d.size));
	}
	return list;
}

static json_t *cmd_query_chardev(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	const struct qmp_vm_ops *ops;
	json_t *list = json_array();
	void *vm;

	(void)args;
	(void)err;
	ops = qmp_server_ops(s, &vm);
	for (unsigned int i = 0; list && i < ops->nr_chardevs(vm); i++) {
		struct qmp_chardev_info c;

		ops->chardev_info(vm, i, &c);
		json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "label", c.label, "filename",
						      c.filename, "frontend-open", 1));
	}
	return list;
}

static json_t *cmd_human_monitor_command(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	char *out = hmp_execute(s, json_string_value(json_object_get(args, "command-line")));
	json_t *ret;

	if (!out)
		return qmp_fail(err, QMP_ERR_GENERIC, "out of memory");
	ret = json_string(out);
	free(out);
	/* Output that is not UTF-8 (a guest's name, a path) cannot be a JSON string. */
	return ret ? ret : qmp_fail(err, QMP_ERR_GENERIC, "the output is not valid UTF-8");
}

static const struct qmp_arg capabilities_args[] = { { "enable", JSON_ARRAY, false }, {} };
static const struct qmp_arg hmp_args[] = { { "command-line", JSON_STRING, true }, {} };
static const struct qmp_arg migrate_args[] = { { "uri", JSON_STRING, true },
					       { "detach", JSON_TRUE, false },
					       {} };

static const struct qmp_arg migrate_incoming_args[] = { { "uri", JSON_STRING, true },
							{ "disk-check", JSON_TRUE, false },
							{} };

static const struct qmp_command commands[] = {
	{ .name = "qmp_capabilities", .fn = cmd_qmp_capabilities, .args = capabilities_args },
	{ .name = "query-status", .fn = cmd_query_status },
	{ .name = "stop", .action = QMP_ACT_STOP },
	{ .name = "cont", .action = QMP_ACT_CONT },
	{ .name = "system_reset", .action = QMP_ACT_RESET },
	{ .name = "system_powerdown", .action = QMP_ACT_POWERDOWN },
	{ .name = "quit", .action = QMP_ACT_QUIT },
	{ .name = "query-version", .fn = cmd_query_version },
	{ .name = "query-commands", .fn = cmd_query_commands },
	{ .name = "query-name", .fn = cmd_query_name },
	{ .name = "query-kvm", .fn = cmd_query_kvm },
	{ .name = "query-cpus-fast", .fn = cmd_query_cpus_fast },
	{ .name = "query-block", .fn = cmd_query_block },
	{ .name = "query-chardev", .fn = cmd_query_chardev },
	{ .name = "human-monitor-command", .fn = cmd_human_monitor_command, .args = hmp_args },
	{ .name = "migrate", .fn = cmd_migrate, .args = migrate_args },
	{ .name = "migrate-incoming", .fn = cmd_migrate_incoming, .args = migrate_incoming_args },
};

static json_t *cmd_query_commands(struct qmp_server *s, json_t *args, struct qmp_error *err)
{
	json_t *list = json_array();

	(void)s;
	(void)args;
	(void)err;
	for (size_t i = 0; list && i < ARRAY_SIZE(commands); i++)
		json_array_append_new(list, json_pack("{s:s}", "name", commands[i].name));
	return list;
}

/* Every argument known and of its type, every required one there. */
static bool check_args(const struct qmp_command *c, json_t *args, struct qmp_error *err)
{
	const struct qmp_arg *a;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		for (a = c->args; a && a->name && strcmp(a->name, key); a++)
			;
		if (!a || !a->name) {
			qmp_fail(err, QMP_ERR_GENERIC, "Parameter '%s' is unexpected", key);
			return false;
		}
		if (!type_matches(v, a->type)) {
			qmp_fail(err, QMP_ERR_GENERIC,
				 "Invalid parameter type for '%s', expected: %s", key,
				 type_name(a->type));
			return false;
		}
	}
	for (a = c->args; a && a->name; a++) {
		if (a->required && !json_object_get(args, a->name)) {
			qmp_fail(err, QMP_ERR_GENERIC, "Parameter '%s' is missing", a->name);
			return false;
		}
	}
	return true;
}

json_t *qmp_dispatch(struct qmp_server *s, const char *name, json_t *args, bool negotiated,
		     bool *negotiate, struct qmp_error *err)
{
	const struct qmp_command *c = NULL;
	bool is_caps = !strcmp(name, "qmp_capabilities");
	json_t *ret;

	if (!negotiated && !is_caps)
		return qmp_fail(err, QMP_ERR_COMMAND_NOT_FOUND,
				"Expecting capabilities negotiation with 'qmp_capabilities'");
	if (negotiated && is_caps)
		return qmp_fail(err, QMP_ERR_COMMAND_NOT_FOUND,
				"Capabilities negotiation is already complete, command ignored");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(commands[i].name, name))
			c = &commands[i];
	}
	if (!c)
		return qmp_fail(err, QMP_ERR_COMMAND_NOT_FOUND, "The command %s has not been found",
				name);
	if (!check_args(c, args, err))
		return NULL;
	ret = c->fn ? c->fn(s, args, err) : action(s, c->action, err);
	if (ret && is_caps)
		*negotiate = true;
	return ret;
}
