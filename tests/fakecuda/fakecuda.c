// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake CUDA driver (see fakecuda.h): contexts, memory, modules,
 * streams and events, host functions, and an executor thread per context
 * that runs the queued work. A test double: its state is process-wide,
 * as libcuda's is.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakecuda_int.h"

#define FK_BASE 0x7f0000000000ull

struct fk_global fk_g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread struct fk_ctx *stack[FK_DEPTH];
static __thread int depth;

struct fk_ctx *fk_cur(void)
{
	return depth ? stack[depth - 1] : NULL;
}

void fk_trace(const char *fmt, ...)
{
	va_list ap;

	if (!fk_g.trace)
		return;
	va_start(ap, fmt);
	vfprintf(fk_g.trace, fmt, ap);
	va_end(ap);
	fputc('\n', fk_g.trace);
	fflush(fk_g.trace);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

CUresult cuInit(unsigned int flags)
{
	const char *t = getenv("FAKECUDA_TRACE");

	const char *gone = getenv("FAKECUDA_NO_DEVICE_IF");

	(void)flags;
	if (env_u64("FAKECUDA_NO_DEVICE", 0) ||
	    (gone && access(gone, F_OK) == 0))
		return CUDA_ERROR_NO_DEVICE;
	pthread_mutex_lock(&fk_g.lock);
	if (!fk_g.init) {
		fk_g.init = true;
		fk_g.ndev = (int)env_u64("FAKECUDA_DEVICES", 1);
		fk_g.mem = env_u64("FAKECUDA_MEM", 1ull << 30);
		fk_g.ctx_mem = env_u64("FAKECUDA_CTX_MEM", 64ull << 20);
		fk_g.clean = env_u64("FAKECUDA_CLEAN_ALLOC", 0);
		fk_g.reg_fail = env_u64("FAKECUDA_REGISTER_FAIL", 0);
		fk_g.hang_destroy = env_u64("FAKECUDA_HANG_DESTROY", 0);
		fk_g.no_paraminfo = env_u64("FAKECUDA_NO_PARAMINFO", 0);
		fk_g.ctx_fail_if = getenv("FAKECUDA_CTX_FAIL_IF");
		fk_g.drift = env_u64("FAKECUDA_FREE_DRIFT", 0);
		fk_dev_init(getenv("FAKECUDA_DEVSTATE"));
		fk_g.jit_ms = env_u64("FAKECUDA_JIT_MS", 0);
		fk_g.crash = getenv("FAKECUDA_CRASH_KERNEL");
		fk_g.next = FK_BASE;
		if (t && *t)
			fk_g.trace = fopen(t, "a");
	}
	pthread_mutex_unlock(&fk_g.lock);
	return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *v)
{
	*v = CUDA_VERSION;
	return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult rc, const char **s)
{
	switch (rc) {
	case CUDA_SUCCESS:
		*s = "CUDA_SUCCESS";
		break;
	case CUDA_ERROR_ILLEGAL_ADDRESS:
		*s = "CUDA_ERROR_ILLEGAL_ADDRESS";
		break;
	case CUDA_ERROR_OUT_OF_MEMORY:
		*s = "CUDA_ERROR_OUT_OF_MEMORY";
		break;
	case CUDA_ERROR_NO_DEVICE:
		*s = "CUDA_ERROR_NO_DEVICE";
		break;
	case CUDA_ERROR_INVALID_IMAGE:
		*s = "CUDA_ERROR_INVALID_IMAGE";
		break;
	case CUDA_ERROR_INVALID_CONTEXT:
		*s = "CUDA_ERROR_INVALID_CONTEXT";
		break;
	default:
		*s = "CUDA_ERROR_OTHER (fake)";
		break;
	}
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *n)
{
	*n = fk_g.ndev;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int i)
{
	if (i < 0 || i >= fk_g.ndev)
		return CUDA_ERROR_INVALID_DEVICE;
	*d = i;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice d)
{
	snprintf(name, (size_t)len, "Fake GPU %d", d);
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetUuid_v2(CUuuid *u, CUdevice d)
{
	for (int i = 0; i < 16; i++)
		u->bytes[i] = (char)(0xf0 + i);
	u->bytes[15] = (char)d;
	return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d)
{
	(void)d;
	*b = fk_g.mem;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d)
{
	(void)d;
	switch (a) {
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
		*v = 9;
		break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
		*v = 0;
		break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
		*v = 4;
		break;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
		*v = 1024;
		break;
	case 100:
		return CUDA_ERROR_INVALID_VALUE; /* an unknown attribute */
	default:
		*v = (int)a;
		break;
	}
	return CUDA_SUCCESS;
}

/* ---- the executor ---- */

void *fk_dev(struct fk_ctx *c, CUdeviceptr d, uint64_t len)
{
	void *p = NULL;

	pthread_mutex_lock(&fk_g.lock);
	for (struct fk_alloc *a = c->allocs; a; a = a->next)
		if (d >= a->d && d - a->d <= a->len &&
		    len <= a->len - (d - a->d)) {
			p = a->p + (d - a->d);
			break;
		}
	pthread_mutex_unlock(&fk_g.lock);
	return p;
}

void fk_spin(struct fk_ctx *c, uint64_t ns)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)(ns / 1000000000ull);
	dl.tv_nsec += (long)(ns % 1000000000ull);
	if (dl.tv_nsec >= 1000000000l) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000l;
	}
	pthread_mutex_lock(&fk_g.lock);
	while (!c->dead || fk_g.hang_destroy)
		if (pthread_cond_timedwait(&c->cond, &fk_g.lock, &dl) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&fk_g.lock);
}

