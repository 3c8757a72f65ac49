// SPDX-License-Identifier: MIT
/* Unit tests for the instruction decoder (vmm/x86_decode.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "x86_insn.h"

#define RAX 0
#define RCX 1
#define RBX 3
#define RSP 4
#define RBP 5
#define RSI 6
#define RDI 7

#define DECODE(mode, insn, ...)                                                                \
	x86_decode((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), \
		   mode, insn)

static void test_no_operands(void **state)
{
	struct x86_insn i;

	(void)state;
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xcc), 0);
	assert_int_equal(i.op, X86_OP_INT3);
	assert_int_equal(i.len, 1);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x9b, 0xdb, 0xe3), 0); /* finit: two insns */
	assert_int_equal(i.op, X86_OP_FWAIT);
	assert_int_equal(i.len, 1);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xdb, 0xe3), 0);
	assert_int_equal(i.op, X86_OP_FNINIT);
	assert_int_equal(i.len, 2);
	assert_false(i.mem);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xdb, 0xe2), 0);
	assert_int_equal(i.op, X86_OP_FNCLEX);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xdf, 0xe0), 0);
	assert_int_equal(i.op, X86_OP_FNSTSW);
	assert_false(i.mem);
	assert_int_equal(DECODE(X86_MODE_16, &i, 0x0f, 0x01, 0xca), 0);
	assert_int_equal(i.op, X86_OP_CLAC);
	assert_int_equal(i.len, 3);
	assert_int_equal(DECODE(X86_MODE_32, &i, 0x0f, 0x01, 0xcb), 0);
	assert_int_equal(i.op, X86_OP_STAC);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0x01, 0xd0), 0);
	assert_int_equal(i.op, X86_OP_XGETBV);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(i.op, X86_OP_XSETBV);
}

static void test_immediate(void **state)
{
	struct x86_insn i;

	(void)state;
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xcd, 0x80, 0x90), 0);
	assert_int_equal(i.op, X86_OP_INT);
	assert_int_equal(i.imm, 0x80);
	assert_int_equal(i.len, 2);
}

static void test_popcnt_registers(void **state)
{
	struct x86_insn i;

	(void)state;
	/* popcnt %rcx, %rax */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op, X86_OP_POPCNT);
	assert_int_equal(i.len, 5);
	assert_int_equal(i.op_size, 8);
	assert_int_equal(i.reg, RAX);
	assert_int_equal(i.rm, RCX);
	assert_false(i.mem);
	/* popcnt %r9d, %r8d: REX.R and REX.B */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x45, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 4);
	assert_int_equal(i.reg, 8);
	assert_int_equal(i.rm, 9);
	/* popcnt %cx, %ax: 66 before or after F3 */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x66, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 2);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x66, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 2);
	/* 16-bit code: 66 makes it 32-bit */
	assert_int_equal(DECODE(X86_MODE_16, &i, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 2);
	assert_int_equal(DECODE(X86_MODE_16, &i, 0x66, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 4);
}

static void test_rex_placement(void **state)
{
	struct x86_insn i;

	(void)state;
	/* A REX prefix followed by a legacy prefix does not count. */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x48, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 4);
	assert_int_equal(i.len, 5);
	/* The last REX prefix wins. */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x41, 0x48, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(i.op_size, 8);
	assert_int_equal(i.rm, RCX);
	/* 0x48 is "dec %eax" outside 64-bit mode. */
	assert_int_equal(DECODE(X86_MODE_32, &i, 0x48, 0x0f, 0x01, 0xca), -EOPNOTSUPP);
}

