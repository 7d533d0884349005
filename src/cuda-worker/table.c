// SPDX-License-Identifier: GPL-2.0-only
/* vgpu-cuda-worker: handle tables, the clock, CUDA errors, logging. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

uint32_t wk_table_add(struct wk_table *t, void *p)
{
	uint32_t i;

	/* Reuse a freed slot once a quarter of the table is free: ids
	 * stay unique for a while without growing forever. */
	if (t->n - t->live > t->n / 4 + 16) {
		for (i = 0; i < t->n; i++) {
			if (!t->v[i]) {
				t->v[i] = p;
				t->live++;
				return i + 1;
			}
		}
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		void **v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return 0;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = p;
	t->live++;
	return t->n;
}

void *wk_table_get(const struct wk_table *t, uint32_t id)
{
	return id == 0 || id > t->n ? NULL : t->v[id - 1];
}

void *wk_table_del(struct wk_table *t, uint32_t id)
{
	void *p = wk_table_get(t, id);

	if (p) {
		t->v[id - 1] = NULL;
		t->live--;
	}
	return p;
}

void wk_table_free(struct wk_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = t->live = 0;
}

uint64_t wk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A kernel faulted (VGPU_S_FAULT). */
static bool kernel_fault(CUresult rc)
{
	switch (rc) {
	case CUDA_ERROR_ILLEGAL_ADDRESS:
	case CUDA_ERROR_LAUNCH_FAILED:
	case CUDA_ERROR_MISALIGNED_ADDRESS:
	case CUDA_ERROR_INVALID_ADDRESS_SPACE:
	case CUDA_ERROR_INVALID_PC:
	case CUDA_ERROR_ILLEGAL_INSTRUCTION:
	case CUDA_ERROR_HARDWARE_STACK_ERROR:
	case CUDA_ERROR_ASSERT:
		return true;
	default:
		return false;
	}
}

bool wk_sticky(CUresult rc)
{
	if (kernel_fault(rc))
		return true;
	switch (rc) {
	case CUDA_ERROR_LAUNCH_TIMEOUT:
	case CUDA_ERROR_ECC_UNCORRECTABLE:
	case CUDA_ERROR_CONTEXT_IS_DESTROYED:
	case CUDA_ERROR_INVALID_CONTEXT:
	case CUDA_ERROR_CONTEXT_ALREADY_IN_USE:
	case CUDA_ERROR_DEVICE_UNAVAILABLE:
	case CUDA_ERROR_UNKNOWN:
		return true;
	default:
		return false;
	}
}

uint32_t wk_status(CUresult rc)
{
	if (kernel_fault(rc))
		return VGPU_S_FAULT;
	switch (rc) {
	case CUDA_SUCCESS:
		return VGPU_S_OK;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return VGPU_S_NO_MEMORY;
	case CUDA_ERROR_LAUNCH_TIMEOUT:
		return VGPU_S_TIMEOUT;
	case CUDA_ERROR_INVALID_IMAGE:
	case CUDA_ERROR_INVALID_PTX:
	case CUDA_ERROR_NO_BINARY_FOR_GPU:
	case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
	case CUDA_ERROR_JIT_COMPILATION_DISABLED:
	case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
	case CUDA_ERROR_INVALID_SOURCE:
		return VGPU_S_BAD_IMAGE;
	case CUDA_ERROR_NOT_FOUND:
		return VGPU_S_NOT_FOUND;
	case CUDA_ERROR_INVALID_HANDLE:
		return VGPU_S_BAD_HANDLE;
	case CUDA_ERROR_NOT_SUPPORTED:
		return VGPU_S_NOT_SUPPORTED;
	case CUDA_ERROR_INVALID_VALUE:
	case CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES:
	case CUDA_ERROR_NOT_READY:
		return VGPU_S_INVALID;
	default:
		return VGPU_S_BACKEND;
	}
}

const char *wk_errname(CUresult rc)
{
	const char *s = NULL;

	if (cuGetErrorName(rc, &s) != CUDA_SUCCESS || !s)
		return "unknown CUDA error";
	return s;
}

#ifdef VGPU_COVERAGE /* configure CPPFLAGS=-DVGPU_COVERAGE CFLAGS=--coverage */
void __gcov_dump(void);
#endif

void wk_exit(int code)
{
#ifdef VGPU_COVERAGE
	__gcov_dump(); /* the coverage run counts the worker's lines too */
#endif
	_exit(code);
}

void wk_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf),
		     "vgpu-cuda-worker[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf);
}
