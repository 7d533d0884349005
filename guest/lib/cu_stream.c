// SPDX-License-Identifier: MIT
/*
 * Streams and events. The device runs its streams independently; CUDA's
 * legacy default stream (NULL, CU_STREAM_LEGACY) is synchronous with
 * every blocking stream of its context. That is kept here with the
 * device's own events: before work goes to the legacy stream it waits
 * for every blocking stream that got work since it last waited for it;
 * before work goes to a blocking stream, that stream waits for the
 * legacy stream's latest work. A program that uses one stream pays
 * nothing. The per-thread default stream is served as the legacy one
 * (more ordering than CUDA promises, never less).
 */
#include <stdlib.h>

#include "cu_priv.h"

static bool is_default(CUstream h)
{
	return !h || h == CU_STREAM_LEGACY || h == CU_STREAM_PER_THREAD;
}

CUresult vg_stream(struct CUctx_st *c, CUstream h, uint32_t *id,
		   struct CUstream_st **st)
{
	if (is_default(h)) {
		*id = 0;
		*st = NULL;
		return CUDA_SUCCESS;
	}
	if (h->magic != VG_STREAM_MAGIC || h->ctx != c)
		return CUDA_ERROR_INVALID_HANDLE;
	*id = h->id;
	*st = h;
	return CUDA_SUCCESS;
}

/* c->lock held: the internal event of a stream, created on first need. */
static int internal_event(struct CUctx_st *c, uint32_t *ev)
{
	if (*ev)
		return VGPU_S_OK;
	return vgpu_event_create(c->s, VGPU_EVENT_DISABLE_TIMING, ev);
}

/* c->lock held: the internal event recorded after the stream's latest
 * work (once per work count). */
static int mark(struct CUctx_st *c, struct vg_progress *p, uint32_t id)
{
	int rc;

	if (p->ev && p->ev_work == p->work)
		return VGPU_S_OK;
	rc = internal_event(c, &p->ev);
	if (!rc)
		rc = vgpu_event_record(c->s, p->ev, id);
	if (!rc)
		p->ev_work = p->work;
	return rc;
}

/* c->lock held: the legacy stream waits for every dirty blocking one. */
static int legacy_joins(struct CUctx_st *c)
{
	struct CUstream_st *b;
	int rc;

	for (b = c->streams; b; b = b->next) {
		if (!b->dirty || (b->flags & CU_STREAM_NON_BLOCKING))
			continue;
		rc = mark(c, &b->p, b->id);
		if (!rc)
			rc = vgpu_stream_wait_event(c->s, 0, b->p.ev);
		if (rc)
			return rc;
		b->dirty = false;
	}
	c->null.work++;
	return VGPU_S_OK;
}

/* c->lock held: blocking stream b waits for the legacy stream's work. */
static int blocking_join(struct CUctx_st *c, struct CUstream_st *b)
{
	int rc = VGPU_S_OK;

	if (b->seen_epoch != c->null.work) {
		rc = mark(c, &c->null, 0);
		if (!rc)
			rc = vgpu_stream_wait_event(c->s, b->id, c->null.ev);
		if (!rc)
			b->seen_epoch = c->null.work;
	}
	b->dirty = true;
	b->p.work++;
	return rc;
}

CUresult vg_before_work(struct CUctx_st *c, struct CUstream_st *st)
{
	int rc = VGPU_S_OK;

	pthread_mutex_lock(&c->lock);
	if (st && (st->flags & CU_STREAM_NON_BLOCKING))
		st->p.work++;
	else if (!st)
		rc = legacy_joins(c);
	else
		rc = blocking_join(c, st);
	pthread_mutex_unlock(&c->lock);
	return vg_err(rc);
}

CUresult vg_stream_for_work(CUstream h, struct CUctx_st **c, uint32_t *id)
{
	struct CUstream_st *st;
	CUresult r = vg_ctx(c);

	if (!r && !is_default(h) && h && h->magic == VG_STREAM_MAGIC &&
	    h->ctx != *c) /* a stream names its own context */
		r = vg_ctx_check(*c = h->ctx);
	if (!r)
		r = vg_stream(*c, h, id, &st);
	if (!r)
		r = vg_before_work(*c, st);
	return r;
}

