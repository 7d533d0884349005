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
 * prints "CHECK name PASS|FAIL detail", "R key value" (figures) and
 * "B what: ..." (where a figure's time goes) lines; exit 1 if any check
 * failed. Every check makes its own VMs and sessions: none depends on
 * another having passed, or having run.
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
#include "gpu_backend.h"

void check(struct ctx *c, const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("CHECK %-28s %s ", name, ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	c->failures += !ok;
}

double now(void)
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

double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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

struct vm *vm(struct ctx *c, const char *what, const struct cuda_be_opts *o)
{
	struct vm *v = vm_on(c->spawner, o);

	if (v->b)
		return v;
	check(c, what, 0, "no VM: %s", v->err);
	vm_free(v);
	return NULL;
}

int open_sess(struct ctx *c, struct sess *s, struct vm *v, uint32_t id)
{
	size_t len;
	void *img = slurp(c->cubin, &len);
	uint32_t st = 0;

	s->v = v;
	s->id = id;
	if (!img || v->b->ops->session_open(v->b, id) < 0) {
		free(img);
		return -1;
	}
	s->reg = region_new(v, id, id * 100, 256 << 20, true);
	s->mod = module_load(v, id, img, len, &st);
	free(img);
	return st == VGPU_S_OK ? 0 : -1;
}

void close_sess(struct sess *s)
{
	if (!s->v)
		return;
	if (s->reg)
		region_free(s->v, s->id, s->reg);
	s->v->b->ops->session_close(s->v->b, s->id);
	s->v = NULL;
}

uint32_t fn(struct sess *s, const char *name, struct vgpu_func_info *fi)
{
	struct vgpu_func_info tmp;
	uint32_t st;

	return func_get(s->v, s->id, s->mod, name, fi ? fi : &tmp, &st);
}

int vec_add_ok(struct sess *s, int n)
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

/* ---- the checks ---- */

/* A worker per session: two sessions of a VM and one of another. */
static void workers(struct ctx *c)
{
	struct vm *a = vm(c, "worker_per_session", NULL),
		  *b = a ? vm(c, "worker_per_session", NULL) : NULL;
	int p1, p2, p3;

	if (!b)
		goto out;
	a->b->ops->session_open(a->b, 1);
	a->b->ops->session_open(a->b, 2);
	b->b->ops->session_open(b->b, 1);
	mem_alloc(a, 1, 4096);
	mem_alloc(a, 2, 4096);
	mem_alloc(b, 1, 4096);
	p1 = backend_cuda_worker_pid(a->b, 1);
	p2 = backend_cuda_worker_pid(a->b, 2);
	p3 = backend_cuda_worker_pid(b->b, 1);
	check(c, "worker_per_session",
	      p1 && p2 && p3 && p1 != p2 && p2 != p3 && p1 != p3,
	      "pids %d %d (VM 1), %d (VM 2)", p1, p2, p3);
out:
	if (b)
		vm_free(b);
	if (a)
		vm_free(a);
}

static void device(struct ctx *c)
{
	struct vm *v = vm(c, "device_info", NULL);
	struct vgpu_device_info di;
	struct be_req *r;

	if (!v)
		return;
	v->b->ops->session_open(v->b, 99);
	r = rq(v, 99, VGPU_OP_DEVICE_INFO);
	r->devinfo = &di;
	rq_run(v, r);
	check(c, "device_info",
	      r->status == VGPU_S_OK && di.total_mem >= (1ull << 30) &&
		      di.attr[16] > 0 && !strcmp(di.backend, "cuda"),
	      "%s, cc %u.%u, %llu MiB, %d SMs, driver %u, a session costs %llu MiB",
	      di.name, di.cc_major, di.cc_minor,
	      (unsigned long long)(di.total_mem >> 20), di.attr[16],
	      di.driver_version,
	      (unsigned long long)(v->b->session_overhead >> 20));
	vm_free(v);
}

static void kernels(struct ctx *c)
{
	struct vm *v = vm(c, "kernels", NULL);
	struct sess s = { 0 };
	struct vgpu_func_info fi = { 0 };
	uint8_t p[48] = { 0 };
	char ch = -5;
	short sh = -300;
	int i = 123456, ok;
	long long ll = -9876543210ll;
	float fl = 1.5f;
	double d = 2.25;
	unsigned char u = 250;
	uint64_t out;
	int64_t *h;
	uint32_t f;

	if (!v)
		return;
	if (open_sess(c, &s, v, 1) < 0) {
		check(c, "kernels", 0, "no session");
		vm_free(v);
		return;
	}
	f = fn(&s, K_MIXED, &fi);
	out = mem_alloc(v, 1, 64);
	h = (int64_t *)s.reg->va;
	check(c, "layout_mixed_params",
	      f && fi.nparams == 8 && fi.param_bytes == 48 &&
		      fi.param[1].offset == 2 && fi.param[5].offset == 24 &&
		      fi.param[7].offset == 40,
	      "nparams %u, bytes %u", fi.nparams, fi.param_bytes);
	memcpy(p, &ch, 1);
	memcpy(p + 2, &sh, 2);
	memcpy(p + 4, &i, 4);
	memcpy(p + 8, &ll, 8);
	memcpy(p + 16, &fl, 4);
	memcpy(p + 24, &d, 8);
	memcpy(p + 32, &u, 1);
	memcpy(p + 40, &out, 8);
	ok = rq_wait(v, launch(v, 1, f, 0, 1, 1, p, 48)) == VGPU_S_OK;
	ok = ok &&
	     copy(v, 1, VGPU_OP_COPY_D2H, out, s.reg, 0, 56, 0) == VGPU_S_OK;
	check(c, "kernel_mixed_params",
	      ok && h[0] == -5 && h[1] == -300 && h[2] == 123456 &&
		      h[3] == ll && h[4] == 1500 && h[5] == 2250000 &&
		      h[6] == 250,
	      "");
	check(c, "kernel_vec_add_4M", vec_add_ok(&s, 4 << 20), "");
	close_sess(&s);
	vm_free(v);
}

/* Data through staging (a region without a file: the Xen path). */
static void staged(struct ctx *c)
{
	struct vm *v = vm(c, "staged_copies", NULL);
	struct be_region *reg;
	uint64_t n = (64ull << 20) + 4096 + 123, d;
	uint8_t *want = malloc(n);
	int ok;

	if (!v || v->b->ops->session_open(v->b, 5) < 0) {
		free(want);
		if (v)
			vm_free(v);
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
	check(c, "staged_copies",
	      ok && memcmp(reg->va + (80ull << 20), want, n) == 0, "%llu bytes",
	      (unsigned long long)n);
	free(want);
	region_free(v, 5, reg);
	vm_free(v);
}

/* A session fills memory and frees it; another never sees it. */
static void fresh_memory(struct ctx *c)
{
	struct vm *v = vm(c, "fresh_allocation_zero", NULL);
	struct sess a = { 0 }, b = { 0 };
	uint64_t d, n = 256ull << 20, nonzero = 0;
	struct be_req *r;

	if (!v)
		return;
	if (open_sess(c, &a, v, 7) < 0 || open_sess(c, &b, v, 8) < 0) {
		check(c, "fresh_allocation_zero", 0, "no sessions");
		vm_free(v);
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
	check(c, "fresh_allocation_zero", d && nonzero == 0,
	      "%llu non-zero words of 256 MiB", (unsigned long long)nonzero);
	close_sess(&a);
	close_sess(&b);
	vm_free(v);
}

static void jit(struct ctx *c)
{
	struct vm *v = vm(c, "ptx_jit_off_the_path", NULL);
	struct sess s = { 0 };
	size_t len;
	void *ptx = slurp(c->ptx, &len);
	struct be_req *load;
	double t0;
	int during = 0;

	if (!v || !ptx || open_sess(c, &s, v, 31) < 0) {
		check(c, "ptx_jit_off_the_path", 0, "no PTX or session");
		free(ptx);
		if (v)
			vm_free(v);
		return;
	}
	load = rq(v, 31, VGPU_OP_MODULE_LOAD);
	load->module.image = ptx;
	load->module.len = len;
	t0 = now();
	rq_submit(v, load);
	while (!rq_done(load) && now() - t0 < 30)
		during += mem_alloc(v, 31, 4096) != 0;
	check(c, "ptx_jit_off_the_path", rq_wait(v, load) == VGPU_S_OK,
	      "loaded in %.1f ms, %d requests served meanwhile",
	      (now() - t0) * 1e3, during);
	free(ptx);
	close_sess(&s);
	vm_free(v);
}

/* A faulting kernel in one session: the VM's other session, a new
 * session of that VM and another VM go on. */
static void fault(struct ctx *c)
{
	struct vm *a = vm(c, "fault", NULL), *b = a ? vm(c, "fault", NULL) : 0;
	struct sess a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, b1 = { 0 };
	uint64_t where = 0x1000;
	uint8_t p[12];
	int v = 1, st;
	double t0 = now();

	if (!b || open_sess(c, &a1, a, 11) < 0 ||
	    open_sess(c, &a2, a, 12) < 0 || open_sess(c, &b1, b, 13) < 0) {
		check(c, "fault", 0, "no sessions");
		goto out;
	}
	memcpy(p, &where, 8);
	memcpy(p + 8, &v, 4);
	st = (int)rq_wait(a,
			  launch(a, 11, fn(&a1, K_POKE, NULL), 0, 1, 1, p, 12));
	check(c, "fault_reported", st == VGPU_S_FAULT,
	      "status %d after %.0f ms", st, (now() - t0) * 1e3);
	check(c, "fault_session_lost", mem_alloc(a, 11, 64) == 0, "");
	check(c, "fault_same_vm_goes_on", vec_add_ok(&a2, 1 << 20), "");
	check(c, "fault_other_vm_goes_on", vec_add_ok(&b1, 1 << 20), "");
	close_sess(&a1);
	check(c, "fault_new_session_works",
	      open_sess(c, &a3, a, 14) == 0 && vec_add_ok(&a3, 1 << 20), "");
out:
	if (b)
		vm_free(b);
	if (a)
		vm_free(a);
}

static void timeout(struct ctx *c)
{
	struct cuda_be_opts o = { .timeout_ms = 2000 };
	struct vm *v = vm(c, "timeout", &o),
		  *b = v ? vm(c, "timeout", NULL) : 0;
	struct sess s = { 0 }, other = { 0 }, ob = { 0 }, s2 = { 0 };
	long long iters = 1ll << 40;
	uint64_t none = 0;
	uint8_t p[16];
	struct be_req *r;
	uint32_t st;
	double t0;

	if (!b || open_sess(c, &s, v, 21) < 0 ||
	    open_sess(c, &other, v, 22) < 0 || open_sess(c, &ob, b, 23) < 0) {
		check(c, "timeout", 0, "no sessions");
		goto out;
	}
	memcpy(p, &iters, 8);
	memcpy(p + 8, &none, 8);
	t0 = now();
	r = launch(v, 21, fn(&s, K_SPIN, NULL), 0, 1024, 256, p, 16);
	check(c, "timeout_others_meanwhile",
	      vec_add_ok(&other, 1 << 20) && vec_add_ok(&ob, 1 << 20), "");
	st = rq_wait(v, r);
	t0 = now() - t0;
	check(c, "timeout_reported", st == VGPU_S_TIMEOUT,
	      "status %u after %.2f s (limit 2 s)", st, t0);
	check(c, "timeout_same_vm_goes_on", vec_add_ok(&other, 1 << 20), "");
	check(c, "timeout_other_vm_goes_on", vec_add_ok(&ob, 1 << 20), "");
	close_sess(&s);
	check(c, "timeout_new_session_works",
	      open_sess(c, &s2, v, 24) == 0 && vec_add_ok(&s2, 1 << 20), "");
out:
	if (b)
		vm_free(b);
	if (v)
		vm_free(v);
}

static void limits(struct ctx *c)
{
	struct cuda_be_opts o = { .max_sessions = 2 };
	struct vm *v = vm(c, "limits", &o);
	struct be_req *r;
	uint64_t d;

	if (!v)
		return;
	v->b->ops->session_open(v->b, 1);
	v->b->ops->session_open(v->b, 2);
	check(c, "limit_sessions", v->b->ops->session_open(v->b, 3) == -EMFILE,
	      "");
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 1ull << 40;
	rq_run(v, r);
	check(c, "limit_device_memory_refused", r->status == VGPU_S_NO_MEMORY,
	      "status %u", r->status);
	d = mem_alloc(v, 1, 256 << 20);
	check(c, "limit_device_memory_recovers", d != 0, "");
	vm_free(v);
}

/* A worker killed: its session gets device-lost, the VM's other session
 * goes on, a new session gets a new worker. */
static void crash(struct ctx *c)
{
	struct vm *v = vm(c, "crash", NULL);
	struct sess s = { 0 }, s2 = { 0 }, s3 = { 0 };
	struct be_req *r;
	struct pollfd pf = { .events = POLLIN };
	int pid, ok;

	if (!v)
		return;
	if (open_sess(c, &s, v, 61) < 0 || !vec_add_ok(&s, 1 << 16) ||
	    open_sess(c, &s2, v, 62) < 0) {
		check(c, "crash_device_lost", 0, "no session before the crash");
		vm_free(v);
		return;
	}
	pid = backend_cuda_worker_pid(v->b, 61);
	for (uint32_t i = 0; i < CB_MAX_SESSIONS; i++)
		if (((struct backend_cuda *)v->b)->sess[i].id == 61)
			pf.fd = ((struct backend_cuda *)v->b)->sess[i].w.sock;
	kill(pid, SIGKILL);
	/* until its end of the socket is closed: it is dead for sure */
	poll(&pf, 1, 10000);
	r = rq(v, 61, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	rq_run(v, r);
	check(c, "crash_device_lost", r->status == VGPU_S_BACKEND, "status %u",
	      r->status);
	check(c, "crash_other_session_goes_on", vec_add_ok(&s2, 1 << 16), "");
	close_sess(&s);
	ok = open_sess(c, &s3, v, 63) == 0 && vec_add_ok(&s3, 1 << 16);
	check(c, "crash_new_worker_serves",
	      ok && backend_cuda_worker_pid(v->b, 63) != pid,
	      "old pid %d, new pid %d", pid, backend_cuda_worker_pid(v->b, 63));
	vm_free(v);
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	char devstate[64], err[256] = "";

	if (argc < 3) {
		fprintf(stderr, "usage: gpu_backend_check CUBIN PTX\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	c.cubin = argv[1];
	c.ptx = argv[2];
	c.spawner = vm_spawner(NULL, NULL, devstate, err, sizeof(err));
	if (c.spawner < 0) {
		check(&c, "spawner", 0, "%s", err);
		return 1;
	}
	workers(&c);
	device(&c);
	kernels(&c);
	staged(&c);
	fresh_memory(&c);
	jit(&c);
	fault(&c);
	timeout(&c);
	limits(&c);
	crash(&c);
	session_cost(&c);
	figures(&c);
	close(c.spawner);
	unlink(devstate);
	printf("%d check(s) failed\n", c.failures);
	return c.failures ? 1 : 0;
}
