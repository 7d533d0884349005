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

#include "fakecuda.h"

#define FK_BASE 0x7f0000000000ull
#define FK_GAP 0x10000ull
#define FK_DEPTH 8

struct fk_alloc {
	struct fk_alloc *next;
	CUdeviceptr d;
	uint64_t len;
	uint8_t *p;
};

enum fk_op_type {
	FK_COPY_H2D,
	FK_COPY_D2H,
	FK_COPY_D2D,
	FK_MEMSET,
	FK_KERNEL,
	FK_RECORD,
	FK_HOSTFN,
	FK_NOP,
};

struct CUevent_st {
	struct fk_ctx *ctx;
	unsigned int flags;
	uint64_t recorded, done;
	double t_ms;
};

struct fk_op {
	struct fk_op *next;
	int type;
	CUdeviceptr d, s;
	void *h;
	uint64_t n;
	uint32_t val;
	int elem;
	struct CUevent_st *ev;
	uint64_t ev_count;
	CUhostFn fn;
	void *ud;
	struct fk_launch l;
	uint8_t params[4096];
	bool *done; /* synchronous copies wait for it */
};

struct fk_ctx {
	struct fk_ctx *next;
	pthread_t exec;
	pthread_cond_t cond; /* queue, deaths, completions */
	struct fk_op *head, **tail;
	bool dead, running;
	CUresult sticky;
	struct fk_alloc *allocs;
};

struct CUmod_st {
	struct fk_ctx *ctx;
	CUdeviceptr global;
	uint32_t nk;
	const struct fk_kernel *k[32];
};

struct CUfunc_st {
	const struct fk_kernel *k;
	struct CUmod_st *m;
};

struct CUstream_st {
	struct fk_ctx *ctx;
};

struct fk_reg {
	struct fk_reg *next;
	uint8_t *p;
	uint64_t len;
};

static struct {
	pthread_mutex_t lock;
	bool init;
	int ndev;
	uint64_t mem, used, ctx_mem;
	bool clean, reg_fail, hang_destroy, no_paraminfo;
	uint64_t ctx_left; /* contexts that may still be created */
	const char *crash;
	uint64_t jit_ms;
	FILE *trace;
	CUdeviceptr next;
	struct fk_ctx *ctxs;
	struct fk_reg *regs;
} G = { .lock = PTHREAD_MUTEX_INITIALIZER };

static __thread struct fk_ctx *stack[FK_DEPTH];
static __thread int depth;

static struct fk_ctx *cur(void)
{
	return depth ? stack[depth - 1] : NULL;
}