static void test_modrm_forms(void **state)
{
	struct x86_insn i;

	(void)state;
	/* popcnt (%rbx,%rcx,4), %eax */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x04, 0x8b), 0);
	assert_true(i.mem);
	assert_int_equal(i.len, 5);
	assert_int_equal(i.base, RBX);
	assert_int_equal(i.index, RCX);
	assert_int_equal(i.scale, 4);
	assert_int_equal(i.disp, 0);
	assert_int_equal(i.seg, X86_SEG_DS);
	/* popcnt -8(%rsp), %eax: SIB without index, disp8, stack segment */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x44, 0x24, 0xf8), 0);
	assert_int_equal(i.len, 6);
	assert_int_equal(i.base, RSP);
	assert_int_equal(i.index, X86_REG_NONE);
	assert_int_equal(i.disp, -8);
	assert_int_equal(i.seg, X86_SEG_SS);
	/* popcnt 0x1000, %eax: SIB without base or index */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x04, 0x25, 0x00, 0x10, 0, 0),
			 0);
	assert_int_equal(i.len, 9);
	assert_int_equal(i.base, X86_REG_NONE);
	assert_int_equal(i.index, X86_REG_NONE);
	assert_int_equal(i.disp, 0x1000);
	/* popcnt (%rax,%r12,1), %eax: index 4 is valid with REX.X */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x42, 0x0f, 0xb8, 0x04, 0x20), 0);
	assert_int_equal(i.base, RAX);
	assert_int_equal(i.index, 12);
	/* popcnt 0x100(%rax), %eax: disp32 */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x80, 0x00, 0x01, 0x00, 0x00),
			 0);
	assert_int_equal(i.len, 8);
	assert_int_equal(i.base, RAX);
	assert_int_equal(i.disp, 0x100);
	/* popcnt 8(%rbp), %eax: stack segment; 0(%r13): data segment */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x45, 0x08), 0);
	assert_int_equal(i.base, RBP);
	assert_int_equal(i.seg, X86_SEG_SS);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x41, 0x0f, 0xb8, 0x45, 0x00), 0);
	assert_int_equal(i.base, 13);
	assert_int_equal(i.seg, X86_SEG_DS);
	/* fldcw (%rdi), fnstcw (%rdi), fnstsw (%rdi) */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xd9, 0x2f), 0);
	assert_int_equal(i.op, X86_OP_FLDCW);
	assert_int_equal(i.base, RDI);
	assert_int_equal(i.len, 2);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xd9, 0x3f), 0);
	assert_int_equal(i.op, X86_OP_FNSTCW);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xdd, 0x3f), 0);
	assert_int_equal(i.op, X86_OP_FNSTSW);
	assert_true(i.mem);
}

static void test_rip_relative(void **state)
{
	struct x86_insn i;

	(void)state;
	/* popcnt 0x12345678(%rip), %rax */
	assert_int_equal(
		DECODE(X86_MODE_64, &i, 0xf3, 0x48, 0x0f, 0xb8, 0x05, 0x78, 0x56, 0x34, 0x12), 0);
	assert_int_equal(i.len, 9);
	assert_int_equal(i.base, X86_REG_RIP);
	assert_int_equal(i.disp, 0x12345678);
	/* The same bytes in 32-bit code: an absolute disp32. */
	assert_int_equal(DECODE(X86_MODE_32, &i, 0xf3, 0x0f, 0xb8, 0x05, 0xfc, 0xff, 0xff, 0xff),
			 0);
	assert_int_equal(i.base, X86_REG_NONE);
	assert_int_equal(i.disp, -4);
}

static void test_16bit_addressing(void **state)
{
	struct x86_insn i;

	(void)state;
	/* popcnt (%bp,%si), %ax */
	assert_int_equal(DECODE(X86_MODE_16, &i, 0xf3, 0x0f, 0xb8, 0x02), 0);
	assert_int_equal(i.addr_size, 2);
	assert_int_equal(i.len, 4);
	assert_int_equal(i.base, RBP);
	assert_int_equal(i.index, RSI);
	assert_int_equal(i.seg, X86_SEG_SS);
	/* popcnt 0x1234, %ax: disp16 */
	assert_int_equal(DECODE(X86_MODE_16, &i, 0xf3, 0x0f, 0xb8, 0x06, 0x34, 0x12), 0);
	assert_int_equal(i.len, 6);
	assert_int_equal(i.base, X86_REG_NONE);
	assert_int_equal(i.disp, 0x1234);
	/* popcnt -2(%bx,%di), %ax: disp8 */
	assert_int_equal(DECODE(X86_MODE_16, &i, 0xf3, 0x0f, 0xb8, 0x41, 0xfe), 0);
	assert_int_equal(i.base, RBX);
	assert_int_equal(i.index, RDI);
	assert_int_equal(i.disp, -2);
	assert_int_equal(i.seg, X86_SEG_DS);
	/* 67 in 32-bit code selects 16-bit addressing, and 32-bit in 16-bit code. */
	assert_int_equal(DECODE(X86_MODE_32, &i, 0x67, 0xf3, 0x0f, 0xb8, 0x06, 0x34, 0x12), 0);
	assert_int_equal(i.addr_size, 2);
	assert_int_equal(i.len, 7);
	assert_int_equal(DECODE(X86_MODE_16, &i, 0x67, 0xf3, 0x0f, 0xb8, 0x00), 0);
	assert_int_equal(i.addr_size, 4);
	assert_int_equal(i.base, RAX);
}

