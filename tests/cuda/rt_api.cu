// SPDX-License-Identifier: MIT
/*
 * The project's runtime-API test program: an ordinary CUDA program
 * (nvcc -cudart shared) that checks every value it gets back. It runs
 * unmodified against NVIDIA's libraries on a GPU and against the
 * project's through the vgpu device; it knows nothing of either.
 * Prints one summary line, "rt_api: PASS ..." or "rt_api: FAIL ...";
 * exit status 0 on PASS.
 */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "test_check.h"
#include "test_kernels.cuh"

#define CUDA_OK(call)                                                \
	do {                                                         \
		cudaError_t e_ = (call);                             \
		CHECK(e_ == cudaSuccess, "%s: %s (%s)", #call,       \
		      cudaGetErrorName(e_), cudaGetErrorString(e_)); \
	} while (0)

static void print_properties(void)
{
	cudaDeviceProp p;
	int n = 0, drv = 0, rt = 0;

	CUDA_OK(cudaGetDeviceCount(&n));
	CHECK(n >= 1, "device count %d", n);
	CUDA_OK(cudaSetDevice(0));
	CUDA_OK(cudaGetDeviceProperties(&p, 0));
	CUDA_OK(cudaDriverGetVersion(&drv));
	CUDA_OK(cudaRuntimeGetVersion(&rt));
	printf("device 0: %s, compute capability %d.%d, %d multiprocessors\n",
	       p.name, p.major, p.minor, p.multiProcessorCount);
	printf("  global memory %zu MiB, shared/block %zu, regs/block %d, warp %d\n",
	       p.totalGlobalMem >> 20, p.sharedMemPerBlock, p.regsPerBlock,
	       p.warpSize);
	printf("  max threads/block %d, block dims %d x %d x %d, grid dims %d x %d x %d\n",
	       p.maxThreadsPerBlock, p.maxThreadsDim[0], p.maxThreadsDim[1],
	       p.maxThreadsDim[2], p.maxGridSize[0], p.maxGridSize[1],
	       p.maxGridSize[2]);
	printf("  driver API %d, runtime %d\n", drv, rt);
	CHECK(p.name[0] != '\0', "empty device name");
	CHECK(p.totalGlobalMem > 0, "no global memory");
	CHECK(p.maxThreadsPerBlock >= 256, "max threads/block %d",
	      p.maxThreadsPerBlock);
	CHECK(p.warpSize > 0, "warp size %d", p.warpSize);
}

static void test_vec_add(void)
{
	const int n = 100003; /* not a multiple of the block */
	std::vector<float> a(n), b(n), c(n);
	float *da, *db, *dc;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		a[i] = (float)i * 0.5f;
		b[i] = (float)(n - i);
	}
	CUDA_OK(cudaMalloc(&da, n * sizeof(float)));
	CUDA_OK(cudaMalloc(&db, n * sizeof(float)));
	CUDA_OK(cudaMalloc(&dc, n * sizeof(float)));
	CUDA_OK(cudaMemcpy(da, a.data(), n * sizeof(float),
			   cudaMemcpyHostToDevice));
	CUDA_OK(cudaMemcpy(db, b.data(), n * sizeof(float),
			   cudaMemcpyHostToDevice));
	vec_add<<<(n + 255) / 256, 256>>>(da, db, dc, n);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(c.data(), dc, n * sizeof(float),
			   cudaMemcpyDeviceToHost));
	for (int i = 0; i < n; i++)
		bad += c[i] != a[i] + b[i];
	CHECK(bad == 0, "vec_add: %d of %d wrong", bad, n);
	CUDA_OK(cudaFree(da));
	CUDA_OK(cudaFree(db));
	CUDA_OK(cudaFree(dc));
}

/* Large copies both ways (several staging chunks), device to device,
 * from pageable and from pinned memory, and memset. */
