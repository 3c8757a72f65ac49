// SPDX-License-Identifier: MIT
/*
 * Unit tests for the gdb command server (vmm/gdb_server.c) on the fake
 * target of tests/helpers/gdb_fake.c: packets in, replies out, no KVM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_loop.h"

#define GDB_FAKE_LIB
#include "../helpers/gdb_fake.c"

struct ctx {
	struct fake_target f;
	struct gdb_server *srv;
	char out[4 * GDB_PKT_MAX];
	size_t out_len;
	/* The payloads of the packets of the last cmd(), joined by '\n'. */
	char reply[4 * GDB_PKT_MAX];
	unsigned int nr_replies;
};

static int out_write(void *opaque, const void *buf, size_t len)
{
	struct ctx *c = opaque;

	assert_true(c->out_len + len < sizeof(c->out));
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	c->out[c->out_len] = 0;
	return 0;
}

/* Split what the server wrote into packets, checking the framing and checksums. */
static void parse_out(struct ctx *c)
{
	size_t i = 0, r = 0;

	c->nr_replies = 0;
	c->reply[0] = 0;
	while (i < c->out_len) {
		uint8_t sum = 0;
		unsigned int cs;

		if (c->out[i] == '+') {
			i++;
			continue;
		}
		assert_int_equal(c->out[i], '$');
		i++;
		if (c->nr_replies++)
			c->reply[r++] = '\n';
		while (i < c->out_len && c->out[i] != '#') {
			sum += (uint8_t)c->out[i];
			c->reply[r++] = c->out[i++];
		}
		assert_true(i + 3 <= c->out_len);
		assert_int_equal(sscanf(c->out + i + 1, "%2x", &cs), 1);
		assert_int_equal(cs, sum);
		i += 3;
	}
	c->reply[r] = 0;
	c->out_len = 0;
}

static void send_raw(struct ctx *c, const void *payload, size_t len)
{
	const uint8_t *p = payload;
	uint8_t sum = 0;
	char cs[4];

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	snprintf(cs, sizeof(cs), "#%02x", sum);
	gdb_server_input(c->srv, "$", 1);
	gdb_server_input(c->srv, payload, len);
	gdb_server_input(c->srv, cs, 3);
}

/* Send one packet; the replies land in c->reply. */
static const char *cmd(struct ctx *c, const char *payload)
{
	c->out_len = 0;
	send_raw(c, payload, strlen(payload));
	parse_out(c);
	return c->reply;
}

/* Report the fake target's pending stop, as the KVM target does from the loop. */
static const char *deliver(struct ctx *c)
{
	assert_true(c->f.has_pending);
	c->f.has_pending = false;
	c->out_len = 0;
	gdb_server_stopped(c->srv, &c->f.pending);
	parse_out(c);
	return c->reply;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	fake_init(&c->f);
	c->f.running = true;
	if (gdb_server_create_raw(&c->srv, &fake_ops, &c->f, out_write, c))
		return -1;
	*state = c;
	return 0;
}

/* Connected and stopped, as after gdb's first '?'. */
static int setup_stopped(void **state)
{
	struct ctx *c;

	if (setup(state))
		return -1;
	c = *state;
	if (!c->f.has_pending)
		return -1;
	c->f.has_pending = false;
	gdb_server_stopped(c->srv, &c->f.pending);
	c->out_len = 0;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	gdb_server_destroy(c->srv);
	free(c);
	return 0;
}

static void test_connect_interrupts(void **state)
{
	struct ctx *c = *state;

	/* The target was running: the connection stopped it, but nothing is sent unasked. */
	assert_int_equal(c->f.interrupts, 1);
	assert_true(c->f.has_pending);
	assert_string_equal(deliver(c), "");
	assert_string_equal(cmd(c, "?"), "T02thread:1;");
}

