// SPDX-License-Identifier: MIT
/*
 * What nvcc's host code registers before main (a fatbin per translation
 * unit, its kernels by host stub and device name, its __device__
 * variables) and the lazy loading of it: a fatbin becomes a module of a
 * context the first time that context needs one of its kernels or
 * variables. Per-context caches are keyed by cuCtxGetId, which is new
 * for every context life (a reset primary context included).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt_priv.h"

#define FATBIN_WRAPPER_MAGIC 0x466243b1u
#define FUNC_BUCKETS 256u

struct vgrt_fatbin_wrapper {
	uint32_t magic;
	uint32_t version;
	const void *data; /* the fatbin image */
	const void *filename_or_fatbins;
};

/* A per-context object: a module or a function. */
struct vgrt_per_ctx {
	unsigned long long ctx_id;
	void *obj;
	struct vgrt_per_ctx *next;
};

struct vgrt_fatbin {
	const void *image;
	struct vgrt_per_ctx *mods;
	struct vgrt_fatbin *next;
};

struct vgrt_func {
	const void *host; /* the host stub nvcc made */
	char *name; /* the device name (mangled) */
	struct vgrt_fatbin *fb;
	struct vgrt_per_ctx *fns;
	struct vgrt_func *next; /* hash chain */
};

struct vgrt_var {
	const void *host;
	char *name;
	size_t size;
	struct vgrt_fatbin *fb;
	struct vgrt_var *next;
};

static struct {
	pthread_mutex_t lock;
	struct vgrt_fatbin *fatbins;
	struct vgrt_func *funcs[FUNC_BUCKETS];
	struct vgrt_var *vars;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned int bucket(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	return (unsigned int)((v >> 4) ^ (v >> 12)) % FUNC_BUCKETS;
}

void **CUDARTAPI __cudaRegisterFatBinary(void *fatCubin);
void **CUDARTAPI __cudaRegisterFatBinary(void *fatCubin)
{
	const struct vgrt_fatbin_wrapper *w = fatCubin;
	struct vgrt_fatbin *fb = calloc(1, sizeof(*fb));

	if (!fb)
		return NULL;
	if (w && w->magic == FATBIN_WRAPPER_MAGIC)
		fb->image = w->data;
	else
		vgrt_log_once(
			"__cudaRegisterFatBinary",
			"not a fatbin wrapper; its kernels cannot be loaded");
	pthread_mutex_lock(&R.lock);
	fb->next = R.fatbins;
	R.fatbins = fb;
	pthread_mutex_unlock(&R.lock);
	return (void **)fb;
}

void CUDARTAPI __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
void CUDARTAPI __cudaRegisterFatBinaryEnd(void **fatCubinHandle)
{
	(void)fatCubinHandle; /* everything loads lazily */
}

/* The process is going: its contexts (and modules) go with it. */
void CUDARTAPI __cudaUnregisterFatBinary(void **fatCubinHandle);
void CUDARTAPI __cudaUnregisterFatBinary(void **fatCubinHandle)
{
	struct vgrt_fatbin *fb = (struct vgrt_fatbin *)fatCubinHandle;

	if (fb)
		fb->image = NULL;
}

char CUDARTAPI __cudaInitModule(void **fatCubinHandle);
char CUDARTAPI __cudaInitModule(void **fatCubinHandle)
{
	return fatCubinHandle != NULL;
}

void CUDARTAPI __cudaRegisterFunction(void **fatCubinHandle,
				      const char *hostFun, char *deviceFun,
				      const char *deviceName, int thread_limit,
				      uint3 *tid, uint3 *bid, dim3 *bDim,
				      dim3 *gDim, int *wSize);
void CUDARTAPI __cudaRegisterFunction(void **fatCubinHandle,
				      const char *hostFun, char *deviceFun,
				      const char *deviceName, int thread_limit,
				      uint3 *tid, uint3 *bid, dim3 *bDim,
				      dim3 *gDim, int *wSize)
{
	struct vgrt_func *f = calloc(1, sizeof(*f));
	unsigned int b = bucket(hostFun);

	(void)deviceName;
	(void)thread_limit;
	(void)tid;
	(void)bid;
	(void)bDim;
	(void)gDim;
	(void)wSize;
	/* deviceFun is the name in the image: mangled unless extern "C" */
	if (!f || !(f->name = strdup(deviceFun))) {
		free(f);
		return;
	}
	f->host = hostFun;
	f->fb = (struct vgrt_fatbin *)fatCubinHandle;
	pthread_mutex_lock(&R.lock);
	f->next = R.funcs[b];
	R.funcs[b] = f;
	pthread_mutex_unlock(&R.lock);
}

void CUDARTAPI __cudaRegisterVar(void **fatCubinHandle, char *hostVar,
				 char *deviceAddress, const char *deviceName,
				 int ext, size_t size, int constant,
				 int global);
void CUDARTAPI __cudaRegisterVar(void **fatCubinHandle, char *hostVar,
				 char *deviceAddress, const char *deviceName,
				 int ext, size_t size, int constant, int global)
{
	struct vgrt_var *v = calloc(1, sizeof(*v));

	(void)deviceName;
	(void)ext;
	(void)constant;
	(void)global;
	if (!v || !(v->name = strdup(deviceAddress))) {
		free(v);
		return;
	}
	v->host = hostVar;
	v->size = size;
	v->fb = (struct vgrt_fatbin *)fatCubinHandle;
	pthread_mutex_lock(&R.lock);
	v->next = R.vars;
	R.vars = v;
	pthread_mutex_unlock(&R.lock);
}

struct vgrt_func *vgrt_func_by_host(const void *hostFun)
{
	struct vgrt_func *f;

