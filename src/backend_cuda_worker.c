// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's proxy: workers (start, hello, death) and what they
 * complete. One worker per session, so a worker's death is its session's
 * alone. Everything a worker writes is checked; one that writes nonsense
 * is treated as dead. What a dead worker had finished before it died
 * still counts; everything else it held completes with VGPU_S_BACKEND
 * (device lost), or VGPU_S_SESSION_LOST if it had said that its session
 * was lost (a fault or a time limit, after which a worker exits: the
 * driver poisons the whole process on a fault).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_cuda_int.h"

static int map_memfd(uint64_t len, uint8_t **va)
{
	int fd = memfd_create("vgpu-cuda-worker", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	*va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*va == MAP_FAILED) {
		int e = errno;

		*va = NULL;
		close(fd);
		return -e;
	}
	return fd;
}

int cb_worker_spawn(struct backend_cuda *b, struct cb_worker *w)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[2], sock, rc;

	memset(w, 0, sizeof(*w));
	w->sock = -1;
	fds[0] = map_memfd(b->cfg.shm_bytes, &w->map);
	if (fds[0] < 0)
		return fds[0];
	w->map_len = b->cfg.shm_bytes;
	w->hdr = (struct cw_shm_hdr *)w->map;
	w->hdr->magic = CW_MAGIC;
	w->hdr->version = CW_VERSION;
	w->hdr->req_bytes = b->cfg.req_bytes;
	w->hdr->cpl_bytes = b->cfg.cpl_bytes;
	w->hdr->sess_off = cw_sess_off();
	w->hdr->stage_off = cw_stage_off(b->cfg.req_bytes, b->cfg.cpl_bytes);
	fds[1] = b->notify_fd;
	w->t_spawn = cw_now_ns();
	sock = cb_spawn(b);
	rc = sock < 0 ? sock :
			cb_send_msg(sock, &b->cfg, sizeof(b->cfg), fds, 2);
	close(fds[0]);
	if (rc < 0) {
		/* gone already (it could not even load its libraries) */
		cb_log(b, LOG_ERR, "cannot start a CUDA worker: %s",
		       strerror(-rc));
		if (sock >= 0)
			close(sock);
		munmap(w->map, w->map_len);
		memset(w, 0, sizeof(*w));
		w->sock = -1;
		return rc;
	}
	w->sock = sock;
	w->serial = ++b->serial;
	ev.data.u64 = w->serial;
	epoll_ctl(b->ep_fd, EPOLL_CTL_ADD, sock, &ev);
	b->stats.workers++;
	return 0;
}

void cb_worker_retire(struct backend_cuda *b, struct cb_worker *w)
{
	struct cw_stats st;

	if (w->sock >= 0) {
		epoll_ctl(b->ep_fd, EPOLL_CTL_DEL, w->sock, NULL);
		close(w->sock); /* it exits on that, if it has not */
	}
	if (w->map) {
		memcpy(&st, &w->hdr->stats, sizeof(st));
		cb_stats_add(&b->stats.w, &st);
		munmap(w->map, w->map_len);
	}
	memset(w, 0, sizeof(*w));
	w->sock = -1;
}

static void fail_tokens(struct backend_cuda *b, uint32_t slot, uint32_t status)
{
	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++) {
		struct cb_tok *k = &b->tok[t];

		if (k->slot != slot ||
		    (k->state != CB_TOK_PENDING && k->state != CB_TOK_WORKER))
			continue;
		if (k->r) {
			k->state = CB_TOK_LOCAL;
			cb_local_complete(b, t, k->r, status, 0);
		} else {
			cb_tok_release(b, t);
		}
	}
}

static bool drain(struct backend_cuda *b, struct cb_sess *s);

void cb_worker_died(struct backend_cuda *b, struct cb_sess *s, const char *why,
		    bool malformed)
{
	uint32_t slot = cb_slot_of(b, s), status = VGPU_S_BACKEND;

	if (!malformed && (s->state == CB_S_OPEN || s->state == CB_S_CLOSING))
		drain(b, s); /* its last words */
	if (!malformed && s->shm && cw_load(&s->shm->state.v) == CW_SESS_LOST) {
		status = VGPU_S_SESSION_LOST; /* it said so before it went */
	} else if (s->state == CB_S_OPEN) {
		cb_log(b, LOG_ERR,
		       "the CUDA worker of %s session %u is gone (%s): the session gets device-lost",
		       b->vm, s->id, why);
	}
	/* the staging jobs of the session see it and stop, then nothing
	 * touches its memory any more */
	__atomic_store_n(&s->dead_status, status, __ATOMIC_RELEASE);
	__atomic_fetch_add(&s->epoch, 1, __ATOMIC_SEQ_CST);
	for (uint32_t k = 0; s->shm && k < CW_MAX_SLOTS; k++) {
		cw_store(&s->shm->slot[k].v, CW_SLOT_ERROR);
		cw_futex_wake(&s->shm->slot[k].v);
	}
	if (s->shm)
		cw_futex_wake(&s->shm->req.cons.v);
	cb_stage_quiesce(b, s);
	pthread_mutex_lock(&s->lock);
	s->state = s->state == CB_S_OPEN ? CB_S_DEAD : CB_S_FREE;
	s->head = s->tail = CB_NONE;
	fail_tokens(b, slot, status);
	cb_worker_retire(b, &s->w);
	s->shm = NULL;
	s->stage = NULL;
	pthread_mutex_unlock(&s->lock);
}

