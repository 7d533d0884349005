// SPDX-License-Identifier: MIT
/*
 * The driver API's process state: cuInit, the device as the first
 * session saw it, the contexts (each with its own device session), the
 * primary context, the one-time log lines, and statuses as CUresults.
 *
 * The CUDA API is process-global by definition (cuInit, the primary
 * context, handles valid in every thread), so this file keeps the one
 * mutable process-wide object the library has, behind its lock.
 */
#include <stdlib.h>

#include "cu_priv.h"
#include "log_once.h"

static struct {
	pthread_mutex_t lock;
	CUresult init; /* CUDA_SUCCESS once cuInit worked */
	struct vgpu_device_info info;
	struct vgpu_sess *spare; /* cuInit's session, for the first context */
	struct CUctx_st *ctxs; /* every context object, never freed */
	struct CUctx_st *primary;
	unsigned long long next_id;
	struct vg_once logged;
} G = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.init = CUDA_ERROR_NOT_INITIALIZED,
	.logged = VG_ONCE_INIT,
};

CUresult vg_err(int status)
{
	switch (status) {
	case VGPU_S_OK:
		return CUDA_SUCCESS;
	case VGPU_S_NO_MEMORY:
	case VGPU_S_LIMIT:
	case VGPU_L_NOMEM:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case VGPU_S_BAD_HANDLE:
		return CUDA_ERROR_INVALID_HANDLE;
	case VGPU_S_NOT_SUPPORTED:
		return CUDA_ERROR_NOT_SUPPORTED;
	case VGPU_S_FAULT:
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	case VGPU_S_SESSION_LOST:
		return CUDA_ERROR_LAUNCH_FAILED;
	case VGPU_S_TIMEOUT:
		return CUDA_ERROR_LAUNCH_TIMEOUT;
	case VGPU_S_BAD_IMAGE:
		return CUDA_ERROR_INVALID_IMAGE;
	case VGPU_S_NOT_FOUND:
		return CUDA_ERROR_NOT_FOUND;
	case VGPU_S_RESET:
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	case VGPU_S_PRIVILEGED:
		return CUDA_ERROR_NOT_PERMITTED;
	case VGPU_L_NO_DEVICE:
	case VGPU_L_OLD_ABI:
		return CUDA_ERROR_NO_DEVICE;
	case VGPU_S_BACKEND:
	case VGPU_L_IO:
	case VGPU_L_QUEUE:
		return CUDA_ERROR_UNKNOWN;
	default: /* INVALID, BAD_ADDRESS, BAD_GPA, BAD_PARAMS */
		return CUDA_ERROR_INVALID_VALUE;
	}
}

void vg_log_once(const char *name, const char *why)
{
	if (vg_first_time(&G.logged, name))
		vgpu_log("%s: %s", name, why);
}

CUresult CUDAAPI cuInit(unsigned int Flags)
{
	const struct vgpu_device_info *info;
	struct vgpu_sess *s;
	int rc;

	if (Flags)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&G.lock);
	if (G.init == CUDA_SUCCESS) {
		pthread_mutex_unlock(&G.lock);
		return CUDA_SUCCESS;
	}
	rc = vgpu_sess_open(&s, NULL, NULL);
	if (!rc) {
		rc = vgpu_device_info(s, &info);
		if (rc)
			vgpu_sess_close(s);
	}
	if (rc) {
		pthread_mutex_unlock(&G.lock);
		vgpu_log("cuInit: no usable device (%s)", vgpu_status_text(rc));
		return vg_err(rc);
	}
	G.info = *info;
	G.spare = s;
	G.init = CUDA_SUCCESS;
	pthread_mutex_unlock(&G.lock);
	return CUDA_SUCCESS;
}

CUresult vg_initialized(void)
{
	CUresult r;

	pthread_mutex_lock(&G.lock);
	r = G.init;
	pthread_mutex_unlock(&G.lock);
	return r;
}

const struct vgpu_device_info *vg_devinfo(void)
{
	return &G.info; /* written once, before init is set */
}

CUresult vg_check_dev(CUdevice dev)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	return dev == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