static CUresult run_op(struct fk_ctx *c, struct fk_op *o)
{
	void *a, *b;

	switch (o->type) {
	case FK_COPY_H2D:
		a = fk_dev(c, o->d, o->n);
		if (!a)
			return CUDA_ERROR_ILLEGAL_ADDRESS;
		memcpy(a, o->h, o->n);
		return CUDA_SUCCESS;
	case FK_COPY_D2H:
		a = fk_dev(c, o->s, o->n);
		if (!a)
			return CUDA_ERROR_ILLEGAL_ADDRESS;
		memcpy(o->h, a, o->n);
		return CUDA_SUCCESS;
	case FK_COPY_D2D:
		a = fk_dev(c, o->d, o->n);
		b = fk_dev(c, o->s, o->n);
		if (!a || !b)
			return CUDA_ERROR_ILLEGAL_ADDRESS;
		memmove(a, b, o->n);
		return CUDA_SUCCESS;
	case FK_MEMSET:
		a = fk_dev(c, o->d, o->n * (uint64_t)o->elem);
		if (!a)
			return CUDA_ERROR_ILLEGAL_ADDRESS;
		for (uint64_t i = 0; i < o->n; i++)
			memcpy((uint8_t *)a + i * o->elem, &o->val,
			       (size_t)o->elem);
		return CUDA_SUCCESS;
	case FK_KERNEL:
		if (fk_g.crash && strcmp(fk_g.crash, o->l.k->name) == 0)
			abort();
		o->l.params = o->params;
		o->l.ctx = c;
		return o->l.k->run(&o->l);
	case FK_HOSTFN:
		o->fn(o->ud);
		return CUDA_SUCCESS;
	default:
		return CUDA_SUCCESS;
	}
}

/* Faults the real driver makes sticky for the whole process: every
 * context of it answers them from then on, and no new one is made, until
 * the process exits (seen on an H200, driver 580: results/gpu-2026-11-29-1). */
static bool process_fatal(CUresult rc)
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

/* Lock held: what @c answers, the process's poison first. */
static CUresult sticky_of(const struct fk_ctx *c)
{
	return fk_g.poison ? fk_g.poison : c->sticky;
}

/* Lock held: a fault in one context poisons every context. */
static void poison(CUresult rc)
{
	if (fk_g.poison || !process_fatal(rc))
		return;
	fk_g.poison = rc;
	fk_trace("poisoned");
	for (struct fk_ctx *c = fk_g.ctxs; c; c = c->next)
		pthread_cond_broadcast(&c->cond);
}

static void *exec_main(void *arg)
{
	struct fk_ctx *c = arg;

	pthread_mutex_lock(&fk_g.lock);
	for (;;) {
		struct fk_op *o = c->head;
		CUresult rc;

		if (c->dead && (!o || !c->running))
			break;
		if (!o) {
			pthread_cond_wait(&c->cond, &fk_g.lock);
			continue;
		}
		c->head = o->next;
		if (!c->head)
			c->tail = &c->head;
		if (sticky_of(c) && o->type != FK_HOSTFN) {
			if (o->done)
				*o->done = true;
			pthread_cond_broadcast(&c->cond);
			free(o);
			continue;
		}
		c->running = true;
		pthread_mutex_unlock(&fk_g.lock);
		rc = run_op(c, o);
		pthread_mutex_lock(&fk_g.lock);
		c->running = false;
		if (rc != CUDA_SUCCESS && !c->sticky)
			c->sticky = rc;
		if (rc != CUDA_SUCCESS)
			poison(rc);
		if (o->type == FK_RECORD && o->ev->done < o->ev_count) {
			o->ev->done = o->ev_count;
			o->ev->t_ms = now_ms();
		}
		if (o->done)
			*o->done = true;
		pthread_cond_broadcast(&c->cond);
		free(o);
	}
	pthread_mutex_unlock(&fk_g.lock);
	return NULL;
}

