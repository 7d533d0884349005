/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vgpu-cuda-worker: one process per session that runs it on a GPU through
 * the CUDA driver API (include/vgpu/cuda_ipc.h says how it talks to
 * vgpu-ioreq, and why a process per session). The session thread owns
 * the context; a JIT thread compiles PTX off the request path; the main
 * thread reads the control socket and watches the session thread. Once
 * the session is closed or lost, the process exits.
 *
 * Files by concern: main.c (start, control, watchdog), device.c (the
 * GPU, its attributes, the context-cost probe), session.c (the thread),
 * track.c (what is in flight on each stream, completions, time limits),
 * ops.c (memory, copies, launches, streams, events), module.c (modules,
 * functions, globals, the JIT thread), table.c (handle tables, errors).
 */
#ifndef VGPU_CUDA_WORKER_H
#define VGPU_CUDA_WORKER_H

#include <cuda.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/cuda_ipc.h>

struct worker;
struct wk_session;

/* ---- table.c ---- */

/* A handle table: ids are index + 1, never 0. */
struct wk_table {
	void **v;
	uint32_t n; /* slots in use or freed */
	uint32_t cap;
	uint32_t live;
};

uint32_t wk_table_add(struct wk_table *t, void *p); /* 0: no memory */
void *wk_table_get(const struct wk_table *t, uint32_t id);
void *wk_table_del(struct wk_table *t, uint32_t id);
void wk_table_free(struct wk_table *t);

uint64_t wk_now_ns(void);
/* A CUDA error as a VGPU_S_* status. */
uint32_t wk_status(CUresult rc);
/* Does @rc leave the context unusable (a faulting kernel, ...)? */
bool wk_sticky(CUresult rc);
const char *wk_errname(CUresult rc);
void wk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End the process now (no atexit handlers, threads and all). */
void wk_exit(int code) __attribute__((noreturn));

/* ---- track.c: work in flight ---- */

enum wk_item_kind {
	WK_ITEM_REQ, /* a request: complete its token when done */
	WK_ITEM_ALLOC, /* MEM_ALLOC's zeroing: result is the dptr */
	WK_ITEM_STAGE_H2D, /* slot back to FREE when done */
	WK_ITEM_STAGE_D2H, /* slot READY when done */
};

struct wk_item {
	struct wk_item *next;
	uint64_t seq;
	uint32_t token, gen;
	uint8_t kind;
	bool launch;
	uint32_t slot; /* staging slot */
	uint32_t nlaunch; /* with ev: launches this event covers */
	uint64_t result;
	CUevent ev; /* NULL: covered by a later item's event */
	uint64_t rec_at; /* profile: when ev was recorded */
	CUevent gpu0, gpu1; /* profile: timing events around a copy */
	uint64_t bytes; /* profile: the copy's */
};

struct wk_stream {
	uint32_t id; /* 0: the legacy default stream */
	CUstream s;
	struct wk_item *head, *tail;
	uint32_t unevented; /* items at the tail without an event */
	uint32_t unevented_launches;
	uint64_t head_since; /* when the current head group began */
	uint64_t last_ev_seq; /* seq of the newest item with an event */
	uint64_t armed_seq; /* seq a host function will wake us after */
	bool dying; /* STREAM_DESTROY: destroy once drained */
};

enum wk_wait_kind {
	WK_WAIT_DONE, /* nothing more to do: complete */
	WK_WAIT_MEM_FREE,
	WK_WAIT_MODULE_UNLOAD,
	WK_WAIT_REGION_UNREG,
	WK_WAIT_STREAM_DESTROY,
	WK_WAIT_COMPUTE,
};

/* A request that completes once earlier work has. */
struct wk_waiter {
	struct wk_waiter *next;
	uint32_t token, gen;
	uint8_t kind;
	struct wk_stream *st; /* NULL: every stream */
	uint64_t seq; /* waits until every item before this seq is done */
	uint64_t a[3];
	uint32_t u[2];
};

void wk_track_init(struct wk_session *s);
/* Queue @it on @st after its operation was issued; true if it needs an
 * event (already recorded by the caller when @it->ev is set). */
void wk_track_push(struct wk_session *s, struct wk_stream *st,
		   struct wk_item *it);
/* A request with no GPU work of its own (STREAM_SYNC, STAGE_END): done
 * when what was issued on @st before it is. */
void wk_marker(struct wk_session *s, struct wk_stream *st,
	       const struct cw_req *q);
struct wk_item *wk_item_new(struct wk_session *s, uint8_t kind, uint32_t token,
			    uint32_t gen);
