// SPDX-License-Identifier: MIT
/*
 * netgen IFNAME SIZE COUNT [DURATION_S [RATE]]: send COUNT Ethernet frames of
 * SIZE bytes out of interface IFNAME (a TAP: they reach the VM behind it),
 * for at most DURATION_S seconds, as fast as the interface takes them or at
 * RATE frames per second (in bursts of 32: a flood would take the CPU the
 * VMM needs on a small host).  For the network benchmark's host-to-guest
 * direction.  Prints
 *   netgen: frames=N bytes=N seconds=S
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_BENCH 0x88b5 /* IEEE local experimental */
#define BURST		32

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET };
	unsigned char frame[ETH_FRAME_LEN];
	unsigned long size, count, sent = 0;
	double t0, limit, rate;
	int fd;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: netgen IFNAME SIZE COUNT [DURATION_S [RATE]]\n");
		return 2;
	}
	size = strtoul(argv[2], NULL, 0);
	count = strtoul(argv[3], NULL, 0);
	limit = argc >= 5 ? strtod(argv[4], NULL) : 1e9;
	rate = argc == 6 ? strtod(argv[5], NULL) : 0;
	if (size < ETH_ZLEN || size > sizeof(frame)) {
		fprintf(stderr, "netgen: SIZE must be %d..%zu\n", ETH_ZLEN, sizeof(frame));
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	to.sll_ifindex = (int)if_nametoindex(argv[1]);
	if (fd < 0 || !to.sll_ifindex) {
		fprintf(stderr, "netgen: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	to.sll_halen = ETH_ALEN;
	memset(frame, 0xa5, sizeof(frame));
	memset(frame, 0xff, ETH_ALEN);			  /* broadcast: every guest takes it */
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6); /* locally administered source */
	frame[12] = ETHERTYPE_BENCH >> 8;
	frame[13] = ETHERTYPE_BENCH & 0xff;
	memcpy(to.sll_addr, frame, ETH_ALEN);
	t0 = now();
	while (sent < count && now() - t0 < limit) {
		if (rate > 0 && sent % BURST == 0) {
			/* the burst's start time on the schedule, slept to in absolute time */
			double due = t0 + sent / rate;
			struct timespec ts = { (time_t)due, (long)((due - (time_t)due) * 1e9) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		if (sendto(fd, frame, size, 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)size) {
			sent++;
		} else if (errno == ENOBUFS || errno == EAGAIN) {
			/* the TAP's queue is full: the VMM is behind, wait for it */
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, 1);
		} else {
			fprintf(stderr, "netgen: send: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("netgen: frames=%lu bytes=%lu seconds=%.6f\n", sent, sent * size, now() - t0);
	return 0;
}
