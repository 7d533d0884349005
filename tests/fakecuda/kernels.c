// SPDX-License-Identifier: GPL-2.0-only
/*
 * C twins of tests/cuda/test_kernels.cuh for the fake GPU, with the
 * parameter layouts nvcc gives them (offsets and sizes as
 * cuFuncGetParamInfo reports them on sm_90).
 */
#include "config.h"

#include <string.h>

#include "fakecuda.h"

static size_t off_of(const struct fk_launch *l, int i);

#define P(l, i, T) (*(const T *)((l)->params + off_of(l, i)))

static uint64_t threads(const struct fk_launch *l)
{
	return (uint64_t)l->grid[0] * l->grid[1] * l->grid[2] * l->block[0] *
	       l->block[1] * l->block[2];
}

static CUresult k_null(const struct fk_launch *l)
{
	(void)l;
	return CUDA_SUCCESS;
}

static CUresult k_vec_add(const struct fk_launch *l)
{
	int n = P(l, 3, int);
	uint64_t t = threads(l);
	float *a, *b, *c;

	if (n <= 0)
		return CUDA_SUCCESS;
	if ((uint64_t)n > t)
		n = (int)t;
	a = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4ull * n);
	b = fk_dev(l->ctx, P(l, 1, CUdeviceptr), 4ull * n);
	c = fk_dev(l->ctx, P(l, 2, CUdeviceptr), 4ull * n);
	if (!a || !b || !c)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (int i = 0; i < n; i++)
		c[i] = a[i] + b[i];
	return CUDA_SUCCESS;
}

static CUresult k_scale_offset(const struct fk_launch *l)
{
	int n = P(l, 3, int);
	float *x, s = P(l, 1, float), o = P(l, 2, float);

	if (n <= 0)
		return CUDA_SUCCESS;
	if ((uint64_t)n > threads(l))
		n = (int)threads(l);
	x = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4ull * n);
	if (!x)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (int i = 0; i < n; i++)
		x[i] = x[i] * s + o;
	return CUDA_SUCCESS;
}

static CUresult k_add_bias(const struct fk_launch *l)
{
	int n = P(l, 2, int), *in, *out, *bias;

	if (n <= 0)
		return CUDA_SUCCESS;
	if ((uint64_t)n > threads(l))
		n = (int)threads(l);
	in = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4ull * n);
	out = fk_dev(l->ctx, P(l, 1, CUdeviceptr), 4ull * n);
	bias = fk_dev(l->ctx, l->global, 4);
	if (!in || !out || !bias)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (int i = 0; i < n; i++)
		out[i] = in[i] + *bias;
	return CUDA_SUCCESS;
}