static void test_copies(void)
{
	const size_t n = (9u << 20) + 4093;
	unsigned char *h = (unsigned char *)malloc(n),
		      *back = (unsigned char *)malloc(n);
	unsigned char *pinned, *d1, *d2;
	size_t bad = 0;

	for (size_t i = 0; i < n; i++)
		h[i] = (unsigned char)(i * 7 + (i >> 16));
	CUDA_OK(cudaMalloc(&d1, n));
	CUDA_OK(cudaMalloc(&d2, n));
	CUDA_OK(cudaMemcpy(d1, h, n, cudaMemcpyHostToDevice));
	CUDA_OK(cudaMemcpy(d2, d1, n, cudaMemcpyDeviceToDevice));
	memset(back, 0, n);
	CUDA_OK(cudaMemcpy(back, d2, n, cudaMemcpyDeviceToHost));
	CHECK(memcmp(h, back, n) == 0, "pageable round trip differs");

	CUDA_OK(cudaMallocHost(&pinned, n));
	memset(pinned, 0, n);
	CUDA_OK(cudaMemcpy(pinned, d1, n, cudaMemcpyDeviceToHost));
	CHECK(memcmp(h, pinned, n) == 0, "pinned D2H differs");
	for (size_t i = 0; i < n; i++)
		pinned[i] ^= 0x5a;
	CUDA_OK(cudaMemcpy(d1, pinned, n, cudaMemcpyHostToDevice));
	CUDA_OK(cudaMemcpy(back, d1, n, cudaMemcpyDeviceToHost));
	for (size_t i = 0; i < n; i++)
		bad += back[i] != (unsigned char)(h[i] ^ 0x5a);
	CHECK(bad == 0, "pinned H2D: %zu bytes wrong", bad);

	/* memset a window inside, edges untouched */
	CUDA_OK(cudaMemset(d2 + 1000, 0xab, 5000));
	CUDA_OK(cudaMemcpy(back, d2, 8192, cudaMemcpyDeviceToHost));
	bad = 0;
	for (size_t i = 0; i < 8192; i++)
		bad += back[i] != (i >= 1000 && i < 6000 ? 0xab : h[i]);
	CHECK(bad == 0, "memset: %zu bytes wrong", bad);

	CUDA_OK(cudaFreeHost(pinned));
	CUDA_OK(cudaFree(d1));
	CUDA_OK(cudaFree(d2));
	free(h);
	free(back);
}

static void test_symbol(void)
{
	const int n = 1000, bias = 12345;
	std::vector<int> in(n), out(n);
	int *din, *dout, got = 0, bad = 0;

	for (int i = 0; i < n; i++)
		in[i] = i * 3 - 500;
	CUDA_OK(cudaMemcpyToSymbol(g_bias, &bias, sizeof(bias)));
	CUDA_OK(cudaMemcpyFromSymbol(&got, g_bias, sizeof(got)));
	CHECK(got == bias, "g_bias reads back %d", got);
	CUDA_OK(cudaMalloc(&din, n * sizeof(int)));
	CUDA_OK(cudaMalloc(&dout, n * sizeof(int)));
	CUDA_OK(cudaMemcpy(din, in.data(), n * sizeof(int),
			   cudaMemcpyHostToDevice));
	add_bias<<<(n + 127) / 128, 128>>>(din, dout, n);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(out.data(), dout, n * sizeof(int),
			   cudaMemcpyDeviceToHost));
	for (int i = 0; i < n; i++)
		bad += out[i] != in[i] + bias;
	CHECK(bad == 0, "add_bias: %d of %d wrong", bad, n);
	CUDA_OK(cudaFree(din));
	CUDA_OK(cudaFree(dout));
}

static void test_params(void)
{
	long long *dout, out[7];
	double *dd, d = 0;
	pair3 p = { 7, 0.5, 3 };

	CUDA_OK(cudaMalloc(&dout, sizeof(out)));
	CUDA_OK(cudaMemset(dout, 0, sizeof(out)));
	mixed_params<<<1, 32>>>((char)-5, (short)-1234, 123456789,
				(1LL << 40) + 7, 3.25f, 2.718281828,
				(unsigned char)200, dout);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(out, dout, sizeof(out), cudaMemcpyDeviceToHost));
	CHECK(out[0] == -5, "char %lld", out[0]);
	CHECK(out[1] == -1234, "short %lld", out[1]);
	CHECK(out[2] == 123456789, "int %lld", out[2]);
	CHECK(out[3] == (1LL << 40) + 7, "long long %lld", out[3]);
	CHECK(out[4] == 3250, "float*1000 %lld", out[4]);
	CHECK(out[5] == 2718281, "double*1e6 %lld", out[5]);
	CHECK(out[6] == 200, "unsigned char %lld", out[6]);

	CUDA_OK(cudaMalloc(&dd, sizeof(double)));
	struct_param<<<1, 1>>>(p, dd);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(&d, dd, sizeof(d), cudaMemcpyDeviceToHost));
	CHECK(d == 10.5, "struct_param %f", d);
	CUDA_OK(cudaFree(dout));
	CUDA_OK(cudaFree(dd));
}

