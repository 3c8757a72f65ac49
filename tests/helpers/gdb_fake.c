// SPDX-License-Identifier: MIT
/*
 * gdb_fake - kvmini's gdb server on a fake target, for tests with the real gdb.
 *
 * usage: gdb_fake [-S] [-1] ADDR
 *   ADDR  tcp:[HOST]:PORT or unix:PATH, as for kvmini -gdb
 *   -S    start stopped (as kvmini -S); otherwise "running" until gdb connects
 *   -1    exit after the first client detaches or disconnects
 *
 * The target has 2 CPUs and 4 KiB of memory, seen at FAKE_VIRT (virtual) and
 * FAKE_PHYS (physical); anything else is unmapped.  Continue stops at the first
 * execution breakpoint inserted (rip moved there), else at the first watchpoint,
 * else runs until interrupted; a step adds 1 to rip.  Every call the server makes
 * is logged on stdout as "fake: ..." for the test to check.  Exit status 0, or 1
 * with a message on stderr.
 *
 * Built on its own (the helper rule links no kvmini library), so it compiles the
 * server's sources in; the unit tests and the fuzzer include it with GDB_FAKE_LIB
 * for the fake target alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GDB_FAKE_LIB
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../vmm/error.c"
#include "../../vmm/event_loop.c"
#include "../../vmm/gdb_proto.c"
#include "../../vmm/gdb_server.c"
#include "../../vmm/listen.c"
#include "../../vmm/util.c"
#endif

#include "gdb.h"
#include "gdb_proto.h"
#include "util.h"

#define FAKE_CPUS    2
#define FAKE_MEMSIZE 4096
#define FAKE_VIRT    0xffffffff81000000ULL
#define FAKE_PHYS    0x100000ULL
#define FAKE_BPS     16
#define FAKE_HW_BPS  4

struct fake_bp {
	bool used;
	enum gdb_bp_type type;
	uint64_t addr, len;
};

struct fake_target {
	unsigned int nr_cpus;
	uint8_t regs[FAKE_CPUS][GDB_NR_REGS][16];
	uint8_t mem[FAKE_MEMSIZE];
	struct fake_bp bps[FAKE_BPS];
	enum gdb_action actions[FAKE_CPUS];
	unsigned int resumes, interrupts, detaches, kills;
	bool running;
	/* The stop to report; notify() tells whoever delivers it (an eventfd, a test). */
	struct gdb_stop pending;
	bool has_pending;
	void (*notify)(struct fake_target *f);
	bool verbose;
};

