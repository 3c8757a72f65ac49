/* SPDX-License-Identifier: MIT */
/*
 * The kvmini process around the VM (vmm/lifecycle.c): -daemonize, -pidfile
 * and the process title from -name.
 */
#ifndef KVMINI_LIFECYCLE_H
#define KVMINI_LIFECYCLE_H

#include <stdbool.h>

#include "config.h"

/*
 * -name NAME[,guest=NAME][,process=TITLE][,debug-threads=on] into @cfg.
 * 0 or -EINVAL/-ENOMEM with err_set().
 */
int name_parse(struct vm_config *cfg, const char *arg);
/* Whether the command line can run as a daemon (no stdio).  0 or -EINVAL with err_set(). */
int daemonize_check(const struct vm_config *cfg);

/*
 * Fork the daemon (twice, with setsid() in between, as QEMU does).  The
 * caller's process never returns: it waits until the daemon calls
 * daemonize_ready() (exit 0) or ends without doing so (exit 1; the daemon has
 * printed why on the caller's stderr, which it shares until then).  The
 * daemon gets 0; -errno with err_set() if there is no daemon.
 */
int daemonize_start(void);
/* Set up: tell the caller's process, which exits 0; stdin/out/err become /dev/null. */
void daemonize_ready(void);

struct pidfile {
	int fd; /* -1: none */
	const char *path;
};

/*
 * Create and lock (an OFD lock, held until pidfile_remove() or the exit)
 * @path; -EBUSY naming the pid in it when another kvmini holds it.  0 or
 * -errno with err_set().
 */
int pidfile_open(struct pidfile *pf, const char *path);
/* Write this process's pid.  0 or -errno with err_set(). */
int pidfile_write(struct pidfile *pf);
/* Unlink the file (if it is still ours) and drop the lock.  Idempotent. */
void pidfile_remove(struct pidfile *pf);

/*
 * The main thread's name (/proc/PID/comm, what ps and top show): -name's
 * process=TITLE, else "kvmini:NAME"; at most 15 bytes (the kernel's limit).
 * Writes it to @buf (16 bytes).  Nothing without -name.
 */
void process_title(const struct vm_config *cfg, char *buf);
int process_title_set(const struct vm_config *cfg);

#endif
