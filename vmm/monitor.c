// SPDX-License-Identifier: MIT
/*
 * The human monitor (HMP): QEMU's "(qemu)" prompt commands that kvmini has,
 * on the same VM operations as QMP.  A command's output is built as text,
 * so human-monitor-command returns exactly what a monitor session shows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "qmp.h"
#include "util.h"

#define PROMPT	  "(kvmini) "
#define MAX_LINE  1024
#define REGS_BUF  2048
#define BACKSPACE 0x08
#define DELETE	  0x7f
#define CTRL_U	  0x15
#define OUT_CHUNK 256

/* Growing output text. */
struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		room = o->cap + (size_t)n + OUT_CHUNK;
		char *p = realloc(o->buf, room);

		if (!p) {
			o->failed = true;
			return;
		}
		o->buf = p;
		o->cap = room;
	}
}

struct hmp_ctx {
	struct qmp_server *srv;
	const struct qmp_vm_ops *ops;
	void *vm;
	struct out *out;
	const char *rest; /* the words after the first argument */
};

struct hmp_command {
	const char *name, *alias;
	const char *params, *help;
	void (*fn)(struct hmp_ctx *c, const char *arg);
};

static void run_action(struct hmp_ctx *c, enum qmp_action a)
{
	int ret = qmp_run_action(c->srv, a);

	if (ret)
		out_printf(c->out, "Error: %s\n", err_msg(ret));
}

static void hmp_stop(struct hmp_ctx *c, const char *arg)
{
	(void)arg;
	run_action(c, QMP_ACT_STOP);
}

static void hmp_cont(struct hmp_ctx *c, const char *arg)
{
	(void)arg;
	run_action(c, QMP_ACT_CONT);
}

static void hmp_system_reset(struct hmp_ctx *c, const char *arg)
{
	(void)arg;
	run_action(c, QMP_ACT_RESET);
}

static void hmp_system_powerdown(struct hmp_ctx *c, const char *arg)
{
	(void)arg;
	run_action(c, QMP_ACT_POWERDOWN);
}

static void hmp_quit(struct hmp_ctx *c, const char *arg)
{
	(void)arg;
	run_action(c, QMP_ACT_QUIT);
}

static void info_status(struct hmp_ctx *c)
{
	enum qmp_run_state st = c->ops->state(c->vm);

	/* QEMU's wording: a VM waiting for its state is a paused one. */
	out_printf(c->out, "VM status: %s\n",
		   st == QMP_INMIGRATE ? "paused (inmigrate)" : qmp_run_state_name(st));
}

static void info_registers(struct hmp_ctx *c)
{
	char *buf = malloc(REGS_BUF);

	if (!buf) {
		c->out->failed = true;
		return;
	}
	for (unsigned int i = 0; i < c->ops->nr_cpus(c->vm); i++) {
		int ret = c->ops->cpu_regs(c->vm, i, buf, REGS_BUF);

		if (ret)
			out_printf(c->out, "CPU#%u: %s\n", i, err_msg(ret));
		else
			out_printf(c->out, "CPU#%u\n%s", i, buf);
	}
	free(buf);
}

static void info_cpus(struct hmp_ctx *c)
{
	for (unsigned int i = 0; i < c->ops->nr_cpus(c->vm); i++) {
		struct qmp_cpu_info ci;

		c->ops->cpu_info(c->vm, i, &ci);
		out_printf(c->out, "%c CPU #%u: thread_id=%d\n", i ? ' ' : '*', i, ci.thread_id);
	}
}

static void info_block(struct hmp_ctx *c)
{
	for (unsigned int i = 0; i < c->ops->nr_disks(c->vm); i++) {
		struct qmp_disk_info d;

		c->ops->disk_info(c->vm, i, &d);
		out_printf(c->out, "%s: %s (%s%s)\n    Attached to:      virtio-blk-pci\n",
			   d.device, d.file, d.format, d.readonly ? ", read-only" : "");
	}
}

static void info_network(struct hmp_ctx *c)
{
	for (unsigned int i = 0; i < c->ops->nr_nets(c->vm); i++) {
		struct qmp_net_info n;

		c->ops->net_info(c->vm, i, &n);
		out_printf(c->out, "%s: %s\n    virtio-net-pci: rx_dropped=%llu\n", n.id, n.desc,
			   (unsigned long long)n.rx_dropped);
	}
}

static void info_version(struct hmp_ctx *c)
{
	out_printf(c->out, "%s (kvmini %s)\n", KVMINI_VERSION, KVMINI_VERSION);
}

static void info_name(struct hmp_ctx *c)
{
	const char *name = c->ops->name(c->vm);

	if (name)
		out_printf(c->out, "%s\n", name);
}

