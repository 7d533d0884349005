/* SPDX-License-Identifier: MIT */
/*
 * The guest libraries' core: one device session (one CUDA context) and
 * everything that talks to it. It knows the device ABI
 * (include/vgpu/vgpu_ring_abi.h) and nothing of the CUDA API: the faces
 * (libcuda.so.1, and libcudart.so.13 on top of it) translate.
 *
 * Every call returns a status: VGPU_S_* from the device, or one of the
 * VGPU_L_* below for what the library itself found. A session whose
 * device context is lost (a kernel fault, a time-out, a device reset)
 * keeps that status as its sticky error: every later call returns it.
 * A failed asynchronous command (VGPU_SQE_QUIET) leaves its status as the
 * session's pending asynchronous error, returned once by
 * vgpu_take_async_error().
 *
 * Thread safety: every call may be made from any thread; a session has
 * one lock, held only while the queue is touched.
 */
#ifndef VGPU_GUEST_CORE_H
#define VGPU_GUEST_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

#include "transport.h"

/* Statuses of the library's own (beside VGPU_S_*). */
#define VGPU_L_NO_DEVICE 0x100 /* no transport reaches a device */
#define VGPU_L_OLD_ABI 0x101 /* the device lacks ABI 1.2 sessions */
#define VGPU_L_IO 0x102 /* the transport failed */
#define VGPU_L_NOMEM 0x103 /* out of host memory */
#define VGPU_L_QUEUE 0x104 /* the device broke the queue protocol */

/* The lowest device ABI the core works with. */
#define VGPU_CORE_ABI_MIN 0x00010002u

struct vgpu_sess;

/* Open a session through the transport the environment chooses (ops NULL)
 * or through @ops (the unit tests' fake). */
int vgpu_sess_open(struct vgpu_sess **out, const struct vgpu_tr_ops *ops,
		   const struct vgpu_tr_params *p);
/* Close it: the device frees everything the session owned. */
void vgpu_sess_close(struct vgpu_sess *s);
/* The device's session id, and the transport's view of it. */
uint32_t vgpu_sess_id(const struct vgpu_sess *s);
const struct vgpu_tr_session *vgpu_sess_tr(const struct vgpu_sess *s);

struct vgpu_sess_stats {
	uint64_t commands; /* entries submitted (not continuation slots) */
	uint64_t doorbells; /* doorbells rung */
	uint64_t waits; /* sleeps in the transport */
	uint64_t sq_full; /* times a submitter found the SQ full */
	uint64_t copy_threads; /* the most threads a staged copy ran on */
};
void vgpu_sess_stats(struct vgpu_sess *s, struct vgpu_sess_stats *st);

/* ---- queue (core_queue.c) ---- */

/* Run one command and wait for it: *result gets the completion's. The
 * entry's cid, flags and session are the core's to fill. @cont (cont_len
 * bytes) goes into continuation slots after the entry (LAUNCH). */
int vgpu_exec(struct vgpu_sess *s, struct vgpu_sqe *e, const void *cont,
	      uint32_t cont_len, uint64_t *result);
/* Submit one command asynchronously (VGPU_SQE_QUIET): returns at once;
 * a failure shows up as the session's asynchronous error. */
int vgpu_post(struct vgpu_sess *s, struct vgpu_sqe *e, const void *cont,
	      uint32_t cont_len);
/* Submit one command whose completion is waited for later (pipelines):
 * *ticket names it for vgpu_wait(), which must be called exactly once. */
int vgpu_submit(struct vgpu_sess *s, struct vgpu_sqe *e, unsigned *ticket);
int vgpu_wait(struct vgpu_sess *s, unsigned ticket, uint64_t *result);
/* The sticky error, else the pending asynchronous one (then cleared),
 * else VGPU_S_OK. */
int vgpu_take_async_error(struct vgpu_sess *s);
/* The sticky error or VGPU_S_OK; does not clear anything. */
int vgpu_sticky_error(struct vgpu_sess *s);
/* Whether a status ends the session (its sticky error). */
int vgpu_status_is_fatal(int status);

/* ---- device information (core_info.c) ---- */

/* The device as this session sees it; fetched once, then cached. */
int vgpu_device_info(struct vgpu_sess *s, const struct vgpu_device_info **out);

/* ---- memory (core_mem.c, core_copy.c, core_pinned.c) ---- */

int vgpu_mem_alloc(struct vgpu_sess *s, uint64_t bytes, uint64_t *dptr);
int vgpu_mem_free(struct vgpu_sess *s, uint64_t dptr);
int vgpu_mem_get_info(struct vgpu_sess *s, uint64_t *free_bytes);

