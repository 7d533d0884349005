// SPDX-License-Identifier: MIT
/*
 * bench_cuda: the CUDA stack's benchmark, an ordinary CUDA driver-API
 * program. One run prints native and mediated figures side by side: it
 * starts itself as child processes, natively (NVIDIA's libcuda) and
 * through the project's libraries (LD_LIBRARY_PATH=guest library dir,
 * VGPU_LOOPBACK=socket: each process is a loopback VM), and prints one
 * table (issue 10's). With --no-native it prints the mediated column
 * alone: make bench-cuda, through loopback with the CPU backend
 * (tests/cuda/bench-cuda.sh, issue 9's figures). The same program also
 * serves the GPU checks (fault, quota, work modes). See
 * tools/gpu-check.sh.
 *
 *   bench_cuda table --cubin F [--guestlib DIR --socket S] [--seconds N]
 *                    [--matmul N] [--no-native 1]
 *   bench_cuda run --cubin F          the single-process figures
 *   bench_cuda launches --cubin F --n N   asynchronous launches alone
 *   bench_cuda stream --cubin F --iters I --ms D   (waits for a line on
 *                                     stdin, then streams kernels for D ms)
 *   bench_cuda fault|quota|work --cubin F [--ms D]
 * Children print "R key value" lines.
 */
