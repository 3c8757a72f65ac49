/* SPDX-License-Identifier: MIT */
/*
 * The QEMU Machine Protocol (vmm/qmp.c, vmm/qmp_commands.c) and the human
 * monitor (vmm/monitor.c), without sockets and without KVM: the VM is
 * reached only through struct qmp_vm_ops, so unit tests and the fuzzer run
 * them against a fake.  Everything here runs on one thread (the I/O thread).
 *
 * A session is one client.  Its input is a byte stream of JSON objects;
 * framing counts braces and brackets outside strings (as QEMU's JSON
 * streamer does), so an object split across reads waits for the rest and
 * several objects in one read are taken one by one.  A malformed object gets
 * one error reply and the input goes on right after it; bytes outside any
 * object (a bare word, a stray '}') get one error per run up to the next
 * whitespace or brace.  A string cannot hold a raw control character: an
 * unterminated one ends, as a malformed object, at the line end.  An object
 * whose braces never balance waits for them, as in QEMU.  An object larger
 * than QMP_MAX_INPUT ends the session.
 */
#ifndef KVMINI_QMP_H
#define KVMINI_QMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QMP_MAX_INPUT (1u << 20)

enum qmp_run_state {
	QMP_RUNNING,
	QMP_PAUSED,
	QMP_SHUTDOWN,  /* ending: the SHUTDOWN event is on its way */
	QMP_INMIGRATE, /* -incoming defer: stopped until migrate-incoming loads a state */
};

struct qmp_cpu_info {
	int thread_id; /* the vCPU thread's TID */
	unsigned int socket, core, thread;
};

struct qmp_disk_info {
	const char *device; /* the -drive id, or "virtioN" */
	const char *file;
	const char *format;
	bool readonly;
	uint64_t size; /* bytes */
};

struct qmp_chardev_info {
	char label[16];
	char filename[256]; /* "stdio", "file:PATH", "null" */
};

struct qmp_net_info {
	char desc[128]; /* the backend's describe() line */
	char id[32];
	uint64_t rx_dropped; /* the NIC's */
};

/*
 * The VM behind the commands.  Run control returns 0 or -errno with
 * err_set().  system_reset and quit end the VM (kvmini never reboots).
 */
struct qmp_vm_ops {
	enum qmp_run_state (*state)(void *vm);
	int (*stop)(void *vm);
	int (*cont)(void *vm);
	int (*powerdown)(void *vm);
	int (*reset)(void *vm);
	int (*quit)(void *vm);
	const char *(*name)(void *vm); /* NULL: no -name */
	unsigned int (*nr_cpus)(void *vm);
	void (*cpu_info)(void *vm, unsigned int cpu, struct qmp_cpu_info *info);
	/* The registers of @cpu as text (info registers).  0 or -errno with err_set(). */
	int (*cpu_regs)(void *vm, unsigned int cpu, char *buf, size_t size);
	unsigned int (*nr_disks)(void *vm);
	void (*disk_info)(void *vm, unsigned int disk, struct qmp_disk_info *info);
	unsigned int (*nr_chardevs)(void *vm);
	void (*chardev_info)(void *vm, unsigned int chr, struct qmp_chardev_info *info);
	unsigned int (*nr_nets)(void *vm);
	void (*net_info)(void *vm, unsigned int net, struct qmp_net_info *info);
	/*
	 * Save the stopped VM's state to @path (include/snapshot.h); @tag
	 * (savevm's NAME, or NULL): also take the internal snapshot @tag of
	 * each writable qcow2 disk.  0 or -errno with err_set().
	 */
	int (*save)(void *vm, const char *path, const char *tag);
	/*
	 * Optional: delete the internal snapshot @tag from each writable
	 * qcow2 disk that has it (delvm).  0 or -errno with err_set().
	 */
	int (*delete_snapshot)(void *vm, const char *tag);
	/*
	 * Load the stopped VM from @path; @disk_check: refuse disks changed
	 * since the save.  0 or -errno with err_set(); *@touched as in
	 * snapshot_load().
	 */
	int (*load)(void *vm, const char *path, bool disk_check, bool *touched);
	/* Does the VM run once migrate-incoming loaded it (no -S)?  NULL: no. */
	bool (*autostart)(void *vm);
};

