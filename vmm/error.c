// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "error.h"

static __thread char err_buf[512];

int err_set(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return -errnum;
}

int err_prefix(int ret, const char *fmt, ...)
{
	char msg[sizeof(err_buf)];
	size_t len, room;
	va_list ap;

	snprintf(msg, sizeof(msg), "%s", err_msg(ret));
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	/* "PREFIX: message", cut at the buffer's end like any other message. */
	len = strlen(err_buf);
	if (len + 2 < sizeof(err_buf)) {
		memcpy(err_buf + len, ": ", 2);
		len += 2;
	}
	room = sizeof(err_buf) - 1 - len;
	if (strlen(msg) < room)
		room = strlen(msg);
	memcpy(err_buf + len, msg, room);
	err_buf[len + room] = '\0';
	return ret;
}

const char *err_msg(int errnum)
{
	if (err_buf[0])
		return err_buf;
	return strerror(errnum < 0 ? -errnum : errnum);
}

void err_clear(void)
{
	err_buf[0] = '\0';
}

static void pr_va(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One write per line so lines from several threads do not interleave. */
	fprintf(stderr, "kvmini: %s%s\n", prefix, line);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pr_va("", fmt, ap);
	va_end(ap);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pr_va("warning: ", fmt, ap);
	va_end(ap);
}
