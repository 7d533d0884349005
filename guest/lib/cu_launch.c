// SPDX-License-Identifier: MIT
/*
 * Launches. Parameters are laid out by the function's layout as the
 * device reported it (FUNC_GET): from kernelParams (one pointer per
 * parameter, no sizes: the layout has them) or from extra's packed
 * buffer (CU_LAUNCH_PARAM_BUFFER_POINTER / _SIZE). Nothing is guessed.
 * Occupancy is computed from the device's attributes and the function's.
 */
#include <string.h>

#include "cu_priv.h"

static CUresult from_pointers(const struct vgpu_func_info *fi, void **kp,
			      uint8_t *blob)
{
	uint32_t i;

	if (fi->nparams && !kp)
		return CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < fi->nparams; i++) {
		if (!kp[i])
			return CUDA_ERROR_INVALID_VALUE;
		memcpy(blob + fi->param[i].offset, kp[i], fi->param[i].size);
	}
	return CUDA_SUCCESS;
}

static CUresult from_extra(const struct vgpu_func_info *fi, void **extra,
			   uint8_t *blob)
{
	const void *buf = NULL;
	const size_t *size = NULL;
	unsigned int i;

	for (i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
		if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
			buf = extra[i + 1];
		else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
			size = extra[i + 1];
		else
			return CUDA_ERROR_INVALID_VALUE;
	}
	if (!fi->param_bytes)
		return CUDA_SUCCESS;
	if (!buf || !size || *size < fi->param_bytes)
		return CUDA_ERROR_INVALID_VALUE;
	/* what NVIDIA's driver answers to a buffer larger than the
	 * parameters (seen on an H200) */
	if (*size > fi->param_bytes)
		return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
	memcpy(blob, buf, fi->param_bytes);
	return CUDA_SUCCESS;
}

static CUresult launch(CUfunction f, const unsigned int grid[3],
		       const unsigned int block[3], unsigned int shmem,
		       CUstream h, void **kernelParams, void **extra)
{
	uint8_t blob[VGPU_PARAM_MAX];
	struct vgpu_launch l = { 0 };
	struct CUstream_st *st;
	struct CUctx_st *c;
	CUresult r = vg_func_check(f);
	int i;

	if (r)
		return r;
	c = f->mod->ctx;
	for (i = 0; i < 3; i++) {
		if (!grid[i] || !block[i])
			return CUDA_ERROR_INVALID_VALUE;
		l.grid[i] = grid[i];
		l.block[i] = block[i];
	}
	if (kernelParams && extra)
		return CUDA_ERROR_INVALID_VALUE;
	memset(blob, 0, f->info.param_bytes);
	r = extra ? from_extra(&f->info, extra, blob) :
		    from_pointers(&f->info, kernelParams, blob);
	if (!r)
		r = vg_stream(c, h, &l.stream, &st);
	if (!r)
		r = vg_before_work(c, st);
	if (r)
		return r;
	l.func = f->id;
	l.shmem = shmem;
	l.param_len = f->info.param_bytes;
	l.params = blob;
	return vg_err(vgpu_launch(c->s, &l));
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX,
				unsigned int gridDimY, unsigned int gridDimZ,
				unsigned int blockDimX, unsigned int blockDimY,
				unsigned int blockDimZ,
				unsigned int sharedMemBytes, CUstream hStream,
				void **kernelParams, void **extra)
{
	const unsigned int grid[3] = { gridDimX, gridDimY, gridDimZ };
	const unsigned int block[3] = { blockDimX, blockDimY, blockDimZ };

	return launch(f, grid, block, sharedMemBytes, hStream, kernelParams,
		      extra);
}

/* ---- occupancy, from the device's and the function's attributes ---- */

static int dev_attr(CUdevice_attribute a, int fallback)
{
	int v = 0;

	return cuDeviceGetAttribute(&v, a, 0) || v <= 0 ? fallback : v;
}

/* Resident blocks per multiprocessor of block threads with dyn bytes of
 * dynamic shared memory. */
static int blocks_per_sm(CUfunction f, int block, size_t dyn)
{
	int threads = dev_attr(
		CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, block);
	int regs_sm = dev_attr(
		CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, 0);
	int smem_sm = dev_attr(
		CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, 0);
	int max_blocks =
		dev_attr(CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, 32);
	long regs = (long)f->info.fattr[CU_FUNC_ATTRIBUTE_NUM_REGS] * block;
	long smem =
		f->info.fattr[CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES] + (long)dyn;
	int n;

	if (block <= 0 ||
	    block > f->info.fattr[CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK])
		return 0;
	n = threads / block;
	if (n > max_blocks)
		n = max_blocks;
	if (regs > 0 && regs_sm > 0 && regs_sm / regs < n)
		n = (int)(regs_sm / regs);
	if (smem > 0 && smem_sm > 0 && smem_sm / smem < n)
		n = (int)(smem_sm / smem);
	return n;
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessor(
	int *numBlocks, CUfunction func, int blockSize, size_t dynamicSMemSize)
{
	CUresult r = vg_func_check(func);

	if (!r && !numBlocks)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*numBlocks = blocks_per_sm(func, blockSize, dynamicSMemSize);
	return r;
}

CUresult CUDAAPI cuOccupancyMaxPotentialBlockSize(
	int *minGridSize, int *blockSize, CUfunction func,
	CUoccupancyB2DSize blockSizeToDynamicSMemSize, size_t dynamicSMemSize,
	int blockSizeLimit)
{
	CUresult r = vg_func_check(func);
	int warp = dev_attr(CU_DEVICE_ATTRIBUTE_WARP_SIZE, 32);
	int sms = dev_attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 1);
	int limit, b, best = 0, best_blocks = 0;
	long best_occ = 0;

	if (r)
		return r;
	if (!minGridSize || !blockSize)
		return CUDA_ERROR_INVALID_VALUE;
	limit = func->info.fattr[CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK];
	if (blockSizeLimit > 0 && blockSizeLimit < limit)
		limit = blockSizeLimit;
	for (b = warp; b <= limit; b += warp) {
		size_t dyn = blockSizeToDynamicSMemSize ?
				     blockSizeToDynamicSMemSize(b) :
				     dynamicSMemSize;
		int n = blocks_per_sm(func, b, dyn);

		/* most resident threads; the larger block on a tie */
		if (n && (long)n * b >= best_occ) {
			best = b;
			best_blocks = n;
			best_occ = (long)n * b;
		}
	}
	if (!best)
		return CUDA_ERROR_INVALID_VALUE;
	*blockSize = best;
	*minGridSize = best_blocks * sms;
	return CUDA_SUCCESS;
}
