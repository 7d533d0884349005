// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's data path through the real proxy, rings and worker
 * process (with the fake libcuda): device info, sessions, memory, copies
 * with zero copies and through staging, modules (inline and JIT),
 * launches, streams and events.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cuda_harness.h"

#define KERNELS                                                        \
	K_NULL "\0" K_VEC_ADD "\0" K_ADD_BIAS "\0" K_MIXED "\0" K_SPIN \
	       "\0" K_POKE "\0" K_FILL "\0g_bias\0"

static void fill(uint8_t *p, uint64_t n, uint32_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
}

static void device_info(void **state)
{
	struct cuda_be_opts o = { .quota = 256ull << 20 };
	struct vm *v = vm_new(NULL, &o);
	struct vgpu_device_info di;
	struct be_req *r;

	(void)state;
	assert_non_null(v->b);
	assert_string_equal(v->b->ops->name, "cuda");
	/* the fake's context takes 64 MiB: measured, not assumed */
	assert_int_equal(v->b->session_overhead, 64ull << 20);
	assert_int_equal(v->b->ops->session_open(v->b, 7), 0);
	r = rq(v, 7, VGPU_OP_DEVICE_INFO);
	r->devinfo = &di;
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	assert_string_equal(di.name, "Fake GPU 0");
	assert_string_equal(di.backend, "cuda");
	assert_int_equal(di.total_mem, 256ull << 20); /* min(device, quota) */
	assert_int_equal(di.cc_major, 9);
	assert_int_equal(di.cc_minor, 0);
	assert_int_equal(di.driver_version, 13000);
	assert_int_equal(di.nattrs, 148);
	assert_int_equal(di.attr[1], 1024); /* MAX_THREADS_PER_BLOCK */
	assert_int_equal(di.attr[100], 0); /* an attribute the driver refuses */
	assert_int_equal(di.attr[50], 50);
	assert_int_equal((uint8_t)di.uuid[0], 0xf0);
	v->b->ops->session_close(v->b, 7);
	vm_free(v);
}

/* The probe keeps only samples that nothing else disturbed: with the
 * free memory changing all the time, it charges the default. */
static void context_cost_disturbed(void **state)
{
	struct vm *v = vm_new("FAKECUDA_FREE_DRIFT=1", NULL);

	(void)state;
	assert_non_null(v->b);
	assert_int_equal(v->b->session_overhead, 512ull << 20);
	vm_free(v);
}

static void no_gpu(void **state)
{
	struct vm *v = vm_new("FAKECUDA_NO_DEVICE=1", NULL);

	(void)state;
	assert_null(v->b);
	assert_non_null(strstr(v->err, "CUDA_ERROR_NO_DEVICE"));
	assert_non_null(strstr(v->err, "no NVIDIA GPU"));
	vm_free(v);
}

static void gpu_by_index_and_uuid(void **state)
{
	struct cuda_be_opts o = { .gpu = "1" };
	struct vm *v = vm_new("FAKECUDA_DEVICES=2", &o);

	(void)state;
	assert_non_null(v->b);
	vm_free(v);
	o.gpu = "5";
	v = vm_new("FAKECUDA_DEVICES=2", &o);
	assert_null(v->b);
	assert_non_null(strstr(v->err, "no CUDA device 5 (this host has 2)"));
	vm_free(v);
	o.gpu = "GPU-f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfe01";
	v = vm_new("FAKECUDA_DEVICES=2", &o);
	assert_non_null(v->b);
	vm_free(v);
	o.gpu = "GPU-00000000-0000-0000-0000-000000000000";
	v = vm_new(NULL, &o);
	assert_null(v->b);
	assert_non_null(strstr(v->err, "no CUDA device with UUID"));
	vm_free(v);
}

