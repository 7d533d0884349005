// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's modules, functions, globals, launches, streams and
 * events, through the real proxy and worker (fake libcuda).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cuda_harness.h"

#define KERNELS                                                        \
	K_NULL "\0" K_VEC_ADD "\0" K_ADD_BIAS "\0" K_MIXED "\0" K_SPIN \
	       "\0" K_POKE "\0" K_FILL "\0g_bias\0"

struct fx {
	struct vm *v;
	struct be_region *reg;
	uint32_t mod;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	size_t len;
	void *img = img_cubin(KERNELS, &len);
	uint32_t st;

	f->v = vm_new(NULL, NULL);
	if (!f->v->b || f->v->b->ops->session_open(f->v->b, 1) < 0)
		return -1;
	f->reg = region_new(f->v, 1, 1, 4 << 20, true);
	f->mod = module_load(f->v, 1, img, len, &st);
	free(img);
	*state = f;
	return st == VGPU_S_OK ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	region_free(f->v, 1, f->reg);
	f->v->b->ops->session_close(f->v->b, 1);
	vm_free(f->v);
	free(f);
	return 0;
}

static void layouts(void **state)
{
	struct fx *f = *state;
	struct vgpu_func_info fi;
	uint32_t st, fn;

	fn = func_get(f->v, 1, f->mod, K_MIXED, &fi, &st);
	assert_int_equal(st, VGPU_S_OK);
	assert_true(fn != 0);
	assert_int_equal(fi.nparams, 8);
	assert_int_equal(fi.param_bytes, 48);
	assert_int_equal(fi.param[1].offset, 2);
	assert_int_equal(fi.param[1].size, 2);
	assert_int_equal(fi.param[5].offset, 24);
	assert_int_equal(fi.param[7].offset, 40);
	assert_int_equal(fi.fattr[0], 1024); /* MAX_THREADS_PER_BLOCK */
	assert_int_equal(fi.fattr[3], 4);
	assert_int_equal(fi.fattr[15], 0); /* refused: left 0 */
	fn = func_get(f->v, 1, f->mod, K_NULL, &fi, &st);
	assert_int_equal(fi.nparams, 0);
	assert_int_equal(fi.param_bytes, 0);
	func_get(f->v, 1, f->mod, "no_such_kernel", &fi, &st);
	assert_int_equal(st, VGPU_S_NOT_FOUND);
	func_get(f->v, 1, f->mod + 100, K_NULL, &fi, &st);
	assert_int_equal(st, VGPU_S_BAD_HANDLE);
}

static void vec_add(void **state)
{
	struct fx *f = *state;
	struct vgpu_func_info fi;
	uint32_t st, fn, n = 1000;
	uint64_t a = mem_alloc(f->v, 1, 4 * n), b = mem_alloc(f->v, 1, 4 * n),
		 c = mem_alloc(f->v, 1, 4 * n);
	float *h = (float *)f->reg->va;
	uint8_t p[28];
	struct be_req *r;

	fn = func_get(f->v, 1, f->mod, K_VEC_ADD, &fi, &st);
	assert_int_equal(st, VGPU_S_OK);
	for (uint32_t i = 0; i < 2 * n; i++)
		h[i] = (float)i;
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_H2D, a, f->reg, 0, 4 * n,
			      0),
			 VGPU_S_OK);
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_H2D, b, f->reg, 4 * n,
			      4 * n, 0),
			 VGPU_S_OK);
	memcpy(p, &a, 8);
	memcpy(p + 8, &b, 8);
	memcpy(p + 16, &c, 8);
	memcpy(p + 24, &n, 4);
	r = launch(f->v, 1, fn, 0, 4, 256, p, 28);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_D2H, c, f->reg, 0, 4 * n,
			      0),
			 VGPU_S_OK);
	for (uint32_t i = 0; i < n; i++)
		assert_true(h[i] == (float)i + (float)(i + n));
	/* parameters that do not match the layout */
	r = launch(f->v, 1, fn, 0, 4, 256, p, 24);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_PARAMS);
	r = launch(f->v, 1, 9999, 0, 4, 256, p, 28);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE);
	/* a launch the driver refuses (no blocks) */
	r = launch(f->v, 1, fn, 0, 0, 256, p, 28);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_INVALID);
	r = launch(f->v, 1, fn, 77, 1, 1, p, 28);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE); /* stream */
}

