// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-bench FATBIN [SYNC_N [ASYNC_N]]: the lab's CUDA figures, an
 * ordinary driver-API program on the guest's libcuda.so.1 (the project's,
 * through /dev/vgpu_stub): null launch + synchronize round trips (median
 * and 99th percentile of SYNC_N), asynchronous null launches per second
 * (ASYNC_N, then one synchronize), and the doorbells the guest driver
 * rang meanwhile: VGPU_IOC_STATS on a file of its own, which counts the
 * MMIO doorbell writes of every session (this process is the guest's only
 * user while it runs). Prints "CUDA-BENCH: key=value ..." lines and
 * "CUDA-BENCH-RESULT: PASS" or "FAIL reason".
 */
#include <cuda.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/vgpu_stub_uapi.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fail(const char *what, CUresult rc)
{
	const char *n = NULL;

	cuGetErrorName(rc, &n);
	printf("CUDA-BENCH-RESULT: FAIL %s: %s\n", what, n ? n : "?");
	exit(1);
}

#define CK(call)                          \
	do {                              \
		CUresult rc_ = (call);    \
		if (rc_ != CUDA_SUCCESS)  \
			fail(#call, rc_); \
	} while (0)

static void *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *p;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0) {
		printf("CUDA-BENCH-RESULT: FAIL cannot read %s\n", path);
		exit(1);
	}
	rewind(f);
	p = malloc((size_t)n);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		printf("CUDA-BENCH-RESULT: FAIL cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return p;
}

static struct vgpu_ioc_stats stats(int fd)
{
	struct vgpu_ioc_stats s;

	memset(&s, 0, sizeof(s));
	if (fd >= 0 && ioctl(fd, VGPU_IOC_STATS, &s) < 0) {
		perror("VGPU_IOC_STATS");
		exit(1);
	}
	return s;
}

static CUresult null_launch(CUfunction k)
{
	return cuLaunchKernel(k, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
}

static void round_trips(CUfunction k, int n)
{
	double *t = calloc((size_t)n, sizeof(*t)), t0;
	int i;

	for (i = 0; i < n / 10 + 1; i++) { /* warm up */
		CK(null_launch(k));
		CK(cuCtxSynchronize());
	}
	for (i = 0; i < n; i++) {
		t0 = now();
		CK(null_launch(k));
		CK(cuCtxSynchronize());
		t[i] = now() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_d);
	printf("CUDA-BENCH: null_launch_sync_us=%.1f p99_us=%.1f n=%d\n",
	       t[n / 2] * 1e6, t[n * 99 / 100] * 1e6, n);
	free(t);
}

int main(int argc, char **argv)
{
	int sync_n = argc > 2 ? atoi(argv[2]) : 500;
	long async_n = argc > 3 ? atol(argv[3]) : 20000, i;
	struct vgpu_ioc_stats s0, s1;
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction k;
	double t0, dt, per;
	int fd;

	if (argc < 2 || sync_n < 1 || async_n < 1) {
		fprintf(stderr,
			"usage: vgpu-cuda-bench FATBIN [SYNC_N [ASYNC_N]]\n");
		return 2;
	}
	/* through loopback (VGPU_LOOPBACK, a test outside the lab) there is
	 * no driver to count doorbells */
	fd = open("/dev/vgpu_stub", O_RDWR);
	if (fd < 0 && !getenv("VGPU_LOOPBACK")) {
		perror("/dev/vgpu_stub");
		return 1;
	}
	CK(cuInit(0));
	CK(cuDeviceGet(&dev, 0));
	CK(cuCtxCreate(&ctx, NULL, 0, dev));
	CK(cuModuleLoadData(&mod, slurp(argv[1])));
	CK(cuModuleGetFunction(&k, mod, "_Z11null_kernelv"));
	round_trips(k, sync_n);
	s0 = stats(fd);
	t0 = now();
	for (i = 0; i < async_n; i++)
		CK(null_launch(k));
	CK(cuCtxSynchronize());
	dt = now() - t0;
	s1 = stats(fd);
	per = (double)(s1.doorbells - s0.doorbells) / async_n;
	printf("CUDA-BENCH: async_launch_per_s=%.0f launches=%ld doorbells=%llu doorbells_per_launch=%.4f waits=%llu\n",
	       async_n / dt, async_n,
	       (unsigned long long)(s1.doorbells - s0.doorbells), per,
	       (unsigned long long)(s1.waits - s0.waits));
	CK(cuCtxDestroy(ctx));
	if (fd < 0) {
		printf("CUDA-BENCH-RESULT: PASS (no driver: doorbells not counted)\n");
		return 0;
	}
	if (per < 0.05)
		printf("CUDA-BENCH-RESULT: PASS\n");
	else
		printf("CUDA-BENCH-RESULT: FAIL %.4f doorbells per launch (target < 0.05)\n",
		       per);
	return per >= 0.05;
}
