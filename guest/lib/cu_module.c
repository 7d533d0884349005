// SPDX-License-Identifier: MIT
/*
 * Modules, functions and globals. An image (fatbin, cubin or PTX) is
 * loaded by the device; a function comes with the parameter layout and
 * attributes the device reports for it, which is what launches lay
 * parameters out by. JIT options are accepted and their logs left
 * empty: whatever compiling there is happens on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_priv.h"

#define FILE_MAX (256u << 20) /* cuModuleLoad reads at most this much */

static CUresult load(CUmodule *module, const void *image)
{
	struct CUctx_st *c;
	struct CUmod_st *m;
	CUresult r = vg_ctx(&c);
	uint64_t size;
	int rc;

	if (r)
		return r;
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;
	rc = vgpu_image_size(&image, &size);
	if (rc)
		return CUDA_ERROR_INVALID_IMAGE;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rc = vgpu_module_load(c->s, image, size, &m->id);
	if (rc) {
		free(m);
		return vg_err(rc);
	}
	m->magic = VG_MOD_MAGIC;
	m->ctx = c;
	pthread_mutex_lock(&c->lock);
	m->next = c->mods;
	c->mods = m;
	pthread_mutex_unlock(&c->lock);
	*module = m;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image)
{
	return load(module, image);
}

CUresult CUDAAPI cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
	return load(module, fatCubin);
}

/* The size an option array gives a log buffer (0: none). */
static uintptr_t jit_size(unsigned int n, const CUjit_option *opt, void **val,
			  CUjit_option size_opt)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (opt[i] == size_opt)
			return (uintptr_t)val[i];
	return 0;
}

/* JIT options: logs stay empty (0 bytes written), the wall time 0; the
 * others are hints for a compiler that runs on the host, if at all. */
static void jit_outputs(unsigned int n, const CUjit_option *opt, void **val)
{
	uintptr_t info =
		jit_size(n, opt, val, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);
	uintptr_t err =
		jit_size(n, opt, val, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
	float ms = 0.0f;
	unsigned int i;

	for (i = 0; i < n; i++) {
		switch (opt[i]) {
		case CU_JIT_INFO_LOG_BUFFER:
			if (val[i] && info)
				*(char *)val[i] = '\0';
			break;
		case CU_JIT_ERROR_LOG_BUFFER:
			if (val[i] && err)
				*(char *)val[i] = '\0';
			break;
		case CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES:
		case CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES:
			val[i] = (void *)(uintptr_t)0;
			break;
		case CU_JIT_WALL_TIME:
			memcpy(&val[i], &ms, sizeof(ms));
			break;
		default:
			break;
		}
	}
}

CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *module, const void *image,
				    unsigned int numOptions,
				    CUjit_option *options, void **optionValues)
{
	CUresult r;

	if (numOptions && (!options || !optionValues))
		return CUDA_ERROR_INVALID_VALUE;
	r = load(module, image);
	if (numOptions)
		jit_outputs(numOptions, options, optionValues);
	return r;
}

CUresult CUDAAPI cuModuleLoad(CUmodule *module, const char *fname)
{
	FILE *f = fname ? fopen(fname, "rb") : NULL;
	char *buf;
	long n;
	CUresult r;

	if (!f)
		return CUDA_ERROR_FILE_NOT_FOUND;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (long)FILE_MAX ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return CUDA_ERROR_INVALID_IMAGE;
	}
	buf = calloc(1, (size_t)n + 1); /* PTX text: NUL-terminated */
	if (!buf) {
		fclose(f);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		r = CUDA_ERROR_FILE_NOT_FOUND;
	else
		r = load(module, buf);
	fclose(f);
	free(buf);
	return r;
}

static void funcs_free(struct CUmod_st *m)
{
	while (m->funcs) {
		struct CUfunc_st *f = m->funcs;

		m->funcs = f->next;
		f->magic = 0;
		free(f->name);
		free(f);
	}
}

void vg_mods_free(struct CUctx_st *c)
{
	while (c->mods) {
		struct CUmod_st *m = c->mods;

		c->mods = m->next;
		funcs_free(m);
		m->magic = 0;
		free(m);
	}
}

static CUresult mod_check(CUmodule m)
{
	if (!m || m->magic != VG_MOD_MAGIC)
		return CUDA_ERROR_INVALID_HANDLE;
	return vg_ctx_check(m->ctx);
}