static void globals(void **state)
{
	struct fx *f = *state;
	struct vgpu_global_info gi;
	struct vgpu_func_info fi;
	uint32_t st, fn, n = 16, bias = 1000;
	uint64_t in = mem_alloc(f->v, 1, 64), out = mem_alloc(f->v, 1, 64);
	int32_t *h = (int32_t *)f->reg->va;
	struct be_req *r = rq(f->v, 1, VGPU_OP_GLOBAL_GET);
	uint8_t p[20];

	r->sym.module = f->mod;
	r->sym.name = "g_bias";
	r->sym.global = &gi;
	assert_int_equal(rq_run(f->v, r), VGPU_S_OK);
	assert_int_equal(gi.size, 4);
	assert_int_equal(gi.dptr, r->result);
	memcpy(h, &bias, 4);
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_H2D, gi.dptr, f->reg, 0, 4,
			      0),
			 VGPU_S_OK);
	for (uint32_t i = 0; i < n; i++)
		h[i] = (int32_t)i;
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_H2D, in, f->reg, 0, 64, 0),
			 VGPU_S_OK);
	fn = func_get(f->v, 1, f->mod, K_ADD_BIAS, &fi, &st);
	memcpy(p, &in, 8);
	memcpy(p + 8, &out, 8);
	memcpy(p + 16, &n, 4);
	assert_int_equal(rq_wait(f->v, launch(f->v, 1, fn, 0, 1, 16, p, 20)),
			 VGPU_S_OK);
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_D2H, out, f->reg, 0, 64, 0),
			 VGPU_S_OK);
	assert_int_equal(h[15], 1015);
	r = rq(f->v, 1, VGPU_OP_GLOBAL_GET);
	r->sym.module = f->mod;
	r->sym.name = "nope";
	r->sym.global = &gi;
	assert_int_equal(rq_run(f->v, r), VGPU_S_NOT_FOUND);
	r = rq(f->v, 1, VGPU_OP_GLOBAL_GET);
	r->sym.module = 0;
	r->sym.name = "g_bias";
	assert_int_equal(rq_run(f->v, r), VGPU_S_BAD_HANDLE);
}

/* Module formats, and PTX compiled off the request path. */
static void modules(void **state)
{
	struct vm *v = vm_new("FAKECUDA_JIT_MS=400", NULL);
	size_t len;
	void *img;
	uint32_t st, m;
	struct be_req *load, *alloc;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	img = img_fatbin(K_NULL "\0", 90, &len);
	m = module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_OK);
	assert_non_null(strstr(vm_trace(v), "module_load inline"));
	free(img);
	/* a fatbin for another GPU: the driver would JIT its PTX */
	img = img_fatbin(K_NULL "\0", 80, &len);
	load = rq(v, 1, VGPU_OP_MODULE_LOAD);
	load->module.image = img;
	load->module.len = len;
	rq_submit(v, load);
	/* the session goes on meanwhile */
	alloc = rq(v, 1, VGPU_OP_MEM_ALLOC);
	alloc->mem.bytes = 4096;
	assert_int_equal(rq_run(v, alloc), VGPU_S_OK);
	assert_false(rq_done(load));
	assert_int_equal(rq_wait(v, load), VGPU_S_OK);
	assert_true(load->result != m);
	assert_non_null(strstr(vm_trace(v), "module_load jit"));
	free(img);
	img = img_ptx(K_FILL, &len);
	assert_true(module_load(v, 1, img, len, &st) != 0);
	free(img);
	img = img_ptx("FAKE_BAD_IMAGE", &len);
	module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_BAD_IMAGE);
	free(img);
	img = img_cubin("FAKE_BAD_IMAGE\0", &len);
	module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_BAD_IMAGE);
	module_load(v, 1, img, 0, &st);
	assert_int_equal(st, VGPU_S_BAD_IMAGE);
	free(img);
	load = rq(v, 1, VGPU_OP_MODULE_UNLOAD);
	load->module.module = m;
	assert_int_equal(rq_run(v, load), VGPU_S_OK);
	load = rq(v, 1, VGPU_OP_MODULE_UNLOAD);
	load->module.module = m;
	assert_int_equal(rq_run(v, load), VGPU_S_BAD_HANDLE);
	vm_free(v);
}

