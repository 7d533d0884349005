// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: a session's events, CUDA events. A record is tracked
 * like any stream operation (its own completion does not use the guest's
 * event, which the guest may record again before we look); EVENT_SYNC
 * waits for that record's place in its stream, never blocking the thread;
 * EVENT_QUERY asks the event itself.
 */
#include "config.h"

#include <stdlib.h>

#include "worker.h"

static void post(struct wk_session *s, const struct cw_req *q, uint32_t status,
		 uint64_t result)
{
	wk_post(s, q->h.token, q->h.gen, status, result, NULL, 0);
}

static void create(struct wk_session *s, const struct cw_req *q)
{
	struct wk_event *ev = calloc(1, sizeof(*ev));
	CUresult rc =
		ev ? cuEventCreate(&ev->e, q->u[2] & VGPU_EVENT_DISABLE_TIMING ?
						   CU_EVENT_DISABLE_TIMING :
						   CU_EVENT_DEFAULT) :
		     CUDA_ERROR_OUT_OF_MEMORY;
	uint32_t id = rc == CUDA_SUCCESS ? wk_table_add(&s->events, ev) : 0;

	if (!id) {
		if (rc == CUDA_SUCCESS)
			cuEventDestroy(ev->e);
		free(ev);
		wk_session_error(s, rc ? rc : CUDA_ERROR_OUT_OF_MEMORY,
				 q->h.token, q->h.gen);
		return;
	}
	post(s, q, VGPU_S_OK, id);
}

/* Done once the item of its latest record is: a waiter on that stream. */
static void sync(struct wk_session *s, const struct cw_req *q,
		 struct wk_event *ev)
{
	struct wk_stream *rs = ev->rec_seq ? wk_stream_get(s, ev->rec_stream) :
					     NULL;
	struct wk_waiter *wt;

	if (!rs || !rs->head || rs->head->seq > ev->rec_seq) {
		post(s, q, VGPU_S_OK, 0);
		return;
	}
	wt = wk_track_wait(s, WK_WAIT_DONE, rs, q->h.token, q->h.gen, NULL,
			   NULL);
	if (wt)
		wt->seq = ev->rec_seq + 1;
}

/* Nanoseconds between two recorded, finished, timing events. */
static void elapsed(struct wk_session *s, const struct cw_req *q,
		    struct wk_event *ev)
{
	struct wk_event *e2 = wk_table_get(&s->events, q->u[1]);
	float ms = 0;
	CUresult rc;

	if (!e2) {
		post(s, q, VGPU_S_BAD_HANDLE, 0);
		return;
	}
	rc = cuEventElapsedTime(&ms, ev->e, e2->e);
	if (rc == CUDA_SUCCESS)
		post(s, q, VGPU_S_OK, (uint64_t)(int64_t)(ms * 1e6));
	else if (!wk_sticky(rc))
		post(s, q, VGPU_S_INVALID, 0); /* not done, or no timing */
	else
		wk_session_error(s, rc, q->h.token, q->h.gen);
}

void wk_event_op(struct wk_session *s, const struct cw_req *q,
		 struct wk_stream *st)
{
	struct wk_event *ev = wk_table_get(&s->events, q->u[0]);
	CUresult rc;

	if (q->op == VGPU_OP_EVENT_CREATE) {
		create(s, q);
		return;
	}
	if (!ev) {
		post(s, q, VGPU_S_BAD_HANDLE, 0);
		return;
	}
	switch (q->op) {
	case VGPU_OP_EVENT_DESTROY:
		cuEventDestroy(ev->e);
		free(wk_table_del(&s->events, q->u[0]));
		post(s, q, VGPU_S_OK, 0);
		return;
	case VGPU_OP_EVENT_RECORD:
		rc = cuEventRecord(ev->e, st->s);
		wk_issued(s, st, rc, q, false);
		if (rc == CUDA_SUCCESS && s->state == CW_SESS_LIVE) {
			ev->rec_stream = st->id;
			ev->rec_seq = st->tail->seq;
		}
		return;
	case VGPU_OP_EVENT_QUERY:
		rc = cuEventQuery(ev->e);
		if (rc == CUDA_SUCCESS || rc == CUDA_ERROR_NOT_READY)
			post(s, q, VGPU_S_OK, rc == CUDA_SUCCESS);
		else
			wk_session_error(s, rc, q->h.token, q->h.gen);
		return;
	case VGPU_OP_EVENT_SYNC:
		sync(s, q, ev);
		return;
	case VGPU_OP_EVENT_ELAPSED:
		elapsed(s, q, ev);
		return;
	}
}
