// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command engine's validation tests' fixture (engine_val_fx.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit/engine_val_fx.h"

static const struct vgpu_extent region_x[2] = { { R0, 0xa0000 },
						{ R1, 0x50000 } };

static int setup_poll(void **state, uint32_t poll_us)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	struct engine_limits l;

	engine_limits_default(&l);
	l.devmem = 1 << 20;
	l.pinned = 1 << 20;
	l.granted = 1 << 20;
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

int setup(void **state)
{
	return setup_poll(state, 0);
}

int setup_polling(void **state)
{
	return setup_poll(state, 2000);
}

int teardown(void **state)
{
	struct fx *f = *state;

	efx_fini(&f->e);
	test_free(f);
	return 0;
}

uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e, uint64_t *res)
{
	return efx_run(&f->e, qi, e, res);
}

uint64_t alloc(struct fx *f, unsigned int qi, uint64_t bytes)
{
	uint64_t d = 0;

	assert_int_equal(run(f, qi,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
						.arg = { bytes } },
			     &d),
			 VGPU_S_OK);
	return d;
}
