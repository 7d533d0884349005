// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command-queue engine against guest RAM the test plays the driver
 * in: enable checks, NOP streams across wraps, info, device memory round
 * trips, malformed commands, a corrupt tail, a full completion queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/ring.h>
#include "unit/engine_fx.h"

#define HDR 0x0000
#define SQ 0x1000
#define CQ 0x2000
#define SGL 0x3000 /* a page: the list at +0, buffers from +0x200 */
#define DEPTH 8
#define QI 1 /* the 1.1 I/O queue */

struct fx {
	struct efx e;
	struct ring_ctx c; /* for the enable checks, at the ring level */
	struct ring_queue q;
};

static struct vgpu_qhdr *hdr(struct fx *f)
{
	return (struct vgpu_qhdr *)(f->e.r.ram + HDR);
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	struct engine_limits l;

	engine_limits_default(&l);
	l.devmem = 64 * 1024;
	l.poll_us = 0;
	assert_int_equal(efx_init(&f->e, &l, 2), 0);
	f->c = (struct ring_ctx){ .host = &f->e.r.host,
				  .log = &f->e.lg,
				  .max_depth = 64,
				  .bar_lo = 0xf1000000,
				  .bar_len = 0x1000 };
	f->q.depth = DEPTH;
	f->q.sq_gpa = SQ;
	f->q.cq_gpa = CQ;
	f->q.hdr_gpa = HDR;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ring_disable(&f->q, &f->c);
	engine_queue_disable(f->e.en, QI);
	assert_int_equal(f->e.r.guest_maps, 0);
	efx_fini(&f->e);
	test_free(f);
	return 0;
}

static int enable(struct fx *f)
{
	return efx_queue(&f->e, QI, DEPTH, HDR);
}

/* The driver's side: queue one entry, publish the tail. */
static void submit(struct fx *f, struct vgpu_sqe e)
{
	efx_put(&f->e, QI, &e);
}

static bool reap(struct fx *f, struct vgpu_cqe *out)
{
	return efx_reap(&f->e, QI, out);
}

static uint32_t run1(struct fx *f, struct vgpu_sqe e, uint64_t *result)
{
	return efx_run(&f->e, QI, e, result);
}

static void sgl1(struct fx *f, uint32_t i, uint64_t gpa, uint32_t len)
{
	struct vgpu_sgl_entry *l = (struct vgpu_sgl_entry *)(f->e.r.ram + SGL);

	l[i] = (struct vgpu_sgl_entry){ .gpa = gpa, .len = len };
}

static void enable_checks(void **state)
{
	struct fx *f = *state;
	static const uint32_t bad_depths[] = { 0, 1, 3, 128 };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		f->q.depth = bad_depths[i];
		assert_int_equal(ring_enable(&f->q, &f->c), -1);
		assert_int_equal(f->q.error, VGPU_QERR_BAD_DEPTH);
	}
	f->q.depth = DEPTH;
	f->q.sq_gpa = SQ + 8;
	assert_int_equal(ring_enable(&f->q, &f->c), -1);
	assert_int_equal(f->q.error, VGPU_QERR_BAD_GPA);
	f->q.sq_gpa = 0xf1000000; /* our own BAR */
	assert_int_equal(ring_enable(&f->q, &f->c), -1);
	assert_int_equal(f->q.error, VGPU_QERR_BAD_GPA);
	f->q.sq_gpa = 0x100000; /* not guest RAM here */
	assert_int_equal(ring_enable(&f->q, &f->c), -1);
	assert_int_equal(f->q.error, VGPU_QERR_MAP);
	assert_int_equal(f->e.r.guest_maps, 0); /* nothing left mapped */
	f->q.sq_gpa = SQ;
	assert_int_equal(ring_enable(&f->q, &f->c), 0);
	assert_true(f->q.live);
	assert_int_equal(hdr(f)->dev_flags.v, VGPU_DEV_NEED_DOORBELL);
}

