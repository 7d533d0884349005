// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: a session's requests. Stream operations are issued
 * asynchronously and tracked (track.c); requests that must see earlier
 * work finished (frees, unloads, syncs) become waiters. Requests arrive
 * validated by the proxy's engine; the checks here are a second line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker.h"

struct wk_item *wk_issued(struct wk_session *s, struct wk_stream *st,
			  CUresult rc, const struct cw_req *q, bool launch)
{
	struct wk_item *it;

	if (rc != CUDA_SUCCESS) {
		wk_session_error(s, rc, q->h.token, q->h.gen);
		return NULL;
	}
	it = wk_item_new(s, WK_ITEM_REQ, q->h.token, q->h.gen);
	if (!it) {
		wk_session_lose(s, VGPU_S_BACKEND, q->h.token, q->h.gen);
		return NULL;
	}
	it->launch = launch;
	wk_track_push(s, st, it);
	return it;
}

/* Profile: a timing event recorded on @st now (NULL: none). */
static CUevent gpu_mark(struct wk_session *s, struct wk_stream *st)
{
	CUevent e = NULL;

	if (!s->profile || cuEventCreate(&e, CU_EVENT_DEFAULT) != CUDA_SUCCESS)
		return NULL;
	if (cuEventRecord(e, st->s) != CUDA_SUCCESS) {
		cuEventDestroy(e);
		return NULL;
	}
	return e;
}

/* A DMA of @n bytes on @st; the time in the call and, with the
 * profile, on the GPU (timing events on both sides of it). */
static CUresult dma(struct wk_session *s, struct wk_stream *st, bool h2d,
		    CUdeviceptr d, void *h, uint64_t n, CUevent *g0)
{
	uint64_t t0;
	CUresult rc;

	*g0 = gpu_mark(s, st);
	t0 = wk_prof(s);
	rc = h2d ? cuMemcpyHtoDAsync(d, h, n, st->s) :
		   cuMemcpyDtoHAsync(h, d, n, st->s);
	wk_prof_add(&s->stats->copy_ns, t0);
	WK_COUNT(s, copies, 1);
	WK_COUNT(s, copy_bytes, n);
	return rc;
}

static void dma_timed(struct wk_session *s, struct wk_stream *st,
		      struct wk_item *it, CUevent g0, uint64_t n)
{
	if (!g0)
		return;
	if (!it) {
		cuEventDestroy(g0);
		return;
	}
	it->gpu0 = g0;
	it->gpu1 = gpu_mark(s, st);
	it->bytes = n;
}

static void post(struct wk_session *s, const struct cw_req *q, uint32_t status,
		 uint64_t result)
{
	wk_post(s, q->h.token, q->h.gen, status, result, NULL, 0);
}

static void op_alloc(struct wk_session *s, const struct cw_req *q)
{
	CUdeviceptr d = 0;
	CUresult rc;
	struct wk_item *it;

	if (q->a[0] == 0) {
		post(s, q, VGPU_S_INVALID, 0);
		return;
	}
	rc = cuMemAlloc(&d, q->a[0]);
	if (rc != CUDA_SUCCESS) {
		wk_session_error(s, rc, q->h.token, q->h.gen);
		return;
	}
	wk_device_refresh_free(s->w);
	if (s->w->cfg.flags & CW_CFG_NO_ZERO) {
		post(s, q, VGPU_S_OK, d);
		return;
	}
	/* Another session's old data must never show: zero it, and
	 * answer once the zeroing is done. */
	rc = cuMemsetD8Async(d, 0, q->a[0], s->zero.s);
	it = rc == CUDA_SUCCESS ?
		     wk_item_new(s, WK_ITEM_ALLOC, q->h.token, q->h.gen) :
		     NULL;
	if (!it) {
		cuMemFree(d);
		wk_session_error(s, rc ? rc : CUDA_ERROR_OUT_OF_MEMORY,
				 q->h.token, q->h.gen);
		return;
	}
	it->result = d;
	wk_track_push(s, &s->zero, it);
}

/* [off, off + len) inside region @id; its address, or NULL. */
static void *region_at(struct wk_session *s, uint32_t id, uint64_t off,
		       uint64_t len, struct wk_region **rp)
{
	struct wk_region *r = wk_region_find(s, id);

	if (!r || !r->va || off > r->len || len > r->len - off)
		return NULL;
	*rp = r;
	return (uint8_t *)r->va + off;
}

static void op_copy(struct wk_session *s, const struct cw_req *q,
		    struct wk_stream *st)
{
	struct wk_region *r = NULL;
	void *h = region_at(s, q->u[0], q->a[1], q->a[2], &r);
	CUevent g0;
	CUresult rc;

