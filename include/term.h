/* SPDX-License-Identifier: MIT */
/*
 * Raw terminal mode for the console, restored on every way out of the
 * process: normal exit, fatal signals, and termination signals.
 */
#ifndef KVMINI_TERM_H
#define KVMINI_TERM_H

/* Put tty @fd into raw mode (no echo, no line editing, no signals). */
int term_raw(int fd);
/* Restore what term_raw() changed.  Async-signal-safe; idempotent. */
void term_restore(void);

#endif
