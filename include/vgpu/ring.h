/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command-queue engine (vgpu_ring_abi.h): maps a queue's pages when
 * the driver enables it, and runs what the driver submitted. Every entry
 * and scatter-gather list is copied out of guest memory before it is
 * looked at; every length and address is checked with overflow-safe
 * arithmetic; a malformed command completes with an error; a corrupt ring
 * (a tail beyond the depth) makes the queue FATAL until it is reset.
 * Pure C over the host seam: no Xen here.
 */
#ifndef VGPU_RING_H
#define VGPU_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/backend_v1.h>
#include <vgpu/host.h>
#include <vgpu/log.h>
#include <vgpu/vgpu_ring_abi.h>

struct ring_ctx {
	struct host *host;
	struct backend *be;
	struct logger *log;
	uint32_t max_depth;
	uint32_t max_sgl;
	/* Guest-physical range no queue or buffer may use (our BAR0). */
	uint64_t bar_lo, bar_len;
};

struct ring_queue {
	/* programmed by the driver through the Q_ registers */
	uint32_t depth;
	uint64_t sq_gpa, cq_gpa, hdr_gpa;
	/* state */
	bool live;
	uint32_t error; /* VGPU_QERR_* */
	struct vgpu_qhdr *hdr;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint32_t sq_pages, cq_pages;
	uint32_t sq_head; /* the device's own copy: the guest cannot move it */
	uint32_t cq_tail;
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
/* Map the queue's pages again (after ring_unmap() or in a restarted
 * emulator). 0 or -1. */
int ring_remap(struct ring_queue *q, const struct ring_ctx *c);
/* Stop the queue with @err in its header (the driver must reset it). */
void ring_set_fatal(struct ring_queue *q, uint32_t err);
/* The driver rang the doorbell with @tail. false: the queue is FATAL. */
bool ring_doorbell(struct ring_queue *q, uint32_t tail);
/*
 * Run what was submitted, as far as the completion queue has room. Returns
 * true when completions were posted and the driver asked for an interrupt.
 */
bool ring_process(struct ring_queue *q, const struct ring_ctx *c);

#endif
