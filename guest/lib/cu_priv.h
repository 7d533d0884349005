/* SPDX-License-Identifier: MIT */
/*
 * libcuda.so.1, the driver API face: the objects behind CUDA's handles
 * and the helpers the cu_*.c files share. Every exported name is defined
 * under the name cuda.h maps it to (cuMemAlloc is cuMemAlloc_v2, ...);
 * the version script exports cu* and nothing else, so helpers are vg_*.
 */
#ifndef VGPU_GUEST_CU_PRIV_H
#define VGPU_GUEST_CU_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include <cuda.h>

#include "core.h"
#include "generated.h"

#define VG_CTX_MAGIC 0x43545831u
#define VG_STREAM_MAGIC 0x53545231u
#define VG_EVENT_MAGIC 0x45564e31u
#define VG_MOD_MAGIC 0x4d4f4431u
#define VG_FUNC_MAGIC 0x46554e31u

/* Device memory the context knows: allocations (owner NULL) and the
 * globals of its modules (owner: the module), for unified copies. */
struct vg_alloc {
	CUdeviceptr base;
	size_t size;
	const void *owner;
};

/* A stream's progress as the library knows it (cu_stream.c): work
 * counts submissions, idle is the count a synchronisation saw finished,
 * ev an internal event (0: none yet) recorded when work was ev_work. */
struct vg_progress {
	uint64_t work;
	uint64_t idle;
	uint64_t ev_work;
	uint32_t ev;
};

struct CUstream_st {
	uint32_t magic;
	struct CUctx_st *ctx;
	uint32_t id; /* the device's stream */
	unsigned int flags;
	int priority;
	bool dirty; /* work since the legacy stream last waited for it */
	uint64_t seen_epoch; /* the legacy stream's work it waited for */
	struct vg_progress p;
	struct CUstream_st *next;
};

struct CUevent_st {
	uint32_t magic;
	struct CUctx_st *ctx;
	uint32_t id;
	unsigned int flags;
	/* where it was last recorded: the stream (NULL: legacy) and its
	 * work count then; once the event is seen done, so is that work */
	bool recorded;
	struct CUstream_st *stream;
	uint64_t at;
	struct CUevent_st *next;
};

struct CUfunc_st {
	uint32_t magic;
	struct CUmod_st *mod;
	uint32_t id;
	char *name;
	struct vgpu_func_info info;
	struct CUfunc_st *next;
};

struct CUmod_st {
	uint32_t magic;
	struct CUctx_st *ctx;
	uint32_t id;
	struct CUfunc_st *funcs;
	struct CUmod_st *next;
};

struct CUctx_st {
	uint32_t magic;
	bool primary;
	bool destroyed; /* the handle stays valid memory; calls fail */
	unsigned int flags;
	unsigned long long id; /* unique per context life (cuCtxGetId) */
	struct vgpu_sess *s; /* NULL: not yet opened (primary after reset) */
	int refs; /* the primary context's retains */
	pthread_mutex_t ref_lock; /* refs, and the primary's life */
	pthread_mutex_t lock; /* the lists and the legacy-stream state */
	struct CUstream_st *streams;
	struct CUevent_st *events;
	struct CUmod_st *mods;
	struct vg_alloc *allocs; /* sorted by base */
	size_t nallocs, cap_allocs;
	struct vg_progress null; /* the legacy default stream's */
	struct CUctx_st *next;
};

/* ---- cu_state.c: the process's driver state ---- */

/* CUDA_SUCCESS once cuInit succeeded, else what it returned. */
CUresult vg_initialized(void);
/* The device (device 0) as the first session saw it. */
const struct vgpu_device_info *vg_devinfo(void);
CUresult vg_check_dev(CUdevice dev);
/* A new context with its own session. */
CUresult vg_ctx_new(struct CUctx_st **out, unsigned int flags, bool primary);
/* Free everything a context owns on the device and here; the context
 * object itself stays (its handle may still be named). */
void vg_ctx_teardown(struct CUctx_st *c);
/* The primary context object (created on first use). */
struct CUctx_st *vg_primary(void);
/* Every live context, for cuMemFreeHost's owner search. */
struct CUctx_st *vg_ctx_find_host(const void *p);

/* This thread's context stack (cu_ctx.c). */
struct CUctx_st *vg_current(void);
void vg_set_current(struct CUctx_st *c);
CUresult vg_push(struct CUctx_st *c);
struct CUctx_st *vg_pop(void);
void vg_forget_current(struct CUctx_st *c);

/* The current context, initialised and with a live session: *out. */
CUresult vg_ctx(struct CUctx_st **out);
/* A context handle checked, with a live session. */
CUresult vg_ctx_check(struct CUctx_st *c);

/* A core status as a CUresult. */
CUresult vg_err(int status);
/* "name: why" on stderr, once per name. */
void vg_log_once(const char *name, const char *why);
/* The generated stubs' hook: log once, CUDA_ERROR_NOT_SUPPORTED. */
int vg_stub(const char *name);

/* ---- cu_stream.c ---- */

/* Resolve a stream handle in context c: *id the device's stream, *st
 * the object (NULL for the default streams). */
CUresult vg_stream(struct CUctx_st *c, CUstream h, uint32_t *id,
		   struct CUstream_st **st);
/* Order work about to go to stream st (NULL: the legacy stream) after
 * what the legacy-stream rules say it follows. */
CUresult vg_before_work(struct CUctx_st *c, struct CUstream_st *st);
/* Stream handle to (context, device stream), ordered for new work. */
CUresult vg_stream_for_work(CUstream h, struct CUctx_st **c, uint32_t *id);
/* A synchronisation saw everything submitted to st (NULL: the legacy
 * stream; all: every stream of c) finished. */
void vg_stream_idle(struct CUctx_st *c, struct CUstream_st *st, bool all);
void vg_streams_free(struct CUctx_st *c);

/* ---- cu_mem.c ---- */

/* Is dptr inside one of c's allocations or module globals? */
bool vg_is_dev(struct CUctx_st *c, CUdeviceptr p, struct vg_alloc *out);
/* A module's global, known until the module goes (vg_globals_drop). */
void vg_global_add(struct CUctx_st *c, CUdeviceptr p, size_t size,
		   const void *mod);
void vg_globals_drop(struct CUctx_st *c, const void *mod);
void vg_allocs_free(struct CUctx_st *c);

/* ---- cu_module.c ---- */

void vg_mods_free(struct CUctx_st *c);
CUresult vg_func_check(CUfunction f);

#endif
