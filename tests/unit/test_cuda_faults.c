// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend when things go wrong: a faulting kernel, a kernel
 * past its time limit, a context that will not die, a crashed worker, a
 * worker that writes nonsense, limits that refuse and recover; other
 * sessions and other VMs never notice. The fake libcuda poisons a whole
 * process on a fault, as the real driver does: one worker per VM would
 * fail fault_is_isolated (the VM's other session, and any new one, would
 * be lost with it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/backend_cuda_int.h"
#include "cuda_harness.h"

#define KERNELS K_NULL "\0" K_SPIN "\0" K_POKE "\0" K_FILL "\0"

static uint32_t load(struct vm *v, uint32_t s)
{
	size_t len;
	void *img = img_cubin(KERNELS, &len);
	uint32_t st, m = module_load(v, s, img, len, &st);

	free(img);
	assert_int_equal(st, VGPU_S_OK);
	return m;
}

static uint32_t fn(struct vm *v, uint32_t s, uint32_t m, const char *name)
{
	struct vgpu_func_info fi;
	uint32_t st, f = func_get(v, s, m, name, &fi, &st);

	assert_int_equal(st, VGPU_S_OK);
	return f;
}

static struct be_req *poke(struct vm *v, uint32_t s, uint32_t f, uint64_t where)
{
	uint8_t p[12];
	int val = 42;

	memcpy(p, &where, 8);
	memcpy(p + 8, &val, 4);
	return launch(v, s, f, 0, 1, 1, p, 12);
}

/* SIGSTOP @pid and wait until it has stopped (it may be spinning on
 * another core when the signal comes). */
static void stop(int pid)
{
	char path[64], buf[256], *p = NULL;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	kill(pid, SIGSTOP);
	for (int i = 0; i < 100000; i++) {
		FILE *f = fopen(path, "r");

		p = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (f)
			fclose(f);
		if (p && p[1] == ' ' && p[2] == 'T')
			return;
		sched_yield();
	}
	fail_msg("worker %d did not stop", pid);
}

/* Poll until session @s of @v has no worker any more. */
static bool worker_gone(struct vm *v, uint32_t s)
{
	for (int i = 0; i < 200 && backend_cuda_worker_pid(v->b, s); i++)
		vm_poll(v, 10);
	return backend_cuda_worker_pid(v->b, s) == 0;
}

static struct be_req *spin(struct vm *v, uint32_t s, uint32_t f, long long ns)
{
	uint8_t p[16] = { 0 };

	memcpy(p, &ns, 8);
	return launch(v, s, f, 0, 1, 1, p, 16);
}

/* A session that works: allocate, write, read back (only allocate,
 * without a region). */
static void works(struct vm *v, uint32_t s, struct be_region *reg)
{
	uint64_t d = mem_alloc(v, s, 4096);

	assert_true(d != 0);
	if (!reg)
		return;
	memset(reg->va, 0x5a, 4096);
	assert_int_equal(copy(v, s, VGPU_OP_COPY_H2D, d, reg, 0, 4096, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, s, VGPU_OP_COPY_D2H, d, reg, 4096, 4096, 0),
			 VGPU_S_OK);
	assert_int_equal(reg->va[8191], 0x5a);
}

static void fault_is_isolated(void **state)
{
	struct vm *a = vm_new(NULL, NULL), *b = vm_new(NULL, NULL);
	struct be_region *ra1, *ra2, *ra3, *rs, *rb;
	struct be_req *bad, *after, *staged, *r;
	uint32_t m, f;
	uint64_t d;

	(void)state;
	assert_int_equal(a->b->ops->session_open(a->b, 1), 0);
	assert_int_equal(a->b->ops->session_open(a->b, 2), 0);
	assert_int_equal(b->b->ops->session_open(b->b, 1), 0);
	ra1 = region_new(a, 1, 1, 1 << 20, true);
	rs = region_new(a, 1, 3, 8 << 20, false);
	ra2 = region_new(a, 2, 2, 1 << 20, true);
	rb = region_new(b, 1, 1, 1 << 20, true);
	m = load(a, 1);
	f = fn(a, 1, m, K_POKE);
	d = mem_alloc(a, 1, 6 << 20);
	works(a, 2, ra2);
	/* a process per session */
	assert_true(backend_cuda_worker_pid(a->b, 1) > 0);
	assert_true(backend_cuda_worker_pid(a->b, 1) !=
		    backend_cuda_worker_pid(a->b, 2));
	bad = poke(a, 1, f, 0x1000); /* no allocation there */
	after = rq(a, 1, VGPU_OP_COPY_D2H); /* in flight behind it */
	after->copy.dptr = d;
	after->copy.region = ra1;
	after->copy.len = 4096;
	rq_submit(a, after);
	staged = rq(a, 1, VGPU_OP_COPY_D2H);
	staged->copy.dptr = d;
	staged->copy.region = rs;
	staged->copy.len = 6 << 20;
	rq_submit(a, staged);
	assert_int_equal(rq_wait(a, bad), VGPU_S_FAULT);
	assert_int_equal(rq_wait(a, after), VGPU_S_SESSION_LOST);
	assert_int_equal(rq_wait(a, staged), VGPU_S_SESSION_LOST);
	r = rq(a, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 4096;
	assert_int_equal(rq_run(a, r), VGPU_S_SESSION_LOST);
	assert_int_equal(copy(a, 1, VGPU_OP_COPY_H2D, d, rs, 0, 4096, 0),
			 VGPU_S_SESSION_LOST);
	/* the fault poisoned its process, which is gone with its context */
	assert_non_null(strstr(vm_trace(a), "poisoned"));
	assert_true(worker_gone(a, 1));
	/* the VM's other session and the other VM go on */
	works(a, 2, ra2);
	works(b, 1, rb);
	region_free(a, 1, ra1);
	region_free(a, 1, rs);
	a->b->ops->session_close(a->b, 1);
	/* and a new session of the VM gets a context of its own */
	assert_int_equal(a->b->ops->session_open(a->b, 3), 0);
	ra3 = region_new(a, 3, 4, 1 << 20, true);
	works(a, 3, ra3);
	works(a, 2, ra2);
	region_free(a, 3, ra3);
	region_free(a, 2, ra2);
	region_free(b, 1, rb);
	vm_free(a);
	vm_free(b);
}

static void timeout_is_isolated(void **state)
{
	struct cuda_be_opts o = { .timeout_ms = 300 };
	struct vm *a = vm_new(NULL, &o), *b = vm_new(NULL, &o);
	struct be_region *ra2, *rb;
	struct be_req *ok, *hung, *r;
	uint32_t m, f;

	(void)state;
	assert_int_equal(a->b->ops->session_open(a->b, 1), 0);
	assert_int_equal(a->b->ops->session_open(a->b, 2), 0);
	assert_int_equal(b->b->ops->session_open(b->b, 1), 0);
	ra2 = region_new(a, 2, 2, 1 << 20, true);
	rb = region_new(b, 1, 1, 1 << 20, true);
	m = load(a, 1);
	f = fn(a, 1, m, K_SPIN);
	ok = spin(a, 1, f, 100000000); /* 100 ms: within the limit */
	assert_int_equal(rq_wait(a, ok), VGPU_S_OK);
	hung = spin(a, 1, f, 1000000000000000ll);
	r = rq(a, 1, VGPU_OP_CTX_SYNC);
	rq_submit(a, r);
	works(a, 2, ra2); /* while it spins */
	works(b, 1, rb);
	assert_int_equal(rq_wait(a, hung), VGPU_S_TIMEOUT);
	assert_int_equal(rq_wait(a, r), VGPU_S_SESSION_LOST);
	assert_true(worker_gone(a, 1)); /* its exit stopped the kernel */
	works(a, 2, ra2);
	works(b, 1, rb);
	region_free(a, 2, ra2);
	region_free(b, 1, rb);
	vm_free(a);
	vm_free(b);
}

/* A kernel that will not stop, in a context that will not die: past its
 * time limit the session's worker exits, which is the end of both; a
 * session closed with such a kernel running ends its worker through the
 * watchdog. The VM's other session never notices. */
static void hung_context(void **state)
{
	struct cuda_be_opts o = { .timeout_ms = 200,
				  .hang_ms = 500,
				  .max_sessions = 2 };
	struct vm *v = vm_new("FAKECUDA_HANG_DESTROY=1", &o);
	struct be_region *reg;
	struct be_req *hung;
	uint32_t m, f;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	reg = region_new(v, 2, 1, 1 << 20, true);
	m = load(v, 1);
	f = fn(v, 1, m, K_SPIN);
	hung = spin(v, 1, f, 1000000000000000ll);
	assert_int_equal(rq_wait(v, hung), VGPU_S_TIMEOUT);
	assert_true(worker_gone(v, 1));
	works(v, 2, reg);
	v->b->ops->session_close(v->b, 1);
	/* closed while such a kernel runs (no time limit hits it first) */
	assert_int_equal(v->b->ops->session_open(v->b, 3), 0);
	m = load(v, 3);
	f = fn(v, 3, m, K_SPIN);
	spin(v, 3, f, 150000000); /* within the limit, still running */
	v->b->ops->session_close(v->b, 3);
	/* its slot comes back once the watchdog ended that worker (no
	 * CLOSED comes from a context that will not die) */
	assert_int_equal(v->b->ops->session_open(v->b, 4), -EMFILE);
	for (int i = 0; i < 300 && v->b->ops->session_open(v->b, 4); i++)
		vm_poll(v, 10);
	assert_int_equal(backend_cuda_worker_pid(v->b, 3), 0);
	works(v, 4, NULL);
	works(v, 2, reg);
	region_free(v, 2, reg);
	vm_free(v);
}

static void worker_crash(void **state)
{
	struct vm *v = vm_new("FAKECUDA_CRASH_KERNEL=" K_NULL, NULL);
	struct vm *other = vm_new(NULL, NULL);
	struct be_region *reg, *ro, *r2;
	struct be_req *boom, *r;
	uint32_t m, f;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	assert_int_equal(other->b->ops->session_open(other->b, 1), 0);
	ro = region_new(other, 1, 1, 1 << 20, true);
	r2 = region_new(v, 2, 2, 1 << 20, true);
	m = load(v, 1);
	f = fn(v, 1, m, K_NULL);
	boom = launch(v, 1, f, 0, 1, 1, NULL, 0);
	assert_int_equal(rq_wait(v, boom), VGPU_S_BACKEND);
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_BACKEND);
	assert_int_equal(backend_cuda_worker_pid(v->b, 1), 0);
	/* the VM's other session (its own worker) and the other VM */
	works(v, 2, r2);
	works(other, 1, ro);
	v->b->ops->session_close(v->b, 1);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 1 << 20, true);
	works(v, 1, reg);
	region_free(v, 1, reg);
	region_free(v, 2, r2);
	region_free(other, 1, ro);
	vm_free(v);
	vm_free(other);
}