static void test_question_waits_for_stop(void **state)
{
	struct ctx *c = *state;
	struct gdb_stop s = c->f.pending;

	c->f.has_pending = false;
	/* '?' before the stop came: the reply goes out with the stop. */
	assert_string_equal(cmd(c, "?"), "");
	assert_string_equal(cmd(c, "g"), "E10");
	c->out_len = 0;
	gdb_server_stopped(c->srv, &s);
	parse_out(c);
	assert_string_equal(c->reply, "T02thread:1;");
	assert_int_equal(c->f.interrupts, 1);
}

static void test_supported(void **state)
{
	struct ctx *c = *state;
	const char *r = cmd(c, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");

	assert_non_null(strstr(r, "PacketSize=4000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "vContSupported+"));
	assert_non_null(strstr(r, "swbreak+"));
	assert_non_null(strstr(r, "hwbreak+"));
	assert_non_null(strstr(r, "QStartNoAckMode+"));
	assert_string_equal(cmd(c, "vMustReplyEmpty"), "");
	assert_string_equal(cmd(c, "qAttached"), "1");
	assert_string_equal(cmd(c, "qAttached:1"), "1");
	assert_string_equal(cmd(c, "vCont?"), "vCont;c;C;s;S");
}

static void test_no_ack(void **state)
{
	struct ctx *c = *state;

	c->out_len = 0;
	send_raw(c, "QStartNoAckMode", 15);
	assert_string_equal(c->out, "+$OK#9a");
	c->out_len = 0;
	send_raw(c, "qC", 2);
	/* No '+' any more. */
	assert_int_equal(c->out[0], '$');
	parse_out(c);
	assert_string_equal(c->reply, "QC1");
}

/* A minimal XML check: balanced tags, quoted attributes, one root. */
static void check_xml(const char *x)
{
	const char *stack[16];
	size_t depth = 0, roots = 0;

	assert_true(!strncmp(x, "<?xml version=\"1.0\"?>", 21));
	while ((x = strchr(x, '<'))) {
		const char *end = strchr(x, '>');
		size_t quotes = 0;

		assert_non_null(end);
		for (const char *q = x; q < end; q++) {
			quotes += *q == '"';
			assert_true(*q != '<' || q == x);
		}
		assert_int_equal(quotes % 2, 0);
		if (x[1] == '?' || x[1] == '!') {
			/* declaration, DOCTYPE */
		} else if (x[1] == '/') {
			size_t n = strcspn(x + 2, " >");

			assert_true(depth > 0);
			depth--;
			assert_int_equal(strcspn(stack[depth], " />"), n);
			assert_memory_equal(stack[depth], x + 2, n);
		} else if (end[-1] != '/') {
			assert_true(depth < 16);
			if (!depth)
				roots++;
			stack[depth++] = x + 1;
		}
		x = end + 1;
	}
	assert_int_equal(depth, 0);
	assert_int_equal(roots, 1);
}

static void test_target_xml(void **state)
{
	struct ctx *c = *state;
	static char xml[16384];
	size_t n = 0;
	unsigned int regs = 0;
	char q[64];
	const char *p;

	/* Read it in small pieces, as gdb would with a small packet size. */
	for (;;) {
		long len;

		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,100", n);
		cmd(c, q);
		assert_true(c->reply[0] == 'm' || c->reply[0] == 'l');
		len = gdb_unescape((uint8_t *)c->reply + 1, strlen(c->reply + 1));
		assert_true(len >= 0 && n + (size_t)len < sizeof(xml));
		memcpy(xml + n, c->reply + 1, (size_t)len);
		n += (size_t)len;
		if (c->reply[0] == 'l')
			break;
		assert_true(len > 0);
	}
	xml[n] = 0;
	assert_string_equal(xml, gdb_target_xml());
	check_xml(xml);
	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.core\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.sse\">"));
	assert_non_null(strstr(xml, "<feature name=\"org.gnu.gdb.i386.segments\">"));
	/* Every register in enum gdb_reg order with its size. */
	for (p = xml; (p = strstr(p, "<reg ")); p++) {
		unsigned int bits, num;
		const char *b = strstr(p, "bitsize=\""), *r = strstr(p, "regnum=\"");

		assert_non_null(b);
		assert_non_null(r);
		assert_int_equal(sscanf(b, "bitsize=\"%u\"", &bits), 1);
		assert_int_equal(sscanf(r, "regnum=\"%u\"", &num), 1);
		assert_int_equal(num, regs);
		assert_int_equal(bits, 8 * gdb_reg_size(regs));
		regs++;
	}
	assert_int_equal(regs, GDB_NR_REGS);
	for (unsigned int i = 0; i < 6; i++) {
		static const char *const names[] = { "cr0", "cr2", "cr3", "cr4", "cr8", "efer" };
		char want[32];

		snprintf(want, sizeof(want), "name=\"%s\"", names[i]);
		assert_non_null(strstr(xml, want));
	}
	assert_non_null(strstr(xml, "name=\"mxcsr\""));
	assert_non_null(strstr(xml, "name=\"fs_base\""));
	assert_non_null(strstr(xml, "name=\"st7\" bitsize=\"80\""));
	assert_string_equal(cmd(c, "qXfer:features:read:target.xml:ffff,100"), "l");
	assert_string_equal(cmd(c, "qXfer:features:read:other.xml:0,100"), "E02");
	assert_string_equal(cmd(c, "qXfer:features:read:target.xml:0"), "E16");
}

static void test_registers(void **state)
{
	struct ctx *c = *state;
	size_t off = 0;
	char *g, *gp;

	cmd(c, "g");
	g = strdup(c->reply);
	assert_non_null(g);
	assert_int_equal(strlen(g), 2 * 608);
	assert_memory_equal(g, "0010000000000000", 16); /* rax of CPU 0 */
	for (unsigned int r = 0; r < GDB_K_GS_BASE; r++)
		off += 2 * gdb_reg_size(r);
	assert_memory_equal(g + off, "xxxxxxxxxxxxxxxx", 16);
	assert_string_equal(cmd(c, "p10"), "00000081ffffffff"); /* rip */
	assert_string_equal(cmd(c, "p3b"), "xxxxxxxxxxxxxxxx");
	assert_string_equal(cmd(c, "p42"), "E16");
	assert_string_equal(cmd(c, "pzz"), "E16");
	assert_string_equal(cmd(c, "P0=8877665544332211"), "OK");
	assert_int_equal(get_le(c->f.regs[0][GDB_RAX], 8), 0x1122334455667788ULL);
	assert_string_equal(cmd(c, "P0=88"), "E16");
	assert_string_equal(cmd(c, "P3b=0000000000000000"), "");
	/* G writes back everything but the unavailable register (rax changed to 2). */
	gp = malloc(strlen(g) + 2);
	assert_non_null(gp);
	gp[0] = 'G';
	strcpy(gp + 1, g);
	memcpy(gp + 1, "0200000000000000", 16);
	assert_string_equal(cmd(c, gp), "OK");
	assert_int_equal(get_le(c->f.regs[0][GDB_RAX], 8), 2);
	assert_int_equal(get_le(c->f.regs[0][GDB_RIP], 8), 0xffffffff81000000ULL);
	gp[10] = 0;
	assert_string_equal(cmd(c, gp), "E16");
	free(gp);
	free(g);
	/* Hg selects the CPU. */
	assert_string_equal(cmd(c, "Hg2"), "OK");
	assert_string_equal(cmd(c, "p0"), "0020000000000000");
	assert_string_equal(cmd(c, "qC"), "QC2");
	assert_string_equal(cmd(c, "Hg3"), "E03");
	assert_string_equal(cmd(c, "Hg0"), "OK");
	assert_string_equal(cmd(c, "qC"), "QC2");
	assert_string_equal(cmd(c, "Hx1"), "E16");
}

static void test_memory(void **state)
{
	struct ctx *c = *state;
	uint8_t bin[] = { 'X', '$', '#', '}', '*', 0x03, 0 };
	char pkt[64];
	size_t n, used;

	assert_string_equal(cmd(c, "mffffffff81000000,4"), "01080f16");
	assert_string_equal(cmd(c, "mffffffff81000ffe,2"), "f3fa"); /* the last two bytes */
	assert_string_equal(cmd(c, "mffffffff81000fff,2"), "E0e");
	assert_string_equal(cmd(c, "m0,1"), "E0e");
	assert_string_equal(cmd(c, "m100000,1"), "E0e");
	assert_string_equal(cmd(c, "mffffffff81000000"), "E16");
	assert_string_equal(cmd(c, "m12345678901234567,1"), "E16");
	assert_string_equal(cmd(c, "Mffffffff81000010,2:abcd"), "OK");
	assert_int_equal(c->f.mem[0x10], 0xab);
	assert_int_equal(c->f.mem[0x11], 0xcd);
	assert_string_equal(cmd(c, "Mffffffff81000010,2:abc"), "E16");
	assert_string_equal(cmd(c, "Mffffffff81000010,1:zz"), "E16");
	assert_string_equal(cmd(c, "M0,1:00"), "E0e");
	/* X: binary, escaped. */
	assert_string_equal(cmd(c, "Xffffffff81000000,0:"), "OK");
	n = (size_t)snprintf(pkt, sizeof(pkt), "Xffffffff81000020,%zx:", sizeof(bin));
	n += gdb_escape(bin, sizeof(bin), (uint8_t *)pkt + n, sizeof(pkt) - n, &used);
	c->out_len = 0;
	send_raw(c, pkt, n);
	parse_out(c);
	assert_string_equal(c->reply, "OK");
	assert_memory_equal(c->f.mem + 0x20, bin, sizeof(bin));
	/* Length and data disagree. */
	assert_string_equal(cmd(c, "Xffffffff81000020,3:ab"), "E16");
	/* monitor phys on: addresses are guest-physical. */
	cmd(c, "qRcmd,70687973206f6e"); /* "phys on" */
	assert_int_equal(c->nr_replies, 2);
	assert_string_equal(strchr(c->reply, '\n'), "\nOK");
	assert_string_equal(cmd(c, "m100000,2"), "0108");
	assert_string_equal(cmd(c, "mffffffff81000000,1"), "E0e");
	cmd(c, "qRcmd,70687973206f6666"); /* "phys off" */
	assert_string_equal(cmd(c, "mffffffff81000000,1"), "01");
}

static void test_breakpoints(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(cmd(c, "Z0,ffffffff81000040,1"), "OK");
	assert_true(c->f.bps[0].used);
	assert_int_equal(c->f.bps[0].addr, 0xffffffff81000040ULL);
	assert_string_equal(cmd(c, "z0,ffffffff81000040,1"), "OK");
	assert_false(c->f.bps[0].used);
	assert_string_equal(cmd(c, "z0,ffffffff81000040,1"), "E02");
	/* Conditions after ';' are ignored (we do not advertise them). */
	assert_string_equal(cmd(c, "Z0,1000,1;X1,0"), "OK");
	assert_string_equal(cmd(c, "Z1,1000,1"), "OK");
	assert_string_equal(cmd(c, "Z2,2000,4"), "OK");
	assert_string_equal(cmd(c, "Z3,3000,8"), "OK");
	assert_string_equal(cmd(c, "Z4,4000,1"), "OK");
	/* Out of hardware slots, bad length, unsupported type, syntax. */
	assert_string_equal(cmd(c, "Z1,5000,1"), "E1c");
	assert_string_equal(cmd(c, "z4,4000,1"), "OK");
	assert_string_equal(cmd(c, "Z2,5000,3"), "E16");
	assert_string_equal(cmd(c, "Z5,5000,1"), "");
	assert_string_equal(cmd(c, "Z0,5000"), "E16");
	assert_string_equal(cmd(c, "Z0,,1"), "E16");
}

static void test_vcont(void **state)
{
	static const char *const bad[] = { "vCont;x",	 "vCont;c:3", "vCont;c:0",  "vCont;cc",
					   "vCont;s:2;", "vCont;C",   "vCont;c:2x", "vCont;r1,2" };
	struct ctx *c = *state;
	unsigned int resumes;

	/* gdb's stepi on thread 2: the others run. */
	assert_string_equal(cmd(c, "vCont;s:2;c"), "");
	assert_int_equal(c->f.actions[0], GDB_ACT_CONTINUE);
	assert_int_equal(c->f.actions[1], GDB_ACT_STEP);
	assert_string_equal(deliver(c), "T05thread:2;");
	assert_string_equal(cmd(c, "qC"), "QC2");
	/* Leftmost action wins; threads without one stay. */
	cmd(c, "vCont;c:1;s:1");
	assert_int_equal(c->f.actions[0], GDB_ACT_CONTINUE);
	assert_int_equal(c->f.actions[1], GDB_ACT_STOP);
	assert_string_equal(cmd(c, "g"), "E10");
	c->f.running = true;
	gdb_server_input(c->srv, "\x03", 1);
	assert_int_equal(c->f.interrupts, 2);
	assert_string_equal(deliver(c), "T02thread:1;");
	/* Signals are dropped; -1 means all. */
	cmd(c, "vCont;C05:-1");
	assert_int_equal(c->f.actions[0], GDB_ACT_CONTINUE);
	assert_int_equal(c->f.actions[1], GDB_ACT_CONTINUE);
	c->f.running = true;
	gdb_server_input(c->srv, "\x03\x03", 2);
	assert_int_equal(c->f.interrupts, 3); /* once per stop */
	deliver(c);
	cmd(c, "vCont;S05:2");
	assert_int_equal(c->f.actions[0], GDB_ACT_STOP);
	assert_int_equal(c->f.actions[1], GDB_ACT_STEP);
	deliver(c);
	/* Malformed: rejected without resuming. */
	resumes = c->f.resumes;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		assert_string_equal(cmd(c, bad[i]), "E16");
	assert_int_equal(c->f.resumes, resumes);
}

static void test_continue_step(void **state)
{
	struct ctx *c = *state;

	/* s: only the current thread (Hc) steps. */
	assert_string_equal(cmd(c, "Hc2"), "OK");
	assert_string_equal(cmd(c, "s"), "");
	assert_int_equal(c->f.actions[0], GDB_ACT_STOP);
	assert_int_equal(c->f.actions[1], GDB_ACT_STEP);
	assert_string_equal(deliver(c), "T05thread:2;");
	/* c addr: the current thread jumps there; everyone runs. */
	cmd(c, "Z0,ffffffff81000080,1");
	assert_string_equal(cmd(c, "cffffffff81000100"), "");
	assert_int_equal(c->f.actions[0], GDB_ACT_CONTINUE);
	assert_int_equal(c->f.actions[1], GDB_ACT_CONTINUE);
	/* The breakpoint stop, without swbreak: this gdb did not ask for it. */
	assert_string_equal(deliver(c), "T05thread:1;");
	cmd(c, "qSupported:swbreak+;hwbreak+");
	cmd(c, "c");
	assert_string_equal(deliver(c), "T05thread:1;swbreak:;");
	assert_int_equal(get_le(c->f.regs[0][GDB_RIP], 8), 0xffffffff81000080ULL);
	cmd(c, "z0,ffffffff81000080,1");
	cmd(c, "Z1,ffffffff81000090,1");
	cmd(c, "c");
	assert_string_equal(deliver(c), "T05thread:1;hwbreak:;");
	cmd(c, "z1,ffffffff81000090,1");
	cmd(c, "Z2,ffffffff81000100,4");
	cmd(c, "c");
	assert_string_equal(deliver(c), "T05thread:1;watch:ffffffff81000100;");
	cmd(c, "z2,ffffffff81000100,4");
	cmd(c, "Z3,ffffffff81000100,4");
	cmd(c, "c");
	assert_string_equal(deliver(c), "T05thread:1;rwatch:ffffffff81000100;");
	assert_string_equal(cmd(c, "cxyz"), "E16");
}

static void test_exit(void **state)
{
	struct ctx *c = *state;

	cmd(c, "c");
	c->out_len = 0;
	gdb_server_stopped(c->srv,
			   &(struct gdb_stop){ .reason = GDB_STOP_EXITED, .exit_status = 3 });
	parse_out(c);
	assert_string_equal(c->reply, "W03");
	assert_string_equal(cmd(c, "?"), "W03");
	assert_string_equal(cmd(c, "g"), "E03");
	/* The VM is gone: a disconnect has nothing to detach. */
	gdb_server_disconnect(c->srv);
	assert_int_equal(c->f.detaches, 0);
}

static void test_threads(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(cmd(c, "qfThreadInfo"), "m1,2");
	assert_string_equal(cmd(c, "qsThreadInfo"), "l");
	assert_string_equal(cmd(c, "T1"), "OK");
	assert_string_equal(cmd(c, "T2"), "OK");
	assert_string_equal(cmd(c, "T3"), "E03");
	assert_string_equal(cmd(c, "T0"), "E03");
	assert_string_equal(cmd(c, "qThreadExtraInfo,2"), "4350552031"); /* "CPU 1" */
	assert_string_equal(cmd(c, "qC"), "QC1");
}

static void test_monitor(void **state)
{
	struct ctx *c = *state;
	char text[64] = { 0 };

	cmd(c, "qRcmd,696e666f"); /* info */
	assert_int_equal(c->nr_replies, 2);
	assert_int_equal(c->reply[0], 'O');
	*strchr(c->reply, '\n') = 0;
	memset(text, 0, sizeof(text));
	assert_int_equal(gdb_hex_decode(c->reply + 1, strlen(c->reply + 1) / 2, text), 0);
	assert_string_equal(text, "fake target: 2 CPUs, stopped\n");
	assert_string_equal(c->reply + strlen(c->reply) + 1, "OK");
	/* Unknown: a message, then an error. */
	cmd(c, "qRcmd,666f6f"); /* foo */
	assert_int_equal(c->nr_replies, 2);
	assert_string_equal(strchr(c->reply, '\n'), "\nE16");
	assert_string_equal(cmd(c, "qRcmd,6"), "E16");
	assert_string_equal(cmd(c, "qRcmd,zz"), "E16");
	assert_string_equal(cmd(c, "qRcmd,6100"), "E16");
	cmd(c, "qRcmd,68656c70"); /* help */
	assert_string_equal(strchr(c->reply, '\n'), "\nOK");
}

static void test_detach(void **state)
{
	struct ctx *c = *state;

	cmd(c, "Z0,1000,1");
	assert_string_equal(cmd(c, "D"), "OK");
	assert_int_equal(c->f.detaches, 1);
	assert_false(c->f.bps[0].used);
	assert_true(c->f.running);
	gdb_server_disconnect(c->srv);
	assert_int_equal(c->f.detaches, 1);
}

static void test_disconnect_detaches(void **state)
{
	struct ctx *c = *state;

	gdb_server_disconnect(c->srv);
	assert_int_equal(c->f.detaches, 1);
	assert_true(c->f.running);
}

static void test_kill(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(cmd(c, "k"), "");
	assert_int_equal(c->f.kills, 1);
	gdb_server_disconnect(c->srv);
	assert_int_equal(c->f.detaches, 0);
}

static void test_bad_packets(void **state)
{
	struct ctx *c = *state;
	char *big = malloc(GDB_PKT_MAX + 2);

	assert_non_null(big);
	memset(big, 'm', GDB_PKT_MAX + 1);
	big[GDB_PKT_MAX + 1] = 0;
	assert_string_equal(cmd(c, big), "E16");
	free(big);
	/* A NUL inside a text packet. */
	c->out_len = 0;
	send_raw(c, "m0\0,1", 5);
	parse_out(c);
	assert_string_equal(c->reply, "E16");
	assert_string_equal(cmd(c, "!"), "");
	assert_string_equal(cmd(c, "qUnknown"), "");
	assert_string_equal(cmd(c, ""), "");
	assert_string_equal(cmd(c, "H"), "E16");
	/* Still working. */
	assert_string_equal(cmd(c, "qfThreadInfo"), "m1,2");
}

/* ---- The real listener on a unix socket ---- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void poll_loop(struct event_loop *el)
{
	for (int i = 0; i < 5; i++)
		event_loop_poll(el, 20);
}

static void test_socket(void **state)
{
	struct fake_target *f = calloc(1, sizeof(*f));
	struct event_loop el;
	struct gdb_server *srv;
	char dir[] = "/tmp/gdbtest.XXXXXX", path[64], addr[80], buf[64];
	int a, b, n;

	(void)state;
	assert_non_null(f);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	fake_init(f);
	f->running = true;
	assert_int_equal(event_loop_init(&el), 0);
	assert_int_equal(gdb_server_create(&srv, addr, &el, &fake_ops, f), 0);
	a = connect_unix(path);
	poll_loop(&el);
	assert_int_equal(f->interrupts, 1);
	f->has_pending = false;
	gdb_server_stopped(srv, &f->pending);
	/* A second client is closed without a byte. */
	b = connect_unix(path);
	poll_loop(&el);
	assert_int_equal(read(b, buf, sizeof(buf)), 0);
	close(b);
	/* The first one still works. */
	assert_int_equal(write(a, "$?#3f", 5), 5);
	poll_loop(&el);
	n = (int)read(a, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_memory_equal(buf, "+$T02thread:1;#", 15);
	/* Gone without D: the guest runs on. */
	close(a);
	poll_loop(&el);
	assert_int_equal(f->detaches, 1);
	/* And the next client is welcome (and stops the guest again). */
	a = connect_unix(path);
	poll_loop(&el);
	assert_int_equal(f->interrupts, 2);
	close(a);
	poll_loop(&el);
	gdb_server_destroy(srv);
	assert_int_equal(access(path, F_OK), -1);
	event_loop_destroy(&el);
	rmdir(dir);
	free(f);
}

static void test_bad_addresses(void **state)
{
	struct fake_target f;
	struct event_loop el;
	struct gdb_server *srv;
	const char *bad[] = { "tcp:",
			      "tcp:abc",
			      "tcp:127.0.0.1:",
			      "udp:1234",
			      "unix:",
			      "1234",
			      "tcp:no.such.host.invalid:1234",
			      "tcp::65536",
			      "tcp::99999",
			      "tcp::1234567" };

	(void)state;
	fake_init(&f);
	assert_int_equal(event_loop_init(&el), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(gdb_server_create(&srv, bad[i], &el, &fake_ops, &f) < 0);
		assert_null(srv);
	}
	/* Port 0: any free port, on the loopback by default. */
	assert_int_equal(gdb_server_create(&srv, "tcp::0", &el, &fake_ops, &f), 0);
	gdb_server_destroy(srv);
	event_loop_destroy(&el);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_stopped, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_connect_interrupts),
		T(test_question_waits_for_stop),
		T(test_supported),
		T(test_no_ack),
		T(test_target_xml),
		TS(test_registers),
		TS(test_memory),
		TS(test_breakpoints),
		TS(test_vcont),
		TS(test_continue_step),
		TS(test_exit),
		TS(test_threads),
		TS(test_monitor),
		TS(test_detach),
		TS(test_disconnect_detaches),
		TS(test_kill),
		TS(test_bad_packets),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_bad_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