static void info_chardev(struct hmp_ctx *c)
{
	for (unsigned int i = 0; i < c->ops->nr_chardevs(c->vm); i++) {
		struct qmp_chardev_info ci;

		c->ops->chardev_info(c->vm, i, &ci);
		out_printf(c->out, "%s: filename=%s\n", ci.label, ci.filename);
	}
}

/* savevm NAME: the state file NAME.kvmini-state in kvmini's current directory. */
#define SNAP_SUFFIX ".kvmini-state"

static bool snapshot_path(struct hmp_ctx *c, const char *name, char *path, size_t size)
{
	if (!name || !*name || strchr(name, '/') || name[0] == '.') {
		out_printf(c->out,
			   "Error: a snapshot name, without '/' and not starting with '.'\n");
		return false;
	}
	snprintf(path, size, "%s" SNAP_SUFFIX, name);
	return true;
}

static void hmp_savevm(struct hmp_ctx *c, const char *arg)
{
	char path[128];
	int ret;

	if (!snapshot_path(c, arg, path, sizeof(path)))
		return;
	/*
	 * QEMU's savevm: the VM runs on afterwards if it ran before; qcow2
	 * disks get the internal snapshot NAME.
	 */
	ret = qmp_save_vm(c->srv, path, arg, true);
	if (ret)
		out_printf(c->out, "Error: %s\n", err_msg(ret));
}

/* loadvm [-f] NAME: -f restores even if a disk changed since the save. */
static void hmp_loadvm(struct hmp_ctx *c, const char *arg)
{
	bool force = !strcmp(arg, "-f");
	char name[64], path[128];
	int ret;

	if (force) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(c->rest, " \t\r\n"), c->rest);
		arg = name;
	}
	if (!snapshot_path(c, arg, path, sizeof(path)))
		return;
	ret = qmp_load_vm(c->srv, path, !force);
	if (ret)
		out_printf(c->out, "Error: %s\n", err_msg(ret));
}

/* delvm NAME: the disks' internal snapshots NAME, then the state file. */
static void hmp_delvm(struct hmp_ctx *c, const char *arg)
{
	char path[128];
	int ret;

	if (!snapshot_path(c, arg, path, sizeof(path)))
		return;
	ret = c->ops->delete_snapshot ? c->ops->delete_snapshot(c->vm, arg) : 0;
	if (ret)
		out_printf(c->out, "Error: %s\n", err_msg(ret));
	else if (unlink(path))
		out_printf(c->out, "Error: %s: %s\n", path, strerror(errno));
}

static void info_snapshots(struct hmp_ctx *c)
{
	DIR *d = opendir(".");
	struct dirent *e;
	bool any = false;

	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name), sl = strlen(SNAP_SUFFIX);
		struct stat st;
		char when[32];

		if (n <= sl || strcmp(e->d_name + n - sl, SNAP_SUFFIX) || e->d_name[0] == '.' ||
		    stat(e->d_name, &st) || !S_ISREG(st.st_mode))
			continue;
		if (!any)
			out_printf(c->out, "%-20s %12s %s\n", "TAG", "VM SIZE", "DATE");
		any = true;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&st.st_mtime));
		out_printf(c->out, "%-20.*s %12lld %s\n", (int)(n - sl), e->d_name,
			   (long long)st.st_size, when);
	}
	if (d)
		closedir(d);
	if (!any)
		out_printf(c->out, "There is no snapshot available.\n");
}

static const struct {
	const char *name, *help;
	void (*fn)(struct hmp_ctx *c);
} infos[] = {
	{ "status", "show the current VM status (running|paused)", info_status },
	{ "registers", "show the cpu registers", info_registers },
	{ "cpus", "show infos for each CPU", info_cpus },
	{ "block", "show the block devices", info_block },
	{ "network", "show the network state", info_network },
	{ "chardev", "show the character devices", info_chardev },
	{ "version", "show the version of kvmini", info_version },
	{ "name", "show the current VM name", info_name },
	{ "snapshots", "show the VM state files (NAME.kvmini-state) savevm wrote here",
	  info_snapshots },
};

static void hmp_info(struct hmp_ctx *c, const char *arg)
{
	for (size_t i = 0; arg && *arg && i < ARRAY_SIZE(infos); i++) {
		if (!strcmp(arg, infos[i].name)) {
			infos[i].fn(c);
			return;
		}
	}
	if (arg && *arg)
		out_printf(c->out, "unknown info command: '%s'\n", arg);
	for (size_t i = 0; i < ARRAY_SIZE(infos); i++)
		out_printf(c->out, "info %-10s -- %s\n", infos[i].name, infos[i].help);
}

static void hmp_help(struct hmp_ctx *c, const char *arg);

