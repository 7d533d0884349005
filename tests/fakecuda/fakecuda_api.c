// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake CUDA driver (fakecuda.h): modules (kernels found in an image
 * by name), functions and their layouts, launches, streams, events, host
 * functions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakecuda_int.h"

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
	CUresult rc = fk_sticky();

	if (rc)
		return rc;
	fk_trace("module_load %s %zu", jit ? "jit" : "inline", len);
	if (has_name(image, len, "FAKE_BAD_IMAGE"))
		return CUDA_ERROR_INVALID_IMAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	m->ctx = fk_cur();
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
	if (jit && fk_g.jit_ms) {
		struct timespec ts = { (time_t)(fk_g.jit_ms / 1000),
				       (long)(fk_g.jit_ms % 1000) * 1000000 };

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
	return fk_sticky();
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

	if (fk_g.no_paraminfo)
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
	o = fk_op_new(FK_KERNEL);
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
	fk_trace("launch %s", fn->k->name);
	return fk_enqueue(o, false);
}

/* ---- streams, events, host functions ---- */

CUresult cuStreamCreate(CUstream *s, unsigned int flags)
{
	struct CUstream_st *st;

	(void)flags;
	if (!fk_cur())
		return CUDA_ERROR_INVALID_CONTEXT;
	st = calloc(1, sizeof(*st));
	if (!st)
		return CUDA_ERROR_OUT_OF_MEMORY;
	st->ctx = fk_cur();
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
	return fk_enqueue(fk_op_new(FK_NOP), false);
}

CUresult cuEventCreate(CUevent *e, unsigned int flags)
{
	struct CUevent_st *ev;

	if (!fk_cur())
		return CUDA_ERROR_INVALID_CONTEXT;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ev->ctx = fk_cur();
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
	struct fk_op *o = fk_op_new(FK_RECORD);

	(void)s;
	if (!o)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&fk_g.lock);
	o->ev = e;
	o->ev_count = ++e->recorded;
	pthread_mutex_unlock(&fk_g.lock);
	return fk_enqueue(o, false);
}

CUresult cuEventQuery(CUevent e)
{
	CUresult rc = fk_sticky();

	if (rc)
		return rc;
	pthread_mutex_lock(&fk_g.lock);
	rc = e->done >= e->recorded ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
	pthread_mutex_unlock(&fk_g.lock);
	return rc;
}

CUresult cuEventElapsedTime_v2(float *ms, CUevent a, CUevent b)
{
	CUresult rc = fk_sticky();

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
	return fk_enqueue(fk_op_new(FK_NOP), true);
}

CUresult cuCtxSynchronize(void)
{
	return fk_enqueue(fk_op_new(FK_NOP), true);
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
	struct fk_op *o = fk_op_new(FK_HOSTFN);

	(void)s;
	if (o) {
		o->fn = fn;
		o->ud = ud;
	}
	return fk_enqueue(o, false);
}
