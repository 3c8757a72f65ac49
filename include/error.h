/* SPDX-License-Identifier: MIT */
/*
 * Error reporting without die(): a failing function records one sentence
 * saying what was wrong (and what to do) and returns -errno.  The caller at
 * the top prefixes it with the context (the option, the file) and prints one
 * line.  The message is per thread.
 */
#ifndef KVMINI_ERROR_H
#define KVMINI_ERROR_H

#include <stdarg.h>

/* Record a message and return -@errnum (errnum is a positive errno). */
int err_set(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Put context in front of the recorded message ("PREFIX: message") for a
 * caller that knows what the failing call was about.  Returns @ret.
 */
int err_prefix(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message, or strerror of @errnum when none was recorded. */
const char *err_msg(int errnum);

/* Forget the recorded message. */
void err_clear(void);

/* Print "kvmini: <fmt...>" and a newline to stderr. */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "kvmini: warning: <fmt...>" and a newline to stderr. */
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
