// SPDX-License-Identifier: GPL-2.0-only
/*
 * C twins of the project's own CUDA test kernels (tests/cuda/
 * test_kernels.cuh), matched by mangled name, with the parameter layouts
 * the CUDA ABI gives them (natural alignment; what cuFuncGetParamInfo
 * reports and what a cubin's EIATTR_KPARAM_INFO records say). Each twin
 * runs over the whole grid and touches device memory only through
 * cpu_ptr(): an access outside the session's allocations ends the kernel
 * with VGPU_S_FAULT. cpu_kcheck() ends one that runs past its deadline
 * with VGPU_S_TIMEOUT.
 */
#include <string.h>
#include <time.h>

#include "cpu_priv.h"

#define GI(g, b) ((uint64_t)(g)[0] * (b)[0]) /* x threads in the grid */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool cpu_kcheck(struct cpu_kctx *k)
{
	if (k->status)
		return false;
	if (++k->checks % 4096)
		return true;
	if (__atomic_load_n(&k->s->lost, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&k->c->stop, __ATOMIC_RELAXED)) {
		k->status = VGPU_S_SESSION_LOST; /* abandoned */
		return false;
	}
	if (k->deadline_ns && now_ns() > k->deadline_ns) {
		k->status = VGPU_S_TIMEOUT;
		return false;
	}
	return true;
}

static uint64_t u64at(const uint8_t *p, uint32_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static uint32_t u32at(const uint8_t *p, uint32_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	return v;
}

static float f32at(const uint8_t *p, uint32_t off)
{
	float v;

	memcpy(&v, p + off, 4);
	return v;
}

static bool ld32(struct cpu_kctx *k, uint64_t a, uint32_t *v)
{
	void *p = cpu_ptr(k, a, 4);

	if (p)
		memcpy(v, p, 4);
	return p != NULL;
}

static bool st32(struct cpu_kctx *k, uint64_t a, uint32_t v)
{
	void *p = cpu_ptr(k, a, 4);

	if (p)
		memcpy(p, &v, 4);
	return p != NULL;
}

static bool st64(struct cpu_kctx *k, uint64_t a, uint64_t v)
{
	void *p = cpu_ptr(k, a, 8);

	if (p)
		memcpy(p, &v, 8);
	return p != NULL;
}

static bool ldf(struct cpu_kctx *k, uint64_t a, float *v)
{
	void *p = cpu_ptr(k, a, 4);

	if (p)
		memcpy(v, p, 4);
	return p != NULL;
}

static bool stf(struct cpu_kctx *k, uint64_t a, float v)
{
	void *p = cpu_ptr(k, a, 4);

	if (p)
		memcpy(p, &v, 4);
	return p != NULL;
}

/* The threads of a 1-D launch that pass "i < n": every y/z replica runs
 * the same body (idempotent for these kernels but scale_offset, whose
 * replicas race on a GPU too). */
#define FOR_I(g, b, n)                                            \
	for (uint64_t rep = 0;                                    \
	     rep < (uint64_t)(g)[1] * (g)[2] * (b)[1] * (b)[2] && \
	     cpu_kcheck(k);                                       \
	     rep++)                                               \
		for (uint64_t i = 0;                              \
		     i < GI(g, b) && i < (uint64_t)(n) && cpu_kcheck(k); i++)

static void k_null(struct cpu_kctx *k, const uint32_t g[3], const uint32_t b[3],
		   uint32_t sh, const uint8_t *p)
{
}

static void k_vec_add(struct cpu_kctx *k, const uint32_t g[3],
		      const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 24);
	float x, y, z;

	FOR_I(g, b, n < 0 ? 0 : n)
	{
		if (!ldf(k, u64at(p, 0) + 4 * i, &x) ||
		    !ldf(k, u64at(p, 8) + 4 * i, &y))
			return;
		z = x + y;
		if (!stf(k, u64at(p, 16) + 4 * i, z))
			return;
	}
}

static void k_scale_offset(struct cpu_kctx *k, const uint32_t g[3],
			   const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 16);
	float s = f32at(p, 8), o = f32at(p, 12), x;

	FOR_I(g, b, n < 0 ? 0 : n)
	{
		if (!ldf(k, u64at(p, 0) + 4 * i, &x))
			return;
		x = x * s + o;
		if (!stf(k, u64at(p, 0) + 4 * i, x))
			return;
	}
}

/* A global of the launch's module, or a fault. */
static uint64_t global(struct cpu_kctx *k, const char *name)
{
	uint32_t i;

	for (i = 0; i < k->m->nglobals; i++)
		if (!strcmp(k->m->g[i].name, name))
			return k->m->g[i].dptr;
	k->status = VGPU_S_FAULT;
	return 0;
}