/* Record events for the items queued since the last call. */
void wk_track_close_batch(struct wk_session *s);
/* Complete what the GPU finished. True if anything completed. */
bool wk_track_poll(struct wk_session *s);
/* Run the waiters whose earlier work is done. */
bool wk_track_waiters(struct wk_session *s);
/* A waiter for everything issued so far on @st (NULL: every stream);
 * NULL if there is no memory (the request then failed). */
struct wk_waiter *wk_track_wait(struct wk_session *s, uint8_t kind,
				struct wk_stream *st, uint32_t token,
				uint32_t gen, const uint64_t *a,
				const uint32_t *u);
bool wk_track_busy(const struct wk_session *s);
/* Arm host functions so that the GPU wakes the thread; the next
 * deadline (ns, 0: none) for the sleep. */
uint64_t wk_track_arm(struct wk_session *s);
/* A kernel past its time limit? Loses the session. */
void wk_track_timeouts(struct wk_session *s);
/* Fail everything in flight: the culprit (s->culprit_seq, else the
 * oldest launch) gets @status, the rest SESSION_LOST. True if a request
 * was blamed. */
bool wk_track_fail_all(struct wk_session *s, uint32_t status);
void wk_track_stream_gone(struct wk_session *s, struct wk_stream *st);
void wk_track_free(struct wk_session *s);
struct wk_stream *wk_stream_get(struct wk_session *s, uint32_t id);

/* ---- session.c ---- */

struct wk_region {
	uint32_t id;
	void *va;
	uint64_t len;
	int fd;
	bool registered;
};

struct wk_cpl_pending {
	struct wk_cpl_pending *next;
	uint32_t len;
	uint8_t rec[];
};

struct wk_jit_done {
	struct wk_jit_done *next;
	uint32_t token, gen;
	CUresult rc;
	CUmodule mod;
	uint64_t bytes;
};

struct wk_session {
	struct worker *w;
	pthread_t thread;
	struct cw_sess_shm *shm;
	struct cw_stats *stats; /* in the shared header */
	bool profile; /* CW_CFG_PROFILE */
	struct cw_cons req;
	struct cw_prod cpl;
	uint32_t cpl_pub; /* published completion position */
	struct wk_cpl_pending *ovf, **ovf_tail; /* completions without room */
	CUcontext ctx;
	int state; /* enum cw_sess_state */
	uint32_t lost_status; /* what requests get once lost */
	uint8_t *stage; /* the staging slots */
	bool stage_tried, stage_registered;
	/* handles */
	struct wk_table streams, events, modules, funcs;
	struct wk_region *regions;
	uint32_t nregions;
	/* work in flight (track.c) */
	struct wk_stream def, zero; /* legacy default; zeroing stream */
	uint64_t seq;
	uint64_t culprit_seq; /* set before a loss that knows its culprit */
	struct wk_item *free_items;
	struct wk_waiter *waiters, **waiters_tail;
	CUevent *evpool;
	uint32_t nevpool, evpool_cap;
	uint64_t pinned;
	/* a MODULE_LOAD being received */
	uint8_t *img;
	uint64_t img_total, img_got;
	uint32_t img_token, img_gen;
	bool img_discard; /* refused: img_fail once the last chunk is in */
	uint32_t img_fail;
	/* the JIT thread's results (jit_lock) */
	pthread_mutex_t jit_lock;
	pthread_cond_t jit_cond;
	struct wk_jit_done *jit_done;
	uint32_t jit_busy; /* jobs queued or running for this session */
	bool jit_cancel;
	/* for the main thread's watchdog: a CUDA call that may hang */
	uint64_t blocked_since; /* atomic; 0: none */
};

void wk_post(struct wk_session *s, uint32_t token, uint32_t gen,
	     uint32_t status, uint64_t result, const void *payload,
	     uint32_t plen);
void wk_wake(struct wk_session *s);
/* The context is gone or unusable: fail everything, free the context.
 * The request being handled (@token, 0: none) gets @status if nothing in
 * flight was to blame, else SESSION_LOST. */
void wk_session_lose(struct wk_session *s, uint32_t status, uint32_t token,
		     uint32_t gen);
/* A CUDA call failed: a sticky error loses the session; otherwise the
 * request (if any) completes with the error. */
void wk_session_error(struct wk_session *s, CUresult rc, uint32_t token,
		      uint32_t gen);
/* SESSION_OPEN: the session's thread (it makes the context). */
int wk_session_start(struct worker *w);
/* The session is over (closed, or lost after its verdicts went out): the
 * process ends, and the driver frees its context with it. */
void wk_session_exit(struct wk_session *s, int code) __attribute__((noreturn));
struct wk_region *wk_region_find(struct wk_session *s, uint32_t id);
void wk_region_release(struct wk_session *s, struct wk_region *r);