/* ---- completions ---- */

static bool take_cpl(struct backend_cuda *b, struct cb_sess *s,
		     const uint8_t *rec, uint32_t len)
{
	const struct cw_rec *h = (const void *)rec;
	const struct cw_cpl *c = (const void *)rec;
	uint32_t t = h->token - 1;
	struct cb_tok *k;

	if (h->type == CW_REC_CLOSED) {
		if (s->state == CB_S_CLOSING)
			s->state = CB_S_FREE;
		return true;
	}
	if (h->type != CW_REC_CPL || len < sizeof(*c) || t >= CB_MAX_TOKENS)
		return false;
	k = &b->tok[t];
	if (k->state != CB_TOK_WORKER || k->gen != h->gen ||
	    k->slot != cb_slot_of(b, s) || !k->r)
		return false;
	b->stats.cpls++;
	if (c->stamp && cb_profiling(b))
		b->stats.cpl_ns += cw_now_ns() - c->stamp;
	k->r->status = cb_wire_result(k->r, c, len);
	cb_module_done(b, s, k->r);
	b->be.complete(b->be.ctx, k->r);
	cb_tok_release(b, t);
	return true;
}

/* Everything the worker completed for one session; false if it wrote
 * something malformed. */
static bool drain(struct backend_cuda *b, struct cb_sess *s)
{
	uint8_t rec[sizeof(struct cw_cpl) + sizeof(struct vgpu_func_info) + 16];
	uint32_t len;

	for (;;) {
		uint8_t *p = cw_cons_peek(&s->cpl, &len);

		if (p == CW_RING_BROKEN || (p && len > sizeof(rec)))
			return false;
		if (!p) {
			if (cw_cons_publish(&s->cpl)) {
				/* its thread waits for room */
				__atomic_fetch_add(&s->shm->req.wake.v, 1,
						   __ATOMIC_SEQ_CST);
				cw_futex_wake(&s->shm->req.wake.v);
			}
			if (cw_cons_empty(&s->cpl))
				return true;
			continue;
		}
		memcpy(rec, p, len);
		cw_cons_advance(&s->cpl, len);
		if (!take_cpl(b, s, rec, len))
			return false;
		if (s->state == CB_S_FREE)
			return true;
	}
}

void cb_deliver_local(struct backend_cuda *b)
{
	struct cb_done *d;
	uint32_t n;

	pthread_mutex_lock(&b->done_lock);
	d = b->done;
	n = b->ndone;
	b->done = NULL;
	b->ndone = b->done_cap = 0;
	pthread_mutex_unlock(&b->done_lock);
	for (uint32_t i = 0; i < n; i++) {
		if (d[i].tok != CB_NONE) {
			struct cb_tok *k = &b->tok[d[i].tok];

			/* a module image reserved at submit */
			if (d[i].r && d[i].r->op == VGPU_OP_MODULE_LOAD)
				cb_module_done(b, &b->sess[k->slot], d[i].r);
			cb_tok_release(b, d[i].tok);
		}
		if (d[i].r) {
			b->stats.local++;
			b->be.complete(b->be.ctx, d[i].r);
		}
	}
	free(d);
}

static struct cb_worker *find(struct backend_cuda *b, uint64_t serial,
			      struct cb_sess **sp)
{
	*sp = NULL;
	if (b->spare.sock >= 0 && b->spare.serial == serial)
		return &b->spare;
	for (uint32_t i = 0; i < b->max_sessions; i++)
		if (b->sess[i].w.sock >= 0 && b->sess[i].w.serial == serial) {
			*sp = &b->sess[i];
			return &b->sess[i].w;
		}
	return NULL; /* an event for one retired meanwhile */
}

void cb_worker_event(struct backend_cuda *b, uint64_t serial)
{
	struct cb_sess *s;
	struct cb_worker *w = find(b, serial, &s);
	char why[256];
	int rc = 1;

	if (!w)
		return;
	if (!w->hello) {
		rc = cb_read_hello(b, w, why, sizeof(why));
		if (rc == 0)
			return;
	} else if (recv(w->sock, why, sizeof(why), MSG_DONTWAIT) >= 0) {
		/* after hello a worker sends nothing: readable means gone */
		snprintf(why, sizeof(why), "it closed its socket");
		rc = -EPIPE;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		rc = -EPIPE;
	}
	if (rc > 0)
		return;
	if (s)
		cb_worker_died(b, s, why, false);
	else {
		cb_log(b, LOG_WARNING, "the spare CUDA worker of %s: %s", b->vm,
		       why);
		cb_worker_retire(b, w);
	}
}

/* Drain what every live session's ring holds. */
void cb_drain_all(struct backend_cuda *b)
{
	for (uint32_t i = 0; i < b->max_sessions; i++) {
		struct cb_sess *s = &b->sess[i];

		if ((s->state != CB_S_OPEN && s->state != CB_S_CLOSING) ||
		    s->w.sock < 0)
			continue;
		if (!drain(b, s)) {
			cb_worker_died(b, s, "it wrote a malformed completion",
				       true);
			continue;
		}
		if (s->state == CB_S_FREE) { /* CLOSED: it exits */
			cb_worker_retire(b, &s->w);
			s->shm = NULL;
			s->stage = NULL;
			continue;
		}
		if (s->state == CB_S_OPEN && s->head != CB_NONE) {
			pthread_mutex_lock(&s->lock);
			cb_flush(b, s);
			pthread_mutex_unlock(&s->lock);
		}
	}
}