struct fk_op *fk_op_new(int type)
{
	struct fk_op *o = calloc(1, sizeof(*o));

	if (o)
		o->type = type;
	return o;
}

/* Queue @o on the current context (streams run in one order here). */
CUresult fk_enqueue(struct fk_op *o, bool wait)
{
	struct fk_ctx *c = fk_cur();
	bool done = false;
	CUresult rc;

	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (!c) {
		free(o);
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	pthread_mutex_lock(&fk_g.lock);
	rc = sticky_of(c);
	if (rc != CUDA_SUCCESS) {
		pthread_mutex_unlock(&fk_g.lock);
		free(o);
		return rc;
	}
	if (wait)
		o->done = &done;
	*c->tail = o;
	c->tail = &o->next;
	pthread_cond_broadcast(&c->cond);
	while (wait && !done)
		pthread_cond_wait(&c->cond, &fk_g.lock);
	rc = wait ? sticky_of(c) : CUDA_SUCCESS;
	pthread_mutex_unlock(&fk_g.lock);
	return rc;
}

CUresult fk_sticky(void)
{
	struct fk_ctx *c = fk_cur();
	CUresult rc;

	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&fk_g.lock);
	rc = sticky_of(c);
	pthread_mutex_unlock(&fk_g.lock);
	return rc;
}

/* ---- contexts ---- */

CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *p,
			unsigned int flags, CUdevice dev)
{
	struct fk_ctx *c;

	(void)p;
	(void)flags;
	(void)dev;
	pthread_mutex_lock(&fk_g.lock);
	if (fk_g.poison) {
		CUresult rc = fk_g.poison;

		pthread_mutex_unlock(&fk_g.lock);
		return rc;
	}
	if ((fk_g.ctx_fail_if && access(fk_g.ctx_fail_if, F_OK) == 0) ||
	    !fk_mem_take(fk_g.ctx_mem)) {
		pthread_mutex_unlock(&fk_g.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_unlock(&fk_g.lock);
	c = calloc(1, sizeof(*c));
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_cond_init(&c->cond, NULL);
	c->tail = &c->head;
	pthread_mutex_lock(&fk_g.lock);
	c->next = fk_g.ctxs;
	fk_g.ctxs = c;
	pthread_mutex_unlock(&fk_g.lock);
	pthread_create(&c->exec, NULL, exec_main, c);
	if (depth < FK_DEPTH)
		stack[depth++] = c;
	*pctx = (CUcontext)c;
	fk_trace("ctx_create");
	return CUDA_SUCCESS;
}

CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	struct fk_ctx *c = (struct fk_ctx *)ctx;

	fk_trace("ctx_destroy");
	pthread_mutex_lock(&fk_g.lock);
	c->dead = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&fk_g.lock);
	pthread_join(c->exec, NULL);
	pthread_mutex_lock(&fk_g.lock);
	while (c->head) {
		struct fk_op *o = c->head;

		c->head = o->next;
		free(o);
	}
	while (c->allocs) {
		struct fk_alloc *a = c->allocs;

		c->allocs = a->next;
		fk_mem_give(a->len);
		free(a->p);
		free(a);
	}
	fk_mem_give(fk_g.ctx_mem);
	pthread_mutex_unlock(&fk_g.lock);
	for (int i = 0; i < depth; i++)
		if (stack[i] == c)
			stack[i] = NULL;
	/* the struct stays: late host functions and events may point at
	 * it, as they may at a dead context in the real driver */
	return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
	if (depth == 0)
		depth = 1;
	stack[depth - 1] = (struct fk_ctx *)ctx;
	return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	if (depth == FK_DEPTH)
		return CUDA_ERROR_INVALID_VALUE;
	stack[depth++] = (struct fk_ctx *)ctx;
	return CUDA_SUCCESS;
}

CUresult cuCtxPopCurrent_v2(CUcontext *ctx)
{
	if (depth == 0)
		return CUDA_ERROR_INVALID_CONTEXT;
	*ctx = (CUcontext)stack[--depth];
	return CUDA_SUCCESS;
}
