/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, 2.7), the device side.  The rings live in
 * guest memory and are reached only through the checked accessor; a chain
 * that breaks the rules (a loop, a chain longer than the queue, indirect
 * tables included (2.7.5.3.1), an indirect table inside an indirect table
 * or followed by other descriptors, a zero-length or out-of-RAM
 * buffer, a writable descriptor before a readable one, a head or next index
 * out of range) marks the queue broken: it gives nothing more until
 * virtq_init() again, and the device reports NEEDS_RESET.  No function here
 * takes a lock: the owner serialises.
 */
#ifndef KVMINI_VIRTQUEUE_H
#define KVMINI_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"

#define VIRTQ_MAX_SIZE 256 /* the largest queue a device offers; a power of two */

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* Available ring flags: the driver wants no interrupts (without EVENT_IDX). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
/* Used ring flags: the device wants no notifications (without EVENT_IDX). */
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* flags, idx, ring[size], used_event (with EVENT_IDX) */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* flags, idx, ring[size], avail_event (with EVENT_IDX) */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

/* Ring sizes in bytes for a queue of @size entries (with the event fields). */
#define VIRTQ_DESC_BYTES(size)	(16ULL * (size))
#define VIRTQ_AVAIL_BYTES(size) (6ULL + 2ULL * (size))
#define VIRTQ_USED_BYTES(size)	(6ULL + 8ULL * (size))

struct virtq {
	/* Set by the transport before virtq_init(). */
	uint16_t size; /* a power of two, <= VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_RING_INDIRECT_DESC negotiated */
	const struct guest_mem *mem;

	/* Private. */
	struct virtq_desc *desc; /* host views of the rings, checked once in virtq_init() */
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t last_avail;	 /* the next available-ring entry to take */
	uint16_t used_idx;	 /* the next used-ring entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool ready; /* virtq_init() succeeded */
	bool broken;
};

/* One descriptor chain: @nr_out readable buffers, then @nr_in writable ones. */
struct virtq_elem {
	uint16_t head;
	unsigned int nr_out, nr_in;
	uint64_t out_len, in_len; /* bytes in each part */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/*
 * Check the ring addresses (alignment, inside guest RAM) and start the queue
 * from index 0.  0, or -EINVAL (size) / -EFAULT (rings) with the queue not
 * ready.
 */
int virtq_init(struct virtq *vq);

/*
 * Take the next available chain into @elem, its buffers mapped to host
 * addresses.  1: got one; 0: the ring is empty (or the queue not ready);
 * -EINVAL or -EFAULT: the chain (or the available ring) broke a rule, the
 * queue is now broken and stays so.
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/* Hand a chain back in the used ring, @written bytes written into its buffers. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/*
 * Hand @n chains back at once: the driver sees the used index move past all
 * of them together (a frame spread over several chains is never seen half
 * done).
 */
void virtq_push_n(struct virtq *vq, const struct virtq_used_elem *elems, unsigned int n);

/*
 * Give back the last @n chains virtq_pop() took and nothing pushed: the
 * next pops take them again, in the same order.
 */
void virtq_unpop(struct virtq *vq, uint16_t n);

/*
 * After one or more virtq_push(): does the driver want an interrupt now?
 * (EVENT_IDX: used_event crossed; otherwise: VIRTQ_AVAIL_F_NO_INTERRUPT clear.)
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Ask the driver for notifications (true) or not (false): the used ring's
 * NO_NOTIFY flag, or avail_event with EVENT_IDX.  Returns, when enabling,
 * whether chains are already waiting (re-check before sleeping).
 */
bool virtq_set_notify(struct virtq *vq, bool enable);

/*
 * Are chains waiting?  Unlike virtq_set_notify(true), this leaves the
 * driver's notifications as they are (a device that only peeks must not
 * ask for a kick per buffer).
 */
bool virtq_has_avail(const struct virtq *vq);

#endif
