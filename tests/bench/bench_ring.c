// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ring: the command-queue engine on its own (no Xen, no doorbell
 * exits): null commands per second with batched submissions, and 1 MiB
 * copies through device memory against plain memcpy, measured side by
 * side in one run. Guest RAM is the recorder's buffer, mapped in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vgpu/ring.h>
#include "unit/recorder.h"

#define DEPTH 256

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct recorder r;
	static uint8_t dst[1 << 20], tmp[1 << 20];
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 4000000;
	struct vgpu_qhdr *h = (struct vgpu_qhdr *)r.ram;
	struct ring_queue q = {
		.depth = 64, .sq_gpa = 0x1000, .cq_gpa = 0x2000, .hdr_gpa = 0
	};
	struct backend *be = backend_cpu_create(4 << 20);
	struct logger lg;
	struct ring_ctx c;
	struct vgpu_sqe *sq = (struct vgpu_sqe *)(r.ram + 0x1000);
	uint64_t dptr = 0, i, done = 0;
	double t0, t_nop, t_copy, t_memcpy;
	int k;

	rec_init(&r);
	log_init(&lg, LOG_SINK_STDERR, LOG_ERR);
	c = (struct ring_ctx){ .host = &r.host,
			       .be = be,
			       .log = &lg,
			       .max_depth = DEPTH,
			       .max_sgl = 64 };
	if (!be || ring_enable(&q, &c) < 0)
		return 1;
	/* NOPs: the driver fills the whole ring, rings once, reaps all */
	for (i = 0; i < q.depth; i++)
		sq[i] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	t0 = now_s();
	while (done < n) {
		h->sq_tail.v = (uint32_t)(done + q.depth);
		ring_process(&q, &c);
		done += q.depth;
		h->cq_head.v = (uint32_t)done;
	}
	t_nop = now_s() - t0;
	if (q.completed != done)
		return 1;
	printf("bench: ring nop: %lu commands in %.3f s: %.2f M commands/s (batches of %u per doorbell; target >= 1 M/s)\n",
	       (unsigned long)done, t_nop, done / t_nop / 1e6, q.depth);

	/* 1 MiB from guest pages to device memory and back, by MEMCPY
	 * commands (64 pages each), against two plain memcpy of the same
	 * bytes: best of 25 */
	{
		uint8_t *gsrc = r.ram + 0x100000, *gdst = r.ram + 0x200000;
		struct vgpu_sgl_entry *l =
			(struct vgpu_sgl_entry *)(r.ram + 0x3000);
		uint64_t base = done, j;

		for (i = 0; i < (1 << 20); i++)
			gsrc[i] = (uint8_t)(i * 2654435761u >> 13);
		be->ops->mem_alloc(be, 1 << 20, &dptr);
		t_copy = t_memcpy = 1e9;
		for (k = 0; k < 25; k++) {
			double t;
			int dir;

			t0 = now_s();
			for (dir = 0; dir < 2; dir++) {
				for (j = 0; j < 256; j += 64) {
					for (i = 0; i < 64; i++)
						l[i] = (struct vgpu_sgl_entry){
							.gpa = (dir ? 0x200000 :
								      0x100000) +
							       (j + i) * 4096,
							.len = 4096
						};
					sq[base % q.depth] = (struct vgpu_sqe){
						.opcode =
							dir ? VGPU_OP_MEMCPY_D2H :
							      VGPU_OP_MEMCPY_H2D,
						.arg = { dptr + j * 4096,
							 64 * 4096 },
						.sgl_gpa = 0x3000,
						.sgl_nents = 64
					};
					h->sq_tail.v = (uint32_t)++base;
					ring_process(&q, &c);
					h->cq_head.v = (uint32_t)base;
				}
			}
			t = now_s() - t0;
			t_copy = t < t_copy ? t : t_copy;
			t0 = now_s();
			memcpy(tmp, gsrc, sizeof(tmp));
			memcpy(dst, tmp, sizeof(dst));
			t = now_s() - t0;
			t_memcpy = t < t_memcpy ? t : t_memcpy;
		}
		if (memcmp(gsrc, gdst, 1 << 20) || memcmp(gsrc, dst, 1 << 20))
			return 1;
	}
	printf("bench: 1 MiB guest->device->guest by MEMCPY commands: %.0f us vs two plain memcpy %.0f us: %.2f of memcpy speed (target >= 0.8)\n",
	       t_copy * 1e6, t_memcpy * 1e6, t_memcpy / t_copy);
	ring_disable(&q, &c);
	be->ops->destroy(be);
	return 0;
}
