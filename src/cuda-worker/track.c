// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: what is in flight on each of a session's streams.
 *
 * Every stream operation becomes an item on its stream's list in issue
 * order. Items do not get an event each: at the end of each batch of
 * requests (and every WK_BATCH_MAX items) one event is recorded after
 * the newest item, and it covers every item since the previous one. The
 * session thread completes items by querying the oldest event of each
 * stream (cuEventQuery: no thread blocks per command), and, before it
 * sleeps, arms one host function per stream so that the GPU wakes it
 * (one wake-up per batch). Requests that wait for earlier work (syncs,
 * frees, unloads) are waiters, run once no earlier item is left.
 *
 * Time limit: a group of items has been at the head of its stream since
 * the group before it completed; a group with n launches may take n x
 * the limit. Past that the session is lost (VGPU_S_TIMEOUT): destroying
 * its context is the one preemption that always works.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define WK_BATCH_MAX 8

struct wk_item *wk_item_new(struct wk_session *s, uint8_t kind, uint32_t token,
			    uint32_t gen)
{
	struct wk_item *it = s->free_items;

	if (it)
		s->free_items = it->next;
	else
		it = malloc(sizeof(*it));
	if (!it)
		return NULL;
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->token = token;
	it->gen = gen;
	it->seq = ++s->seq;
	return it;
}

static void item_free(struct wk_session *s, struct wk_item *it)
{
	it->next = s->free_items;
	s->free_items = it;
}

static CUevent ev_get(struct wk_session *s)
{
	CUevent e = NULL;

	if (s->nevpool)
		return s->evpool[--s->nevpool];
	if (cuEventCreate(&e, CU_EVENT_DISABLE_TIMING) != CUDA_SUCCESS)
		return NULL;
	return e;
}

static void ev_put(struct wk_session *s, CUevent e)
{
	if (s->nevpool == s->evpool_cap) {
		uint32_t cap = s->evpool_cap ? s->evpool_cap * 2 : 32;
		CUevent *p = realloc(s->evpool, cap * sizeof(*p));

		if (!p) {
			cuEventDestroy(e);
			return;
		}
		s->evpool = p;
		s->evpool_cap = cap;
	}
	s->evpool[s->nevpool++] = e;
}

struct wk_stream *wk_stream_get(struct wk_session *s, uint32_t id)
{
	struct wk_stream *st;

	if (id == 0)
		return &s->def;
	st = wk_table_get(&s->streams, id);
	return st && !st->dying ? st : NULL;
}

void wk_track_init(struct wk_session *s)
{
	s->def.id = 0;
	s->zero.id = UINT32_MAX;
	s->waiters_tail = &s->waiters;
}

/* Every stream of the session: default, zeroing, then the table. */
static struct wk_stream *stream_at(struct wk_session *s, uint32_t i)
{
	if (i == 0)
		return &s->def;
	if (i == 1)
		return s->zero.s ? &s->zero : NULL;
	return i - 2 < s->streams.n ? s->streams.v[i - 2] : NULL;
}

static uint32_t nstreams(const struct wk_session *s)
{
	return 2 + s->streams.n;
}

static void record(struct wk_session *s, struct wk_stream *st)
{
	struct wk_item *t = st->tail;
	CUevent e = ev_get(s);
	uint64_t t0 = wk_prof(s);
	CUresult rc = e ? cuEventRecord(e, st->s) : CUDA_ERROR_OUT_OF_MEMORY;

	wk_prof_add(&s->stats->record_ns, t0);
	WK_COUNT(s, records, 1);
	t->rec_at = t0;
	if (rc != CUDA_SUCCESS) {
		if (e)
			ev_put(s, e);
		wk_session_error(s, rc, 0, 0);
		return;
	}
	t->ev = e;
	t->nlaunch = st->unevented_launches;
	st->unevented = 0;
	st->unevented_launches = 0;
	st->last_ev_seq = t->seq;
}

void wk_track_push(struct wk_session *s, struct wk_stream *st,
		   struct wk_item *it)
{
	it->next = NULL;
	if (st->tail)
		st->tail->next = it;
	else
		st->head = it;
	st->tail = it;
	if (st->head == it)
		st->head_since = wk_now_ns();
	st->unevented++;
	st->unevented_launches += it->launch;
	if (st->unevented >= WK_BATCH_MAX)
		record(s, st);
}

