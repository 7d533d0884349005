// SPDX-License-Identifier: MIT
/*
 * The guest core (guest/lib/core*.c) against the fake session queue
 * (fake_dev.c): submission, completion matching, flow control, the
 * doorbell protocol, staged and pinned copies, launches with
 * continuation slots, errors, module images, the pool allocator.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "core_pool.h"
#include "fake_dev.h"

static struct vgpu_sess *open_fake(uint32_t depth, uint64_t pool)
{
	struct vgpu_tr_params p = { .sq_depth = depth, .pool_bytes = pool };
	struct vgpu_sess *s = NULL;

	assert_int_equal(vgpu_sess_open(&s, &fake_tr_ops, &p), VGPU_S_OK);
	return s;
}

static void t_old_abi(void **state)
{
	struct vgpu_sess *s = NULL;

	(void)state;
	assert_int_equal(vgpu_sess_open(&s, &fake_tr_ops_old, NULL),
			 VGPU_L_OLD_ABI);
	assert_null(s);
}

static void t_device_info_cached(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	const struct vgpu_device_info *a, *b;

	(void)state;
	assert_int_equal(vgpu_device_info(s, &a), VGPU_S_OK);
	assert_string_equal(a->name, "fake");
	assert_int_equal(a->attr[1], 1024);
	assert_int_equal(vgpu_device_info(s, &b), VGPU_S_OK);
	assert_ptr_equal(a, b);
	assert_int_equal(FAKE(s)->commands, 1); /* asked once */
	vgpu_sess_close(s);
}