static void k_add_bias(struct cpu_kctx *k, const uint32_t g[3],
		       const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 16);
	uint64_t gb = global(k, "g_bias");
	uint32_t bias, v;

	if (!gb || !ld32(k, gb, &bias))
		return;
	FOR_I(g, b, n < 0 ? 0 : n)
	{
		if (!ld32(k, u64at(p, 0) + 4 * i, &v) ||
		    !st32(k, u64at(p, 8) + 4 * i, v + bias))
			return;
	}
}

static void k_mixed_params(struct cpu_kctx *k, const uint32_t g[3],
			   const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int8_t c = (int8_t)p[0];
	int16_t s;
	int32_t i;
	int64_t ll, out[7];
	float f;
	double d;
	unsigned int j;

	memcpy(&s, p + 2, 2);
	memcpy(&i, p + 4, 4);
	memcpy(&ll, p + 8, 8);
	memcpy(&f, p + 16, 4);
	memcpy(&d, p + 24, 8);
	out[0] = c;
	out[1] = s;
	out[2] = i;
	out[3] = ll;
	out[4] = (int64_t)(f * 1000.0f);
	out[5] = (int64_t)(d * 1000000.0);
	out[6] = p[32];
	for (j = 0; j < 7; j++)
		if (!st64(k, u64at(p, 40) + 8 * j, (uint64_t)out[j]))
			return;
}

static void k_struct_param(struct cpu_kctx *k, const uint32_t g[3],
			   const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t a;
	double bb, r;
	int8_t c = (int8_t)p[16];
	uint64_t bits;

	memcpy(&a, p, 4);
	memcpy(&bb, p + 8, 8);
	r = a + bb + c;
	memcpy(&bits, &r, 8);
	st64(k, u64at(p, 24), bits);
}

static void k_iota3d(struct cpu_kctx *k, const uint32_t g[3],
		     const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	uint32_t per = b[0] * b[1] * b[2], bx, by, bz, t;

	for (bz = 0; bz < g[2] && cpu_kcheck(k); bz++)
		for (by = 0; by < g[1] && cpu_kcheck(k); by++)
			for (bx = 0; bx < g[0] && cpu_kcheck(k); bx++) {
				uint32_t blk = bx + g[0] * (by + g[1] * bz);

				for (t = 0; t < per && cpu_kcheck(k); t++)
					if (!st32(k,
						  u64at(p, 0) +
							  4ull * (uint32_t)(blk * per +
									    t),
						  blk * per + t))
						return;
			}
}

static void k_matmul(struct cpu_kctx *k, const uint32_t g[3],
		     const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 24);
	uint64_t rows = (uint64_t)g[1] * b[1], cols = (uint64_t)g[0] * b[0];
	uint64_t r, c, kk;

	for (r = 0; r < rows && (int64_t)r < n; r++)
		for (c = 0; c < cols && (int64_t)c < n && cpu_kcheck(k); c++) {
			float acc = 0.0f, x, y;

			for (kk = 0; kk < (uint64_t)n && cpu_kcheck(k); kk++) {
				if (!ldf(k, u64at(p, 0) + 4 * (r * n + kk),
					 &x) ||
				    !ldf(k, u64at(p, 8) + 4 * (kk * n + c), &y))
					return;
				acc += x * y;
			}
			if (!stf(k, u64at(p, 16) + 4 * (r * n + c), acc))
				return;
		}
}

/* Same tree as the CUDA kernel: within one step no thread reads a slot
 * another writes, so running the threads one by one gives its result. */
static void k_block_sum(struct cpu_kctx *k, const uint32_t g[3],
			const uint32_t b[3], uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 16);
	uint32_t buf[1024], bx, t, s, v;

	if ((uint64_t)b[0] * 4 > sh || b[0] > 1024) {
		k->status = VGPU_S_FAULT; /* beyond its shared memory */
		return;
	}
	for (bx = 0; bx < g[0] && cpu_kcheck(k); bx++) {
		for (t = 0; t < b[0]; t++) {
			uint64_t i = (uint64_t)bx * b[0] + t;

			v = 0;
			if ((int64_t)i < n && !ld32(k, u64at(p, 0) + 4 * i, &v))
				return;
			buf[t] = v;
		}
		for (s = b[0] / 2; s > 0; s >>= 1)
			for (t = 0; t < s; t++)
				buf[t] += buf[t + s];
		if (!st32(k, u64at(p, 8) + 4ull * bx, buf[0]))
			return;
	}
}

/* Every thread computes the same x: computed once, as long as it takes
 * one GPU thread (the time is the point of this kernel). */
static void k_spin(struct cpu_kctx *k, const uint32_t g[3], const uint32_t b[3],
		   uint32_t sh, const uint8_t *p)
{
	int64_t iters = (int64_t)u64at(p, 0), j;
	uint64_t x = 0, out = u64at(p, 8);

	for (j = 0; j < iters; j++) {
		x += (uint64_t)j ^ (uint64_t)((int64_t)x >> 3);
		if ((j & 0xfff) == 0 && !cpu_kcheck(k))
			return;
	}
	if (out)
		st32(k, out, (uint32_t)(x & 1));
}

