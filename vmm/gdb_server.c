// SPDX-License-Identifier: MIT
/*
 * The gdb stub's command server: one client connection at a time on the
 * event loop, all-stop, the commands gdb needs to debug an x86-64 guest, on
 * a struct gdb_target_ops.  Thread ids are vCPU index + 1.
 *
 * The server tracks whether the target runs: commands that touch registers
 * or memory are refused while it does.  A stop that gdb is waiting for (after
 * c, s, vCont or '?') is sent as soon as the target reports it; other stops
 * are only remembered for the next '?'.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "event_loop.h"
#include "gdb.h"
#include "gdb_proto.h"
#include "listen.h"
#include "util.h"

#define MONITOR_OUT_MAX 8192
#define SEND_TIMEOUT_S	10

enum target_state {
	TS_RUNNING,
	TS_STOPPED,
	TS_EXITED,
};

struct gdb_server {
	const struct gdb_target_ops *ops;
	void *target;
	unsigned int nr_cpus;

	struct event_loop *loop;
	int listen_fd;
	int client_fd;
	struct listen_endpoint ep; /* listen_fd's; a unix socket is removed at the end */
	gdb_write_fn raw_write;	   /* raw mode (tests): no sockets */
	void *raw_opaque;
	bool connected;

	struct gdb_proto proto;
	enum target_state state;
	struct gdb_stop last;
	bool wait_stop; /* the client waits for a stop reply */
	bool intr_sent; /* ops->interrupt called since the last resume */
	bool attached;	/* a client is connected and has sent neither D nor k */
	unsigned int g_cpu;
	int c_thread; /* Hc: -1 for all threads, else a cpu index */
	bool phys;
	bool swbreak_ok, hwbreak_ok;

	enum gdb_action *actions;
	bool *assigned; /* vCont: the thread has its action */
	char *monitor_out;
	char out[GDB_PKT_MAX + 64];
};

/* ---- Registers and target.xml --------------------------------------------------------- */

struct reg_desc {
	const char *name;
	unsigned int bits;
	const char *type;
	const char *group;
};

#define ST(n)  [GDB_ST0 + (n)] = { "st" #n, 80, "i387_ext", "float" }
#define XMM(n) [GDB_XMM0 + (n)] = { "xmm" #n, 128, "vec128", "vector" }

static const struct reg_desc reg_descs[GDB_NR_REGS] = {
	[GDB_RAX] = { "rax", 64, "int64", NULL },
	[GDB_RBX] = { "rbx", 64, "int64", NULL },
	[GDB_RCX] = { "rcx", 64, "int64", NULL },
	[GDB_RDX] = { "rdx", 64, "int64", NULL },
	[GDB_RSI] = { "rsi", 64, "int64", NULL },
	[GDB_RDI] = { "rdi", 64, "int64", NULL },
	[GDB_RBP] = { "rbp", 64, "data_ptr", NULL },
	[GDB_RSP] = { "rsp", 64, "data_ptr", NULL },
	[GDB_R8] = { "r8", 64, "int64", NULL },
	[GDB_R9] = { "r9", 64, "int64", NULL },
	[GDB_R10] = { "r10", 64, "int64", NULL },
	[GDB_R11] = { "r11", 64, "int64", NULL },
	[GDB_R12] = { "r12", 64, "int64", NULL },
	[GDB_R13] = { "r13", 64, "int64", NULL },
	[GDB_R14] = { "r14", 64, "int64", NULL },
	[GDB_R15] = { "r15", 64, "int64", NULL },
	[GDB_RIP] = { "rip", 64, "code_ptr", NULL },
	[GDB_EFLAGS] = { "eflags", 32, "i386_eflags", NULL },
	[GDB_CS] = { "cs", 32, "int32", NULL },
	[GDB_SS] = { "ss", 32, "int32", NULL },
	[GDB_DS] = { "ds", 32, "int32", NULL },
	[GDB_ES] = { "es", 32, "int32", NULL },
	[GDB_FS] = { "fs", 32, "int32", NULL },
	[GDB_GS] = { "gs", 32, "int32", NULL },
	ST(0),
	ST(1),
	ST(2),
	ST(3),
	ST(4),
	ST(5),
	ST(6),
	ST(7),
	[GDB_FCTRL] = { "fctrl", 32, "int", "float" },
	[GDB_FSTAT] = { "fstat", 32, "int", "float" },
	[GDB_FTAG] = { "ftag", 32, "int", "float" },
	[GDB_FISEG] = { "fiseg", 32, "int", "float" },
	[GDB_FIOFF] = { "fioff", 32, "int", "float" },
	[GDB_FOSEG] = { "foseg", 32, "int", "float" },
	[GDB_FOOFF] = { "fooff", 32, "int", "float" },
	[GDB_FOP] = { "fop", 32, "int", "float" },
	XMM(0),
	XMM(1),
	XMM(2),
	XMM(3),
	XMM(4),
	XMM(5),
	XMM(6),
	XMM(7),
	XMM(8),
	XMM(9),
	XMM(10),
	XMM(11),
	XMM(12),
	XMM(13),
	XMM(14),
	XMM(15),
	[GDB_MXCSR] = { "mxcsr", 32, "i386_mxcsr", "vector" },
	[GDB_FS_BASE] = { "fs_base", 64, "int", NULL },
	[GDB_GS_BASE] = { "gs_base", 64, "int", NULL },
	[GDB_K_GS_BASE] = { "k_gs_base", 64, "int", "system" },
	[GDB_CR0] = { "cr0", 64, "int", "system" },
	[GDB_CR2] = { "cr2", 64, "int", "system" },
	[GDB_CR3] = { "cr3", 64, "int", "system" },
	[GDB_CR4] = { "cr4", 64, "int", "system" },
	[GDB_CR8] = { "cr8", 64, "int", "system" },
	[GDB_EFER] = { "efer", 64, "int", "system" },
};