CUresult CUDAAPI cuModuleUnload(CUmodule hmod)
{
	struct CUmod_st **pp;
	struct CUctx_st *c;
	CUresult r = mod_check(hmod);
	int rc;

	if (r)
		return r;
	c = hmod->ctx;
	pthread_mutex_lock(&c->lock);
	for (pp = &c->mods; *pp && *pp != hmod; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = hmod->next;
	pthread_mutex_unlock(&c->lock);
	rc = vgpu_module_unload(c->s, hmod->id);
	vg_globals_drop(c, hmod);
	funcs_free(hmod);
	hmod->magic = 0;
	free(hmod);
	return vg_err(rc);
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod,
				     const char *name)
{
	struct CUfunc_st *f;
	CUresult r = mod_check(hmod);
	int rc;

	if (r)
		return r;
	if (!hfunc || !name)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&hmod->ctx->lock);
	for (f = hmod->funcs; f && strcmp(f->name, name); f = f->next)
		;
	pthread_mutex_unlock(&hmod->ctx->lock);
	if (f) { /* the same name gives the same handle */
		*hfunc = f;
		return CUDA_SUCCESS;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(name))) {
		free(f);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	rc = vgpu_func_get(hmod->ctx->s, hmod->id, name, &f->id, &f->info);
	if (rc) {
		free(f->name);
		free(f);
		return vg_err(rc);
	}
	f->magic = VG_FUNC_MAGIC;
	f->mod = hmod;
	pthread_mutex_lock(&hmod->ctx->lock);
	f->next = hmod->funcs;
	hmod->funcs = f;
	pthread_mutex_unlock(&hmod->ctx->lock);
	*hfunc = f;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetGlobal(CUdeviceptr *dptr, size_t *bytes,
				   CUmodule hmod, const char *name)
{
	CUresult r = mod_check(hmod);
	uint64_t d, size;
	int rc;

	if (r)
		return r;
	if (!name)
		return CUDA_ERROR_INVALID_VALUE;
	rc = vgpu_global_get(hmod->ctx->s, hmod->id, name, &d, &size);
	if (rc)
		return vg_err(rc);
	vg_global_add(hmod->ctx, d, size, hmod);
	if (dptr)
		*dptr = d;
	if (bytes)
		*bytes = size;
	return CUDA_SUCCESS;
}

CUresult vg_func_check(CUfunction f)
{
	if (!f || f->magic != VG_FUNC_MAGIC)
		return CUDA_ERROR_INVALID_HANDLE;
	return vg_ctx_check(f->mod->ctx);
}

CUresult CUDAAPI cuFuncGetAttribute(int *pi, CUfunction_attribute attrib,
				    CUfunction hfunc)
{
	CUresult r = vg_func_check(hfunc);

	if (r)
		return r;
	if (!pi || attrib < 0 || attrib >= VGPU_FATTRS_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	*pi = hfunc->info.fattr[attrib];
	return CUDA_SUCCESS;
}

/* Kept here and reported back; the device has no command to change a
 * function's attributes, so only what leaves launches valid is taken. */
CUresult CUDAAPI cuFuncSetAttribute(CUfunction hfunc,
				    CUfunction_attribute attrib, int value)
{
	CUresult r = vg_func_check(hfunc);
	int optin = 0;

	if (r)
		return r;
	switch (attrib) {
	case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
		cuDeviceGetAttribute(
			&optin,
			CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
			0);
		if (value < 0 ||
		    value > optin - hfunc->info.fattr
					    [CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES])
			return CUDA_ERROR_INVALID_VALUE;
		break;
	case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
		if (value < -1 || value > 100)
			return CUDA_ERROR_INVALID_VALUE;
		break;
	default:
		vg_log_once(
			"cuFuncSetAttribute",
			"only the dynamic shared memory size and the carveout can be set");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	hfunc->info.fattr[attrib] = value;
	return CUDA_SUCCESS;
}

/* A preference, accepted and ignored as on devices without the split. */
CUresult CUDAAPI cuFuncSetCacheConfig(CUfunction hfunc, CUfunc_cache config)
{
	(void)config;
	return vg_func_check(hfunc);
}

CUresult CUDAAPI cuFuncGetParamInfo(CUfunction func, size_t paramIndex,
				    size_t *paramOffset, size_t *paramSize)
{
	CUresult r = vg_func_check(func);

	if (r)
		return r;
	if (paramIndex >= func->info.nparams)
		return CUDA_ERROR_INVALID_VALUE;
	if (paramOffset)
		*paramOffset = func->info.param[paramIndex].offset;
	if (paramSize)
		*paramSize = func->info.param[paramIndex].size;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncGetName(const char **name, CUfunction hfunc)
{
	CUresult r = vg_func_check(hfunc);

	if (!r && !name)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*name = hfunc->name;
	return r;
}

CUresult CUDAAPI cuFuncGetModule(CUmodule *hmod, CUfunction hfunc)
{
	CUresult r = vg_func_check(hfunc);

	if (!r && !hmod)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*hmod = hfunc->mod;
	return r;
}
