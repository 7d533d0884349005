// SPDX-License-Identifier: MIT
/*
 * Runtime streams and events: the driver's, handle for handle
 * (cudaStream_t is a CUstream, cudaEvent_t a CUevent), flags alike.
 */
#include "rt_priv.h"

cudaError_t CUDARTAPI cudaStreamCreateWithPriority(cudaStream_t *pStream,
						   unsigned int flags,
						   int priority)
{
	CTX_OR_RETURN();
	if (!pStream)
		return vgrt_set(cudaErrorInvalidValue);
	return vgrt_err(cuStreamCreateWithPriority(pStream, flags, priority));
}

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t *pStream,
						unsigned int flags)
{
	return cudaStreamCreateWithPriority(pStream, flags, 0);
}

cudaError_t CUDARTAPI cudaStreamCreate(cudaStream_t *pStream)
{
	return cudaStreamCreateWithPriority(pStream, cudaStreamDefault, 0);
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream)
{
	CTX_OR_RETURN();
	return vgrt_err(cuStreamDestroy(stream));
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream)
{
	CTX_OR_RETURN();
	return vgrt_err(cuStreamSynchronize(stream));
}

/* Not ready is an answer, not an error to remember. */
cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream)
{
	CUresult r;

	CTX_OR_RETURN();
	r = cuStreamQuery(stream);
	return r == CUDA_ERROR_NOT_READY ? cudaErrorNotReady : vgrt_err(r);
}

cudaError_t CUDARTAPI cudaStreamWaitEvent(cudaStream_t stream,
					  cudaEvent_t event, unsigned int flags)
{
	CTX_OR_RETURN();
	return vgrt_err(cuStreamWaitEvent(stream, event, flags));
}

cudaError_t CUDARTAPI cudaStreamGetFlags(cudaStream_t hStream,
					 unsigned int *flags)
{
	CTX_OR_RETURN();
	return vgrt_err(cuStreamGetFlags(hStream, flags));
}

cudaError_t CUDARTAPI cudaStreamGetPriority(cudaStream_t hStream, int *priority)
{
	CTX_OR_RETURN();
	return vgrt_err(cuStreamGetPriority(hStream, priority));
}

cudaError_t CUDARTAPI cudaDeviceGetStreamPriorityRange(int *leastPriority,
						       int *greatestPriority)
{
	CTX_OR_RETURN();
	return vgrt_err(
		cuCtxGetStreamPriorityRange(leastPriority, greatestPriority));
}

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t *event,
					       unsigned int flags)
{
	CTX_OR_RETURN();
	if (!event)
		return vgrt_set(cudaErrorInvalidValue);
	return vgrt_err(cuEventCreate(event, flags));
}

cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t *event)
{
	return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event)
{
	CTX_OR_RETURN();
	return vgrt_err(cuEventDestroy(event));
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
	CTX_OR_RETURN();
	return vgrt_err(cuEventRecord(event, stream));
}

cudaError_t CUDARTAPI cudaEventRecordWithFlags(cudaEvent_t event,
					       cudaStream_t stream,
					       unsigned int flags)
{
	CTX_OR_RETURN();
	return vgrt_err(cuEventRecordWithFlags(event, stream, flags));
}

cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event)
{
	CUresult r;

	CTX_OR_RETURN();
	r = cuEventQuery(event);
	return r == CUDA_ERROR_NOT_READY ? cudaErrorNotReady : vgrt_err(r);
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event)
{
	CTX_OR_RETURN();
	return vgrt_err(cuEventSynchronize(event));
}

cudaError_t CUDARTAPI cudaEventElapsedTime(float *ms, cudaEvent_t start,
					   cudaEvent_t end)
{
	CTX_OR_RETURN();
	return vgrt_err(cuEventElapsedTime(ms, start, end));
}

/* ---- per-thread default stream variants ---- */

cudaError_t CUDARTAPI cudaStreamSynchronize_ptsz(cudaStream_t stream);
cudaError_t CUDARTAPI cudaStreamSynchronize_ptsz(cudaStream_t stream)
{
	return cudaStreamSynchronize(VGRT_PTDS(stream));
}

cudaError_t CUDARTAPI cudaStreamQuery_ptsz(cudaStream_t stream);
cudaError_t CUDARTAPI cudaStreamQuery_ptsz(cudaStream_t stream)
{
	return cudaStreamQuery(VGRT_PTDS(stream));
}

cudaError_t CUDARTAPI cudaStreamWaitEvent_ptsz(cudaStream_t stream,
					       cudaEvent_t event,
					       unsigned int flags);
cudaError_t CUDARTAPI cudaStreamWaitEvent_ptsz(cudaStream_t stream,
					       cudaEvent_t event,
					       unsigned int flags)
{
	return cudaStreamWaitEvent(VGRT_PTDS(stream), event, flags);
}

cudaError_t CUDARTAPI cudaStreamGetFlags_ptsz(cudaStream_t stream,
					      unsigned int *flags);
cudaError_t CUDARTAPI cudaStreamGetFlags_ptsz(cudaStream_t stream,
					      unsigned int *flags)
{
	return cudaStreamGetFlags(VGRT_PTDS(stream), flags);
}

cudaError_t CUDARTAPI cudaStreamGetPriority_ptsz(cudaStream_t stream,
						 int *priority);
cudaError_t CUDARTAPI cudaStreamGetPriority_ptsz(cudaStream_t stream,
						 int *priority)
{
	return cudaStreamGetPriority(VGRT_PTDS(stream), priority);
}

cudaError_t CUDARTAPI cudaEventRecord_ptsz(cudaEvent_t event,
					   cudaStream_t stream);
cudaError_t CUDARTAPI cudaEventRecord_ptsz(cudaEvent_t event,
					   cudaStream_t stream)
{
	return cudaEventRecord(event, VGRT_PTDS(stream));
}

cudaError_t CUDARTAPI cudaEventRecordWithFlags_ptsz(cudaEvent_t event,
						    cudaStream_t stream,
						    unsigned int flags);
cudaError_t CUDARTAPI cudaEventRecordWithFlags_ptsz(cudaEvent_t event,
						    cudaStream_t stream,
						    unsigned int flags)
{
	return cudaEventRecordWithFlags(event, VGRT_PTDS(stream), flags);
}