/* G.lock held: a session for a context (cuInit's, while unused). */
static int take_session(struct vgpu_sess **s)
{
	if (G.spare) {
		*s = G.spare;
		G.spare = NULL;
		return VGPU_S_OK;
	}
	return vgpu_sess_open(s, NULL, NULL);
}

CUresult vg_ctx_new(struct CUctx_st **out, unsigned int flags, bool primary)
{
	struct CUctx_st *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&G.lock);
	rc = take_session(&c->s);
	if (rc) {
		pthread_mutex_unlock(&G.lock);
		free(c);
		return vg_err(rc);
	}
	c->magic = VG_CTX_MAGIC;
	c->flags = flags;
	c->primary = primary;
	c->id = ++G.next_id;
	pthread_mutex_init(&c->lock, NULL);
	c->next = G.ctxs;
	G.ctxs = c;
	pthread_mutex_unlock(&G.lock);
	*out = c;
	return CUDA_SUCCESS;
}

void vg_ctx_teardown(struct CUctx_st *c)
{
	struct vgpu_sess *s;

	pthread_mutex_lock(&c->lock);
	vg_mods_free(c);
	vg_streams_free(c);
	vg_allocs_free(c);
	s = c->s;
	c->s = NULL;
	c->null = (struct vg_progress){ 0 };
	pthread_mutex_unlock(&c->lock);
	vgpu_sess_close(s);
}

struct CUctx_st *vg_primary(void)
{
	struct CUctx_st *c;

	pthread_mutex_lock(&G.lock);
	c = G.primary;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (c) {
			c->magic = VG_CTX_MAGIC;
			c->primary = true;
			c->destroyed = true; /* inactive until retained */
			pthread_mutex_init(&c->lock, NULL);
			pthread_mutex_init(&c->ref_lock, NULL);
			c->next = G.ctxs;
			G.ctxs = c;
			G.primary = c;
		}
	}
	pthread_mutex_unlock(&G.lock);
	return c;
}

/* A context without a session (the primary one after a reset) gets a
 * new one, and a new id: it is a new context for everyone caching. */
static CUresult reopen(struct CUctx_st *c)
{
	struct vgpu_sess *s;
	int rc;

	pthread_mutex_lock(&G.lock);
	pthread_mutex_lock(&c->lock);
	if (c->s) {
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&G.lock);
		return CUDA_SUCCESS;
	}
	rc = take_session(&s);
	if (!rc) {
		c->s = s;
		c->id = ++G.next_id;
	}
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&G.lock);
	return vg_err(rc);
}

CUresult vg_ctx_check(struct CUctx_st *c)
{
	if (!c || c->magic != VG_CTX_MAGIC)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (c->destroyed)
		return CUDA_ERROR_CONTEXT_IS_DESTROYED;
	if (!__atomic_load_n(&c->s, __ATOMIC_ACQUIRE))
		return reopen(c);
	return CUDA_SUCCESS;
}

CUresult vg_ctx(struct CUctx_st **out)
{
	CUresult r = vg_initialized();
	struct CUctx_st *c;

	if (r)
		return r;
	c = vg_current();
	if (!c)
		return CUDA_ERROR_INVALID_CONTEXT;
	r = vg_ctx_check(c);
	if (!r)
		*out = c;
	return r;
}

struct CUctx_st *vg_ctx_find_host(const void *p)
{
	struct CUctx_st *c;

	pthread_mutex_lock(&G.lock);
	for (c = G.ctxs; c; c = c->next) {
		uint64_t size;
		void *base;

		if (c->s && !c->destroyed &&
		    !vgpu_host_range(c->s, p, &base, &size) && base == p)
			break;
	}
	pthread_mutex_unlock(&G.lock);
	return c;
}

/* The hook of the generated stubs (gen-stubs.sh): every exported name
 * this library does not implement. */
int vg_stub(const char *name)
{
	vg_log_once(name,
		    "not supported by this library (CUDA_ERROR_NOT_SUPPORTED)");
	return CUDA_ERROR_NOT_SUPPORTED;
}
