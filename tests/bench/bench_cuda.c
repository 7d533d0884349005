// SPDX-License-Identifier: MIT
/*
 * bench_cuda: the CUDA backend's benchmark, an ordinary CUDA driver-API
 * program. One run prints native and mediated figures side by side: it
 * starts itself as child processes, natively (NVIDIA's libcuda) and
 * through the project's libraries (LD_LIBRARY_PATH=guest library dir,
 * VGPU_LOOPBACK=socket: each process is a loopback VM), and prints one
 * table. The same program also serves the GPU checks (fault, quota,
 * work modes). See tools/gpu-check.sh.
 *
 *   bench_cuda table --cubin F [--guestlib DIR --socket S] [--seconds N]
 *   bench_cuda run --cubin F          the single-process figures
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

struct opts {
	const char *mode, *cubin, *guestlib, *socket, *self;
	long iters, ms;
	double seconds;
	int matmul; /* n of the n x n product */
};

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
	double t0;

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

static void mode_run(const struct opts *o)
{
	struct gpu g;

	gpu_open(&g, o->cubin);
	res("first_module_load_us", "%.1f", g.t_load_first * 1e6);
	bench_launch(&g);
	bench_copies();
	bench_module(o->cubin);
	bench_matmul(&g, o->matmul);
	calibrate(&g);
	CK(cuCtxDestroy(g.ctx));
}

static void mode_stream(const struct opts *o)
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

/* vec_add over and over for @ms, checking every result */
static void mode_work(const struct opts *o)
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
static void mode_fault(const struct opts *o)
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
static void mode_quota(const struct opts *o)
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

/* ---- the table: children natively and through the libraries ---- */

#define MAXKV 64

struct kv {
	int n;
	char key[MAXKV][48];
	double val[MAXKV];
	char text[MAXKV][48];
};

struct child {
	pid_t pid;
	FILE *out;
	int in;
};

