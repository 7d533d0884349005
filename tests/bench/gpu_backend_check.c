// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend on a real GPU, below the command engine: the proxy
 * (src/backend_cuda*.c) and vgpu-cuda-worker on the host's GPU, driven as
 * the engine drives them (tests/unit/cuda_harness.c), with the project's
 * test kernels built by nvcc. Independent of the engine, the loopback
 * transport and the guest libraries, so it proves the backend even where
 * those are absent. tools/gpu-check.sh runs it with
 * VGPU_TEST_WORKER=<the real worker>.
 *
 *   gpu_backend_check CUBIN PTX
 * prints "CHECK name PASS|FAIL detail" and "R key value" lines; exit 1 if
 * any check failed.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/backend_cuda_int.h"
#include "../unit/cuda_harness.h"

static int failures;
static const char *cubin_path, *ptx_path;

static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("CHECK %-28s %s ", name, ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures += !ok;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

struct sess {
	struct vm *v;
	uint32_t id, mod;
	struct be_region *reg;
};

static int open_sess(struct sess *s, struct vm *v, uint32_t id)
{
	size_t len;
	void *img = slurp(cubin_path, &len);
	uint32_t st = 0;

	s->v = v;
	s->id = id;
	if (!img || v->b->ops->session_open(v->b, id) < 0)
		return -1;
	s->reg = region_new(v, id, id * 100, 256 << 20, true);
	s->mod = module_load(v, id, img, len, &st);
	free(img);
	return st == VGPU_S_OK ? 0 : -1;
}

static uint32_t fn(struct sess *s, const char *name, struct vgpu_func_info *fi)
{
	struct vgpu_func_info tmp;
	uint32_t st;

	return func_get(s->v, s->id, s->mod, name, fi ? fi : &tmp, &st);
}

/* vec_add of n floats through zero-copy; true if every sum is right */
static int vec_add_ok(struct sess *s, int n)
{
	uint64_t a = mem_alloc(s->v, s->id, 4ull * n),
		 b = mem_alloc(s->v, s->id, 4ull * n),
		 c = mem_alloc(s->v, s->id, 4ull * n);
	float *h = (float *)s->reg->va;
	uint32_t f = fn(s, K_VEC_ADD, NULL);
	uint8_t p[28];
	int ok = a && b && c && f;

	for (int i = 0; i < 2 * n; i++)
		h[i] = (float)i;
	ok = ok && copy(s->v, s->id, VGPU_OP_COPY_H2D, a, s->reg, 0, 4ull * n,
			0) == VGPU_S_OK;
	ok = ok && copy(s->v, s->id, VGPU_OP_COPY_H2D, b, s->reg, 4ull * n,
			4ull * n, 0) == VGPU_S_OK;
	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 8);
	memcpy(p + 16, &c, 8);
	memcpy(p + 24, &n, 4);
	ok = ok &&
	     rq_wait(s->v, launch(s->v, s->id, f, 0, (uint32_t)(n + 255) / 256,
				  256, p, 28)) == VGPU_S_OK;
	memset(h, 0, 4ull * n);
	ok = ok && copy(s->v, s->id, VGPU_OP_COPY_D2H, c, s->reg, 0, 4ull * n,
			0) == VGPU_S_OK;
	for (int i = 0; ok && i < n; i++)
		ok = h[i] == (float)i + (float)(i + n);
	return ok;
}

static void device(struct vm *v)
{
	struct vgpu_device_info di;
	struct be_req *r;

	v->b->ops->session_open(v->b, 99);
	r = rq(v, 99, VGPU_OP_DEVICE_INFO);
	r->devinfo = &di;
	rq_run(v, r);
	check("device_info",
	      r->status == VGPU_S_OK && di.total_mem >= (1ull << 30) &&
		      di.attr[16] > 0 && !strcmp(di.backend, "cuda"),
	      "%s, cc %u.%u, %llu MiB, %d SMs, driver %u, session %llu MiB",
	      di.name, di.cc_major, di.cc_minor,
	      (unsigned long long)(di.total_mem >> 20), di.attr[16],
	      di.driver_version,
	      (unsigned long long)(v->b->session_overhead >> 20));
	v->b->ops->session_close(v->b, 99);
}

