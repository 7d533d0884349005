// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend when its worker process goes wrong: a crashed worker,
 * one killed mid-copy, one that writes nonsense, one whose completions
 * outrun the proxy, a spare that cannot bring CUDA up or died unnoticed,
 * calls that make no sense; other sessions and other VMs never notice.
 * When a kernel goes wrong: test_cuda_faults.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/backend_cuda_int.h"
#include "cuda_fault_fx.h"

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

/* A completion for no request: the worker is done for. */
static void completion_for_nothing(struct cw_cpl *c)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_req *r;
	int pid;

	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL);
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	rq_submit(v, r);
	inject(v, 0, c, sizeof(*c));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGKILL);
	vm_free(v);
}

/* A function layout that makes no sense: that request fails. */
static void nonsense_layout(struct cw_cpl *c)
{
	uint8_t big[sizeof(struct cw_cpl) + 64] = { 0 };
	struct vm *v = vm_new(NULL, NULL);
	struct vgpu_func_info fi;
	struct be_req *r;
	uint32_t m;
	int pid;

	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	m = load(v, 1);
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	r = rq(v, 1, VGPU_OP_FUNC_GET);
	r->sym.module = m;
	r->sym.name = K_NULL;
	r->sym.info = &fi;
	rq_submit(v, r);
	c->h.len = sizeof(big);
	c->h.token = tok_of(v, r) + 1;
	c->h.gen = ((struct backend_cuda *)v->b)->tok[c->h.token - 1].gen;
	memcpy(big, c, sizeof(*c));
	big[sizeof(*c)] = 0xff; /* nparams 255 ... */
	big[sizeof(*c) + 1] = 0xff; /* ... 65535, over the maximum */
	inject(v, 0, big, sizeof(big));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGCONT); /* its own answer now names a finished request */
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 64;
	assert_int_equal(rq_run(v, r), VGPU_S_BACKEND);
	vm_free(v);
}

/* A record longer than the ring holds. */
static void record_too_long(struct cw_cpl *c)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_req *r;
	int pid;

	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	works(v, 1, NULL);
	pid = backend_cuda_worker_pid(v->b, 1);
	stop(pid);
	r = rq(v, 1, VGPU_OP_CTX_SYNC);
	rq_submit(v, r);
	c->h.len = 1u << 20;
	inject(v, 0, c, sizeof(*c));
	assert_int_equal(rq_wait(v, r), VGPU_S_BACKEND);
	kill(pid, SIGKILL);
	vm_free(v);
}

/* One record, changed from one case to the next. */
static void hostile_worker(void **state)
{
	struct cw_cpl c = {
		.h = { .len = 32, .type = CW_REC_CPL, .token = 7, .gen = 1 }
	};

	(void)state;
	completion_for_nothing(&c);
	nonsense_layout(&c);
	record_too_long(&c);
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
		cmocka_unit_test(worker_crash),
		cmocka_unit_test(worker_killed_mid_copy),
		cmocka_unit_test(hostile_worker),
		cmocka_unit_test(odd_calls),
		cmocka_unit_test(completion_ring_full),
		cmocka_unit_test(spare_cannot_start),
		cmocka_unit_test(open_after_unnoticed_death),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