unsigned int gdb_reg_size(enum gdb_reg reg)
{
	if ((unsigned int)reg >= GDB_NR_REGS)
		return 0;
	return reg_descs[reg].bits / 8;
}

/* Flag bits of eflags and mxcsr, by bit number (gdb 13 has no predefined types for them). */
static const char *const eflags_bits[] = { "CF", "",   "PF", NULL,  "AF",  NULL, "ZF", "SF",
					   "TF", "IF", "DF", "OF",  NULL,  NULL, "NT", NULL,
					   "RF", "VM", "AC", "VIF", "VIP", "ID" };
static const char *const mxcsr_bits[] = { "IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM",
					  "DM", "ZM", "OM", "UM", "PM", NULL, NULL,  "FZ" };

#define VEC128_TYPES                                              \
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n" \
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n" \
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"     \
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"     \
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"     \
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"     \
	"<union id=\"vec128\">\n"                                 \
	"<field name=\"v4_float\" type=\"v4f\"/>\n"               \
	"<field name=\"v2_double\" type=\"v2d\"/>\n"              \
	"<field name=\"v16_int8\" type=\"v16i8\"/>\n"             \
	"<field name=\"v8_int16\" type=\"v8i16\"/>\n"             \
	"<field name=\"v4_int32\" type=\"v4i32\"/>\n"             \
	"<field name=\"v2_int64\" type=\"v2i64\"/>\n"             \
	"<field name=\"uint128\" type=\"uint128\"/>\n"            \
	"</union>\n"

/* The features, each a range of enum gdb_reg; the order is the register numbering. */
static const struct {
	const char *name;
	enum gdb_reg first, last;
	const char *flags_id; /* a flags type to define first */
	const char *const *flags;
	unsigned int nr_flags;
	const char *types;
} features[] = {
	{ "org.gnu.gdb.i386.core", GDB_RAX, GDB_FOP, "i386_eflags", eflags_bits,
	  ARRAY_SIZE(eflags_bits), "" },
	{ "org.gnu.gdb.i386.sse", GDB_XMM0, GDB_MXCSR, "i386_mxcsr", mxcsr_bits,
	  ARRAY_SIZE(mxcsr_bits), VEC128_TYPES },
	/* gdb finds fs_base and gs_base by this feature name. */
	{ "org.gnu.gdb.i386.segments", GDB_FS_BASE, GDB_GS_BASE, NULL, NULL, 0, "" },
	{ "org.kvmini.x86.system", GDB_K_GS_BASE, GDB_EFER, NULL, NULL, 0, "" },
};

_Static_assert(GDB_FOP + 1 == GDB_XMM0 && GDB_MXCSR + 1 == GDB_FS_BASE &&
		       GDB_GS_BASE + 1 == GDB_K_GS_BASE && GDB_EFER + 1 == GDB_NR_REGS,
	       "target.xml features must cover enum gdb_reg in order");

static char target_xml[12288];
static pthread_once_t target_xml_once = PTHREAD_ONCE_INIT;

static void build_target_xml(void)
{
	size_t n = 0, size = sizeof(target_xml);

	/* Sized with room to spare; a truncation would show in the unit test's XML check. */
	n += (size_t)snprintf(target_xml + n, size - n,
			      "<?xml version=\"1.0\"?>\n"
			      "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
			      "<target version=\"1.0\">\n"
			      "<architecture>i386:x86-64</architecture>\n");
	for (size_t f = 0; f < ARRAY_SIZE(features) && n < size; f++) {
		n += (size_t)snprintf(target_xml + n, size - n, "<feature name=\"%s\">\n%s",
				      features[f].name, features[f].types);
		if (features[f].flags_id && n < size)
			n += (size_t)snprintf(target_xml + n, size - n,
					      "<flags id=\"%s\" size=\"4\">\n",
					      features[f].flags_id);
		for (unsigned int b = 0; b < features[f].nr_flags && n < size; b++) {
			if (features[f].flags[b])
				n += (size_t)snprintf(
					target_xml + n, size - n,
					"<field name=\"%s\" start=\"%u\" end=\"%u\"/>\n",
					features[f].flags[b], b, b);
		}
		if (features[f].flags_id && n < size)
			n += (size_t)snprintf(target_xml + n, size - n, "</flags>\n");
		for (unsigned int r = features[f].first; r <= features[f].last && n < size; r++) {
			const struct reg_desc *d = &reg_descs[r];

			n += (size_t)snprintf(target_xml + n, size - n,
					      "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" "
					      "regnum=\"%u\"%s%s%s/>\n",
					      d->name, d->bits, d->type, r,
					      d->group ? " group=\"" : "", d->group ? d->group : "",
					      d->group ? "\"" : "");
		}
		if (n < size)
			n += (size_t)snprintf(target_xml + n, size - n, "</feature>\n");
	}
	if (n < size)
		snprintf(target_xml + n, size - n, "</target>\n");
}

