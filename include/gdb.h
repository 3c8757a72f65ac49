/* SPDX-License-Identifier: MIT */
/*
 * The gdb stub.  Three layers:
 *   vmm/gdb_proto.c   the remote serial protocol's framing: packets, checksums,
 *                     acks, escapes, run-length encoding (no sockets, no KVM)
 *   vmm/gdb_server.c  commands (g, m, Z, vCont, qXfer ...) on a struct gdb_target_ops,
 *                     one client connection on the event loop, all-stop
 *   vmm/gdb_kvm.c     the target: vCPUs stopped and resumed, registers, guest
 *                     memory through the page tables, breakpoints with KVM_SET_GUEST_DEBUG
 * The server never sees KVM; tests drive it with a fake target.
 */
#ifndef KVMINI_GDB_H
#define KVMINI_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_loop;

/*
 * Registers in target.xml order (x86-64): what g/G/p/P carry.  Sizes in
 * bytes are in gdb_reg_size(); x87 and SSE state are there because gdb
 * insists on them for i386:x86-64.
 */
enum gdb_reg {
	GDB_RAX,
	GDB_RBX,
	GDB_RCX,
	GDB_RDX,
	GDB_RSI,
	GDB_RDI,
	GDB_RBP,
	GDB_RSP,
	GDB_R8,
	GDB_R9,
	GDB_R10,
	GDB_R11,
	GDB_R12,
	GDB_R13,
	GDB_R14,
	GDB_R15,
	GDB_RIP,
	GDB_EFLAGS,
	GDB_CS,
	GDB_SS,
	GDB_DS,
	GDB_ES,
	GDB_FS,
	GDB_GS,
	GDB_ST0, /* ... GDB_ST7: 10 bytes each */
	GDB_FCTRL = GDB_ST0 + 8,
	GDB_FSTAT,
	GDB_FTAG,
	GDB_FISEG,
	GDB_FIOFF,
	GDB_FOSEG,
	GDB_FOOFF,
	GDB_FOP,
	GDB_XMM0, /* ... GDB_XMM15: 16 bytes each */
	GDB_MXCSR = GDB_XMM0 + 16,
	GDB_FS_BASE,
	GDB_GS_BASE,
	GDB_K_GS_BASE,
	GDB_CR0,
	GDB_CR2,
	GDB_CR3,
	GDB_CR4,
	GDB_CR8,
	GDB_EFER,
	GDB_NR_REGS,
};

unsigned int gdb_reg_size(enum gdb_reg reg);

enum gdb_bp_type {
	GDB_BP_SW = 0,	   /* Z0 */
	GDB_BP_HW = 1,	   /* Z1 */
	GDB_WP_WRITE = 2,  /* Z2 */
	GDB_WP_READ = 3,   /* Z3 */
	GDB_WP_ACCESS = 4, /* Z4 */
};

enum gdb_stop_reason {
	GDB_STOP_SIGNAL,  /* interrupted (SIGINT), or stopped because another vCPU stopped */
	GDB_STOP_STEP,	  /* a single step finished (SIGTRAP) */
	GDB_STOP_SWBREAK, /* one of our int3s */
	GDB_STOP_HWBREAK, /* a hardware breakpoint */
	GDB_STOP_WATCH,	  /* a watchpoint: addr and kind below */
	GDB_STOP_EXITED,  /* the VM ended: W packet with status */
};

struct gdb_stop {
	enum gdb_stop_reason reason;
	unsigned int cpu;      /* 0-based vCPU index; the thread id is cpu + 1 */
	int signal;	       /* GDB signal number for GDB_STOP_SIGNAL: 2 (INT) or 5 (TRAP) */
	uint64_t addr;	       /* GDB_STOP_WATCH: the data address */
	enum gdb_bp_type kind; /* GDB_STOP_WATCH: GDB_WP_WRITE, READ or ACCESS */
	int exit_status;       /* GDB_STOP_EXITED */
};

