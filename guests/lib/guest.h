/* SPDX-License-Identifier: MIT */
/*
 * The kvmini test-guest runtime: a freestanding x86-64 environment entered
 * through PVH.  Before main() runs, the runtime has switched to long mode
 * (identity map of the first 4 GiB, 2 MiB pages, user-accessible), loaded
 * its own GDT, TSS and IDT, set up a 16 KiB stack and COM1.  main() runs at
 * CPL0 with interrupts disabled; its return value goes to guest_exit().
 *
 * CPL0 code may be emulated by the host at a few microseconds per
 * instruction, so keep work at CPL0 small and move loops to run_user().
 */
#ifndef KVMINI_GUEST_H
#define KVMINI_GUEST_H

#include "x86.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define noreturn      __attribute__((noreturn))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int main(void);

/* ---- Exit codes --------------------------------------------------------- */

/*
 * guest_exit(0) makes the VMM exit 0 (i8042 reset, then triple fault).
 * guest_exit(n), n != 0, writes n to isa-debug-exit: the VMM exits (n << 1) | 1.
 */
enum guest_exit_code {
	GUEST_EXIT_OK = 0,
	GUEST_EXIT_FAIL = 1,	  /* a test failed */
	GUEST_EXIT_BAD_BOOT = 2,  /* no valid hvm_start_info */
	GUEST_EXIT_EXCEPTION = 3, /* unexpected exception or interrupt */
	GUEST_EXIT_ALIVE = 4,	  /* a reset or power-off request did not stop the VM */
};

#define DEBUG_EXIT_PORT 0xf4
#define I8042_CMD_PORT	0x64
#define I8042_CMD_RESET 0xfe

noreturn void guest_exit(int code);
/* Write @code to isa-debug-exit; returns only if there is no such device. */
void guest_debug_exit(uint32_t code);
/* Pulse the reset line through the i8042; returns if nothing happened. */
void guest_i8042_reset(void);
/* Load an empty IDT and raise an exception: shutdown. */
noreturn void guest_triple_fault(void);

/* ---- CPU helpers -------------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void irq_enable(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void irq_disable(void)
{
	asm volatile("cli" : : : "memory");
}

/*
 * Call with interrupts disabled: enable them and halt until one arrives
 * (sti's one-instruction shadow makes "sti; hlt" race-free), then disable
 * them again.  Handlers have run by the time this returns.
 */
static inline void irq_wait(void)
{
	asm volatile("sti; hlt; cli" : : : "memory");
}

static inline void cpu_pause(void)
{
	asm volatile("pause" : : : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- COM1 (16550A at 0x3f8, IRQ 4) -------------------------------------- */

#define COM1_PORT 0x3f8
#define COM1_IRQ  4

/*
 * serial_init() (run before main) sets 8N1, no interrupts, DTR|RTS.  It does
 * not touch the divisor or the FIFO control register (enabling the FIFO
 * would drop bytes already received).  Output is raw: '\n' is not
 * translated to "\r\n".
 */
void serial_init(void);
void serial_putc(char c);
/* Turn on receive-data interrupts: IER.ERBFI and MCR.OUT2. */
void serial_enable_rx_irq(void);
/* The next received byte, or -1 if none is waiting. */
int serial_getc_nowait(void);

void console_write(const char *s, size_t len);
void console_puts(const char *s); /* no newline appended */

/*
 * Formats: %s %c %d %i %u %x %X %p %%, length modifiers l ll z, flags - 0 #,
 * a width and, for %s, a precision (both also as *).  Returns the number of
 * characters produced.
 */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- PVH start info ----------------------------------------------------- */

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	 /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
} __attribute__((packed));

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820_* */
	uint32_t reserved;
} __attribute__((packed));

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4
#define E820_UNUSABLE 5

/* The start info %ebx pointed at, or NULL if it was 0 or had a bad magic. */
const struct hvm_start_info *guest_start_info(void);
/* The command line; "" if there is none.  Never NULL. */
const char *guest_cmdline(void);
/* Sets *entries to the memory map and returns its length (0 if none). */
uint32_t guest_memmap(const struct hvm_memmap_entry **entries);
/*
 * Find the word "@key=value" on the command line: true with *val and *len set
 * to the value (not NUL-terminated; ends at a space or the end).
 */
bool cmdline_get(const char *key, const char **val, size_t *len);

/* ---- Traps and interrupts ----------------------------------------------- */

/* What the trap stubs leave on the stack, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code; /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_t)(struct trap_frame *tf);

/*
 * Route @vector (0-255) to @handler (NULL: back to "unexpected").  Handlers
 * run with interrupts disabled.  For PIC vectors the runtime sends the EOI
 * after the handler returns.  A vector without a handler prints the frame
 * and ends the guest with GUEST_EXIT_EXCEPTION.  A #UD handler does not see
 * the one user_return() uses.
 */
void trap_register(unsigned int vector, trap_handler_t handler);

/* Legacy 8259 pair: IRQ n -> vector PIC_VECTOR(n). */
#define PIC_VECTOR(irq) (PIC_VECTOR_BASE + (irq))
/*
 * Put the local APIC in virtual-wire mode (software-enabled, LINT0 ExtINT,
 * LINT1 NMI; the IOAPIC is left alone) and remap the PICs to 0x20-0x2f with
 * every IRQ masked but the cascade (IRQ 2).
 */
void pic_init(void);
void pic_unmask(unsigned int irq);
void pic_mask(unsigned int irq);
void pic_eoi(unsigned int irq);

/* ---- CPL3 --------------------------------------------------------------- */

/*
 * Run fn(arg) at CPL3 on the runtime's 16 KiB user stack and return its
 * result.  User code has IOPL 3 (in/out work, except on PVM hosts, where
 * they #GP: keep port I/O at CPL0), sees all memory
 * (every page is user-accessible) and keeps the caller's interrupt flag.
 * Not reentrant: do not call from a trap handler while user code runs.
 * The user side gets back to CPL0 through the #UD of a ud2 at a known
 * address (see boot.S for why not a software interrupt).
 */
long run_user(long (*fn)(void *), void *arg);
/* From CPL3 only: end the current run_user() now, returning @value. */
noreturn void user_return(long value);

/* ---- Strings ------------------------------------------------------------ */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