/* The real worker, on this GPU-less host: a clear error, no crash. */
static void real_worker_without_gpu(void **state)
{
	struct cuda_spawner_opts so = { .worker = REAL_WORKER };
	struct cuda_be_opts o = { .hello_ms = 20000 };
	char err[256] = "";
	struct backend *b;
	int sp;

	(void)state;
	sp = cuda_spawner_start(&so, NULL, err, sizeof(err));
	if (sp < 0)
		skip(); /* no real worker in this build */
	o.spawner_fd = sp;
	b = backend_cuda_create(&o, err, sizeof(err));
	if (b) {
		b->ops->destroy(b); /* a host with a GPU */
		close(sp);
		skip();
	}
	assert_true(strstr(err, "libcuda") || strstr(err, "cuInit"));
	close(sp);
	so.worker = "/nonexistent/vgpu-cuda-worker";
	assert_int_equal(cuda_spawner_start(&so, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot run the CUDA worker"));
}

/* Fresh allocations never show old data, zero-copy both ways. */
static void zero_copy(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_region *reg;
	uint64_t d, n = 3 << 20;
	uint8_t *want = malloc(n);

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 11, 8 << 20, true);
	d = mem_alloc(v, 1, n);
	assert_true(d != 0);
	memset(reg->va, 0x55, n);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, reg, 0, n, 0),
			 VGPU_S_OK);
	for (uint64_t i = 0; i < n; i++)
		if (reg->va[i]) /* the fake gives 0xdb: another's data */
			fail_msg("fresh allocation not zero at %llu",
				 (unsigned long long)i);
	fill(reg->va + 4096, n, 1);
	memcpy(want, reg->va + 4096, n);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_H2D, d, reg, 4096, n, 0),
			 VGPU_S_OK);
	memset(reg->va, 0, 8 << 20);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, reg, 1 << 20, n, 0),
			 VGPU_S_OK);
	assert_memory_equal(reg->va + (1 << 20), want, n);
	/* the worker mapped the client's memory and DMAd it, pinned */
	assert_non_null(strstr(vm_trace(v), "register 8388608"));
	assert_non_null(strstr(vm_trace(v), "copy_h2d 3145728 pinned"));
	assert_null(strstr(vm_trace(v), "pageable"));
	/* a range outside the region: refused by the worker as well */
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, reg, 7 << 20, n, 0),
			 VGPU_S_BAD_HANDLE);
	region_free(v, 1, reg);
	v->b->ops->session_close(v->b, 1);
	free(want);
	vm_free(v);
}

/* Regions without a file (Xen): pipelined chunks through staging. */
static void staged(void **state)
{
	struct cuda_be_opts o = { .slot_bytes = 256 << 10,
				  .nslots = 4,
				  .stage_threads = 2 };
	struct vm *v = vm_new(NULL, &o);
	uint64_t n = (5 << 20) + 12345, d;
	struct be_region *reg;
	uint8_t *want = malloc(n);
	struct be_req *r;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	reg = region_new(v, 2, 21, 16 << 20, false);
	d = mem_alloc(v, 2, n);
	fill(reg->va, n, 7);
	memcpy(want, reg->va, n);
	/* H2D, then, in stream order, a D2H of the same bytes */
	r = rq(v, 2, VGPU_OP_COPY_H2D);
	r->copy.dptr = d;
	r->copy.region = reg;
	r->copy.len = n;
	rq_submit(v, r);
	assert_int_equal(copy(v, 2, VGPU_OP_COPY_D2H, d, reg, 8 << 20, n, 0),
			 VGPU_S_OK);
	assert_int_equal(rq_wait(v, r), VGPU_S_OK);
	assert_memory_equal(reg->va + (8 << 20), want, n);
	assert_non_null(strstr(vm_trace(v), "register 1048576"));
	assert_non_null(strstr(vm_trace(v), "copy_h2d 262144 pinned"));
	assert_non_null(strstr(vm_trace(v), "copy_d2h 12345 pinned"));
	/* nothing to move */
	assert_int_equal(copy(v, 2, VGPU_OP_COPY_H2D, d, reg, 0, 0, 0),
			 VGPU_S_OK);
	region_free(v, 2, reg);
	v->b->ops->session_close(v->b, 2);
	free(want);
	vm_free(v);
}