	if (!h) {
		post(s, q, VGPU_S_BAD_HANDLE, 0);
		return;
	}
	if (!r->registered)
		__atomic_store_n(&s->blocked_since, wk_now_ns(),
				 __ATOMIC_RELAXED);
	rc = dma(s, st, q->op == VGPU_OP_COPY_H2D, q->a[0], h, q->a[2], &g0);
	__atomic_store_n(&s->blocked_since, 0, __ATOMIC_RELAXED);
	dma_timed(s, st, wk_issued(s, st, rc, q, false), g0, q->a[2]);
}

/* The session's staging slice, registered in its context on first use
 * (pageable copies if that fails). */
static void stage_register(struct wk_session *s)
{
	uint64_t len = (uint64_t)s->w->cfg.nslots * s->w->cfg.slot_bytes;
	CUresult rc;

	if (s->stage_tried)
		return;
	s->stage_tried = true;
	rc = cuMemHostRegister(s->stage, len, 0);
	s->stage_registered = rc == CUDA_SUCCESS;
	if (rc != CUDA_SUCCESS)
		wk_log("staging not registered (%s): pageable copies",
		       wk_errname(rc));
}

static void op_stage(struct wk_session *s, const struct cw_req *q,
		     struct wk_stream *st)
{
	bool h2d = q->op == CW_OP_STAGE_H2D;
	uint32_t slot = q->u[0];
	uint8_t *h = s->stage + (uint64_t)slot * s->w->cfg.slot_bytes;
	struct wk_item *it;
	CUevent g0;
	CUresult rc;

	if (slot >= s->w->cfg.nslots || q->a[2] > s->w->cfg.slot_bytes) {
		wk_log("bad staging request");
		return;
	}
	stage_register(s);
	if (!s->stage_registered)
		__atomic_store_n(&s->blocked_since, wk_now_ns(),
				 __ATOMIC_RELAXED);
	rc = dma(s, st, h2d, q->a[0], h, q->a[2], &g0);
	__atomic_store_n(&s->blocked_since, 0, __ATOMIC_RELAXED);
	it = rc == CUDA_SUCCESS ?
		     wk_item_new(s, h2d ? WK_ITEM_STAGE_H2D : WK_ITEM_STAGE_D2H,
				 0, 0) :
		     NULL;
	if (!it) {
		if (g0)
			cuEventDestroy(g0);
		cw_store(&s->shm->slot[slot].v, CW_SLOT_ERROR);
		cw_futex_wake(&s->shm->slot[slot].v);
		wk_session_error(s, rc ? rc : CUDA_ERROR_OUT_OF_MEMORY, 0, 0);
		return;
	}
	it->slot = slot;
	dma_timed(s, st, it, g0, q->a[2]);
	wk_track_push(s, st, it);
}

static void op_memset(struct wk_session *s, const struct cw_req *q,
		      struct wk_stream *st)
{
	CUresult rc;

	switch (q->u[1]) {
	case 1:
		rc = cuMemsetD8Async(q->a[0], (unsigned char)q->u[0], q->a[1],
				     st->s);
		break;
	case 2:
		rc = cuMemsetD16Async(q->a[0], (unsigned short)q->u[0], q->a[1],
				      st->s);
		break;
	case 4:
		rc = cuMemsetD32Async(q->a[0], q->u[0], q->a[1], st->s);
		break;
	default:
		post(s, q, VGPU_S_INVALID, 0);
		return;
	}
	wk_issued(s, st, rc, q, false);
}

static void op_launch(struct wk_session *s, const struct cw_req *q,
		      uint32_t len, struct wk_stream *st)
{
	struct wk_func *f = wk_table_get(&s->funcs, q->u[0]);
	size_t plen = q->a[0];
	void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, (void *)(q + 1),
			  CU_LAUNCH_PARAM_BUFFER_SIZE, &plen,
			  CU_LAUNCH_PARAM_END };
	uint64_t t0;
	CUresult rc;

	if (!f) {
		post(s, q, VGPU_S_BAD_HANDLE, 0);
		return;
	}
	if (plen != f->param_bytes || plen > len - sizeof(*q)) {
		post(s, q, VGPU_S_BAD_PARAMS, 0);
		return;
	}
	t0 = wk_prof(s);
	rc = cuLaunchKernel(f->f, q->u[1], q->u[2], q->u[3], q->u[4], q->u[5],
			    q->u[6], q->u[7], st->s, NULL, plen ? extra : NULL);
	wk_prof_add(&s->stats->launch_ns, t0);
	WK_COUNT(s, launches, 1);
	wk_issued(s, st, rc, q, true);
}

