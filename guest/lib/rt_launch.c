// SPDX-License-Identifier: MIT
/*
 * Launches: the <<< >>> configuration nvcc pushes and its launch stub
 * pops, __cudaLaunchKernel with the handle __cudaGetKernel gave, and
 * cudaLaunchKernel by host stub. Arguments are an array of pointers with
 * no sizes: libcuda lays them out by the layout the device reported for
 * the kernel. Function attributes and occupancy come from libcuda too.
 */
#include <pthread.h>
#include <string.h>

#include "rt_priv.h"

#define CONFIG_MAX 16 /* nested <<< >>> in argument expressions */

struct config {
	dim3 grid, block;
	size_t shmem;
	cudaStream_t stream;
};

static __thread struct {
	struct config c[CONFIG_MAX];
	int n;
} cfg;

unsigned CUDARTAPI __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim,
					       size_t sharedMem,
					       struct CUstream_st *stream);
unsigned CUDARTAPI __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim,
					       size_t sharedMem,
					       struct CUstream_st *stream)
{
	if (cfg.n == CONFIG_MAX)
		return 1;
	cfg.c[cfg.n++] =
		(struct config){ gridDim, blockDim, sharedMem, stream };
	return 0;
}

cudaError_t CUDARTAPI __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim,
						 size_t *sharedMem,
						 void *stream);
cudaError_t CUDARTAPI __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim,
						 size_t *sharedMem,
						 void *stream)
{
	struct config *c;

	if (!cfg.n)
		return vgrt_set(cudaErrorMissingConfiguration);
	c = &cfg.c[--cfg.n];
	*gridDim = c->grid;
	*blockDim = c->block;
	*sharedMem = c->shmem;
	*(cudaStream_t *)stream = c->stream;
	return cudaSuccess;
}

static cudaError_t launch(struct vgrt_func *f, dim3 g, dim3 b, void **args,
			  size_t shmem, cudaStream_t stream)
{
	CUfunction fn;
	cudaError_t e;

	if (!f)
		return vgrt_set(cudaErrorInvalidDeviceFunction);
	/* the dimensions are libcuda's to judge, as NVIDIA's runtime
	 * leaves them to its driver (an empty block: cudaErrorInvalidValue) */
	if (shmem > UINT32_MAX)
		return vgrt_set(cudaErrorInvalidValue);
	e = vgrt_func_get(f, &fn);
	if (e)
		return e;
	return vgrt_err(cuLaunchKernel(fn, g.x, g.y, g.z, b.x, b.y, b.z,
				       (unsigned int)shmem, stream, args,
				       NULL));
}

cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim,
					 dim3 blockDim, void **args,
					 size_t sharedMem, cudaStream_t stream);
cudaError_t CUDARTAPI __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim,
					 dim3 blockDim, void **args,
					 size_t sharedMem, cudaStream_t stream)
{
	return launch((struct vgrt_func *)kernel, gridDim, blockDim, args,
		      sharedMem, stream);
}

cudaError_t CUDARTAPI __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim,
					      dim3 blockDim, void **args,
					      size_t sharedMem,
					      cudaStream_t stream);
cudaError_t CUDARTAPI __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim,
					      dim3 blockDim, void **args,
					      size_t sharedMem,
					      cudaStream_t stream)
{
	return launch((struct vgrt_func *)kernel, gridDim, blockDim, args,
		      sharedMem, VGRT_PTDS(stream));
}

cudaError_t CUDARTAPI cudaLaunchKernel(const void *func, dim3 gridDim,
				       dim3 blockDim, void **args,
				       size_t sharedMem, cudaStream_t stream)
{
	return launch(vgrt_func_by_host(func), gridDim, blockDim, args,
		      sharedMem, stream);
}

cudaError_t CUDARTAPI cudaLaunchKernel_ptsz(const void *func, dim3 gridDim,
					    dim3 blockDim, void **args,
					    size_t sharedMem,
					    cudaStream_t stream);
