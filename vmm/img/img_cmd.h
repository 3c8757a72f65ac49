/* SPDX-License-Identifier: MIT */
/*
 * kvmini-img: the commands and the helpers they share.  Every command takes
 * its argv (argv[0] is the command's name), prints its own messages and
 * returns the process exit status.
 */
#ifndef KVMINI_IMG_CMD_H
#define KVMINI_IMG_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcow2.h"

int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* ---- messages ---- */

/* "kvmini-img: <fmt...>" and a newline on stderr; returns 1 (the usual exit status). */
int img_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, returning @ret (a -errno) for functions that pass errors on. */
int img_fail(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "kvmini-img: FILE: <what the engine recorded for @ret>"; returns @ret. */
int img_err_file(const char *file, int ret);

/* The table of qemu-img snapshot -l (the header line and a line per snapshot). */
void snapshot_print_table(struct img *img);

/*
 * The names qemu-img gives the layers of @top's chain, malloc'd into
 * @names (room for IMG_MAX_CHAIN + 1): @top_name, then each backing file
 * combined with its parent's name.  Returns how many were set.
 */
unsigned int layer_names(struct img *top, const char *top_name, char **names);

/* json_dumps() as qemu-img prints JSON (4-space indent, keys in insertion order), then frees @j. */
struct json_t;
void print_json(struct json_t *j);

/* ---- options ---- */

/* getopt values of the long options (--help, --output, --backing-chain, --shrink). */
enum { OPT_HELP = 0x100, OPT_OUTPUT, OPT_BACKING_CHAIN, OPT_SHRINK };

/*
 * getopt_long() for a command, with getopt's own messages replaced by one
 * line naming the command.  Returns the option, -1 at the end, or '?' after
 * printing the error.  --help prints the usage and exits 0.
 */
int img_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* --output=human|json: false for human, true for json; -EINVAL after an error line. */
int img_parse_output(const char *arg, bool *json);

/* img_parse_size() of a command-line argument; -EINVAL after an error line. */
int img_size_arg(const char *s, uint64_t *size);

/* -q: what the command prints on stdout goes nowhere (errors still go to stderr). */
void img_set_quiet(void);

/* The positional arguments left after the options: exactly @min..@max of them. */
int img_need_args(int argc, char **argv, int min, int max);

/* ---- parsers (vmm/img/parse.c, pure: unit-tested) ---- */

/*
 * A size as qemu-img takes it: a decimal (or 0x hex) number, optionally
 * with a fraction when a suffix follows, and a suffix b/k/M/G/T/P/E (either
 * case, powers of 1024); a bare number is bytes.  At most INT64_MAX.
 * 0 or -EINVAL.
 */
int img_parse_size(const char *s, uint64_t *size);

/* qemu's human size ("64 MiB", "1.25 MiB", "0 B") into @buf. */
void size_to_str(uint64_t val, char *buf, size_t len);

/* Add one -o argument to the comma-separated list @acc (malloc'd, NULL: empty).  0 or -ENOMEM. */
int append_opt_list(char **acc, const char *arg);

/*
 * Apply the creation options in @list (key=value,..., ",," for a comma in
 * a value; NULL: none) to @opts, whose format decides which keys are valid.
 * Strings in @opts point into @store: opts_free() it after using them.
 * 0, or -EINVAL with err_set() naming the bad key or value.
 */
struct opts;
int parse_create_opts(const char *list, struct opts *store, struct img_create_opts *opts);

/* ---- images ---- */

/* The I/O unit of commands that go through whole images: a multiple of every cluster size. */
#define IMG_CHUNK (2u << 20)

/* The end of the chunk that holds @off, or @size if that comes first. */
static inline uint64_t img_chunk_end(uint64_t off, uint64_t size)
{
	uint64_t end = (off / IMG_CHUNK + 1) * IMG_CHUNK;

	return end < size ? end : size;
}

enum {
	IMG_OPEN_RW = 1 << 0,	      /* read-write, with QEMU's write lock */
	IMG_OPEN_NO_BACKING = 1 << 1, /* this layer only */
	IMG_OPEN_CHECK = 1 << 2,      /* for check: corrupt or dirty images too */
};

/* img_open() @path as @fmt (NULL: probe); prints the error line itself.  0 or -errno. */
int img_open_path(struct img **img, const char *path, const char *fmt, unsigned int flags);

/*
 * Fails (with an error line) when @path exists and a process (a VM) holds
 * QEMU's locks on it: for commands that replace the file rather than open
 * it.  0 or -errno.
 */
int img_check_unused(const char *path);

/* "raw" or "qcow2" into @fmt; -EINVAL after an error line for anything else. */
int img_parse_format(const char *name, enum img_format *fmt);

/*
 * Progress in "    (12.34/100%)\r" lines on stdout, as qemu-img -p prints
 * them: one each time the percentage moves by a whole point.
 */
struct progress {
	bool on;
	double last; /* the percentage printed last, -1 before the first */
};
void progress_update(struct progress *p, uint64_t done, uint64_t total);
void progress_end(struct progress *p);

#endif