static void k_poke(struct cpu_kctx *k, const uint32_t g[3], const uint32_t b[3],
		   uint32_t sh, const uint8_t *p)
{
	st32(k, u64at(p, 0), u32at(p, 8));
}

static void k_fill(struct cpu_kctx *k, const uint32_t g[3], const uint32_t b[3],
		   uint32_t sh, const uint8_t *p)
{
	int32_t n = (int32_t)u32at(p, 12);

	FOR_I(g, b, n < 0 ? 0 : n)
	{
		if (!st32(k, u64at(p, 0) + 4 * i, u32at(p, 8)))
			return;
	}
}

#define P(o, s)                        \
	{                              \
		.offset = o, .size = s \
	}

static const struct cpu_kernel kernels[] = {
	{ "_Z11null_kernelv", 0, { { 0 } }, 0, k_null },
	{ "_Z7vec_addPKfS0_Pfi",
	  4,
	  { P(0, 8), P(8, 8), P(16, 8), P(24, 4) },
	  28,
	  k_vec_add },
	{ "_Z12scale_offsetPfffi",
	  4,
	  { P(0, 8), P(8, 4), P(12, 4), P(16, 4) },
	  20,
	  k_scale_offset },
	{ "_Z8add_biasPKiPii",
	  3,
	  { P(0, 8), P(8, 8), P(16, 4) },
	  20,
	  k_add_bias },
	{ "_Z12mixed_paramscsixfdhPx",
	  8,
	  { P(0, 1), P(2, 2), P(4, 4), P(8, 8), P(16, 4), P(24, 8), P(32, 1),
	    P(40, 8) },
	  48,
	  k_mixed_params },
	{ "_Z12struct_param5pair3Pd",
	  2,
	  { P(0, 24), P(24, 8) },
	  32,
	  k_struct_param },
	{ "_Z6iota3dPj", 1, { P(0, 8) }, 8, k_iota3d },
	{ "_Z6matmulPKfS0_Pfi",
	  4,
	  { P(0, 8), P(8, 8), P(16, 8), P(24, 4) },
	  28,
	  k_matmul },
	{ "_Z9block_sumPKiPii",
	  3,
	  { P(0, 8), P(8, 8), P(16, 4) },
	  20,
	  k_block_sum },
	{ "_Z4spinxPi", 2, { P(0, 8), P(8, 8) }, 16, k_spin },
	{ "_Z4pokePii", 2, { P(0, 8), P(8, 4) }, 12, k_poke },
	{ "c_linkage_fill", 3, { P(0, 8), P(8, 4), P(12, 4) }, 16, k_fill },
};

const struct cpu_kernel *cpu_kernel_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++)
		if (!strcmp(kernels[i].name, name))
			return &kernels[i];
	return NULL;
}

void cpu_func_info(const struct cpu_kernel *k, struct vgpu_func_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->nparams = k->nparams;
	fi->param_bytes = k->param_bytes;
	memcpy(fi->param, k->param, k->nparams * sizeof(k->param[0]));
	fi->fattr[0] = 1024; /* CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK */
	fi->fattr[4] = 32; /* NUM_REGS */
	fi->fattr[5] = 90; /* PTX_VERSION */
	fi->fattr[6] = 90; /* BINARY_VERSION */
	fi->fattr[8] = 48 << 10; /* MAX_DYNAMIC_SHARED_SIZE_BYTES */
	fi->fattr[9] = -1; /* PREFERRED_SHARED_MEMORY_CARVEOUT */
}

uint32_t cpu_launch(struct backend_cpu *c, struct cpu_session *s,
		    struct be_req *r)
{
	struct cpu_kctx k = { .c = c, .s = s };
	const struct cpu_kernel *kern;
	uint32_t mid = r->launch.func >> 8, fi = (r->launch.func & 0xff) - 1;

	pthread_mutex_lock(&c->mu);
	for (k.m = s->modules; k.m && k.m->id != mid; k.m = k.m->next)
		;
	pthread_mutex_unlock(&c->mu);
	/* a dead module stays until the session is idle: still runnable */
	if (!k.m || fi >= k.m->nfuncs || !k.m->k[fi])
		return VGPU_S_NOT_SUPPORTED;
	kern = k.m->k[fi];
	if (r->launch.param_len != kern->param_bytes)
		return VGPU_S_BAD_PARAMS;
	if (c->be.kernel_ns_limit)
		k.deadline_ns = now_ns() + c->be.kernel_ns_limit;
	kern->run(&k, r->launch.grid, r->launch.block, r->launch.shmem,
		  r->launch.params);
	return k.status;
}