static void kernels(struct sess *s)
{
	struct vgpu_func_info fi;
	uint32_t f = fn(s, K_MIXED, &fi);
	uint64_t out = mem_alloc(s->v, s->id, 64);
	uint8_t p[48] = { 0 };
	int64_t *h = (int64_t *)s->reg->va;
	char c = -5;
	short sh = -300;
	int i = 123456;
	long long ll = -9876543210ll;
	float fl = 1.5f;
	double d = 2.25;
	unsigned char u = 250;
	int ok;

	check("layout_mixed_params",
	      f && fi.nparams == 8 && fi.param_bytes == 48 &&
		      fi.param[1].offset == 2 && fi.param[5].offset == 24 &&
		      fi.param[7].offset == 40,
	      "nparams %u, bytes %u", fi.nparams, fi.param_bytes);
	memcpy(p, &c, 1);
	memcpy(p + 2, &sh, 2);
	memcpy(p + 4, &i, 4);
	memcpy(p + 8, &ll, 8);
	memcpy(p + 16, &fl, 4);
	memcpy(p + 24, &d, 8);
	memcpy(p + 32, &u, 1);
	memcpy(p + 40, &out, 8);
	ok = rq_wait(s->v, launch(s->v, s->id, f, 0, 1, 1, p, 48)) == VGPU_S_OK;
	ok = ok && copy(s->v, s->id, VGPU_OP_COPY_D2H, out, s->reg, 0, 56, 0) ==
			   VGPU_S_OK;
	check("kernel_mixed_params",
	      ok && h[0] == -5 && h[1] == -300 && h[2] == 123456 &&
		      h[3] == ll && h[4] == 1500 && h[5] == 2250000 &&
		      h[6] == 250,
	      "");
	check("kernel_vec_add_4M", vec_add_ok(s, 4 << 20), "");
}

/* Data through staging (a region without a file: the Xen path). */
static void staged(struct vm *v)
{
	struct sess s = { 0 };
	struct be_region *reg;
	uint64_t n = (64ull << 20) + 4096 + 123, d;
	uint8_t *want = malloc(n);
	int ok;

	if (open_sess(&s, v, 5) < 0) {
		check("staged_copies", 0, "no session");
		return;
	}
	reg = region_new(v, 5, 555, 160ull << 20, false);
	d = mem_alloc(v, 5, n);
	for (uint64_t i = 0; i < n; i++)
		reg->va[i] = (uint8_t)(i * 31 + 7);
	memcpy(want, reg->va, n);
	ok = copy(v, 5, VGPU_OP_COPY_H2D, d, reg, 0, n, 0) == VGPU_S_OK;
	ok = ok && copy(v, 5, VGPU_OP_COPY_D2H, d, reg, 80ull << 20, n, 0) ==
			   VGPU_S_OK;
	check("staged_copies",
	      ok && memcmp(reg->va + (80ull << 20), want, n) == 0, "%llu bytes",
	      (unsigned long long)n);
	free(want);
	region_free(v, 5, reg);
	v->b->ops->session_close(v->b, 5);
}

