// SPDX-License-Identifier: MIT
/*
 * ptyrun - run a command on a fresh pseudo-terminal with scripted input.
 *
 * usage: ptyrun [-t TIMEOUT_S] [-o OUTFILE] [-D BYTE_DELAY_MS] [STEP...] -- cmd [args...]
 *
 * Steps run in command-line order while the child's output is being copied:
 *   -w TEXT   wait until TEXT appears in output not yet matched by an earlier -w
 *   -i TEXT   send TEXT to the child (C escapes: \r \n \t \e \a \\ \xHH \NNN, ^A style
 *             control characters are written as \x01)
 *   -d MS     sleep MS milliseconds (output keeps being copied)
 *   -k SIG    send signal SIG (a number or a name: TERM, INT, HUP, KILL, ...) to the child
 *   -D MS     delay between the bytes of the following -i steps (default 0)
 *
 * Everything the child prints goes to stdout, or to OUTFILE with -o.
 * The child gets the pty slave as controlling terminal and stdin/stdout/stderr; the terminal
 * starts in the usual cooked mode (ECHO, ICANON, ISIG, OPOST/ONLCR) with a 80x24 size.
 *
 * Exit status: the child's exit status (128 + N if killed by signal N), or
 *   123 the child exited before every step ran (a -w text never appeared),
 *   124 timeout (default 10 s): the child's process group got SIGTERM, then SIGKILL,
 *   125 the child left the terminal settings changed ("ptyrun: terminal left in raw mode"
 *       when ECHO or ICANON is off),
 *   127 the command could not be run,
 *   2   usage or setup error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SCRIPT  123
#define EXIT_TIMEOUT 124
#define EXIT_TERMIOS 125
#define EXIT_NOEXEC  127
#define EXIT_USAGE   2

enum step_kind { STEP_WAIT, STEP_SEND, STEP_DELAY, STEP_SIGNAL };

static const char step_option[] = {
	[STEP_WAIT] = 'w',
	[STEP_SEND] = 'i',
	[STEP_DELAY] = 'd',
	[STEP_SIGNAL] = 'k',
};

struct step {
	enum step_kind kind;
	char *data; /* decoded text for STEP_WAIT / STEP_SEND */
	size_t len;
	long ms;	 /* STEP_DELAY: delay; STEP_SEND: per-byte delay; STEP_SIGNAL: signal */
	const char *arg; /* original argument, for messages */
};

static struct step *steps;
static size_t nr_steps;

/* All output seen so far; -w searches from match_pos. */
static char *outbuf;
static size_t out_len, out_cap, match_pos;

static int out_fd = STDOUT_FILENO;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "ptyrun: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ptyrun [-t TIMEOUT_S] [-o OUTFILE] [-D BYTE_DELAY_MS] [-w TEXT|-i TEXT|-d MS|-k SIG]..."
		" -- cmd [args...]\n"
		"  -w TEXT  wait for TEXT in the output    -i TEXT  send TEXT (escapes: \\r \\n \\xHH ...)\n"
		"  -d MS    pause MS milliseconds          -D MS    delay between bytes of later -i\n"
		"  -k SIG   send signal SIG to the child\n"
		"exit: child's status, 123 script incomplete, 124 timeout, 125 terminal not restored\n");
	exit(EXIT_USAGE);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode C-style escapes; returns a malloc'd buffer and its length in *len. */
static char *decode(const char *s, size_t *len)
{
	char *buf = malloc(strlen(s) + 1);
	size_t n = 0;

	if (!buf)
		die("%s", "out of memory");
	while (*s) {
		char c = *s++;

		if (c != '\\') {
			buf[n++] = c;
			continue;
		}
		c = *s++;
		switch (c) {
		case 'r':
			buf[n++] = '\r';
			break;
		case 'n':
			buf[n++] = '\n';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case 'e':
			buf[n++] = 0x1b;
			break;
		case 'a':
			buf[n++] = 0x07;
			break;
		case 'b':
			buf[n++] = 0x08;
			break;
		case 'x': {
			int v = 0, digits = 0;

			while (digits < 2 && hexval(*s) >= 0)
				v = v * 16 + hexval(*s++), digits++;
			if (!digits)
				die("bad \\x escape in '%s'", s - 2);
			buf[n++] = (char)v;
			break;
		}
		case '0' ... '7': {
			int v = c - '0', digits = 1;

			while (digits < 3 && *s >= '0' && *s <= '7')
				v = v * 8 + (*s++ - '0'), digits++;
			buf[n++] = (char)v;
			break;
		}
		case '\0':
			die("%s", "trailing backslash in text");
			break;
		default: /* "\\" and any other escaped character stand for themselves */
			buf[n++] = c;
			break;
		}
	}
	*len = n;
	return buf;
}

