// SPDX-License-Identifier: MIT
/*
 * Figures, not a test: an ordinary runtime-API program (nvcc -cudart
 * shared) that times what a CUDA stack costs per call. It runs
 * unmodified on NVIDIA's libraries (the native reference) and on the
 * project's (tests/cuda/bench-cuda.sh: through loopback).
 *   null launch + synchronize  median and 99th percentile, microseconds
 *   asynchronous launches      back to back on one stream, per second
 *   copies H2D / D2H           pinned and pageable, 1 MiB and 16 MiB, GB/s
 *   bench_cuda [SCALE [launches]]   (launches: the asynchronous ones only)
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "test_kernels.cuh"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static bool ok(cudaError_t e, const char *what)
{
	if (e != cudaSuccess)
		printf("bench_cuda: %s: %s\n", what, cudaGetErrorString(e));
	return e == cudaSuccess;
}

static void round_trip(int n)
{
	std::vector<double> t(n);

	for (int i = 0; i < 100; i++)
		null_kernel<<<1, 1>>>();
	if (!ok(cudaDeviceSynchronize(), "warm-up"))
		return;
	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		null_kernel<<<1, 1>>>();
		cudaStreamSynchronize(0);
		t[i] = now_us() - t0;
	}
	std::sort(t.begin(), t.end());
	printf("%-34s %10.2f us  (p99 %.2f us, %d runs)\n",
	       "null launch + synchronize", t[n / 2], t[n * 99 / 100], n);
}

static void async_launches(int n)
{
	double t0 = now_us(), dt;

	for (int i = 0; i < n; i++)
		null_kernel<<<1, 1>>>();
	if (!ok(cudaDeviceSynchronize(), "async launches"))
		return;
	dt = now_us() - t0;
	printf("%-34s %10.0f /s  (%.2f us each, %d launches)\n",
	       "asynchronous launches", n / dt * 1e6, dt / n, n);
}

/* Best of five, GB/s. */
static double copy_gbs(void *dst, const void *src, size_t n, cudaMemcpyKind k)
{
	double best = 1e30;

	for (int i = 0; i < 5; i++) {
		double t0 = now_us();

		if (!ok(cudaMemcpy(dst, src, n, k), "copy"))
			return 0;
		best = std::min(best, now_us() - t0);
	}
	return n / best / 1e3;
}

static void copies(size_t n)
{
	char *pinned, *pageable = (char *)malloc(n), *d;

	if (!ok(cudaMallocHost(&pinned, n), "cudaMallocHost") ||
	    !ok(cudaMalloc(&d, n), "cudaMalloc"))
		return;
	memset(pinned, 1, n);
	memset(pageable, 2, n);
	printf("%-22s %5zu MiB %10.2f / %.2f GB/s (H2D / D2H)\n", "copies, pinned",
	       n >> 20, copy_gbs(d, pinned, n, cudaMemcpyHostToDevice),
	       copy_gbs(pinned, d, n, cudaMemcpyDeviceToHost));
	printf("%-22s %5zu MiB %10.2f / %.2f GB/s (H2D / D2H)\n", "copies, pageable",
	       n >> 20, copy_gbs(d, pageable, n, cudaMemcpyHostToDevice),
	       copy_gbs(pageable, d, n, cudaMemcpyDeviceToHost));
	cudaFreeHost(pinned);
	cudaFree(d);
	free(pageable);
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 1;
	cudaDeviceProp p;

	if (!ok(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties"))
		return 1;
	printf("bench_cuda on %s\n", p.name);
	if (argc > 2 && !strcmp(argv[2], "launches")) {
		async_launches(20000 * scale);
		return 0;
	}
	round_trip(2000 * scale);
	async_launches(20000 * scale);
	copies(1u << 20);
	copies(16u << 20);
	return 0;
}
