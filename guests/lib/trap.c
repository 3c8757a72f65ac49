// SPDX-License-Identifier: MIT
/* Trap dispatch (called from boot.S) and the legacy 8259 PIC pair. */
#include "guest.h"

#define PIC1_CMD	   0x20
#define PIC1_DATA	   0x21
#define PIC2_CMD	   0xa0
#define PIC2_DATA	   0xa1
#define PIC_ICW1_INIT_ICW4 0x11
#define PIC_ICW4_8086	   0x01
#define PIC_OCW2_EOI	   0x20
#define PIC_OCW3_READ_ISR  0x0b

void guest_trap(struct trap_frame *tf);

static trap_handler_t trap_handlers[256];
static uint16_t pic_masks = 0xffff; /* shadow of both IMRs, IRQ 15..0 */

static const char *const exception_names[32] = { "#DE", "#DB", "NMI", "#BP",  "#OF", "#BR",
						 "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP",
						 "#SS", "#GP", "#PF", "#15",  "#MF", "#AC",
						 "#MC", "#XM", "#VE", "#CP" };

void trap_register(unsigned int vector, trap_handler_t handler)
{
	if (vector < ARRAY_SIZE(trap_handlers))
		trap_handlers[vector] = handler;
}

static noreturn void unexpected_trap(struct trap_frame *tf)
{
	const char *name = "interrupt";
	uint64_t cr2 = 0;

	if (tf->vector < ARRAY_SIZE(exception_names))
		name = exception_names[tf->vector] ? exception_names[tf->vector] : "exception";
	if (tf->vector == 14)
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("guest: unexpected trap: vector %lu (%s) error %#lx\n", tf->vector, name,
	       tf->error_code);
	printf("guest:   rip %016lx cs %04lx rflags %08lx rsp %016lx ss %04lx cr2 %016lx\n",
	       tf->rip, tf->cs, tf->rflags, tf->rsp, tf->ss, cr2);
	printf("guest:   rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx,
	       tf->rdx);
	printf("guest:   rsi %016lx rdi %016lx rbp %016lx\n", tf->rsi, tf->rdi, tf->rbp);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

/* IRQ 7/15 without its ISR bit set is a spurious interrupt: no EOI then. */
static bool pic_spurious(unsigned int irq)
{
	uint16_t cmd = irq < 8 ? PIC1_CMD : PIC2_CMD;

	if ((irq & 7) != 7)
		return false;
	outb(cmd, PIC_OCW3_READ_ISR);
	if (inb(cmd) & 0x80)
		return false;
	if (irq == 15)
		outb(PIC1_CMD, PIC_OCW2_EOI); /* the master did see IRQ 2 */
	return true;
}

void guest_trap(struct trap_frame *tf)
{
	unsigned int vec = tf->vector;
	trap_handler_t handler = trap_handlers[vec];

	if (vec >= PIC_VECTOR(0) && vec < PIC_VECTOR(16)) {
		unsigned int irq = vec - PIC_VECTOR(0);

		if (handler) {
			handler(tf);
			pic_eoi(irq);
			return;
		}
		if (pic_spurious(irq))
			return;
	} else if (handler) {
		handler(tf);
		return;
	}
	unexpected_trap(tf);
}

#define LAPIC_BASE	 0xfee00000UL
#define LAPIC_SVR	 0xf0
#define LAPIC_LVT0	 0x350
#define LAPIC_LVT1	 0x360
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_DM_NMI	 0x400
#define LAPIC_DM_EXTINT	 0x700
#define SPURIOUS_VECTOR	 0xff

static void lapic_write(unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

/*
 * "Virtual wire" mode: the 8259's INTR reaches the CPU through LINT0 of a
 * software-enabled local APIC.  Nothing guarantees that state at PVH entry:
 * QEMU microvm (qboot) leaves LINT0 masked, under KVM and TCG alike, and no
 * IRQ from the PIC is ever taken until it is set.
 */
static void lapic_virtual_wire(void)
{
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_LVT0, LAPIC_DM_EXTINT);
	lapic_write(LAPIC_LVT1, LAPIC_DM_NMI);
}

void pic_init(void)
{
	lapic_virtual_wire();
	outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC_VECTOR(0));
	outb(PIC2_DATA, PIC_VECTOR(8));
	outb(PIC1_DATA, 1 << 2); /* slave on IRQ 2 */
	outb(PIC2_DATA, 2);	 /* slave identity */
	outb(PIC1_DATA, PIC_ICW4_8086);
	outb(PIC2_DATA, PIC_ICW4_8086);
	pic_masks = 0xffff & ~(1 << 2);
	outb(PIC1_DATA, pic_masks & 0xff);
	outb(PIC2_DATA, pic_masks >> 8);
}

static void pic_write_mask(unsigned int irq)
{
	if (irq < 8)
		outb(PIC1_DATA, pic_masks & 0xff);
	else
		outb(PIC2_DATA, pic_masks >> 8);
}

void pic_unmask(unsigned int irq)
{
	if (irq >= 16)
		return;
	pic_masks &= ~(1u << irq);
	pic_write_mask(irq);
}

void pic_mask(unsigned int irq)
{
	if (irq >= 16)
		return;
	pic_masks |= 1u << irq;
	pic_write_mask(irq);
}

void pic_eoi(unsigned int irq)
{
	if (irq >= 8)
		outb(PIC2_CMD, PIC_OCW2_EOI);
	outb(PIC1_CMD, PIC_OCW2_EOI);
}