/* Copies. stream: the device stream (0: the default). async: return once
 * submitted where the host side allows it (pinned host memory); copies
 * from or to ordinary memory are staged through the pinned pool and
 * return when the host buffer may be reused (H2D) or holds the data
 * (D2H). */
int vgpu_copy_h2d(struct vgpu_sess *s, uint64_t dptr, const void *src,
		  uint64_t len, uint32_t stream, int async);
int vgpu_copy_d2h(struct vgpu_sess *s, void *dst, uint64_t dptr, uint64_t len,
		  uint32_t stream, int async);
int vgpu_copy_d2d(struct vgpu_sess *s, uint64_t dst, uint64_t src, uint64_t len,
		  uint32_t stream, int async);
/* elem: 1, 2 or 4 bytes; count elements. */
int vgpu_memset(struct vgpu_sess *s, uint64_t dptr, uint32_t value,
		uint32_t elem, uint64_t count, uint32_t stream, int async);

/* Pinned host memory: from the pool, or a region of its own when large.
 * The memory stays valid until vgpu_host_free() or the session closes. */
int vgpu_host_alloc(struct vgpu_sess *s, uint64_t bytes, void **va);
int vgpu_host_free(struct vgpu_sess *s, void *va);
/* Is [va, va + len) inside this session's pinned memory? Then *region
 * and *off name it for the device. */
int vgpu_host_lookup(struct vgpu_sess *s, const void *va, uint64_t len,
		     uint32_t *region, uint64_t *off);
/* The pinned allocation holding va: its base and size (0 if none). */
int vgpu_host_range(struct vgpu_sess *s, const void *va, void **base,
		    uint64_t *size);

/* ---- modules (core_module.c) ---- */

/* The size of a module image: a fatbin wrapper (0x466243b1: its image),
 * a fatbin image (0xBA55ED50: header + body), an ELF cubin, or PTX text
 * (through its NUL). *image is set to where the image starts. Returns
 * VGPU_S_OK or VGPU_S_BAD_IMAGE. */
int vgpu_image_size(const void **image, uint64_t *size);
#define VGPU_FATBIN_WRAPPER_MAGIC 0x466243b1u
#define VGPU_FATBIN_IMAGE_MAGIC 0xBA55ED50u

int vgpu_module_load(struct vgpu_sess *s, const void *image, uint64_t size,
		     uint32_t *module);
int vgpu_module_unload(struct vgpu_sess *s, uint32_t module);
/* A kernel by name with its parameter layout. */
int vgpu_func_get(struct vgpu_sess *s, uint32_t module, const char *name,
		  uint32_t *func, struct vgpu_func_info *info);
int vgpu_global_get(struct vgpu_sess *s, uint32_t module, const char *name,
		    uint64_t *dptr, uint64_t *size);

/* ---- launches, streams, events (core_exec.c) ---- */

struct vgpu_launch {
	uint32_t func;
	uint32_t stream;
	uint32_t grid[3];
	uint32_t block[3];
	uint32_t shmem;
	uint32_t param_len; /* must equal the layout's param_bytes */
	const void *params;
};
int vgpu_launch(struct vgpu_sess *s, const struct vgpu_launch *l);

int vgpu_stream_create(struct vgpu_sess *s, uint32_t flags, uint32_t *stream);
int vgpu_stream_destroy(struct vgpu_sess *s, uint32_t stream);
int vgpu_stream_sync(struct vgpu_sess *s, uint32_t stream);
int vgpu_stream_wait_event(struct vgpu_sess *s, uint32_t stream,
			   uint32_t event);
int vgpu_event_create(struct vgpu_sess *s, uint32_t flags, uint32_t *event);
int vgpu_event_destroy(struct vgpu_sess *s, uint32_t event);
int vgpu_event_record(struct vgpu_sess *s, uint32_t event, uint32_t stream);
/* *done: 1 when the event's work is done (or it was never recorded). */
int vgpu_event_query(struct vgpu_sess *s, uint32_t event, int *done);
int vgpu_event_sync(struct vgpu_sess *s, uint32_t event);
int vgpu_event_elapsed(struct vgpu_sess *s, uint32_t start, uint32_t end,
		       uint64_t *ns);
int vgpu_ctx_sync(struct vgpu_sess *s);

/* ---- logging (core_log.c) ---- */

/* One line on stderr, "vgpu-cuda: ...". */
void vgpu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A short text for a status, for log lines. */
const char *vgpu_status_text(int status);

#endif
