// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command engine's validation of the 1.2 commands, with the test as
 * the driver (queue 1) and as a guest process (session queues 2 and 3):
 * sessions and their queues, privileged commands, reserved fields, stale
 * and foreign handles, limits and the quota, continuation slots across
 * the wrap, a full CQ, a reset. Regions, copies and ranges:
 * test_engine_memory.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "unit/engine_val_fx.h"

static void sessions_and_their_queues(void **state)
{
	struct fx *f = *state;
	struct engine_stats before = *engine_stats(f->e.en);
	uint64_t h;

	assert_int_equal(f->e.q[QA].session, f->a);
	assert_int_equal(f->e.q[QB].session, f->b);
	assert_int_not_equal(f->a, f->b);
	/* the session comes from the queue: 0 or its own handle only */
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .session = f->a }, NULL),
			 VGPU_S_OK);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .session = f->b }, NULL),
			 VGPU_S_BAD_HANDLE);
	/* binding: not a privileged queue, not one already bound */
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
						.obj = { .obj = 1 } },
			     NULL),
			 VGPU_S_INVALID);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
						.obj = { .obj = QA } },
			     NULL),
			 VGPU_S_INVALID);
	/* the limit is 2 sessions */
	assert_int_equal(
		run(f, QP,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
				       .obj = { .obj = VGPU_NO_QUEUE } },
		    NULL),
		VGPU_S_LIMIT);
	/* closing B disables its queue; its handle is stale from then on */
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE,
						.session = f->b },
			     NULL),
			 VGPU_S_OK);
	assert_false(f->e.q[QB].live);
	assert_int_equal(f->e.q[QB].session, 0);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE,
						.session = f->b },
			     NULL),
			 VGPU_S_BAD_HANDLE);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO,
						.session = f->b },
			     NULL),
			 VGPU_S_BAD_HANDLE);
	/* the legacy session cannot be closed */
	assert_int_equal(
		run(f, QP, (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE },
		    NULL),
		VGPU_S_BAD_HANDLE);
	/* a slot again, and a handle that differs from the stale one */
	assert_int_equal(
		run(f, QP,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
				       .obj = { .obj = VGPU_NO_QUEUE } },
		    &h),
		VGPU_S_OK);
	assert_int_not_equal(h, f->b);
	assert_int_equal(engine_stats(f->e.en)->sessions, before.sessions + 1);
}

static void privileged_commands_refused_on_session_queues(void **state)
{
	struct fx *f = *state;
	static const uint8_t ops[] = {
		VGPU_OP_GET_INFO,   VGPU_OP_SESSION_OPEN, VGPU_OP_SESSION_CLOSE,
		VGPU_OP_REGION_ADD, VGPU_OP_REGION_DEL,	  VGPU_OP_MEMCPY_H2D,
		VGPU_OP_MEMCPY_D2H,
	};
	unsigned int i;

	for (i = 0; i < sizeof(ops); i++)
		assert_int_equal(run(f, QA,
				     (struct vgpu_sqe){ .opcode = ops[i],
							.sgl_gpa = SGLP,
							.sgl_nents = 1 },
				     NULL),
				 VGPU_S_PRIVILEGED);
	/* and the queue serves on */
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL), VGPU_S_OK);
}

static void reserved_fields_must_be_zero(void **state)
{
	struct fx *f = *state;
	uint64_t d = alloc(f, QA, 4096);
	struct vgpu_sqe e[8] = {
		{ .opcode = VGPU_OP_NOP, .bytes = { [55] = 1 } },
		{ .opcode = VGPU_OP_COPY_H2D,
		  .copy = { .dptr = d,
			    .len = 8,
			    .region = f->ra,
			    .rsvd = { 1 } } },
		{ .opcode = VGPU_OP_COPY_D2D,
		  .d2d = { .dst = d, .src = d, .len = 8, .rsvd0 = 1 } },
		{ .opcode = VGPU_OP_MEMSET,
		  .memset = { .dptr = d, .count = 1, .elem = 1, .rsvd0 = 1 } },
		{ .opcode = VGPU_OP_STREAM_CREATE,
		  .obj = { .rsvd = { 0, 1 } } },
		{ .opcode = VGPU_OP_DEVICE_INFO,
		  .buf = { .out_len = 2048, .region = f->ra, .rsvd1 = 1 } },
		{ .opcode = VGPU_OP_LAUNCH,
		  .launch = { .grid = { 1, 1, 1 },
			      .block = { 1, 1, 1 },
			      .rsvd = { 1 } } },
		{ .opcode = VGPU_OP_MEM_ALLOC, .arg = { 64, 1 } },
	};
	unsigned int i;

	for (i = 0; i < 8; i++)
		assert_int_equal(run(f, QA, e[i], NULL), VGPU_S_INVALID);
	/* unknown flags and opcodes */
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .flags = 2 }, NULL),
			 VGPU_S_INVALID);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .opcode = 0x61 }, NULL),
			 VGPU_S_INVALID);
	/* region reserved fields, on the driver's queue */
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD,
						.region = { .list_gpa = LIST,
							    .nents = 1,
							    .bytes = 4096,
							    .rsvd0 = 1 } },
			     NULL),
			 VGPU_S_INVALID);
}