cudaError_t CUDARTAPI cudaLaunchKernel_ptsz(const void *func, dim3 gridDim,
					    dim3 blockDim, void **args,
					    size_t sharedMem,
					    cudaStream_t stream)
{
	return launch(vgrt_func_by_host(func), gridDim, blockDim, args,
		      sharedMem, VGRT_PTDS(stream));
}

static cudaError_t func_of(const void *func, CUfunction *fn)
{
	struct vgrt_func *f = vgrt_func_by_host(func);

	if (!f)
		return vgrt_set(cudaErrorInvalidDeviceFunction);
	return vgrt_func_get(f, fn);
}

static int fattr(CUfunction fn, CUfunction_attribute a)
{
	int v = 0;

	cuFuncGetAttribute(&v, a, fn);
	return v;
}

cudaError_t CUDARTAPI cudaFuncGetAttributes(struct cudaFuncAttributes *attr,
					    const void *func)
{
	CUfunction fn;
	cudaError_t e;

	if (!attr)
		return vgrt_set(cudaErrorInvalidValue);
	e = func_of(func, &fn);
	if (e)
		return e;
	memset(attr, 0, sizeof(*attr));
	attr->sharedSizeBytes =
		(size_t)fattr(fn, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
	attr->constSizeBytes =
		(size_t)fattr(fn, CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES);
	attr->localSizeBytes =
		(size_t)fattr(fn, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
	attr->maxThreadsPerBlock =
		fattr(fn, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
	attr->numRegs = fattr(fn, CU_FUNC_ATTRIBUTE_NUM_REGS);
	attr->ptxVersion = fattr(fn, CU_FUNC_ATTRIBUTE_PTX_VERSION);
	attr->binaryVersion = fattr(fn, CU_FUNC_ATTRIBUTE_BINARY_VERSION);
	attr->cacheModeCA = fattr(fn, CU_FUNC_ATTRIBUTE_CACHE_MODE_CA);
	attr->maxDynamicSharedSizeBytes =
		fattr(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
	attr->preferredShmemCarveout =
		fattr(fn, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT);
	attr->clusterDimMustBeSet =
		fattr(fn, CU_FUNC_ATTRIBUTE_CLUSTER_SIZE_MUST_BE_SET);
	attr->requiredClusterWidth =
		fattr(fn, CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH);
	attr->requiredClusterHeight =
		fattr(fn, CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT);
	attr->requiredClusterDepth =
		fattr(fn, CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH);
	attr->clusterSchedulingPolicyPreference = fattr(
		fn, CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE);
	attr->nonPortableClusterSizeAllowed =
		fattr(fn, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED);
	return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFuncSetAttribute(const void *func,
					   enum cudaFuncAttribute attr,
					   int value)
{
	CUfunction fn;
	cudaError_t e = func_of(func, &fn);

	if (e)
		return e;
	/* the two enums number the settable attributes alike */
	return vgrt_err(
		cuFuncSetAttribute(fn, (CUfunction_attribute)attr, value));
}

cudaError_t CUDARTAPI cudaFuncSetCacheConfig(const void *func,
					     enum cudaFuncCache cacheConfig)
{
	CUfunction fn;
	cudaError_t e = func_of(func, &fn);

	if (e)
		return e;
	return vgrt_err(cuFuncSetCacheConfig(fn, (CUfunc_cache)cacheConfig));
}

cudaError_t CUDARTAPI cudaOccupancyMaxActiveBlocksPerMultiprocessor(
	int *numBlocks, const void *func, int blockSize, size_t dynamicSMemSize)
{
	CUfunction fn;
	cudaError_t e = func_of(func, &fn);

	if (e)
		return e;
	return vgrt_err(cuOccupancyMaxActiveBlocksPerMultiprocessor(
		numBlocks, fn, blockSize, dynamicSMemSize));
}

cudaError_t CUDARTAPI cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
	int *numBlocks, const void *func, int blockSize, size_t dynamicSMemSize,
	unsigned int flags)
{
	(void)flags; /* the default and "no caching override" agree here */
	return cudaOccupancyMaxActiveBlocksPerMultiprocessor(
		numBlocks, func, blockSize, dynamicSMemSize);
}
