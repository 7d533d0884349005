// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command engine's validation of the 1.2 commands, with the test as
 * the driver (queue 1) and as a guest process (session queues 2 and 3):
 * sessions and their queues, privileged commands, reserved fields, stale
 * and foreign handles, regions and their extents, ranges and overflow,
 * limits and the quota, continuation slots across the wrap, a full CQ,
 * a reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "unit/engine_fx.h"

#define QP 1
#define QA 2 /* session A's queue */
#define QB 3 /* session B's queue */
#define LIST 0xc000
#define SGLP 0xd000
/* the region: two extents, the second page range first */
#define R0 0x60000 /* region offsets [0, 0xa0000) */
#define R1 0x10000 /* region offsets [0xa0000, 0xf0000) */

struct fx {
	struct efx e;
	uint32_t a, b; /* sessions on QA, QB */
	uint32_t ra; /* A's region */
};

static const struct vgpu_extent region_x[2] = { { R0, 0xa0000 },
						{ R1, 0x50000 } };

static int setup_poll(void **state, uint32_t poll_us)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	struct engine_limits l;

	engine_limits_default(&l);
	l.devmem = 1 << 20;
	l.pinned = 1 << 20;
	l.sessions = 2;
	l.streams = l.events = l.modules = l.allocs = 4;
	l.poll_us = poll_us;
	assert_int_equal(efx_init(&f->e, &l, 2), 0);
	assert_int_equal(efx_queue(&f->e, QP, 8, 0), 0);
	f->a = efx_session(&f->e, QA, 0x4000);
	f->b = efx_session(&f->e, QB, 0x8000);
	assert_true(f->a && f->b);
	assert_int_equal(efx_region(&f->e, f->a, region_x, 2, LIST, &f->ra),
			 VGPU_S_OK);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_poll(state, 0);
}

static int setup_polling(void **state)
{
	return setup_poll(state, 2000);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	efx_fini(&f->e);
	test_free(f);
	return 0;
}

static uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e,
		    uint64_t *res)
{
	return efx_run(&f->e, qi, e, res);
}

static uint64_t alloc(struct fx *f, unsigned int qi, uint64_t bytes)
{
	uint64_t d = 0;

	assert_int_equal(run(f, qi,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						.arg = { bytes } },
			     &d),
			 VGPU_S_OK);
	return d;
}

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

static uint32_t region_try(struct fx *f, struct vgpu_extent x0, uint64_t bytes)
{
	memcpy(f->e.r.ram + LIST, &x0, sizeof(x0));
	return run(f, QP,
		   (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD,
				      .session = f->b,
				      .region = { .list_gpa = LIST,
						  .nents = 1,
						  .bytes = bytes } },
		   NULL);
}

static void region_extents_checked(void **state)
{
	struct fx *f = *state;

	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10800, 4096 },
				    4096),
			 VGPU_S_INVALID); /* unaligned */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10000, 0 },
				    4096),
			 VGPU_S_INVALID); /* empty */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0xf1000000, 4096 },
				    4096),
			 VGPU_S_INVALID); /* our BAR */
	assert_int_equal(region_try(f,
				    (struct vgpu_extent){ 0xfffffffffffff000ull,
							  0x2000 },
				    0x2000),
			 VGPU_S_INVALID); /* wraps */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10000, 0x2000 },
				    0x1000),
			 VGPU_S_INVALID); /* sum != bytes */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10000, 0x1000 },
				    0x2000),
			 VGPU_S_INVALID); /* nents > pages is fine, sum short */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x200000, 4096 },
				    4096),
			 VGPU_S_BAD_GPA); /* not guest RAM */
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10000, 2 << 20 },
				    2 << 20),
			 VGPU_S_LIMIT); /* over the pinned limit */
	/* the list itself beyond guest RAM */
	assert_int_equal(
		run(f, QP,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_ADD,
				       .session = f->b,
				       .region = { .list_gpa = 1ull << 40,
						   .nents = 1,
						   .bytes = 4096 } },
		    NULL),
		VGPU_S_BAD_GPA);
	assert_int_equal(region_try(f, (struct vgpu_extent){ 0x10000, 4096 },
				    4096),
			 VGPU_S_OK);
	assert_int_equal(f->e.r.frame_maps, 1); /* A's scattered region */
}

/* Bytes at region offset @off of A's region. */
static uint8_t *rb(struct fx *f, uint64_t off)
{
	return f->e.r.ram + (off < 0xa0000 ? R0 + off : R1 + off - 0xa0000);
}