static void stale_foreign_and_mistyped_handles(void **state)
{
	struct fx *f = *state;
	uint64_t st = 0, ev = 0, st2 = 0;

	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_CREATE },
		    &st),
		VGPU_S_OK);
	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE },
		    &ev),
		VGPU_S_OK);
	/* B cannot name A's stream, event or region */
	assert_int_equal(
		run(f, QB,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_SYNC,
				       .obj = { .obj = (uint32_t)st } },
		    NULL),
		VGPU_S_BAD_HANDLE);
	assert_int_equal(
		run(f, QB,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_QUERY,
				       .obj = { .obj = (uint32_t)ev } },
		    NULL),
		VGPU_S_BAD_HANDLE);
	assert_int_equal(run(f, QB,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_DEVICE_INFO,
						.buf = { .out_len = 2048,
							 .region = f->ra } },
			     NULL),
			 VGPU_S_BAD_HANDLE);
	/* an event is no stream */
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_SYNC,
				       .obj = { .obj = (uint32_t)ev } },
		    NULL),
		VGPU_S_BAD_HANDLE);
	/* destroyed: stale, even when its slot is used again */
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_DESTROY,
				       .obj = { .obj = (uint32_t)st } },
		    NULL),
		VGPU_S_OK);
	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_CREATE },
		    &st2),
		VGPU_S_OK);
	assert_int_not_equal(st, st2);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_SYNC,
				       .obj = { .obj = (uint32_t)st } },
		    NULL),
		VGPU_S_BAD_HANDLE);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_SYNC,
				       .obj = { .obj = (uint32_t)st2 } },
		    NULL),
		VGPU_S_OK);
}

static void limits_and_quota(void **state)
{
	struct fx *f = *state;
	uint64_t free0 = 0, free1 = 0, d;
	unsigned int i;

	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO },
		    &free0),
		VGPU_S_OK);
	/* the quota is the VM's: what B holds A cannot have */
	d = alloc(f, QB, 512 << 10);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
				       .arg = { free0 - (512 << 10) + 1 } },
		    NULL),
		VGPU_S_NO_MEMORY);
	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO },
		    &free1),
		VGPU_S_OK);
	assert_int_equal(free1, free0 - (512 << 10));
	assert_int_equal(run(f, QB,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						.arg = { d } },
			     NULL),
			 VGPU_S_OK);
	/* four allocations, streams, events per session */
	for (i = 0; i < 4; i++)
		alloc(f, QA, 64);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						.arg = { 64 } },
			     NULL),
			 VGPU_S_LIMIT);
	for (i = 0; i < 4; i++)
		assert_int_equal(run(f, QA,
				     (struct vgpu_sqe){
					     .opcode = VGPU_OP_STREAM_CREATE },
				     NULL),
				 VGPU_S_OK);
	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_CREATE },
		    NULL),
		VGPU_S_LIMIT);
	for (i = 0; i < 4; i++)
		assert_int_equal(
			run(f, QA,
			    (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE },
			    NULL),
			VGPU_S_OK);
	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE },
		    NULL),
		VGPU_S_LIMIT);
	/* B's limits are its own */
	assert_int_equal(
		run(f, QB, (struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_CREATE },
		    NULL),
		VGPU_S_OK);
}

/* A LAUNCH at slot 7 of a depth-8 ring: its parameters wrap to slot 0,
 * and until the tail covers them nothing runs. */
