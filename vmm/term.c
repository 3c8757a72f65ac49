// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include "term.h"

static struct termios saved_tio;
static int saved_fd = -1;
static volatile sig_atomic_t raw_active;

void term_restore(void)
{
	if (raw_active) {
		tcsetattr(saved_fd, TCSANOW, &saved_tio);
		raw_active = 0;
	}
}

/* A crash must not leave the user's terminal unusable. */
static void term_fatal_signal(int sig)
{
	term_restore();
	raise(sig); /* SA_RESETHAND: the default action now */
}

static void term_install_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	atexit(term_restore);
}

int term_raw(int fd)
{
	static int handlers_installed;
	struct termios tio;

	if (tcgetattr(fd, &tio))
		return -errno;
	saved_tio = tio;
	saved_fd = fd;
	/* Like QEMU's stdio chardev: raw input, no local echo or signals, output still cooked. */
	tio.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	tio.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	tio.c_cflag |= CS8;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (!handlers_installed) {
		term_install_handlers();
		handlers_installed = 1;
	}
	raw_active = 1;
	if (tcsetattr(fd, TCSANOW, &tio)) {
		raw_active = 0;
		return -errno;
	}
	return 0;
}
