/* SPDX-License-Identifier: MIT */
/*
 * libcudart.so.13, the runtime API face. It is built on the driver API's
 * public entry points only (our libcuda.so.1, where the core is), as
 * NVIDIA's runtime is built on its driver: contexts are the device's
 * primary context, kernels registered by nvcc's host code are loaded per
 * context on first use. Exports are cuda* and __cuda* (the version
 * script gives each the node libcudart.so.13); helpers are vgrt_*.
 */
#ifndef VGPU_GUEST_RT_PRIV_H
#define VGPU_GUEST_RT_PRIV_H

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "generated.h"

/* ---- rt_state.c ---- */

/* Initialise (cuInit) and make sure this thread has a context: the
 * current one if a driver-API user set one, else the primary context. */
cudaError_t vgrt_ctx(CUcontext *out);
#define CTX_OR_RETURN()                           \
	do {                                      \
		CUcontext ctx_;                   \
		cudaError_t e_ = vgrt_ctx(&ctx_); \
		if (e_)                           \
			return e_;                \
	} while (0)
/* A driver status as the runtime's, remembered as the thread's last
 * error when it is one. */
cudaError_t vgrt_err(CUresult r);
/* Remember e as the last error (if not cudaSuccess) and return it. */
cudaError_t vgrt_set(cudaError_t e);
/* The generated stubs' hook: log once, cudaErrorNotSupported. */
int vgrt_stub(const char *name);
void vgrt_log_once(const char *name, const char *why);

/* ---- rt_register.c ---- */

struct vgrt_func;
/* The registered kernel whose host stub is hostFun (NULL: none). */
struct vgrt_func *vgrt_func_by_host(const void *hostFun);
/* Its CUfunction in the current context, loading its module if needed. */
cudaError_t vgrt_func_get(struct vgrt_func *f, CUfunction *out);
/* A registered __device__ variable's address and size in the current
 * context. */
cudaError_t vgrt_symbol(const void *symbol, CUdeviceptr *dptr, size_t *size);
/* cudaDeviceReset: the primary context is reset and let go. */
cudaError_t vgrt_reset(void);

/* ---- rt_stream.c ---- */

/* The per-thread default stream for the _ptsz/_ptds entry points. */
#define VGRT_PTDS(s) ((s) ? (s) : cudaStreamPerThread)

#endif