static void fake_log(struct fake_target *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fake_log(struct fake_target *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->verbose)
		return;
	va_start(ap, fmt);
	fputs("fake: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
}

static void fake_init(struct fake_target *f)
{
	memset(f, 0, sizeof(*f));
	f->nr_cpus = FAKE_CPUS;
	for (unsigned int c = 0; c < FAKE_CPUS; c++) {
		for (unsigned int r = GDB_RAX; r <= GDB_R15; r++)
			put_le(f->regs[c][r], 0x1000ULL * (c + 1) + r, 8);
		put_le(f->regs[c][GDB_RIP], FAKE_VIRT + 0x10 * c, 8);
		put_le(f->regs[c][GDB_RSP], FAKE_VIRT + 0x800, 8);
		put_le(f->regs[c][GDB_EFLAGS], 0x2, 4);
		put_le(f->regs[c][GDB_CS], 0x10, 4);
		put_le(f->regs[c][GDB_SS], 0x18, 4);
		put_le(f->regs[c][GDB_FCTRL], 0x37f, 4);
		put_le(f->regs[c][GDB_MXCSR], 0x1f80, 4);
		put_le(f->regs[c][GDB_CR0], 0x80050033, 8);
		put_le(f->regs[c][GDB_CR3], 0x1000, 8);
		put_le(f->regs[c][GDB_CR4], 0x20, 8);
		put_le(f->regs[c][GDB_EFER], 0xd01, 8);
	}
	for (unsigned int i = 0; i < FAKE_MEMSIZE; i++)
		f->mem[i] = (uint8_t)(i * 7 + 1);
}

static uint64_t fake_rip(struct fake_target *f, unsigned int cpu)
{
	return get_le(f->regs[cpu][GDB_RIP], 8);
}

static unsigned int fake_nr_cpus(void *t)
{
	return ((struct fake_target *)t)->nr_cpus;
}

/* k_gs_base is "not available" here: the server must send xx for it. */
static int fake_read_reg(void *t, unsigned int cpu, enum gdb_reg reg, uint8_t *buf)
{
	struct fake_target *f = t;

	if (cpu >= f->nr_cpus || (unsigned int)reg >= GDB_NR_REGS)
		return -EINVAL;
	if (reg == GDB_K_GS_BASE)
		return -EOPNOTSUPP;
	memcpy(buf, f->regs[cpu][reg], gdb_reg_size(reg));
	return 0;
}

static int fake_write_reg(void *t, unsigned int cpu, enum gdb_reg reg, const uint8_t *buf)
{
	struct fake_target *f = t;

	if (cpu >= f->nr_cpus || (unsigned int)reg >= GDB_NR_REGS)
		return -EINVAL;
	if (reg == GDB_K_GS_BASE)
		return -EOPNOTSUPP;
	memcpy(f->regs[cpu][reg], buf, gdb_reg_size(reg));
	fake_log(f, "write_reg cpu=%u reg=%u", cpu, (unsigned int)reg);
	return 0;
}

static uint8_t *fake_mem(struct fake_target *f, uint64_t addr, size_t len, bool phys)
{
	uint64_t base = phys ? FAKE_PHYS : FAKE_VIRT;

	if (addr < base || addr - base > FAKE_MEMSIZE || len > FAKE_MEMSIZE - (addr - base))
		return NULL;
	return f->mem + (addr - base);
}

static int fake_read_mem(void *t, unsigned int cpu, uint64_t addr, void *buf, size_t len, bool phys)
{
	uint8_t *p = fake_mem(t, addr, len, phys);

	(void)cpu;
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

static int fake_write_mem(void *t, unsigned int cpu, uint64_t addr, const void *buf, size_t len,
			  bool phys)
{
	uint8_t *p = fake_mem(t, addr, len, phys);

	(void)cpu;
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	fake_log(t, "write_mem %s 0x%llx len %zu", phys ? "phys" : "virt", (unsigned long long)addr,
		 len);
	return 0;
}

static unsigned int fake_hw_used(struct fake_target *f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < FAKE_BPS; i++)
		n += f->bps[i].used && f->bps[i].type != GDB_BP_SW;
	return n;
}

static int fake_insert_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct fake_target *f = t;

	if (type >= GDB_WP_WRITE && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (type != GDB_BP_SW && fake_hw_used(f) >= FAKE_HW_BPS)
		return -ENOSPC;
	for (unsigned int i = 0; i < FAKE_BPS; i++) {
		if (!f->bps[i].used) {
			f->bps[i] = (struct fake_bp){ true, type, addr, len };
			fake_log(f, "insert_bp type=%d addr=0x%llx len=%llu", type,
				 (unsigned long long)addr, (unsigned long long)len);
			return 0;
		}
	}
	return -ENOSPC;
}

static int fake_remove_bp(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	struct fake_target *f = t;

	for (unsigned int i = 0; i < FAKE_BPS; i++) {
		struct fake_bp *b = &f->bps[i];

		if (b->used && b->type == type && b->addr == addr && b->len == len) {
			b->used = false;
			fake_log(f, "remove_bp type=%d addr=0x%llx", type,
				 (unsigned long long)addr);
			return 0;
		}
	}
	return -ENOENT;
}

static void fake_stop(struct fake_target *f, struct gdb_stop s)
{
	f->running = false;
	f->pending = s;
	f->has_pending = true;
	if (f->notify)
		f->notify(f);
}

static const char *const act_names[] = { "stop", "cont", "step" };

static void fake_resume(void *t, const enum gdb_action *actions)
{
	struct fake_target *f = t;
	char line[128];
	size_t n = 0;
	int first_cont = -1;

	memcpy(f->actions, actions, f->nr_cpus * sizeof(*actions));
	f->resumes++;
	f->running = true;
	for (unsigned int c = 0; c < f->nr_cpus; c++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %u=%s", c + 1,
				      act_names[actions[c]]);
	fake_log(f, "resume%s", line);
	for (unsigned int c = 0; c < f->nr_cpus; c++) {
		if (actions[c] == GDB_ACT_STEP) {
			put_le(f->regs[c][GDB_RIP], fake_rip(f, c) + 1, 8);
			fake_stop(f, (struct gdb_stop){
					     .reason = GDB_STOP_STEP, .cpu = c, .signal = 5 });
			return;
		}
		if (actions[c] == GDB_ACT_CONTINUE && first_cont < 0)
			first_cont = (int)c;
	}
	if (first_cont < 0)
		return;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < FAKE_BPS; i++) {
			struct fake_bp *b = &f->bps[i];
			struct gdb_stop s = { .cpu = (unsigned int)first_cont, .signal = 5 };

			if (!b->used || (pass == 0) != (b->type <= GDB_BP_HW))
				continue;
			if (b->type <= GDB_BP_HW) {
				put_le(f->regs[first_cont][GDB_RIP], b->addr, 8);
				s.reason =
					b->type == GDB_BP_SW ? GDB_STOP_SWBREAK : GDB_STOP_HWBREAK;
			} else {
				s.reason = GDB_STOP_WATCH;
				s.addr = b->addr;
				s.kind = b->type;
			}
			fake_stop(f, s);
			return;
		}
	}
}

