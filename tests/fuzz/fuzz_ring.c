// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the command-queue engine: the input becomes what a
 * hostile driver controls (the submission entries, a scatter-gather page,
 * the header's tail, cq_head and flags, doorbell values), in rounds; the
 * engine runs each round. Invariants: the engine never maps more than it
 * unmaps, device memory stays within its quota, every completion echoes a
 * cid that was submitted, and a FATAL queue runs nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vgpu/ring.h>
#include "unit/recorder.h"

#define HDR 0x0000
#define SQ 0x1000
#define CQ 0x2000
#define SGLP 0x3000
#define DEPTH 8
#define ROUND (DEPTH * 64 + 64 + 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct recorder r;
	struct vgpu_qhdr *h = (struct vgpu_qhdr *)(r.ram + HDR);
	struct ring_queue q = {
		.depth = DEPTH, .sq_gpa = SQ, .cq_gpa = CQ, .hdr_gpa = HDR
	};
	struct backend *be = backend_cpu_create(8192);
	struct logger lg;
	struct ring_ctx c;
	size_t off;

	rec_init(&r);
	log_init(&lg, LOG_SINK_STDERR, -1);
	c = (struct ring_ctx){ .host = &r.host,
			       .be = be,
			       .log = &lg,
			       .max_depth = 64,
			       .max_sgl = 16,
			       .bar_lo = 0x3800,
			       .bar_len = 0x100 };
	if (!be || ring_enable(&q, &c) < 0)
		__builtin_trap();
	for (off = 0; off + ROUND <= size; off += ROUND) {
		const uint8_t *p = data + off;
		uint16_t cids[DEPTH];
		uint32_t tail, i;
		uint64_t before = q.completed;
		bool was_live = q.live;

		memcpy(r.ram + SQ, p, DEPTH * 64);
		for (i = 0; i < DEPTH; i++)
			memcpy(&cids[i], p + i * 64 + 2, 2);
		/* the first 64 bytes of the list page, and the header */
		memcpy(r.ram + SGLP, p + DEPTH * 64, 64);
		memcpy(&tail, p + DEPTH * 64 + 64, 4);
		tail = p[DEPTH * 64 + 76] & 1 ? tail : q.sq_head + (tail % 9);
		h->sq_tail.v = tail;
		memcpy(&h->cq_head.v, p + DEPTH * 64 + 68, 4);
		h->drv_flags.v = p[DEPTH * 64 + 72];
		if (p[DEPTH * 64 + 77] & 1)
			ring_doorbell(&q, tail);
		ring_process(&q, &c);

		check(be->used <= be->quota);
		check(r.guest_maps == (q.hdr ? 3 : 0));
		if (!was_live)
			check(q.completed == before);
		for (i = before; i < q.completed; i++) {
			const struct vgpu_cqe *e =
				(const struct vgpu_cqe *)(r.ram + CQ) +
				(i % DEPTH);
			unsigned int k;
			bool known = false;

			for (k = 0; k < DEPTH; k++)
				known |= e->cid == cids[k];
			check(known);
		}
	}
	ring_disable(&q, &c);
	check(r.guest_maps == 0);
	be->ops->destroy(be);
	return 0;
}
