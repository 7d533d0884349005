// SPDX-License-Identifier: GPL-2.0-only
/*
 * Streams, events and session loss through the engine and the CPU
 * backend: faults and time limits that lose a session, completions out
 * of order, a long kernel that holds up neither another stream nor the
 * engine, the default stream's legacy ordering, a full CQ with work in
 * flight, a session closed while its work runs, events and waits, a
 * completion due while an INVALIDATE dropped the queue's mappings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/kernel_fx.h"

static void fault_loses_the_session_only(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t poke = func(f, mod, names[10]);
	uint64_t d = alloc(f, QA, 4096), bad = d + 4096;
	uint8_t p[12] = { 0 };

	memcpy(p, &d, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(poke, 1, 1, 1, 1, 1, 1, 0, 12), p,
				    12),
			 VGPU_S_OK);
	/* one past the end: the guard gap, no allocation */
	memcpy(p, &bad, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(poke, 1, 1, 1, 1, 1, 1, 0, 12), p,
				    12),
			 VGPU_S_FAULT);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL),
			 VGPU_S_SESSION_LOST);
	assert_int_equal(engine_stats(f->e.en)->lost, 1);
	/* B goes on; A can still be closed */
	alloc(f, QB, 64);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE,
						.session = f->a },
			     NULL),
			 VGPU_S_OK);
}

static void time_limit_loses_the_session(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	int64_t iters = 1ll << 50;
	uint8_t p[16] = { 0 };

	memcpy(p, &iters, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(spin, 1, 1, 1, 1, 1, 1, 0, 16), p,
				    16),
			 VGPU_S_TIMEOUT);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL),
			 VGPU_S_SESSION_LOST);
	assert_int_equal(run(f, QB, (struct vgpu_sqe){ 0 }, NULL), VGPU_S_OK);
}

/* Spin on stream @st with @cid; no wait. */
static void spin_on(struct fx *f, uint32_t fn, uint32_t st, uint16_t cid,
		    int64_t iters)
{
	struct vgpu_sqe e = launch_e(fn, 1, 1, 1, 1, 1, 1, 0, 16);
	uint8_t p[16] = { 0 };

	memcpy(p, &iters, 8);
	e.cid = cid;
	e.launch.stream = st;
	efx_put_launch(&f->e, QA, &e, p, 16);
	efx_ring(&f->e, QA);
}

static void long_kernel_delays_no_other_stream(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]), null = func(f, mod, names[0]);
	uint64_t s1 = 0, s2 = 0;
	struct vgpu_cqe c;
	struct vgpu_sqe n = launch_e(null, 1, 1, 1, 1, 1, 1, 0, 0);

	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){
			    .opcode = VGPU_OP_STREAM_CREATE,
			    .obj = { .flags = VGPU_STREAM_NON_BLOCKING } },
		    &s1),
		VGPU_S_OK);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){
			    .opcode = VGPU_OP_STREAM_CREATE,
			    .obj = { .flags = VGPU_STREAM_NON_BLOCKING } },
		    &s2),
		VGPU_S_OK);
	spin_on(f, spin, (uint32_t)s1, 1, SPIN_LONG);
	/* while it spins: another stream's launch, and the engine itself */
	n.cid = 2;
	n.launch.stream = (uint32_t)s2;
	efx_put(&f->e, QA, &n);
	efx_put(&f->e, QA, &(struct vgpu_sqe){ .cid = 3 });
	efx_ring(&f->e, QA);
	assert_true(efx_wait(&f->e, QA, &c, 20000));
	assert_int_not_equal(c.cid, 1);
	assert_true(efx_wait(&f->e, QA, &c, 20000));
	assert_int_not_equal(c.cid, 1);
	/* B's session is served meanwhile too */
	assert_int_equal(run(f, QB, (struct vgpu_sqe){ 0 }, NULL), VGPU_S_OK);
	/* out of order: the spin, submitted first, completes last */
	assert_true(efx_wait(&f->e, QA, &c, 20000));
	assert_int_equal(c.cid, 1);
	assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
}

/* VGPU_REG_INFLIGHT's count: a kernel taken and running counts until its
 * completion is written; then the device has nothing left of its own. */
static void inflight_counts_work_until_completed(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	struct vgpu_cqe c;

	assert_int_equal(engine_inflight(f->e.en), 0);
	spin_on(f, spin, 0, 1, SPIN_LONG);
	/* rung, not taken yet: the device still has work */
	assert_int_equal(engine_inflight(f->e.en), 1);
	efx_poll(&f->e);
	assert_int_equal(engine_inflight(f->e.en), 1);
	assert_true(efx_wait(&f->e, QA, &c, 20000));
	assert_int_equal(c.cid, 1);
	assert_int_equal(engine_inflight(f->e.en), 0);
}