static void trace(const char *fmt, ...)
{
	va_list ap;

	if (!G.trace)
		return;
	va_start(ap, fmt);
	vfprintf(G.trace, fmt, ap);
	va_end(ap);
	fputc('\n', G.trace);
	fflush(G.trace);
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
	pthread_mutex_lock(&G.lock);
	if (!G.init) {
		G.init = true;
		G.ndev = (int)env_u64("FAKECUDA_DEVICES", 1);
		G.mem = env_u64("FAKECUDA_MEM", 1ull << 30);
		G.ctx_mem = env_u64("FAKECUDA_CTX_MEM", 64ull << 20);
		G.clean = env_u64("FAKECUDA_CLEAN_ALLOC", 0);
		G.reg_fail = env_u64("FAKECUDA_REGISTER_FAIL", 0);
		G.hang_destroy = env_u64("FAKECUDA_HANG_DESTROY", 0);
		G.no_paraminfo = env_u64("FAKECUDA_NO_PARAMINFO", 0);
		G.ctx_left = env_u64("FAKECUDA_CTX_LIMIT", ~0ull);
		G.jit_ms = env_u64("FAKECUDA_JIT_MS", 0);
		G.crash = getenv("FAKECUDA_CRASH_KERNEL");
		G.next = FK_BASE;
		if (t && *t)
			G.trace = fopen(t, "a");
	}
	pthread_mutex_unlock(&G.lock);
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
	*n = G.ndev;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int i)
{
	if (i < 0 || i >= G.ndev)
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
	*b = G.mem;
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

	pthread_mutex_lock(&G.lock);
	for (struct fk_alloc *a = c->allocs; a; a = a->next)
		if (d >= a->d && d - a->d <= a->len &&
		    len <= a->len - (d - a->d)) {
			p = a->p + (d - a->d);
			break;
		}
	pthread_mutex_unlock(&G.lock);
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
	pthread_mutex_lock(&G.lock);
	while (!c->dead || G.hang_destroy)
		if (pthread_cond_timedwait(&c->cond, &G.lock, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&G.lock);
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
		if (G.crash && strcmp(G.crash, o->l.k->name) == 0)
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

static void *exec_main(void *arg)
{
	struct fk_ctx *c = arg;

	pthread_mutex_lock(&G.lock);
	for (;;) {
		struct fk_op *o = c->head;
		CUresult rc;

		if (c->dead && (!o || !c->running))
			break;
		if (!o) {
			pthread_cond_wait(&c->cond, &G.lock);
			continue;
		}
		c->head = o->next;
		if (!c->head)
			c->tail = &c->head;
		if (c->sticky && o->type != FK_HOSTFN) {
			if (o->done)
				*o->done = true;
			pthread_cond_broadcast(&c->cond);
			free(o);
			continue;
		}
		c->running = true;
		pthread_mutex_unlock(&G.lock);
		rc = run_op(c, o);
		pthread_mutex_lock(&G.lock);
		c->running = false;
		if (rc != CUDA_SUCCESS && !c->sticky)
			c->sticky = rc;
		if (o->type == FK_RECORD && o->ev->done < o->ev_count) {
			o->ev->done = o->ev_count;
			o->ev->t_ms = now_ms();
		}
		if (o->done)
			*o->done = true;
		pthread_cond_broadcast(&c->cond);
		free(o);
	}
	pthread_mutex_unlock(&G.lock);
	return NULL;
}

static struct fk_op *op_new(int type)
{
	struct fk_op *o = calloc(1, sizeof(*o));

	if (o)
		o->type = type;
	return o;
}

/* Queue @o on the current context (streams run in one order here). */
static CUresult enqueue(struct fk_op *o, bool wait)
{
	struct fk_ctx *c = cur();
	bool done = false;
	CUresult rc;

	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (!c) {
		free(o);
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	pthread_mutex_lock(&G.lock);
	rc = c->sticky;
	if (rc != CUDA_SUCCESS) {
		pthread_mutex_unlock(&G.lock);
		free(o);
		return rc;
	}
	if (wait)
		o->done = &done;
	*c->tail = o;
	c->tail = &o->next;
	pthread_cond_broadcast(&c->cond);
	while (wait && !done)
		pthread_cond_wait(&c->cond, &G.lock);
	rc = wait ? c->sticky : CUDA_SUCCESS;
	pthread_mutex_unlock(&G.lock);
	return rc;
}

static CUresult sticky(void)
{
	struct fk_ctx *c = cur();
	CUresult rc;

	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&G.lock);
	rc = c->sticky;
	pthread_mutex_unlock(&G.lock);
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
	pthread_mutex_lock(&G.lock);
	if (G.mem - G.used < G.ctx_mem || !G.ctx_left) {
		pthread_mutex_unlock(&G.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	G.ctx_left--;
	G.used += G.ctx_mem;
	pthread_mutex_unlock(&G.lock);
	c = calloc(1, sizeof(*c));
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_cond_init(&c->cond, NULL);
	c->tail = &c->head;
	pthread_create(&c->exec, NULL, exec_main, c);
	if (depth < FK_DEPTH)
		stack[depth++] = c;
	*pctx = (CUcontext)c;
	trace("ctx_create");
	return CUDA_SUCCESS;
}

CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	struct fk_ctx *c = (struct fk_ctx *)ctx;

	trace("ctx_destroy");
	pthread_mutex_lock(&G.lock);
	c->dead = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&G.lock);
	pthread_join(c->exec, NULL);
	pthread_mutex_lock(&G.lock);
	while (c->head) {
		struct fk_op *o = c->head;

		c->head = o->next;
		free(o);
	}
	while (c->allocs) {
		struct fk_alloc *a = c->allocs;

		c->allocs = a->next;
		G.used -= a->len;
		free(a->p);
		free(a);
	}
	G.used -= G.ctx_mem;
	pthread_mutex_unlock(&G.lock);
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

/* ---- memory ---- */

CUresult cuMemGetInfo_v2(size_t *fr, size_t *total)
{
	pthread_mutex_lock(&G.lock);
	*fr = G.mem - G.used;
	*total = G.mem;
	pthread_mutex_unlock(&G.lock);
	return cur() ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cuMemAlloc_v2(CUdeviceptr *d, size_t len)
{
	struct fk_ctx *c = cur();
	struct fk_alloc *a;
	CUresult rc = sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&G.lock);
	if (len > G.mem - G.used) {
		pthread_mutex_unlock(&G.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	G.used += len;
	pthread_mutex_unlock(&G.lock);
	a = calloc(1, sizeof(*a));
	if (a)
		a->p = malloc(len);
	if (!a || !a->p) {
		free(a);
		pthread_mutex_lock(&G.lock);
		G.used -= len;
		pthread_mutex_unlock(&G.lock);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memset(a->p, G.clean ? 0 : 0xdb, len);
	a->len = len;
	pthread_mutex_lock(&G.lock);
	a->d = G.next;
	G.next += (len + FK_GAP + 255) & ~255ull;
	a->next = c->allocs;
	c->allocs = a;
	pthread_mutex_unlock(&G.lock);
	*d = a->d;
	trace("mem_alloc %zu", len);
	return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr d)
{
	struct fk_ctx *c = cur();
	CUresult rc = sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&G.lock);
	for (struct fk_alloc **pp = &c->allocs; *pp; pp = &(*pp)->next) {
		struct fk_alloc *a = *pp;

		if (a->d == d) {
			*pp = a->next;
			G.used -= a->len;
			pthread_mutex_unlock(&G.lock);
			free(a->p);
			free(a);
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&G.lock);
	return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemHostRegister_v2(void *p, size_t len, unsigned int flags)
{
	struct fk_reg *r;

	(void)flags;
	trace("register %zu%s", len, G.reg_fail ? " refused" : "");
	if (G.reg_fail)
		return CUDA_ERROR_NOT_SUPPORTED;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r->p = p;
	r->len = len;
	pthread_mutex_lock(&G.lock);
	r->next = G.regs;
	G.regs = r;
	pthread_mutex_unlock(&G.lock);
	return CUDA_SUCCESS;
}

CUresult cuMemHostUnregister(void *p)
{
	pthread_mutex_lock(&G.lock);
	for (struct fk_reg **pp = &G.regs; *pp; pp = &(*pp)->next) {
		struct fk_reg *r = *pp;

		if (r->p == p) {
			*pp = r->next;
			pthread_mutex_unlock(&G.lock);
			free(r);
			trace("unregister");
			return CUDA_SUCCESS;
		}
	}
	pthread_mutex_unlock(&G.lock);
	return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

static const char *pinned(const void *h, uint64_t n)
{
	const char *s = "pageable";

	pthread_mutex_lock(&G.lock);
	for (struct fk_reg *r = G.regs; r; r = r->next)
		if ((const uint8_t *)h >= r->p &&
		    (const uint8_t *)h + n <= r->p + r->len)
			s = "pinned";
	pthread_mutex_unlock(&G.lock);
	return s;
}

static CUresult copy(int type, CUdeviceptr d, CUdeviceptr s, void *h,
		     uint64_t n, bool wait)
{
	struct fk_op *o = op_new(type);

	if (o) {
		o->d = d;
		o->s = s;
		o->h = h;
		o->n = n;
	}
	if (h)
		trace("copy_%s %llu %s", type == FK_COPY_H2D ? "h2d" : "d2h",
		      (unsigned long long)n, pinned(h, n));
	return enqueue(o, wait);
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n,
			      CUstream s)
{
	(void)s;
	return copy(FK_COPY_H2D, d, 0, (void *)h, n, false);
}

CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, CUstream s)
{
	(void)s;
	return copy(FK_COPY_D2H, 0, d, h, n, false);
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n,
			      CUstream s)
{
	(void)s;
	return copy(FK_COPY_D2D, d, src, NULL, n, false);
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n)
{
	return copy(FK_COPY_H2D, d, 0, (void *)h, n, true);
}

CUresult cuMemcpyDtoH_v2(void *h, CUdeviceptr d, size_t n)
{
	return copy(FK_COPY_D2H, 0, d, h, n, true);
}

static CUresult memset_op(CUdeviceptr d, uint32_t v, int elem, size_t n)
{
	struct fk_op *o = op_new(FK_MEMSET);

	if (o) {
		o->d = d;
		o->val = v;
		o->elem = elem;
		o->n = n;
	}
	return enqueue(o, false);
}

CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 1, n);
}

CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 2, n);
}

CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s)
{
	(void)s;
	return memset_op(d, v, 4, n);
}

/* ---- modules ---- */

static bool has_name(const uint8_t *img, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(img + i, name, n) != 0)
			continue;
		if (i + n == len || img[i + n] == '\0' || img[i + n] == '(' ||
		    img[i + n] == ' ' || img[i + n] == '\n')
			return true;
	}
	return false;
}