/* An image larger than a ring record travels in chunks; the per-VM
 * module limit refuses and recovers, across the VM's sessions. */
static void big_module_and_limit(void **state)
{
	struct cuda_be_opts o = { .module_limit = 1 << 20 };
	struct vm *v = vm_new(NULL, &o);
	size_t len = 700 << 10, clen;
	void *cub = img_cubin(K_VEC_ADD "\0", &clen);
	uint8_t *img = calloc(1, len);
	uint64_t shoff = len;
	uint32_t st, m1, m2;
	struct be_req *r;

	(void)state;
	memcpy(img, cub, clen);
	memcpy(img + 0x28, &shoff, 8);
	memcpy(img + len - 32, K_NULL, sizeof(K_NULL));
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	m1 = module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_OK);
	module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_LIMIT);
	r = rq(v, 1, VGPU_OP_MODULE_UNLOAD);
	r->module.module = m1;
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	m2 = module_load(v, 1, img, len, &st);
	assert_int_equal(st, VGPU_S_OK);
	assert_true(m2 != 0);
	assert_non_null(strstr(vm_trace(v), "module_load inline 716800"));
	/* the limit is the VM's: another session (another worker) too */
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	module_load(v, 2, img, len, &st);
	assert_int_equal(st, VGPU_S_LIMIT);
	v->b->ops->session_close(v->b, 1);
	m2 = module_load(v, 2, img, len, &st);
	assert_int_equal(st, VGPU_S_OK);
	free(cub);
	free(img);
	vm_free(v);
}

static void params_unsupported(void **state)
{
	struct vm *v = vm_new("FAKECUDA_NO_PARAMINFO=1", NULL);
	struct vgpu_func_info fi;
	size_t len;
	void *img = img_cubin(K_NULL "\0", &len);
	uint32_t st, m;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	m = module_load(v, 1, img, len, &st);
	func_get(v, 1, m, K_NULL, &fi, &st);
	assert_int_equal(st, VGPU_S_NOT_SUPPORTED);
	free(img);
	vm_free(v);
}

static struct be_req *obj(struct vm *v, uint32_t op, uint32_t stream,
			  uint32_t a, uint32_t b, uint32_t flags)
{
	struct be_req *r = rq(v, 1, op);

	r->stream = stream;
	r->obj.obj = a;
	r->obj.obj2 = b;
	r->obj.flags = flags;
	rq_submit(v, r);
	return r;
}

static void spin_params(uint8_t *p, long long ns)
{
	uint64_t zero = 0;

	memcpy(p, &ns, 8);
	memcpy(p + 8, &zero, 8);
}

