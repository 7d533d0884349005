// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modules and launches through the engine and the CPU backend: the images
 * nvcc 13 writes for tests/cuda/test_kernels.cuh (tests/data, see
 * make-kernel-images.sh), the layouts the CUDA ABI gives their parameters,
 * every twin's results, launches checked against layouts, parameters that
 * wrap the ring, DEVICE_INFO.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit/kernel_fx.h"

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
		T(device_info_describes_the_cpu_backend),
	};

	return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