	pthread_mutex_lock(&R.lock);
	for (f = R.funcs[bucket(hostFun)]; f && f->host != hostFun; f = f->next)
		;
	pthread_mutex_unlock(&R.lock);
	return f;
}

/* R.lock held: the object cached for ctx_id in list l. */
static void *cached(const struct vgrt_per_ctx *l, unsigned long long id)
{
	for (; l; l = l->next)
		if (l->ctx_id == id)
			return l->obj;
	return NULL;
}

/* R.lock held. */
static int cache(struct vgrt_per_ctx **l, unsigned long long id, void *obj)
{
	struct vgrt_per_ctx *p = malloc(sizeof(*p));

	if (!p)
		return -1;
	p->ctx_id = id;
	p->obj = obj;
	p->next = *l;
	*l = p;
	return 0;
}

/* R.lock held: the fatbin's module in the current context. */
static cudaError_t module(struct vgrt_fatbin *fb, unsigned long long id,
			  CUmodule *out)
{
	CUmodule m = cached(fb->mods, id);
	CUresult r;

	if (m) {
		*out = m;
		return cudaSuccess;
	}
	if (!fb->image)
		return cudaErrorInvalidKernelImage;
	r = cuModuleLoadData(&m, fb->image);
	if (r)
		return r == CUDA_ERROR_NOT_SUPPORTED ?
			       cudaErrorNotSupported :
			       cudaErrorInvalidKernelImage;
	if (cache(&fb->mods, id, m)) {
		cuModuleUnload(m);
		return cudaErrorMemoryAllocation;
	}
	*out = m;
	return cudaSuccess;
}

static cudaError_t ctx_id(unsigned long long *id)
{
	CUcontext c;
	cudaError_t e = vgrt_ctx(&c);

	if (e)
		return e;
	return vgrt_err(cuCtxGetId(c, id));
}

cudaError_t vgrt_func_get(struct vgrt_func *f, CUfunction *out)
{
	unsigned long long id;
	cudaError_t e = ctx_id(&id);
	CUfunction fn;
	CUmodule m;
	CUresult r;

	if (e)
		return e;
	pthread_mutex_lock(&R.lock);
	fn = cached(f->fns, id);
	if (!fn) {
		e = module(f->fb, id, &m);
		if (!e) {
			/* no such kernel: an invalid device function; a kernel
			 * the backend cannot run says so (not supported) */
			r = cuModuleGetFunction(&fn, m, f->name);
			e = r == CUDA_ERROR_NOT_FOUND ?
				    cudaErrorInvalidDeviceFunction :
				    (cudaError_t)r;
		}
		if (!e && cache(&f->fns, id, fn))
			e = cudaErrorMemoryAllocation;
	}
	pthread_mutex_unlock(&R.lock);
	if (e)
		return vgrt_set(e);
	*out = fn;
	return cudaSuccess;
}

cudaError_t vgrt_symbol(const void *symbol, CUdeviceptr *dptr, size_t *size)
{
	unsigned long long id;
	cudaError_t e = ctx_id(&id);
	struct vgrt_var *v;
	CUmodule m;

	if (e)
		return e;
	pthread_mutex_lock(&R.lock);
	for (v = R.vars; v && v->host != symbol; v = v->next)
		;
	if (!v)
		e = cudaErrorInvalidSymbol;
	else
		e = module(v->fb, id, &m);
	if (!e && cuModuleGetGlobal(dptr, size, m, v->name))
		e = cudaErrorInvalidSymbol;
	pthread_mutex_unlock(&R.lock);
	return vgrt_set(e);
}

cudaError_t CUDARTAPI __cudaGetKernel(cudaKernel_t *kernel, const void *fun);
cudaError_t CUDARTAPI __cudaGetKernel(cudaKernel_t *kernel, const void *fun)
{
	struct vgrt_func *f = vgrt_func_by_host(fun);

	if (!kernel)
		return vgrt_set(cudaErrorInvalidValue);
	if (!f)
		return vgrt_set(cudaErrorInvalidDeviceFunction);
	/* the handle is our record; launches resolve it per context */
	*kernel = (cudaKernel_t)f;
	return cudaSuccess;
}