#include <cuda.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_cuda.h"

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void res(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("R %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define CK(call)                                                           \
	do {                                                               \
		CUresult rc_ = (call);                                     \
		if (rc_ != CUDA_SUCCESS) {                                 \
			const char *n_ = NULL;                             \
			cuGetErrorName(rc_, &n_);                          \
			fprintf(stderr, "%s:%d: %s: %s (%d)\n", __FILE__,  \
				__LINE__, #call, n_ ? n_ : "?", (int)rc_); \
			exit(2);                                           \
		}                                                          \
	} while (0)

struct gpu {
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction null_k, spin_k, matmul_k, vec_add_k, poke_k;
	int sms;
	double t_load_first;
	double t_open; /* cuInit to the module's functions */
};

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void gpu_open(struct gpu *g, const char *cubin)
{
	size_t len;
	void *img = slurp(cubin, &len);
	double t0, t_open = now();

	CK(cuInit(0));
	CK(cuDeviceGet(&g->dev, 0));
	CK(cuCtxCreate(&g->ctx, NULL, 0, g->dev));
	CK(cuDeviceGetAttribute(
		&g->sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, g->dev));
	t0 = now();
	CK(cuModuleLoadData(&g->mod, img));
	g->t_load_first = now() - t0;
	free(img);
	CK(cuModuleGetFunction(&g->null_k, g->mod, "_Z11null_kernelv"));
	CK(cuModuleGetFunction(&g->spin_k, g->mod, "_Z4spinxPi"));
	CK(cuModuleGetFunction(&g->matmul_k, g->mod, "_Z6matmulPKfS0_Pfi"));
	CK(cuModuleGetFunction(&g->vec_add_k, g->mod, "_Z7vec_addPKfS0_Pfi"));
	CK(cuModuleGetFunction(&g->poke_k, g->mod, "_Z4pokePii"));
	g->t_open = now() - t_open;
}

static CUresult null_launch(struct gpu *g)
{
	return cuLaunchKernel(g->null_k, 1, 1, 1, 1, 1, 1, 0, NULL, NULL, NULL);
}

static CUresult sync0(void)
{
	CUresult rc = cuStreamSynchronize(NULL);

	return rc == CUDA_ERROR_NOT_SUPPORTED ? cuCtxSynchronize() : rc;
}

static void bench_launch(struct gpu *g)
{
	enum { N = 20000, ASYNC = 100000 };
	double *t = malloc(N * sizeof(*t)), t0, best = 1e9;

	for (int i = 0; i < 2000; i++) {
		CK(null_launch(g));
		CK(sync0());
	}
	for (int i = 0; i < N; i++) {
		t0 = now();
		CK(null_launch(g));
		CK(sync0());
		t[i] = now() - t0;
	}
	res("null_launch_sync_us", "%.2f", median(t, N) * 1e6);
	res("null_launch_sync_p99_us", "%.2f", t[N * 99 / 100] * 1e6);
	for (int r = 0; r < 3; r++) {
		t0 = now();
		for (int i = 0; i < ASYNC; i++)
			CK(null_launch(g));
		CK(sync0());
		t0 = now() - t0;
		if (t0 < best)
			best = t0;
	}
	res("async_launch_per_s", "%.0f", ASYNC / best);
	free(t);
}

static double copy_gbs(void *h, CUdeviceptr d, size_t n, int h2d, int reps)
{
	double t[64], t0;

	for (int i = 0; i < reps + 2; i++) {
		t0 = now();
		if (h2d)
			CK(cuMemcpyHtoD(d, h, n));
		else
			CK(cuMemcpyDtoH(h, d, n));
		if (i >= 2)
			t[i - 2] = now() - t0;
	}
	return n / median(t, reps) / 1e9;
}

static void bench_copies(void)
{
	size_t big = 64u << 20, sizes[] = { 1u << 20, 16u << 20 };
	CUdeviceptr d;
	void *pinned = NULL;
	char *pageable = malloc(big);
	CUresult rc;

	memset(pageable, 1, big);
	CK(cuMemAlloc(&d, big));
	rc = cuMemAllocHost(&pinned, big);
	if (rc != CUDA_SUCCESS)
		rc = cuMemAllocHost(&pinned, 16u << 20); /* a smaller pool */
	if (rc == CUDA_SUCCESS) {
		memset(pinned, 1, 16u << 20);
		res("pinned_h2d_16M_GBs", "%.1f",
		    copy_gbs(pinned, d, 16u << 20, 1, 20));
		res("pinned_d2h_16M_GBs", "%.1f",
		    copy_gbs(pinned, d, 16u << 20, 0, 20));
		cuMemFreeHost(pinned);
	}
	if (cuMemAllocHost(&pinned, big) == CUDA_SUCCESS) {
		memset(pinned, 1, big);
		res("pinned_h2d_64M_GBs", "%.1f",
		    copy_gbs(pinned, d, big, 1, 10));
		res("pinned_d2h_64M_GBs", "%.1f",
		    copy_gbs(pinned, d, big, 0, 10));
		cuMemFreeHost(pinned);
	}
	for (int i = 0; i < 2; i++) {
		char k[64];

		snprintf(k, sizeof(k), "pageable_h2d_%zuM_GBs", sizes[i] >> 20);
		res(k, "%.1f", copy_gbs(pageable, d, sizes[i], 1, 20));
		snprintf(k, sizeof(k), "pageable_d2h_%zuM_GBs", sizes[i] >> 20);
		res(k, "%.1f", copy_gbs(pageable, d, sizes[i], 0, 20));
	}
	CK(cuMemFree(d));
	free(pageable);
}

static void bench_module(const char *cubin)
{
	enum { N = 200 };
	size_t len;
	void *img = slurp(cubin, &len);
	double t[N], t0;
	CUmodule m;

	for (int i = 0; i < N; i++) {
		t0 = now();
		CK(cuModuleLoadData(&m, img));
		t[i] = now() - t0;
		CK(cuModuleUnload(m));
	}
	res("cubin_load_us", "%.1f", median(t, N) * 1e6);
	res("cubin_bytes", "%zu", len);
	free(img);
}

static void bench_matmul(struct gpu *g, int n)
{
	size_t bytes = (size_t)n * n * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
	CUdeviceptr da, db, dc;
	void *args[] = { &da, &db, &dc, &n };
	double t[5], maxerr = 0;

	srand(7);
	for (size_t i = 0; i < (size_t)n * n; i++) {
		a[i] = (float)rand() / RAND_MAX - 0.5f;
		b[i] = (float)rand() / RAND_MAX - 0.5f;
	}
	CK(cuMemAlloc(&da, bytes));
	CK(cuMemAlloc(&db, bytes));
	CK(cuMemAlloc(&dc, bytes));
	CK(cuMemcpyHtoD(da, a, bytes));
	CK(cuMemcpyHtoD(db, b, bytes));
	for (int r = -1; r < 5; r++) {
		double t0 = now();

		CK(cuLaunchKernel(g->matmul_k, n / 16, n / 16, 1, 16, 16, 1, 0,
				  NULL, args, NULL));
		CK(sync0());
		if (r >= 0)
			t[r] = now() - t0;
	}
	CK(cuMemcpyDtoH(c, dc, bytes));
	for (int k = 0; k < 16; k++) {
		int r = (k * 997) % n, col = (k * 2029) % n;
		double ref = 0;

		for (int i = 0; i < n; i++)
			ref += (double)a[r * n + i] * b[i * n + col];
		if (fabs(c[r * n + col] - ref) > maxerr)
			maxerr = fabs(c[r * n + col] - ref);
	}
	res("matmul_n", "%d", n);
	res("matmul_ms", "%.3f", median(t, 5) * 1e3);
	res("matmul_maxerr", "%.2e", maxerr);
	cuMemFree(da);
	cuMemFree(db);
	cuMemFree(dc);
	free(a);
	free(b);
	free(c);
}

static void spin_launch(struct gpu *g, long long iters)
{
	CUdeviceptr none = 0;
	void *args[] = { &iters, &none };

	CK(cuLaunchKernel(g->spin_k, (unsigned int)(g->sms * 4), 1, 1, 256, 1,
			  1, 0, NULL, args, NULL));
}

/* spin iterations for about 1 ms of a full GPU */
static void calibrate(struct gpu *g)
{
	long long iters = 20000;
	double t0, t;

	for (;;) {
		spin_launch(g, iters);
		CK(sync0());
		t0 = now();
		spin_launch(g, iters);
		CK(sync0());
		t = now() - t0;
		if (t > 2e-4 || iters > (1ll << 40))
			break;
		iters *= 4;
	}
	res("spin_iters_1ms", "%lld", (long long)(iters * 1e-3 / t));
}

void mode_run(const struct opts *o)
{
	struct gpu g;

	gpu_open(&g, o->cubin);
	res("first_module_load_us", "%.1f", g.t_load_first * 1e6);
	res("open_ms", "%.1f", g.t_open * 1e3);
	bench_launch(&g);
	bench_copies();
	bench_module(o->cubin);
	bench_matmul(&g, o->matmul);
	calibrate(&g);
	CK(cuCtxDestroy(g.ctx));
}

void mode_stream(const struct opts *o)
{
	struct gpu g;
	char line[16];
	long n = 0;
	double t0, t;

	gpu_open(&g, o->cubin);
	spin_launch(&g, o->iters);
	CK(sync0());
	printf("READY\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		exit(2);
	t0 = now();
	do {
		for (int i = 0; i < 8; i++)
			spin_launch(&g, o->iters);
		CK(sync0());
		n += 8;
		t = now() - t0;
	} while (t * 1e3 < o->ms);
	res("stream_kernels_per_s", "%.1f", n / t);
	CK(cuCtxDestroy(g.ctx));
}

/* Asynchronous launches alone (the daemon's doorbells per launch). */
void mode_launches(const struct opts *o)
{
	struct gpu g;
	double t0;

	gpu_open(&g, o->cubin);
	t0 = now();
	for (long i = 0; i < o->launches; i++)
		CK(null_launch(&g));
	CK(sync0());
	res("async_launch_per_s", "%.0f", o->launches / (now() - t0));
	res("launches", "%ld", o->launches);
	CK(cuCtxDestroy(g.ctx));
}

/* vec_add over and over for @ms, checking every result */
void mode_work(const struct opts *o)
{
	struct gpu g;
	int n = 1 << 20;
	size_t bytes = n * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
	CUdeviceptr da, db, dc;
	void *args[] = { &da, &db, &dc, &n };
	long rounds = 0, bad = 0;
	double t0;

	gpu_open(&g, o->cubin);
	CK(cuMemAlloc(&da, bytes));
	CK(cuMemAlloc(&db, bytes));
	CK(cuMemAlloc(&dc, bytes));
	t0 = now();
	do {
		for (int i = 0; i < n; i++) {
			a[i] = (float)(i + rounds);
			b[i] = (float)(2 * i);
		}
		CK(cuMemcpyHtoD(da, a, bytes));
		CK(cuMemcpyHtoD(db, b, bytes));
		CK(cuLaunchKernel(g.vec_add_k, (unsigned int)(n / 256), 1, 1,
				  256, 1, 1, 0, NULL, args, NULL));
		CK(cuMemcpyDtoH(c, dc, bytes));
		for (int i = 0; i < n; i++)
			bad += c[i] != (float)(3 * i + rounds);
		if (rounds++ == 0) {
			printf("WORKING\n"); /* the first round is done */
			fflush(stdout);
		}
	} while ((now() - t0) * 1e3 < o->ms);
	res("work_rounds", "%ld", rounds);
	res("work_bad", "%ld", bad);
	printf(bad ? "WORK FAIL\n" : "WORK OK\n");
}

static const char *ename(CUresult rc)
{
	const char *n = NULL;

	cuGetErrorName(rc, &n);
	return n ? n : "?";
}

/* a kernel that writes where nothing is allocated */
void mode_fault(const struct opts *o)
{
	struct gpu g;
	CUdeviceptr bad = 0x1000, d;
	int v = 1;
	void *args[] = { &bad, &v };
	CUresult l, s, after;

	gpu_open(&g, o->cubin);
	l = cuLaunchKernel(g.poke_k, 1, 1, 1, 1, 1, 1, 0, NULL, args, NULL);
	s = sync0();
	after = cuMemAlloc(&d, 4096);
	res("fault_launch", "%s", ename(l));
	res("fault_sync", "%s", ename(s));
	res("fault_after", "%s", ename(after));
	printf(s != CUDA_SUCCESS && after != CUDA_SUCCESS ? "FAULT REPORTED\n" :
							    "FAULT MISSED\n");
}

/* more than the device has: refused; then it still works */
void mode_quota(const struct opts *o)
{
	struct gpu g;
	CUdeviceptr d;
	size_t fr = 0, total = 0;
	CUresult big, small, again;

	gpu_open(&g, o->cubin);
	CK(cuMemGetInfo(&fr, &total));
	big = cuMemAlloc(&d, total + (1ull << 30));
	small = cuMemAlloc(&d, 64u << 20);
	if (small == CUDA_SUCCESS)
		cuMemFree(d);
	again = cuMemAlloc(&d, 64u << 20);
	res("quota_total_MiB", "%zu", total >> 20);
	res("quota_over", "%s", ename(big));
	res("quota_small", "%s", ename(small));
	res("quota_again", "%s", ename(again));
	printf(big == CUDA_ERROR_OUT_OF_MEMORY && small == CUDA_SUCCESS &&
			       again == CUDA_SUCCESS ?
		       "QUOTA OK\n" :
		       "QUOTA FAIL\n");
}

int main(int argc, char **argv)
{
	struct opts o = { .mode = argc > 1 ? argv[1] : "",
			  .iters = 200000,
			  .ms = 3000,
			  .seconds = 3,
			  .matmul = 4096,
			  .launches = 100000,
			  .self = argv[0] };

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--cubin"))
			o.cubin = argv[i + 1];
		else if (!strcmp(argv[i], "--guestlib"))
			o.guestlib = argv[i + 1];
		else if (!strcmp(argv[i], "--socket"))
			o.socket = argv[i + 1];
		else if (!strcmp(argv[i], "--iters"))
			o.iters = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--ms"))
			o.ms = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--matmul"))
			o.matmul = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--no-native"))
			o.no_native = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--n"))
			o.launches = atol(argv[i + 1]);
	}
	if (!o.cubin) {
		fprintf(stderr,
			"usage: bench_cuda table|run|stream|fault|quota|work|launches --cubin FILE [...]\n");
		return 2;
	}
	if (!strcmp(o.mode, "table"))
		return mode_table(&o);
	if (!strcmp(o.mode, "run"))
		mode_run(&o);
	else if (!strcmp(o.mode, "stream"))
		mode_stream(&o);
	else if (!strcmp(o.mode, "work"))
		mode_work(&o);
	else if (!strcmp(o.mode, "fault"))
		mode_fault(&o);
	else if (!strcmp(o.mode, "quota"))
		mode_quota(&o);
	else if (!strcmp(o.mode, "launches"))
		mode_launches(&o);
	else
		return 2;
	return 0;
}