const char *gdb_target_xml(void)
{
	pthread_once(&target_xml_once, build_target_xml);
	return target_xml;
}

/* ---- Replies ---------------------------------------------------------------------------- */

static void send_pkt(struct gdb_server *s, const char *data, size_t len)
{
	gdb_proto_send(&s->proto, data, len);
}

static void reply(struct gdb_server *s, const char *str)
{
	send_pkt(s, str, strlen(str));
}

static void reply_fmt(struct gdb_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply_fmt(struct gdb_server *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out, sizeof(s->out), fmt, ap);
	va_end(ap);
	if (n >= 0)
		send_pkt(s, s->out, strlen(s->out));
}

/* "Exx" with a positive errno value (gdb only looks at the E). */
static void reply_err(struct gdb_server *s, int err)
{
	if (err < 0)
		err = -err;
	reply_fmt(s, "E%02x", err & 0xff);
}

/* A target error: E, or an empty reply for what the target does not support. */
static void reply_result(struct gdb_server *s, int ret)
{
	if (!ret)
		reply(s, "OK");
	else if (ret == -EOPNOTSUPP)
		reply(s, "");
	else
		reply_err(s, ret);
}

static void send_stop_reply(struct gdb_server *s)
{
	const struct gdb_stop *st = &s->last;
	unsigned int sig = 5;
	int n;

	if (s->state == TS_EXITED) {
		reply_fmt(s, "W%02x", st->exit_status & 0xff);
		return;
	}
	if (st->reason == GDB_STOP_SIGNAL && st->signal > 0)
		sig = (unsigned int)st->signal & 0xff;
	n = snprintf(s->out, sizeof(s->out), "T%02xthread:%x;", sig, st->cpu + 1);
	switch (st->reason) {
	case GDB_STOP_SWBREAK:
		/* Only for a gdb that asked: others take any SIGTRAP at a breakpoint. */
		if (s->swbreak_ok)
			n += snprintf(s->out + n, sizeof(s->out) - (size_t)n, "swbreak:;");
		break;
	case GDB_STOP_HWBREAK:
		if (s->hwbreak_ok)
			n += snprintf(s->out + n, sizeof(s->out) - (size_t)n, "hwbreak:;");
		break;
	case GDB_STOP_WATCH:
		n += snprintf(s->out + n, sizeof(s->out) - (size_t)n, "%s:%llx;",
			      st->kind == GDB_WP_READ	  ? "rwatch"
			      : st->kind == GDB_WP_ACCESS ? "awatch"
							  : "watch",
			      (unsigned long long)st->addr);
		break;
	default:
		break;
	}
	send_pkt(s, s->out, (size_t)n);
}

/* ---- Parsing helpers -------------------------------------------------------------------- */

/* A hex number of 1..16 digits at *@p; advances *@p.  0 or -EINVAL. */
static int parse_hex(const char **p, uint64_t *v)
{
	const char *c = *p;
	uint64_t x = 0;
	int d, n = 0;

	while ((d = gdb_hex_val((unsigned char)*c)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
		c++;
	}
	if (!n)
		return -EINVAL;
	*p = c;
	*v = x;
	return 0;
}

/* "addr,len" then the character @end (or the end of the string for 0). */
static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len, char end)
{
	if (parse_hex(p, addr) || **p != ',')
		return -EINVAL;
	(*p)++;
	if (parse_hex(p, len) || **p != end)
		return -EINVAL;
	return 0;
}

/*
 * A thread id: -1 (all), 0 (any) or a thread; *@tid gets -1, 0 or the
 * thread id.  -EINVAL for syntax, -ESRCH for a thread that does not exist.
 */
static int parse_tid(struct gdb_server *s, const char **p, long *tid)
{
	uint64_t v;

	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return 0;
	}
	if (parse_hex(p, &v))
		return -EINVAL;
	if (v > s->nr_cpus)
		return -ESRCH;
	*tid = (long)v;
	return 0;
}

/* ---- Commands --------------------------------------------------------------------------- */

/* Registers or memory need the target stopped. */
static bool need_stopped(struct gdb_server *s)
{
	if (s->state == TS_STOPPED)
		return true;
	reply_err(s, s->state == TS_EXITED ? ESRCH : EBUSY);
	return false;
}

/* Hex of register @r of the current thread into @out; "xx.." when the target cannot read it. */
static size_t reg_hex(struct gdb_server *s, unsigned int r, char *out)
{
	unsigned int size = gdb_reg_size(r);
	uint8_t buf[16];

	if (s->ops->read_reg(s->target, s->g_cpu, r, buf)) {
		memset(out, 'x', 2 * size);
	} else {
		gdb_hex_encode(buf, size, out);
	}
	return 2 * size;
}