static void op_stream(struct wk_session *s, const struct cw_req *q,
		      struct wk_stream *st)
{
	struct wk_stream *n;
	struct wk_event *ev;
	CUresult rc;

	switch (q->op) {
	case VGPU_OP_STREAM_CREATE:
		n = calloc(1, sizeof(*n));
		if (!n) {
			post(s, q, VGPU_S_NO_MEMORY, 0);
			return;
		}
		rc = cuStreamCreate(&n->s, q->u[2] & VGPU_STREAM_NON_BLOCKING ?
						   CU_STREAM_NON_BLOCKING :
						   CU_STREAM_DEFAULT);
		n->id = rc == CUDA_SUCCESS ? wk_table_add(&s->streams, n) : 0;
		if (!n->id) {
			if (rc == CUDA_SUCCESS)
				cuStreamDestroy(n->s);
			free(n);
			wk_session_error(s, rc ? rc : CUDA_ERROR_OUT_OF_MEMORY,
					 q->h.token, q->h.gen);
			return;
		}
		post(s, q, VGPU_S_OK, n->id);
		return;
	case VGPU_OP_STREAM_DESTROY:
		n = q->u[0] ? wk_stream_get(s, q->u[0]) : NULL;
		if (!n) {
			post(s, q, VGPU_S_BAD_HANDLE, 0);
			return;
		}
		n->dying = true;
		wk_track_wait(s, WK_WAIT_STREAM_DESTROY, n, q->h.token,
			      q->h.gen, NULL, q->u);
		return;
	case VGPU_OP_STREAM_SYNC:
		wk_marker(s, st, q);
		return;
	case VGPU_OP_STREAM_WAIT_EVENT:
		ev = wk_table_get(&s->events, q->u[1]);
		if (!ev) {
			post(s, q, VGPU_S_BAD_HANDLE, 0);
			return;
		}
		wk_issued(s, st, cuStreamWaitEvent(st->s, ev->e, 0), q, false);
		return;
	}
}

/* The 1.1 toy kernels, on the worker's CPU over device memory (they
 * exist for the 1.1 ABI's tests, not for speed). */
static void compute(struct wk_session *s, struct wk_waiter *wt)
{
	uint64_t dst = wt->a[0], src = wt->a[1], len = wt->a[2], r = 0;
	uint32_t *buf, x = 0;
	CUresult rc;

	if (len % 4 || len > (64u << 20) ||
	    (wt->u[0] != VGPU_K_ADD1_U32 && wt->u[0] != VGPU_K_XOR_U32)) {
		wk_post(s, wt->token, wt->gen, VGPU_S_INVALID, 0, NULL, 0);
		return;
	}
	buf = malloc(len ? len : 4);
	if (!buf) {
		wk_post(s, wt->token, wt->gen, VGPU_S_NO_MEMORY, 0, NULL, 0);
		return;
	}
	rc = len ? cuMemcpyDtoH(buf, src, len) : CUDA_SUCCESS;
	for (uint64_t i = 0; rc == CUDA_SUCCESS && i < len / 4; i++) {
		x ^= buf[i];
		buf[i]++;
	}
	if (rc == CUDA_SUCCESS && wt->u[0] == VGPU_K_ADD1_U32 && len)
		rc = cuMemcpyHtoD(dst, buf, len);
	r = wt->u[0] == VGPU_K_ADD1_U32 ? len / 4 : x;
	free(buf);
	if (rc != CUDA_SUCCESS)
		wk_session_error(s, rc, wt->token, wt->gen);
	else
		wk_post(s, wt->token, wt->gen, VGPU_S_OK, r, NULL, 0);
}

void wk_waiter_run(struct wk_session *s, struct wk_waiter *wt)
{
	struct wk_region *r;
	struct wk_stream *st;
	CUresult rc = CUDA_SUCCESS;

	switch (wt->kind) {
	case WK_WAIT_MEM_FREE:
		rc = cuMemFree(wt->a[0]);
		wk_device_refresh_free(s->w);
		break;
	case WK_WAIT_MODULE_UNLOAD:
		wk_post(s, wt->token, wt->gen, wk_module_unload(s, wt->u[0]), 0,
			NULL, 0);
		return;
	case WK_WAIT_REGION_UNREG:
		r = wk_region_find(s, wt->u[0]);
		if (r)
			wk_region_release(s, r);
		break;
	case WK_WAIT_STREAM_DESTROY:
		st = wk_table_get(&s->streams, wt->u[0]);
		if (st)
			wk_track_stream_gone(s, st);
		break;
	case WK_WAIT_COMPUTE:
		compute(s, wt);
		return;
	default:
		break;
	}
	if (rc != CUDA_SUCCESS)
		wk_session_error(s, rc, wt->token, wt->gen);
	else
		wk_post(s, wt->token, wt->gen, VGPU_S_OK, 0, NULL, 0);
}

