// SPDX-License-Identifier: MIT
/*
 * A small AML byte-code writer (ACPI 6.x, section 20: AML grammar).  Objects
 * with a PkgLength are written body first; their end call inserts the
 * PkgLength (1 to 4 bytes, known only then) at the mark by moving the body.
 */
#include <errno.h>
#include <string.h>

#include "acpi.h"

#define AML_ZERO	 0x00
#define AML_ONE		 0x01
#define AML_NAME	 0x08
#define AML_BYTE	 0x0a
#define AML_WORD	 0x0b
#define AML_DWORD	 0x0c
#define AML_QWORD	 0x0e
#define AML_SCOPE	 0x10
#define AML_BUFFER	 0x11
#define AML_PACKAGE	 0x12
#define AML_EXT_PREFIX	 0x5b
#define AML_EXT_DEVICE	 0x82
#define AML_ROOT_CHAR	 '\\'
#define AML_NAMESEG_SIZE 4

/* Resource descriptors (section 6.4), small items. */
#define RES_IRQ_NO_FLAGS 0x22 /* type 0x04, 2 bytes */
#define RES_IO		 0x47 /* type 0x08, 7 bytes */
#define RES_IO_DECODE16	 0x01
#define RES_END_TAG	 0x79 /* type 0x0f, 1 byte: a checksum, 0 = none */
/* Large items: Word, DWord and QWord Address Space descriptors (6.4.3.5). */
#define RES_DWORD_ADDRESS 0x87
#define RES_WORD_ADDRESS  0x88
#define RES_QWORD_ADDRESS 0x8a
#define RES_ADDR_FIXED	  0x0c /* _MIF, _MAF: the window cannot move; producer, positive decode */
#define RES_ADDR_MEM_RW	  0x01 /* memory: read-write, non-cacheable */
#define RES_ADDR_IO_RANGE 0x03 /* I/O: both ISA and non-ISA ports */

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Insert @n bytes at @at, moving what follows; no room sets the error. */
static void aml_insert(struct aml *a, size_t at, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	aml_insert(a, a->len, p, n);
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Little-endian @value in @size bytes. */
static void aml_le(struct aml *a, uint64_t value, unsigned int size)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < size; i++)
		b[i] = (uint8_t)(value >> (8 * i));
	aml_bytes(a, b, size);
}

/* Insert the PkgLength of everything from @mark to the end, at @mark. */
static void aml_pkglength(struct aml *a, size_t mark)
{
	size_t total = a->len - mark;
	uint8_t enc[4];
	unsigned int n;

	if (a->err)
		return;
	/* One byte holds 6 bits of length; n > 1 bytes hold 4 + 8 * (n - 1). */
	for (n = 1; n <= 4; n++) {
		if (total + n < (n == 1 ? 0x40 : 1ULL << (4 + 8 * (n - 1))))
			break;
	}
	if (n > 4) {
		aml_fail(a, -ENOSPC);
		return;
	}
	total += n;
	enc[0] = n == 1 ? (uint8_t)total : (uint8_t)((n - 1) << 6 | (total & 0xf));
	for (unsigned int i = 1; i < n; i++)
		enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	aml_insert(a, mark, enc, n);
}

static bool nameseg_valid(const char *name, size_t n)
{
	if (!n || n > AML_NAMESEG_SIZE)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static void aml_namestring(struct aml *a, const char *name)
{
	char seg[AML_NAMESEG_SIZE];

	if (*name == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	if (!nameseg_valid(name, strlen(name))) {
		aml_fail(a, -EINVAL);
		return;
	}
	/* Short names are padded with '_': "_S5" is _S5_. */
	memset(seg, '_', sizeof(seg));
	memcpy(seg, name, strlen(name));
	aml_bytes(a, seg, sizeof(seg));
}

size_t aml_scope(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = a->len;
	aml_namestring(a, name);
	return mark;
}

size_t aml_device(struct aml *a, const char *name)
{
	size_t mark;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	mark = a->len;
	aml_namestring(a, name);
	return mark;
}

size_t aml_package(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE);
	mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	aml_pkglength(a, mark);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, name);
}

