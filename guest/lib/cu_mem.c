// SPDX-License-Identifier: MIT
/*
 * Memory: device allocations (kept in a sorted table per context, so
 * that unified copies can tell device from host pointers), pinned host
 * memory, copies and memset. Synchronous calls run on the legacy stream
 * and return when done; *Async ones from pinned memory return at once.
 */
#include <stdlib.h>
#include <string.h>

#include "cu_priv.h"

/* c->lock held: index of the first allocation with base > p. */
static size_t upper(const struct CUctx_st *c, CUdeviceptr p)
{
	size_t lo = 0, hi = c->nallocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->allocs[mid].base <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool vg_is_dev(struct CUctx_st *c, CUdeviceptr p, struct vg_alloc *out)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&c->lock);
	i = upper(c, p);
	if (i > 0 && p - c->allocs[i - 1].base < c->allocs[i - 1].size) {
		if (out)
			*out = c->allocs[i - 1];
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static int table_add(struct CUctx_st *c, CUdeviceptr p, size_t size,
		     const void *owner)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	if (c->nallocs == c->cap_allocs) {
		size_t cap = c->cap_allocs ? 2 * c->cap_allocs : 64;
		struct vg_alloc *a = realloc(c->allocs, cap * sizeof(*a));

		if (!a) {
			pthread_mutex_unlock(&c->lock);
			return -1;
		}
		c->allocs = a;
		c->cap_allocs = cap;
	}
	i = upper(c, p);
	memmove(&c->allocs[i + 1], &c->allocs[i],
		(c->nallocs - i) * sizeof(*c->allocs));
	c->allocs[i] = (struct vg_alloc){ p, size, owner };
	c->nallocs++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static bool table_del(struct CUctx_st *c, CUdeviceptr p)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&c->lock);
	i = upper(c, p);
	if (i > 0 && c->allocs[i - 1].base == p && !c->allocs[i - 1].owner) {
		memmove(&c->allocs[i - 1], &c->allocs[i],
			(c->nallocs - i) * sizeof(*c->allocs));
		c->nallocs--;
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

void vg_global_add(struct CUctx_st *c, CUdeviceptr p, size_t size,
		   const void *mod)
{
	struct vg_alloc a;

	if (size && !vg_is_dev(c, p, &a))
		table_add(c, p, size,
			  mod); /* without it: copies by kind only */
}

void vg_globals_drop(struct CUctx_st *c, const void *mod)
{
	size_t i, j = 0;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->nallocs; i++)
		if (c->allocs[i].owner != mod)
			c->allocs[j++] = c->allocs[i];
	c->nallocs = j;
	pthread_mutex_unlock(&c->lock);
}

void vg_allocs_free(struct CUctx_st *c)
{
	free(c->allocs);
	c->allocs = NULL;
	c->nallocs = c->cap_allocs = 0;
}

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	uint64_t d;
	int rc;

	if (r)
		return r;
	if (!dptr || !bytesize)
		return CUDA_ERROR_INVALID_VALUE;
	rc = vgpu_mem_alloc(c->s, bytesize, &d);
	if (rc)
		return vg_err(rc);
	if (table_add(c, d, bytesize, NULL)) {
		vgpu_mem_free(c->s, d);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*dptr = d;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr dptr)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (r)
		return r;
	if (!dptr)
		return CUDA_SUCCESS;
	if (!table_del(c, dptr))
		return CUDA_ERROR_INVALID_VALUE;
	return vg_err(vgpu_mem_free(c->s, dptr));
}

CUresult CUDAAPI cuMemGetInfo(size_t *free_bytes, size_t *total)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	uint64_t f;
	int rc;

	if (r)
		return r;
	if (!free_bytes || !total)
		return CUDA_ERROR_INVALID_VALUE;
	rc = vgpu_mem_get_info(c->s, &f);
	if (rc)
		return vg_err(rc);
	*free_bytes = f;
	*total = vg_devinfo()->total_mem;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetAddressRange(CUdeviceptr *pbase, size_t *psize,
				      CUdeviceptr dptr)
{
	struct CUctx_st *c;
	struct vg_alloc a;
	CUresult r = vg_ctx(&c);

	if (r)
		return r;
	if (!vg_is_dev(c, dptr, &a))
		return CUDA_ERROR_NOT_FOUND;
	if (pbase)
		*pbase = a.base;
	if (psize)
		*psize = a.size;
	return CUDA_SUCCESS;
}

/* ---- pinned host memory ---- */

CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);

	if (r)
		return r;
	if (!pp || !bytesize)
		return CUDA_ERROR_INVALID_VALUE;
	if (Flags & CU_MEMHOSTALLOC_DEVICEMAP) {
		vg_log_once(
			"cuMemHostAlloc",
			"CU_MEMHOSTALLOC_DEVICEMAP (mapped pinned memory) is not supported");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	if (Flags & ~(unsigned int)(CU_MEMHOSTALLOC_PORTABLE |
				    CU_MEMHOSTALLOC_WRITECOMBINED))
		return CUDA_ERROR_INVALID_VALUE;
	return vg_err(vgpu_host_alloc(c->s, bytesize, pp));
}

CUresult CUDAAPI cuMemAllocHost(void **pp, size_t bytesize)
{
	return cuMemHostAlloc(pp, bytesize, 0);
}

