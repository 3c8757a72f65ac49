// SPDX-License-Identifier: MIT
/*
 * A decoder for the instructions kvmini completes for KVM.  It parses the
 * general x86 layout (legacy prefixes, REX, the 0F escape, ModRM, SIB,
 * displacement, immediate) and then looks the opcode up in a small table;
 * anything not in the table is refused, never guessed at.
 */
#include <errno.h>
#include <stdio.h>

#include "error.h"
#include "util.h"
#include "x86_insn.h"

/* Table entry flags. */
#define OP_MODRM (1u << 0) /* a ModRM byte follows the opcode */
#define OP_EXACT (1u << 1) /* the ModRM byte must equal .modrm */
#define OP_DIGIT (1u << 2) /* ModRM.reg must equal .modrm (the "/digit" of the SDM) */
#define OP_MEM	 (1u << 3) /* the ModRM operand must be memory */
#define OP_IMM8	 (1u << 4)
#define OP_F3	 (1u << 5) /* mandatory F3 prefix */
#define OP_REXW	 (1u << 6) /* needs REX.W (64-bit mode) */

struct opcode {
	bool escape; /* 0F xx */
	uint8_t opcode;
	uint8_t modrm;
	unsigned int flags;
	enum x86_op op;
};

static const struct opcode opcodes[] = {
	{ false, 0xcc, 0, 0, X86_OP_INT3 },
	{ false, 0xcd, 0, OP_IMM8, X86_OP_INT },
	{ false, 0x9b, 0, 0, X86_OP_FWAIT },
	{ false, 0xd9, 5, OP_MODRM | OP_DIGIT | OP_MEM, X86_OP_FLDCW },
	{ false, 0xd9, 7, OP_MODRM | OP_DIGIT | OP_MEM, X86_OP_FNSTCW },
	{ false, 0xdb, 0xe2, OP_MODRM | OP_EXACT, X86_OP_FNCLEX },
	{ false, 0xdb, 0xe3, OP_MODRM | OP_EXACT, X86_OP_FNINIT },
	{ false, 0xdd, 7, OP_MODRM | OP_DIGIT | OP_MEM, X86_OP_FNSTSW },
	{ false, 0xdf, 0xe0, OP_MODRM | OP_EXACT, X86_OP_FNSTSW },
	{ true, 0x01, 0xca, OP_MODRM | OP_EXACT, X86_OP_CLAC },
	{ true, 0x01, 0xcb, OP_MODRM | OP_EXACT, X86_OP_STAC },
	{ true, 0x01, 0xd0, OP_MODRM | OP_EXACT, X86_OP_XGETBV },
	{ true, 0x01, 0xd1, OP_MODRM | OP_EXACT, X86_OP_XSETBV },
	{ true, 0xb8, 0, OP_MODRM | OP_F3, X86_OP_POPCNT },
	{ true, 0xc7, 1, OP_MODRM | OP_DIGIT | OP_MEM | OP_REXW, X86_OP_CMPXCHG16B },
};

static const char *const op_names[X86_NR_OPS] = {
	[X86_OP_INT3] = "int3",	    [X86_OP_INT] = "int",
	[X86_OP_CLAC] = "clac",	    [X86_OP_STAC] = "stac",
	[X86_OP_POPCNT] = "popcnt", [X86_OP_FNINIT] = "fninit",
	[X86_OP_FWAIT] = "fwait",   [X86_OP_FNCLEX] = "fnclex",
	[X86_OP_FLDCW] = "fldcw",   [X86_OP_FNSTCW] = "fnstcw",
	[X86_OP_FNSTSW] = "fnstsw", [X86_OP_XGETBV] = "xgetbv",
	[X86_OP_XSETBV] = "xsetbv", [X86_OP_CMPXCHG16B] = "cmpxchg16b",
};

/* 16-bit ModRM forms, by rm: base and index registers. */
static const int8_t base16[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };	 /* BX BX BP BP SI DI BP BX */
static const int8_t index16[8] = { 6, 7, 6, 7, -1, -1, -1, -1 }; /* SI DI SI DI */

#define REG_SP 4
#define REG_BP 5

