// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend when a kernel goes wrong: a faulting kernel, a kernel
 * past its time limit, a context that will not die, a fault during a PTX
 * compile, limits that refuse and recover; other sessions and other VMs
 * never notice. The fake libcuda poisons a whole process on a fault, as
 * the real driver does: one worker per VM would fail fault_is_isolated
 * (the VM's other session, and any new one, would be lost with it).
 * When the worker process itself goes wrong: test_cuda_workers.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

#include "cuda_fault_fx.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fault_is_isolated),
		cmocka_unit_test(timeout_is_isolated),
		cmocka_unit_test(hung_context),
		cmocka_unit_test(limits_refuse_and_recover),
		cmocka_unit_test(fault_during_jit),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