static double get(const struct kv *kv, const char *key)
{
	for (int i = 0; kv && i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->val[i];
	return NAN;
}

static void start(const struct opts *o, int mediated, char *const argv[],
		  struct child *c)
{
	int out[2], in[2];

	if (pipe(out) < 0 || pipe(in) < 0)
		exit(2);
	fflush(NULL);
	c->pid = fork();
	if (c->pid == 0) {
		char path[1024];
		const char *old = getenv("LD_LIBRARY_PATH");

		if (mediated) {
			snprintf(path, sizeof(path), "%s%s%s", o->guestlib,
				 old ? ":" : "", old ? old : "");
			setenv("LD_LIBRARY_PATH", path, 1);
			setenv("VGPU_LOOPBACK", o->socket, 1);
		} else {
			unsetenv("VGPU_LOOPBACK");
		}
		dup2(out[1], 1);
		dup2(in[0], 0);
		close(out[0]);
		close(in[1]);
		execv(o->self, argv);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	c->out = fdopen(out[0], "r");
	c->in = in[1];
}

/* Read a child's lines until @until (or EOF); R lines into @kv. */
static int collect(struct child *c, struct kv *kv, const char *tag,
		   const char *until)
{
	char line[256], k[48], v[48];

	while (fgets(line, sizeof(line), c->out)) {
		if (until && strncmp(line, until, strlen(until)) == 0)
			return 1;
		if (sscanf(line, "R %47s %47s", k, v) == 2 && kv &&
		    kv->n < MAXKV) {
			snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", k);
			snprintf(kv->text[kv->n], sizeof(kv->text[0]), "%s", v);
			kv->val[kv->n++] = strtod(v, NULL);
		}
		fprintf(stderr, "[%s] %s", tag, line);
	}
	return 0;
}

static int finish(struct child *c)
{
	int st = 0;

	fclose(c->out);
	close(c->in);
	waitpid(c->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_one(const struct opts *o, int mediated, struct kv *kv)
{
	char mm[16];
	char *argv[] = { (char *)o->self, "run", "--cubin", (char *)o->cubin,
			 "--matmul",	  mm,	 NULL };
	struct child c;

	snprintf(mm, sizeof(mm), "%d", o->matmul);
	start(o, mediated, argv, &c);
	collect(&c, kv, mediated ? "mediated" : "native", NULL);
	return finish(&c);
}

/* @n streaming VMs at once; their kernels/s into @each, the sum back. */
static double streams(const struct opts *o, int mediated, int n,
		      long long iters, double *each)
{
	char it[32], ms[32];
	char *argv[] = { (char *)o->self,  "stream",  "--cubin",
			 (char *)o->cubin, "--iters", it,
			 "--ms",	   ms,	      NULL };
	struct child c[8];
	double sum = 0;

	snprintf(it, sizeof(it), "%lld", iters);
	snprintf(ms, sizeof(ms), "%.0f", o->seconds * 1e3);
	for (int i = 0; i < n; i++)
		start(o, mediated, argv, &c[i]);
	for (int i = 0; i < n; i++)
		if (!collect(&c[i], NULL, "stream", "READY"))
			return NAN;
	for (int i = 0; i < n; i++)
		if (write(c[i].in, "go\n", 3) != 3)
			return NAN;
	for (int i = 0; i < n; i++) {
		struct kv kv = { 0 };

		collect(&c[i], &kv, mediated ? "m-stream" : "n-stream", NULL);
		finish(&c[i]);
		each[i] = get(&kv, "stream_kernels_per_s");
		sum += each[i];
	}
	return sum;
}

static void row(const char *name, double n, double m, const char *unit,
		int higher_better, double target, const char *target_text)
{
	double ratio = m / n;
	int ok = higher_better ? ratio >= target : ratio <= target;

	printf("| %-38s | %10.2f | %10.2f | %-5s | %6.3f | %-22s | %-4s |\n",
	       name, n, m, unit, ratio, target_text,
	       isnan(m) || isnan(n) ? "n/a" :
	       ok		    ? "met" :
				      "MISS");
}

static void stream_rows(const struct opts *o, long long iters, int mediated)
{
	double one[8], each[8], agg;
	const char *who = mediated ? "mediated" : "native";

	agg = streams(o, mediated, 1, iters, one);
	printf("| %-8s %d VM  kernels/s %-19s | %10.1f |            |       |        |                        |      |\n",
	       who, 1, "", agg);
	for (int n = 2; n <= 4; n += 2) {
		double sum = streams(o, mediated, n, iters, each), worst = 0;

		for (int i = 0; i < n; i++) {
			double dev = fabs(each[i] / (sum / n) - 1);

			worst = dev > worst ? dev : worst;
		}
		printf("| %-8s %d VMs aggregate / 1 VM %-11s | %10.1f | %10.1f |       | %6.3f | >= 0.9                 | %-4s |\n",
		       who, n, "", agg, sum, sum / agg,
		       sum / agg >= 0.9 ? "met" : "MISS");
		printf("| %-8s %d VMs worst share vs fair %-8s |            | %9.1f%% |       |        | within 10%%             | %-4s |\n",
		       who, n, "", worst * 100, worst <= 0.1 ? "met" : "MISS");
	}
}

static int mode_table(const struct opts *o)
{
	struct kv n = { 0 }, m = { 0 };
	int mediated = o->guestlib && o->socket;
	char name[64];
	long long iters;

	if (run_one(o, 0, &n) != 0)
		fprintf(stderr, "the native run failed\n");
	if (mediated && run_one(o, 1, &m) != 0)
		fprintf(stderr, "the mediated run failed\n");
	iters = (long long)get(&n, "spin_iters_1ms");
	if (!(iters > 0))
		iters = 200000;
	printf("\n| %-38s | %10s | %10s | %-5s | %6s | %-22s | %-4s |\n",
	       "figure", "native", "mediated", "unit", "ratio", "target", "");
	printf("|%s|------------|------------|-------|--------|------------------------|------|\n",
	       "----------------------------------------");
	row("null launch + synchronize", get(&n, "null_launch_sync_us"),
	    get(&m, "null_launch_sync_us"), "us", 0, 1.2, "<= 1.2 x native");
	row("async launches, one stream", get(&n, "async_launch_per_s") / 1e3,
	    get(&m, "async_launch_per_s") / 1e3, "k/s", 1, 0.7,
	    ">= 0.7 x native");
	row("H2D pinned pool 16 MiB", get(&n, "pinned_h2d_16M_GBs"),
	    get(&m, "pinned_h2d_16M_GBs"), "GB/s", 1, 0.9, ">= 0.9 x native");
	row("D2H pinned pool 16 MiB", get(&n, "pinned_d2h_16M_GBs"),
	    get(&m, "pinned_d2h_16M_GBs"), "GB/s", 1, 0.9, ">= 0.9 x native");
	row("H2D pinned pool 64 MiB", get(&n, "pinned_h2d_64M_GBs"),
	    get(&m, "pinned_h2d_64M_GBs"), "GB/s", 1, 0.9, ">= 0.9 x native");
	row("D2H pinned pool 64 MiB", get(&n, "pinned_d2h_64M_GBs"),
	    get(&m, "pinned_d2h_64M_GBs"), "GB/s", 1, 0.9, ">= 0.9 x native");
	row("H2D ordinary memory 1 MiB", get(&n, "pageable_h2d_1M_GBs"),
	    get(&m, "pageable_h2d_1M_GBs"), "GB/s", 1, 1.0, ">= 1.0 x native");
	row("D2H ordinary memory 1 MiB", get(&n, "pageable_d2h_1M_GBs"),
	    get(&m, "pageable_d2h_1M_GBs"), "GB/s", 1, 1.0, ">= 1.0 x native");
	row("H2D ordinary memory 16 MiB", get(&n, "pageable_h2d_16M_GBs"),
	    get(&m, "pageable_h2d_16M_GBs"), "GB/s", 1, 1.0, ">= 1.0 x native");
	row("D2H ordinary memory 16 MiB", get(&n, "pageable_d2h_16M_GBs"),
	    get(&m, "pageable_d2h_16M_GBs"), "GB/s", 1, 1.0, ">= 1.0 x native");
	printf("| %-38s | %10.2f | %10.2f | %-5s | %6s | %-22s | %-4s |\n",
	       "cubin module load", get(&n, "cubin_load_us"),
	       get(&m, "cubin_load_us"), "us", "", "mediated <= 100 us",
	       isnan(get(&m, "cubin_load_us")) ? "n/a" :
	       get(&m, "cubin_load_us") <= 100 ? "met" :
						 "MISS");
	snprintf(name, sizeof(name), "matmul %d^2 fp32 (naive kernel)",
		 o->matmul);
	row(name, get(&n, "matmul_ms"), get(&m, "matmul_ms"), "ms", 0, 1.02,
	    "<= 1.02 x native");
	stream_rows(o, iters, 0);
	if (mediated)
		stream_rows(o, iters, 1);
	printf("\nspin kernel: %lld iterations (about 1 ms natively), grid 4 x SMs x 256 threads, %.1f s per run\n",
	       iters, o->seconds);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .mode = argc > 1 ? argv[1] : "",
			  .iters = 200000,
			  .ms = 3000,
			  .seconds = 3,
			  .matmul = 4096,
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
	}
	if (!o.cubin) {
		fprintf(stderr,
			"usage: bench_cuda table|run|stream|fault|quota|work --cubin FILE [...]\n");
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
	else
		return 2;
	return 0;
}