/* A session fills memory and frees it; another never sees it. */
static void fresh_memory(struct vm *v)
{
	struct sess a = { 0 }, b = { 0 };
	uint64_t d, n = 256ull << 20, nonzero = 0;
	struct be_req *r;

	if (open_sess(&a, v, 7) < 0 || open_sess(&b, v, 8) < 0) {
		check("fresh_allocation_zero", 0, "no sessions");
		return;
	}
	d = mem_alloc(v, 7, n);
	r = rq(v, 7, VGPU_OP_MEMSET);
	r->memset.dptr = d;
	r->memset.count = n / 4;
	r->memset.value = 0xa5a5a5a5;
	r->memset.elem = 4;
	rq_run(v, r);
	r = rq(v, 7, VGPU_OP_MEM_FREE);
	r->mem.dptr = d;
	rq_run(v, r);
	d = mem_alloc(v, 8, n);
	copy(v, 8, VGPU_OP_COPY_D2H, d, b.reg, 0, n, 0);
	for (uint64_t i = 0; i < n; i += 8)
		nonzero += *(uint64_t *)(b.reg->va + i) != 0;
	check("fresh_allocation_zero", nonzero == 0,
	      "%llu non-zero words of 256 MiB", (unsigned long long)nonzero);
	v->b->ops->session_close(v->b, 7);
	v->b->ops->session_close(v->b, 8);
}

static void fault(struct vm *a, struct vm *b)
{
	struct sess a1 = { 0 }, a2 = { 0 }, b1 = { 0 };
	uint64_t where = 0x1000;
	uint8_t p[12];
	int v = 1, st;
	double t0 = now();

	if (open_sess(&a1, a, 11) < 0 || open_sess(&a2, a, 12) < 0 ||
	    open_sess(&b1, b, 13) < 0) {
		check("fault_isolation", 0, "no sessions");
		return;
	}
	memcpy(p, &where, 8);
	memcpy(p + 8, &v, 4);
	st = (int)rq_wait(a,
			  launch(a, 11, fn(&a1, K_POKE, NULL), 0, 1, 1, p, 12));
	check("fault_reported", st == VGPU_S_FAULT, "status %d after %.0f ms",
	      st, (now() - t0) * 1e3);
	check("fault_session_lost", mem_alloc(a, 11, 64) == 0, "");
	check("fault_same_vm_goes_on", vec_add_ok(&a2, 1 << 20), "");
	check("fault_other_vm_goes_on", vec_add_ok(&b1, 1 << 20), "");
	a->b->ops->session_close(a->b, 11);
	a->b->ops->session_close(a->b, 12);
	b->b->ops->session_close(b->b, 13);
}

static void timeout(struct vm *b)
{
	struct cuda_be_opts o = { .timeout_ms = 2000 };
	struct vm *v = vm_new(NULL, &o);
	struct sess s = { 0 }, other = { 0 }, ob = { 0 };
	long long iters = 1ll << 40;
	uint64_t none = 0;
	uint8_t p[16];
	struct be_req *r;
	uint32_t st;
	double t0;

	if (!v->b || open_sess(&s, v, 21) < 0 || open_sess(&other, v, 22) < 0 ||
	    open_sess(&ob, b, 23) < 0) {
		check("timeout", 0, "no sessions: %s", v->err);
		return;
	}
	memcpy(p, &iters, 8);
	memcpy(p + 8, &none, 8);
	t0 = now();
	r = launch(v, 21, fn(&s, K_SPIN, NULL), 0, 1024, 256, p, 16);
	check("timeout_others_meanwhile",
	      vec_add_ok(&other, 1 << 20) && vec_add_ok(&ob, 1 << 20), "");
	st = rq_wait(v, r);
	t0 = now() - t0;
	check("timeout_reported", st == VGPU_S_TIMEOUT,
	      "status %u after %.2f s (limit 2 s)", st, t0);
	check("timeout_same_vm_goes_on", vec_add_ok(&other, 1 << 20), "");
	check("timeout_other_vm_goes_on", vec_add_ok(&ob, 1 << 20), "");
	b->b->ops->session_close(b->b, 23);
	vm_free(v);
}

