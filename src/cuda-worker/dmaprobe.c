// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker --dma-probe [INDEX]: a diagnostic, not a service. Times,
 * inside one worker process and with no ring in the way, the GPU's copies
 * from the driver's own pinned memory (cuMemAllocHost, what a native
 * program's pinned copies use) and from a memfd mapping registered with
 * cuMemHostRegister (what the worker's zero-copy DMA uses), by timing
 * events around each copy and by the host's clock around a synchronous
 * one. Prints "R dma_<memory>_<dir>_<size>M_GBs value" lines. If the two
 * differ, zero-copy is as fast as the registration lets it be; if they
 * agree, a gap between the backend and native lies elsewhere.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker.h"

#define DMA_BYTES (64ull << 20)
#define DMA_REPS 7

static int cmp_f(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* The median of DMA_REPS copies, by events and by the clock; GB/s. */
static void time_copies(const char *what, void *h, CUdeviceptr d, uint64_t n,
			bool h2d, CUstream st)
{
	float ms[DMA_REPS], wall[DMA_REPS];
	CUevent a, b;

	cuEventCreate(&a, CU_EVENT_DEFAULT);
	cuEventCreate(&b, CU_EVENT_DEFAULT);
	for (int i = -1; i < DMA_REPS; i++) {
		uint64_t t0 = wk_now_ns();

		cuEventRecord(a, st);
		if (h2d)
			cuMemcpyHtoDAsync(d, h, n, st);
		else
			cuMemcpyDtoHAsync(h, d, n, st);
		cuEventRecord(b, st);
		cuStreamSynchronize(st);
		if (i < 0)
			continue;
		wall[i] = (float)(wk_now_ns() - t0) / 1e6f;
		if (cuEventElapsedTime(&ms[i], a, b) != CUDA_SUCCESS)
			ms[i] = 0;
	}
	qsort(ms, DMA_REPS, sizeof(ms[0]), cmp_f);
	qsort(wall, DMA_REPS, sizeof(wall[0]), cmp_f);
	printf("R dma_%s_%s_%lluM_GBs %.1f\n", what, h2d ? "h2d" : "d2h",
	       (unsigned long long)(n >> 20),
	       ms[DMA_REPS / 2] > 0 ? (double)n / ms[DMA_REPS / 2] / 1e6 : 0);
	printf("R dma_%s_%s_%lluM_wall_GBs %.1f\n", what, h2d ? "h2d" : "d2h",
	       (unsigned long long)(n >> 20),
	       (double)n / wall[DMA_REPS / 2] / 1e6);
	cuEventDestroy(a);
	cuEventDestroy(b);
}

static void time_all(const char *what, void *h, CUdeviceptr d, CUstream st)
{
	memset(h, 1, DMA_BYTES);
	for (int big = 0; big < 2; big++)
		for (int dir = 0; dir < 2; dir++)
			time_copies(what, h, d, big ? DMA_BYTES : 16ull << 20,
				    !dir, st);
}

int wk_dma_probe(const char *gpu)
{
	CUcontext ctx;
	CUdevice dev;
	CUdeviceptr d;
	CUstream st;
	void *pinned, *mem;
	int fd, n = 0;

	if (cuInit(0) != CUDA_SUCCESS || cuDeviceGetCount(&n) != CUDA_SUCCESS ||
	    !n || cuDeviceGet(&dev, gpu && *gpu ? atoi(gpu) : 0) ||
	    cuCtxCreate(&ctx, NULL, CU_CTX_SCHED_AUTO, dev) != CUDA_SUCCESS ||
	    cuStreamCreate(&st, CU_STREAM_NON_BLOCKING) != CUDA_SUCCESS ||
	    cuMemAlloc(&d, DMA_BYTES) != CUDA_SUCCESS) {
		fprintf(stderr, "dma-probe: no CUDA device\n");
		return 1;
	}
	if (cuMemAllocHost(&pinned, DMA_BYTES) == CUDA_SUCCESS) {
		time_all("pinned", pinned, d, st);
		cuMemFreeHost(pinned);
	}
	fd = memfd_create("dma-probe", MFD_CLOEXEC);
	mem = fd >= 0 && ftruncate(fd, DMA_BYTES) == 0 ?
		      mmap(NULL, DMA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0) :
		      MAP_FAILED;
	if (mem != MAP_FAILED) {
		memset(mem, 1, DMA_BYTES); /* the pages exist, as a guest's */
		if (cuMemHostRegister(mem, DMA_BYTES, 0) == CUDA_SUCCESS) {
			time_all("memfd_registered", mem, d, st);
			cuMemHostUnregister(mem);
		}
		time_all("memfd_pageable", mem, d, st);
		munmap(mem, DMA_BYTES);
	}
	if (fd >= 0)
		close(fd);
	fflush(stdout);
	cuCtxDestroy(ctx);
	return 0;
}
