// SPDX-License-Identifier: MIT
/*
 * tsc_hz - measure the rate of the host's time-stamp counter.
 *
 * usage: tsc_hz [MILLISECONDS]
 *
 * Reads RDTSC against CLOCK_MONOTONIC over MILLISECONDS (default 200, split into five
 * intervals) and prints the median rate in Hz as one integer on stdout.  KVM guests without
 * TSC scaling see this rate, so guest TSC tick counts divided by it are seconds.
 * Exit status 0, or 1 if the counter did not advance.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SAMPLES 5

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The TSC and the clock read back to back; the TSC is the midpoint of two reads around it. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t a = rdtsc();

	*ns = now_ns();
	*tsc = a + (rdtsc() - a) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	double rates[SAMPLES];

	if (ms < SAMPLES)
		ms = SAMPLES;
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0, n0, t1, n1;
		struct timespec nap = { 0, ms * 1000000L / SAMPLES };

		sample(&t0, &n0);
		while (nanosleep(&nap, &nap))
			;
		sample(&t1, &n1);
		if (t1 <= t0 || n1 <= n0) {
			fprintf(stderr, "tsc_hz: the TSC did not advance\n");
			return 1;
		}
		rates[i] = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
	}
	qsort(rates, SAMPLES, sizeof(rates[0]), cmp_double);
	printf("%.0f\n", rates[SAMPLES / 2]);
	return 0;
}