static void limits(void)
{
	struct cuda_be_opts o = { .max_sessions = 2 };
	struct vm *v = vm_new(NULL, &o);
	struct be_req *r;
	uint64_t d;

	if (!v->b) {
		check("limits", 0, "%s", v->err);
		return;
	}
	v->b->ops->session_open(v->b, 1);
	v->b->ops->session_open(v->b, 2);
	check("limit_sessions", v->b->ops->session_open(v->b, 3) == -EMFILE,
	      "");
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 1ull << 40;
	rq_run(v, r);
	check("limit_device_memory_refused", r->status == VGPU_S_NO_MEMORY,
	      "status %u", r->status);
	d = mem_alloc(v, 1, 256 << 20);
	check("limit_device_memory_recovers", d != 0, "");
	vm_free(v);
}

static void jit(struct vm *v)
{
	struct sess s = { 0 };
	size_t len;
	void *ptx = slurp(ptx_path, &len);
	struct be_req *load;
	double t0;
	int during = 0;

	if (!ptx || open_sess(&s, v, 31) < 0) {
		check("ptx_jit", 0, "no PTX or session");
		return;
	}
	load = rq(v, 31, VGPU_OP_MODULE_LOAD);
	load->module.image = ptx;
	load->module.len = len;
	t0 = now();
	rq_submit(v, load);
	while (!rq_done(load) && now() - t0 < 30)
		during += mem_alloc(v, 31, 4096) != 0;
	check("ptx_jit_off_the_path", rq_wait(v, load) == VGPU_S_OK,
	      "loaded in %.1f ms, %d requests served meanwhile",
	      (now() - t0) * 1e3, during);
	free(ptx);
	v->b->ops->session_close(v->b, 31);
}

/* The rings alone: a request the worker answers without the GPU. */
static void ring_roundtrip(struct vm *v, double *lat)
{
	struct be_req *r;
	double t0;

	r = rq(v, 41, VGPU_OP_EVENT_CREATE);
	rq_run(v, r);
	for (int i = -200; i < 2000; i++) {
		struct be_req *q = rq(v, 41, VGPU_OP_EVENT_QUERY);

		if (i % 500 == 0)
			vm_free_reqs(v);
		q->obj.obj = (uint32_t)r->result;
		t0 = now();
		rq_submit(v, q);
		rq_spin(v, q);
		if (i >= 0)
			lat[i] = now() - t0;
	}
	qsort(lat, 2000, sizeof(double), cmp);
	printf("R backend_ring_roundtrip_us %.2f\n", lat[1000] * 1e6);
}

/* Figures of the backend alone (no engine, no guest library). */
static void figures(struct vm *v)
{
	struct sess s = { 0 };
	uint32_t f;
	double t0, lat[2000];
	uint64_t d;
	struct be_req *r;

	if (open_sess(&s, v, 41) < 0)
		return;
	f = fn(&s, K_NULL, NULL);
	ring_roundtrip(v, lat);
	for (int i = -200; i < 2000; i++) {
		struct be_req *l, *sy;

		if (i % 500 == 0)
			vm_free_reqs(v);
		t0 = now();
		l = launch(v, 41, f, 0, 1, 1, NULL, 0);
		sy = rq(v, 41, VGPU_OP_STREAM_SYNC);
		rq_submit(v, sy);
		rq_spin(v, sy);
		if (i >= 0)
			lat[i] = now() - t0;
		(void)l;
	}
	qsort(lat, 2000, sizeof(double), cmp);
	printf("R backend_null_launch_sync_us %.2f\n", lat[1000] * 1e6);
	vm_free_reqs(v);
	t0 = now();
	for (int i = 0; i < 4000; i++)
		launch(v, 41, f, 0, 1, 1, NULL, 0);
	r = rq(v, 41, VGPU_OP_STREAM_SYNC);
	rq_submit(v, r);
	rq_spin(v, r);
	printf("R backend_async_launch_per_s %.0f\n", 4000 / (now() - t0));
	vm_free_reqs(v);
	d = mem_alloc(v, 41, 64 << 20);
	for (int dir = 0; dir < 2; dir++) {
		double t[5];

		for (int i = 0; i < 5; i++) {
			t0 = now();
			copy(v, 41, dir ? VGPU_OP_COPY_D2H : VGPU_OP_COPY_H2D,
			     d, s.reg, 0, 64 << 20, 0);
			t[i] = now() - t0;
		}
		qsort(t, 5, sizeof(double), cmp);
		printf("R backend_zero_copy_%s_64M_GBs %.1f\n",
		       dir ? "d2h" : "h2d", (64 << 20) / t[2] / 1e9);
	}
	fflush(stdout);
	v->b->ops->session_close(v->b, 41);
}