static void test_grid3d_and_shared(void)
{
	const dim3 grid(3, 2, 2), block(4, 2, 2);
	const int total = 3 * 2 * 2 * 4 * 2 * 2;
	std::vector<unsigned int> o(total);
	const int n = 1000, bs = 128, nb = (n + bs - 1) / bs;
	std::vector<int> in(n), sums(nb);
	unsigned int *dio;
	int *din, *dsum, bad = 0;

	CUDA_OK(cudaMalloc(&dio, total * sizeof(unsigned int)));
	iota3d<<<grid, block>>>(dio);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(o.data(), dio, total * sizeof(unsigned int),
			   cudaMemcpyDeviceToHost));
	for (int i = 0; i < total; i++)
		bad += o[i] != (unsigned int)i;
	CHECK(bad == 0, "iota3d: %d of %d wrong", bad, total);

	for (int i = 0; i < n; i++)
		in[i] = i % 17 - 3;
	CUDA_OK(cudaMalloc(&din, n * sizeof(int)));
	CUDA_OK(cudaMalloc(&dsum, nb * sizeof(int)));
	CUDA_OK(cudaMemcpy(din, in.data(), n * sizeof(int),
			   cudaMemcpyHostToDevice));
	block_sum<<<nb, bs, bs * sizeof(int)>>>(din, dsum, n);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(sums.data(), dsum, nb * sizeof(int),
			   cudaMemcpyDeviceToHost));
	bad = 0;
	for (int b = 0; b < nb; b++) {
		int want = 0;

		for (int i = b * bs; i < (b + 1) * bs && i < n; i++)
			want += in[i];
		bad += sums[b] != want;
	}
	CHECK(bad == 0, "block_sum: %d of %d blocks wrong", bad, nb);
	CUDA_OK(cudaFree(dio));
	CUDA_OK(cudaFree(din));
	CUDA_OK(cudaFree(dsum));
}

static void test_c_linkage(void)
{
	const int n = 777;
	std::vector<int> o(n);
	int *d, bad = 0;

	CUDA_OK(cudaMalloc(&d, n * sizeof(int)));
	c_linkage_fill<<<(n + 63) / 64, 64>>>(d, 42, n);
	CUDA_OK(cudaGetLastError());
	CUDA_OK(cudaMemcpy(o.data(), d, n * sizeof(int),
			   cudaMemcpyDeviceToHost));
	for (int i = 0; i < n; i++)
		bad += o[i] != 42;
	CHECK(bad == 0, "c_linkage_fill: %d of %d wrong", bad, n);
	CUDA_OK(cudaFree(d));
}

/* Two streams, an event between them, async copies from pinned memory,
 * elapsed time; then the legacy default stream's ordering after a
 * blocking stream, with no explicit synchronisation. */
