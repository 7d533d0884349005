// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modules, launches, streams and events through the engine and the CPU
 * backend: the images nvcc 13 writes for tests/cuda/test_kernels.cuh
 * (tests/data, see make-kernel-images.sh), the layouts the CUDA ABI gives
 * their parameters, every twin's results, faults and time limits that
 * lose a session, completions out of order, a long kernel that holds up
 * neither another stream nor the engine, a full CQ with work in flight,
 * and a session closed while its work runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/engine_fx.h"

#define QP 1
#define QA 2
#define QB 3
#define REG 0x10000 /* the region: guest [0x10000, 0x100000) */
#define IMG 0x80000 /* region offset of a module image */
#define NAME 0x70000
#define OUT 0x71000
#define SPIN_LONG 300000000ll /* iterations: a few hundred ms */

struct fx {
	struct efx e;
	uint32_t a, b, ra, rb;
};

static int setup_limits(void **state, uint32_t kernel_ms)
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

static int setup(void **state)
{
	return setup_limits(state, 20000);
}

static int setup_short_limit(void **state)
{
	return setup_limits(state, 100);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	efx_fini(&f->e);
	test_free(f);
	return 0;
}

static uint8_t *at(struct fx *f, uint64_t off)
{
	return f->e.r.ram + REG + off;
}

static uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e,
		    uint64_t *res)
{
	return efx_run(&f->e, qi, e, res);
}

static uint32_t load_bytes(struct fx *f, const void *img, size_t len,
			   uint32_t *mod)
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

static uint32_t load(struct fx *f, const char *file)
{
	size_t len;
	void *img = efx_data(file, &len);
	uint32_t mod = 0;

	assert_non_null(img);
	assert_int_equal(load_bytes(f, img, len, &mod), VGPU_S_OK);
	free(img);
	return mod;
}

static uint32_t sym(struct fx *f, uint8_t op, uint32_t mod, const char *name,
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

static uint32_t func(struct fx *f, uint32_t mod, const char *name)
{
	uint64_t h = 0;

	assert_int_equal(sym(f, VGPU_OP_FUNC_GET, mod, name, &h), VGPU_S_OK);
	return (uint32_t)h;
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

static void put(struct fx *f, uint64_t d, uint64_t off, uint64_t len, bool h2d)
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

static struct vgpu_sqe launch_e(uint32_t fn, uint32_t g0, uint32_t g1,
				uint32_t g2, uint32_t b0, uint32_t b1,
				uint32_t b2, uint32_t shmem, uint32_t plen)
{
	return (struct vgpu_sqe){ .opcode = VGPU_OP_LAUNCH,
				  .cid = 0x1a,
				  .launch = { .func = fn,
					      .grid = { g0, g1, g2 },
					      .block = { b0, b1, b2 },
					      .shmem = shmem,
					      .param_len = plen } };
}

static const char *const names[] = {
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

static void layouts_from_every_image_form(void **state)
{
	static const char *const files[] = { "kernels.cubin", "kernels.fatbin",
					     "kernels-compressed.fatbin",
					     "kernels-ptx.fatbin",
					     "kernels.ptx" };
	static const struct vgpu_param mixed[8] = { { 0, 1 },  { 2, 2 },
						    { 4, 4 },  { 8, 8 },
						    { 16, 4 }, { 24, 8 },
						    { 32, 1 }, { 40, 8 } };
	struct fx *f = *state;
	struct vgpu_func_info *fi = (struct vgpu_func_info *)at(f, OUT);
	struct vgpu_global_info *gi = (struct vgpu_global_info *)at(f, OUT);
	unsigned int i, k;
	uint64_t g = 0;

	for (i = 0; i < 5; i++) {
		uint32_t mod = load(f, files[i]);

		for (k = 0; k < 12; k++)
			func(f, mod, names[k]);
		func(f, mod, "_Z12mixed_paramscsixfdhPx");
		assert_int_equal(fi->nparams, 8);
		assert_int_equal(fi->param_bytes, 48);
		assert_memory_equal(fi->param, mixed, sizeof(mixed));
		func(f, mod, "_Z12struct_param5pair3Pd");
		assert_int_equal(fi->nparams, 2);
		assert_int_equal(fi->param[0].size, 24);
		assert_int_equal(fi->param[1].offset, 24);
		assert_int_equal(fi->param_bytes, 32);
		assert_int_equal(sym(f, VGPU_OP_GLOBAL_GET, mod, "g_bias", &g),
				 VGPU_S_OK);
		assert_int_equal(gi->size, 4);
		assert_int_equal(gi->dptr, g);
		assert_int_equal(sym(f, VGPU_OP_FUNC_GET, mod, "_Z3nopv", NULL),
				 VGPU_S_NOT_FOUND);
		assert_int_equal(
			run(f, QA,
			    (struct vgpu_sqe){ .opcode = VGPU_OP_MODULE_UNLOAD,
					       .obj = { .obj = mod } },
			    NULL),
			VGPU_S_OK);
	}
}

static void bad_images_and_unknown_kernels(void **state)
{
	static const char ptx[] = ".version 9.0\n.target sm_90\n"
				  ".visible .entry _Z7unknownv()\n{\n}\n";
	struct fx *f = *state;
	uint8_t junk[256];
	uint32_t mod = 0;
	size_t len;
	uint8_t *fb = efx_data("kernels.fatbin", &len);

	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(load_bytes(f, junk, sizeof(junk), &mod),
			 VGPU_S_BAD_IMAGE);
	/* a fatbin whose body runs past its end */
	assert_non_null(fb);
	assert_int_equal(load_bytes(f, fb, 600, &mod), VGPU_S_BAD_IMAGE);
	/* an ELF whose section table lies beyond the image */
	assert_int_equal(load_bytes(f, fb + 0x50, 200, &mod), VGPU_S_BAD_IMAGE);
	free(fb);
	/* over the module size limit (64 KiB here) */
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MODULE_LOAD,
						.buf = { .in_len = 65 << 10,
							 .region = f->ra } },
			     NULL),
			 VGPU_S_LIMIT);
	/* a kernel the backend has no twin of */
	assert_int_equal(load_bytes(f, ptx, sizeof(ptx) - 1, &mod), VGPU_S_OK);
	assert_int_equal(sym(f, VGPU_OP_FUNC_GET, mod, "_Z7unknownv", NULL),
			 VGPU_S_NOT_SUPPORTED);
	/* a name with a NUL in it */
	memcpy(at(f, NAME), "_Z3abc\0def", 10);
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_FUNC_GET,
						.buf = { .in_off = NAME,
							 .in_len = 10,
							 .out_off = OUT,
							 .out_len = 0x2000,
							 .region = f->ra,
							 .obj = mod } },
			     NULL),
			 VGPU_S_INVALID);
}