/* ---- ops.c, event.c, region.c ---- */

void wk_op(struct wk_session *s, const struct cw_req *q, uint32_t len);
void wk_waiter_run(struct wk_session *s, struct wk_waiter *wt);
/* A request issued on @st (@rc its call's result): track it (its item)
 * or fail it (NULL). */
struct wk_item *wk_issued(struct wk_session *s, struct wk_stream *st,
			  CUresult rc, const struct cw_req *q, bool launch);
void wk_event_op(struct wk_session *s, const struct cw_req *q,
		 struct wk_stream *st);
void wk_region_op(struct wk_session *s, const struct cw_req *q);

/* ---- module.c ---- */

void wk_module_data(struct wk_session *s, const struct cw_req *q, uint32_t len);
/* Unload (earlier work done); a VGPU_S_* status. */
uint32_t wk_module_unload(struct wk_session *s, uint32_t id);
void wk_func_get(struct wk_session *s, const struct cw_req *q, uint32_t len);
void wk_global_get(struct wk_session *s, const struct cw_req *q, uint32_t len);
bool wk_jit_reap(struct wk_session *s);
/* The JIT thread lives as long as the process. */
int wk_jit_start(struct worker *w);
/* Wait until the JIT thread holds nothing of @s (before its context
 * goes); queued jobs are dropped. */
void wk_jit_drain(struct wk_session *s);
/* Is @img (fatbin, cubin or PTX) loadable without a JIT on @sm (e.g. 90)? */
bool wk_image_has_sass(const uint8_t *img, uint64_t len, int sm);

struct wk_func {
	CUfunction f;
	uint32_t module;
	uint32_t param_bytes;
};

struct wk_event {
	CUevent e;
	uint32_t rec_stream; /* where it was last recorded */
	uint64_t rec_seq; /* that record's item; 0: never recorded */
};

struct wk_module {
	CUmodule m;
	uint64_t bytes;
};

/* ---- device.c ---- */

int wk_device_open(struct worker *w, char *msg, size_t len);
/* The session's context (made current, then popped). */
CUresult wk_device_context(struct worker *w, CUcontext *ctx);
void wk_device_refresh_free(struct worker *w);
/* vgpu-cuda-worker --probe GPU: what a context costs, one line to fd 3
 * ("ctx_cost BYTES kept K of N"); the exit status. */
int wk_probe(const char *gpu);

/* ---- dmaprobe.c ---- */

/* vgpu-cuda-worker --dma-probe: R lines on stdout; the exit status. */
int wk_dma_probe(const char *gpu);

/* ---- main.c ---- */

struct wk_region_fd {
	uint32_t id;
	int fd;
	uint64_t len, off;
	bool taken;
};

struct wk_jit_job {
	struct wk_jit_job *next;
	struct wk_session *s;
	uint32_t token, gen;
	uint8_t *img;
	uint64_t len;
};

struct worker {
	int sock;
	struct cw_config cfg;
	struct cw_shm_hdr *shm; /* the shared memory's header */
	uint64_t shm_len;
	uint8_t *stage;
	int notify_fd;
	CUdevice dev;
	int sm; /* compute capability, e.g. 90 */
	uint64_t ctx_overhead; /* as the spawner's probe measured */
	pthread_mutex_t lock; /* region fds, pinned, module bytes */
	pthread_cond_t cond;
	struct wk_region_fd *rfd;
	uint32_t nrfd, rfd_cap;
	uint64_t pinned; /* client bytes registered */
	uint64_t module_bytes; /* module images held */
	struct wk_session *s; /* NULL until SESSION_OPEN */
	/* JIT */
	pthread_t jit_thread;
	pthread_mutex_t jit_lock;
	pthread_cond_t jit_cond;
	struct wk_jit_job *jit_head, **jit_tail;
};

/* Take the fd the control socket brought for region @id (waiting a
 * little for it); -1 if none came. */
int wk_region_fd_take(struct worker *w, uint32_t id, uint64_t *len,
		      uint64_t *off);
bool wk_pinned_reserve(struct worker *w, uint64_t bytes);
void wk_pinned_release(struct worker *w, uint64_t bytes);

/* ---- figures (struct cw_stats) ---- */

#define WK_COUNT(s, field, n) ((s)->stats->field += (n))

/* Now, if this worker times its stages; else 0. */
static inline uint64_t wk_prof(const struct wk_session *s)
{
	return s->profile ? wk_now_ns() : 0;
}

/* Add the time since @t0 (from wk_prof) to *@sum. */
static inline void wk_prof_add(uint64_t *sum, uint64_t t0)
{
	if (t0)
		*sum += wk_now_ns() - t0;
}

#endif
