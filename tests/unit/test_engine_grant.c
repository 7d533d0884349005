// SPDX-License-Identifier: GPL-2.0-only
/*
 * REGION_GRANT (ABI 1.5): regions in the emulator's own memory, granted
 * to the guest, on the recorder's host: what the device offers, the
 * references it writes, the per-VM quota and the host's refusals, copies
 * through the granted pages (the emulator's side of them), and every
 * grant ended by REGION_DEL, the session's end and the engine's.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "unit/engine_val_fx.h"

static uint32_t grant(struct fx *f, uint32_t sess, uint64_t list,
		      uint32_t nents, uint64_t bytes, uint64_t *region)
{
	return run(f, QP,
		   (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_GRANT,
				      .session = sess,
				      .region = { .list_gpa = list,
						  .nents = nents,
						  .bytes = bytes } },
		   region);
}

static uint32_t ref_at(struct fx *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, f->e.r.ram + gpa, sizeof(v));
	return le32toh(v);
}

static void grants_offered_only_where_the_host_grants(void **state)
{
	struct fx *f = *state;

	assert_false(engine_grants(f->e.en));
	assert_int_equal(grant(f, f->a, LIST, 1, 4096, NULL),
			 VGPU_S_NOT_SUPPORTED);
	f->e.r.grants_on = true;
	assert_true(engine_grants(f->e.en));
	assert_int_equal(f->e.r.granted, 0);
}

static void grant_arguments_checked(void **state)
{
	struct fx *f = *state;
	struct vgpu_sqe e = { .opcode = VGPU_OP_REGION_GRANT,
			      .session = f->a,
			      .region = { .list_gpa = LIST,
					  .nents = 1,
					  .bytes = 4096,
					  .rsvd0 = 1 } };

	f->e.r.grants_on = true;
	assert_int_equal(grant(f, f->a, LIST, 2, 4096, NULL),
			 VGPU_S_INVALID); /* nents != pages */
	assert_int_equal(grant(f, f->a, LIST, 0, 0, NULL), VGPU_S_INVALID);
	assert_int_equal(grant(f, f->a, LIST, 1, 100, NULL), VGPU_S_INVALID);
	assert_int_equal(grant(f, f->a, LIST + 2, 1, 4096, NULL),
			 VGPU_S_INVALID); /* the list unaligned */
	assert_int_equal(run(f, QP, e, NULL), VGPU_S_INVALID);
	/* over the quota (1 MiB here), and the host's own limit */
	assert_int_equal(grant(f, f->a, LIST, 257, 257 * 4096, NULL),
			 VGPU_S_LIMIT);
	f->e.r.grant_fail = ENOSPC;
	assert_int_equal(grant(f, f->a, LIST, 1, 4096, NULL), VGPU_S_LIMIT);
	f->e.r.grant_fail = ENOMEM;
	assert_int_equal(grant(f, f->a, LIST, 1, 4096, NULL), VGPU_S_NO_MEMORY);
	/* the list in our BAR, or beyond guest RAM: granted, then ended */
	assert_int_equal(grant(f, f->a, 0xf1000000, 1, 4096, NULL),
			 VGPU_S_BAD_GPA);
	assert_int_equal(grant(f, f->a, 1ull << 40, 1, 4096, NULL),
			 VGPU_S_BAD_GPA);
	assert_int_equal(f->e.r.granted, 0);
	/* from a session queue: refused like every privileged command */
	assert_int_not_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_GRANT,
				       .region = { .list_gpa = LIST,
						   .nents = 1,
						   .bytes = 4096 } },
		    NULL),
		VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 0);
}

/* The references land in the guest's list; copies go through the
 * emulator's side of the pages; REGION_DEL ends the grants. */
static void granted_region_copies(void **state)
{
	struct fx *f = *state;
	uint64_t g = 0, d = alloc(f, QA, 0x4000), i;
	uint8_t *host;

	f->e.r.grants_on = true;
	memset(f->e.r.ram + LIST, 0xee, 16);
	assert_int_equal(grant(f, f->a, LIST, 4, 0x4000, &g), VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(ref_at(f, LIST + 4 * i),
				 0x100 + f->e.r.next_ref - 4 + i);
	assert_true(f->e.r.dirty[LIST / 4096]); /* the list was written */
	host = f->e.r.grant_va;
	for (i = 0; i < 0x4000; i++)
		host[i] = (uint8_t)(i * 13);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_H2D,
						.copy = { .dptr = d,
							  .offset = 0,
							  .len = 0x4000,
							  .region = g } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2H,
						.copy = { .dptr = d + 0x1000,
							  .offset = 0x2800,
							  .len = 0x1000,
							  .region = g } },
			     NULL),
			 VGPU_S_OK);
	for (i = 0; i < 0x1000; i++)
		assert_int_equal(host[0x2800 + i],
				 (uint8_t)((i + 0x1000) * 13));
	/* B cannot name A's granted region */
	assert_int_equal(
		run(f, QB,
		    (struct vgpu_sqe){
			    .opcode = VGPU_OP_COPY_H2D,
			    .copy = { .dptr = d, .len = 16, .region = g } },
		    NULL),
		VGPU_S_BAD_HANDLE);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_DEL,
						.session = f->a,
						.obj = { .obj = (uint32_t)g } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 0);
	/* the quota is back */
	assert_int_equal(grant(f, f->a, LIST, 256, 256 * 4096, NULL),
			 VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 256);
}

/* A session's end ends its grants; so does the engine's. */
static void session_end_ends_grants(void **state)
{
	struct fx *f = *state;

	f->e.r.grants_on = true;
	assert_int_equal(grant(f, f->a, LIST, 2, 0x2000, NULL), VGPU_S_OK);
	assert_int_equal(grant(f, f->b, LIST, 3, 0x3000, NULL), VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 5);
	assert_int_equal(run(f, QP,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_CLOSE,
						.session = f->a },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(f->e.r.granted, 3);
	engine_destroy(f->e.en);
	f->e.en = NULL;
	assert_int_equal(f->e.r.granted, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(grants_offered_only_where_the_host_grants),
		T(grant_arguments_checked),
		T(granted_region_copies),
		T(session_end_ends_grants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