/* An INVALIDATE (the guest mapped or unmapped grants) drops the queues'
 * mappings while a kernel runs: its completion still arrives, once. */
static void completion_survives_invalidate(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	struct vgpu_cqe c;

	spin_on(f, spin, 0, 7, SPIN_LONG);
	efx_poll(&f->e); /* taken: the kernel runs */
	assert_int_equal(engine_inflight(f->e.en), 1);
	engine_unmap(f->e.en);
	assert_null(f->e.q[QA].hdr);
	assert_true(efx_wait(&f->e, QA, &c, 20000));
	assert_int_equal(c.cid, 7);
	assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
	assert_true(f->e.q[QA].live);
	assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL), VGPU_S_OK);
}

/* CUDA's legacy default stream: work on a blocking stream waits for the
 * default stream's earlier work; a non-blocking stream's does not. */
static void default_stream_orders_blocking_streams(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]), null = func(f, mod, names[0]);
	struct vgpu_sqe n = launch_e(null, 1, 1, 1, 1, 1, 1, 0, 0);
	uint64_t blk = 0, nb = 0;
	unsigned int order[4] = { 0 }, i;
	struct vgpu_cqe c;

	assert_int_equal(
		run(f, QA, (struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_CREATE },
		    &blk),
		VGPU_S_OK);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){
			    .opcode = VGPU_OP_STREAM_CREATE,
			    .obj = { .flags = VGPU_STREAM_NON_BLOCKING } },
		    &nb),
		VGPU_S_OK);
	spin_on(f, spin, 0, 1, SPIN_LONG / 4);
	n.cid = 2;
	n.launch.stream = (uint32_t)blk;
	efx_put(&f->e, QA, &n);
	n.cid = 3;
	n.launch.stream = (uint32_t)nb;
	efx_put(&f->e, QA, &n);
	efx_ring(&f->e, QA);
	for (i = 0; i < 3; i++) {
		assert_true(efx_wait(&f->e, QA, &c, 20000));
		assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
		order[c.cid] = i;
	}
	assert_true(order[3] < order[1]); /* non-blocking: not held up */
	assert_true(order[1] < order[2]); /* blocking: after the default */
}

static void full_cq_with_work_in_flight(void **state)
{
	struct fx *f = *state;
	const struct engine_stats *st = engine_stats(f->e.en);
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	uint8_t seen[16] = { 0 };
	struct vgpu_cqe c;
	uint64_t cmds = st->commands;
	unsigned int i;

	/* eight kernels hold every CQ slot of the depth-8 queue (two SQ
	 * slots each: four at a time) */
	for (i = 0; i < 8; i++) {
		spin_on(f, spin, 0, (uint16_t)i, 1000000);
		if (i % 4 == 3)
			efx_poll(&f->e);
	}
	efx_put(&f->e, QA, &(struct vgpu_sqe){ .cid = 8 });
	efx_ring(&f->e, QA);
	efx_poll(&f->e);
	assert_int_equal(st->commands, cmds + 8); /* the NOP waits */
	for (i = 0; i < 9; i++) {
		assert_true(efx_wait(&f->e, QA, &c, 20000));
		assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
		assert_true(c.cid < 9);
		assert_int_equal(seen[c.cid]++, 0); /* exactly once each */
		efx_ring(&f->e, QA);
	}
	assert_int_equal(st->commands, cmds + 9);
}

static void close_waits_for_work_in_flight(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	struct vgpu_cqe c;
	uint64_t free0 = 0, qa_done;

	alloc(f, QA, 1 << 20);
	spin_on(f, spin, 0, 1, 1ll << 50); /* would run past any test */
	qa_done = f->e.q[QA].completed;
	efx_poll(&f->e);
	efx_put(&f->e, QP,
		&(struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE,
				    .cid = 99,
				    .session = f->a });
	efx_ring(&f->e, QP);
	efx_poll(&f->e);
	assert_false(f->e.q[QA].live); /* its queue is already gone */
	assert_true(efx_wait(&f->e, QP, &c, 20000));
	assert_int_equal(c.cid, 99);
	assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
	/* the kernel was abandoned; its completion had no queue to go to */
	assert_int_equal(f->e.q[QA].completed, qa_done);
	/* everything A held is free once the close completed */
	assert_int_equal(
		run(f, QP, (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_GET_INFO },
		    &free0),
		VGPU_S_OK);
	assert_int_equal(free0, 4 << 20);
}