static void nops_across_wraps(void **state)
{
	struct fx *f = *state;
	struct vgpu_cqe c;
	uint16_t i;

	assert_int_equal(enable(f), 0);
	for (i = 0; i < 3 * DEPTH + 3; i++) {
		struct vgpu_sqe e = { .opcode = VGPU_OP_NOP, .cid = i };

		assert_int_equal(run1(f, e, NULL), VGPU_S_OK);
	}
	assert_int_equal(hdr(f)->sq_head.v, 3 * DEPTH + 3);
	/* a batch: several entries, one doorbell, one interrupt asked */
	hdr(f)->drv_flags.v = VGPU_DRV_NEED_IRQ;
	for (i = 0; i < 5; i++) {
		struct vgpu_sqe e = { .opcode = VGPU_OP_NOP, .cid = 100 + i };

		if (i == 2)
			e.flags = VGPU_SQE_QUIET; /* no completion */
		submit(f, e);
	}
	efx_ring(&f->e, QI);
	efx_poll(&f->e);
	assert_int_equal(f->e.irq, 1u << QI);
	for (i = 0; i < 4; i++) {
		assert_true(reap(f, &c));
		assert_int_equal(c.cid, i < 2 ? 100 + i : 101 + i);
	}
	assert_false(reap(f, &c));
}

static void info_and_device_memory(void **state)
{
	struct fx *f = *state;
	struct vgpu_info info;
	uint32_t in[64], out[64], i;
	uint64_t dptr, dst, x;

	assert_int_equal(enable(f), 0);
	sgl1(f, 0, SGL + 0x200, 40);
	sgl1(f, 1, SGL + 0x400, 24);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_GET_INFO,
						 .sgl_gpa = SGL,
						 .sgl_nents = 2 },
			      NULL),
			 VGPU_S_OK);
	memcpy(&info, f->e.r.ram + SGL + 0x200, 40);
	memcpy((uint8_t *)&info + 40, f->e.r.ram + SGL + 0x400, 24);
	assert_int_equal(info.max_qdepth, 256);
	assert_int_equal(info.abi_version, 1 << 16 | 5);
	assert_int_equal(info.devmem_quota, 64 * 1024);
	assert_string_equal(info.backend, "cpu");

	/* guest buffer -> device memory -> compute -> guest buffer */
	for (i = 0; i < 64; i++)
		in[i] = i * 7;
	memcpy(f->e.r.ram + SGL + 0x200, in, 100);
	memcpy(f->e.r.ram + SGL + 0x600, (uint8_t *)in + 100, 156);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						 .arg = { 256 } },
			      &dptr),
			 VGPU_S_OK);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						 .arg = { 256 } },
			      &dst),
			 VGPU_S_OK);
	sgl1(f, 0, SGL + 0x200, 100); /* odd-sized, two pieces */
	sgl1(f, 1, SGL + 0x600, 156);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr, 256 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 2 },
			      NULL),
			 VGPU_S_OK);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_COMPUTE,
						 .arg = { VGPU_K_ADD1_U32, dst,
							  dptr, 256 } },
			      NULL),
			 VGPU_S_OK);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){
				      .opcode = VGPU_OP_COMPUTE,
				      .arg = { VGPU_K_XOR_U32, 0, dptr, 256 } },
			      &x),
			 VGPU_S_OK);
	sgl1(f, 0, SGL + 0x800, 256);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_D2H,
						 .arg = { dst, 256 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 1 },
			      NULL),
			 VGPU_S_OK);
	memcpy(out, f->e.r.ram + SGL + 0x800, 256);
	for (i = 0; i < 64; i++) {
		assert_int_equal(out[i], in[i] + 1);
		x ^= in[i];
	}
	assert_int_equal(x, 0); /* the device's xor matched ours */
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						 .arg = { dptr } },
			      NULL),
			 VGPU_S_OK);
}

