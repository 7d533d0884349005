// SPDX-License-Identifier: MIT
/*
 * The runtime's state: initialisation, the context a thread works in
 * (the device's primary context unless a driver-API user made another
 * current), the per-thread last error, error names and texts, versions,
 * and the hook of the generated not-supported stubs. One process-wide
 * object, as the runtime API is process-wide by definition.
 */
#include <pthread.h>
#include <stdio.h>

#include "log_once.h"
#include "rt_priv.h"

static struct {
	pthread_once_t once;
	CUresult init;
	pthread_mutex_t lock;
	CUcontext primary; /* retained once, until cudaDeviceReset */
	struct vg_once logged;
} G = {
	.once = PTHREAD_ONCE_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.logged = VG_ONCE_INIT,
};

static __thread cudaError_t last_error;

cudaError_t vgrt_set(cudaError_t e)
{
	if (e != cudaSuccess)
		last_error = e;
	return e;
}

/* The two APIs number the errors they share alike. */
cudaError_t vgrt_err(CUresult r)
{
	return vgrt_set((cudaError_t)r);
}

void vgrt_log_once(const char *name, const char *why)
{
	if (vg_first_time(&G.logged, name))
		fprintf(stderr, "vgpu-cuda: %s: %s\n", name, why);
}

int vgrt_stub(const char *name)
{
	vgrt_log_once(name,
		      "not supported by this library (cudaErrorNotSupported)");
	return vgrt_set(cudaErrorNotSupported);
}

static void init_once(void)
{
	G.init = cuInit(0);
}

static cudaError_t init(void)
{
	pthread_once(&G.once, init_once);
	if (G.init == CUDA_SUCCESS)
		return cudaSuccess;
	return vgrt_set(G.init == CUDA_ERROR_NO_DEVICE ?
				cudaErrorNoDevice :
				cudaErrorInitializationError);
}

cudaError_t vgrt_ctx(CUcontext *out)
{
	cudaError_t e = init();
	CUcontext c = NULL;
	CUresult r;

	if (e)
		return e;
	r = cuCtxGetCurrent(&c);
	if (!r && c) {
		*out = c;
		return cudaSuccess;
	}
	pthread_mutex_lock(&G.lock);
	if (!G.primary)
		r = cuDevicePrimaryCtxRetain(&G.primary, 0);
	c = G.primary;
	pthread_mutex_unlock(&G.lock);
	if (!r)
		r = cuCtxSetCurrent(c);
	if (r)
		return vgrt_err(r);
	*out = c;
	return cudaSuccess;
}

cudaError_t vgrt_reset(void)
{
	cudaError_t e = init();
	CUcontext cur = NULL;
	CUresult r;

	if (e)
		return e;
	pthread_mutex_lock(&G.lock);
	r = cuDevicePrimaryCtxReset(0);
	if (!r && G.primary) {
		cuCtxGetCurrent(&cur);
		if (cur == G.primary)
			cuCtxSetCurrent(NULL);
		cuDevicePrimaryCtxRelease(0);
		G.primary = NULL;
	}
	pthread_mutex_unlock(&G.lock);
	last_error = cudaSuccess;
	return r ? vgrt_err(r) : cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetLastError(void)
{
	cudaError_t e = last_error;

	last_error = cudaSuccess;
	return e;
}

cudaError_t CUDARTAPI cudaPeekAtLastError(void)
{
	return last_error;
}

static const struct vg_name *find(cudaError_t e)
{
	return vg_name_find(vgrt_errnames, vgrt_errnames_n, (int)e);
}

const char *CUDARTAPI cudaGetErrorName(cudaError_t error)
{
	const struct vg_name *n = find(error);

	return n ? n->name : "cudaErrorUnknown";
}

const char *CUDARTAPI cudaGetErrorString(cudaError_t error)
{
	const struct vg_name *n = find(error);

	return n ? n->text : "unrecognized error code";
}

cudaError_t CUDARTAPI cudaDriverGetVersion(int *driverVersion)
{
	if (!driverVersion)
		return vgrt_set(cudaErrorInvalidValue);
	return vgrt_err(cuDriverGetVersion(driverVersion));
}

cudaError_t CUDARTAPI cudaRuntimeGetVersion(int *runtimeVersion)
{
	if (!runtimeVersion)
		return vgrt_set(cudaErrorInvalidValue);
	*runtimeVersion = CUDART_VERSION;
	return cudaSuccess;
}