struct mixed {
	int8_t c;
	int16_t s;
	int32_t i;
	int64_t ll;
	float fl;
	double d;
	uint8_t u8;
	uint64_t out;
};

static void twins_compute_what_the_kernels_do(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin"), i;
	uint64_t a = alloc(f, QA, 4096), b = alloc(f, QA, 4096);
	uint64_t c = alloc(f, QA, 4096), g = 0;
	float *fa = (float *)at(f, 0), *fc = (float *)at(f, 0x2000);
	int32_t *ia = (int32_t *)at(f, 0), *ic = (int32_t *)at(f, 0x2000);
	int64_t *lo = (int64_t *)at(f, 0x2000);
	uint8_t p[48];
	struct mixed m = { -3, -300, 70000, -5000000000ll, 1.5f, 2.25, 200, c };
	double r;

	for (i = 0; i < 1024; i++)
		fa[i] = (float)i;
	put(f, a, 0, 4096, true);
	put(f, b, 0, 4096, true);
	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 8);
	memcpy(p + 16, &c, 8);
	i = 1000;
	memcpy(p + 24, &i, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[1]), 4, 1, 1,
					     256, 1, 1, 0, 28),
				    p, 28),
			 VGPU_S_OK);
	put(f, c, 0x2000, 4096, false);
	for (i = 0; i < 1000; i++)
		assert_true(fc[i] == 2.0f * (float)i);
	assert_true(fc[1000] == 0.0f);
	/* add_bias: g_bias set the cudaMemcpyToSymbol way */
	assert_int_equal(sym(f, VGPU_OP_GLOBAL_GET, mod, "g_bias", &g),
			 VGPU_S_OK);
	ia[0] = 42;
	put(f, g, 0, 4, true);
	for (i = 0; i < 64; i++)
		ia[i] = (int32_t)i * 3;
	put(f, a, 0, 256, true);
	memcpy(p + 8, &c, 8);
	i = 64;
	memcpy(p + 16, &i, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[3]), 1, 1, 1,
					     64, 1, 1, 0, 20),
				    p, 20),
			 VGPU_S_OK);
	put(f, c, 0x2000, 256, false);
	for (i = 0; i < 64; i++)
		assert_int_equal(ic[i], (int32_t)i * 3 + 42);
	/* mixed_params: the CUDA ABI's layout, padding and all */
	memset(p, 0, sizeof(p));
	p[0] = (uint8_t)m.c;
	memcpy(p + 2, &m.s, 2);
	memcpy(p + 4, &m.i, 4);
	memcpy(p + 8, &m.ll, 8);
	memcpy(p + 16, &m.fl, 4);
	memcpy(p + 24, &m.d, 8);
	p[32] = m.u8;
	memcpy(p + 40, &c, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[4]), 1, 1, 1, 1,
					     1, 1, 0, 48),
				    p, 48),
			 VGPU_S_OK);
	put(f, c, 0x2000, 56, false);
	assert_int_equal(lo[0], -3);
	assert_int_equal(lo[1], -300);
	assert_int_equal(lo[2], 70000);
	assert_int_equal(lo[3], -5000000000ll);
	assert_int_equal(lo[4], 1500);
	assert_int_equal(lo[5], 2250000);
	assert_int_equal(lo[6], 200);
	/* struct pair3 { int a; double b; char c; }: 24 bytes, aligned 8 */
	memset(p, 0, sizeof(p));
	i = 7;
	memcpy(p, &i, 4);
	r = 0.5;
	memcpy(p + 8, &r, 8);
	p[16] = 2;
	memcpy(p + 24, &c, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[5]), 1, 1, 1, 1,
					     1, 1, 0, 32),
				    p, 32),
			 VGPU_S_OK);
	put(f, c, 0x2000, 8, false);
	memcpy(&r, at(f, 0x2000), 8);
	assert_true(r == 9.5);
}