static void scattered_region_copies(void **state)
{
	struct fx *f = *state;
	uint64_t d = alloc(f, QA, 0x3000), i;

	/* across the seam between the two extents, both ways */
	for (i = 0; i < 0x3000; i++)
		*rb(f, 0x9e000 + i) = (uint8_t)(i * 7);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_H2D,
						.copy = { .dptr = d,
							  .offset = 0x9e000,
							  .len = 0x3000,
							  .region = f->ra } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2H,
						.copy = { .dptr = d + 0x1000,
							  .offset = 0x9f800,
							  .len = 0x2000,
							  .region = f->ra } },
			     NULL),
			 VGPU_S_OK);
	for (i = 0; i < 0x2000; i++)
		assert_int_equal(*rb(f, 0x9f800 + i),
				 (uint8_t)((i + 0x1000) * 7));
	/* the device wrote guest memory outside an ioreq: reported, and
	 * only what it wrote (the copy's pages, the queue's header and CQ) */
	memset(f->e.r.dirty, 0, sizeof(f->e.r.dirty));
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2H,
						.copy = { .dptr = d,
							  .offset = 0x9f000,
							  .len = 0x2000,
							  .region = f->ra } },
			     NULL),
			 VGPU_S_OK);
	assert_true(f->e.r.dirty[(R0 + 0x9f000) / 4096]);
	assert_true(f->e.r.dirty[R1 / 4096]);
	assert_false(f->e.r.dirty[R1 / 4096 + 1]);
	assert_false(f->e.r.dirty[(R0 + 0x9e000) / 4096]);
	assert_true(f->e.r.dirty[f->e.d[QA].cq / 4096]);
	/* deleted: the handle is stale */
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_DEL,
						.session = f->a,
						.obj = { .obj = f->ra } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(f->e.r.frame_maps, 0);
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){
			    .opcode = VGPU_OP_COPY_H2D,
			    .copy = { .dptr = d, .len = 16, .region = f->ra } },
		    NULL),
		VGPU_S_BAD_HANDLE);
}

static void ranges_and_overflow(void **state)
{
	struct fx *f = *state;
	uint64_t d = alloc(f, QA, 4096), d2 = alloc(f, QA, 4096);
	uint64_t db = alloc(f, QB, 4096);
	struct vgpu_sqe c = { .opcode = VGPU_OP_COPY_H2D,
			      .copy = { .region = f->ra } };
	struct vgpu_sqe m = { .opcode = VGPU_OP_MEMSET };

	c.copy.dptr = d + 4000;
	c.copy.len = 97; /* one past the end */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_BAD_ADDRESS);
	c.copy.dptr = d + 8;
	c.copy.len = UINT64_MAX - 4; /* wraps */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_INVALID);
	c.copy.len = 16;
	c.copy.offset = UINT64_MAX - 8; /* region offset wraps */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_INVALID);
	c.copy.offset = 0xf0000 - 8; /* past the region */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_INVALID);
	c.copy.offset = 0;
	c.copy.dptr = db; /* B's memory */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_BAD_ADDRESS);
	c.copy.dptr = d;
	c.copy.stream = 0x50000001; /* no such stream */
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_BAD_HANDLE);
	/* memset: element sizes, values, counts */
	m.memset = (struct vgpu_cmd_memset){ .dptr = d, .count = 4, .elem = 3 };
	assert_int_equal(run(f, QA, m, NULL), VGPU_S_INVALID);
	m.memset = (struct vgpu_cmd_memset){
		.dptr = d, .count = 4, .elem = 1, .value = 256
	};
	assert_int_equal(run(f, QA, m, NULL), VGPU_S_INVALID);
	m.memset = (struct vgpu_cmd_memset){ .dptr = d,
					     .count = UINT64_MAX / 2,
					     .elem = 4 };
	assert_int_equal(run(f, QA, m, NULL), VGPU_S_INVALID);
	m.memset = (struct vgpu_cmd_memset){
		.dptr = d, .count = 1025, .elem = 4, .value = 1
	};
	assert_int_equal(run(f, QA, m, NULL), VGPU_S_BAD_ADDRESS);
	m.memset.count = 1024;
	assert_int_equal(run(f, QA, m, NULL), VGPU_S_OK);
	/* d2d may not span two allocations */
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2D,
						.d2d = { .dst = d2,
							 .src = d + 2048,
							 .len = 4096 } },
			     NULL),
			 VGPU_S_BAD_ADDRESS);
	/* free: the base only, once */
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						.arg = { d + 8 } },
			     NULL),
			 VGPU_S_BAD_ADDRESS);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						.arg = { d } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						.arg = { d } },
			     NULL),
			 VGPU_S_BAD_ADDRESS);
	c.copy.stream = 0;
	assert_int_equal(run(f, QA, c, NULL), VGPU_S_BAD_ADDRESS);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_FREE,
						.arg = { db } },
			     NULL),
			 VGPU_S_BAD_ADDRESS);
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
		T(region_extents_checked),
		T(scattered_region_copies),
		T(ranges_and_overflow),
		T(limits_and_quota),
		T(continuation_slots_across_the_wrap),
		T(reset_ends_every_session),
		cmocka_unit_test_setup_teardown(polling_keeps_doorbells_rare,
						setup_polling, teardown),
	};

	return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
