// SPDX-License-Identifier: MIT
/* Starting APs: the trampoline's set-up and the INIT/SIPI sequence (see smp.h). */
#include "smp.h"

/*
 * Delays between the IPIs, in TSC ticks (no other clock is calibrated):
 * the customary 10 ms after INIT and 200 us after each SIPI, for a TSC of
 * up to 4 GHz.  KVM's in-kernel LAPIC needs none of them; real CPUs did.
 */
#define INIT_DELAY_TICKS 40000000ULL
#define SIPI_DELAY_TICKS 800000ULL
/* How long the ICR may stay busy before we give up (~1 s at 4 GHz). */
#define ICR_BUSY_TICKS 4000000000ULL

/* The trampoline's data block (ap_boot.S); lgdt reads gdt_limit and gdt_base. */
struct ap_tramp_data {
	uint16_t pad;
	uint16_t gdt_limit;
	uint32_t gdt_base;
	uint32_t cr3;
	uint32_t arrived;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const char ap_trampoline[], ap_tramp_data[], ap_trampoline_end[];

/* Read by ap_start64 (ap_boot.S). */
struct desc_ptr smp_idtr;
uint32_t smp_ap_tickets;
ap_entry_t smp_ap_entry;

static volatile struct ap_tramp_data *tramp_data(void)
{
	return (volatile void *)(AP_TRAMPOLINE_ADDR + (ap_tramp_data - ap_trampoline));
}

/* Whether [start, end) lies in one RAM entry of the memory map; true if there is no map. */
static bool memmap_is_ram(uint64_t start, uint64_t end)
{
	const struct hvm_memmap_entry *map;
	uint32_t n = guest_memmap(&map);

	if (!n)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (map[i].type == E820_RAM && map[i].addr <= start &&
		    end <= map[i].addr + map[i].size)
			return true;
	return false;
}

bool smp_prepare(ap_entry_t entry)
{
	volatile struct ap_tramp_data *d = tramp_data();
	struct desc_ptr gdtr;
	uint64_t cr3;

	if (!memmap_is_ram(AP_TRAMPOLINE_ADDR, AP_AREA_END)) {
		printf("smp: 0x%x-0x%x is not RAM in the memory map\n", AP_TRAMPOLINE_ADDR,
		       AP_AREA_END - 1);
		return false;
	}
	asm volatile("sgdt %0; sidt %1; mov %%cr3, %2" : "=m"(gdtr), "=m"(smp_idtr), "=r"(cr3));
	smp_ap_entry = entry;
	smp_ap_tickets = 0;
	memcpy((void *)AP_TRAMPOLINE_ADDR, ap_trampoline, ap_trampoline_end - ap_trampoline);
	d->gdt_limit = gdtr.limit;
	d->gdt_base = gdtr.base;
	d->cr3 = cr3;
	d->arrived = 0;
	return true;
}

static void tsc_delay(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		cpu_pause();
}

bool lapic_enable_x2apic(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	if (!(c & CPUID_1_ECX_X2APIC))
		return false;
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	return true;
}

/* Send one IPI and wait until the local APIC has sent it. */
static bool lapic_send_ipi(int apic_id, uint32_t icr)
{
	uint64_t t0;

	if (apic_id == SMP_ALL_BUT_SELF)
		icr |= LAPIC_ICR_ALL_BUT_SELF;
	if (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) {
		/* One 64-bit write with the 32-bit destination on top; it has no busy bit. */
		wrmsr(MSR_X2APIC_ICR,
		      (apic_id == SMP_ALL_BUT_SELF ? 0 : (uint64_t)apic_id << 32) | icr);
		return true;
	}
	if (apic_id != SMP_ALL_BUT_SELF)
		lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << LAPIC_ICR_DEST_SHIFT);
	lapic_write(LAPIC_ICR_LO, icr);
	t0 = rdtsc();
	while (lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_BUSY) {
		if (rdtsc() - t0 > ICR_BUSY_TICKS)
			return false;
		cpu_pause();
	}
	return true;
}

bool smp_start_aps(int apic_id)
{
	uint32_t sipi = LAPIC_ICR_DM_STARTUP | (AP_TRAMPOLINE_ADDR >> 12);

	if (!lapic_send_ipi(apic_id, LAPIC_ICR_DM_INIT | LAPIC_ICR_LEVEL | LAPIC_ICR_ASSERT))
		return false;
	tsc_delay(INIT_DELAY_TICKS);
	for (int i = 0; i < 2; i++) {
		if (!lapic_send_ipi(apic_id, sipi))
			return false;
		tsc_delay(SIPI_DELAY_TICKS);
	}
	return true;
}

unsigned int smp_aps_in_trampoline(void)
{
	return tramp_data()->arrived;
}

unsigned int smp_aps_in_long_mode(void)
{
	return atomic_read32(&smp_ap_tickets);
}