static void twins_over_grids_and_shared_memory(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.cubin"), i, r, k;
	uint64_t a = alloc(f, QA, 4096), b = alloc(f, QA, 4096);
	uint64_t c = alloc(f, QA, 4096);
	uint32_t *u = (uint32_t *)at(f, 0x2000);
	float *fa = (float *)at(f, 0), *fc = (float *)at(f, 0x2000);
	int32_t n = 16, *ia = (int32_t *)at(f, 0);
	uint8_t p[32];

	/* iota3d over a 2x3x2 grid of 4x2x2 blocks */
	memcpy(p, &c, 8);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[6]), 2, 3, 2, 4,
					     2, 2, 0, 8),
				    p, 8),
			 VGPU_S_OK);
	put(f, c, 0x2000, 192 * 4, false);
	for (i = 0; i < 192; i++)
		assert_int_equal(u[i], i);
	/* matmul 16x16 on a 2x2 grid of 8x8 blocks: A * I = A */
	for (i = 0; i < 256; i++)
		fa[i] = (float)i;
	put(f, a, 0, 1024, true);
	memset(fa, 0, 1024);
	for (i = 0; i < 16; i++)
		fa[i * 16 + i] = 1.0f;
	put(f, b, 0, 1024, true);
	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 8);
	memcpy(p + 16, &c, 8);
	memcpy(p + 24, &n, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[7]), 2, 2, 1, 8,
					     8, 1, 0, 28),
				    p, 28),
			 VGPU_S_OK);
	put(f, c, 0x2000, 1024, false);
	for (i = 0; i < 256; i++)
		assert_true(fc[i] == (float)i);
	/* block_sum: 3 blocks of 64 over 150 values, dynamic shared memory */
	for (i = 0; i < 150; i++)
		ia[i] = (int32_t)(i * i % 97);
	put(f, a, 0, 600, true);
	n = 150;
	memcpy(p, &a, 8);
	memcpy(p + 8, &c, 8);
	memcpy(p + 16, &n, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[8]), 3, 1, 1,
					     64, 1, 1, 256, 20),
				    p, 20),
			 VGPU_S_OK);
	put(f, c, 0x2000, 12, false);
	for (k = 0; k < 3; k++) {
		for (r = 0, i = 64 * k; i < 64 * k + 64 && i < 150; i++)
			r += i * i % 97;
		assert_int_equal(u[k], r);
	}
	/* c_linkage_fill, unmangled */
	memcpy(p, &c, 8);
	i = 0xabcd;
	memcpy(p + 8, &i, 4);
	n = 100;
	memcpy(p + 12, &n, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(func(f, mod, names[11]), 1, 1, 1,
					     128, 1, 1, 0, 16),
				    p, 16),
			 VGPU_S_OK);
	put(f, c, 0x2000, 404, false);
	assert_int_equal(u[99], 0xabcd);
	assert_int_not_equal(u[100], 0xabcd);
}