enum gdb_action {
	GDB_ACT_STOP, /* stay stopped (no vCont action for this thread) */
	GDB_ACT_CONTINUE,
	GDB_ACT_STEP,
};

/*
 * What the server asks of the target.  All calls come from the event-loop
 * thread; the target reports stops back with gdb_server_stopped().  While
 * the guest is stopped every vCPU is stopped (all-stop).  Functions return
 * 0 or -errno (-EFAULT: memory not mapped, -ENOSPC: no free hardware
 * breakpoint slot, -EOPNOTSUPP: not supported, -EINVAL: bad argument).
 */
struct gdb_target_ops {
	unsigned int (*nr_cpus)(void *t);
	/*
	 * @buf gets gdb_reg_size(reg) bytes, little-endian.  -EOPNOTSUPP for a
	 * register the target cannot give: gdb is sent "xx.." and shows it as
	 * <unavailable>.  write_reg's -EOPNOTSUPP is ignored in G (gdb writes
	 * every register back) and gives an empty reply to P.
	 */
	int (*read_reg)(void *t, unsigned int cpu, enum gdb_reg reg, uint8_t *buf);
	int (*write_reg)(void *t, unsigned int cpu, enum gdb_reg reg, const uint8_t *buf);
	/*
	 * Guest virtual memory as @cpu sees it (its page tables), or guest
	 * physical with @phys.  Reads show the original bytes under software
	 * breakpoints; writes keep the breakpoints in place.  A partial access
	 * fails whole.
	 */
	int (*read_mem)(void *t, unsigned int cpu, uint64_t addr, void *buf, size_t len, bool phys);
	int (*write_mem)(void *t, unsigned int cpu, uint64_t addr, const void *buf, size_t len,
			 bool phys);
	/* -EOPNOTSUPP: an empty reply (gdb falls back); other errors: Exx. */
	int (*insert_bp)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len);
	int (*remove_bp)(void *t, enum gdb_bp_type type, uint64_t addr, uint64_t len);
	/* Run: @actions has nr_cpus() entries.  Returns at once; a stop is reported later. */
	void (*resume)(void *t, const enum gdb_action *actions);
	/* Stop everything as soon as possible (the client sent 0x03). */
	void (*interrupt)(void *t);
	/* The client went away (D, or the connection closed): remove breakpoints, run on. */
	void (*detach)(void *t);
	/* k: end the VM. */
	void (*kill)(void *t);
	/*
	 * qRcmd: run monitor command @cmd, writing its text output to @out (NUL-
	 * terminated).  0, or -EINVAL for an unknown command.  May be NULL.  The
	 * server itself answers "phys [on|off]" (the @phys of read/write_mem) and
	 * "help"; it calls this only while the target is stopped.
	 */
	int (*monitor)(void *t, const char *cmd, char *out, size_t out_size);
};

struct gdb_server;

/*
 * Listen on @addr ("tcp:[HOST]:PORT", HOST defaulting to 127.0.0.1, or
 * "unix:PATH") for one client at a time, on @loop.  0 or -errno with err_set().
 */
int gdb_server_create(struct gdb_server **srv, const char *addr, struct event_loop *loop,
		      const struct gdb_target_ops *ops, void *target);
void gdb_server_destroy(struct gdb_server *srv);
/*
 * The target stopped (all vCPUs are stopped), or ended (GDB_STOP_EXITED):
 * tell the client if it waits for a stop, else keep it for the next '?'.
 * Loop thread; may be called from inside ops->resume() or ops->interrupt().
 * The server starts out believing the target runs: a client that connects
 * then makes it call ops->interrupt().  A target started stopped (-S) calls
 * this once before any client comes (GDB_STOP_SIGNAL with signal 5).  After
 * ops->resume(), ops->interrupt() or ops->detach() the server takes the
 * target as running until the next call.
 */
void gdb_server_stopped(struct gdb_server *srv, const struct gdb_stop *stop);

#endif