/* Completions posted last first still reach their own waiters. */
static void t_out_of_order(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	unsigned t[3];
	uint64_t r[3];
	struct vgpu_sqe e;
	int i;

	(void)state;
	FAKE(s)->cfg.lazy = true;
	FAKE(s)->cfg.reverse = true;
	for (i = 0; i < 3; i++) {
		memset(&e, 0, sizeof(e));
		e.opcode = VGPU_OP_MEM_ALLOC;
		e.arg[0] = 4096u * (unsigned)(i + 1);
		assert_int_equal(vgpu_submit(s, &e, &t[i]), VGPU_S_OK);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(vgpu_wait(s, t[i], &r[i]), VGPU_S_OK);
	/* the fake hands out addresses in submission order */
	assert_true(r[0] < r[1] && r[1] < r[2]);
	assert_int_equal(FAKE(s)->alloc[0].len, 4096);
	assert_int_equal(FAKE(s)->alloc[2].len, 3 * 4096);
	vgpu_sess_close(s);
}

/* A device that polls (NEED_DOORBELL clear) gets no doorbells. */
static void t_doorbell_protocol(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	struct vgpu_sess_stats st;
	uint64_t d;
	unsigned bells;

	(void)state;
	assert_int_equal(vgpu_mem_alloc(s, 64, &d), VGPU_S_OK);
	bells = FAKE(s)->doorbells;
	assert_int_equal(bells, 1);
	/* from now on the device says it polls */
	FAKE(s)->cfg.polling = true;
	FAKE(s)->cfg.lazy = true;
	FAKE(s)->hdr->dev_flags.v = 0;
	assert_int_equal(vgpu_mem_alloc(s, 64, &d), VGPU_S_OK);
	assert_int_equal(vgpu_mem_alloc(s, 64, &d), VGPU_S_OK);
	assert_int_equal(FAKE(s)->doorbells, bells);
	vgpu_sess_stats(s, &st);
	assert_int_equal(st.doorbells, bells);
	assert_int_equal(st.commands, 3);
	vgpu_sess_close(s);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

/* Ordinary memory is staged in chunks, several in flight at once. */
static void t_staged_copies(void **state)
{
	struct vgpu_sess *s = open_fake(0, 256 * 1024);
	size_t n = 300 * 1024 + 123; /* several chunks, a ragged end */
	uint8_t *src = malloc(n), *dst = calloc(1, n);
	uint64_t d;

	(void)state;
	FAKE(s)->cfg.lazy = true;
	fill(src, n, 7);
	assert_int_equal(vgpu_mem_alloc(s, n, &d), VGPU_S_OK);
	assert_int_equal(vgpu_copy_h2d(s, d, src, n, 0, 0), VGPU_S_OK);
	assert_true(FAKE(s)->max_copies_batch >= 2); /* pipelined */
	assert_int_equal(vgpu_copy_d2h(s, dst, d, n, 0, 0), VGPU_S_OK);
	assert_memory_equal(src, dst, n);
	/* an offset inside the allocation, and one byte */
	memset(dst, 0, n);
	assert_int_equal(vgpu_copy_d2h(s, dst, d + 4097, 1, 0, 0), VGPU_S_OK);
	assert_int_equal(dst[0], src[4097]);
	free(src);
	free(dst);
	vgpu_sess_close(s);
}

/* A large copy runs on several threads, each through chunks of its own;
 * a small one is cut finer than the staging chunks, to be pipelined. */
static void t_staged_copies_threads(void **state)
{
	struct vgpu_sess *s;
	size_t n = (6 << 20) + 123;
	uint8_t *src = malloc(n), *dst = calloc(1, n);
	struct vgpu_sess_stats st;
	uint64_t d;

	(void)state;
	setenv("VGPU_COPY_THREADS", "4", 1);
	s = open_fake(0, 8 << 20); /* staging: 8 chunks of 512 KiB */
	unsetenv("VGPU_COPY_THREADS");
	fill(src, n, 9);
	assert_int_equal(vgpu_mem_alloc(s, n, &d), VGPU_S_OK);
	assert_int_equal(vgpu_copy_h2d(s, d, src, n, 0, 0), VGPU_S_OK);
	vgpu_sess_stats(s, &st);
	assert_int_equal(st.copy_threads, 4); /* 8 chunks: 2 each */
	assert_int_equal(vgpu_copy_d2h(s, dst, d, n, 0, 0), VGPU_S_OK);
	assert_memory_equal(src, dst, n);
	/* 1 MiB: four chunks of 256 KiB, one thread */
	memset(dst, 0, n);
	assert_int_equal(vgpu_copy_d2h(s, dst, d + 100, 1 << 20, 0, 0),
			 VGPU_S_OK);
	assert_memory_equal(src + 100, dst, 1 << 20);
	free(src);
	free(dst);
	vgpu_sess_close(s);
}

/* Pinned memory goes to the device by (region, offset), no staging. */
static void t_pinned_copies(void **state)
{
	struct vgpu_sess *s = open_fake(0, 1 << 20);
	uint8_t *small, *big;
	uint32_t region;
	uint64_t off, d, size;
	void *base;

	(void)state;
	assert_int_equal(vgpu_host_alloc(s, 1000, (void **)&small), VGPU_S_OK);
	assert_int_equal(vgpu_host_alloc(s, 3 << 20, (void **)&big), VGPU_S_OK);
	assert_int_equal(vgpu_host_lookup(s, small + 10, 100, &region, &off),
			 VGPU_S_OK);
	assert_int_equal(region, vgpu_sess_tr(s)->pool_region);
	assert_ptr_equal((uint8_t *)vgpu_sess_tr(s)->pool + off, small + 10);
	assert_int_not_equal(vgpu_host_lookup(s, small, 1 << 20, &region, &off),
			     VGPU_S_OK); /* runs past the allocation */
	assert_int_equal(vgpu_host_lookup(s, big + 5, 10, &region, &off),
			 VGPU_S_OK);
	assert_int_not_equal(region, vgpu_sess_tr(s)->pool_region);
	assert_int_equal(off, 5);
	assert_int_equal(vgpu_host_range(s, big + 99, &base, &size), VGPU_S_OK);
	assert_ptr_equal(base, big);

	fill(big, 3 << 20, 3);
	assert_int_equal(vgpu_mem_alloc(s, 3 << 20, &d), VGPU_S_OK);
	assert_int_equal(vgpu_copy_h2d(s, d, big, 3 << 20, 0, 1), VGPU_S_OK);
	assert_int_equal(vgpu_copy_d2h(s, small, d + 1000, 1000, 0, 0),
			 VGPU_S_OK);
	assert_memory_equal(small, big + 1000, 1000);
	assert_int_equal(vgpu_host_free(s, small), VGPU_S_OK);
	assert_int_equal(vgpu_host_free(s, big), VGPU_S_OK);
	assert_int_equal(vgpu_host_free(s, big), VGPU_S_INVALID);
	vgpu_sess_close(s);
}

/* Parameters travel in continuation slots, across the ring's end. */
static void t_launch_continuation(void **state)
{
	struct vgpu_sess *s = open_fake(8, 0);
	uint8_t params[200];
	struct vgpu_launch l = { .func = 11,
				 .stream = 0,
				 .grid = { 2, 3, 4 },
				 .block = { 32, 1, 1 },
				 .shmem = 64,
				 .param_len = sizeof(params),
				 .params = params };
	int i;

	(void)state;
	fill(params, sizeof(params), 1);
	for (i = 0; i < 5; i++) { /* 5 x 5 slots in a ring of 8: wraps */
		params[0] = (uint8_t)i;
		assert_int_equal(vgpu_launch(s, &l), VGPU_S_OK);
		assert_int_equal(vgpu_ctx_sync(s), VGPU_S_OK);
		assert_int_equal(FAKE(s)->launches, i + 1);
		assert_memory_equal(FAKE(s)->last_params, params,
				    sizeof(params));
	}
	assert_int_equal(FAKE(s)->last_launch.grid[2], 4);
	assert_int_equal(FAKE(s)->last_launch.shmem, 64);
	/* more than the ring holds: refused, not hung */
	l.param_len = VGPU_PARAM_MAX;
	assert_int_equal(vgpu_launch(s, &l), VGPU_S_INVALID);
	vgpu_sess_close(s);
}

/* A full SQ of asynchronous launches: the submitter sleeps on the
 * completions of the commands it marked, and nothing is lost. */
static void t_sq_full(void **state)
{
	struct vgpu_sess *s = open_fake(16, 0);
	struct vgpu_launch l = { .func = 11,
				 .grid = { 1, 1, 1 },
				 .block = { 1, 1, 1 } };
	struct vgpu_sess_stats st;
	int i;

	(void)state;
	FAKE(s)->cfg.lazy = true;
	FAKE(s)->cfg.per_wait = 3; /* a slow device */
	for (i = 0; i < 200; i++)
		assert_int_equal(vgpu_launch(s, &l), VGPU_S_OK);
	assert_int_equal(vgpu_ctx_sync(s), VGPU_S_OK);
	assert_int_equal(FAKE(s)->launches, 200);
	assert_true(FAKE(s)->marks >= 200 / 4 - 1);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_OK);
	vgpu_sess_stats(s, &st);
	assert_true(st.sq_full > 0);
	vgpu_sess_close(s);
}

/* A failed asynchronous command is reported once; a fault sticks. */
static void t_errors(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	struct vgpu_launch l = { .func = 11,
				 .grid = { 1, 1, 1 },
				 .block = { 1, 1, 1 } };
	uint64_t d;

	(void)state;
	FAKE(s)->inject = VGPU_S_BAD_PARAMS;
	assert_int_equal(vgpu_launch(s, &l), VGPU_S_OK);
	assert_int_equal(vgpu_ctx_sync(s), VGPU_S_OK);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_BAD_PARAMS);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_OK);

	FAKE(s)->inject = VGPU_S_FAULT;
	assert_int_equal(vgpu_launch(s, &l), VGPU_S_OK);
	/* the device says SESSION_LOST; the session reports what lost it */
	assert_int_equal(vgpu_ctx_sync(s), VGPU_S_FAULT);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_FAULT);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_FAULT);
	/* refused here, without a round trip */
	d = FAKE(s)->commands;
	assert_int_equal(vgpu_mem_alloc(s, 64, &d), VGPU_S_FAULT);
	assert_int_equal(vgpu_launch(s, &l), VGPU_S_FAULT);
	vgpu_sess_close(s);
}

