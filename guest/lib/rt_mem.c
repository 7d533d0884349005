// SPDX-License-Identifier: MIT
/*
 * Runtime memory calls on the driver API: device and pinned host
 * allocations, copies by kind (cudaMemcpyDefault: libcuda tells device
 * from host pointers), memset, and __device__ variables by their host
 * shadow (cudaMemcpyToSymbol and friends).
 */
#include <string.h>

#include "rt_priv.h"

cudaError_t CUDARTAPI cudaMalloc(void **devPtr, size_t size)
{
	CUdeviceptr d;
	CUresult r;

	CTX_OR_RETURN();
	if (!devPtr)
		return vgrt_set(cudaErrorInvalidValue);
	if (!size) {
		*devPtr = NULL;
		return cudaSuccess;
	}
	r = cuMemAlloc(&d, size);
	if (r) /* CUDA_ERROR_OUT_OF_MEMORY is cudaErrorMemoryAllocation */
		return vgrt_err(r);
	*devPtr = (void *)(uintptr_t)d;
	return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFree(void *devPtr)
{
	CTX_OR_RETURN(); /* cudaFree(0): the idiom that initialises */
	if (!devPtr)
		return cudaSuccess;
	return vgrt_err(cuMemFree((CUdeviceptr)(uintptr_t)devPtr));
}

cudaError_t CUDARTAPI cudaHostAlloc(void **pHost, size_t size,
				    unsigned int flags)
{
	CTX_OR_RETURN();
	if (!pHost)
		return vgrt_set(cudaErrorInvalidValue);
	/* cudaHostAlloc* and CU_MEMHOSTALLOC_* share their bits */
	return vgrt_err(cuMemHostAlloc(pHost, size, flags));
}

cudaError_t CUDARTAPI cudaMallocHost(void **ptr, size_t size)
{
	return cudaHostAlloc(ptr, size, cudaHostAllocDefault);
}

cudaError_t CUDARTAPI cudaFreeHost(void *ptr)
{
	CTX_OR_RETURN();
	if (!ptr)
		return cudaSuccess;
	return vgrt_err(cuMemFreeHost(ptr));
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
	CTX_OR_RETURN();
	return vgrt_err(cuMemGetInfo(free_bytes, total));
}

static cudaError_t copy(void *dst, const void *src, size_t n,
			enum cudaMemcpyKind kind, cudaStream_t s, int async)
{
	CUdeviceptr d = (CUdeviceptr)(uintptr_t)dst;
	CUdeviceptr sp = (CUdeviceptr)(uintptr_t)src;
	CUresult r;

	CTX_OR_RETURN();
	switch (kind) {
	case cudaMemcpyHostToHost:
		if (async)
			r = cuStreamSynchronize(s);
		else
			r = CUDA_SUCCESS;
		if (!r && n)
			memmove(dst, src, n);
		break;
	case cudaMemcpyHostToDevice:
		r = async ? cuMemcpyHtoDAsync(d, src, n, s) :
			    cuMemcpyHtoD(d, src, n);
		break;
	case cudaMemcpyDeviceToHost:
		r = async ? cuMemcpyDtoHAsync(dst, sp, n, s) :
			    cuMemcpyDtoH(dst, sp, n);
		break;
	case cudaMemcpyDeviceToDevice:
		r = async ? cuMemcpyDtoDAsync(d, sp, n, s) :
			    cuMemcpyDtoD(d, sp, n);
		break;
	case cudaMemcpyDefault:
		r = async ? cuMemcpyAsync(d, sp, n, s) : cuMemcpy(d, sp, n);
		break;
	default:
		return vgrt_set(cudaErrorInvalidMemcpyDirection);
	}
	return vgrt_err(r);
}

cudaError_t CUDARTAPI cudaMemcpy(void *dst, const void *src, size_t count,
				 enum cudaMemcpyKind kind)
{
	return copy(dst, src, count, kind, NULL, 0);
}

cudaError_t CUDARTAPI cudaMemcpyAsync(void *dst, const void *src, size_t count,
				      enum cudaMemcpyKind kind,
				      cudaStream_t stream)
{
	return copy(dst, src, count, kind, stream, 1);
}

cudaError_t CUDARTAPI cudaMemcpy_ptds(void *dst, const void *src, size_t count,
				      enum cudaMemcpyKind kind);
cudaError_t CUDARTAPI cudaMemcpy_ptds(void *dst, const void *src, size_t count,
				      enum cudaMemcpyKind kind)
{
	return copy(dst, src, count, kind, cudaStreamPerThread, 0);
}

cudaError_t CUDARTAPI cudaMemcpyAsync_ptsz(void *dst, const void *src,
					   size_t count,
					   enum cudaMemcpyKind kind,
					   cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemcpyAsync_ptsz(void *dst, const void *src,
					   size_t count,
					   enum cudaMemcpyKind kind,
					   cudaStream_t stream)
{
	return copy(dst, src, count, kind, VGRT_PTDS(stream), 1);
}

static cudaError_t set(void *p, int value, size_t n, cudaStream_t s, int async)
{
	CUdeviceptr d = (CUdeviceptr)(uintptr_t)p;

	CTX_OR_RETURN();
	return vgrt_err(async ? cuMemsetD8Async(d, (unsigned char)value, n, s) :
				cuMemsetD8(d, (unsigned char)value, n));
}

cudaError_t CUDARTAPI cudaMemset(void *devPtr, int value, size_t count)
{
	return set(devPtr, value, count, NULL, 0);
}

cudaError_t CUDARTAPI cudaMemsetAsync(void *devPtr, int value, size_t count,
				      cudaStream_t stream)
{
	return set(devPtr, value, count, stream, 1);
}

cudaError_t CUDARTAPI cudaMemset_ptds(void *devPtr, int value, size_t count);
cudaError_t CUDARTAPI cudaMemset_ptds(void *devPtr, int value, size_t count)
{
	return set(devPtr, value, count, cudaStreamPerThread, 0);
}

cudaError_t CUDARTAPI cudaMemsetAsync_ptsz(void *devPtr, int value,
					   size_t count, cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemsetAsync_ptsz(void *devPtr, int value,
					   size_t count, cudaStream_t stream)
{
	return set(devPtr, value, count, VGRT_PTDS(stream), 1);
}

/* ---- __device__ variables ---- */

cudaError_t CUDARTAPI cudaGetSymbolAddress(void **devPtr, const void *symbol)
{
	CUdeviceptr d;
	size_t size;
	cudaError_t e;

	if (!devPtr)
		return vgrt_set(cudaErrorInvalidValue);
	e = vgrt_symbol(symbol, &d, &size);
	if (!e)
		*devPtr = (void *)(uintptr_t)d;
	return e;
}

cudaError_t CUDARTAPI cudaGetSymbolSize(size_t *size, const void *symbol)
{
	CUdeviceptr d;

	if (!size)
		return vgrt_set(cudaErrorInvalidValue);
	return vgrt_symbol(symbol, &d, size);
}

/* The symbol's [offset, offset + count) as a device address. */
static cudaError_t symbol_range(const void *symbol, size_t count, size_t offset,
				char **dev)
{
	CUdeviceptr d;
	size_t size;
	cudaError_t e = vgrt_symbol(symbol, &d, &size);

	if (e)
		return e;
	if (offset > size || count > size - offset)
		return vgrt_set(cudaErrorInvalidValue);
	*dev = (char *)(uintptr_t)d + offset;
	return cudaSuccess;
}

static cudaError_t to_symbol(const void *symbol, const void *src, size_t count,
			     size_t offset, enum cudaMemcpyKind kind,
			     cudaStream_t s, int async)
{
	cudaError_t e;
	char *dev = NULL;

	if (kind != cudaMemcpyHostToDevice &&
	    kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
		return vgrt_set(cudaErrorInvalidMemcpyDirection);
	e = symbol_range(symbol, count, offset, &dev);
	return e ? e : copy(dev, src, count, kind, s, async);
}

static cudaError_t from_symbol(void *dst, const void *symbol, size_t count,
			       size_t offset, enum cudaMemcpyKind kind,
			       cudaStream_t s, int async)
{
	cudaError_t e;
	char *dev = NULL;

	if (kind != cudaMemcpyDeviceToHost &&
	    kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault)
		return vgrt_set(cudaErrorInvalidMemcpyDirection);
	e = symbol_range(symbol, count, offset, &dev);
	return e ? e : copy(dst, dev, count, kind, s, async);
}

cudaError_t CUDARTAPI cudaMemcpyToSymbol(const void *symbol, const void *src,
					 size_t count, size_t offset,
					 enum cudaMemcpyKind kind)
{
	return to_symbol(symbol, src, count, offset, kind, NULL, 0);
}

cudaError_t CUDARTAPI cudaMemcpyFromSymbol(void *dst, const void *symbol,
					   size_t count, size_t offset,
					   enum cudaMemcpyKind kind)
{
	return from_symbol(dst, symbol, count, offset, kind, NULL, 0);
}

cudaError_t CUDARTAPI cudaMemcpyToSymbolAsync(const void *symbol,
					      const void *src, size_t count,
					      size_t offset,
					      enum cudaMemcpyKind kind,
					      cudaStream_t stream)
{
	return to_symbol(symbol, src, count, offset, kind, stream, 1);
}

cudaError_t CUDARTAPI cudaMemcpyFromSymbolAsync(void *dst, const void *symbol,
						size_t count, size_t offset,
						enum cudaMemcpyKind kind,
						cudaStream_t stream)
{
	return from_symbol(dst, symbol, count, offset, kind, stream, 1);
}

cudaError_t CUDARTAPI cudaMemcpyToSymbol_ptds(const void *symbol,
					      const void *src, size_t count,
					      size_t offset,
					      enum cudaMemcpyKind kind);
cudaError_t CUDARTAPI cudaMemcpyToSymbol_ptds(const void *symbol,
					      const void *src, size_t count,
					      size_t offset,
					      enum cudaMemcpyKind kind)
{
	return to_symbol(symbol, src, count, offset, kind, cudaStreamPerThread,
			 0);
}

cudaError_t CUDARTAPI cudaMemcpyFromSymbol_ptds(void *dst, const void *symbol,
						size_t count, size_t offset,
						enum cudaMemcpyKind kind);
cudaError_t CUDARTAPI cudaMemcpyFromSymbol_ptds(void *dst, const void *symbol,
						size_t count, size_t offset,
						enum cudaMemcpyKind kind)
{
	return from_symbol(dst, symbol, count, offset, kind,
			   cudaStreamPerThread, 0);
}

cudaError_t CUDARTAPI cudaMemcpyToSymbolAsync_ptsz(const void *symbol,
						   const void *src,
						   size_t count, size_t offset,
						   enum cudaMemcpyKind kind,
						   cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemcpyToSymbolAsync_ptsz(const void *symbol,
						   const void *src,
						   size_t count, size_t offset,
						   enum cudaMemcpyKind kind,
						   cudaStream_t stream)
{
	return to_symbol(symbol, src, count, offset, kind, VGRT_PTDS(stream),
			 1);
}

cudaError_t CUDARTAPI cudaMemcpyFromSymbolAsync_ptsz(
	void *dst, const void *symbol, size_t count, size_t offset,
	enum cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemcpyFromSymbolAsync_ptsz(
	void *dst, const void *symbol, size_t count, size_t offset,
	enum cudaMemcpyKind kind, cudaStream_t stream)
{
	return from_symbol(dst, symbol, count, offset, kind, VGRT_PTDS(stream),
			   1);
}