/*
 * A marker with nothing of the session in flight is done at once; one
 * behind a group whose event is recorded and not yet seen done joins that
 * group: the event moves to it (it covers the same GPU work). Either
 * saves a cuEventRecord and its queries per synchronize after a launch
 * that went out in an earlier batch. Otherwise it is an item like any
 * other.
 */
void wk_marker(struct wk_session *s, struct wk_stream *st,
	       const struct cw_req *q)
{
	struct wk_item *t = st->tail,
		       *it = wk_item_new(s, WK_ITEM_REQ, q->h.token, q->h.gen);

	if (!it) {
		wk_session_lose(s, VGPU_S_BACKEND, q->h.token, q->h.gen);
		return;
	}
	if (!wk_track_busy(s)) { /* nothing of the session is in flight */
		item_free(s, it);
		wk_post(s, q->h.token, q->h.gen, VGPU_S_OK, 0, NULL, 0);
		WK_COUNT(s, markers_joined, 1);
		return;
	}
	if (!t || !t->ev) {
		wk_track_push(s, st, it);
		return;
	}
	it->next = NULL;
	it->ev = t->ev;
	it->nlaunch = t->nlaunch;
	it->rec_at = t->rec_at;
	t->ev = NULL;
	t->nlaunch = 0;
	t->next = it;
	st->tail = it;
	if (st->armed_seq == st->last_ev_seq)
		st->armed_seq = it->seq;
	st->last_ev_seq = it->seq;
	WK_COUNT(s, markers_joined, 1);
}

void wk_track_close_batch(struct wk_session *s)
{
	for (uint32_t i = 0; i < nstreams(s) && s->state == CW_SESS_LIVE; i++) {
		struct wk_stream *st = stream_at(s, i);

		if (st && st->unevented)
			record(s, st);
	}
}

static void slot_set(struct wk_session *s, uint32_t slot, uint32_t v)
{
	if (slot >= CW_MAX_SLOTS)
		return;
	cw_store(&s->shm->slot[slot].v, v);
	cw_futex_wake(&s->shm->slot[slot].v);
}

/* Profile: what the GPU took for a copy, by its timing events. */
static void gpu_timed(struct wk_session *s, struct wk_item *it)
{
	float ms = 0;

	if (cuEventElapsedTime(&ms, it->gpu0, it->gpu1) == CUDA_SUCCESS) {
		WK_COUNT(s, gpu_copies, 1);
		WK_COUNT(s, gpu_copy_bytes, it->bytes);
		WK_COUNT(s, gpu_copy_ns, (uint64_t)(ms * 1e6));
	}
	cuEventDestroy(it->gpu0);
	cuEventDestroy(it->gpu1);
}

static void item_done(struct wk_session *s, struct wk_item *it)
{
	if (it->gpu0 && it->gpu1)
		gpu_timed(s, it);
	else if (it->gpu0)
		cuEventDestroy(it->gpu0);
	switch (it->kind) {
	case WK_ITEM_STAGE_H2D:
		slot_set(s, it->slot, CW_SLOT_FREE);
		break;
	case WK_ITEM_STAGE_D2H:
		slot_set(s, it->slot, CW_SLOT_READY);
		break;
	default:
		if (it->token)
			wk_post(s, it->token, it->gen, VGPU_S_OK, it->result,
				NULL, 0);
		break;
	}
	if (it->ev)
		ev_put(s, it->ev);
	item_free(s, it);
}

static void stream_destroy(struct wk_session *s, struct wk_stream *st)
{
	wk_table_del(&s->streams, st->id);
	if (st->s)
		cuStreamDestroy(st->s);
	free(st);
}