/* Killed while a staged copy waits for it. */
static void worker_killed_mid_copy(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_region *reg;
	struct be_req *r;
	uint64_t d;
	int pid, nul;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 16 << 20, false);
	d = mem_alloc(v, 1, 8 << 20);
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	r = rq(v, 1, VGPU_OP_COPY_D2H);
	r->copy.dptr = d;
	r->copy.region = reg;
	r->copy.len = 8 << 20;
	rq_submit(v, r);
	vm_poll(v, 50);
	kill(pid, SIGKILL);
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	region_free(v, 1, reg);
	v->b->ops->session_close(v->b, 1);
	/* the spawner is gone too: the spare serves one more session, the
	 * next one gets no worker and says so */
	nul = open("/dev/null", O_RDONLY);
	dup2(nul, v->spawner);
	close(nul);
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	works(v, 2, NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 3), 0);
	r = rq(v, 3, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_BACKEND);
	vm_free(v);
}

static void limits_refuse_and_recover(void **state)
{
	struct cuda_be_opts o = { .max_sessions = 3 };
	struct vm *v = vm_new("FAKECUDA_MEM=268435456", &o);
	struct be_region *reg;
	struct be_req *r;
	char flag[64], knobs[128];
	uint64_t d;

	(void)state;
	/* 256 MiB, contexts of 64 */
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	assert_int_equal(v->b->ops->session_open(v->b, 3), 0);
	assert_int_equal(v->b->ops->session_open(v->b, 4), -EMFILE);
	reg = region_new(v, 1, 1, 1 << 20, true);
	for (uint32_t i = 1; i <= 3; i++)
		works(v, i, NULL); /* each has its context now */
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 65 << 20;
	assert_int_equal(rq_run(v, r), VGPU_S_NO_MEMORY);
	v->b->ops->session_close(v->b, 3);
	for (int i = 0; i < 20; i++)
		vm_poll(v, 20);
	d = mem_alloc(v, 1, 100 << 20);
	assert_true(d != 0);
	/* what is left is less than a context: refused before it is tried */
	assert_int_equal(v->b->ops->session_open(v->b, 5), -ENOSPC);
	r = rq(v, 1, VGPU_OP_MEM_FREE);
	r->mem.dptr = d;
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	works(v, 1, reg);
	assert_int_equal(v->b->ops->session_open(v->b, 5), 0);
	works(v, 5, NULL);
	region_free(v, 1, reg);
	vm_free(v);

	/* the driver refuses a context: that session's requests say so */
	snprintf(flag, sizeof(flag), "/tmp/fakecuda-noctx-%d", (int)getpid());
	snprintf(knobs, sizeof(knobs), "FAKECUDA_CTX_FAIL_IF=%s", flag);
	v = vm_new(knobs, NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL);
	close(open(flag, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	r = rq(v, 2, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_NO_MEMORY);
	works(v, 1, NULL);
	unlink(flag);
	vm_free(v);
}

/* The proxy believes nothing the worker writes. */
static void inject(struct vm *v, uint32_t slot, const void *rec, uint32_t len)
{
	struct backend_cuda *b = (struct backend_cuda *)v->b;
	struct cb_sess *s = &b->sess[slot];
	struct cw_prod p;
	void *dst;
	uint64_t one = 1;

	cw_prod_init(&p, &s->shm->cpl,
		     (uint8_t *)s->shm + sizeof(struct cw_sess_shm) +
			     b->cfg.req_bytes,
		     b->cfg.cpl_bytes);
	dst = cw_prod_reserve(&p, (len + 15) & ~15u);
	memcpy(dst, rec, len);
	cw_prod_commit(&p, (len + 15) & ~15u);
	cw_prod_publish(&p);
	assert_true(write(b->notify_fd, &one, 8) == 8);
}

static uint32_t tok_of(struct vm *v, const struct be_req *r)
{
	struct backend_cuda *b = (struct backend_cuda *)v->b;

	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++)
		if (b->tok[t].r == r)
			return t;
	fail();
	return 0;
}

static void hostile_worker(void **state)
{
	struct cw_cpl c = {
		.h = { .len = 32, .type = CW_REC_CPL, .token = 7, .gen = 1 }
	};
	uint8_t big[sizeof(struct cw_cpl) + 64] = { 0 };
	struct vgpu_func_info fi;
	struct be_req *r;
	struct vm *v;
	uint32_t m;
	int pid;

	(void)state;
	/* a completion for no request: the worker is done for */
	v = vm_new(NULL, NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL);
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	rq_submit(v, r);
	inject(v, 0, &c, sizeof(c));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGKILL);
	vm_free(v);

	/* a function layout that makes no sense: that request fails */
	v = vm_new(NULL, NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	m = load(v, 1);
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	r = rq(v, 1, VGPU_OP_FUNC_GET);
	r->sym.module = m;
	r->sym.name = K_NULL;
	r->sym.info = &fi;
	rq_submit(v, r);
	c.h.len = sizeof(big);
	c.h.token = tok_of(v, r) + 1;
	c.h.gen = ((struct backend_cuda *)v->b)->tok[c.h.token - 1].gen;
	memcpy(big, &c, sizeof(c));
	big[sizeof(c)] = 0xff; /* nparams 255 ... */
	big[sizeof(c) + 1] = 0xff; /* ... 65535, over the maximum */
	inject(v, 0, big, sizeof(big));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGCONT); /* its own answer now names a finished request */
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_BACKEND);
	vm_free(v);

	/* a record longer than the ring holds */
	v = vm_new(NULL, NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL);
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	r = rq(v, 1, VGPU_OP_CTX_SYNC);
	rq_submit(v, r);
	c.h.len = 1u << 20;
	inject(v, 0, &c, sizeof(c));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGKILL);
	vm_free(v);
}