/* A session that lost its context answers everything the same way. */
static void lost_op(struct wk_session *s, const struct cw_req *q)
{
	uint64_t len, off;
	int fd;

	switch (q->op) {
	case CW_OP_STAGE_H2D:
	case CW_OP_STAGE_D2H:
		if (q->u[0] < CW_MAX_SLOTS) {
			cw_store(&s->shm->slot[q->u[0]].v, CW_SLOT_ERROR);
			cw_futex_wake(&s->shm->slot[q->u[0]].v);
		}
		return;
	case VGPU_OP_MODULE_LOAD:
	case CW_OP_MODULE_DATA:
		wk_module_data(s, q, (uint32_t)q->h.len);
		return;
	case CW_OP_REGION_REG:
		fd = wk_region_fd_take(s->w, q->u[0], &len, &off);
		if (fd >= 0)
			close(fd);
		return;
	default:
		post(s, q, s->lost_status, 0);
	}
}

/* The requests that run on a stream. */
static void stream_op(struct wk_session *s, const struct cw_req *q,
		      uint32_t len)
{
	struct wk_stream *st = wk_stream_get(s, q->stream);

	if (!st) {
		post(s, q, VGPU_S_BAD_HANDLE, 0);
		return;
	}
	switch (q->op) {
	case VGPU_OP_COPY_H2D:
	case VGPU_OP_COPY_D2H:
		op_copy(s, q, st);
		return;
	case CW_OP_STAGE_H2D:
	case CW_OP_STAGE_D2H:
		op_stage(s, q, st);
		return;
	case CW_OP_STAGE_END:
		wk_marker(s, st, q);
		return;
	case VGPU_OP_COPY_D2D:
		wk_issued(s, st,
			  cuMemcpyDtoDAsync(q->a[0], q->a[1], q->a[2], st->s),
			  q, false);
		return;
	case VGPU_OP_MEMSET:
		op_memset(s, q, st);
		return;
	case VGPU_OP_LAUNCH:
		op_launch(s, q, len, st);
		return;
	case VGPU_OP_STREAM_SYNC:
	case VGPU_OP_STREAM_WAIT_EVENT:
		op_stream(s, q, st);
		return;
	case VGPU_OP_EVENT_RECORD:
		wk_event_op(s, q, st);
		return;
	}
	post(s, q, VGPU_S_INVALID, 0);
}

void wk_op(struct wk_session *s, const struct cw_req *q, uint32_t len)
{
	if (s->state != CW_SESS_LIVE) {
		lost_op(s, q);
		return;
	}
	switch (q->op) {
	case VGPU_OP_MEM_ALLOC:
		op_alloc(s, q);
		return;
	case VGPU_OP_MEM_FREE:
		wk_track_wait(s, WK_WAIT_MEM_FREE, NULL, q->h.token, q->h.gen,
			      q->a, NULL);
		return;
	case VGPU_OP_MODULE_LOAD:
	case CW_OP_MODULE_DATA:
		wk_module_data(s, q, len);
		return;
	case VGPU_OP_MODULE_UNLOAD:
		wk_track_wait(s, WK_WAIT_MODULE_UNLOAD, NULL, q->h.token,
			      q->h.gen, NULL, q->u);
		return;
	case VGPU_OP_FUNC_GET:
		wk_func_get(s, q, len);
		return;
	case VGPU_OP_GLOBAL_GET:
		wk_global_get(s, q, len);
		return;
	case VGPU_OP_CTX_SYNC:
	case VGPU_OP_COMPUTE:
		wk_track_wait(s,
			      q->op == VGPU_OP_CTX_SYNC ? WK_WAIT_DONE :
							  WK_WAIT_COMPUTE,
			      NULL, q->h.token, q->h.gen, q->a, q->u);
		return;
	case CW_OP_REGION_REG:
	case CW_OP_REGION_UNREG:
		wk_region_op(s, q);
		return;
	case VGPU_OP_STREAM_CREATE:
	case VGPU_OP_STREAM_DESTROY:
		op_stream(s, q, NULL);
		return;
	case VGPU_OP_EVENT_CREATE:
	case VGPU_OP_EVENT_DESTROY:
	case VGPU_OP_EVENT_QUERY:
	case VGPU_OP_EVENT_SYNC:
	case VGPU_OP_EVENT_ELAPSED:
		wk_event_op(s, q, NULL);
		return;
	}
	stream_op(s, q, len);
}