/* Complete the finished groups of one stream; -1 if the session died. */
static int poll_stream(struct wk_session *s, struct wk_stream *st)
{
	int done = 0;

	while (st->head) {
		struct wk_item *g = st->head, *stop;
		uint64_t t0;
		CUresult rc;

		while (g && !g->ev)
			g = g->next;
		if (!g)
			break;
		t0 = wk_prof(s);
		rc = cuEventQuery(g->ev);
		wk_prof_add(&s->stats->query_ns, t0);
		WK_COUNT(s, queries, 1);
		if (rc == CUDA_ERROR_NOT_READY)
			break;
		if (rc != CUDA_SUCCESS) {
			/* a fault (or a timeout the driver saw) names itself;
			 * anything else is a lost device */
			wk_session_lose(s,
					wk_sticky(rc) ? wk_status(rc) :
							VGPU_S_BACKEND,
					0, 0);
			return -1;
		}
		WK_COUNT(s, groups, 1);
		if (g->rec_at)
			s->stats->group_ns += wk_now_ns() - g->rec_at;
		stop = g->next;
		for (struct wk_item *it = st->head, *nx; it != stop; it = nx) {
			nx = it->next;
			st->head = nx;
			item_done(s, it);
		}
		if (!st->head)
			st->tail = NULL;
		st->head_since = wk_now_ns();
		done = 1;
	}
	return done;
}

bool wk_track_poll(struct wk_session *s)
{
	bool any = false;

	for (uint32_t i = 0; i < nstreams(s); i++) {
		struct wk_stream *st = stream_at(s, i);
		int rc;

		if (!st || !st->head)
			continue;
		rc = poll_stream(s, st);
		if (rc < 0)
			return true;
		any |= rc > 0;
	}
	return any;
}

static bool stream_passed(struct wk_session *s, uint32_t id, uint64_t seq)
{
	struct wk_stream *st;

	if (id != UINT32_MAX - 1) {
		st = id == 0 ? &s->def : wk_table_get(&s->streams, id);
		return !st || !st->head || st->head->seq >= seq;
	}
	for (uint32_t i = 0; i < nstreams(s); i++) {
		st = stream_at(s, i);
		if (st && st->head && st->head->seq < seq)
			return false;
	}
	return true;
}

struct wk_waiter *wk_track_wait(struct wk_session *s, uint8_t kind,
				struct wk_stream *st, uint32_t token,
				uint32_t gen, const uint64_t *a,
				const uint32_t *u)
{
	struct wk_waiter *wt = calloc(1, sizeof(*wt));

	if (!wt) {
		wk_post(s, token, gen, VGPU_S_BACKEND, 0, NULL, 0);
		return NULL;
	}
	wt->kind = kind;
	wt->token = token;
	wt->gen = gen;
	wt->u[1] = st ? st->id : UINT32_MAX - 1;
	wt->seq = s->seq + 1;
	if (a)
		memcpy(wt->a, a, sizeof(wt->a));
	if (u)
		wt->u[0] = u[0];
	*s->waiters_tail = wt;
	s->waiters_tail = &wt->next;
	return wt;
}

bool wk_track_waiters(struct wk_session *s)
{
	struct wk_waiter **pp = &s->waiters;
	bool any = false;

	while (*pp && s->state == CW_SESS_LIVE) {
		struct wk_waiter *wt = *pp;

		if (!stream_passed(s, wt->u[1], wt->seq)) {
			pp = &wt->next;
			continue;
		}
		*pp = wt->next;
		if (s->waiters_tail == &wt->next)
			s->waiters_tail = pp;
		wk_waiter_run(s, wt);
		free(wt);
		any = true;
	}
	return any;
}

bool wk_track_busy(const struct wk_session *s)
{
	if (s->waiters)
		return true;
	for (uint32_t i = 0; i < nstreams(s); i++) {
		const struct wk_stream *st =
			stream_at((struct wk_session *)s, i);

		if (st && st->head)
			return true;
	}
	return false;
}