static void odd_calls(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_region reg = { .id = 5, .fd = -1 };
	struct be_req *r;
	const char *gpu;

	(void)state;
	r = rq(v, 9, VGPU_OP_MEM_ALLOC); /* no such session */
	assert_int_equal(rq_run(v, r), VGPU_S_INVALID);
	assert_int_equal(v->b->ops->region_add(v->b, 9, &reg), -ENOENT);
	v->b->ops->region_del(v->b, 9, &reg);
	v->b->ops->session_close(v->b, 9);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	v->b->ops->region_del(v->b, 1, &reg); /* never added */
	r = rq(v, 1, VGPU_OP_FUNC_GET);
	r->sym.name = ""; /* the wire refuses an empty name */
	assert_int_equal(rq_run(v, r), VGPU_S_INVALID);
	/* destroyed with a session open and work in flight */
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	rq_submit(v, r);
	assert_int_equal(backend_cuda_parse("cuda", &gpu), 0);
	assert_null(gpu);
	assert_int_equal(backend_cuda_parse("cuda:GPU-1234", &gpu), 0);
	assert_string_equal(gpu, "GPU-1234");
	assert_int_equal(backend_cuda_parse("cuda:", &gpu), -1);
	assert_int_equal(backend_cuda_parse("cpu", &gpu), -1);
	vm_free(v);
}

