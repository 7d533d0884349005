// SPDX-License-Identifier: MIT
/*
 * The per-thread-default-stream entry points (_ptds, _ptsz: what a
 * program built with CUDA_API_PER_THREAD_DEFAULT_STREAM, or nvcc
 * --default-stream per-thread, imports) of the calls implemented. The
 * per-thread default stream is served as the legacy one (cu_stream.c):
 * more ordering than CUDA promises, never less.
 */
#include "cu_priv.h"

#define PTDS(h) ((h) ? (h) : CU_STREAM_PER_THREAD)

CUresult CUDAAPI cuLaunchKernel_ptsz(CUfunction f, unsigned int gx,
				     unsigned int gy, unsigned int gz,
				     unsigned int bx, unsigned int by,
				     unsigned int bz, unsigned int shmem,
				     CUstream h, void **kernelParams,
				     void **extra);
CUresult CUDAAPI cuLaunchKernel_ptsz(CUfunction f, unsigned int gx,
				     unsigned int gy, unsigned int gz,
				     unsigned int bx, unsigned int by,
				     unsigned int bz, unsigned int shmem,
				     CUstream h, void **kernelParams,
				     void **extra)
{
	return cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, PTDS(h),
			      kernelParams, extra);
}

CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n);
CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr d, const void *s, size_t n)
{
	return cuMemcpyHtoD(d, s, n);
}

CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n);
CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *d, CUdeviceptr s, size_t n)
{
	return cuMemcpyDtoH(d, s, n);
}

CUresult CUDAAPI cuMemcpyDtoD_v2_ptds(CUdeviceptr d, CUdeviceptr s, size_t n);
CUresult CUDAAPI cuMemcpyDtoD_v2_ptds(CUdeviceptr d, CUdeviceptr s, size_t n)
{
	return cuMemcpyDtoD(d, s, n);
}

CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n);
CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr d, CUdeviceptr s, size_t n)
{
	return cuMemcpy(d, s, n);
}

CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s,
					   size_t n, CUstream h);
CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr d, const void *s,
					   size_t n, CUstream h)
{
	return cuMemcpyHtoDAsync(d, s, n, PTDS(h));
}

CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n,
					   CUstream h);
CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *d, CUdeviceptr s, size_t n,
					   CUstream h)
{
	return cuMemcpyDtoHAsync(d, s, n, PTDS(h));
}

CUresult CUDAAPI cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr d, CUdeviceptr s,
					   size_t n, CUstream h);
CUresult CUDAAPI cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr d, CUdeviceptr s,
					   size_t n, CUstream h)
{
	return cuMemcpyDtoDAsync(d, s, n, PTDS(h));
}

CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n,
				    CUstream h);
CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr d, CUdeviceptr s, size_t n,
				    CUstream h)
{
	return cuMemcpyAsync(d, s, n, PTDS(h));
}

CUresult CUDAAPI cuMemsetD8_v2_ptds(CUdeviceptr d, unsigned char v, size_t n);
CUresult CUDAAPI cuMemsetD8_v2_ptds(CUdeviceptr d, unsigned char v, size_t n)
{
	return cuMemsetD8(d, v, n);
}

CUresult CUDAAPI cuMemsetD16_v2_ptds(CUdeviceptr d, unsigned short v, size_t n);
CUresult CUDAAPI cuMemsetD16_v2_ptds(CUdeviceptr d, unsigned short v, size_t n)
{
	return cuMemsetD16(d, v, n);
}

CUresult CUDAAPI cuMemsetD32_v2_ptds(CUdeviceptr d, unsigned int v, size_t n);
CUresult CUDAAPI cuMemsetD32_v2_ptds(CUdeviceptr d, unsigned int v, size_t n)
{
	return cuMemsetD32(d, v, n);
}

CUresult CUDAAPI cuMemsetD8Async_ptsz(CUdeviceptr d, unsigned char v, size_t n,
				      CUstream h);
CUresult CUDAAPI cuMemsetD8Async_ptsz(CUdeviceptr d, unsigned char v, size_t n,
				      CUstream h)
{
	return cuMemsetD8Async(d, v, n, PTDS(h));
}

CUresult CUDAAPI cuMemsetD16Async_ptsz(CUdeviceptr d, unsigned short v,
				       size_t n, CUstream h);
CUresult CUDAAPI cuMemsetD16Async_ptsz(CUdeviceptr d, unsigned short v,
				       size_t n, CUstream h)
{
	return cuMemsetD16Async(d, v, n, PTDS(h));
}

CUresult CUDAAPI cuMemsetD32Async_ptsz(CUdeviceptr d, unsigned int v, size_t n,
				       CUstream h);
CUresult CUDAAPI cuMemsetD32Async_ptsz(CUdeviceptr d, unsigned int v, size_t n,
				       CUstream h)
{
	return cuMemsetD32Async(d, v, n, PTDS(h));
}

CUresult CUDAAPI cuStreamSynchronize_ptsz(CUstream h);
CUresult CUDAAPI cuStreamSynchronize_ptsz(CUstream h)
{
	return cuStreamSynchronize(PTDS(h));
}

CUresult CUDAAPI cuStreamQuery_ptsz(CUstream h);
CUresult CUDAAPI cuStreamQuery_ptsz(CUstream h)
{
	return cuStreamQuery(PTDS(h));
}

CUresult CUDAAPI cuStreamWaitEvent_ptsz(CUstream h, CUevent e,
					unsigned int flags);
CUresult CUDAAPI cuStreamWaitEvent_ptsz(CUstream h, CUevent e,
					unsigned int flags)
{
	return cuStreamWaitEvent(PTDS(h), e, flags);
}

CUresult CUDAAPI cuStreamGetFlags_ptsz(CUstream h, unsigned int *flags);
CUresult CUDAAPI cuStreamGetFlags_ptsz(CUstream h, unsigned int *flags)
{
	return cuStreamGetFlags(PTDS(h), flags);
}

CUresult CUDAAPI cuStreamGetPriority_ptsz(CUstream h, int *priority);
CUresult CUDAAPI cuStreamGetPriority_ptsz(CUstream h, int *priority)
{
	return cuStreamGetPriority(PTDS(h), priority);
}

CUresult CUDAAPI cuEventRecord_ptsz(CUevent e, CUstream h);
CUresult CUDAAPI cuEventRecord_ptsz(CUevent e, CUstream h)
{
	return cuEventRecord(e, PTDS(h));
}

CUresult CUDAAPI cuEventRecordWithFlags_ptsz(CUevent e, CUstream h,
					     unsigned int flags);
CUresult CUDAAPI cuEventRecordWithFlags_ptsz(CUevent e, CUstream h,
					     unsigned int flags)
{
	return cuEventRecordWithFlags(e, PTDS(h), flags);
}
