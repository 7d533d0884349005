// SPDX-License-Identifier: MIT
/*
 * Contexts: one device session each. This thread's context stack, the
 * context calls, and the device's primary context (what the runtime API
 * uses), retained and released by count.
 */
#include <string.h>

#include "cu_priv.h"

#define STACK_MAX 32

static __thread struct {
	struct CUctx_st *c[STACK_MAX];
	int n;
} tls;

struct CUctx_st *vg_current(void)
{
	return tls.n ? tls.c[tls.n - 1] : NULL;
}

void vg_set_current(struct CUctx_st *c)
{
	if (!tls.n) {
		if (c)
			tls.c[tls.n++] = c;
		return;
	}
	if (c)
		tls.c[tls.n - 1] = c;
	else
		tls.n--;
}

CUresult vg_push(struct CUctx_st *c)
{
	if (tls.n == STACK_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	tls.c[tls.n++] = c;
	return CUDA_SUCCESS;
}

struct CUctx_st *vg_pop(void)
{
	return tls.n ? tls.c[--tls.n] : NULL;
}

/* Drop c from this thread's stack wherever it is. */
void vg_forget_current(struct CUctx_st *c)
{
	int i, j = 0;

	for (i = 0; i < tls.n; i++)
		if (tls.c[i] != c)
			tls.c[j++] = tls.c[i];
	tls.n = j;
}

static CUresult create(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	struct CUctx_st *c;
	CUresult r;

	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	r = vg_check_dev(dev);
	if (!r)
		r = vg_ctx_new(&c, flags, false);
	if (!r)
		r = vg_push(c);
	if (!r)
		*pctx = c;
	return r;
}

CUresult CUDAAPI cuCtxCreate(CUcontext *pctx, CUctxCreateParams *params,
			     unsigned int flags, CUdevice dev)
{
	/* execution affinity and CIG parameters are not offered */
	if (params && (params->execAffinityParams ||
		       params->numExecAffinityParams || params->cigParams))
		return CUDA_ERROR_NOT_SUPPORTED;
	return create(pctx, flags, dev);
}

CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags,
				CUdevice dev);
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags,
				CUdevice dev)
{
	return create(pctx, flags, dev);
}

CUresult CUDAAPI cuCtxDestroy(CUcontext ctx)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (!ctx || ctx->magic != VG_CTX_MAGIC || ctx->primary)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (ctx->destroyed)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	ctx->destroyed = true;
	vg_forget_current(ctx);
	vg_ctx_teardown(ctx);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = vg_current();
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (ctx && ctx->magic != VG_CTX_MAGIC)
		return CUDA_ERROR_INVALID_CONTEXT;
	vg_set_current(ctx);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPushCurrent(CUcontext ctx)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (!ctx || ctx->magic != VG_CTX_MAGIC || ctx->destroyed)
		return CUDA_ERROR_INVALID_CONTEXT;
	return vg_push(ctx);
}

CUresult CUDAAPI cuCtxPopCurrent(CUcontext *pctx)
{
	CUresult r = vg_initialized();
	struct CUctx_st *c;

	if (r)
		return r;
	c = vg_pop();
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (pctx)
		*pctx = c;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice *device)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (!r && !device)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*device = 0;
	return r;
}

CUresult CUDAAPI cuCtxGetFlags(unsigned int *flags)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (!r && !flags)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*flags = c->flags;
	return r;
}

CUresult CUDAAPI cuCtxGetId(CUcontext ctx, unsigned long long *ctxId)
{
	CUresult r;

	if (!ctx && (r = vg_ctx(&ctx)))
		return r;
	r = vg_ctx_check(ctx);
	if (!r && !ctxId)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*ctxId = ctx->id;
	return r;
}

CUresult CUDAAPI cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
	CUresult r;

	if (!ctx && (r = vg_ctx(&ctx)))
		return r;
	r = vg_ctx_check(ctx);
	if (!r && !version)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*version = 3020; /* what every context since CUDA 3.2 says */
	return r;
}