/* A signal number, or a name with or without "SIG" (glibc's sigabbrev_np). */
static int parse_signal(const char *arg)
{
	char *end;
	long v;
	int sig;

	if (!strncmp(arg, "SIG", 3))
		arg += 3;
	for (sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);

		if (name && !strcmp(arg, name))
			return sig;
	}
	v = strtol(arg, &end, 10);
	if (*end || end == arg || v <= 0 || v >= NSIG)
		die("bad signal '%s'", arg);
	return (int)v;
}

static void add_step(enum step_kind kind, const char *arg, long byte_delay)
{
	struct step *st;

	steps = realloc(steps, (nr_steps + 1) * sizeof(*steps));
	if (!steps)
		die("%s", "out of memory");
	st = &steps[nr_steps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->arg = arg;
	if (kind == STEP_SIGNAL) {
		st->ms = parse_signal(arg);
	} else if (kind == STEP_DELAY) {
		char *end;

		st->ms = strtol(arg, &end, 10);
		if (*end || end == arg || st->ms < 0)
			die("bad delay '%s'", arg);
	} else {
		st->data = decode(arg, &st->len);
		st->ms = byte_delay;
		if (kind == STEP_WAIT && !st->len)
			die("%s", "empty -w text");
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return; /* output gone: keep running the child anyway */
		}
		buf += r;
		len -= (size_t)r;
	}
}

static void record_output(const char *buf, size_t len)
{
	if (out_len + len > out_cap) {
		size_t cap = out_cap ? out_cap : 4096;

		while (cap < out_len + len)
			cap *= 2;
		outbuf = realloc(outbuf, cap);
		if (!outbuf)
			die("%s", "out of memory");
		out_cap = cap;
	}
	memcpy(outbuf + out_len, buf, len);
	out_len += len;
	write_all(out_fd, buf, len);
}

/* Read what is available on the master. Returns false once the slave side is gone (EIO/EOF). */
static bool pump_output(int master)
{
	char buf[4096];

	for (;;) {
		ssize_t r = read(master, buf, sizeof(buf));

		if (r > 0) {
			record_output(buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		return false; /* 0 or EIO: every slave fd is closed */
	}
}

static bool wait_matched(const struct step *st)
{
	char *hit;

	if (out_len - match_pos < st->len)
		return false;
	hit = memmem(outbuf + match_pos, out_len - match_pos, st->data, st->len);
	if (!hit)
		return false;
	match_pos = (size_t)(hit - outbuf) + st->len;
	return true;
}

/* Only there so that SIGCHLD interrupts poll(). */
static void on_sigchld(int sig)
{
	(void)sig;
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void describe_flags(const char *name, tcflag_t before, tcflag_t after)
{
	fprintf(stderr, "ptyrun:   %s was %#lo, now %#lo\n", name, (unsigned long)before,
		(unsigned long)after);
}

/* Compare the terminal settings left behind with the initial ones. Returns true if restored. */
static bool check_termios(int master, const struct termios *orig)
{
	struct termios now;
	bool ok = true;

	if (tcgetattr(master, &now) < 0) {
		fprintf(stderr, "ptyrun: tcgetattr on pty after exit: %s\n", strerror(errno));
		return true; /* cannot tell; do not fail the run for it */
	}
	if ((now.c_lflag & (ECHO | ICANON)) != (orig->c_lflag & (ECHO | ICANON))) {
		fprintf(stderr, "ptyrun: terminal left in raw mode (ECHO %s, ICANON %s)\n",
			now.c_lflag & ECHO ? "on" : "off", now.c_lflag & ICANON ? "on" : "off");
		ok = false;
	} else if (now.c_lflag != orig->c_lflag || now.c_iflag != orig->c_iflag ||
		   now.c_oflag != orig->c_oflag || now.c_cflag != orig->c_cflag) {
		fprintf(stderr, "ptyrun: terminal settings not restored\n");
		ok = false;
	}
	if (!ok) {
		describe_flags("c_iflag", orig->c_iflag, now.c_iflag);
		describe_flags("c_oflag", orig->c_oflag, now.c_oflag);
		describe_flags("c_cflag", orig->c_cflag, now.c_cflag);
		describe_flags("c_lflag", orig->c_lflag, now.c_lflag);
	}
	return ok;
}

static int open_pty(int *slave_out, struct termios *orig)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios t;
	int master, slave;
	char *name;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		perror("ptyrun: posix_openpt");
		exit(EXIT_USAGE);
	}
	name = ptsname(master);
	if (!name) {
		perror("ptyrun: ptsname");
		exit(EXIT_USAGE);
	}
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		perror("ptyrun: open pty slave");
		exit(EXIT_USAGE);
	}
	/* A known starting point: cooked mode with echo, like a login terminal. */
	if (tcgetattr(slave, &t) < 0) {
		perror("ptyrun: tcgetattr");
		exit(EXIT_USAGE);
	}
	t.c_iflag |= ICRNL | IXON;
	t.c_iflag &= ~(INLCR | IGNCR);
	t.c_oflag |= OPOST | ONLCR;
	t.c_lflag |= ECHO | ECHOE | ECHOK | ICANON | ISIG | IEXTEN;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(slave, TCSANOW, &t) < 0 || ioctl(slave, TIOCSWINSZ, &ws) < 0) {
		perror("ptyrun: setting up pty");
		exit(EXIT_USAGE);
	}
	if (tcgetattr(master, orig) < 0) {
		perror("ptyrun: tcgetattr on master");
		exit(EXIT_USAGE);
	}
	*slave_out = slave;
	return master;
}