static void test_streams_events(void)
{
	const int n = 1 << 16;
	cudaStream_t s1, s2;
	cudaEvent_t start, stop, ready;
	float *hx, *hy, *dx, *dy, *dz, ms = -1.0f;
	int bad = 0;

	CUDA_OK(cudaStreamCreate(&s1));
	CUDA_OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
	CUDA_OK(cudaEventCreate(&start));
	CUDA_OK(cudaEventCreate(&stop));
	CUDA_OK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
	CUDA_OK(cudaMallocHost(&hx, n * sizeof(float)));
	CUDA_OK(cudaMallocHost(&hy, n * sizeof(float)));
	CUDA_OK(cudaMalloc(&dx, n * sizeof(float)));
	CUDA_OK(cudaMalloc(&dy, n * sizeof(float)));
	CUDA_OK(cudaMalloc(&dz, n * sizeof(float)));
	for (int i = 0; i < n; i++) {
		hx[i] = (float)(i % 1000);
		hy[i] = 1.0f;
	}
	CUDA_OK(cudaEventRecord(start, s1));
	CUDA_OK(cudaMemcpyAsync(dx, hx, n * sizeof(float),
				cudaMemcpyHostToDevice, s1));
	scale_offset<<<n / 256, 256, 0, s1>>>(dx, 2.0f, 1.0f, n);
	CUDA_OK(cudaEventRecord(ready, s1));
	CUDA_OK(cudaMemcpyAsync(dy, hy, n * sizeof(float),
				cudaMemcpyHostToDevice, s2));
	CUDA_OK(cudaStreamWaitEvent(s2, ready, 0));
	vec_add<<<n / 256, 256, 0, s2>>>(dx, dy, dz, n);
	CUDA_OK(cudaMemcpyAsync(hy, dz, n * sizeof(float),
				cudaMemcpyDeviceToHost, s2));
	CUDA_OK(cudaEventRecord(stop, s1));
	CUDA_OK(cudaStreamSynchronize(s2));
	CUDA_OK(cudaEventSynchronize(stop));
	CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
	printf("streams: elapsed %.3f ms\n", ms);
	CHECK(ms >= 0.0f && std::isfinite(ms), "elapsed time %f", ms);
	for (int i = 0; i < n; i++)
		bad += hy[i] != (float)(i % 1000) * 2.0f + 2.0f;
	CHECK(bad == 0, "stream chain: %d of %d wrong", bad, n);
	CUDA_OK(cudaStreamQuery(s1));
	CUDA_OK(cudaStreamQuery(s2));
	CUDA_OK(cudaEventQuery(stop));

	/* blocking stream, then a legacy-stream copy: it waits */
	scale_offset<<<n / 256, 256, 0, s1>>>(dx, 0.0f, 7.0f, n);
	CUDA_OK(cudaMemcpy(hx, dx, n * sizeof(float), cudaMemcpyDeviceToHost));
	bad = 0;
	for (int i = 0; i < n; i++)
		bad += hx[i] != 7.0f;
	CHECK(bad == 0, "legacy stream ordering: %d of %d wrong", bad, n);

	CUDA_OK(cudaEventDestroy(start));
	CUDA_OK(cudaEventDestroy(stop));
	CUDA_OK(cudaEventDestroy(ready));
	CUDA_OK(cudaStreamDestroy(s1));
	CUDA_OK(cudaStreamDestroy(s2));
	CUDA_OK(cudaFreeHost(hx));
	CUDA_OK(cudaFreeHost(hy));
	CUDA_OK(cudaFree(dx));
	CUDA_OK(cudaFree(dy));
	CUDA_OK(cudaFree(dz));
}

static void test_errors_and_attributes(void)
{
	cudaFuncAttributes fa;
	size_t free_b = 0, total_b = 0;

	CUDA_OK(cudaFuncGetAttributes(&fa, vec_add));
	CHECK(fa.maxThreadsPerBlock > 0, "vec_add max threads/block %d",
	      fa.maxThreadsPerBlock);
	CUDA_OK(cudaMemGetInfo(&free_b, &total_b));
	CHECK(total_b > 0 && free_b <= total_b, "mem info %zu of %zu", free_b,
	      total_b);
	/* a launch with an empty block is refused (cudaErrorInvalidValue, as
	 * NVIDIA's runtime says on an H200), and remembered once */
	null_kernel<<<1, 0>>>();
	CHECK(cudaPeekAtLastError() == cudaErrorInvalidValue, "empty block: %s",
	      cudaGetErrorName(cudaPeekAtLastError()));
	CHECK(cudaGetLastError() == cudaErrorInvalidValue,
	      "last error not kept");
	CHECK(cudaGetLastError() == cudaSuccess, "last error not cleared");
	CHECK(strcmp(cudaGetErrorName(cudaErrorInvalidValue),
		     "cudaErrorInvalidValue") == 0,
	      "error name");
	CHECK(cudaGetErrorString(cudaErrorInvalidValue) != NULL,
	      "error string");
	null_kernel<<<1, 1>>>();
	CUDA_OK(cudaDeviceSynchronize());
}

int main(void)
{
	print_properties();
	test_vec_add();
	test_copies();
	test_symbol();
	test_params();
	test_grid3d_and_shared();
	test_c_linkage();
	test_streams_events();
	test_errors_and_attributes();
	return check_summary("rt_api");
}
