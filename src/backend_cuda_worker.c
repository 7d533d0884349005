// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's proxy: the worker's life (start, hello, death) and
 * what it completes. Everything the worker writes is checked; a worker
 * that writes nonsense is treated as dead. What a dead worker had
 * finished before it died still counts; everything else it held
 * completes with VGPU_S_BACKEND (device lost).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_cuda_int.h"

static void fail_tokens(struct backend_cuda *b, uint32_t slot)
{
	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++) {
		struct cb_tok *k = &b->tok[t];

		if (k->slot != slot ||
		    (k->state != CB_TOK_PENDING && k->state != CB_TOK_WORKER))
			continue;
		if (k->r) {
			k->state = CB_TOK_LOCAL;
			cb_local_complete(b, t, k->r, VGPU_S_BACKEND, 0);
		} else {
			cb_tok_release(b, t);
		}
	}
}

static bool drain(struct backend_cuda *b, struct cb_sess *s);

void cb_worker_died(struct backend_cuda *b, const char *why, bool malformed)
{
	cb_log(b, LOG_ERR,
	       "the CUDA worker of %s is gone (%s): its sessions get device-lost; new sessions get a new worker",
	       b->vm, why);
	epoll_ctl(b->ep_fd, EPOLL_CTL_DEL, b->sock, NULL);
	close(b->sock);
	b->sock = -1;
	b->hello = false;
	b->worker_pid = 0;
	__atomic_fetch_add(&b->epoch, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < b->cfg.max_sessions; i++) {
		struct cb_sess *s = &b->sess[i];

		if (s->state == CB_S_FREE)
			continue;
		if (!malformed && s->state == CB_S_OPEN)
			drain(b, s); /* its last words */
		pthread_mutex_lock(&s->lock);
		s->state = s->state == CB_S_OPEN ? CB_S_DEAD : CB_S_FREE;
		s->head = s->tail = CB_NONE;
		for (uint32_t k = 0; k < CW_MAX_SLOTS; k++) {
			cw_store(&s->shm->slot[k].v, CW_SLOT_ERROR);
			cw_futex_wake(&s->shm->slot[k].v);
		}
		cw_futex_wake(&s->shm->req.cons.v);
		fail_tokens(b, i);
		pthread_mutex_unlock(&s->lock);
	}
}

int cb_worker_start(struct backend_cuda *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sock = cb_spawn(b);

	if (sock < 0) {
		cb_log(b, LOG_ERR, "cannot start a CUDA worker: %s",
		       strerror(-sock));
		return sock;
	}
	if (cb_send_config(b, sock) < 0) {
		/* it is gone already (it could not even load its libraries) */
		close(sock);
		return -EPIPE;
	}
	ev.data.fd = sock;
	epoll_ctl(b->ep_fd, EPOLL_CTL_ADD, sock, &ev);
	b->sock = sock;
	b->hello = false;
	return 0;
}

/* ---- completions ---- */

static bool take_cpl(struct backend_cuda *b, struct cb_sess *s,
		     const uint8_t *rec, uint32_t len)
{
	const struct cw_rec *h = (const void *)rec;
	const struct cw_cpl *c = (const void *)rec;
	uint32_t t = h->token - 1;
	struct cb_tok *k;
	uint32_t st;

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
	st = cb_wire_result(k->r, c, len);
	k->r->status = st;
	b->be.complete(b->be.ctx, k->r);
	cb_tok_release(b, t);
	return true;
}

/* Everything the worker completed for one session. */
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
		if (d[i].tok != CB_NONE)
			cb_tok_release(b, d[i].tok);
		if (d[i].r)
			b->be.complete(b->be.ctx, d[i].r);
	}
	free(d);
}

void cb_check_worker(struct backend_cuda *b)
{
	char why[256];
	int rc;

	if (b->sock < 0)
		return;
	if (!b->hello) {
		rc = cb_read_hello(b, why, sizeof(why));
		if (rc < 0)
			cb_worker_died(b, why, false);
		if (rc != 0)
			return;
	}
	/* after hello the worker sends nothing: readable means gone */
	if (b->hello && recv(b->sock, why, sizeof(why), MSG_DONTWAIT) >= 0)
		cb_worker_died(b, "it closed its socket", false);
	else if (b->hello && errno != EAGAIN && errno != EWOULDBLOCK)
		cb_worker_died(b, strerror(errno), false);
}

/* Drain what every live session's ring holds; false if the worker
 * wrote something malformed. */
bool cb_drain_all(struct backend_cuda *b)
{
	for (uint32_t i = 0; i < b->cfg.max_sessions; i++) {
		struct cb_sess *s = &b->sess[i];

		if (s->state != CB_S_OPEN && s->state != CB_S_CLOSING)
			continue;
		if (!drain(b, s))
			return false;
		if (s->state == CB_S_OPEN && s->head != CB_NONE) {
			pthread_mutex_lock(&s->lock);
			cb_flush(b, s);
			pthread_mutex_unlock(&s->lock);
		}
	}
	return true;
}