static void cmd_read_regs(struct gdb_server *s)
{
	size_t n = 0;

	for (unsigned int r = 0; r < GDB_NR_REGS; r++)
		n += reg_hex(s, r, s->out + n);
	send_pkt(s, s->out, n);
}

static unsigned int regs_total_size(void)
{
	unsigned int n = 0;

	for (unsigned int r = 0; r < GDB_NR_REGS; r++)
		n += gdb_reg_size(r);
	return n;
}

/* One register's value from @hex (2 * size digits); 1 if it is "xx..": leave it alone. */
static int reg_from_hex(const char *hex, unsigned int size, uint8_t *buf)
{
	if (hex[0] == 'x')
		return 1;
	return gdb_hex_decode(hex, size, buf);
}

static void cmd_write_regs(struct gdb_server *s, const char *arg, size_t len)
{
	const char *p = arg;
	uint8_t buf[16];
	int ret;

	if (len != 2 * regs_total_size()) {
		reply_err(s, EINVAL);
		return;
	}
	for (unsigned int r = 0; r < GDB_NR_REGS; r++) {
		unsigned int size = gdb_reg_size(r);

		ret = reg_from_hex(p, size, buf);
		p += 2 * size;
		if (ret > 0)
			continue;
		if (!ret)
			ret = s->ops->write_reg(s->target, s->g_cpu, r, buf);
		/* gdb writes back every register; those the target cannot set stay as they are. */
		if (ret && ret != -EOPNOTSUPP) {
			reply_err(s, ret);
			return;
		}
	}
	reply(s, "OK");
}

static void cmd_read_reg(struct gdb_server *s, const char *arg)
{
	uint64_t r;

	if (parse_hex(&arg, &r) || *arg || r >= GDB_NR_REGS) {
		reply_err(s, EINVAL);
		return;
	}
	send_pkt(s, s->out, reg_hex(s, (unsigned int)r, s->out));
}

static void cmd_write_reg(struct gdb_server *s, const char *arg)
{
	uint8_t buf[16];
	unsigned int size;
	uint64_t r;
	int ret;

	if (parse_hex(&arg, &r) || *arg++ != '=' || r >= GDB_NR_REGS) {
		reply_err(s, EINVAL);
		return;
	}
	size = gdb_reg_size((unsigned int)r);
	if (strlen(arg) != 2 * size || (ret = reg_from_hex(arg, size, buf)) < 0) {
		reply_err(s, EINVAL);
		return;
	}
	if (ret > 0) {
		reply(s, "OK");
		return;
	}
	reply_result(s, s->ops->write_reg(s->target, s->g_cpu, (unsigned int)r, buf));
}

static void cmd_read_mem(struct gdb_server *s, const char *arg)
{
	uint8_t buf[GDB_PKT_MAX / 2];
	uint64_t addr, len;
	int ret;

	if (parse_addr_len(&arg, &addr, &len, 0)) {
		reply_err(s, EINVAL);
		return;
	}
	/* gdb asks again for the rest of a short reply. */
	if (len > sizeof(buf))
		len = sizeof(buf);
	ret = s->ops->read_mem(s->target, s->g_cpu, addr, buf, len, s->phys);
	if (ret) {
		reply_err(s, ret);
		return;
	}
	gdb_hex_encode(buf, len, s->out);
	send_pkt(s, s->out, 2 * len);
}

/* M addr,len:hex and X addr,len:binary (already unescaped by the caller for X). */
static void cmd_write_mem(struct gdb_server *s, uint8_t *pkt, size_t pkt_len, bool binary)
{
	const char *p = (const char *)pkt + 1;
	uint8_t *data;
	uint64_t addr, len;
	size_t hdr, avail;
	long n;

	if (parse_addr_len(&p, &addr, &len, ':')) {
		reply_err(s, EINVAL);
		return;
	}
	hdr = (size_t)(p + 1 - (const char *)pkt);
	data = pkt + hdr;
	avail = pkt_len - hdr;
	if (binary) {
		n = gdb_unescape(data, avail);
		if (n < 0 || (uint64_t)n != len) {
			reply_err(s, EINVAL);
			return;
		}
	} else {
		if (avail != 2 * len || gdb_hex_decode((const char *)data, len, data)) {
			reply_err(s, EINVAL);
			return;
		}
	}
	/* "X addr,0:" is gdb's probe for binary support. */
	if (!len) {
		reply(s, "OK");
		return;
	}
	reply_result(s, s->ops->write_mem(s->target, s->g_cpu, addr, data, len, s->phys));
}

static void cmd_breakpoint(struct gdb_server *s, const char *pkt)
{
	bool insert = pkt[0] == 'Z';
	const char *p = pkt + 1;
	uint64_t type, addr, kind;
	int ret;

	if (parse_hex(&p, &type) || *p++ != ',' || parse_hex(&p, &addr) || *p++ != ',' ||
	    parse_hex(&p, &kind) || (*p && *p != ';')) {
		reply_err(s, EINVAL);
		return;
	}
	if (type > GDB_WP_ACCESS) {
		reply(s, "");
		return;
	}
	if (insert)
		ret = s->ops->insert_bp(s->target, (enum gdb_bp_type)type, addr, kind);
	else
		ret = s->ops->remove_bp(s->target, (enum gdb_bp_type)type, addr, kind);
	reply_result(s, ret);
}