static void fake_interrupt(void *t)
{
	struct fake_target *f = t;

	f->interrupts++;
	fake_log(f, "interrupt");
	if (f->running)
		fake_stop(f, (struct gdb_stop){ .reason = GDB_STOP_SIGNAL, .signal = 2 });
}

static void fake_detach(void *t)
{
	struct fake_target *f = t;

	f->detaches++;
	memset(f->bps, 0, sizeof(f->bps));
	f->running = true;
	f->has_pending = false;
	fake_log(f, "detach");
}

static void fake_kill(void *t)
{
	struct fake_target *f = t;

	f->kills++;
	f->running = false;
	fake_log(f, "kill");
}

static int fake_monitor(void *t, const char *cmd, char *out, size_t size)
{
	struct fake_target *f = t;

	if (strcmp(cmd, "info"))
		return -EINVAL;
	snprintf(out, size, "fake target: %u CPUs, %s\n", f->nr_cpus,
		 f->running ? "running" : "stopped");
	return 0;
}

static const struct gdb_target_ops fake_ops = {
	.nr_cpus = fake_nr_cpus,
	.read_reg = fake_read_reg,
	.write_reg = fake_write_reg,
	.read_mem = fake_read_mem,
	.write_mem = fake_write_mem,
	.insert_bp = fake_insert_bp,
	.remove_bp = fake_remove_bp,
	.resume = fake_resume,
	.interrupt = fake_interrupt,
	.detach = fake_detach,
	.kill = fake_kill,
	.monitor = fake_monitor,
};

#ifndef GDB_FAKE_LIB

static struct event_loop loop;
static struct gdb_server *server;
static int stop_fd = -1;
static bool one_shot;

static void notify_eventfd(struct fake_target *f)
{
	(void)f;
	eventfd_write(stop_fd, 1);
}

/* Stops are reported from the loop, later, as a real target does. */
static void stop_event(void *opaque, uint32_t events)
{
	struct fake_target *f = opaque;
	eventfd_t v;

	(void)events;
	if (eventfd_read(stop_fd, &v) || !f->has_pending)
		return;
	f->has_pending = false;
	gdb_server_stopped(server, &f->pending);
}

static void fake_detach_main(void *t)
{
	fake_detach(t);
	if (one_shot)
		event_loop_stop(&loop);
}

static void fake_kill_main(void *t)
{
	fake_kill(t);
	event_loop_stop(&loop);
}

int main(int argc, char **argv)
{
	static struct fake_target f;
	struct gdb_target_ops ops = fake_ops;
	bool start_stopped = false;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-S")) {
			start_stopped = true;
		} else if (!strcmp(argv[i], "-1")) {
			one_shot = true;
		} else {
			fprintf(stderr, "usage: gdb_fake [-S] [-1] tcp:[HOST]:PORT|unix:PATH\n");
			return 1;
		}
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: gdb_fake [-S] [-1] tcp:[HOST]:PORT|unix:PATH\n");
		return 1;
	}
	fake_init(&f);
	f.verbose = true;
	f.running = !start_stopped;
	f.notify = notify_eventfd;
	ops.detach = fake_detach_main;
	ops.kill = fake_kill_main;
	ret = event_loop_init(&loop);
	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ret || stop_fd < 0 || event_loop_add(&loop, stop_fd, EPOLLIN, stop_event, &f)) {
		fprintf(stderr, "gdb_fake: cannot set up the event loop\n");
		return 1;
	}
	ret = gdb_server_create(&server, argv[i], &loop, &ops, &f);
	if (ret) {
		fprintf(stderr, "gdb_fake: %s\n", err_msg(-ret));
		return 1;
	}
	if (start_stopped)
		gdb_server_stopped(server,
				   &(struct gdb_stop){ .reason = GDB_STOP_SIGNAL, .signal = 5 });
	fake_log(&f, "listening on %s", argv[i]);
	ret = event_loop_run(&loop);
	gdb_server_destroy(server);
	event_loop_destroy(&loop);
	close(stop_fd);
	fake_log(&f, "exit");
	return ret ? 1 : 0;
}
#endif
