// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake CUDA driver (fakecuda.h): device memory (host memory at
 * made-up device addresses), registered host memory, copies and memsets.
 * A fresh allocation holds 0xdb, as if another tenant's data were left
 * there (FAKECUDA_CLEAN_ALLOC=1: zeros).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fakecuda_int.h"

#define FK_GAP 0x10000ull

CUresult cuMemGetInfo_v2(size_t *fr, size_t *total)
{
	pthread_mutex_lock(&fk_g.lock);
	*fr = fk_g.mem - fk_mem_used();
	*total = fk_g.mem;
	if (fk_g.drift) /* another tenant allocating all the time */
		*fr -= *fr > (fk_g.drift << 20) ? (fk_g.drift++ << 20) : 0;
	pthread_mutex_unlock(&fk_g.lock);
	return fk_cur() ? fk_sticky() : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cuMemAlloc_v2(CUdeviceptr *d, size_t len)
{
	struct fk_ctx *c = fk_cur();
	struct fk_alloc *a;
	CUresult rc = fk_sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&fk_g.lock);
	if (!fk_mem_take(len)) {
		pthread_mutex_unlock(&fk_g.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_unlock(&fk_g.lock);
	a = calloc(1, sizeof(*a));
	if (a)
		a->p = malloc(len);
	if (!a || !a->p) {
		free(a);
		pthread_mutex_lock(&fk_g.lock);
		fk_mem_give(len);
		pthread_mutex_unlock(&fk_g.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memset(a->p, fk_g.clean ? 0 : 0xdb, len);
	a->len = len;
	pthread_mutex_lock(&fk_g.lock);
	a->d = fk_g.next;
	fk_g.next += (len + FK_GAP + 255) & ~255ull;
	a->next = c->allocs;
	c->allocs = a;
	pthread_mutex_unlock(&fk_g.lock);
	*d = a->d;
	fk_trace("mem_alloc %zu", len);
	return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr d)
{
	struct fk_ctx *c = fk_cur();
	CUresult rc = fk_sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&fk_g.lock);
	for (struct fk_alloc **pp = &c->allocs; *pp; pp = &(*pp)->next) {
		struct fk_alloc *a = *pp;

		if (a->d == d) {
			*pp = a->next;
			fk_mem_give(a->len);
			pthread_mutex_unlock(&fk_g.lock);
			free(a->p);
			free(a);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&fk_g.lock);
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemHostRegister_v2(void *p, size_t len, unsigned int flags)
{
	struct fk_reg *r;

	(void)flags;
	fk_trace("register %zu%s", len, fk_g.reg_fail ? " refused" : "");
	if (fk_g.reg_fail)
		return CUDA_ERROR_NOT_SUPPORTED;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r->p = p;
	r->len = len;
	pthread_mutex_lock(&fk_g.lock);
	r->next = fk_g.regs;
	fk_g.regs = r;
	pthread_mutex_unlock(&fk_g.lock);
	return CUDA_SUCCESS;
}

CUresult cuMemHostUnregister(void *p)
{
	pthread_mutex_lock(&fk_g.lock);
	for (struct fk_reg **pp = &fk_g.regs; *pp; pp = &(*pp)->next) {
		struct fk_reg *r = *pp;

		if (r->p == p) {
			*pp = r->next;
			pthread_mutex_unlock(&fk_g.lock);
			free(r);
			fk_trace("unregister");
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&fk_g.lock);
	return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

static const char *pinned(const void *h, uint64_t n)
{
	const char *s = "pageable";

	pthread_mutex_lock(&fk_g.lock);
	for (struct fk_reg *r = fk_g.regs; r; r = r->next)
		if ((const uint8_t *)h >= r->p &&
		    (const uint8_t *)h + n <= r->p + r->len)
			s = "pinned";
	pthread_mutex_unlock(&fk_g.lock);
	return s;
}

static CUresult copy(int type, CUdeviceptr d, CUdeviceptr s, void *h,
		     uint64_t n, bool wait)
{
	struct fk_op *o = fk_op_new(type);

	if (o) {
		o->d = d;
		o->s = s;
		o->h = h;
		o->n = n;
	}
	if (h)
		fk_trace("copy_%s %llu %s", type == FK_COPY_H2D ? "h2d" : "d2h",
			 (unsigned long long)n, pinned(h, n));
	return fk_enqueue(o, wait);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n,
			      CUstream s)
{
	(void)s;
	return copy(FK_COPY_H2D, d, 0, (void *)h, n, false);
}

CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, CUstream s)
{
	(void)s;
	return copy(FK_COPY_D2H, 0, d, h, n, false);
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n,
			      CUstream s)
{
	(void)s;
	return copy(FK_COPY_D2D, d, src, NULL, n, false);
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n)
{
	return copy(FK_COPY_H2D, d, 0, (void *)h, n, true);
}

CUresult cuMemcpyDtoH_v2(void *h, CUdeviceptr d, size_t n)
{
	return copy(FK_COPY_D2H, 0, d, h, n, true);
}

static CUresult memset_op(CUdeviceptr d, uint32_t v, int elem, size_t n)
{
	struct fk_op *o = fk_op_new(FK_MEMSET);

	if (o) {
		o->d = d;
		o->val = v;
		o->elem = elem;
		o->n = n;
	}
	return fk_enqueue(o, false);
}

CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 1, n);
}

CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 2, n);
}

CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 4, n);
}