static void streams_events(void **state)
{
	struct fx *f = *state;
	struct vgpu_func_info fi;
	uint32_t st, spin = func_get(f->v, 1, f->mod, K_SPIN, &fi, &st);
	struct be_req *s1, *e1, *e2, *e3, *k, *sync, *r;
	uint8_t p[16];

	s1 = obj(f->v, VGPU_OP_STREAM_CREATE, 0, 0, 0,
		 VGPU_STREAM_NON_BLOCKING);
	assert_int_equal(rq_wait(f->v, s1), VGPU_S_OK);
	e1 = obj(f->v, VGPU_OP_EVENT_CREATE, 0, 0, 0, 0);
	e2 = obj(f->v, VGPU_OP_EVENT_CREATE, 0, 0, 0, 0);
	e3 = obj(f->v, VGPU_OP_EVENT_CREATE, 0, 0, 0,
		 VGPU_EVENT_DISABLE_TIMING);
	assert_int_equal(rq_wait(f->v, e3), VGPU_S_OK);
	/* never recorded: done */
	r = obj(f->v, VGPU_OP_EVENT_QUERY, 0, (uint32_t)e1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	assert_int_equal(r->result, 1);
	r = obj(f->v, VGPU_OP_EVENT_RECORD, (uint32_t)s1->result,
		(uint32_t)e1->result, 0, 0);
	spin_params(p, 200000000); /* 200 ms */
	k = launch(f->v, 1, spin, (uint32_t)s1->result, 1, 1, p, 16);
	obj(f->v, VGPU_OP_EVENT_RECORD, (uint32_t)s1->result,
	    (uint32_t)e2->result, 0, 0);
	r = obj(f->v, VGPU_OP_EVENT_QUERY, 0, (uint32_t)e2->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	assert_int_equal(r->result, 0); /* the kernel still runs */
	assert_false(rq_done(k));
	sync = obj(f->v, VGPU_OP_EVENT_SYNC, 0, (uint32_t)e2->result, 0, 0);
	assert_int_equal(rq_wait(f->v, sync), VGPU_S_OK);
	assert_true(rq_done(k));
	r = obj(f->v, VGPU_OP_EVENT_ELAPSED, 0, (uint32_t)e1->result,
		(uint32_t)e2->result, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	assert_true(r->result >= 150000000 && r->result < 5000000000ull);
	r = obj(f->v, VGPU_OP_EVENT_ELAPSED, 0, (uint32_t)e1->result,
		(uint32_t)e3->result, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_INVALID);
	/* a stream waits for an event; STREAM_SYNC and CTX_SYNC */
	k = launch(f->v, 1, spin, 0, 1, 1, p, 16);
	obj(f->v, VGPU_OP_EVENT_RECORD, 0, (uint32_t)e3->result, 0, 0);
	r = obj(f->v, VGPU_OP_STREAM_WAIT_EVENT, (uint32_t)s1->result, 0,
		(uint32_t)e3->result, 0);
	/* the stream named as the ABI names it, in obj.obj */
	sync = obj(f->v, VGPU_OP_STREAM_SYNC, 0, (uint32_t)s1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, sync), VGPU_S_OK);
	assert_true(rq_done(k) && rq_done(r));
	assert_int_equal(rq_wait(f->v, obj(f->v, VGPU_OP_CTX_SYNC, 0, 0, 0, 0)),
			 VGPU_S_OK);
	r = obj(f->v, VGPU_OP_STREAM_WAIT_EVENT, 0, 0, 9999, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE);
	r = obj(f->v, VGPU_OP_EVENT_DESTROY, 0, (uint32_t)e1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	r = obj(f->v, VGPU_OP_EVENT_SYNC, 0, (uint32_t)e1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE);
	r = obj(f->v, VGPU_OP_STREAM_DESTROY, 0, (uint32_t)s1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_OK);
	r = obj(f->v, VGPU_OP_STREAM_DESTROY, 0, (uint32_t)s1->result, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE);
	r = obj(f->v, VGPU_OP_STREAM_SYNC, (uint32_t)s1->result, 0, 0, 0);
	assert_int_equal(rq_wait(f->v, r), VGPU_S_BAD_HANDLE);
}

/* A synchronize needs no event of its own: done at once when nothing
 * is in flight, else by the event of the batch before it; never before
 * the work it follows. */
static void sync_shares_events(void **state)
{
	struct fx *f = *state;
	struct vgpu_func_info fi;
	uint32_t st, spin = func_get(f->v, 1, f->mod, K_SPIN, &fi, &st);
	struct cuda_be_stats a, b;
	struct be_req *k, *sync;
	uint8_t p[16];

	backend_cuda_stats(f->v->b, &a);
	sync = obj(f->v, VGPU_OP_STREAM_SYNC, 0, 0, 0, 0);
	assert_int_equal(rq_wait(f->v, sync), VGPU_S_OK);
	backend_cuda_stats(f->v->b, &b);
	assert_int_equal(b.w.markers_joined - a.w.markers_joined, 1);
	assert_int_equal(b.w.records, a.w.records);
	spin_params(p, 300000000); /* 300 ms */
	k = launch(f->v, 1, spin, 0, 1, 1, p, 16);
	/* until its batch is closed: its event recorded */
	do
		backend_cuda_stats(f->v->b, &b);
	while (b.w.records == a.w.records);
	sync = obj(f->v, VGPU_OP_STREAM_SYNC, 0, 0, 0, 0);
	assert_int_equal(rq_wait(f->v, sync), VGPU_S_OK);
	assert_true(rq_done(k)); /* the kernel's completion came first */
	assert_int_equal(rq_wait(f->v, k), VGPU_S_OK);
	backend_cuda_stats(f->v->b, &b);
	assert_int_equal(b.w.markers_joined - a.w.markers_joined, 2);
	assert_int_equal(b.w.records - a.w.records, 1);
}

/* Many launches at once: the ring fills, the FIFO holds the rest in
 * order, everything completes exactly once. */
static void ring_full(void **state)
{
	struct fx *f = *state;
	struct vgpu_func_info fi;
	uint32_t st, fn = func_get(f->v, 1, f->mod, K_FILL, &fi, &st);
	uint64_t d = mem_alloc(f->v, 1, 4 * 3000);
	struct be_req *r[3000];
	uint8_t p[16];

	for (int i = 0; i < 3000; i++) {
		int v = i, n = i + 1;

		memcpy(p, &d, 8);
		memcpy(p + 8, &v, 4);
		memcpy(p + 12, &n, 4);
		r[i] = launch(f->v, 1, fn, 0, (uint32_t)(i / 256 + 1), 256, p,
			      16);
	}
	for (int i = 0; i < 3000; i++)
		assert_int_equal(rq_wait(f->v, r[i]), VGPU_S_OK);
	assert_int_equal(copy(f->v, 1, VGPU_OP_COPY_D2H, d, f->reg, 0, 4 * 3000,
			      0),
			 VGPU_S_OK);
	/* launch i wrote i over [0, i]: element j holds the last, 2999 */
	assert_int_equal(((int32_t *)f->reg->va)[0], 2999);
	assert_int_equal(((int32_t *)f->reg->va)[2999], 2999);
}

static void compute_1_1(void **state)
{
	struct fx *f = *state;
	uint64_t a = mem_alloc(f->v, 1, 4096), b = mem_alloc(f->v, 1, 4096);
	uint32_t *h = (uint32_t *)f->reg->va, x = 0;
	struct be_req *r;

	for (uint32_t i = 0; i < 1024; i++) {
		h[i] = i * 7;
		x ^= i * 7;
	}
	copy(f->v, 1, VGPU_OP_COPY_H2D, a, f->reg, 0, 4096, 0);
	r = rq(f->v, 1, VGPU_OP_COMPUTE);
	r->compute.kernel = VGPU_K_ADD1_U32;
	r->compute.dst = b;
	r->compute.src = a;
	r->compute.len = 4096;
	assert_int_equal(rq_run(f->v, r), VGPU_S_OK);
	assert_int_equal(r->result, 1024);
	copy(f->v, 1, VGPU_OP_COPY_D2H, b, f->reg, 8192, 4096, 0);
	assert_int_equal(h[2048 + 5], 36);
	r = rq(f->v, 1, VGPU_OP_COMPUTE);
	r->compute.kernel = VGPU_K_XOR_U32;
	r->compute.src = a;
	r->compute.len = 4096;
	assert_int_equal(rq_run(f->v, r), VGPU_S_OK);
	assert_int_equal(r->result, x);
	r = rq(f->v, 1, VGPU_OP_COMPUTE);
	r->compute.kernel = 99;
	r->compute.len = 4;
	assert_int_equal(rq_run(f->v, r), VGPU_S_INVALID);
	r = rq(f->v, 1, 0x7f); /* no such operation */
	assert_int_equal(rq_run(f->v, r), VGPU_S_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(vec_add, setup, teardown),
		cmocka_unit_test_setup_teardown(globals, setup, teardown),
		cmocka_unit_test(modules),
		cmocka_unit_test(big_module_and_limit),
		cmocka_unit_test(params_unsupported),
		cmocka_unit_test_setup_teardown(streams_events, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sync_shares_events, setup,
						teardown),
		cmocka_unit_test_setup_teardown(ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(compute_1_1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
