// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz target for the queues and the command engine (ABI 1.1 and 1.2):
 * the input becomes what a hostile driver and a hostile guest process
 * control: the entries of the privileged queue 1 and of the session queue
 * 2 (LAUNCH continuation slots included), a scatter-gather page, the
 * tails, cq_head and flags, doorbells. Before the first round the harness
 * plays a driver that opened a session, registered a region, loaded a
 * module (PTX naming some of the project's kernels), and made an
 * allocation, a stream and events; an input word 0xEE00000k becomes the
 * k-th of those handles and a 64-bit 0xEEEE00kk0000oooo the k-th device
 * address plus o, so the fuzzer reaches past handle checks.
 * Invariants: every completion echoes a cid that was submitted, device
 * and pinned memory stay within their limits, and once the engine is
 * gone nothing stays mapped. The CPU backend runs without threads
 * (deterministic) and with a 1 ms kernel time limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/engine_priv.h"
#include "unit/engine_fx.h"

#define QP 1
#define QS 2
#define DEPTH 16
#define SGLP 0x6000
#define REGION 0x8000 /* 8 pages, registered as the session's region */
#define ROUND (4 * 64 + 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static const char ptx[] = ".version 9.0\n.target sm_90\n.address_size 64\n"
			  ".global .align 4 .u32 g_bias;\n"
			  ".visible .entry _Z7vec_addPKfS0_Pfi(\n)\n{\n}\n"
			  ".visible .entry _Z4spinxPi(\n)\n{\n}\n"
			  ".visible .entry _Z4pokePii(\n)\n{\n}\n"
			  ".visible .entry _Z9block_sumPKiPii(\n)\n{\n}\n"
			  ".visible .entry _Z7unknownv(\n)\n{\n}\n";

struct harness {
	struct efx f;
	uint32_t h[16]; /* handles the inputs may name */
	uint64_t dptr[4];
	uint8_t cids[8192]; /* bitmap of cids submitted */
	bool trace; /* FUZZ_RING_TRACE set: print every completion */
};

static uint64_t setup_cmd(struct harness *x, unsigned int qi, struct vgpu_sqe e)
{
	uint64_t r = 0;

	e.cid = 0xffff;
	x->cids[0xffff / 8] |= 0x80;
	if (efx_run(&x->f, qi, e, &r) != VGPU_S_OK)
		__builtin_trap();
	return r;
}

static uint64_t sym(struct harness *x, uint8_t op, const char *name)
{
	/* region offset 0x7000 is guest page REGION + 0x3000 */
	memcpy(x->f.r.ram + REGION + 0x3000, name, strlen(name));
	return setup_cmd(x, QS,
			 (struct vgpu_sqe){ .opcode = op,
					    .buf = { .in_off = 0x7000,
						     .in_len = strlen(name),
						     .out_off = 0x6000,
						     .out_len = 0x1000,
						     .region = x->h[1],
						     .obj = x->h[2] } });
}

static void setup(struct harness *x)
{
	struct engine_limits l;
	struct vgpu_extent *ext;

	engine_limits_default(&l);
	l.devmem = 1 << 20;
	l.pinned = 1 << 17;
	l.granted = 1 << 16; /* REGION_GRANT too (the recorder grants) */
	l.sessions = 2;
	l.allocs = l.streams = l.events = l.modules = l.funcs = l.regions = 8;
	l.kernel_ms = 1;
	l.poll_us = 0;
	if (efx_init(&x->f, &l, 0) < 0 || efx_queue(&x->f, QP, DEPTH, 0) < 0)
		__builtin_trap();
	x->f.r.grants_on = true;
	x->h[0] = (uint32_t)setup_cmd(
		x, QP,
		(struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
				   .obj = { .obj = QS } });
	if (efx_queue(&x->f, QS, DEPTH, 0x3000) < 0)
		__builtin_trap();
	ext = (struct vgpu_extent *)(x->f.r.ram + 0x7000);
	ext[0] = (struct vgpu_extent){ REGION + 0x4000, 0x4000 };
	ext[1] = (struct vgpu_extent){ REGION, 0x4000 };
	x->h[1] = (uint32_t)setup_cmd(
		x, QP,
		(struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD,
				   .session = x->h[0],
				   .region = { .list_gpa = 0x7000,
					       .nents = 2,
					       .bytes = 0x8000 } });
	memcpy(x->f.r.ram + REGION + 0x4000, ptx, sizeof(ptx) - 1);
	x->h[2] = (uint32_t)setup_cmd(
		x, QS,
		(struct vgpu_sqe){ .opcode = VGPU_OP_MODULE_LOAD,
				   .buf = { .in_len = sizeof(ptx) - 1,
					    .region = x->h[1] } });
	x->h[3] = (uint32_t)sym(x, VGPU_OP_FUNC_GET, "_Z7vec_addPKfS0_Pfi");
	x->h[4] = (uint32_t)sym(x, VGPU_OP_FUNC_GET, "_Z4spinxPi");
	x->h[5] = (uint32_t)sym(x, VGPU_OP_FUNC_GET, "_Z4pokePii");
	x->h[6] = (uint32_t)sym(x, VGPU_OP_FUNC_GET, "_Z9block_sumPKiPii");
	x->dptr[2] = sym(x, VGPU_OP_GLOBAL_GET, "g_bias");
	x->dptr[0] = setup_cmd(x, QS,
			       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						  .arg = { 4096 } });
	x->dptr[1] = setup_cmd(x, QP,
			       (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						  .arg = { 8192 } });
	x->h[7] = (uint32_t)setup_cmd(
		x, QS, (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_CREATE });
	x->h[8] = (uint32_t)setup_cmd(
		x, QS, (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE });
	x->h[9] = (uint32_t)setup_cmd(
		x, QS, (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE });
}