void aml_integer(struct aml *a, uint64_t value)
{
	if (value <= 1) {
		aml_byte(a, value ? AML_ONE : AML_ZERO);
	} else if (value <= UINT8_MAX) {
		aml_byte(a, AML_BYTE);
		aml_le(a, value, 1);
	} else if (value <= UINT16_MAX) {
		aml_byte(a, AML_WORD);
		aml_le(a, value, 2);
	} else if (value <= UINT32_MAX) {
		aml_byte(a, AML_DWORD);
		aml_le(a, value, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, value, 8);
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A compressed EISA ID: three letters of 5 bits each ('A' = 1) and four hex
 * digits, stored most significant byte first.  False if @id is not one.
 */
static bool eisa_id_encode(const char *id, uint8_t b[4])
{
	uint16_t vendor = 0;

	if (strlen(id) != 7)
		return false;
	for (unsigned int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return false;
		vendor = (uint16_t)(vendor << 5 | (id[i] - 'A' + 1));
	}
	b[0] = (uint8_t)(vendor >> 8);
	b[1] = (uint8_t)vendor;
	for (unsigned int i = 0; i < 2; i++) {
		int hi = hex_digit(id[3 + 2 * i]), lo = hex_digit(id[4 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		b[2 + i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Always a DWord, as iasl writes EisaId(). */
void aml_eisa_id(struct aml *a, const char *id)
{
	uint8_t b[4];

	if (!eisa_id_encode(id, b)) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_DWORD);
	aml_bytes(a, b, sizeof(b));
}

size_t aml_resource_template(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	return a->len;
}

void aml_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, RES_IO_DECODE16);
	aml_le(a, base, 2); /* minimum */
	aml_le(a, base, 2); /* maximum: the same, the range cannot move */
	aml_byte(a, 1);	    /* alignment */
	aml_byte(a, len);
}

void aml_irq_no_flags(struct aml *a, unsigned int irq)
{
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RES_IRQ_NO_FLAGS);
	aml_le(a, 1u << irq, 2);
}

/* The smallest of Word, DWord, QWord that holds @max. */
void aml_address_space(struct aml *a, enum aml_space space, uint64_t min, uint64_t max)
{
	static const uint8_t type_flags[] = {
		[AML_SPACE_MEMORY] = RES_ADDR_MEM_RW,
		[AML_SPACE_IO] = RES_ADDR_IO_RANGE,
		[AML_SPACE_BUS] = 0,
	};
	static const uint8_t tags[] = {
		[2] = RES_WORD_ADDRESS,
		[4] = RES_DWORD_ADDRESS,
		[8] = RES_QWORD_ADDRESS,
	};
	unsigned int size = max <= UINT16_MAX ? 2 : max <= UINT32_MAX ? 4 : 8;

	if (min > max || (unsigned int)space >= sizeof(type_flags)) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, tags[size]);
	aml_le(a, 3 + 5 * size, 2); /* the descriptor's length after this field */
	aml_byte(a, (uint8_t)space);
	aml_byte(a, RES_ADDR_FIXED);
	aml_byte(a, type_flags[space]);
	aml_le(a, 0, size); /* granularity: none, the window is fixed */
	aml_le(a, min, size);
	aml_le(a, max, size);
	aml_le(a, 0, size); /* translation offset: CPU and PCI addresses are the same */
	aml_le(a, max - min + 1, size);
}

/* Buffer (BufferSize) { descriptors, EndTag }: the size goes in before the PkgLength. */
void aml_resource_template_end(struct aml *a, size_t mark)
{
	struct aml size;
	uint8_t enc[9];

	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	if (a->err)
		return;
	aml_init(&size, enc, sizeof(enc));
	aml_integer(&size, a->len - mark);
	aml_insert(a, mark, enc, size.len);
	aml_pkglength(a, mark);
}