CUresult CUDAAPI cuMemFreeHost(void *p)
{
	CUresult r = vg_initialized();
	struct CUctx_st *c;

	if (r)
		return r;
	c = vg_ctx_find_host(p);
	if (!c)
		return CUDA_ERROR_INVALID_VALUE;
	return vg_err(vgpu_host_free(c->s, p));
}

CUresult CUDAAPI cuMemHostGetFlags(unsigned int *pFlags, void *p)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	uint64_t size;
	void *base;

	if (r)
		return r;
	if (!pFlags || vgpu_host_range(c->s, p, &base, &size))
		return CUDA_ERROR_INVALID_VALUE;
	*pFlags = 0;
	return CUDA_SUCCESS;
}

/* ---- copies ---- */

/* A device range of the context: [p, p + n) inside one allocation is the
 * device's business to check; here only the context matters. */
static CUresult copy_ctx(CUstream h, bool async, struct CUctx_st **c,
			 uint32_t *stream)
{
	if (!async)
		h = NULL; /* synchronous copies: the legacy stream */
	return vg_stream_for_work(h, c, stream);
}

/* A copy between host memory @host and the device: H2D or D2H. */
static CUresult host_copy(bool h2d, void *host, CUdeviceptr dev, size_t n,
			  CUstream h, bool async)
{
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = copy_ctx(h, async, &c, &id);

	if (r)
		return r;
	if (n && !host)
		return CUDA_ERROR_INVALID_VALUE;
	return vg_err(h2d ? vgpu_copy_h2d(c->s, dev, host, n, id, async) :
			    vgpu_copy_d2h(c->s, host, dev, n, id, async));
}

static CUresult htod(CUdeviceptr dst, const void *src, size_t n, CUstream h,
		     bool async)
{
	return host_copy(true, (void *)(uintptr_t)src, dst, n, h, async);
}

static CUresult dtoh(void *dst, CUdeviceptr src, size_t n, CUstream h,
		     bool async)
{
	return host_copy(false, dst, src, n, h, async);
}

static CUresult dtod(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream h,
		     bool async)
{
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = copy_ctx(h, async, &c, &id);

	return r ? r : vg_err(vgpu_copy_d2d(c->s, dst, src, n, id, async));
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost,
			      size_t ByteCount)
{
	return htod(dstDevice, srcHost, ByteCount, NULL, false);
}

CUresult CUDAAPI cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice,
			      size_t ByteCount)
{
	return dtoh(dstHost, srcDevice, ByteCount, NULL, false);
}

CUresult CUDAAPI cuMemcpyDtoD(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
			      size_t ByteCount)
{
	return dtod(dstDevice, srcDevice, ByteCount, NULL, false);
}

CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost,
				   size_t ByteCount, CUstream hStream)
{
	return htod(dstDevice, srcHost, ByteCount, hStream, true);
}

CUresult CUDAAPI cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr srcDevice,
				   size_t ByteCount, CUstream hStream)
{
	return dtoh(dstHost, srcDevice, ByteCount, hStream, true);
}

CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
				   size_t ByteCount, CUstream hStream)
{
	return dtod(dstDevice, srcDevice, ByteCount, hStream, true);
}

/* Unified addressing: a pointer inside one of the current context's
 * allocations is a device pointer, anything else host memory. */
static CUresult unified(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream h,
			bool async)
{
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	bool d_dev, s_dev;

	if (r)
		return r;
	d_dev = vg_is_dev(c, dst, NULL);
	s_dev = vg_is_dev(c, src, NULL);
	if (d_dev && s_dev)
		return dtod(dst, src, n, h, async);
	if (d_dev)
		return htod(dst, (const void *)(uintptr_t)src, n, h, async);
	if (s_dev)
		return dtoh((void *)(uintptr_t)dst, src, n, h, async);
	/* host to host: after the stream's (the context's) earlier work */
	r = async ? cuStreamSynchronize(h) : cuCtxSynchronize();
	if (!r && n)
		memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src,
			n);
	return r;
}

CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	return unified(dst, src, ByteCount, NULL, false);
}

CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src,
			       size_t ByteCount, CUstream hStream)
{
	return unified(dst, src, ByteCount, hStream, true);
}

/* ---- memset ---- */

static CUresult set(CUdeviceptr d, uint32_t v, uint32_t elem, size_t n,
		    CUstream h, bool async)
{
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = copy_ctx(h, async, &c, &id);

	return r ? r : vg_err(vgpu_memset(c->s, d, v, elem, n, id, async));
}

CUresult CUDAAPI cuMemsetD8(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	return set(dstDevice, uc, 1, N, NULL, false);
}

CUresult CUDAAPI cuMemsetD16(CUdeviceptr dstDevice, unsigned short us, size_t N)
{
	return set(dstDevice, us, 2, N, NULL, false);
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{
	return set(dstDevice, ui, 4, N, NULL, false);
}

CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc,
				 size_t N, CUstream hStream)
{
	return set(dstDevice, uc, 1, N, hStream, true);
}

CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us,
				  size_t N, CUstream hStream)
{
	return set(dstDevice, us, 2, N, hStream, true);
}

CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui,
				  size_t N, CUstream hStream)
{
	return set(dstDevice, ui, 4, N, hStream, true);
}
