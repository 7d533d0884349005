/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake of the CUDA driver API calls vgpu-cuda-worker makes, linked
 * into a test build of the worker instead of libcuda, so that make check
 * runs every line of the worker and the proxy without a GPU.
 *
 * The fake GPU: device memory is host memory at made-up device addresses;
 * each context has one executor thread that runs its queued operations
 * (all streams in one order); kernels are C twins of the project's test
 * kernels (tests/cuda/test_kernels.cuh), found in a module image by their
 * (mangled) names; a kernel touching memory outside the context's
 * allocations faults with CUDA_ERROR_ILLEGAL_ADDRESS, which, as in the
 * real driver, poisons the whole process: every context answers it from
 * then on and no new context is made until the process exits.
 *
 * Knobs (environment, read by cuInit):
 *   FAKECUDA_NO_DEVICE=1        cuInit fails with CUDA_ERROR_NO_DEVICE
 *   FAKECUDA_NO_DEVICE_IF=path  ... if that file exists
 *   FAKECUDA_DEVICES=n          devices (default 1)
 *   FAKECUDA_MEM=bytes          device memory (default 1 GiB)
 *   FAKECUDA_CTX_MEM=bytes      what a context takes (default 64 MiB)
 *   FAKECUDA_DEVSTATE=path      the device's memory is shared by the
 *                               processes that name the same file (a
 *                               process that is gone holds none)
 *   FAKECUDA_CTX_FAIL_IF=path   no context while that file exists
 *   FAKECUDA_FREE_DRIFT=1       the free memory cuMemGetInfo says shrinks
 *                               by 1 MiB more each call (another tenant)
 *   FAKECUDA_CLEAN_ALLOC=1      cuMemAlloc returns zeros (default: 0xdb,
 *                               as if another tenant's data)
 *   FAKECUDA_REGISTER_FAIL=1    cuMemHostRegister fails
 *   FAKECUDA_CRASH_KERNEL=name  launching it aborts the process
 *   FAKECUDA_HANG_DESTROY=1     cuCtxDestroy of a context whose kernel
 *                               runs never returns
 *   FAKECUDA_NO_PARAMINFO=1     cuFuncGetParamInfo is not supported
 *   FAKECUDA_JIT_MS=ms          a PTX compile takes this long
 *   FAKECUDA_TRACE=path         append a line per notable call
 */
#ifndef FAKECUDA_H
#define FAKECUDA_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

struct fk_ctx;

/* Device memory of the current launch's context: the host address of
 * [d, d + len), or NULL (the kernel faults). */
void *fk_dev(struct fk_ctx *c, CUdeviceptr d, uint64_t len);
/* Simulated run time of a kernel; returns early if the context dies. */
void fk_spin(struct fk_ctx *c, uint64_t ns);

struct fk_kernel;

struct fk_launch {
	const struct fk_kernel *k;
	struct fk_ctx *ctx;
	unsigned int grid[3], block[3], shmem;
	const uint8_t *params;
	size_t plen;
	CUdeviceptr global; /* the module's g_bias, or 0 */
};

struct fk_kernel {
	const char *name;
	uint32_t nparams;
	uint32_t off[8], size[8];
	/* CUDA_SUCCESS or the error the kernel causes */
	CUresult (*run)(const struct fk_launch *l);
};

extern const struct fk_kernel fk_kernels[];
extern const unsigned int fk_nkernels;

#endif