static const struct hmp_command hmp_commands[] = {
	{ "cont", "c", "", "resume emulation", hmp_cont },
	{ "delvm", NULL, "tag",
	  "delete the VM state file tag.kvmini-state and the qcow2 disks' snapshots tag",
	  hmp_delvm },
	{ "help", "?", "[cmd]", "show the help", hmp_help },
	{ "info", NULL, "[subcommand]", "show various information about the system state",
	  hmp_info },
	{ "loadvm", NULL, "[-f] tag",
	  "restore the VM from tag.kvmini-state (-f: even if a disk changed since)", hmp_loadvm },
	{ "quit", "q", "", "quit the emulator", hmp_quit },
	{ "savevm", NULL, "tag",
	  "save the VM to tag.kvmini-state in kvmini's directory and take the qcow2 disks' "
	  "snapshots tag (stops it meanwhile)",
	  hmp_savevm },
	{ "stop", NULL, "", "stop emulation", hmp_stop },
	{ "system_powerdown", NULL, "", "send system power down event (ACPI power button)",
	  hmp_system_powerdown },
	{ "system_reset", NULL, "",
	  "reset the system: kvmini never reboots (-no-reboot), so this ends the VM (exit "
	  "status 0)",
	  hmp_system_reset },
};

static void hmp_help(struct hmp_ctx *c, const char *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(hmp_commands); i++) {
		const struct hmp_command *h = &hmp_commands[i];

		if (arg && *arg && strcmp(arg, h->name) && (!h->alias || strcmp(arg, h->alias)))
			continue;
		out_printf(c->out, "%s%s%s%s%s -- %s\n", h->name, h->alias ? "|" : "",
			   h->alias ? h->alias : "", *h->params ? " " : "", h->params, h->help);
	}
}

char *hmp_execute(struct qmp_server *s, const char *line)
{
	struct out out = { 0 };
	struct hmp_ctx c = { .srv = s, .out = &out };
	char cmd[64];
	const char *arg;
	size_t n;

	c.ops = qmp_server_ops(s, &c.vm);
	line += strspn(line, " \t");
	n = strcspn(line, " \t\r\n");
	arg = line + n + strspn(line + n, " \t");
	if (n && n < sizeof(cmd)) {
		char word[64];
		size_t alen = strcspn(arg, " \t\r\n");

		memcpy(cmd, line, n);
		cmd[n] = 0;
		snprintf(word, sizeof(word), "%.*s", (int)alen, arg);
		c.rest = arg + alen + strspn(arg + alen, " \t");
		for (size_t i = 0; i < ARRAY_SIZE(hmp_commands); i++) {
			const struct hmp_command *h = &hmp_commands[i];

			if (!strcmp(cmd, h->name) || (h->alias && !strcmp(cmd, h->alias))) {
				h->fn(&c, word);
				goto done;
			}
		}
	}
	if (n)
		out_printf(&out, "unknown command: '%.*s'\n", (int)n, line);
done:
	if (!out.failed && !out.buf)
		out.buf = strdup("");
	if (out.failed) {
		free(out.buf);
		return NULL;
	}
	return out.buf;
}

struct monitor {
	struct qmp_server *srv;
	qmp_write_fn write;
	void *opaque;
	bool echo;
	bool last_cr; /* a "\r\n" ends one line, not two */
	char line[MAX_LINE];
	size_t len;
};

static void mon_puts(struct monitor *m, const char *s)
{
	m->write(m->opaque, s, strlen(s));
}

void monitor_prompt(struct monitor *m)
{
	mon_puts(m, PROMPT);
}

struct monitor *monitor_new(struct qmp_server *s, qmp_write_fn write, void *opaque, bool echo)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->srv = s;
	m->write = write;
	m->opaque = opaque;
	m->echo = echo;
	mon_puts(m, "kvmini " KVMINI_VERSION " monitor - type 'help' for more information\n");
	monitor_prompt(m);
	return m;
}

void monitor_free(struct monitor *m)
{
	free(m);
}

static void monitor_line(struct monitor *m)
{
	char *out;

	m->line[m->len] = 0;
	m->len = 0;
	/* The terminal's output processing (kept on in raw mode) makes "\n" a line end. */
	if (m->echo)
		mon_puts(m, "\n");
	out = hmp_execute(m->srv, m->line);
	if (out)
		mon_puts(m, out);
	free(out);
	monitor_prompt(m);
}

void monitor_input(struct monitor *m, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		bool cr = c == '\r';

		if (c == '\n' && m->last_cr) {
			m->last_cr = false;
			continue;
		}
		m->last_cr = cr;
		if (cr || c == '\n') {
			monitor_line(m);
		} else if (c == BACKSPACE || c == DELETE) {
			if (m->len) {
				m->len--;
				if (m->echo)
					mon_puts(m, "\b \b");
			}
		} else if (c == CTRL_U) {
			while (m->echo && m->len--)
				mon_puts(m, "\b \b");
			m->len = 0;
		} else if (c >= 0x20 && m->len + 1 < sizeof(m->line)) {
			m->line[m->len++] = (char)c;
			if (m->echo)
				m->write(m->opaque, &m->line[m->len - 1], 1);
		}
	}
}
