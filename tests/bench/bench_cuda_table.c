// SPDX-License-Identifier: MIT
/*
 * bench_cuda's table: the same program started as children, natively
 * (NVIDIA's libcuda) and through the project's libraries (each child a
 * loopback VM), their "R key value" lines collected and printed side by
 * side with the targets of issue 10.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_cuda.h"

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

/* A figure, or blanks where there is none (no native column). */
static const char *fig(char *buf, size_t len, double v, int width, int prec)
{
	if (isnan(v))
		snprintf(buf, len, "%*s", width, "");
	else
		snprintf(buf, len, "%*.*f", width, prec, v);
	return buf;
}

static void row(const char *name, double n, double m, const char *unit,
		int higher_better, double target, const char *target_text)
{
	double ratio = m / n;
	int ok = higher_better ? ratio >= target : ratio <= target;
	char a[32], b[32], r[32];

	printf("| %-38s | %s | %s | %-5s | %s | %-22s | %-4s |\n", name,
	       fig(a, sizeof(a), n, 10, 2), fig(b, sizeof(b), m, 10, 2), unit,
	       fig(r, sizeof(r), ratio, 6, 3), target_text,
	       isnan(target)	    ? "" :
	       isnan(m) || isnan(n) ? "n/a" :
	       ok		    ? "met" :
				      "MISS");
}

/* The rows of one key in both runs' figures, in the table's order. */
static const struct key_row {
	const char *name, *key, *unit;
	double div; /* the figure is the key's value / div */
	int higher_better;
	double target;
	const char *target_text;
} key_rows_tab[] = {
	{ "null launch + synchronize", "null_launch_sync_us", "us", 1, 0, 1.2,
	  "<= 1.2 x native" },
	{ "  the same, 99th percentile", "null_launch_sync_p99_us", "us", 1, 0,
	  NAN, "-" },
	{ "async launches, one stream", "async_launch_per_s", "k/s", 1e3, 1,
	  0.7, ">= 0.7 x native" },
	{ "H2D pinned pool 16 MiB", "pinned_h2d_16M_GBs", "GB/s", 1, 1, 0.9,
	  ">= 0.9 x native" },
	{ "D2H pinned pool 16 MiB", "pinned_d2h_16M_GBs", "GB/s", 1, 1, 0.9,
	  ">= 0.9 x native" },
	{ "H2D pinned pool 64 MiB", "pinned_h2d_64M_GBs", "GB/s", 1, 1, 0.9,
	  ">= 0.9 x native" },
	{ "D2H pinned pool 64 MiB", "pinned_d2h_64M_GBs", "GB/s", 1, 1, 0.9,
	  ">= 0.9 x native" },
	{ "H2D ordinary memory 1 MiB", "pageable_h2d_1M_GBs", "GB/s", 1, 1, 1.0,
	  ">= 1.0 x native" },
	{ "D2H ordinary memory 1 MiB", "pageable_d2h_1M_GBs", "GB/s", 1, 1, 1.0,
	  ">= 1.0 x native" },
	{ "H2D ordinary memory 16 MiB", "pageable_h2d_16M_GBs", "GB/s", 1, 1,
	  1.0, ">= 1.0 x native" },
	{ "D2H ordinary memory 16 MiB", "pageable_d2h_16M_GBs", "GB/s", 1, 1,
	  1.0, ">= 1.0 x native" },
};

static void key_rows(const struct kv *n, const struct kv *m)
{
	for (size_t i = 0; i < sizeof(key_rows_tab) / sizeof(key_rows_tab[0]);
	     i++) {
		const struct key_row *k = &key_rows_tab[i];

		row(k->name, get(n, k->key) / k->div, get(m, k->key) / k->div,
		    k->unit, k->higher_better, k->target, k->target_text);
	}
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

int mode_table(const struct opts *o)
{
	struct kv n = { 0 }, m = { 0 };
	int mediated = o->guestlib && o->socket;
	char name[64], fa[32], fb[32];
	long long iters;

	if (!o->no_native && run_one(o, 0, &n) != 0)
		fprintf(stderr, "the native run failed\n");
	if (mediated && run_one(o, 1, &m) != 0)
		fprintf(stderr, "the mediated run failed\n");
	iters = (long long)get(o->no_native ? &m : &n, "spin_iters_1ms");
	if (!(iters > 0))
		iters = 200000;
	printf("\n| %-38s | %10s | %10s | %-5s | %6s | %-22s | %-4s |\n",
	       "figure", "native", "mediated", "unit", "ratio", "target", "");
	printf("|%s|------------|------------|-------|--------|------------------------|------|\n",
	       "----------------------------------------");
	key_rows(&n, &m);
	printf("| %-38s | %s | %s | %-5s | %6s | %-22s | %-4s |\n",
	       "cubin module load",
	       fig(fa, sizeof(fa), get(&n, "cubin_load_us"), 10, 2),
	       fig(fb, sizeof(fb), get(&m, "cubin_load_us"), 10, 2), "us", "",
	       "mediated <= 100 us",
	       isnan(get(&m, "cubin_load_us")) ? "n/a" :
	       get(&m, "cubin_load_us") <= 100 ? "met" :
						 "MISS");
	row("first CUDA calls: cuInit to a module", get(&n, "open_ms"),
	    get(&m, "open_ms"), "ms", 0, NAN, "-");
	snprintf(name, sizeof(name), "matmul %d^2 fp32 (naive kernel)",
		 o->matmul);
	row(name, get(&n, "matmul_ms"), get(&m, "matmul_ms"), "ms", 0, 1.02,
	    "<= 1.02 x native");
	if (!o->no_native)
		stream_rows(o, iters, 0);
	if (mediated)
		stream_rows(o, iters, 1);
	printf("\nspin kernel: %lld iterations (about 1 ms %s), grid 4 x SMs x 256 threads, %.1f s per run\n",
	       iters, o->no_native ? "mediated" : "natively", o->seconds);
	return 0;
}