/* Start the target with s->actions; gdb waits for the stop. */
static void resume(struct gdb_server *s)
{
	/* Set before the call: a target may report the stop from inside resume(). */
	s->state = TS_RUNNING;
	s->wait_stop = true;
	s->intr_sent = false;
	s->ops->resume(s->target, s->actions);
}

/* c [addr] and s [addr]: the current thread continues or steps; for c every other one runs. */
static void cmd_continue(struct gdb_server *s, const char *arg, bool step)
{
	unsigned int cpu = s->c_thread >= 0 ? (unsigned int)s->c_thread : s->g_cpu;
	uint8_t rip[8];
	uint64_t addr;
	int ret;

	if (*arg) {
		if (parse_hex(&arg, &addr) || *arg) {
			reply_err(s, EINVAL);
			return;
		}
		put_le(rip, addr, 8);
		ret = s->ops->write_reg(s->target, cpu, GDB_RIP, rip);
		if (ret) {
			reply_err(s, ret);
			return;
		}
	}
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		s->actions[i] = step ? GDB_ACT_STOP : GDB_ACT_CONTINUE;
	if (step)
		s->actions[cpu] = GDB_ACT_STEP;
	resume(s);
}

/*
 * vCont;ACTION[:TID]...: each thread takes the leftmost action that names
 * it or names no thread; threads without one stay stopped.
 */
static void cmd_vcont(struct gdb_server *s, const char *p)
{
	bool *set = s->assigned;
	bool any = false;

	for (unsigned int i = 0; i < s->nr_cpus; i++) {
		s->actions[i] = GDB_ACT_STOP;
		set[i] = false;
	}
	while (*p == ';') {
		enum gdb_action act;
		uint64_t sig;
		long tid = -1;

		p++;
		switch (*p++) {
		case 'c':
			act = GDB_ACT_CONTINUE;
			break;
		case 's':
			act = GDB_ACT_STEP;
			break;
		case 'C':
		case 'S':
			/* A signal cannot be delivered to a guest: resume without it. */
			act = p[-1] == 'C' ? GDB_ACT_CONTINUE : GDB_ACT_STEP;
			if (parse_hex(&p, &sig) || sig > 0xff)
				goto bad;
			break;
		default:
			goto bad;
		}
		if (*p == ':') {
			p++;
			if (parse_tid(s, &p, &tid) || !tid)
				goto bad;
		}
		if (*p && *p != ';')
			goto bad;
		for (unsigned int i = 0; i < s->nr_cpus; i++) {
			if (set[i] || (tid > 0 && (unsigned long)tid != i + 1))
				continue;
			set[i] = true;
			s->actions[i] = act;
			any = true;
		}
	}
	if (*p || !any)
		goto bad;
	resume(s);
	return;
bad:
	reply_err(s, EINVAL);
}

static void cmd_set_thread(struct gdb_server *s, const char *pkt)
{
	const char *p = pkt + 2;
	long tid;
	int ret;

	ret = pkt[1] == 'g' || pkt[1] == 'c' ? parse_tid(s, &p, &tid) : -EINVAL;
	if (ret || *p) {
		reply_err(s, ret ? ret : EINVAL);
		return;
	}
	if (pkt[1] == 'c')
		s->c_thread = tid > 0 ? (int)tid - 1 : -1;
	else if (tid > 0)
		s->g_cpu = (unsigned int)tid - 1;
	/* Hg0 / Hg-1: any thread will do; keep the current one. */
	reply(s, "OK");
}

static void cmd_thread_alive(struct gdb_server *s, const char *arg)
{
	long tid;

	if (parse_tid(s, &arg, &tid) || *arg || tid <= 0)
		reply_err(s, ESRCH);
	else
		reply(s, "OK");
}

static void cmd_thread_list(struct gdb_server *s)
{
	size_t n = 0;

	s->out[n++] = 'm';
	for (unsigned int i = 0; i < s->nr_cpus && n + 20 < sizeof(s->out); i++)
		n += (size_t)snprintf(s->out + n, sizeof(s->out) - n, "%s%x", i ? "," : "", i + 1);
	send_pkt(s, s->out, n);
}

static void cmd_thread_extra(struct gdb_server *s, const char *arg)
{
	char text[32];
	long tid;
	int n;

	if (parse_tid(s, &arg, &tid) || *arg || tid <= 0) {
		reply_err(s, ESRCH);
		return;
	}
	n = snprintf(text, sizeof(text), "CPU %ld", tid - 1);
	gdb_hex_encode(text, (size_t)n, s->out);
	send_pkt(s, s->out, 2 * (size_t)n);
}