/* The same path for a region with a file, on request (benchmarks). */
static void stage_all(void **state)
{
	struct cuda_be_opts o = { .stage_all = true };
	struct vm *v = vm_new(NULL, &o);
	struct be_region *reg;
	uint64_t d;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 3), 0);
	reg = region_new(v, 3, 31, 1 << 20, true);
	d = mem_alloc(v, 3, 4096);
	memset(reg->va, 0x42, 4096);
	assert_int_equal(copy(v, 3, VGPU_OP_COPY_H2D, d, reg, 0, 4096, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, 3, VGPU_OP_COPY_D2H, d, reg, 8192, 4096, 0),
			 VGPU_S_OK);
	assert_memory_equal(reg->va, reg->va + 8192, 4096);
	assert_null(strstr(vm_trace(v), "register 1048576"));
	region_free(v, 3, reg);
	vm_free(v);
}

/* A region past the pinned limit, or one the driver will not register,
 * still works. */
static void pinned_limit_and_refusal(void **state)
{
	struct cuda_be_opts o = { .pinned_limit = 1 << 20 };
	struct vm *v = vm_new(NULL, &o);
	struct be_region *big, *small;
	uint64_t d;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	small = region_new(v, 1, 1, 1 << 20, true);
	big = region_new(v, 1, 2, 2 << 20, true); /* over: staged */
	d = mem_alloc(v, 1, 8192);
	memset(big->va, 0x17, 8192);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_H2D, d, big, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, small, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(small->va[8191], 0x17);
	assert_null(strstr(vm_trace(v), "register 2097152"));
	region_free(v, 1, big);
	region_free(v, 1, small);
	vm_free(v);

	v = vm_new("FAKECUDA_REGISTER_FAIL=1", NULL);
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	small = region_new(v, 1, 1, 1 << 20, true);
	d = mem_alloc(v, 1, 8192);
	memset(small->va, 0x23, 8192);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_H2D, d, small, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, small, 8192, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(small->va[16383], 0x23);
	assert_non_null(strstr(vm_trace(v), "copy_h2d 8192 pageable"));
	region_free(v, 1, small);
	/* staging that the driver will not register works too */
	small = region_new(v, 1, 2, 1 << 20, false);
	memset(small->va, 0x24, 8192);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_H2D, d, small, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, small, 8192, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(small->va[16383], 0x24);
	region_free(v, 1, small);
	vm_free(v);
}

static void memset_d2d(void **state)
{
	struct vm *v = vm_new(NULL, NULL);
	struct be_region *reg;
	uint64_t a, b;
	struct be_req *r;
	uint32_t elems[] = { 1, 2, 4 };

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 1 << 20, true);
	a = mem_alloc(v, 1, 4096);
	b = mem_alloc(v, 1, 4096);
	for (unsigned int i = 0; i < 3; i++) {
		r = rq(v, 1, VGPU_OP_MEMSET);
		r->memset.dptr = a;
		r->memset.count = 4096 / elems[i];
		r->memset.value = 0x11223344;
		r->memset.elem = elems[i];
		assert_int_equal(rq_run(v, r), VGPU_S_OK);
		r = rq(v, 1, VGPU_OP_COPY_D2D);
		r->d2d.dst = b;
		r->d2d.src = a;
		r->d2d.len = 4096;
		assert_int_equal(rq_run(v, r), VGPU_S_OK);
		assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, b, reg, 0, 4096,
				      0),
				 VGPU_S_OK);
		assert_int_equal(reg->va[0], 0x44);
		assert_int_equal(reg->va[1], elems[i] == 1 ? 0x44 : 0x33);
		assert_int_equal(reg->va[4095], elems[i] == 4 ? 0x11 :
						elems[i] == 2 ? 0x33 :
								0x44);
	}
	r = rq(v, 1, VGPU_OP_MEMSET);
	r->memset.dptr = a;
	r->memset.count = 1;
	r->memset.elem = 3;
	assert_int_equal(rq_run(v, r), VGPU_S_INVALID);
	r = rq(v, 1, VGPU_OP_MEM_FREE);
	r->mem.dptr = a;
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	r = rq(v, 1, VGPU_OP_MEM_FREE);
	r->mem.dptr = a; /* twice: the driver says no */
	assert_int_equal(rq_run(v, r), VGPU_S_INVALID);
	r = rq(v, 1, VGPU_OP_MEM_ALLOC);
	r->mem.bytes = 0;
	assert_int_equal(rq_run(v, r), VGPU_S_INVALID);
	region_free(v, 1, reg);
	vm_free(v);
}