static size_t image_len(const void *image)
{
	const uint8_t *p = image;
	uint64_t body;

	if (memcmp(p, "\177ELF", 4) == 0) {
		/* the test images end at their section header table */
		uint64_t shoff, n;

		memcpy(&shoff, p + 0x28, 8);
		memcpy(&n, p + 0x3c, 2);
		return (size_t)(shoff + (n & 0xffff) * 64);
	}
	if (p[0] == 0x50 && p[1] == 0xed && p[2] == 0x55 && p[3] == 0xba) {
		memcpy(&body, p + 8, 8);
		return (size_t)(16 + body);
	}
	return strlen(image);
}

static CUresult load(CUmodule *mod, const void *image, bool jit)
{
	size_t len = image_len(image);
	struct CUmod_st *m;
	CUresult rc = sticky();

	if (rc)
		return rc;
	trace("module_load %s %zu", jit ? "jit" : "inline", len);
	if (has_name(image, len, "FAKE_BAD_IMAGE"))
		return CUDA_ERROR_INVALID_IMAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	m->ctx = cur();
	for (unsigned int i = 0; i < fk_nkernels && m->nk < 32; i++)
		if (has_name(image, len, fk_kernels[i].name))
			m->k[m->nk++] = &fk_kernels[i];
	if (has_name(image, len, "g_bias") &&
	    cuMemAlloc_v2(&m->global, 4) == CUDA_SUCCESS)
		memset(fk_dev(m->ctx, m->global, 4), 0, 4);
	if (!m->nk && !m->global) {
		free(m);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	if (jit && G.jit_ms) {
		struct timespec ts = { (time_t)(G.jit_ms / 1000),
				       (long)(G.jit_ms % 1000) * 1000000 };

		nanosleep(&ts, NULL); /* the simulated compiler's run time */
	}
	*mod = m;
	return CUDA_SUCCESS;
}

static bool is_text(const void *image)
{
	const uint8_t *p = image;

	return !(
		memcmp(p, "\177ELF", 4) == 0 ||
		(p[0] == 0x50 && p[1] == 0xed && p[2] == 0x55 && p[3] == 0xba));
}

CUresult cuModuleLoadData(CUmodule *mod, const void *image)
{
	return load(mod, image, is_text(image));
}

CUresult cuModuleLoadDataEx(CUmodule *mod, const void *image, unsigned int n,
			    CUjit_option *opt, void **val)
{
	CUresult rc = load(mod, image, true);

	for (unsigned int i = 0; rc && i < n; i++)
		if (opt[i] == CU_JIT_ERROR_LOG_BUFFER)
			snprintf(val[i], 64, "fake: no kernel in the image\n");
	return rc;
}

CUresult cuModuleUnload(CUmodule mod)
{
	struct CUmod_st *m = (struct CUmod_st *)mod;

	if (m->global)
		cuMemFree_v2(m->global);
	free(m);
	return sticky();
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule mod, const char *name)
{
	struct CUmod_st *m = (struct CUmod_st *)mod;

	for (uint32_t i = 0; i < m->nk; i++)
		if (strcmp(m->k[i]->name, name) == 0) {
			struct CUfunc_st *fn = calloc(1, sizeof(*fn));

			if (!fn)
				return CUDA_ERROR_OUT_OF_MEMORY;
			fn->k = m->k[i];
			fn->m = m;
			*f = fn;
			return CUDA_SUCCESS;
		}
	return CUDA_ERROR_NOT_FOUND;
}

CUresult cuModuleGetGlobal_v2(CUdeviceptr *d, size_t *size, CUmodule mod,
			      const char *name)
{
	struct CUmod_st *m = (struct CUmod_st *)mod;

	if (!m->global || strcmp(name, "g_bias") != 0)
		return CUDA_ERROR_NOT_FOUND;
	*d = m->global;
	*size = 4;
	return CUDA_SUCCESS;
}

CUresult cuFuncGetParamInfo(CUfunction f, size_t i, size_t *off, size_t *size)
{
	const struct fk_kernel *k = ((struct CUfunc_st *)f)->k;

	if (G.no_paraminfo)
		return CUDA_ERROR_NOT_SUPPORTED;
	if (i >= k->nparams)
		return CUDA_ERROR_INVALID_VALUE;
	*off = k->off[i];
	*size = k->size[i];
	return CUDA_SUCCESS;
}

CUresult cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f)
{
	(void)f;
	if (a == CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE)
		return CUDA_ERROR_INVALID_VALUE;
	*v = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024 : (int)a + 1;
	return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy,
			unsigned int gz, unsigned int bx, unsigned int by,
			unsigned int bz, unsigned int shmem, CUstream s,
			void **kp, void **extra)
{
	struct CUfunc_st *fn = (struct CUfunc_st *)f;
	struct fk_op *o;
	size_t plen = 0;
	void *buf = NULL;

	uint8_t packed[4096];

	(void)s;
	if (kp) { /* pack them as the layout says */
		for (uint32_t i = 0; i < fn->k->nparams; i++) {
			memcpy(packed + fn->k->off[i], kp[i], fn->k->size[i]);
			if (fn->k->off[i] + fn->k->size[i] > plen)
				plen = fn->k->off[i] + fn->k->size[i];
		}
		buf = packed;
	}
	for (int i = 0; extra && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
		if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
			buf = extra[i + 1];
		else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
			plen = *(size_t *)extra[i + 1];
	}
	if (!gx || !gy || !gz || !bx || !by || !bz ||
	    (uint64_t)bx * by * bz > 1024)
		return CUDA_ERROR_INVALID_VALUE;
	if (plen > 4096 || (plen && !buf))
		return CUDA_ERROR_INVALID_VALUE;
	o = op_new(FK_KERNEL);
	if (o) {
		o->l.k = fn->k;
		o->l.grid[0] = gx;
		o->l.grid[1] = gy;
		o->l.grid[2] = gz;
		o->l.block[0] = bx;
		o->l.block[1] = by;
		o->l.block[2] = bz;
		o->l.shmem = shmem;
		o->l.plen = plen;
		o->l.global = fn->m->global;
		if (plen)
			memcpy(o->params, buf, plen);
	}
	trace("launch %s", fn->k->name);
	return enqueue(o, false);
}

