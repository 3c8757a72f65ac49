// SPDX-License-Identifier: MIT
/*
 * A software walk of the guest's page tables.  One loop serves every paging
 * mode: the modes differ in entry width, bits per level, number of levels,
 * which levels may map large pages and which bits are reserved.  Rights are
 * combined over all levels, then checked once at the leaf, as the SDM (vol. 3,
 * 4.6) describes them.
 */
#include <errno.h>
#include <stdbool.h>

#include "error.h"
#include "paging.h"

#define CR0_WP	 (1ULL << 16)
#define CR0_PG	 (1ULL << 31)
#define CR4_PSE	 (1ULL << 4)
#define CR4_PAE	 (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_US	(1ULL << 2)
#define PTE_A	(1ULL << 5)
#define PTE_D	(1ULL << 6)
#define PTE_PS	(1ULL << 7)
#define PTE_NX	(1ULL << 63)
#define PTE_MAX 5

/* Bits [hi:lo] set. */
#define BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))

/* The shape of one paging mode. */
struct paging_format {
	unsigned int levels;
	unsigned int entry_size; /* bytes */
	unsigned int index_bits; /* per level below the top */
	unsigned int top_entries;
	uint64_t addr_mask; /* where an entry keeps the next table's address */
};

struct walk {
	const struct paging_mode *m;
	struct paging_format f;
	bool pae_pdpt; /* the top level is PAE's 4 PDPTEs, which carry no rights */
	uint64_t rsvd; /* bits reserved in every entry */
	void *entries[PTE_MAX];
	unsigned int nr_entries;
};

void paging_mode_init(struct paging_mode *m, const struct kvm_sregs *s, unsigned int maxphyaddr)
{
	m->cr0 = s->cr0;
	m->cr3 = s->cr3;
	m->cr4 = s->cr4;
	m->efer = s->efer;
	m->maxphyaddr = maxphyaddr;
}

static uint64_t read_entry(const struct walk *w, void *p)
{
	if (w->f.entry_size == 4)
		return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
	return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
}

/* Other vCPUs walk and update the same tables: or the bits in atomically. */
static void set_entry_bits(const struct walk *w, void *p, uint64_t bits)
{
	if (w->f.entry_size == 4)
		__atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_RELAXED);
}

static unsigned int phys_bits(const struct paging_mode *m)
{
	return m->maxphyaddr && m->maxphyaddr < 52 ? m->maxphyaddr : 52;
}

static void walk_init(struct walk *w, const struct paging_mode *m)
{
	unsigned int phys = phys_bits(m);

	w->m = m;
	w->nr_entries = 0;
	w->pae_pdpt = false;
	w->rsvd = phys < 52 ? BITS(51, phys) : 0;
	if (!(m->efer & EFER_NXE))
		w->rsvd |= PTE_NX;
	if (!(m->cr4 & CR4_PAE)) {
		w->f = (struct paging_format){ 2, 4, 10, 1024, BITS(31, 12) };
		w->rsvd = 0;
	} else if (m->efer & EFER_LMA) {
		w->f = (struct paging_format){ 4, 8, 9, 512, BITS(51, 12) };
		if (m->cr4 & CR4_LA57)
			w->f.levels = 5;
	} else {
		w->f = (struct paging_format){ 3, 8, 9, 4, BITS(51, 12) };
		w->pae_pdpt = true;
	}
}

/* Reserved bits of an entry at @level (1 = the page table) that maps a page or not. */
static uint64_t entry_rsvd(const struct walk *w, unsigned int level, uint64_t e)
{
	bool large = e & PTE_PS;

	if (w->f.entry_size == 4) {
		unsigned int phys = phys_bits(w->m) < 40 ? phys_bits(w->m) : 40;

		/* PSE-36: a 4 MiB page keeps address bits 39:32 in bits 20:13. */
		if (level != 2 || !large || !(w->m->cr4 & CR4_PSE))
			return 0;
		return (1ULL << 21) | (phys < 40 ? BITS(20, 13 + phys - 32) : 0);
	}
	if (w->pae_pdpt && level == w->f.levels)
		return w->rsvd | PTE_NX | BITS(8, 5) | BITS(2, 1);
	if (level >= 4)
		return w->rsvd | PTE_PS;
	if (level == 3 && large)
		return w->rsvd | BITS(29, 13);
	if (level == 2 && large)
		return w->rsvd | BITS(20, 13);
	return w->rsvd;
}

static bool maps_page(const struct walk *w, unsigned int level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & PTE_PS) || (w->pae_pdpt && level == w->f.levels))
		return false;
	if (w->f.entry_size == 4)
		return level == 2 && (w->m->cr4 & CR4_PSE);
	return level <= 3;
}