#define REX_B 0x1
#define REX_X 0x2
#define REX_R 0x4
#define REX_W 0x8

struct cursor {
	const uint8_t *buf;
	size_t len, pos;
};

const char *x86_op_name(enum x86_op op)
{
	return op < X86_NR_OPS ? op_names[op] : "?";
}

static int next(struct cursor *c, uint8_t *b)
{
	if (c->pos >= c->len)
		return -EAGAIN;
	*b = c->buf[c->pos++];
	return 0;
}

/* A little-endian value of @size bytes, sign-extended. */
static int next_signed(struct cursor *c, unsigned int size, int64_t *v)
{
	uint64_t u = 0;

	if (c->len - c->pos < size)
		return -EAGAIN;
	for (unsigned int i = 0; i < size; i++)
		u |= (uint64_t)c->buf[c->pos++] << (8 * i);
	*v = (int64_t)(u << (64 - 8 * size)) >> (64 - 8 * size);
	return 0;
}

static int refuse(const struct cursor *c, const char *why)
{
	char hex[3 * X86_MAX_INSN_LEN + 1] = "";
	size_t n = c->len < X86_MAX_INSN_LEN ? c->len : X86_MAX_INSN_LEN;

	size_t off = 0;

	for (size_t i = 0; i < n; i++)
		off += snprintf(hex + off, sizeof(hex) - off, "%s%02x", i ? " " : "", c->buf[i]);
	return err_set(EOPNOTSUPP, "the instruction starting with the bytes %s is %s", hex, why);
}

/* What the prefixes say, besides what struct x86_insn keeps. */
struct prefixes {
	unsigned int rex;
	bool opsize, adsize, seg_override;
};

/* Legacy prefixes and REX; stops at the first opcode byte. */
static int decode_prefixes(struct cursor *c, enum x86_mode mode, struct x86_insn *insn,
			   struct prefixes *p)
{
	static const uint8_t seg_prefix[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	uint8_t b;
	int ret;

	for (;;) {
		bool legacy = true;

		ret = next(c, &b);
		if (ret)
			return ret;
		if (b == 0xf0)
			insn->lock = true;
		else if (b == 0xf2)
			insn->repne = true, insn->rep = false;
		else if (b == 0xf3)
			insn->rep = true, insn->repne = false;
		else if (b == 0x66)
			p->opsize = true;
		else if (b == 0x67)
			p->adsize = true;
		else
			legacy = false;
		for (size_t i = 0; i < ARRAY_SIZE(seg_prefix); i++) {
			if (b != seg_prefix[i])
				continue;
			legacy = true;
			/* 64-bit mode ignores ES, CS, SS and DS overrides. */
			if (mode != X86_MODE_64 || b >= 0x64) {
				insn->seg = (enum x86_seg)i;
				p->seg_override = true;
			}
		}
		if (legacy) {
			p->rex = 0; /* a REX prefix counts only right before the opcode */
			continue;
		}
		if (mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
			p->rex = b;
			continue;
		}
		c->pos--;
		return 0;
	}
}

/* Memory operands based on the stack or frame pointer default to SS. */
static void default_seg(const struct prefixes *p, struct x86_insn *insn)
{
	if (!p->seg_override && (insn->base == REG_SP || insn->base == REG_BP))
		insn->seg = X86_SEG_SS;
}

static int decode_modrm16(struct cursor *c, uint8_t modrm, const struct prefixes *p,
			  struct x86_insn *insn)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;

	insn->base = base16[rm];
	insn->index = index16[rm];
	if (mod == 0 && rm == 6) {
		insn->base = X86_REG_NONE;
		return next_signed(c, 2, &insn->disp);
	}
	default_seg(p, insn);
	return mod ? next_signed(c, mod == 1 ? 1 : 2, &insn->disp) : 0;
}