static void cmd_supported(struct gdb_server *s, const char *arg)
{
	/* gdb lists what it understands in stop replies. */
	s->swbreak_ok = strstr(arg, "swbreak+") != NULL;
	s->hwbreak_ok = strstr(arg, "hwbreak+") != NULL;
	reply_fmt(s,
		  "PacketSize=%x;qXfer:features:read+;vContSupported+;swbreak+;hwbreak+;"
		  "QStartNoAckMode+",
		  GDB_PKT_MAX);
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void cmd_xfer_features(struct gdb_server *s, const char *arg)
{
	const char *xml = gdb_target_xml();
	const char *colon = strchr(arg, ':');
	size_t xml_len = strlen(xml), used, n;
	uint64_t off, len;

	if (!colon) {
		reply_err(s, EINVAL);
		return;
	}
	if ((size_t)(colon - arg) != strlen("target.xml") || strncmp(arg, "target.xml", 10)) {
		reply_err(s, ENOENT);
		return;
	}
	arg = colon + 1;
	if (parse_addr_len(&arg, &off, &len, 0)) {
		reply_err(s, EINVAL);
		return;
	}
	if (off >= xml_len) {
		reply(s, "l");
		return;
	}
	if (len > GDB_PKT_MAX - 1)
		len = GDB_PKT_MAX - 1;
	n = gdb_escape((const uint8_t *)xml + off, xml_len - off, (uint8_t *)s->out + 1, len,
		       &used);
	s->out[0] = off + used < xml_len ? 'm' : 'l';
	send_pkt(s, s->out, n + 1);
}

/* Text as O packets (console output while a qRcmd runs). */
static void send_console(struct gdb_server *s, const char *text)
{
	size_t len = strlen(text), chunk = (GDB_PKT_MAX - 2) / 2;

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		s->out[0] = 'O';
		gdb_hex_encode(text + off, n, s->out + 1);
		send_pkt(s, s->out, 2 * n + 1);
	}
}

static void cmd_monitor(struct gdb_server *s, const char *hex)
{
	size_t hlen = strlen(hex);
	char cmd[512];
	int ret;

	if (hlen % 2 || hlen / 2 >= sizeof(cmd) || gdb_hex_decode(hex, hlen / 2, cmd)) {
		reply_err(s, EINVAL);
		return;
	}
	cmd[hlen / 2] = 0;
	if (strlen(cmd) != hlen / 2) {
		reply_err(s, EINVAL);
		return;
	}
	if (!strcmp(cmd, "phys on") || !strcmp(cmd, "phys off")) {
		s->phys = !strcmp(cmd, "phys on");
		send_console(s, s->phys ? "memory accesses are guest-physical\n"
					: "memory accesses are guest-virtual\n");
		reply(s, "OK");
		return;
	}
	if (!strcmp(cmd, "phys")) {
		send_console(s, s->phys ? "phys on\n" : "phys off\n");
		reply(s, "OK");
		return;
	}
	if (!strcmp(cmd, "help")) {
		send_console(s, "phys [on|off]  memory accesses are guest-physical (on) or "
				"through the current vCPU's page tables (off)\n");
		reply(s, "OK");
		return;
	}
	if (s->state != TS_STOPPED) {
		need_stopped(s);
		return;
	}
	s->monitor_out[0] = 0;
	ret = s->ops->monitor ? s->ops->monitor(s->target, cmd, s->monitor_out, MONITOR_OUT_MAX)
			      : -EINVAL;
	s->monitor_out[MONITOR_OUT_MAX - 1] = 0;
	if (ret == -EINVAL) {
		snprintf(s->monitor_out, MONITOR_OUT_MAX,
			 "unknown monitor command '%s' (try help)\n", cmd);
		send_console(s, s->monitor_out);
		reply_err(s, EINVAL);
		return;
	}
	send_console(s, s->monitor_out);
	if (ret)
		reply_err(s, ret);
	else
		reply(s, "OK");
}

static void cmd_query(struct gdb_server *s, const char *pkt)
{
	if (!strncmp(pkt, "qSupported", 10) && (!pkt[10] || pkt[10] == ':'))
		cmd_supported(s, pkt + 10);
	else if (!strncmp(pkt, "qXfer:features:read:", 20))
		cmd_xfer_features(s, pkt + 20);
	else if (!strcmp(pkt, "qfThreadInfo"))
		cmd_thread_list(s);
	else if (!strcmp(pkt, "qsThreadInfo"))
		reply(s, "l");
	else if (!strcmp(pkt, "qC"))
		reply_fmt(s, "QC%x", s->g_cpu + 1);
	else if (!strcmp(pkt, "qAttached") || !strncmp(pkt, "qAttached:", 10))
		reply(s, "1");
	else if (!strncmp(pkt, "qThreadExtraInfo,", 17))
		cmd_thread_extra(s, pkt + 17);
	else if (!strncmp(pkt, "qRcmd,", 6))
		cmd_monitor(s, pkt + 6);
	else
		reply(s, "");
}

static void cmd_v(struct gdb_server *s, const char *pkt)
{
	if (!strcmp(pkt, "vCont?")) {
		reply(s, "vCont;c;C;s;S");
	} else if (!strncmp(pkt, "vCont;", 6)) {
		if (need_stopped(s))
			cmd_vcont(s, pkt + 5);
	} else if (!strncmp(pkt, "vKill", 5)) {
		s->attached = false;
		s->ops->kill(s->target);
		reply(s, "OK");
	} else {
		reply(s, "");
	}
}