/* ---- streams, events, host functions ---- */

CUresult cuStreamCreate(CUstream *s, unsigned int flags)
{
	struct CUstream_st *st;

	(void)flags;
	if (!cur())
		return CUDA_ERROR_INVALID_CONTEXT;
	st = calloc(1, sizeof(*st));
	if (!st)
		return CUDA_ERROR_OUT_OF_MEMORY;
	st->ctx = cur();
	*s = st;
	return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream s)
{
	free(s);
	return CUDA_SUCCESS;
}

CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags)
{
	(void)s;
	(void)e;
	(void)flags;
	/* one executor per context: the recorded work is ahead already */
	return enqueue(op_new(FK_NOP), false);
}

CUresult cuEventCreate(CUevent *e, unsigned int flags)
{
	struct CUevent_st *ev;

	if (!cur())
		return CUDA_ERROR_INVALID_CONTEXT;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ev->ctx = cur();
	ev->flags = flags;
	*e = ev;
	return CUDA_SUCCESS;
}

CUresult cuEventDestroy_v2(CUevent e)
{
	(void)e; /* may still be queued: kept, as a test double may */
	return CUDA_SUCCESS;
}

CUresult cuEventRecord(CUevent e, CUstream s)
{
	struct fk_op *o = op_new(FK_RECORD);

	(void)s;
	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&G.lock);
	o->ev = e;
	o->ev_count = ++e->recorded;
	pthread_mutex_unlock(&G.lock);
	return enqueue(o, false);
}

