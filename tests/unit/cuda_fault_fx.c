// SPDX-License-Identifier: GPL-2.0-only
/*
 * The steps the CUDA backend's fault tests share (cuda_fault_fx.h).
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <cmocka.h>

#include "cuda_fault_fx.h"

#define KERNELS K_NULL "\0" K_SPIN "\0" K_POKE "\0" K_FILL "\0"

uint32_t load(struct vm *v, uint32_t s)
{
	size_t len;
	void *img = img_cubin(KERNELS, &len);
	uint32_t st, m = module_load(v, s, img, len, &st);

	free(img);
	assert_int_equal(st, VGPU_S_OK);
	return m;
}

uint32_t fn(struct vm *v, uint32_t s, uint32_t m, const char *name)
{
	struct vgpu_func_info fi;
	uint32_t st, f = func_get(v, s, m, name, &fi, &st);

	assert_int_equal(st, VGPU_S_OK);
	return f;
}

struct be_req *poke(struct vm *v, uint32_t s, uint32_t f, uint64_t where)
{
	uint8_t p[12];
	int val = 42;

	memcpy(p, &where, 8);
	memcpy(p + 8, &val, 4);
	return launch(v, s, f, 0, 1, 1, p, 12);
}

/* SIGSTOP @pid and wait until it has stopped (it may be spinning on
 * another core when the signal comes). */
void stop(int pid)
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
bool worker_gone(struct vm *v, uint32_t s)
{
	for (int i = 0; i < 200 && backend_cuda_worker_pid(v->b, s); i++)
		vm_poll(v, 10);
	return backend_cuda_worker_pid(v->b, s) == 0;
}

struct be_req *spin(struct vm *v, uint32_t s, uint32_t f, long long ns)
{
	uint8_t p[16] = { 0 };

	memcpy(p, &ns, 8);
	return launch(v, s, f, 0, 1, 1, p, 16);
}

/* A session that works: allocate, write, read back (only allocate,
 * without a region). */
void works(struct vm *v, uint32_t s, struct be_region *reg)
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