/* The physical address of the page a leaf entry maps, PSE-36 included. */
static uint64_t page_base(const struct walk *w, uint64_t e, uint64_t size)
{
	if (w->f.entry_size == 4 && size > 4096)
		return (e & BITS(31, 22)) | ((e & BITS(20, 13)) << 19);
	return e & w->f.addr_mask & ~(size - 1);
}

static bool canonical(const struct paging_mode *m, uint64_t la)
{
	unsigned int bits = (m->cr4 & CR4_LA57) ? 57 : 48;
	int64_t sext = (int64_t)(la << (64 - bits)) >> (64 - bits);

	return (uint64_t)sext == la;
}

static int pf(struct paging_result *res, uint64_t la, uint32_t error, const char *why)
{
	res->pf_error = error;
	return err_set(EFAULT, "linear address 0x%llx: %s", (unsigned long long)la, why);
}

/* The access rights combined over all levels against @access. */
static bool access_allowed(const struct paging_mode *m, unsigned int access, bool user_ok,
			   bool write_ok, bool nx)
{
	bool write = access & PAGING_WRITE, fetch = access & PAGING_FETCH;

	if (fetch && nx)
		return false;
	if (access & PAGING_USER)
		return user_ok && (!write || write_ok);
	if (write && !write_ok && (m->cr0 & CR0_WP))
		return false;
	if (fetch && user_ok && (m->cr4 & CR4_SMEP))
		return false;
	return fetch || !user_ok || !(m->cr4 & CR4_SMAP) || (access & PAGING_AC);
}

int paging_translate(const struct guest_mem *mem, const struct paging_mode *m, uint64_t la,
		     unsigned int access, struct paging_result *res)
{
	bool user_ok = true, write_ok = true, nx = false;
	uint32_t error = 0;
	uint64_t table, e = 0;
	unsigned int level;
	struct walk w;

	if (!(m->efer & EFER_LMA))
		la &= 0xffffffffULL;
	if (!(m->cr0 & CR0_PG)) {
		res->gpa = la;
		res->page_size = 4096;
		return 0;
	}
	if ((m->efer & EFER_LMA) && !canonical(m, la))
		return err_set(EINVAL, "linear address 0x%llx is not canonical",
			       (unsigned long long)la);
	walk_init(&w, m);
	if (access & PAGING_WRITE)
		error |= PF_WRITE;
	if (access & PAGING_USER)
		error |= PF_USER;
	if ((access & PAGING_FETCH) &&
	    ((m->cr4 & CR4_SMEP) || ((m->cr4 & CR4_PAE) && (m->efer & EFER_NXE))))
		error |= PF_FETCH;

	table = m->cr3 & (w.pae_pdpt ? BITS(31, 5) : w.f.addr_mask);
	for (level = w.f.levels;; level--) {
		unsigned int shift = 12 + w.f.index_bits * (level - 1);
		unsigned int entries = level == w.f.levels ? w.f.top_entries : 1u << w.f.index_bits;
		uint64_t gpa = table + ((la >> shift) & (entries - 1)) * w.f.entry_size;
		void *p = guest_mem_ptr(mem, gpa, w.f.entry_size);

		if (!p)
			return err_set(ENXIO,
				       "the page tables for linear address 0x%llx reach guest "
				       "physical 0x%llx, which is not RAM",
				       (unsigned long long)la, (unsigned long long)gpa);
		w.entries[w.nr_entries++] = p;
		e = read_entry(&w, p);
		if (!(e & PTE_P))
			return pf(res, la, error, "not mapped (page not present)");
		if (e & entry_rsvd(&w, level, e))
			return pf(res, la, error | PF_PRESENT | PF_RSVD,
				  "a page-table entry has reserved bits set");
		if (!(w.pae_pdpt && level == w.f.levels)) {
			user_ok = user_ok && (e & PTE_US);
			write_ok = write_ok && (e & PTE_RW);
			nx = nx || (w.f.entry_size == 8 && (e & PTE_NX));
		}
		if (maps_page(&w, level, e)) {
			res->page_size = 1ULL << shift;
			break;
		}
		table = e & w.f.addr_mask;
	}
	if (!access_allowed(m, access, user_ok, write_ok, nx))
		return pf(res, la, error | PF_PRESENT, "the page does not allow this access");
	res->gpa = page_base(&w, e, res->page_size) | (la & (res->page_size - 1));
	if (access & PAGING_SET_AD) {
		for (unsigned int i = w.pae_pdpt ? 1 : 0; i < w.nr_entries; i++)
			set_entry_bits(&w, w.entries[i], PTE_A);
		if (access & PAGING_WRITE)
			set_entry_bits(&w, w.entries[w.nr_entries - 1], PTE_D);
	}
	return 0;
}