/* A synchronisation reports what failed asynchronously before it. */
static CUresult sync_ctx(struct CUctx_st *c)
{
	int rc = vgpu_ctx_sync(c->s);
	int a = vgpu_take_async_error(c->s);

	if (a && (!rc || vgpu_status_is_fatal(rc)))
		rc = a;
	if (!rc)
		vg_stream_idle(c, NULL, true);
	return vg_err(rc);
}

CUresult CUDAAPI cuCtxSynchronize(void)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	return r ? r : sync_ctx(c);
}

CUresult CUDAAPI cuCtxSynchronize_v2(CUcontext ctx)
{
	CUresult r;

	if (!ctx)
		return cuCtxSynchronize();
	r = vg_ctx_check(ctx);
	return r ? r : sync_ctx(ctx);
}

CUresult CUDAAPI cuCtxGetCacheConfig(CUfunc_cache *pconfig)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (!r && !pconfig)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*pconfig = CU_FUNC_CACHE_PREFER_NONE;
	return r;
}

/* A preference, not a promise: accepted and ignored, as on devices
 * without a configurable split. */
CUresult CUDAAPI cuCtxSetCacheConfig(CUfunc_cache config)
{
	struct CUctx_st *c;

	(void)config;
	return vg_ctx(&c);
}

CUresult CUDAAPI cuCtxGetStreamPriorityRange(int *leastPriority,
					     int *greatestPriority)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (r)
		return r;
	/* one priority: the device runs streams independently */
	if (leastPriority)
		*leastPriority = 0;
	if (greatestPriority)
		*greatestPriority = 0;
	return CUDA_SUCCESS;
}

/* ---- the primary context ---- */

/* Device @dev's primary context (made at its first use) in *@c, once
 * @dev is checked and then the arguments (@args_ok); @none when there is
 * none and it cannot be made. */
static CUresult primary(CUdevice dev, bool args_ok, CUresult none,
			struct CUctx_st **c)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!args_ok)
		return CUDA_ERROR_INVALID_VALUE;
	*c = vg_primary();
	return *c ? CUDA_SUCCESS : none;
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	struct CUctx_st *c;
	CUresult r = primary(dev, pctx != NULL, CUDA_ERROR_OUT_OF_MEMORY, &c);

	if (r)
		return r;
	pthread_mutex_lock(&c->ref_lock);
	c->destroyed = false;
	r = vg_ctx_check(c); /* opens its session if it has none */
	if (!r) {
		c->refs++;
		*pctx = c;
	}
	pthread_mutex_unlock(&c->ref_lock);
	return r;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev)
{
	struct CUctx_st *c;
	CUresult r = primary(dev, true, CUDA_ERROR_INVALID_CONTEXT, &c);

	if (r)
		return r;
	pthread_mutex_lock(&c->ref_lock);
	if (c->refs == 0) {
		pthread_mutex_unlock(&c->ref_lock);
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	if (--c->refs == 0) {
		c->destroyed = true;
		vg_ctx_teardown(c);
	}
	pthread_mutex_unlock(&c->ref_lock);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxReset(CUdevice dev)
{
	struct CUctx_st *c;
	CUresult r = primary(dev, true, CUDA_ERROR_OUT_OF_MEMORY, &c);

	if (r)
		return r;
	/* everything goes; the handle stays usable and gets a fresh
	 * session (and id) when next used */
	pthread_mutex_lock(&c->ref_lock);
	vg_ctx_teardown(c);
	pthread_mutex_unlock(&c->ref_lock);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags,
					    int *active)
{
	struct CUctx_st *c;
	CUresult r =
		primary(dev, flags && active, CUDA_ERROR_OUT_OF_MEMORY, &c);

	if (r)
		return r;
	pthread_mutex_lock(&c->ref_lock);
	*flags = c->flags;
	*active = c->refs > 0 && c->s;
	pthread_mutex_unlock(&c->ref_lock);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags)
{
	struct CUctx_st *c;
	CUresult r = primary(dev, true, CUDA_ERROR_OUT_OF_MEMORY, &c);

	if (r)
		return r;
	c->flags = flags; /* scheduling hints: kept, not acted on */
	return CUDA_SUCCESS;
}