/* A completion for a command nobody submitted breaks the session. */
static void t_bogus_completion(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	uint64_t d;

	(void)state;
	FAKE(s)->bogus_cid = true;
	vgpu_mem_alloc(s, 64, &d);
	assert_int_equal(vgpu_sticky_error(s), VGPU_L_QUEUE);
	vgpu_sess_close(s);
}

/* Module images: the image (not the wrapper) travels; names and
 * layouts come back, a layout past its own size is refused. */
static void t_modules(void **state)
{
	struct vgpu_sess *s = open_fake(0, 0);
	uint8_t img[64] = { 0 };
	uint32_t magic = VGPU_FATBIN_IMAGE_MAGIC, m, f;
	uint16_t hdr = 16;
	uint64_t body = 48, size;
	struct {
		uint32_t magic, version;
		const void *data, *rdc;
	} wrap = { VGPU_FATBIN_WRAPPER_MAGIC, 1, img, NULL };
	const void *p = &wrap;
	struct vgpu_func_info *fi = calloc(1, sizeof(*fi));

	(void)state;
	memcpy(img, &magic, 4);
	memcpy(img + 6, &hdr, 2);
	memcpy(img + 8, &body, 8);
	assert_int_equal(vgpu_image_size(&p, &size), VGPU_S_OK);
	assert_ptr_equal(p, img);
	assert_int_equal(size, 64);
	assert_int_equal(vgpu_module_load(s, p, size, &m), VGPU_S_OK);
	assert_int_equal(FAKE(s)->image_len, 64);
	assert_int_equal(FAKE(s)->image_magic, VGPU_FATBIN_IMAGE_MAGIC);

	FAKE(s)->layout.nparams = 2;
	FAKE(s)->layout.param_bytes = 12;
	FAKE(s)->layout.param[0] = (struct vgpu_param){ 0, 8 };
	FAKE(s)->layout.param[1] = (struct vgpu_param){ 8, 4 };
	assert_int_equal(vgpu_func_get(s, m, "_Z3fooPfi", &f, fi), VGPU_S_OK);
	assert_string_equal(FAKE(s)->last_name, "_Z3fooPfi");
	assert_int_equal(f, 11);
	assert_int_equal(fi->param[1].offset, 8);
	FAKE(s)->layout.param[1] = (struct vgpu_param){ 8, 8 };
	assert_int_equal(vgpu_func_get(s, m, "_Z3fooPfi", &f, fi),
			 VGPU_L_QUEUE);
	free(fi);
	vgpu_sess_close(s);
}