/* A fault while a PTX compile for the same session runs: the compile
 * finishes before the context goes, and its request is lost with it. */
static void fault_during_jit(void **state)
{
	struct vm *v = vm_new("FAKECUDA_JIT_MS=300", NULL);
	struct be_req *jit, *bad;
	size_t len;
	void *ptx = img_ptx(K_FILL, &len);
	uint32_t m, f;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	m = load(v, 1);
	f = fn(v, 1, m, K_POKE);
	jit = rq(v, 1, VGPU_OP_MODULE_LOAD);
	jit->module.image = ptx;
	jit->module.len = len;
	rq_submit(v, jit);
	bad = poke(v, 1, f, 0x1000);
	assert_int_equal(rq_wait(v, bad), VGPU_S_FAULT);
	assert_int_equal(rq_wait(v, jit), VGPU_S_SESSION_LOST);
	free(ptx);
	vm_free(v);
}

/* The worker's completions outrun the proxy: its ring fills, the rest
 * wait in the worker, nothing is lost. */
static void completion_ring_full(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	struct backend_cuda *b;
	struct be_req *r[3000];
	uint32_t m, f;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	b = (struct backend_cuda *)v->b;
	m = load(v, 1);
	f = fn(v, 1, m, K_NULL);
	for (int i = 0; i < 2500; i++)
		r[i] = launch(v, 1, f, 0, 1, 1, NULL, 0);
	/* no poll: wait until the worker asks for room */
	for (int i = 0;
	     i < 1000 && !cw_load(&b->sess[0].shm->cpl.space_wanted.v); i++)
		usleep(10000);
	assert_int_equal(cw_load(&b->sess[0].shm->cpl.space_wanted.v), 1);
	for (int i = 0; i < 2500; i++)
		assert_int_equal(rq_wait(v, r[i]), VGPU_S_OK);
	vm_free(v);
}

