/* SPDX-License-Identifier: MIT */
/*
 * Starting application processors (APs) the PC way: the boot CPU copies a
 * real-mode trampoline below 1 MiB and sends INIT, SIPI, SIPI through its
 * local APIC; each AP then switches to long mode on the boot CPU's GDT, page
 * tables and IDT and calls a C function on its own stack.  Usable from .S
 * files (constants only).
 */
#ifndef KVMINI_GUEST_SMP_H
#define KVMINI_GUEST_SMP_H

/*
 * The trampoline page (the SIPI vector is its page number) and one stack per
 * AP.  Low RAM in every VMM's memory map, above kvmini's boot data (which
 * ends at 0x2ffff) and below the EBDA.
 */
#define AP_TRAMPOLINE_ADDR 0x30000
#define AP_STACKS_ADDR	   0x31000
#define AP_STACK_SHIFT	   12
#define AP_STACK_SIZE	   (1 << AP_STACK_SHIFT)
#define SMP_MAX_CPUS	   64
#define AP_AREA_END	   (AP_STACKS_ADDR + (SMP_MAX_CPUS - 1) * AP_STACK_SIZE)

#ifndef __ASSEMBLER__

#include "guest.h"

/* ---- xAPIC (MMIO at its reset base; the identity map has it uncached) --- */

#define LAPIC_MMIO_BASE	       0xfee00000UL
#define LAPIC_ID	       0x020
#define LAPIC_ICR_LO	       0x300
#define LAPIC_ICR_HI	       0x310
#define LAPIC_ICR_DM_INIT      0x00000500
#define LAPIC_ICR_DM_STARTUP   0x00000600
#define LAPIC_ICR_BUSY	       0x00001000 /* delivery status: send pending */
#define LAPIC_ICR_ASSERT       0x00004000
#define LAPIC_ICR_LEVEL	       0x00008000
#define LAPIC_ICR_ALL_BUT_SELF 0x000c0000
#define LAPIC_ICR_DEST_SHIFT   24
#define LAPIC_MAX_ID	       255

/* IA32_APIC_BASE; in x2APIC mode the ICR is an MSR and the MMIO page is gone. */
#define MSR_APIC_BASE	   0x1b
#define APIC_BASE_X2APIC   0x400
#define MSR_X2APIC_ICR	   0x830
#define CPUID_1_ECX_X2APIC (1u << 21)

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint32_t lapic_read(unsigned int reg)
{
	return *(volatile uint32_t *)(LAPIC_MMIO_BASE + reg);
}

static inline void lapic_write(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_MMIO_BASE + reg) = v;
}

/* This CPU's APIC ID from the xAPIC ID register (xAPIC mode only). */
static inline unsigned int lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* This CPU's initial APIC ID as CPUID leaf 1 reports it (EBX[31:24]). */
static inline unsigned int cpuid_apic_id(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return b >> 24;
}

/*
 * Switch this CPU's local APIC to x2APIC mode (as Linux does on KVM); false
 * if CPUID does not offer it.  lapic_id() no longer works afterwards;
 * smp_start_aps() does.
 */
bool lapic_enable_x2apic(void);

/* ---- Atomics and a spinlock (xadd and xchg, no cmpxchg) ---------------- */

/* Add @v to *@p atomically; returns the old value. */
static inline uint32_t atomic_fetch_add32(volatile uint32_t *p, uint32_t v)
{
	asm volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

static inline uint32_t atomic_read32(const volatile uint32_t *p)
{
	return *p;
}

/*
 * A test-and-set lock, not a ticket lock: with more vCPUs than host CPUs a
 * ticket lock stalls whenever the next ticket's vCPU is not running.
 */
struct spinlock {
	volatile uint32_t locked;
};

static inline void spin_lock(struct spinlock *l)
{
	uint32_t v = 1;

	for (;;) {
		asm volatile("xchgl %0, %1" : "+r"(v), "+m"(l->locked) : : "memory");
		if (!v)
			return;
		while (l->locked)
			cpu_pause();
	}
}

static inline void spin_unlock(struct spinlock *l)
{
	/* x86 does not reorder a store with older loads and stores. */
	asm volatile("" : : : "memory");
	l->locked = 0;
}

/* ---- Starting APs ------------------------------------------------------- */

/*
 * Each AP runs this with interrupts disabled, at CPL0, on its own
 * AP_STACK_SIZE stack; if it returns, the AP halts.
 */
typedef void (*ap_entry_t)(void);

/*
 * Copy the trampoline to AP_TRAMPOLINE_ADDR with this CPU's GDT, CR3 and IDT,
 * and make started APs call @entry.  false (with a message) if the AP area
 * is not RAM in the memory map.
 */
bool smp_prepare(ap_entry_t entry);
/*
 * INIT, SIPI, SIPI to @apic_id, or to every other CPU for SMP_ALL_BUT_SELF,
 * with the customary delays (measured with the TSC), through the xAPIC ICR
 * or the x2APIC ICR MSR, whichever mode this CPU's APIC is in.  false if the
 * xAPIC never finished sending one of them.
 */
#define SMP_ALL_BUT_SELF (-1)
bool smp_start_aps(int apic_id);
/* How many APs have run the first trampoline instruction (real mode). */
unsigned int smp_aps_in_trampoline(void);
/* How many APs have reached 64-bit code (and got a stack). */
unsigned int smp_aps_in_long_mode(void);

#endif /* __ASSEMBLER__ */

#endif
