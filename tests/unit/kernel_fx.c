// SPDX-License-Identifier: GPL-2.0-only
/* The CPU backend tests' fixture; see kernel_fx.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/kernel_fx.h"

int setup_limits(void **state, uint32_t kernel_ms)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	struct vgpu_extent x = { REG, 0xf0000 };
	struct engine_limits l;

	engine_limits_default(&l);
	l.devmem = 4 << 20;
	l.pinned = 4 << 20;
	l.module_bytes = 64 << 10;
	l.kernel_ms = kernel_ms;
	l.poll_us = 0;
	assert_int_equal(efx_init(&f->e, &l, 3), 0);
	assert_int_equal(efx_queue(&f->e, QP, 8, 0), 0);
	f->a = efx_session(&f->e, QA, 0x4000);
	f->b = efx_session(&f->e, QB, 0x8000);
	assert_true(f->a && f->b);
	assert_int_equal(efx_region(&f->e, f->a, &x, 1, 0xc000, &f->ra),
			 VGPU_S_OK);
	assert_int_equal(efx_region(&f->e, f->b, &x, 1, 0xc000, &f->rb),
			 VGPU_S_OK);
	*state = f;
	return 0;
}

int setup(void **state)
{
	return setup_limits(state, 20000);
}

int setup_short_limit(void **state)
{
	return setup_limits(state, 100);
}

int teardown(void **state)
{
	struct fx *f = *state;

	efx_fini(&f->e);
	test_free(f);
	return 0;
}

uint8_t *at(struct fx *f, uint64_t off)
{
	return f->e.r.ram + REG + off;
}

uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e, uint64_t *res)
{
	return efx_run(&f->e, qi, e, res);
}

uint32_t load_bytes(struct fx *f, const void *img, size_t len, uint32_t *mod)
{
	uint64_t h = 0;
	uint32_t st;

	memcpy(at(f, IMG), img, len);
	st = run(f, QA,
		 (struct vgpu_sqe){ .opcode = VGPU_OP_MODULE_LOAD,
				    .buf = { .in_off = IMG,
					     .in_len = len,
					     .region = f->ra } },
		 &h);
	*mod = (uint32_t)h;
	return st;
}

uint32_t load(struct fx *f, const char *file)
{
	size_t len;
	void *img = efx_data(file, &len);
	uint32_t mod = 0;

	assert_non_null(img);
	assert_int_equal(load_bytes(f, img, len, &mod), VGPU_S_OK);
	free(img);
	return mod;
}

uint32_t sym(struct fx *f, uint8_t op, uint32_t mod, const char *name,
	     uint64_t *res)
{
	memcpy(at(f, NAME), name, strlen(name));
	return run(f, QA,
		   (struct vgpu_sqe){ .opcode = op,
				      .buf = { .in_off = NAME,
					       .in_len = strlen(name),
					       .out_off = OUT,
					       .out_len = 0x2000,
					       .region = f->ra,
					       .obj = mod } },
		   res);
}

uint32_t func(struct fx *f, uint32_t mod, const char *name)
{
	uint64_t h = 0;

	assert_int_equal(sym(f, VGPU_OP_FUNC_GET, mod, name, &h), VGPU_S_OK);
	return (uint32_t)h;
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

void put(struct fx *f, uint64_t d, uint64_t off, uint64_t len, bool h2d)
{
	assert_int_equal(
		run(f, QA,
		    (struct vgpu_sqe){ .opcode = h2d ? VGPU_OP_COPY_H2D :
						       VGPU_OP_COPY_D2H,
				       .copy = { .dptr = d,
						 .offset = off,
						 .len = len,
						 .region = f->ra } },
		    NULL),
		VGPU_S_OK);
}

struct vgpu_sqe launch_e(uint32_t fn, uint32_t g0, uint32_t g1, uint32_t g2,
			 uint32_t b0, uint32_t b1, uint32_t b2, uint32_t shmem,
			 uint32_t plen)
{
	return (struct vgpu_sqe){ .opcode = VGPU_OP_LAUNCH,
				  .cid = 0x1a,
				  .launch = { .func = fn,
					      .grid = { g0, g1, g2 },
					      .block = { b0, b1, b2 },
					      .shmem = shmem,
					      .param_len = plen } };
}

const char *const names[12] = {
	"_Z11null_kernelv",
	"_Z7vec_addPKfS0_Pfi",
	"_Z12scale_offsetPfffi",
	"_Z8add_biasPKiPii",
	"_Z12mixed_paramscsixfdhPx",
	"_Z12struct_param5pair3Pd",
	"_Z6iota3dPj",
	"_Z6matmulPKfS0_Pfi",
	"_Z9block_sumPKiPii",
	"_Z4spinxPi",
	"_Z4pokePii",
	"c_linkage_fill",
};