static int decode_modrm32(struct cursor *c, uint8_t modrm, const struct prefixes *p,
			  enum x86_mode mode, struct x86_insn *insn)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7, rex = p->rex;
	int ret;

	insn->base = rm | (rex & REX_B ? 8 : 0);
	if (rm == 4) {
		uint8_t sib;

		ret = next(c, &sib);
		if (ret)
			return ret;
		insn->scale = 1u << (sib >> 6);
		insn->index = ((sib >> 3) & 7) | (rex & REX_X ? 8 : 0);
		if (insn->index == REG_SP)
			insn->index = X86_REG_NONE;
		insn->base = (sib & 7) | (rex & REX_B ? 8 : 0);
		if ((sib & 7) == 5 && mod == 0)
			insn->base = X86_REG_NONE;
	} else if (rm == 5 && mod == 0) {
		insn->base = mode == X86_MODE_64 ? X86_REG_RIP : X86_REG_NONE;
	}
	default_seg(p, insn);
	if (mod == 1)
		return next_signed(c, 1, &insn->disp);
	if (mod == 2 || insn->base == X86_REG_NONE || insn->base == X86_REG_RIP)
		return next_signed(c, 4, &insn->disp);
	return 0;
}

static bool matches(const struct opcode *o, uint8_t modrm, const struct x86_insn *insn,
		    unsigned int rex)
{
	if ((o->flags & OP_EXACT) && modrm != o->modrm)
		return false;
	if ((o->flags & OP_DIGIT) && ((modrm >> 3) & 7) != o->modrm)
		return false;
	if ((o->flags & OP_MEM) && (modrm >> 6) == 3)
		return false;
	if ((o->flags & OP_F3) && (!insn->rep || insn->repne))
		return false;
	return !(o->flags & OP_REXW) || (rex & REX_W);
}

int x86_decode(const uint8_t *buf, size_t len, enum x86_mode mode, struct x86_insn *insn)
{
	struct cursor c = { buf, len, 0 };
	const struct opcode *o = NULL;
	struct prefixes p = { 0 };
	bool escape = false;
	uint8_t b, modrm = 0;
	int ret;

	*insn = (struct x86_insn){
		.seg = X86_SEG_DS, .base = X86_REG_NONE, .index = X86_REG_NONE, .scale = 1
	};
	ret = decode_prefixes(&c, mode, insn, &p);
	if (!ret)
		ret = next(&c, &b);
	if (!ret && b == 0x0f) {
		escape = true;
		ret = next(&c, &b);
	}
	for (size_t i = 0; !ret && i < ARRAY_SIZE(opcodes); i++) {
		if (opcodes[i].escape != escape || opcodes[i].opcode != b)
			continue;
		if ((opcodes[i].flags & OP_MODRM) && !insn->has_modrm) {
			ret = next(&c, &modrm);
			insn->has_modrm = true;
		}
		if (!ret && matches(&opcodes[i], modrm, insn, p.rex)) {
			o = &opcodes[i];
			break;
		}
	}
	if (ret == -EAGAIN)
		return err_set(EAGAIN, "the instruction is cut short after %zu bytes", len);
	if (!o)
		return refuse(&c, "not one kvmini completes in place of KVM");

	insn->op = o->op;
	if (mode == X86_MODE_64)
		insn->op_size = p.rex & REX_W ? 8 : p.opsize ? 2 : 4;
	else
		insn->op_size = (mode == X86_MODE_32) != p.opsize ? 4 : 2;
	if (mode == X86_MODE_64)
		insn->addr_size = p.adsize ? 4 : 8;
	else
		insn->addr_size = (mode == X86_MODE_32) != p.adsize ? 4 : 2;
	if (insn->has_modrm) {
		insn->reg = ((modrm >> 3) & 7) | (p.rex & REX_R ? 8 : 0);
		insn->rm = (modrm & 7) | (p.rex & REX_B ? 8 : 0);
		insn->mem = (modrm >> 6) != 3;
	}
	if (insn->mem && insn->addr_size == 2)
		ret = decode_modrm16(&c, modrm, &p, insn);
	else if (insn->mem)
		ret = decode_modrm32(&c, modrm, &p, mode, insn);
	if (!ret && (o->flags & OP_IMM8)) {
		ret = next(&c, &b);
		insn->imm = b;
	}
	if (ret)
		return err_set(EAGAIN, "the instruction is cut short after %zu bytes", len);
	if (c.pos > X86_MAX_INSN_LEN)
		return refuse(&c, "longer than 15 bytes");
	insn->len = c.pos;
	return 0;
}