static void launches_checked_against_layouts(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.ptx");
	uint32_t vec = func(f, mod, names[1]);
	uint8_t p[64] = { 0 };

	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 1, 1, 1, 1, 1, 1, 0, 24), p,
				    24),
			 VGPU_S_BAD_PARAMS);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 1, 1, 1, 1, 1, 1, 0, 32), p,
				    32),
			 VGPU_S_BAD_PARAMS);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 1, 1, 1, 1025, 1, 1, 0, 28),
				    p, 28),
			 VGPU_S_INVALID);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 0, 1, 1, 1, 1, 1, 0, 28), p,
				    28),
			 VGPU_S_INVALID);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 1, 1, 1, 32, 32, 2, 0, 28), p,
				    28),
			 VGPU_S_INVALID);
	assert_int_equal(
		efx_launch(&f->e, QA,
			   launch_e(vec, 1, 1, 1, 1, 1, 1, 64 << 10, 28), p,
			   28),
		VGPU_S_INVALID);
	/* another session's function */
	assert_int_equal(efx_launch(&f->e, QB,
				    launch_e(vec, 1, 1, 1, 1, 1, 1, 0, 28), p,
				    28),
			 VGPU_S_BAD_HANDLE);
	/* the module goes, its functions with it */
	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_MODULE_UNLOAD,
						.obj = { .obj = mod } },
			     NULL),
			 VGPU_S_OK);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(vec, 1, 1, 1, 1, 1, 1, 0, 28), p,
				    28),
			 VGPU_S_BAD_HANDLE);
}

/* LAUNCH in the ring's last slot: its parameters are in slot 0. */
static void launch_parameters_wrap_the_ring(void **state)
{
	struct fx *f = *state;
	uint32_t mod = load(f, "kernels.fatbin");
	uint32_t poke = func(f, mod, names[10]);
	uint64_t d = alloc(f, QA, 4096);
	uint32_t v = 0x5eed, got = 0;
	uint8_t p[12];

	while (f->e.d[QA].tail % 8 != 7)
		assert_int_equal(run(f, QA, (struct vgpu_sqe){ 0 }, NULL),
				 VGPU_S_OK);
	memcpy(p, &d, 8);
	memcpy(p + 8, &v, 4);
	assert_int_equal(efx_launch(&f->e, QA,
				    launch_e(poke, 1, 1, 1, 1, 1, 1, 0, 12), p,
				    12),
			 VGPU_S_OK);
	put(f, d, 0x3000, 4, false);
	memcpy(&got, at(f, 0x3000), 4);
	assert_int_equal(got, v);
}

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

static void device_info_describes_the_cpu_backend(void **state)
{
	struct fx *f = *state;
	struct vgpu_device_info *di = (struct vgpu_device_info *)at(f, OUT);

	assert_int_equal(run(f, QA,
			     (struct vgpu_sqe){ .opcode = VGPU_OP_DEVICE_INFO,
						.buf = { .out_off = OUT,
							 .out_len = sizeof(*di),
							 .region = f->ra } },
			     NULL),
			 VGPU_S_OK);
	assert_non_null(strstr(di->name, "CPU reference backend"));
	assert_string_equal(di->backend, "cpu");
	assert_int_equal(di->cc_major, 9);
	assert_int_equal(di->cc_minor, 0);
	assert_int_equal(di->total_mem, 4 << 20);
	assert_int_equal(di->attr[10], 32); /* warp size */
	assert_int_equal(di->attr[1], 1024); /* threads per block */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(layouts_from_every_image_form),
		T(bad_images_and_unknown_kernels),
		T(twins_compute_what_the_kernels_do),
		T(twins_over_grids_and_shared_memory),
		T(launches_checked_against_layouts),
		T(launch_parameters_wrap_the_ring),
		T(fault_loses_the_session_only),
		cmocka_unit_test_setup_teardown(time_limit_loses_the_session,
						setup_short_limit, teardown),
		T(long_kernel_delays_no_other_stream),
		T(default_stream_orders_blocking_streams),
		T(full_cq_with_work_in_flight),
		T(close_waits_for_work_in_flight),
		T(events_and_waits),
		T(device_info_describes_the_cpu_backend),
	};

	return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