static uint32_t obj(struct fx *f, uint8_t op, uint32_t o, uint32_t o2,
		    uint32_t stream, uint32_t flags, uint64_t *res)
{
	return run(f, QA,
		   (struct vgpu_sqe){ .opcode = op,
				      .obj = { .obj = o,
					       .obj2 = o2,
					       .stream = stream,
					       .flags = flags } },
		   res);
}

static void events_and_waits(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t spin = func(f, mod, names[9]);
	uint64_t s1, s2, e1, e2, nt, ns = 0, q = 0;
	unsigned int order[5] = { 0 }, i;
	struct vgpu_cqe c;

	assert_int_equal(obj(f, VGPU_OP_STREAM_CREATE, 0, 0, 0, 0, &s1), 0);
	assert_int_equal(obj(f, VGPU_OP_STREAM_CREATE, 0, 0, 0, 0, &s2), 0);
	assert_int_equal(obj(f, VGPU_OP_EVENT_CREATE, 0, 0, 0, 0, &e1), 0);
	assert_int_equal(obj(f, VGPU_OP_EVENT_CREATE, 0, 0, 0, 0, &e2), 0);
	assert_int_equal(obj(f, VGPU_OP_EVENT_CREATE, 0, 0, 0,
			     VGPU_EVENT_DISABLE_TIMING, &nt),
			 0);
	/* never recorded: done, but no time to measure */
	assert_int_equal(obj(f, VGPU_OP_EVENT_QUERY, (uint32_t)e1, 0, 0, 0, &q),
			 0);
	assert_int_equal(q, 1);
	assert_int_equal(obj(f, VGPU_OP_EVENT_ELAPSED, (uint32_t)e1,
			     (uint32_t)e2, 0, 0, NULL),
			 VGPU_S_INVALID);
	assert_int_equal(obj(f, VGPU_OP_EVENT_RECORD, (uint32_t)e1, 0,
			     (uint32_t)s1, 0, NULL),
			 0);
	/* spin, record e2 on s1; s2 waits for e2, then syncs: neither
	 * completes before the spin */
	spin_on(f, spin, (uint32_t)s1, 1, 20000000);
	efx_put(&f->e, QA,
		&(struct vgpu_sqe){ .opcode = VGPU_OP_EVENT_RECORD,
				    .cid = 2,
				    .obj = { .obj = (uint32_t)e2,
					     .stream = (uint32_t)s1 } });
	efx_put(&f->e, QA,
		&(struct vgpu_sqe){
			.opcode = VGPU_OP_STREAM_WAIT_EVENT,
			.cid = 3,
			.obj = { .obj = (uint32_t)s2, .obj2 = (uint32_t)e2 } });
	efx_put(&f->e, QA,
		&(struct vgpu_sqe){ .opcode = VGPU_OP_STREAM_SYNC,
				    .cid = 4,
				    .obj = { .obj = (uint32_t)s2 } });
	efx_ring(&f->e, QA);
	for (i = 0; i < 4; i++) {
		assert_true(efx_wait(&f->e, QA, &c, 20000));
		assert_int_equal(VGPU_CQE_CODE(c.status), VGPU_S_OK);
		order[c.cid] = i;
	}
	assert_true(order[1] < order[2] && order[2] < order[3] &&
		    order[3] < order[4]);
	assert_int_equal(
		obj(f, VGPU_OP_EVENT_SYNC, (uint32_t)e2, 0, 0, 0, NULL), 0);
	assert_int_equal(obj(f, VGPU_OP_EVENT_ELAPSED, (uint32_t)e1,
			     (uint32_t)e2, 0, 0, &ns),
			 0);
	assert_true(ns > 0 && ns < 20000000000ull);
	assert_int_equal(
		obj(f, VGPU_OP_EVENT_RECORD, (uint32_t)nt, 0, 0, 0, NULL), 0);
	assert_int_equal(obj(f, VGPU_OP_EVENT_ELAPSED, (uint32_t)e1,
			     (uint32_t)nt, 0, 0, NULL),
			 VGPU_S_INVALID);
	assert_int_equal(obj(f, VGPU_OP_CTX_SYNC, 0, 0, 0, 0, NULL), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(fault_loses_the_session_only),
		cmocka_unit_test_setup_teardown(time_limit_loses_the_session,
						setup_short_limit, teardown),
		T(long_kernel_delays_no_other_stream),
		T(inflight_counts_work_until_completed),
		T(completion_survives_invalidate),
		T(default_stream_orders_blocking_streams),
		T(full_cq_with_work_in_flight),
		T(close_waits_for_work_in_flight),
		T(events_and_waits),
	};

	return cmocka_run_group_tests_name("streams", tests, NULL, NULL);
}