/* A reply's or event's bytes (one JSON object and "\r\n"), for a session's owner to send. */
typedef void (*qmp_write_fn)(void *opaque, const char *buf, size_t len);

struct qmp_server;
struct qmp_session;

struct qmp_server *qmp_server_new(const struct qmp_vm_ops *ops, void *vm);
/* Frees the sessions still open. */
void qmp_server_free(struct qmp_server *s);

/* A client: the greeting goes out through @write at once.  NULL: out of memory. */
struct qmp_session *qmp_session_new(struct qmp_server *s, qmp_write_fn write, void *opaque);
void qmp_session_free(struct qmp_session *ss);
/*
 * Bytes from the client: every complete object is executed and answered.
 * 0, or -EMSGSIZE (an object larger than QMP_MAX_INPUT, answered with an
 * error): the caller closes the session.
 */
int qmp_session_input(struct qmp_session *ss, const void *buf, size_t len);

/* Send event @name with @data (stolen; NULL: none) to every negotiated session. */
void qmp_event(struct qmp_server *s, const char *name, json_t *data);

/* ---- The command layer (qmp_commands.c), for qmp.c ---------------------------------------- */

enum qmp_error_class {
	QMP_ERR_GENERIC,
	QMP_ERR_COMMAND_NOT_FOUND,
};

struct qmp_error {
	enum qmp_error_class cls;
	char desc[512];
};

/* Fill @err and return NULL, for a handler's error path. */
json_t *qmp_fail(struct qmp_error *err, enum qmp_error_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Run command @name with @args (an object, or NULL).  The result (new
 * reference), or NULL with @err filled.  @negotiated: the session has left
 * capabilities negotiation; *@negotiate is set when this call ends it.
 */
json_t *qmp_dispatch(struct qmp_server *s, const char *name, json_t *args, bool negotiated,
		     bool *negotiate, struct qmp_error *err);

enum qmp_action {
	QMP_ACT_STOP,
	QMP_ACT_CONT,
	QMP_ACT_POWERDOWN,
	QMP_ACT_RESET,
	QMP_ACT_QUIT,
};

/*
 * Run control, for QMP and the human monitor alike: the action and its event
 * (STOP, RESUME, POWERDOWN, RESET).  0 or -errno with err_set().
 */
int qmp_run_action(struct qmp_server *s, enum qmp_action a);

/*
 * Save the VM to @path: stopped first if it runs (a STOP event), running
 * again afterwards if @resume or the save failed (RESUME).  @tag: savevm's
 * NAME (qcow2 disks get that internal snapshot), NULL for migrate.  0 or
 * -errno with err_set().
 */
int qmp_save_vm(struct qmp_server *s, const char *path, const char *tag, bool resume);
/*
 * Load the VM from @path, as QEMU's loadvm: stopped first if it runs (STOP),
 * running again afterwards (RESUME) unless the load failed after it changed
 * the VM.  0 or -errno with err_set().
 */
int qmp_load_vm(struct qmp_server *s, const char *path, bool disk_check);

/* "running", "paused", ... as QEMU's query-status says. */
const char *qmp_run_state_name(enum qmp_run_state st);

/* The server's VM, for the human monitor. */
const struct qmp_vm_ops *qmp_server_ops(struct qmp_server *s, void **vm);

/* ---- The human monitor (monitor.c) ---------------------------------------------------------- */

/*
 * Run one HMP command line; its output (malloc'ed, "" for none, NULL when
 * out of memory) ends with a newline unless empty.
 */
char *hmp_execute(struct qmp_server *s, const char *line);

struct monitor;

/*
 * A human monitor session writing through @write: a "(kvmini) " prompt, line
 * input (echoed back with @echo, for a terminal in raw mode).
 */
struct monitor *monitor_new(struct qmp_server *s, qmp_write_fn write, void *opaque, bool echo);
void monitor_free(struct monitor *m);
void monitor_input(struct monitor *m, const void *buf, size_t len);
/* Print the prompt again (the console switched to the monitor). */
void monitor_prompt(struct monitor *m);

#endif