static void CUDA_CB host_wake(void *p)
{
	struct wk_session *s = p;
	uint32_t *w = &s->shm->req.wake.v;

	if (s->profile)
		__atomic_store_n(&s->w->shm->hostfn_at, wk_now_ns(),
				 __ATOMIC_RELEASE);
	__atomic_fetch_add(&s->stats->hostfn, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(w, 1, __ATOMIC_SEQ_CST);
	cw_futex_wake(w);
}

/* The first group of a stream: the item whose event ends it. */
static struct wk_item *head_group(struct wk_stream *st)
{
	struct wk_item *g = st->head;

	while (g && !g->ev)
		g = g->next;
	return g;
}

static uint64_t deadline(struct wk_session *s, struct wk_stream *st)
{
	struct wk_item *g = head_group(st);
	uint64_t lim = (uint64_t)s->w->cfg.timeout_ms * 1000000ull;

	if (!lim || !g || !g->nlaunch)
		return 0;
	return st->head_since + lim * g->nlaunch;
}

uint64_t wk_track_arm(struct wk_session *s)
{
	uint64_t next = 0;

	for (uint32_t i = 0; i < nstreams(s); i++) {
		struct wk_stream *st = stream_at(s, i);
		uint64_t d;

		if (!st || !st->head)
			continue;
		if (st->last_ev_seq > st->armed_seq &&
		    cuLaunchHostFunc(st->s, host_wake, s) == CUDA_SUCCESS)
			st->armed_seq = st->last_ev_seq;
		d = deadline(s, st);
		if (d && (!next || d < next))
			next = d;
	}
	return next;
}

void wk_track_timeouts(struct wk_session *s)
{
	uint64_t now = wk_now_ns();

	for (uint32_t i = 0; i < nstreams(s); i++) {
		struct wk_stream *st = stream_at(s, i);
		uint64_t d;

		if (!st || !st->head)
			continue;
		d = deadline(s, st);
		if (d && now > d) {
			for (struct wk_item *it = st->head; it; it = it->next)
				if (it->launch) {
					s->culprit_seq = it->seq;
					break;
				}
			wk_log("a kernel ran past %u ms: its context is destroyed",
			       s->w->cfg.timeout_ms);
			wk_session_lose(s, VGPU_S_TIMEOUT, 0, 0);
			return;
		}
	}
}

/* The oldest launch in flight (the likeliest culprit of a fault). */
static uint64_t oldest_launch(struct wk_session *s)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < nstreams(s); i++) {
		struct wk_stream *st = stream_at(s, i);

		for (struct wk_item *it = st ? st->head : NULL; it;
		     it = it->next)
			if (it->launch && (!best || it->seq < best)) {
				best = it->seq;
				break;
			}
	}
	return best;
}

bool wk_track_fail_all(struct wk_session *s, uint32_t status)
{
	uint64_t culprit = s->culprit_seq ? s->culprit_seq : oldest_launch(s);
	bool blamed = false;

	for (uint32_t i = 0; i < nstreams(s); i++) {
		struct wk_stream *st = stream_at(s, i);
		struct wk_item *it, *nx;

		for (it = st ? st->head : NULL; it; it = nx) {
			nx = it->next;
			if (it->kind == WK_ITEM_STAGE_H2D ||
			    it->kind == WK_ITEM_STAGE_D2H) {
				slot_set(s, it->slot, CW_SLOT_ERROR);
			} else if (it->token) {
				bool c = it->seq == culprit;

				wk_post(s, it->token, it->gen,
					c ? status : VGPU_S_SESSION_LOST, 0,
					NULL, 0);
				blamed |= c;
			}
			free(it); /* its event dies with the context */
		}
		if (st) {
			st->head = st->tail = NULL;
			st->unevented = st->unevented_launches = 0;
		}
	}
	while (s->waiters) {
		struct wk_waiter *wt = s->waiters;

		s->waiters = wt->next;
		wk_post(s, wt->token, wt->gen, VGPU_S_SESSION_LOST, 0, NULL, 0);
		free(wt);
	}
	s->waiters_tail = &s->waiters;
	s->nevpool = 0; /* the events die with the context */
	s->culprit_seq = 0;
	return blamed;
}

void wk_track_free(struct wk_session *s)
{
	while (s->free_items) {
		struct wk_item *it = s->free_items;

		s->free_items = it->next;
		free(it);
	}
	for (uint32_t i = 0; i < s->streams.n; i++)
		free(s->streams.v[i]);
	wk_table_free(&s->streams);
	free(s->evpool);
	s->evpool = NULL;
	s->nevpool = s->evpool_cap = 0;
}

void wk_track_stream_gone(struct wk_session *s, struct wk_stream *st)
{
	stream_destroy(s, st);
}