static void cmd_question(struct gdb_server *s)
{
	if (s->state != TS_RUNNING) {
		send_stop_reply(s);
		return;
	}
	/* Reply when the stop comes (the interrupt was sent on connect, normally). */
	s->wait_stop = true;
	if (!s->intr_sent) {
		s->intr_sent = true;
		s->ops->interrupt(s->target);
	}
}

static void cmd_detach(struct gdb_server *s)
{
	reply(s, "OK");
	s->wait_stop = false;
	if (!s->attached)
		return;
	s->attached = false;
	if (s->state != TS_EXITED) {
		s->state = TS_RUNNING;
		s->intr_sent = false;
		s->ops->detach(s->target);
	}
}

static void handle_packet(struct gdb_server *s, uint8_t *pkt, size_t len)
{
	const char *p = (const char *)pkt;

	/* Only X carries binary data: anything else with a NUL inside is garbage. */
	if (pkt[0] != 'X' && strlen(p) != len) {
		reply_err(s, EINVAL);
		return;
	}
	switch (pkt[0]) {
	case '?':
		cmd_question(s);
		return;
	case 'q':
		cmd_query(s, p);
		return;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode")) {
			reply(s, "OK");
			s->proto.no_ack = true;
		} else {
			reply(s, "");
		}
		return;
	case 'v':
		cmd_v(s, p);
		return;
	case 'H':
		cmd_set_thread(s, p);
		return;
	case 'T':
		cmd_thread_alive(s, p + 1);
		return;
	case 'D':
		cmd_detach(s);
		return;
	case 'k':
		/* No reply: gdb does not wait for one. */
		s->attached = false;
		s->wait_stop = false;
		s->ops->kill(s->target);
		return;
	case 'g':
	case 'G':
	case 'p':
	case 'P':
	case 'm':
	case 'M':
	case 'X':
	case 'Z':
	case 'z':
	case 'c':
	case 's':
	case 'C':
	case 'S':
		break;
	default:
		reply(s, "");
		return;
	}
	if (!need_stopped(s))
		return;
	switch (pkt[0]) {
	case 'g':
		cmd_read_regs(s);
		break;
	case 'G':
		cmd_write_regs(s, p + 1, len - 1);
		break;
	case 'p':
		cmd_read_reg(s, p + 1);
		break;
	case 'P':
		cmd_write_reg(s, p + 1);
		break;
	case 'm':
		cmd_read_mem(s, p + 1);
		break;
	case 'M':
		cmd_write_mem(s, pkt, len, false);
		break;
	case 'X':
		cmd_write_mem(s, pkt, len, true);
		break;
	case 'Z':
	case 'z':
		cmd_breakpoint(s, p);
		break;
	case 'c':
	case 's':
		cmd_continue(s, p + 1, pkt[0] == 's');
		break;
	default:
		/* C sig[;addr] and S sig[;addr]: the signal is dropped; vCont is what gdb uses. */
		cmd_continue(s, "", pkt[0] == 'S');
		break;
	}
}

void gdb_server_input(struct gdb_server *srv, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len && srv->connected && !srv->proto.write_err; i++) {
		switch (gdb_proto_rx(&srv->proto, b[i])) {
		case GDB_RX_PACKET:
			handle_packet(srv, srv->proto.buf, srv->proto.len);
			break;
		case GDB_RX_BAD:
			reply_err(srv, EINVAL);
			break;
		case GDB_RX_INTERRUPT:
			if (srv->state == TS_RUNNING && !srv->intr_sent) {
				srv->intr_sent = true;
				srv->ops->interrupt(srv->target);
			}
			break;
		case GDB_RX_NONE:
			break;
		}
	}
}

void gdb_server_stopped(struct gdb_server *srv, const struct gdb_stop *stop)
{
	srv->last = *stop;
	if (srv->last.cpu >= srv->nr_cpus)
		srv->last.cpu = 0;
	if (stop->reason == GDB_STOP_EXITED) {
		srv->state = TS_EXITED;
	} else {
		srv->state = TS_STOPPED;
		/* gdb takes the stopping thread as the current one. */
		srv->g_cpu = srv->last.cpu;
	}
	srv->intr_sent = false;
	if (srv->connected && srv->wait_stop) {
		srv->wait_stop = false;
		send_stop_reply(srv);
	}
}

/* ---- Connections ------------------------------------------------------------------------ */

static void client_reset(struct gdb_server *s)
{
	gdb_proto_reset(&s->proto);
	s->connected = true;
	s->attached = true;
	s->wait_stop = false;
	s->phys = false;
	s->swbreak_ok = s->hwbreak_ok = false;
	s->c_thread = -1;
	/* Stop the guest so that gdb's first '?' gets a stop. */
	if (s->state == TS_RUNNING && !s->intr_sent) {
		s->intr_sent = true;
		s->ops->interrupt(s->target);
	}
}

