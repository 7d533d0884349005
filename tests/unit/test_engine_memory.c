// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command engine's validation of the 1.2 memory commands, with the
 * test as the driver (queue 1) and as a guest process (session queues 2
 * and 3): regions and their extents, copies through a scattered region,
 * ranges and overflow of copies, memsets and frees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "unit/engine_val_fx.h"

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

/* Copies through *@c (left as the last one had it): one past the end of
 * @d (A's, 4 KiB), wrapping, past the region, into B's memory (@db), on
 * no such stream. */
static void copy_ranges(struct fx *f, struct vgpu_sqe *c, uint64_t d,
			uint64_t db)
{
	c->copy.dptr = d + 4000;
	c->copy.len = 97; /* one past the end */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_BAD_ADDRESS);
	c->copy.dptr = d + 8;
	c->copy.len = UINT64_MAX - 4; /* wraps */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_INVALID);
	c->copy.len = 16;
	c->copy.offset = UINT64_MAX - 8; /* region offset wraps */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_INVALID);
	c->copy.offset = 0xf0000 - 8; /* past the region */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_INVALID);
	c->copy.offset = 0;
	c->copy.dptr = db; /* B's memory */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_BAD_ADDRESS);
	c->copy.dptr = d;
	c->copy.stream = 0x50000001; /* no such stream */
	assert_int_equal(run(f, QA, *c, NULL), VGPU_S_BAD_HANDLE);
}

/* MEMSET on @d (A's, 4 KiB): element sizes, values, counts. */
static void memset_ranges(struct fx *f, uint64_t d)
{
	struct vgpu_sqe m = { .opcode = VGPU_OP_MEMSET };

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
}

static void ranges_and_overflow(void **state)
{
	struct fx *f = *state;
	uint64_t d = alloc(f, QA, 4096), d2 = alloc(f, QA, 4096);
	uint64_t db = alloc(f, QB, 4096);
	struct vgpu_sqe c = { .opcode = VGPU_OP_COPY_H2D,
			      .copy = { .region = f->ra } };

	copy_ranges(f, &c, d, db);
	memset_ranges(f, d);
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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(region_extents_checked),
		T(scattered_region_copies),
		T(ranges_and_overflow),
	};

	return cmocka_run_group_tests_name("engine_memory", tests, NULL, NULL);
}