CUresult cuEventQuery(CUevent e)
{
	CUresult rc = sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&G.lock);
	rc = e->done >= e->recorded ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
	pthread_mutex_unlock(&G.lock);
	return rc;
}

CUresult cuEventElapsedTime_v2(float *ms, CUevent a, CUevent b)
{
	CUresult rc = sticky();

	if (rc)
		return rc;
	if ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING)
		return CUDA_ERROR_INVALID_HANDLE;
	if (a->done < a->recorded || b->done < b->recorded || !a->done ||
	    !b->done)
		return CUDA_ERROR_NOT_READY;
	*ms = (float)(b->t_ms - a->t_ms);
	return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream s)
{
	(void)s;
	return enqueue(op_new(FK_NOP), true);
}

CUresult cuCtxSynchronize(void)
{
	return enqueue(op_new(FK_NOP), true);
}

CUresult cuMemAllocHost_v2(void **p, size_t len)
{
	*p = malloc(len);
	if (!*p)
		return CUDA_ERROR_OUT_OF_MEMORY;
	return cuMemHostRegister_v2(*p, len, 0);
}

CUresult cuMemFreeHost(void *p)
{
	cuMemHostUnregister(p);
	free(p);
	return CUDA_SUCCESS;
}

CUresult cuLaunchHostFunc(CUstream s, CUhostFn fn, void *ud)
{
	struct fk_op *o = op_new(FK_HOSTFN);

	(void)s;
	if (o) {
		o->fn = fn;
		o->ud = ud;
	}
	return enqueue(o, false);
}