static pid_t start_child(int master, int slave, char **argv, int errpipe)
{
	pid_t pid = fork();
	int err;

	if (pid < 0) {
		perror("ptyrun: fork");
		exit(EXIT_USAGE);
	}
	if (pid)
		return pid;

	/* child */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	close(master);
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		goto fail;
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
		goto fail;
	if (slave > 2)
		close(slave);
	execvp(argv[0], argv);
fail:
	err = errno;
	if (write(errpipe, &err, sizeof(err)) < 0)
		_exit(EXIT_NOEXEC);
	_exit(EXIT_NOEXEC);
}

static void kill_child(pid_t pid)
{
	int64_t deadline = now_ms() + 2000;
	int status;

	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	while (now_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Send one byte (or everything) of the current send step; returns true when it is done. */
static bool do_send(int master, struct step *st, size_t *sent, int64_t *next_at)
{
	while (*sent < st->len) {
		size_t chunk = st->ms ? 1 : st->len - *sent;
		ssize_t r;

		if (now_ms() < *next_at)
			return false;
		r = write(master, st->data + *sent, chunk);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return false;
			fprintf(stderr, "ptyrun: write to pty: %s\n", strerror(errno));
			*sent = st->len;
			return true;
		}
		*sent += (size_t)r;
		if (st->ms)
			*next_at = now_ms() + st->ms;
	}
	return true;
}

int main(int argc, char **argv)
{
	double timeout_s = 10.0;
	const char *outfile = NULL;
	long byte_delay = 0;
	struct termios orig;
	struct sigaction sa;
	int master, slave, errpipe[2], status = 0, opt, err, code;
	size_t cur = 0, sent = 0;
	int64_t deadline, step_until = -1, next_byte_at = 0;
	bool child_done = false, slave_open = true, timed_out = false;
	pid_t pid;
	ssize_t r;

	while ((opt = getopt(argc, argv, "+t:o:w:i:d:D:k:h")) != -1) {
		char *end;

		switch (opt) {
		case 't':
			timeout_s = strtod(optarg, &end);
			if (*end || end == optarg || timeout_s <= 0)
				die("bad timeout '%s'", optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		case 'w':
			add_step(STEP_WAIT, optarg, 0);
			break;
		case 'i':
			add_step(STEP_SEND, optarg, byte_delay);
			break;
		case 'd':
			add_step(STEP_DELAY, optarg, 0);
			break;
		case 'k':
			add_step(STEP_SIGNAL, optarg, 0);
			break;
		case 'D':
			byte_delay = strtol(optarg, &end, 10);
			if (*end || end == optarg || byte_delay < 0)
				die("bad byte delay '%s'", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();

	if (outfile) {
		out_fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			fprintf(stderr, "ptyrun: %s: %s\n", outfile, strerror(errno));
			return EXIT_USAGE;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	master = open_pty(&slave, &orig);
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		perror("ptyrun: pipe");
		return EXIT_USAGE;
	}
	pid = start_child(master, slave, argv + optind, errpipe[1]);
	close(errpipe[1]);
	close(slave);

	/* The exec either succeeds (pipe closes: read returns 0) or reports errno. */
	do {
		r = read(errpipe[0], &err, sizeof(err));
	} while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	if (r == sizeof(err)) {
		fprintf(stderr, "ptyrun: cannot run %s: %s\n", argv[optind], strerror(err));
		waitpid(pid, &status, 0);
		return EXIT_NOEXEC;
	}

	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	deadline = now_ms() + (int64_t)(timeout_s * 1000.0);

	while (!child_done) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		int64_t now = now_ms(), wait_ms = 20;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			child_done = true;
			break;
		}
		if (now >= deadline) {
			timed_out = true;
			break;
		}

		/* Advance the script as far as possible. */
		while (cur < nr_steps) {
			struct step *st = &steps[cur];

			if (st->kind == STEP_WAIT) {
				if (!wait_matched(st))
					break;
			} else if (st->kind == STEP_SIGNAL) {
				kill(pid, (int)st->ms);
			} else if (st->kind == STEP_DELAY) {
				if (step_until < 0)
					step_until = now + st->ms;
				if (now < step_until)
					break;
				step_until = -1;
			} else {
				if (!do_send(master, st, &sent, &next_byte_at)) {
					pfd.events |= POLLOUT;
					break;
				}
				sent = 0;
			}
			cur++;
		}
		if (step_until >= 0 && step_until - now < wait_ms)
			wait_ms = step_until - now;
		if (next_byte_at > now && next_byte_at - now < wait_ms)
			wait_ms = next_byte_at - now;
		if (deadline - now < wait_ms)
			wait_ms = deadline - now;
		if (wait_ms < 0)
			wait_ms = 0;
		if (!slave_open)
			pfd.fd = -1; /* POLLHUP forever: just tick until waitpid succeeds */

		if (poll(&pfd, 1, (int)wait_ms) < 0 && errno != EINTR) {
			perror("ptyrun: poll");
			break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			slave_open = pump_output(master);
	}

	if (timed_out) {
		kill_child(pid);
		pump_output(master);
		fprintf(stderr, "ptyrun: timeout after %g s, killed %s\n", timeout_s, argv[optind]);
		return EXIT_TIMEOUT;
	}

	/*
	 * Drain what the child wrote before exiting. The pty pushes data to the master through a
	 * work queue, so keep reading until EIO (all slave fds closed) or a short quiet period.
	 */
	if (slave_open) {
		int64_t quiet_until = now_ms() + 200, drain_end = now_ms() + 2000;

		while (now_ms() < quiet_until && now_ms() < drain_end) {
			struct pollfd pfd = { .fd = master, .events = POLLIN };

			if (poll(&pfd, 1, 20) > 0) {
				size_t before = out_len;

				if (!pump_output(master))
					break;
				if (out_len != before)
					quiet_until = now_ms() + 200;
			}
		}
	}

	/* The remaining -w steps can still match output that arrived after the exit. */
	while (cur < nr_steps && (steps[cur].kind == STEP_DELAY ||
				  (steps[cur].kind == STEP_WAIT && wait_matched(&steps[cur]))))
		cur++;

	code = status_code(status);
	if (!check_termios(master, &orig))
		return EXIT_TERMIOS;
	if (cur < nr_steps) {
		fprintf(stderr, "ptyrun: %s exited (status %d) before step %zu (-%c '%s')\n",
			argv[optind], code, cur + 1, step_option[steps[cur].kind], steps[cur].arg);
		return EXIT_SCRIPT;
	}
	if (outfile)
		close(out_fd);
	return code;
}
