/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Queue mechanics (vgpu_ring_abi.h): maps a queue's pages when the driver
 * enables it, fetches what the driver submitted (a LAUNCH entry together
 * with its continuation slots), reserves a completion slot before a
 * command runs, posts completions in any order, and keeps the doorbell
 * and interrupt protocols. What a command means is the command engine's
 * business (engine.h): ring_process() hands it every entry through
 * ring_ctx.exec. Every entry is copied out of guest memory before it is
 * looked at; a corrupt ring (a tail beyond the depth) makes the queue
 * FATAL until it is reset. Pure C over the host seam: no Xen here.
 */
#ifndef VGPU_RING_H
#define VGPU_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/host.h>
#include <vgpu/log.h>
#include <vgpu/vgpu_ring_abi.h>

struct ring_queue;

/* What ring_ctx.exec did with a command. */
enum ring_exec {
	RING_DONE, /* finished now: post *status / *result */
	RING_ASYNC, /* taken: its completion comes later (ring_post()) */
	RING_RETRY, /* not taken (no resources now): leave it in the SQ */
};

struct ring_ctx {
	struct host *host;
	struct logger *log;
	uint32_t max_depth;
	/* Guest-physical range no queue may use (our BAR0). */
	uint64_t bar_lo, bar_len;
	/* Run one command; @params/@plen: a LAUNCH's continuation bytes. */
	enum ring_exec (*exec)(void *arg, struct ring_queue *q,
			       const struct vgpu_sqe *e, const uint8_t *params,
			       uint32_t plen, uint32_t *status,
			       uint64_t *result);
	void *arg;
};

/*
 * Lives in the device's registers (a file mapping that outlives a crash):
 * the pointers are rebuilt by ring_remap(), never trusted after a restart.
 */
struct ring_queue {
	/* programmed by the driver through the Q_ registers */
	uint32_t depth;
	uint64_t sq_gpa, cq_gpa, hdr_gpa;
	/* state */
	bool live;
	bool posted; /* completions posted since the last interrupt check */
	uint32_t error; /* VGPU_QERR_* */
	uint32_t session; /* 1.2: the session bound to it (Q_SESSION), or 0 */
	struct vgpu_qhdr *hdr;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint32_t sq_pages, cq_pages;
	uint32_t sq_head; /* the device's own copy: the guest cannot move it */
	uint32_t seen_tail; /* the tail ring_process() last read */
	uint32_t cq_tail;
	uint32_t cq_reserved; /* slots promised to commands still running */
	uint16_t phase;
	uint64_t completed;
};

/* Validate the programmed queue and map it. 0, or -1 with q->error. */
int ring_enable(struct ring_queue *q, const struct ring_ctx *c);
/* Unmap and forget the queue (reset, disable). */
void ring_disable(struct ring_queue *q, const struct ring_ctx *c);
/* Drop the mappings, keep the queue (INVALIDATE: guest memory may have
 * been ballooned out); ring_process() maps them again on first use. */
void ring_unmap(struct ring_queue *q, const struct ring_ctx *c);
/* Is a queue from a saved state one ring_enable() could have made, with
 * indices ring_process() can go on from? (Its data came from elsewhere.) */
bool ring_state_ok(const struct ring_queue *q, const struct ring_ctx *c);
/* Map the queue's pages again (after ring_unmap() or in a restarted
 * emulator). 0 or -1. */
int ring_remap(struct ring_queue *q, const struct ring_ctx *c);
/* Stop the queue with @err in Q_ERROR and, while it is mapped, in its
 * header (the driver must reset it). */
void ring_set_fatal(struct ring_queue *q, uint32_t err);
/* The driver rang the doorbell with @tail. false: the queue is FATAL
 * (a tail past the ring: said in the header, mapped again if needed). */
bool ring_doorbell(struct ring_queue *q, const struct ring_ctx *c,
		   uint32_t tail);
/*
 * Run what was submitted, as far as the completion queue has room and
 * exec takes it. Returns true when completions were posted (by this call
 * or since the last check) and the driver asked for an interrupt.
 */
bool ring_process(struct ring_queue *q, const struct ring_ctx *c);
/* Anything submitted that ring_process() has not taken yet? (True for a
 * live queue unmapped since an INVALIDATE: it must be looked at.) */
bool ring_pending(const struct ring_queue *q);
/* Post the completion of a command ring_process() took as RING_ASYNC
 * (it holds a reserved slot); @quiet: success of a QUIET command, which
 * only gives its slot back. The queue's pages are mapped again if an
 * INVALIDATE dropped them meanwhile: a completion is never lost to one. */
void ring_post(struct ring_queue *q, const struct ring_ctx *c, uint16_t cid,
	       uint32_t status, uint64_t result, bool quiet);
/* Completions posted since the last check, and the driver asked for an
 * interrupt (full barrier between the two: see ring.c). */
bool ring_irq_wanted(struct ring_queue *q);
/*
 * Doorbell protocol. ring_poll_start(): the device polls this queue, the
 * driver need not ring. ring_poll_stop(): set NEED_DOORBELL, full barrier,
 * look at the tail once more; true if the driver moved it since
 * ring_process() last looked (the device must keep polling). Entries
 * the CQ had no room for do not keep it polling: the driver rings once
 * it has reaped (vgpu_ring_abi.h).
 */
void ring_poll_start(struct ring_queue *q);
bool ring_poll_stop(struct ring_queue *q);

#endif