static void t_image_kinds(void **state)
{
	const char *ptx = "//\n.version 8.0\n.target sm_90\n";
	const uint8_t junk[] = { 1, 2, 3, 4, 0 };
	const void *p;
	uint64_t size;

	(void)state;
	p = ptx;
	assert_int_equal(vgpu_image_size(&p, &size), VGPU_S_OK);
	assert_int_equal(size, strlen(ptx) + 1);
	p = junk;
	assert_int_equal(vgpu_image_size(&p, &size), VGPU_S_BAD_IMAGE);
	p = NULL;
	assert_int_equal(vgpu_image_size(&p, &size), VGPU_S_BAD_IMAGE);
}

static void *worker(void *arg)
{
	struct vgpu_sess *s = arg;
	struct vgpu_launch l = { .func = 11,
				 .grid = { 1, 1, 1 },
				 .block = { 1, 1, 1 } };
	uint8_t in[5000], out[5000];
	uintptr_t bad = 0;
	int i;

	for (i = 0; i < 100; i++) {
		uint64_t d;

		fill(in, sizeof(in), (unsigned)i);
		memset(out, 0, sizeof(out));
		bad += vgpu_mem_alloc(s, sizeof(in), &d) != VGPU_S_OK;
		bad += vgpu_copy_h2d(s, d, in, sizeof(in), 0, 0) != VGPU_S_OK;
		bad += vgpu_launch(s, &l) != VGPU_S_OK;
		bad += vgpu_copy_d2h(s, out, d, sizeof(out), 0, 0) != VGPU_S_OK;
		bad += memcmp(in, out, sizeof(in)) != 0;
		bad += vgpu_mem_free(s, d) != VGPU_S_OK;
	}
	return (void *)bad;
}

/* Four threads on one session: every command completes, to its owner. */
static void t_threads(void **state)
{
	struct vgpu_sess *s = open_fake(16, 64 * 1024);
	pthread_t t[4];
	void *bad;
	int i;

	(void)state;
	FAKE(s)->cfg.lazy = true; /* the device runs only when someone sleeps */
	FAKE(s)->cfg.reverse = true;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, s), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
	assert_int_equal(vgpu_ctx_sync(s), VGPU_S_OK);
	assert_int_equal(FAKE(s)->launches, 400);
	assert_int_equal(vgpu_take_async_error(s), VGPU_S_OK);
	vgpu_sess_close(s);
}

static void t_pool(void **state)
{
	struct vgpu_pool p;
	uint64_t a, b, c, st, len, fr, big;

	(void)state;
	assert_int_equal(vgpu_pool_init(&p, 100, 4096), 0);
	assert_int_equal(vgpu_pool_alloc(&p, 1, &a), 0);
	assert_int_equal(a % VGPU_POOL_ALIGN, 0);
	assert_true(a >= 100);
	assert_int_equal(vgpu_pool_alloc(&p, 1000, &b), 0);
	assert_int_equal(vgpu_pool_alloc(&p, 1 << 20, &c), -ENOMEM);
	assert_int_equal(vgpu_pool_find(&p, b + 999, &st, &len), 0);
	assert_int_equal(st, b);
	assert_int_equal(vgpu_pool_free(&p, b + 1), -EINVAL);
	assert_int_equal(vgpu_pool_free(&p, a), 0);
	assert_int_equal(vgpu_pool_free(&p, a), -EINVAL);
	assert_int_equal(vgpu_pool_free(&p, b), 0);
	vgpu_pool_usage(&p, &fr, &big);
	assert_int_equal(fr, big); /* merged back into one block */
	assert_int_equal(vgpu_pool_alloc(&p, big, &c), 0);
	assert_int_equal(vgpu_pool_alloc(&p, 0, &c), -ENOMEM);
	vgpu_pool_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_old_abi),
		cmocka_unit_test(t_device_info_cached),
		cmocka_unit_test(t_out_of_order),
		cmocka_unit_test(t_doorbell_protocol),
		cmocka_unit_test(t_staged_copies),
		cmocka_unit_test(t_staged_copies_threads),
		cmocka_unit_test(t_pinned_copies),
		cmocka_unit_test(t_launch_continuation),
		cmocka_unit_test(t_sq_full),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_bogus_completion),
		cmocka_unit_test(t_modules),
		cmocka_unit_test(t_image_kinds),
		cmocka_unit_test(t_threads),
		cmocka_unit_test(t_pool),
	};

	setenv("VGPU_SPIN_US", "0", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