static void malformed_commands(void **state)
{
	struct fx *f = *state;
	uint64_t dptr;

	assert_int_equal(enable(f), 0);
	assert_int_equal(run1(f, (struct vgpu_sqe){ .opcode = 0x99 }, NULL),
			 VGPU_S_INVALID);
	/* 1.2 gives the session field a meaning: no such session */
	assert_int_equal(
		run1(f,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .session = 1 },
		     NULL),
		VGPU_S_BAD_HANDLE);
	assert_int_equal(
		run1(f,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .flags = 0x80 },
		     NULL),
		VGPU_S_INVALID);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						 .arg = { 1 << 20 } },
			      NULL),
			 VGPU_S_NO_MEMORY); /* over the quota */
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						 .arg = { 64 } },
			      &dptr),
			 VGPU_S_OK);
	/* the list: crosses a page, sums wrong, too long, in our BAR */
	sgl1(f, 0, SGL + 0xf00, 0x200);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr, 0x200 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 1 },
			      NULL),
			 VGPU_S_INVALID);
	sgl1(f, 0, SGL + 0x200, 32);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr, 64 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 1 },
			      NULL),
			 VGPU_S_INVALID);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr, 32 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 17 },
			      NULL),
			 VGPU_S_INVALID);
	sgl1(f, 0, 0xf1000000, 32);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr, 32 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 1 },
			      NULL),
			 VGPU_S_INVALID);
	/* device ranges outside the allocation, or not its base */
	sgl1(f, 0, SGL + 0x200, 32);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEMCPY_H2D,
						 .arg = { dptr + 48, 32 },
						 .sgl_gpa = SGL,
						 .sgl_nents = 1 },
			      NULL),
			 VGPU_S_BAD_ADDRESS);
	assert_int_equal(run1(f,
			      (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						 .arg = { dptr + 4 } },
			      NULL),
			 VGPU_S_BAD_ADDRESS);
	assert_int_equal(
		run1(f,
		     (struct vgpu_sqe){ .opcode = VGPU_OP_COMPUTE,
					.arg = { 77, dptr, dptr, 64 } },
		     NULL),
		VGPU_S_INVALID);
	/* the queue is still good */
	assert_true(f->e.q[QI].live);
	assert_int_equal(run1(f, (struct vgpu_sqe){ .opcode = VGPU_OP_NOP },
			      NULL),
			 VGPU_S_OK);
}

static void corrupt_tail_is_fatal(void **state)
{
	struct fx *f = *state;
	struct ring_queue *q = &f->e.q[QI];

	assert_int_equal(enable(f), 0);
	assert_false(engine_doorbell(f->e.en, QI, DEPTH + 1));
	assert_false(q->live);
	assert_int_equal(hdr(f)->status.v, VGPU_QERR_TAIL);
	/* a tail written straight into the header is caught as well */
	assert_int_equal(enable(f), 0);
	assert_int_equal(hdr(f)->status.v, 0);
	hdr(f)->sq_tail.v = 0x80000000u;
	efx_ring(&f->e, QI);
	efx_poll(&f->e);
	assert_int_equal(q->error, VGPU_QERR_TAIL);
	/* after an INVALIDATE dropped the mappings (a guest mapping or
	 * unmapping grants sends them): the header still says so, the one
	 * thing the driver's WAIT looks at before it asks Q_ERROR */
	assert_int_equal(enable(f), 0);
	engine_unmap(f->e.en);
	assert_null(q->hdr);
	assert_false(engine_doorbell(f->e.en, QI, DEPTH + 7));
	assert_int_equal(q->error, VGPU_QERR_TAIL);
	assert_int_equal(hdr(f)->status.v, VGPU_QERR_TAIL);
}

static void full_cq_runs_nothing_twice(void **state)
{
	struct fx *f = *state;
	const struct engine_stats *st = engine_stats(f->e.en);
	struct vgpu_cqe c;
	unsigned int i;

	assert_int_equal(enable(f), 0);
	/* the driver submits a full ring and reaps nothing */
	for (i = 0; i < DEPTH; i++)
		submit(f, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					     .arg = { 16 },
					     .cid = (uint16_t)i });
	efx_ring(&f->e, QI);
	efx_poll(&f->e);
	assert_int_equal(st->commands, DEPTH);
	/* refill the SQ behind it while the CQ is full */
	for (i = 0; i < 2; i++)
		submit(f, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
					     .arg = { 16 } });
	efx_ring(&f->e, QI);
	efx_poll(&f->e);
	assert_int_equal(st->commands, DEPTH); /* not run yet */
	assert_true(efx_wait(&f->e, QI, &c, 5000));
	efx_ring(&f->e, QI);
	efx_poll(&f->e);
	assert_int_equal(st->commands, DEPTH + 1); /* one more, once */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(enable_checks),	   T(nops_across_wraps),
		T(info_and_device_memory), T(malformed_commands),
		T(corrupt_tail_is_fatal),  T(full_cq_runs_nothing_twice),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