void vg_stream_idle(struct CUctx_st *c, struct CUstream_st *st, bool all)
{
	struct CUstream_st *b;

	pthread_mutex_lock(&c->lock);
	if (all || !st)
		c->null.idle = c->null.work;
	if (st)
		st->p.idle = st->p.work;
	for (b = all ? c->streams : NULL; b; b = b->next)
		b->p.idle = b->p.work;
	pthread_mutex_unlock(&c->lock);
}

void vg_streams_free(struct CUctx_st *c)
{
	while (c->streams) {
		struct CUstream_st *s = c->streams;

		c->streams = s->next;
		s->magic = 0;
		free(s);
	}
	while (c->events) {
		struct CUevent_st *e = c->events;

		c->events = e->next;
		e->magic = 0;
		free(e);
	}
}

CUresult CUDAAPI cuStreamCreateWithPriority(CUstream *phStream,
					    unsigned int flags, int priority)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	int rc;

	if (r)
		return r;
	if (!phStream || (flags & ~(unsigned int)CU_STREAM_NON_BLOCKING))
		return CUDA_ERROR_INVALID_VALUE;
	st = calloc(1, sizeof(*st));
	if (!st)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rc = vgpu_stream_create(
		c->s,
		flags & CU_STREAM_NON_BLOCKING ? VGPU_STREAM_NON_BLOCKING : 0,
		&st->id);
	if (rc) {
		free(st);
		return vg_err(rc);
	}
	st->magic = VG_STREAM_MAGIC;
	st->ctx = c;
	st->flags = flags;
	st->priority = priority;
	pthread_mutex_lock(&c->lock);
	st->seen_epoch = c->null.work; /* nothing before it to wait for */
	st->next = c->streams;
	c->streams = st;
	pthread_mutex_unlock(&c->lock);
	*phStream = st;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	return cuStreamCreateWithPriority(phStream, Flags, 0);
}

/* Unlink st from its context, free it on the device and here. */
static CUresult stream_drop(struct CUctx_st *c, struct CUstream_st *st)
{
	struct CUstream_st **pp;
	int rc;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->streams; *pp && *pp != st; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = st->next;
	pthread_mutex_unlock(&c->lock);
	rc = vgpu_stream_destroy(c->s, st->id);
	if (st->p.ev)
		vgpu_event_destroy(c->s, st->p.ev);
	st->magic = 0;
	free(st);
	return vg_err(rc);
}

CUresult CUDAAPI cuStreamDestroy(CUstream hStream)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = vg_ctx(&c);

	if (r)
		return r;
	if (is_default(hStream))
		return CUDA_ERROR_INVALID_HANDLE;
	if (hStream->magic == VG_STREAM_MAGIC)
		c = hStream->ctx;
	r = vg_stream(c, hStream, &id, &st);
	return r ? r : stream_drop(c, st);
}

/* Resolve a stream handle for a call that is not work on it. */
static CUresult stream_of(CUstream h, struct CUctx_st **c, uint32_t *id,
			  struct CUstream_st **st)
{
	CUresult r = vg_ctx(c);

	if (!r && !is_default(h) && h->magic == VG_STREAM_MAGIC && h->ctx != *c)
		r = vg_ctx_check(*c = h->ctx);
	return r ? r : vg_stream(*c, h, id, st);
}

CUresult CUDAAPI cuStreamSynchronize(CUstream hStream)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = stream_of(hStream, &c, &id, &st);
	int rc, a;

	if (r)
		return r;
	rc = vgpu_stream_sync(c->s, id);
	a = vgpu_take_async_error(c->s);
	if (a && (!rc || vgpu_status_is_fatal(rc)))
		rc = a;
	if (!rc)
		vg_stream_idle(c, st, false);
	return vg_err(rc);
}

/*
 * Done when a synchronisation since the stream's latest work saw it
 * finish, or when the internal event recorded after that work is done.
 * The event is recorded once per work count: a program that polls sees
 * the answer turn, rather than a new pending record each time.
 */