static CUresult k_mixed(const struct fk_launch *l)
{
	long long *out = fk_dev(l->ctx, P(l, 7, CUdeviceptr), 7 * 8);

	if (!out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	out[0] = P(l, 0, signed char);
	out[1] = P(l, 1, short);
	out[2] = P(l, 2, int);
	out[3] = P(l, 3, long long);
	out[4] = (long long)(P(l, 4, float) * 1000.0f);
	out[5] = (long long)(P(l, 5, double) * 1000000.0);
	out[6] = P(l, 6, unsigned char);
	return CUDA_SUCCESS;
}

static CUresult k_struct(const struct fk_launch *l)
{
	double *out = fk_dev(l->ctx, P(l, 1, CUdeviceptr), 8);
	int a;
	double b;
	char c;

	if (!out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	memcpy(&a, l->params, 4);
	memcpy(&b, l->params + 8, 8);
	memcpy(&c, l->params + 16, 1);
	*out = a + b + c;
	return CUDA_SUCCESS;
}

static CUresult k_iota3d(const struct fk_launch *l)
{
	uint64_t t = threads(l);
	unsigned int *out = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4 * t);

	if (!out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (uint64_t i = 0; i < t; i++)
		out[i] = (unsigned int)i;
	return CUDA_SUCCESS;
}

static CUresult k_matmul(const struct fk_launch *l)
{
	int n = P(l, 3, int);
	uint64_t nn = (uint64_t)n * (uint64_t)n * 4;
	float *a, *b, *c;

	if (n <= 0)
		return CUDA_SUCCESS;
	a = fk_dev(l->ctx, P(l, 0, CUdeviceptr), nn);
	b = fk_dev(l->ctx, P(l, 1, CUdeviceptr), nn);
	c = fk_dev(l->ctx, P(l, 2, CUdeviceptr), nn);
	if (!a || !b || !c)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (int r = 0; r < n; r++)
		for (int col = 0; col < n; col++) {
			float acc = 0;

			for (int k = 0; k < n; k++)
				acc += a[r * n + k] * b[k * n + col];
			c[r * n + col] = acc;
		}
	return CUDA_SUCCESS;
}

static CUresult k_block_sum(const struct fk_launch *l)
{
	int n = P(l, 2, int), *in, *out;
	unsigned int bs = l->block[0], nb = l->grid[0];

	if (l->shmem < bs * 4)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	in = n > 0 ? fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4ull * n) : NULL;
	out = fk_dev(l->ctx, P(l, 1, CUdeviceptr), 4ull * nb);
	if ((n > 0 && !in) || !out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (unsigned int b = 0; b < nb; b++) {
		int s = 0;

		for (unsigned int t = 0; t < bs; t++) {
			uint64_t i = (uint64_t)b * bs + t;

			s += i < (uint64_t)n ? in[i] : 0;
		}
		out[b] = s;
	}
	return CUDA_SUCCESS;
}

/* Runs @iters nanoseconds of simulated time. */
static CUresult k_spin(const struct fk_launch *l)
{
	long long iters = P(l, 0, long long);
	CUdeviceptr o = P(l, 1, CUdeviceptr);
	int *out = o ? fk_dev(l->ctx, o, 4) : NULL;

	if (o && !out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	fk_spin(l->ctx, iters > 0 ? (uint64_t)iters : 0);
	if (out)
		*out = 1;
	return CUDA_SUCCESS;
}

static CUresult k_poke(const struct fk_launch *l)
{
	int *p = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4);

	if (!p)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	*p = P(l, 1, int);
	return CUDA_SUCCESS;
}

static CUresult k_fill(const struct fk_launch *l)
{
	int n = P(l, 2, int), v = P(l, 1, int), *out;

	if (n <= 0)
		return CUDA_SUCCESS;
	if ((uint64_t)n > threads(l))
		n = (int)threads(l);
	out = fk_dev(l->ctx, P(l, 0, CUdeviceptr), 4ull * n);
	if (!out)
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	for (int i = 0; i < n; i++)
		out[i] = v;
	return CUDA_SUCCESS;
}

const struct fk_kernel fk_kernels[] = {
	{ "_Z11null_kernelv", 0, { 0 }, { 0 }, k_null },
	{ "_Z7vec_addPKfS0_Pfi",
	  4,
	  { 0, 8, 16, 24 },
	  { 8, 8, 8, 4 },
	  k_vec_add },
	{ "_Z12scale_offsetPfffi",
	  4,
	  { 0, 8, 12, 16 },
	  { 8, 4, 4, 4 },
	  k_scale_offset },
	{ "_Z8add_biasPKiPii", 3, { 0, 8, 16 }, { 8, 8, 4 }, k_add_bias },
	{ "_Z12mixed_paramscsixfdhPx",
	  8,
	  { 0, 2, 4, 8, 16, 24, 32, 40 },
	  { 1, 2, 4, 8, 4, 8, 1, 8 },
	  k_mixed },
	{ "_Z12struct_param5pair3Pd", 2, { 0, 24 }, { 24, 8 }, k_struct },
	{ "_Z6iota3dPj", 1, { 0 }, { 8 }, k_iota3d },
	{ "_Z6matmulPKfS0_Pfi", 4, { 0, 8, 16, 24 }, { 8, 8, 8, 4 }, k_matmul },
	{ "_Z9block_sumPKiPii", 3, { 0, 8, 16 }, { 8, 8, 4 }, k_block_sum },
	{ "_Z4spinxPi", 2, { 0, 8 }, { 8, 8 }, k_spin },
	{ "_Z4pokePii", 2, { 0, 8 }, { 8, 4 }, k_poke },
	{ "c_linkage_fill", 3, { 0, 8, 12 }, { 8, 4, 4 }, k_fill },
};

const unsigned int fk_nkernels = sizeof(fk_kernels) / sizeof(fk_kernels[0]);

static size_t off_of(const struct fk_launch *l, int i)
{
	return l->k->off[i];
}
