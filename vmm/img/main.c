// SPDX-License-Identifier: MIT
/*
 * kvmini-img: qemu-img's command shapes on kvmini's image code
 * (include/qcow2.h).  This file dispatches the commands and holds what they
 * share: messages, option parsing, opening images and progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_lock.h"
#include "error.h"
#include "img_cmd.h"

#define KVMINI_IMG_VERSION "0.1"

static const char usage_text[] =
	"usage: kvmini-img COMMAND [OPTIONS] ARGS\n"
	"\n"
	"Commands (as qemu-img's):\n"
	"  create [-q] [-f FMT] [-b BACKING -F BACKING_FMT] [-u] [-o OPTIONS] FILE [SIZE]\n"
	"  info [-f FMT] [--output=human|json] [--backing-chain] FILE\n"
	"  convert [-p] [-q] [-c] [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] INPUT OUTPUT\n"
	"  check [-q] [-f FMT] [-r leaks|all] [--output=human|json] FILE\n"
	"  map [-f FMT] [--output=human|json] FILE\n"
	"  snapshot [-q] [-f FMT] [-l | -c NAME | -a NAME | -d NAME] FILE\n"
	"  resize [-q] [-f FMT] [--shrink] FILE [+|-]SIZE\n"
	"  compare [-q] [-f FMT] [-F FMT] [-s] FILE1 FILE2\n"
	"\n"
	"FMT is raw or qcow2 (probed when not given). SIZE is bytes, or a number with a\n"
	"k, M, G, T, P or E suffix (powers of 1024). qcow2 OPTIONS (-o, comma-separated):\n"
	"  compat=0.10|1.1, cluster_size=SIZE, lazy_refcounts=on|off,\n"
	"  compression_type=zlib|zstd, refcount_bits=N, backing_file=FILE, backing_fmt=FMT\n"
	"-p shows progress on stdout, -q prints nothing on stdout. Commands that write take\n"
	"QEMU's image locks: an image a VM is using is refused. Readers take none (-U is\n"
	"accepted and changes nothing; so is -u).\n"
	"\n"
	"Exit status: 0 success, 1 error; check: 2 corruptions, 3 leaked clusters left,\n"
	"63 the format has no checks; compare: 1 the images differ, 2 error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "create", cmd_create }, { "info", cmd_info },	      { "convert", cmd_convert },
	{ "check", cmd_check },	  { "map", cmd_map },	      { "snapshot", cmd_snapshot },
	{ "resize", cmd_resize }, { "compare", cmd_compare },
};

static void img_err_va(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "kvmini-img: %s\n", line);
}

int img_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	img_err_va(fmt, ap);
	va_end(ap);
	return 1;
}

int img_fail(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	img_err_va(fmt, ap);
	va_end(ap);
	return ret;
}

int img_err_file(const char *file, int ret)
{
	const char *msg = err_msg(ret);
	size_t len = strlen(file);

	/* Most of the engine's messages name the file already. */
	if (!strncmp(msg, file, len) && !strncmp(msg + len, ": ", 2))
		img_err("%s", msg);
	else
		img_err("%s: %s", file, msg);
	return ret;
}

int img_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c, idx = optind;
	const char *word;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == OPT_HELP) {
		fputs(usage_text, stdout);
		exit(0);
	}
	if (c != '?' && c != ':')
		return c;
	/* The offending word is the one getopt just looked at (optind may have moved past it). */
	word = argv[optind > idx ? optind - 1 : idx];
	if (optopt >= OPT_HELP || (optopt && strchr(shortopts, optopt)))
		img_err("%s: option '%s' needs an argument", argv[0], word);
	else if (optopt)
		img_err("%s: unknown option '-%c' (see kvmini-img --help)", argv[0], optopt);
	else
		img_err("%s: unknown option '%s' (see kvmini-img --help)", argv[0], word);
	return '?';
}

int img_parse_output(const char *arg, bool *json)
{
	if (!strcmp(arg, "json"))
		*json = true;
	else if (!strcmp(arg, "human"))
		*json = false;
	else
		return img_fail(-EINVAL, "--output=%s: use human or json", arg);
	return 0;
}

int img_need_args(int argc, char **argv, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return img_fail(-EINVAL, "%s: expecting %s (see kvmini-img --help)", argv[0],
				n ? "more arguments" : "a filename");
	if (n > max)
		return img_fail(-EINVAL, "%s: unexpected argument '%s'", argv[0],
				argv[optind + max]);
	return 0;
}

int img_size_arg(const char *s, uint64_t *size)
{
	if (img_parse_size(s, size))
		return img_fail(-EINVAL,
				"invalid size '%s': use bytes or a k, M, G, T, P or E suffix", s);
	return 0;
}

void img_set_quiet(void)
{
	if (!freopen("/dev/null", "w", stdout))
		fclose(stdout);
}

int img_parse_format(const char *name, enum img_format *fmt)
{
	if (!strcmp(name, "raw"))
		*fmt = IMG_FORMAT_RAW;
	else if (!strcmp(name, "qcow2"))
		*fmt = IMG_FORMAT_QCOW2;
	else
		return img_fail(-EINVAL, "unknown format '%s' (supported: raw, qcow2)", name);
	return 0;
}

int img_open_path(struct img **img, const char *path, const char *fmt, unsigned int flags)
{
	struct img_open_opts o = {
		.format = fmt,
		.readwrite = flags & IMG_OPEN_RW,
		.no_backing = flags & IMG_OPEN_NO_BACKING,
		.check = flags & IMG_OPEN_CHECK,
		/* Writers lock like QEMU does; readers share, as qemu-img -U. */
		.lock = flags & IMG_OPEN_RW,
		/* The engine's warning names kvmini and its -drive option: ours is below. */
		.quiet = true,
	};
	struct img_info info;
	enum img_format f;
	int ret;

	if (fmt && img_parse_format(fmt, &f))
		return -EINVAL;
	err_clear();
	ret = img_open(img, path, &o);
	if (ret)
		return img_err_file(path, ret);
	img_get_info(*img, &info);
	/* As qemu-img, warn about a guessed raw format only when writing: block 0 could be anything. */
	if (!fmt && (flags & IMG_OPEN_RW) && info.format == IMG_FORMAT_RAW)
		fprintf(stderr,
			"kvmini-img: warning: %s: the image format was not specified and probing "
			"guessed raw; use -f raw to remove this warning\n",
			path);
	return 0;
}

int img_check_unused(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0)
		return 0;
	err_clear();
	ret = block_lock(fd, true);
	close(fd);
	return ret ? img_err_file(path, ret) : 0;
}

static void progress_print(double pct)
{
	printf("    (%.2f/100%%)\r", pct);
	fflush(stdout);
}

void progress_update(struct progress *p, uint64_t done, uint64_t total)
{
	double pct = total ? (double)done * 100.0 / (double)total : 100.0;

	if (!p->on)
		return;
	if (p->last < 0 || pct >= p->last + 1.0 || (pct == 100.0 && p->last < 100.0)) {
		progress_print(pct);
		p->last = pct;
	}
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	progress_print(100.0);
	putchar('\n');
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	size_t i;

	if (!cmd)
		return img_err("no command given (see kvmini-img --help)");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("kvmini-img version " KVMINI_IMG_VERSION "\n");
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return img_err("unknown option '%s' (see kvmini-img --help)", cmd);
	return img_err("unknown command '%s' (see kvmini-img --help)", cmd);
}