/* A worker that cannot bring CUDA up (the driver went away): the spare
 * it was to be is dropped, and a session that finds no worker says
 * device lost; the sessions that have theirs go on. */
static void spare_cannot_start(void **state)
{
	char flag[64], knobs[128];
	struct vm *v;
	struct be_req *r;

	(void)state;
	snprintf(flag, sizeof(flag), "/tmp/fakecuda-gone-%d", (int)getpid());
	unlink(flag);
	snprintf(knobs, sizeof(knobs), "FAKECUDA_NO_DEVICE_IF=%s", flag);
	v = vm_new(knobs, NULL);
	close(open(flag, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL); /* the spare made at the start */
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	r = rq(v, 2, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_BACKEND);
	works(v, 1, NULL);
	unlink(flag);
	vm_free(v);
}

/* The spare died and no poll() has noticed: the session that takes it
 * gets a new worker all the same. */
static void open_after_unnoticed_death(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	int pid = backend_cuda_worker_pid(v->b, 0);
	struct be_region *reg;
	struct pollfd pf = { .fd = ((struct backend_cuda *)v->b)->spare.sock };

	(void)state;
	kill(pid, SIGKILL);
	/* its end of the socket is gone (the proxy has not looked) */
	assert_int_equal(poll(&pf, 1, 10000), 1);
	assert_true(pf.revents & POLLHUP);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 1 << 20, true);
	works(v, 1, reg);
	assert_true(backend_cuda_worker_pid(v->b, 1) != pid);
	region_free(v, 1, reg);
	vm_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fault_is_isolated),
		cmocka_unit_test(timeout_is_isolated),
		cmocka_unit_test(hung_context),
		cmocka_unit_test(worker_crash),
		cmocka_unit_test(worker_killed_mid_copy),
		cmocka_unit_test(limits_refuse_and_recover),
		cmocka_unit_test(hostile_worker),
		cmocka_unit_test(odd_calls),
		cmocka_unit_test(fault_during_jit),
		cmocka_unit_test(completion_ring_full),
		cmocka_unit_test(spare_cannot_start),
		cmocka_unit_test(open_after_unnoticed_death),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