static void continuation_slots_across_the_wrap(void **state)
{
	struct fx *f = *state;
	const struct engine_stats *st = engine_stats(f->e.en);
	struct efx_q *d = &f->e.d[QA];
	struct vgpu_sqe l = { .opcode = VGPU_OP_LAUNCH,
			      .cid = 77,
			      .launch = { .func = 0x40010000,
					  .grid = { 1, 1, 1 },
					  .block = { 1, 1, 1 },
					  .param_len = 12 } };
	uint8_t params[12] = { 0 };
	struct vgpu_cqe c;
	uint64_t cmds;
	unsigned int i;

	for (i = 0; i < 7; i++)
		assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL),
				 VGPU_S_OK);
	efx_put_launch(&f->e, QA, &l, params, sizeof(params));
	/* the driver has published only the LAUNCH entry */
	__atomic_store_n(&efx_hdr(&f->e, QA)->sq_tail.v, d->tail - 1,
			 __ATOMIC_RELEASE);
	cmds = st->commands;
	engine_doorbell(f->e.en, QA, d->tail - 1);
	efx_poll(&f->e);
	assert_int_equal(st->commands, cmds);
	assert_int_equal(efx_hdr(&f->e, QA)->sq_head.v, 7);
	__atomic_store_n(&efx_hdr(&f->e, QA)->sq_tail.v, d->tail,
			 __ATOMIC_RELEASE);
	efx_ring(&f->e, QA);
	assert_true(efx_wait(&f->e, QA, &c, 5000));
	assert_int_equal(c.cid, 77);
	/* no such function: but the parameters were taken as parameters */
	assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_BAD_HANDLE);
	assert_int_equal(efx_hdr(&f->e, QA)->sq_head.v, 9);
	assert_int_equal(st->commands, cmds + 1);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .cid = 78 }, NULL),
			 VGPU_S_OK);
}

static void reset_ends_every_session(void **state)
{
	struct fx *f = *state;
	uint64_t free0 = 0;

	alloc(f, QA, 4096);
	engine_reset(f->e.en);
	assert_false(f->e.q[QA].live);
	assert_false(f->e.q[QP].live);
	assert_int_equal(f->e.q[QA].session, 0);
	assert_int_equal(f->e.r.frame_maps, 0); /* A's region is gone */
	assert_int_equal(efx_queue(&f->e, QP, 8, 0), 0);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO,
						.session = f->a },
			     NULL),
			 VGPU_S_BAD_HANDLE);
	/* the legacy session is a new one, and the quota whole again */
	assert_int_equal(
		run(f, QP, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO },
		    &free0),
		VGPU_S_OK);
	assert_int_equal(free0, 1 << 20);
}

/* A busy queue is polled: the doorbell flag is clear and submissions
 * need no doorbell; once idle for poll_us the flag is set again. */
static void polling_keeps_doorbells_rare(void **state)
{
	struct fx *f = *state;
	const struct engine_stats *st = engine_stats(f->e.en);
	struct vgpu_qhdr *h = efx_hdr(&f->e, QA);
	struct vgpu_cqe c;
	uint64_t rings;
	int i;

	assert_int_equal(h->dev_flags.v, VGPU_DEV_NEED_DOORBELL);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ .cid = 1 }, NULL),
			 VGPU_S_OK);
	assert_int_equal(h->dev_flags.v, 0); /* polling now */
	rings = st->doorbells;
	for (i = 0; i < 20; i++) {
		efx_put(&f->e, QA, &(struct vgpu_sqe){ .cid = (uint16_t)i });
		assert_true(efx_wait(&f->e, QA, &c, 5000)); /* no doorbell */
		assert_int_equal(c.cid, i);
	}
	assert_int_equal(st->doorbells, rings);
	/* idle: polling stops (within far more than 2 ms), the flag is set */
	for (i = 0; i < 100000 && h->dev_flags.v != VGPU_DEV_NEED_DOORBELL; i++)
		efx_poll(&f->e);
	assert_int_equal(h->dev_flags.v, VGPU_DEV_NEED_DOORBELL);
	/* and a submission now needs the doorbell again */
	efx_put(&f->e, QA, &(struct vgpu_sqe){ .cid = 7 });
	efx_poll(&f->e);
	assert_false(efx_reap(&f->e, QA, &c));
	efx_ring(&f->e, QA);
	assert_true(efx_wait(&f->e, QA, &c, 5000));
	assert_int_equal(c.cid, 7);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(sessions_and_their_queues),
		T(privileged_commands_refused_on_session_queues),
		T(reserved_fields_must_be_zero),
		T(stale_foreign_and_mistyped_handles),
		T(limits_and_quota),
		T(continuation_slots_across_the_wrap),
		T(reset_ends_every_session),
		cmocka_unit_test_setup_teardown(polling_keeps_doorbells_rare,
						setup_polling, teardown),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
