// SPDX-License-Identifier: MIT
/* -smp: CPU count and topology, and the APIC IDs that follow from it. */
#include <errno.h>

#include "config.h"
#include "cpuid.h"
#include "error.h"
#include "opts.h"

/* Bits needed to number @n items: ceil(log2(n)). */
static unsigned int id_bits(unsigned int n)
{
	unsigned int bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

uint32_t topo_apic_id(const struct cpu_topology *t, unsigned int index)
{
	unsigned int tb = id_bits(t->threads), cb = id_bits(t->cores);
	unsigned int thread = index % t->threads;
	unsigned int core = (index / t->threads) % t->cores;
	unsigned int socket = index / (t->threads * t->cores);

	return (socket << (cb + tb)) | (core << tb) | thread;
}

/* A count that is absent stays 0 (to be derived); a given one is 1..MAX_VCPUS. */
static int smp_get(struct opts *o, const char *key, uint64_t *v)
{
	uint64_t n = UINT64_MAX;
	int ret = opts_get_u64(o, key, &n);

	if (ret || n == UINT64_MAX)
		return ret;
	if (n < 1 || n > MAX_VCPUS)
		return err_set(EINVAL, "%s must be between 1 and %d", key, MAX_VCPUS);
	*v = n;
	return 0;
}

/*
 * QEMU's rules: missing counts are derived from the others, sockets first;
 * sockets * cores * threads must equal maxcpus, and cpus <= maxcpus.
 */
int smp_parse(const char *arg, unsigned int *nr_cpus, struct cpu_topology *topo)
{
	uint64_t cpus = 0, sockets = 0, cores = 0, threads = 0, maxcpus = 0;
	struct opts o;
	int ret;

	ret = opts_parse(&o, arg, "cpus");
	if (ret)
		return ret;
	ret = smp_get(&o, "cpus", &cpus);
	if (!ret)
		ret = smp_get(&o, "sockets", &sockets);
	if (!ret)
		ret = smp_get(&o, "cores", &cores);
	if (!ret)
		ret = smp_get(&o, "threads", &threads);
	if (!ret)
		ret = smp_get(&o, "maxcpus", &maxcpus);
	if (!ret && opts_unused(&o))
		ret = err_set(EINVAL,
			      "unknown parameter '%s' (cpus, sockets, cores, threads, "
			      "maxcpus)",
			      opts_unused(&o));
	opts_free(&o);
	if (ret)
		return ret;

	if (!maxcpus)
		maxcpus = cpus;
	if (!threads)
		threads = 1;
	if (!cores)
		cores = sockets && maxcpus ? maxcpus / (sockets * threads) : 1;
	if (!sockets)
		sockets = maxcpus ? maxcpus / (cores * threads) : 1;
	if (!sockets || !cores)
		return err_set(EINVAL, "the topology does not fit %llu CPUs",
			       (unsigned long long)maxcpus);
	if (!maxcpus)
		maxcpus = sockets * cores * threads;
	if (!cpus)
		cpus = maxcpus;
	if (sockets * cores * threads != maxcpus)
		return err_set(EINVAL,
			       "sockets (%llu) * cores (%llu) * threads (%llu) must equal "
			       "maxcpus (%llu)",
			       (unsigned long long)sockets, (unsigned long long)cores,
			       (unsigned long long)threads, (unsigned long long)maxcpus);
	if (cpus < 1 || cpus > maxcpus)
		return err_set(EINVAL, "the CPU count must be between 1 and maxcpus (%llu)",
			       (unsigned long long)maxcpus);
	topo->sockets = (unsigned int)sockets;
	topo->cores = (unsigned int)cores;
	topo->threads = (unsigned int)threads;
	topo->max_cpus = (unsigned int)maxcpus;
	/* xAPIC IDs are 8 bits and 0xff is broadcast. */
	if (topo_apic_id(topo, topo->max_cpus - 1) > 0xfe)
		return err_set(EINVAL, "this topology needs APIC IDs above 254 (x2APIC), which "
				       "kvmini does not support yet");
	*nr_cpus = (unsigned int)cpus;
	return 0;
}