/* Input words that name the harness's handles and addresses. */
static void substitute(struct harness *x, uint8_t *e)
{
	unsigned int i;

	for (i = 0; i < 64; i += 8) {
		uint64_t v;

		memcpy(&v, e + i, 8);
		if (v >> 48 == 0xeeee) {
			v = x->dptr[(v >> 32) & 3] + (v & 0xffff);
			memcpy(e + i, &v, 8);
		}
	}
	for (i = 0; i < 64; i += 4) {
		uint32_t w;

		memcpy(&w, e + i, 4);
		if (w >> 24 == 0xee) {
			w = x->h[w & 15];
			memcpy(e + i, &w, 4);
		}
	}
}

/* The completions posted since @before echo submitted cids. */
static void check_cids(struct harness *x, unsigned int qi, uint64_t before)
{
	const struct vgpu_cqe *cq =
		(const struct vgpu_cqe *)(x->f.r.ram + x->f.d[qi].cq);
	uint64_t i;

	for (i = before; i < x->f.q[qi].completed; i++) {
		uint16_t cid = cq[i % DEPTH].cid;

		if (x->trace)
			fprintf(stderr, "q%u cid %u status %u result 0x%llx\n",
				qi, cid, VGPU_CQE_CODE(cq[i % DEPTH].status),
				(unsigned long long)cq[i % DEPTH].result);
		check(x->cids[cid / 8] & (1u << (cid % 8)));
	}
}

static void round1(struct harness *x, const uint8_t *p)
{
	unsigned int qi = p[256] & 1 ? QS : QP, i, n = (p[256] >> 4) % 5;
	struct efx_q *d = &x->f.d[qi];
	struct vgpu_qhdr *h = efx_hdr(&x->f, qi);
	uint64_t before[2] = { x->f.q[QP].completed, x->f.q[QS].completed };
	uint32_t v;

	for (i = 0; i < n; i++) {
		uint8_t e[64];

		memcpy(e, p + 64 * i, 64);
		substitute(x, e);
		memcpy(x->f.r.ram + d->sq + 64 * (d->tail++ % DEPTH), e, 64);
	}
	/* whatever lies in the SQ may be taken (a hostile tail) */
	for (i = 0; i < DEPTH; i++) {
		uint16_t cid;

		memcpy(&cid, x->f.r.ram + d->sq + 64 * i + 2, 2);
		x->cids[cid / 8] |= (uint8_t)(1u << (cid % 8));
	}
	memcpy(x->f.r.ram + SGLP, p + 257, 7);
	memcpy(&v, p + 264, 4);
	h->sq_tail.v = p[256] & 8 ? v : d->tail;
	if (p[256] & 0x20) {
		memcpy(&v, p + 268, 4);
		h->cq_head.v = v;
	} else {
		h->cq_head.v = (uint32_t)x->f.q[qi].completed;
	}
	h->drv_flags.v = p[256] >> 6 & 1;
	if (p[256] & 2)
		engine_doorbell(x->f.en, qi, p[256] & 4 ? v : d->tail);
	efx_poll(&x->f);
	efx_poll(&x->f);
	check_cids(x, QP, before[0]);
	check_cids(x, QS, before[1]);
	check(x->f.en->devmem_used <= x->f.lim.devmem);
	check(x->f.en->pinned_used <= x->f.lim.pinned);
	check(x->f.en->granted_used <= x->f.lim.granted);
	check((uint64_t)x->f.r.granted * 4096 == x->f.en->granted_used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness x;
	size_t off;

	memset(&x.h, 0, sizeof(x) - offsetof(struct harness, h));
	x.trace = getenv("FUZZ_RING_TRACE");
	setup(&x);
	for (off = 0; off + ROUND <= size; off += ROUND)
		round1(&x, data + off);
	engine_destroy(x.f.en);
	check(x.f.r.guest_maps == 0 && x.f.r.frame_maps == 0 &&
	      x.f.r.granted == 0);
	x.f.be->ops->destroy(x.f.be);
	return 0;
}