/* Without the zeroing, the driver's old data shows (what the fake gives
 * by default): the zero_copy test would fail. */
static void no_zero_shows_old_data(void **state)
{
	struct cuda_be_opts o = { .no_zero = true };
	struct vm *v = vm_new(NULL, &o);
	struct be_region *reg;
	uint64_t d;

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 1 << 20, true);
	d = mem_alloc(v, 1, 4096);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, reg, 0, 4096, 0),
			 VGPU_S_OK);
	assert_int_equal(reg->va[100], 0xdb);
	region_free(v, 1, reg);
	vm_free(v);
}

/* A session closed with everything still held (its process died), and
 * a region the proxy never saw (staged, from the engine's mapping). */
static void close_with_everything_held(void **state)
{
	struct cuda_be_opts o = { .max_sessions = 100, .nslots = 100 };
	struct vm *v = vm_new(NULL, &o);
	struct be_region *reg, anon = { .id = 77, .fd = -1, .len = 8192 };
	struct be_req *r;
	uint64_t d;
	uint8_t buf[8192];

	(void)state;
	assert_int_equal(v->b->ops->session_open(v->b, 1), 0);
	reg = region_new(v, 1, 1, 1 << 20, true);
	d = mem_alloc(v, 1, 8192);
	r = rq(v, 1, VGPU_OP_STREAM_CREATE);
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	r = rq(v, 1, VGPU_OP_EVENT_CREATE);
	assert_int_equal(rq_run(v, r), VGPU_S_OK);
	memset(buf, 0x3c, sizeof(buf));
	anon.va = buf;
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_H2D, d, &anon, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(copy(v, 1, VGPU_OP_COPY_D2H, d, reg, 0, 8192, 0),
			 VGPU_S_OK);
	assert_int_equal(reg->va[8191], 0x3c);
	v->b->ops->session_close(v->b, 1);
	for (int i = 0; i < 20; i++)
		vm_poll(v, 10);
	assert_non_null(strstr(vm_trace(v), "ctx_destroy"));
	assert_int_equal(v->b->ops->session_open(v->b, 2), 0);
	munmap(reg->va, reg->len);
	close(reg->fd);
	free(reg);
	vm_free(v);
}

/* One slot, used again and again: each close frees it for the next. */
static void slot_reuse(void **state)
{
	struct cuda_be_opts o = { .max_sessions = 1 };
	struct vm *v = vm_new(NULL, &o);

	(void)state;
	for (uint32_t i = 1; i <= 20; i++) {
		int rc = -1;

		for (int k = 0; k < 200 && rc != 0; k++) {
			rc = v->b->ops->session_open(v->b, i);
			if (rc == -EMFILE)
				vm_poll(v, 10); /* until CLOSED came */
		}
		assert_int_equal(rc, 0);
		assert_true(mem_alloc(v, i, 4096) != 0);
		v->b->ops->session_close(v->b, i);
	}
	vm_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_info),
		cmocka_unit_test(context_cost_disturbed),
		cmocka_unit_test(no_gpu),
		cmocka_unit_test(gpu_by_index_and_uuid),
		cmocka_unit_test(real_worker_without_gpu),
		cmocka_unit_test(zero_copy),
		cmocka_unit_test(staged),
		cmocka_unit_test(stage_all),
		cmocka_unit_test(pinned_limit_and_refusal),
		cmocka_unit_test(memset_d2d),
		cmocka_unit_test(no_zero_shows_old_data),
		cmocka_unit_test(close_with_everything_held),
		cmocka_unit_test(slot_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