static void test_prefixes(void **state)
{
	struct x86_insn i;

	(void)state;
	/* fs: and gs: apply in 64-bit mode, cs:/ds:/es:/ss: do not. */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x64, 0xf3, 0x0f, 0xb8, 0x00), 0);
	assert_int_equal(i.seg, X86_SEG_FS);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x26, 0xf3, 0x0f, 0xb8, 0x00), 0);
	assert_int_equal(i.seg, X86_SEG_DS);
	/* In 32-bit code they do; an explicit ds: keeps %ebp-based operands off SS. */
	assert_int_equal(DECODE(X86_MODE_32, &i, 0x26, 0xf3, 0x0f, 0xb8, 0x00), 0);
	assert_int_equal(i.seg, X86_SEG_ES);
	assert_int_equal(DECODE(X86_MODE_32, &i, 0x3e, 0xf3, 0x0f, 0xb8, 0x45, 0x00), 0);
	assert_int_equal(i.seg, X86_SEG_DS);
	assert_int_equal(i.len, 6);
	/* 67 in 64-bit mode: 32-bit addresses */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x67, 0xf3, 0x0f, 0xb8, 0x00), 0);
	assert_int_equal(i.addr_size, 4);
	/* lock cmpxchg16b (%rdi) */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_int_equal(i.op, X86_OP_CMPXCHG16B);
	assert_true(i.lock);
	assert_true(i.mem);
	assert_int_equal(i.base, RDI);
	assert_int_equal(i.len, 5);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_false(i.lock);
}

static void test_unsupported(void **state)
{
	struct x86_insn i;

	(void)state;
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0x0b), -EOPNOTSUPP); /* ud2 */
	assert_non_null(strstr(err_msg(EOPNOTSUPP), "0f 0b"));
	assert_non_null(strstr(err_msg(EOPNOTSUPP), "not one kvmini completes"));
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xd9, 0xe8), -EOPNOTSUPP);	  /* fld1 */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0x01, 0xf8), -EOPNOTSUPP); /* swapgs */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0xc7, 0x0f), -EOPNOTSUPP); /* cmpxchg8b */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x48, 0x0f, 0xc7, 0xc8), -EOPNOTSUPP);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xd9, 0xf8), -EOPNOTSUPP); /* fprem, not fnstcw */
	/* popcnt needs F3, and F2 is another instruction. */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0xb8, 0xc1), -EOPNOTSUPP);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0xf2, 0x0f, 0xb8, 0xc1), -EOPNOTSUPP);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x0f, 0x38, 0x00, 0xc1), -EOPNOTSUPP);
}

static void test_truncated(void **state)
{
	struct x86_insn i;

	(void)state;
	assert_int_equal(x86_decode(NULL, 0, X86_MODE_64, &i), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x48), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x48, 0x0f), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x04), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xf3, 0x0f, 0xb8, 0x05, 0x00, 0x00), -EAGAIN);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0xcd), -EAGAIN);
}

static void test_too_long(void **state)
{
	struct x86_insn i;

	(void)state;
	/* 11 prefixes + F3 0F B8 C1: 15 bytes is the limit. */
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				0x66, 0x66, 0x66, 0xf3, 0x0f, 0xb8, 0xc1),
			 0);
	assert_int_equal(i.len, 15);
	assert_int_equal(DECODE(X86_MODE_64, &i, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
				0x66, 0x66, 0x66, 0x66, 0xf3, 0x0f, 0xb8, 0xc1),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(EOPNOTSUPP), "longer than 15 bytes"));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(x86_op_name(X86_OP_POPCNT), "popcnt");
	assert_string_equal(x86_op_name(X86_OP_CMPXCHG16B), "cmpxchg16b");
	for (unsigned int op = 0; op < X86_NR_OPS; op++)
		assert_non_null(x86_op_name(op));
	assert_string_equal(x86_op_name(X86_NR_OPS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_operands),	 cmocka_unit_test(test_immediate),
		cmocka_unit_test(test_popcnt_registers), cmocka_unit_test(test_rex_placement),
		cmocka_unit_test(test_modrm_forms),	 cmocka_unit_test(test_rip_relative),
		cmocka_unit_test(test_16bit_addressing), cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_unsupported),	 cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_too_long),	 cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
