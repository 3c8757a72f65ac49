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