static void staged_figures(void)
{
	struct cuda_be_opts o = { .stage_all = true };
	struct vm *v = vm_new(NULL, &o);
	struct sess s = { 0 };
	uint64_t sizes[] = { 1 << 20, 16 << 20, 64 << 20 }, d;

	if (!v->b || open_sess(&s, v, 51) < 0)
		return;
	d = mem_alloc(v, 51, 64 << 20);
	for (int k = 0; k < 3; k++)
		for (int dir = 0; dir < 2; dir++) {
			double t[7], t0;

			for (int i = 0; i < 7; i++) {
				t0 = now();
				copy(v, 51,
				     dir ? VGPU_OP_COPY_D2H : VGPU_OP_COPY_H2D,
				     d, s.reg, 0, sizes[k], 0);
				t[i] = now() - t0;
			}
			qsort(t, 7, sizeof(double), cmp);
			printf("R backend_staged_%s_%lluM_GBs %.1f\n",
			       dir ? "d2h" : "h2d",
			       (unsigned long long)(sizes[k] >> 20),
			       sizes[k] / t[3] / 1e9);
		}
	fflush(stdout);
	vm_free(v);
}

static void crash(struct vm *v)
{
	struct sess s = { 0 }, s2 = { 0 };
	int pid = backend_cuda_worker_pid(v->b), ok;
	struct pollfd pf = { .fd = ((struct backend_cuda *)v->b)->sock };
	struct be_req *r;

	if (open_sess(&s, v, 61) < 0 || !vec_add_ok(&s, 1 << 16)) {
		check("crash_device_lost", 0, "no session before the crash");
		return;
	}
	kill(pid, SIGKILL);
	/* until its end of the socket is closed: it is dead for sure */
	poll(&pf, 1, 10000);
	r = rq(v, 61, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	rq_run(v, r);
	check("crash_device_lost", r->status == VGPU_S_BACKEND, "status %u",
	      r->status);
	v->b->ops->session_close(v->b, 61);
	ok = open_sess(&s2, v, 62) == 0 && vec_add_ok(&s2, 1 << 16);
	check("crash_new_worker_serves",
	      ok && backend_cuda_worker_pid(v->b) != pid,
	      "old pid %d, new pid %d", pid, backend_cuda_worker_pid(v->b));
}

int main(int argc, char **argv)
{
	struct vm *a, *b;
	struct sess s = { 0 };

	if (argc < 3) {
		fprintf(stderr, "usage: gpu_backend_check CUBIN PTX\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	cubin_path = argv[1];
	ptx_path = argv[2];
	a = vm_new(NULL, NULL);
	if (!a->b) {
		check("backend_create", 0, "%s", a->err);
		return 1;
	}
	b = vm_new(NULL, NULL);
	check("two_vms_two_workers",
	      b->b && backend_cuda_worker_pid(a->b) !=
			      backend_cuda_worker_pid(b->b),
	      "pids %d %d", backend_cuda_worker_pid(a->b),
	      b->b ? backend_cuda_worker_pid(b->b) : 0);
	device(a);
	if (open_sess(&s, a, 1) == 0)
		kernels(&s);
	else
		check("session", 0, "cannot open a session");
	a->b->ops->session_close(a->b, 1);
	staged(a);
	fresh_memory(a);
	jit(a);
	figures(a);
	staged_figures();
	fault(a, b);
	timeout(b);
	limits();
	crash(a);
	vm_free(a);
	vm_free(b);
	printf("%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