void gdb_server_disconnect(struct gdb_server *srv)
{
	if (!srv->connected)
		return;
	srv->connected = false;
	srv->wait_stop = false;
	if (srv->client_fd >= 0) {
		event_loop_del(srv->loop, srv->client_fd);
		close(srv->client_fd);
		srv->client_fd = -1;
	}
	/* Gone without D: the guest must not stay stopped with our breakpoints in it. */
	if (srv->attached && srv->state != TS_EXITED) {
		srv->attached = false;
		srv->state = TS_RUNNING;
		srv->intr_sent = false;
		srv->ops->detach(srv->target);
	}
	srv->attached = false;
}

static int server_alloc(struct gdb_server **out, const struct gdb_target_ops *ops, void *target)
{
	struct gdb_server *s = calloc(1, sizeof(*s));
	unsigned int n = ops->nr_cpus(target);

	*out = NULL;
	if (!s)
		return err_set(ENOMEM, "gdb: out of memory");
	if (!n) {
		free(s);
		return err_set(EINVAL, "gdb: the target has no CPUs");
	}
	s->ops = ops;
	s->target = target;
	s->nr_cpus = n;
	s->listen_fd = s->client_fd = -1;
	s->c_thread = -1;
	s->state = TS_RUNNING;
	s->actions = calloc(n, sizeof(*s->actions));
	s->assigned = calloc(n, sizeof(*s->assigned));
	s->monitor_out = malloc(MONITOR_OUT_MAX);
	if (!s->actions || !s->assigned || !s->monitor_out) {
		free(s->actions);
		free(s->assigned);
		free(s->monitor_out);
		free(s);
		return err_set(ENOMEM, "gdb: out of memory");
	}
	gdb_target_xml();
	*out = s;
	return 0;
}

static int raw_write_fn(void *opaque, const void *buf, size_t len)
{
	struct gdb_server *s = opaque;

	return s->raw_write(s->raw_opaque, buf, len);
}

int gdb_server_create_raw(struct gdb_server **srv, const struct gdb_target_ops *ops, void *target,
			  gdb_write_fn write, void *opaque)
{
	int ret = server_alloc(srv, ops, target);

	if (ret)
		return ret;
	(*srv)->raw_write = write;
	(*srv)->raw_opaque = opaque;
	gdb_proto_init(&(*srv)->proto, raw_write_fn, *srv);
	client_reset(*srv);
	return 0;
}

static int sock_write(void *opaque, const void *buf, size_t len)
{
	struct gdb_server *s = opaque;

	return write_full(s->client_fd, buf, len);
}

static void client_event(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;
	uint8_t buf[4096];
	ssize_t n;

	(void)events;
	n = recv(s->client_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gdb_server_disconnect(s);
		return;
	}
	gdb_server_input(s, buf, (size_t)n);
	if (s->proto.write_err)
		gdb_server_disconnect(s);
}

static void listen_event(void *opaque, uint32_t events)
{
	struct gdb_server *s = opaque;
	struct timeval tmo = { .tv_sec = SEND_TIMEOUT_S };
	int fd, ret;

	(void)events;
	fd = listen_accept(s->listen_fd, 0);
	if (fd < 0)
		return;
	if (s->connected) {
		close(fd);
		pr_warn("gdb: a second client connected; refused");
		return;
	}
	/* A client that stops reading must not hang the event loop for ever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	ret = event_loop_add(s->loop, fd, EPOLLIN, client_event, s);
	if (ret) {
		close(fd);
		pr_warn("gdb: cannot watch the client connection: %s", strerror(-ret));
		return;
	}
	s->client_fd = fd;
	client_reset(s);
}

int gdb_server_create(struct gdb_server **srv, const char *addr, struct event_loop *loop,
		      const struct gdb_target_ops *ops, void *target)
{
	struct gdb_server *s;
	int ret;

	ret = server_alloc(srv, ops, target);
	if (ret)
		return ret;
	s = *srv;
	s->loop = loop;
	gdb_proto_init(&s->proto, sock_write, s);
	ret = listen_endpoint_parse(&s->ep, addr, LISTEN_PORT_ALONE | LISTEN_NAME_ADDR);
	if (!ret)
		ret = listen_open(&s->ep, 1);
	if (ret < 0) {
		err_prefix(ret, "gdb");
	} else {
		s->listen_fd = ret;
		ret = event_loop_add(loop, s->listen_fd, EPOLLIN, listen_event, s);
		if (ret)
			err_set(-ret, "gdb: cannot watch the listening socket: %s", strerror(-ret));
	}
	if (ret) {
		gdb_server_destroy(s);
		*srv = NULL;
	}
	return ret;
}

void gdb_server_destroy(struct gdb_server *srv)
{
	if (!srv)
		return;
	if (srv->client_fd >= 0) {
		event_loop_del(srv->loop, srv->client_fd);
		close(srv->client_fd);
	}
	if (srv->listen_fd >= 0)
		event_loop_del(srv->loop, srv->listen_fd);
	listen_close(&srv->ep, srv->listen_fd);
	gdb_proto_free(&srv->proto);
	free(srv->actions);
	free(srv->assigned);
	free(srv->monitor_out);
	free(srv);
}