CUresult CUDAAPI cuStreamQuery(CUstream hStream)
{
	struct CUstream_st *st;
	struct vg_progress *p;
	struct CUctx_st *c;
	uint64_t work;
	uint32_t id, ev;
	int rc, done = 0;
	bool idle;
	CUresult r = stream_of(hStream, &c, &id, &st);

	if (r)
		return r;
	pthread_mutex_lock(&c->lock);
	p = st ? &st->p : &c->null;
	work = p->work;
	idle = p->idle == work;
	rc = idle ? VGPU_S_OK : mark(c, p, id);
	ev = p->ev;
	pthread_mutex_unlock(&c->lock);
	if (rc || idle)
		return vg_err(rc);
	rc = vgpu_event_query(c->s, ev, &done);
	if (rc)
		return vg_err(rc);
	if (!done)
		return CUDA_ERROR_NOT_READY;
	pthread_mutex_lock(&c->lock);
	if (p->idle < work)
		p->idle = work;
	pthread_mutex_unlock(&c->lock);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamWaitEvent(CUstream hStream, CUevent hEvent,
				   unsigned int Flags)
{
	struct CUctx_st *c;
	uint32_t id;
	CUresult r;

	if (!hEvent || hEvent->magic != VG_EVENT_MAGIC)
		return CUDA_ERROR_INVALID_HANDLE;
	r = vg_stream_for_work(hStream, &c, &id);
	if (r)
		return r;
	if (hEvent->ctx != c)
		return CUDA_ERROR_INVALID_HANDLE; /* one session per context */
	(void)Flags;
	return vg_err(vgpu_stream_wait_event(c->s, id, hEvent->id));
}

CUresult CUDAAPI cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = vg_ctx(&c);

	if (!r && hStream && !is_default(hStream) &&
	    hStream->magic == VG_STREAM_MAGIC)
		c = hStream->ctx;
	if (!r)
		r = vg_stream(c, hStream, &id, &st);
	if (!r && !flags)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*flags = st ? st->flags : 0;
	return r;
}

CUresult CUDAAPI cuStreamGetPriority(CUstream hStream, int *priority)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = vg_ctx(&c);

	if (!r && hStream && !is_default(hStream) &&
	    hStream->magic == VG_STREAM_MAGIC)
		c = hStream->ctx;
	if (!r)
		r = vg_stream(c, hStream, &id, &st);
	if (!r && !priority)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*priority = st ? st->priority : 0;
	return r;
}

/* ---- events ---- */

static CUresult event_check(CUevent e)
{
	if (!e || e->magic != VG_EVENT_MAGIC)
		return CUDA_ERROR_INVALID_HANDLE;
	return vg_ctx_check(e->ctx);
}

CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	struct CUevent_st *e;
	struct CUctx_st *c;
	CUresult r = vg_ctx(&c);
	int rc;

	if (r)
		return r;
	if (!phEvent || (Flags & ~(unsigned int)(CU_EVENT_BLOCKING_SYNC |
						 CU_EVENT_DISABLE_TIMING |
						 CU_EVENT_INTERPROCESS)))
		return CUDA_ERROR_INVALID_VALUE;
	if (Flags & CU_EVENT_INTERPROCESS) {
		vg_log_once("cuEventCreate",
			    "CU_EVENT_INTERPROCESS is not supported");
		return CUDA_ERROR_NOT_SUPPORTED;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rc = vgpu_event_create(
		c->s,
		Flags & CU_EVENT_DISABLE_TIMING ? VGPU_EVENT_DISABLE_TIMING : 0,
		&e->id);
	if (rc) {
		free(e);
		return vg_err(rc);
	}
	e->magic = VG_EVENT_MAGIC;
	e->ctx = c;
	e->flags = Flags;
	pthread_mutex_lock(&c->lock);
	e->next = c->events;
	c->events = e;
	pthread_mutex_unlock(&c->lock);
	*phEvent = e;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventDestroy(CUevent hEvent)
{
	struct CUevent_st **pp;
	struct CUctx_st *c;
	CUresult r = event_check(hEvent);
	int rc;

	if (r)
		return r;
	c = hEvent->ctx;
	pthread_mutex_lock(&c->lock);
	for (pp = &c->events; *pp && *pp != hEvent; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = hEvent->next;
	pthread_mutex_unlock(&c->lock);
	rc = vgpu_event_destroy(c->s, hEvent->id);
	hEvent->magic = 0;
	free(hEvent);
	return vg_err(rc);
}

CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream)
{
	struct CUstream_st *st;
	struct CUctx_st *c;
	uint32_t id;
	CUresult r = event_check(hEvent);
	int rc;

	if (!r)
		r = vg_stream_for_work(hStream, &c, &id);
	if (!r && hEvent->ctx != c)
		r = CUDA_ERROR_INVALID_HANDLE;
	if (r)
		return r;
	vg_stream(c, hStream, &id, &st);
	rc = vgpu_event_record(c->s, hEvent->id, id);
	if (!rc) {
		pthread_mutex_lock(&c->lock);
		hEvent->recorded = true;
		hEvent->stream = st;
		hEvent->at = st ? st->p.work : c->null.work;
		pthread_mutex_unlock(&c->lock);
	}
	return vg_err(rc);
}

/* The event is done: so is its stream's work up to the record. */
static void event_done(CUevent e)
{
	struct CUctx_st *c = e->ctx;
	struct vg_progress *p = NULL;
	struct CUstream_st *b;

	pthread_mutex_lock(&c->lock);
	if (e->recorded && !e->stream) {
		p = &c->null;
	} else if (e->recorded) {
		for (b = c->streams; b && b != e->stream; b = b->next)
			;
		p = b ? &b->p : NULL; /* the stream may be gone */
	}
	if (p && p->idle < e->at)
		p->idle = e->at;
	pthread_mutex_unlock(&c->lock);
}

CUresult CUDAAPI cuEventRecordWithFlags(CUevent hEvent, CUstream hStream,
					unsigned int flags)
{
	if (flags)
		return CUDA_ERROR_NOT_SUPPORTED; /* CU_EVENT_RECORD_EXTERNAL */
	return cuEventRecord(hEvent, hStream);
}

CUresult CUDAAPI cuEventQuery(CUevent hEvent)
{
	CUresult r = event_check(hEvent);
	int done = 0, rc;

	if (r)
		return r;
	rc = vgpu_event_query(hEvent->ctx->s, hEvent->id, &done);
	if (rc)
		return vg_err(rc);
	if (!done)
		return CUDA_ERROR_NOT_READY;
	event_done(hEvent);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventSynchronize(CUevent hEvent)
{
	CUresult r = event_check(hEvent);
	struct vgpu_sess *s;
	int rc, a;

	if (r)
		return r;
	s = hEvent->ctx->s;
	rc = vgpu_event_sync(s, hEvent->id);
	a = vgpu_take_async_error(s);
	if (a && (!rc || vgpu_status_is_fatal(rc)))
		rc = a;
	if (!rc)
		event_done(hEvent);
	return vg_err(rc);
}

/* cuda.h maps cuEventElapsedTime to _v2; both names are exported. */
CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart,
				    CUevent hEnd)
{
	CUresult r = event_check(hStart);
	uint64_t ns;
	int rc;

	if (!r)
		r = event_check(hEnd);
	if (r)
		return r;
	if (!pMilliseconds || hStart->ctx != hEnd->ctx)
		return CUDA_ERROR_INVALID_VALUE;
	if ((hStart->flags | hEnd->flags) & CU_EVENT_DISABLE_TIMING)
		return CUDA_ERROR_INVALID_HANDLE;
	rc = vgpu_event_elapsed(hStart->ctx->s, hStart->id, hEnd->id, &ns);
	if (rc)
		return vg_err(rc);
	*pMilliseconds = (float)((double)ns / 1e6);
	return CUDA_SUCCESS;
}

#undef cuEventElapsedTime
CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart,
				    CUevent hEnd);
CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart,
				    CUevent hEnd)
{
	return cuEventElapsedTime_v2(pMilliseconds, hStart, hEnd);
}
