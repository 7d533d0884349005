// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: the session's thread. It owns the session's context,
 * takes requests from its ring in order, issues them without waiting for
 * the GPU, completes them as the GPU finishes (track.c), spins a little
 * when idle and then sleeps on a futex that the proxy, the GPU (a host
 * function) or the JIT thread bumps. When the session is lost (a fault,
 * a time limit) its verdicts go out and the process exits: after a fault
 * the driver refuses every context of the process anyway, and the exit
 * is what frees the GPU from a kernel that will not stop.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "worker.h"

#define WK_DRAIN_MAX 256

static void notify(struct wk_session *s)
{
	uint64_t one = 1;

	WK_COUNT(s, notifies, 1);
	if (write(s->w->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		wk_log("notify: %s", strerror(errno));
}

void wk_wake(struct wk_session *s)
{
	__atomic_fetch_add(&s->shm->req.wake.v, 1, __ATOMIC_SEQ_CST);
	cw_futex_wake(&s->shm->req.wake.v);
}

static bool cpl_put(struct wk_session *s, const void *rec, uint32_t len)
{
	void *p = cw_prod_reserve(&s->cpl, len);

	if (p == CW_RING_BROKEN) {
		wk_log("completion ring broken: exiting");
		wk_exit(4);
	}
	if (!p)
		return false;
	memcpy(p, rec, len);
	cw_prod_commit(&s->cpl, len);
	return true;
}

void wk_post(struct wk_session *s, uint32_t token, uint32_t gen,
	     uint32_t status, uint64_t result, const void *payload,
	     uint32_t plen)
{
	uint32_t len = (uint32_t)((sizeof(struct cw_cpl) + plen + 15) & ~15u);
	struct wk_cpl_pending *o;
	struct cw_cpl *c;
	uint8_t buf[sizeof(struct cw_cpl) + CW_FUNC_INFO_BYTES(0) + 16];
	uint8_t *rec = len <= sizeof(buf) ? buf : malloc(len);

	if (!token || !rec)
		return;
	memset(rec, 0, len);
	c = (struct cw_cpl *)rec;
	c->h.len = len;
	c->h.type = CW_REC_CPL;
	c->h.token = token;
	c->h.gen = gen;
	c->status = status;
	c->result = result;
	c->stamp = s->profile ? wk_now_ns() : 0;
	WK_COUNT(s, posts, 1);
	if (plen)
		memcpy(c + 1, payload, plen);
	if (s->ovf || !cpl_put(s, rec, len)) {
		o = malloc(sizeof(*o) + len);
		if (o) {
			o->next = NULL;
			o->len = len;
			memcpy(o->rec, rec, len);
			*s->ovf_tail = o;
			s->ovf_tail = &o->next;
		} else {
			wk_log("a completion is lost (no memory)");
		}
	}
	if (rec != buf)
		free(rec);
}

/* Publish completions; wake the proxy if it had caught up with us. */
static void cpl_flush(struct wk_session *s)
{
	uint32_t old;

	while (s->ovf && cpl_put(s, s->ovf->rec, s->ovf->len)) {
		struct wk_cpl_pending *o = s->ovf;

		s->ovf = o->next;
		if (!s->ovf)
			s->ovf_tail = &s->ovf;
		free(o);
	}
	if (s->cpl.pos == s->cpl_pub)
		return;
	old = s->cpl_pub;
	cw_prod_publish(&s->cpl);
	s->cpl_pub = s->cpl.pos;
	if (cw_prod_consumer_caught_up(&s->cpl, old))
		notify(s);
}

struct wk_region *wk_region_find(struct wk_session *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->nregions; i++)
		if (s->regions[i].id == id)
			return &s->regions[i];
	return NULL;
}

void wk_region_release(struct wk_session *s, struct wk_region *r)
{
	if (r->registered) {
		if (s->ctx)
			cuMemHostUnregister(r->va);
		wk_pinned_release(s->w, r->len);
	}
	if (r->va)
		munmap(r->va, r->len);
	if (r->fd >= 0)
		close(r->fd);
	*r = s->regions[--s->nregions];
}

static void slots_error(struct wk_session *s)
{
	for (uint32_t i = 0; i < CW_MAX_SLOTS; i++) {
		cw_store(&s->shm->slot[i].v, CW_SLOT_ERROR);
		cw_futex_wake(&s->shm->slot[i].v);
	}
}

/* Everything the context held goes with it. */
static void drop_context(struct wk_session *s)
{
	wk_jit_drain(s);
	wk_jit_reap(s);
	if (s->img) {
		/* its last chunk is still to come: answer then */
		pthread_mutex_lock(&s->w->lock);
		s->w->module_bytes -= s->img_total;
		pthread_mutex_unlock(&s->w->lock);
		free(s->img);
		s->img = NULL;
		s->img_discard = true;
		s->img_fail = s->lost_status;
	}
	while (s->nregions)
		wk_region_release(s, &s->regions[0]);
	if (s->stage_registered && s->ctx)
		cuMemHostUnregister(s->stage);
	s->stage_registered = false;
	for (uint32_t i = 0; i < s->modules.n; i++) {
		struct wk_module *m = s->modules.v[i];

		if (m) {
			pthread_mutex_lock(&s->w->lock);
			s->w->module_bytes -= m->bytes;
			pthread_mutex_unlock(&s->w->lock);
		}
		free(m);
	}
	for (uint32_t i = 0; i < s->funcs.n; i++)
		free(s->funcs.v[i]);
	for (uint32_t i = 0; i < s->events.n; i++)
		free(s->events.v[i]);
	wk_table_free(&s->modules);
	wk_table_free(&s->funcs);
	wk_table_free(&s->events);
	if (s->ctx) {
		__atomic_store_n(&s->blocked_since, wk_now_ns(),
				 __ATOMIC_RELAXED);
		cuCtxDestroy(s->ctx);
		__atomic_store_n(&s->blocked_since, 0, __ATOMIC_RELAXED);
		s->ctx = NULL;
	}
	wk_track_free(s);
	s->zero.s = NULL;
}

void wk_session_exit(struct wk_session *s, int code)
{
	/* everything posted goes out first */
	cpl_flush(s);
	while (s->ovf) {
		struct timespec ts = { 0, 100000000 };
		uint32_t c = cw_load(&s->shm->cpl.cons.v);

		cw_futex_wait(&s->shm->cpl.cons.v, c, &ts);
		cpl_flush(s);
	}
	wk_exit(code);
}

void wk_session_lose(struct wk_session *s, uint32_t status, uint32_t token,
		     uint32_t gen)
{
	bool blamed;

	if (s->state != CW_SESS_LIVE) {
		wk_post(s, token, gen, s->lost_status, 0, NULL, 0);
		return;
	}
	wk_log("session lost (status %u): exiting, the context goes with the process",
	       status);
	s->state = CW_SESS_LOST;
	s->lost_status = VGPU_S_SESSION_LOST;
	cw_store(&s->shm->state.v, CW_SESS_LOST);
	blamed = wk_track_fail_all(s, status);
	wk_post(s, token, gen, blamed ? VGPU_S_SESSION_LOST : status, 0, NULL,
		0);
	slots_error(s);
	wk_session_exit(s, 0);
}

void wk_session_error(struct wk_session *s, CUresult rc, uint32_t token,
		      uint32_t gen)
{
	if (wk_sticky(rc)) {
		wk_session_lose(s, wk_status(rc), token, gen);
		return;
	}
	wk_post(s, token, gen, wk_status(rc), 0, NULL, 0);
}

/* Take up to WK_DRAIN_MAX requests; false once SESSION_CLOSE came. */
static bool drain(struct wk_session *s, bool *any)
{
	uint32_t n = 0, len;
	bool open = true;

	while (n < WK_DRAIN_MAX) {
		struct cw_req *q = cw_cons_peek(&s->req, &len);

		if (q == CW_RING_BROKEN) {
			wk_log("request ring broken: exiting");
			wk_exit(4);
		}
		if (!q)
			break;
		n++;
		if (q->stamp && s->profile && len >= sizeof(*q))
			s->stats->ring_ns += wk_now_ns() - q->stamp;
		if (q->h.type == CW_REC_REQ && len >= sizeof(*q)) {
			if (q->op == CW_OP_SESSION_CLOSE)
				open = false;
			else
				wk_op(s, q, len);
		}
		cw_cons_advance(&s->req, len);
		if (!open)
			break;
	}
	if (n && cw_cons_publish(&s->req)) {
		/* the proxy waits for room: its engine thread and any
		 * staging thread */
		cw_futex_wake(&s->shm->req.cons.v);
		notify(s);
	}
	WK_COUNT(s, reqs, n);
	*any = n > 0;
	return open;
}

static bool jit_pending(struct wk_session *s)
{
	return __atomic_load_n(&s->jit_done, __ATOMIC_ACQUIRE) != NULL;
}

static void sleep_once(struct wk_session *s)
{
	uint32_t w = cw_load(&s->shm->req.wake.v);
	uint64_t dl = 0, now, rel = 1000000000ull;
	struct timespec ts;

	if (s->state == CW_SESS_LIVE && wk_track_busy(s))
		dl = wk_track_arm(s);
	cw_store(&s->shm->req.need_wake.v, 1);
	if (!cw_cons_empty(&s->req) || jit_pending(s) || s->ovf) {
		cw_store(&s->shm->req.need_wake.v, 0);
		return;
	}
	now = wk_now_ns();
	if (dl)
		rel = dl > now ? dl - now : 0;
	if (rel > 1000000000ull)
		rel = 1000000000ull;
	ts.tv_sec = (time_t)(rel / 1000000000ull);
	ts.tv_nsec = (long)(rel % 1000000000ull);
	WK_COUNT(s, sleeps, 1);
	now = s->profile ? wk_now_ns() : 0;
	cw_futex_wait(&s->shm->req.wake.v, w, &ts);
	cw_store(&s->shm->req.need_wake.v, 0);
	if (now) {
		/* woken by a host function (the GPU finished): how late */
		uint64_t at = __atomic_load_n(&s->w->shm->hostfn_at,
					      __ATOMIC_ACQUIRE);

		if (at > now)
			s->stats->hostfn_wake_ns += wk_now_ns() - at;
	}
}

/* With GPU work in flight the thread may poll longer before it sleeps
 * (and lets a host function wake it): busy_spin_us. */
static bool spin_on(struct wk_session *s, uint64_t idle_since)
{
	uint64_t t = wk_now_ns() - idle_since;

	if (t < (uint64_t)s->w->cfg.spin_us * 1000ull)
		return true;
	return t < (uint64_t)s->w->cfg.busy_spin_us * 1000ull &&
	       s->state == CW_SESS_LIVE && wk_track_busy(s);
}

static void loop(struct wk_session *s)
{
	uint64_t idle_since = wk_now_ns();

	for (;;) {
		bool progress, open = drain(s, &progress);

		if (!open)
			return;
		if (s->state == CW_SESS_LIVE)
			wk_track_close_batch(s);
		if (s->state == CW_SESS_LIVE)
			progress |= wk_track_poll(s);
		if (s->state == CW_SESS_LIVE)
			progress |= wk_track_waiters(s);
		progress |= wk_jit_reap(s);
		if (s->state == CW_SESS_LIVE)
			wk_track_timeouts(s);
		cpl_flush(s);
		if (progress) {
			idle_since = wk_now_ns();
			continue;
		}
		if (spin_on(s, idle_since)) {
			__builtin_ia32_pause();
			continue;
		}
		sleep_once(s);
		idle_since = wk_now_ns();
	}
}

static void start_context(struct wk_session *s)
{
	uint64_t t0 = wk_now_ns();
	CUresult rc = wk_device_context(s->w, &s->ctx);

	s->stats->ctx_ns = wk_now_ns() - t0;
	if (rc == CUDA_SUCCESS)
		rc = cuCtxSetCurrent(s->ctx);
	if (rc == CUDA_SUCCESS)
		rc = cuStreamCreate(&s->zero.s, CU_STREAM_NON_BLOCKING);
	if (rc != CUDA_SUCCESS) {
		wk_log("no context for the session: %s", wk_errname(rc));
		if (s->ctx)
			cuCtxDestroy(s->ctx);
		s->ctx = NULL;
		s->zero.s = NULL;
		s->state = CW_SESS_LOST;
		s->lost_status = rc == CUDA_ERROR_OUT_OF_MEMORY ?
					 VGPU_S_NO_MEMORY :
					 VGPU_S_BACKEND;
	} else {
		s->state = CW_SESS_LIVE;
		wk_device_refresh_free(s->w);
	}
	cw_store(&s->shm->state.v, (uint32_t)s->state);
}

static void *session_main(void *arg)
{
	struct wk_session *s = arg;
	struct cw_rec closed = { .len = sizeof(closed), .type = CW_REC_CLOSED };

	start_context(s);
	loop(s);
	if (s->state == CW_SESS_LIVE) {
		wk_track_fail_all(s, VGPU_S_SESSION_LOST);
		drop_context(s);
	}
	cw_store(&s->shm->state.v, CW_SESS_CLOSED);
	while (!cpl_put(s, &closed, sizeof(closed))) {
		/* the proxy drains the ring before it forgets the session */
		cpl_flush(s);
		sleep_once(s);
	}
	wk_session_exit(s, 0);
}

int wk_session_start(struct worker *w)
{
	struct wk_session *s = calloc(1, sizeof(*s));
	uint8_t *base = (uint8_t *)w->shm + cw_sess_off();
	int rc;

	if (!s)
		return -ENOMEM;
	s->w = w;
	s->shm = (struct cw_sess_shm *)base;
	s->stats = &w->shm->stats;
	s->profile = w->cfg.flags & CW_CFG_PROFILE;
	cw_cons_init(&s->req, &s->shm->req, base + sizeof(struct cw_sess_shm),
		     w->cfg.req_bytes);
	cw_prod_init(&s->cpl, &s->shm->cpl,
		     base + sizeof(struct cw_sess_shm) + w->cfg.req_bytes,
		     w->cfg.cpl_bytes);
	s->cpl_pub = s->cpl.pos;
	s->ovf_tail = &s->ovf;
	s->stage = w->stage;
	s->lost_status = VGPU_S_SESSION_LOST;
	pthread_mutex_init(&s->jit_lock, NULL);
	pthread_cond_init(&s->jit_cond, NULL);
	wk_track_init(s);
	w->s = s;
	rc = pthread_create(&s->thread, NULL, session_main, s);
	if (rc) {
		w->s = NULL;
		free(s);
		return -rc;
	}
	return 0;
}
