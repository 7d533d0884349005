// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copies through staging, for regions the worker cannot map itself (Xen
 * guest memory is foreign mappings, which no driver can register). A
 * copy is cut into slot-sized chunks; thread i of n handles chunks i,
 * i + n, ... and so always the same slots (n divides the slot count), so
 * a slot is only ever refilled by the thread that used it last:
 *   H2D: wait for the slot FREE, copy the chunk in, mark it BUSY, send
 *        STAGE_H2D (the worker DMAs it and frees the slot); after the
 *        last chunk, STAGE_END, which the worker completes in stream
 *        order once every chunk is on the GPU.
 *   D2H: send STAGE_D2H, wait for the slot READY, copy the chunk out,
 *        free the slot; the last one completes the request.
 * CPU copies overlap the DMA of other chunks and run on several threads
 * for a large copy. The session's later requests wait in its FIFO until
 * every chunk is in the ring, so stream order holds.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend_cuda_int.h"

#define CB_STAGE_THREADS_MAX 8
#define CB_WAIT_NS 100000000L

struct cb_job {
	struct cb_job *next;
	struct cb_sess *s;
	uint32_t tok, gen, stream;
	bool h2d;
	uint8_t *host;
	uint64_t dptr, len, nchunks;
	uint32_t epoch;
	uint32_t taken; /* threads done with it, a bit each */
	uint32_t finished;
	uint64_t pushed; /* chunk records in the ring */
	uint32_t status; /* the first failure */
	bool released, end_pushed;
};

struct cb_stage {
	struct backend_cuda *b;
	uint32_t n;
	pthread_t th[CB_STAGE_THREADS_MAX];
	uint32_t started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cb_job *head, **tail;
	bool stop;
};

struct cb_arg {
	struct cb_stage *st;
	uint32_t i;
};

/* The session's worker went (or the backend stops): what the job gets,
 * else 0. */
static uint32_t dead(struct backend_cuda *b, const struct cb_job *j)
{
	uint32_t st;

	if (__atomic_load_n(&b->st->stop, __ATOMIC_ACQUIRE))
		return VGPU_S_BACKEND;
	if (__atomic_load_n(&j->s->epoch, __ATOMIC_ACQUIRE) == j->epoch)
		return 0;
	st = __atomic_load_n(&j->s->dead_status, __ATOMIC_ACQUIRE);
	return st ? st : VGPU_S_BACKEND;
}

static void fail(struct cb_job *j, uint32_t status)
{
	uint32_t zero = 0;

	__atomic_compare_exchange_n(&j->status, &zero, status, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static uint32_t failed(struct cb_job *j)
{
	return __atomic_load_n(&j->status, __ATOMIC_ACQUIRE);
}

/* Wait until a slot's state is @want; 0, or the failure. */
static uint32_t wait_slot(struct backend_cuda *b, struct cb_job *j, uint32_t *w,
			  uint32_t want)
{
	uint64_t t0 = cb_profiling(b) ? cw_now_ns() : 0;

	for (;;) {
		struct timespec ts = { 0, CB_WAIT_NS };
		uint32_t v = cw_load(w);

		if (v == want) {
			if (t0)
				__atomic_fetch_add(&b->stats.stage_wait_ns,
						   cw_now_ns() - t0,
						   __ATOMIC_RELAXED);
			return 0;
		}
		if (dead(b, j))
			return dead(b, j);
		if (v == CW_SLOT_ERROR)
			return VGPU_S_SESSION_LOST;
		if (failed(j))
			return failed(j);
		cw_futex_wait(w, v, &ts);
	}
}

/* Release the session's FIFO (once): later requests may flow. */
static void release(struct backend_cuda *b, struct cb_job *j)
{
	pthread_mutex_lock(&j->s->lock);
	if (!j->released) {
		j->released = true;
		j->s->stage_busy = false;
		cb_flush(b, j->s);
	}
	pthread_mutex_unlock(&j->s->lock);
}

/* One staging record, waiting for room; for STAGE_END the token passes
 * to the worker in the same step. 0 or the failure. */
static uint32_t push(struct backend_cuda *b, struct cb_job *j, uint32_t op,
		     uint32_t slot, uint64_t dptr, uint64_t len)
{
	struct cb_sess *s = j->s;
	bool end = op == CW_OP_STAGE_END;

	for (;;) {
		struct timespec ts = { 0, CB_WAIT_NS };
		uint32_t seen;
		int rc;

		pthread_mutex_lock(&s->lock);
		if (dead(b, j) || s->state != CB_S_OPEN) {
			uint32_t st = dead(b, j);

			pthread_mutex_unlock(&s->lock);
			return st ? st : VGPU_S_BACKEND;
		}
		seen = cw_load(&s->shm->req.cons.v);
		rc = cb_wire_stage(b, s, op, j->stream, end ? j->tok + 1 : 0,
				   end ? j->gen : 0, slot, dptr, len);
		if (rc == 0) {
			if (end) {
				b->tok[j->tok].state = CB_TOK_WORKER;
				j->end_pushed = true;
			}
			cb_wire_publish(b, s);
		}
		pthread_mutex_unlock(&s->lock);
		if (rc == 0)
			return 0;
		if (rc != -EAGAIN)
			return VGPU_S_BACKEND;
		cw_futex_wait(&s->shm->req.cons.v, seen, &ts);
	}
}

static void chunk_pushed(struct backend_cuda *b, struct cb_job *j)
{
	uint32_t rc = 0;

	if (__atomic_add_fetch(&j->pushed, 1, __ATOMIC_SEQ_CST) != j->nchunks)
		return;
	if (j->h2d && !failed(j))
		rc = push(b, j, CW_OP_STAGE_END, 0, 0, 0);
	if (rc)
		fail(j, rc);
	release(b, j);
}

static void copy_timed(struct backend_cuda *b, void *to, const void *from,
		       uint64_t n)
{
	uint64_t t0 = cb_profiling(b) ? cw_now_ns() : 0;

	memcpy(to, from, n);
	if (t0)
		__atomic_fetch_add(&b->stats.stage_copy_ns, cw_now_ns() - t0,
				   __ATOMIC_RELAXED);
}

static void run_chunk(struct backend_cuda *b, struct cb_job *j, uint64_t k)
{
	uint32_t sb = b->cfg.slot_bytes, slot = (uint32_t)(k % b->cfg.nslots);
	uint32_t *w = &j->s->shm->slot[slot].v;
	uint8_t *buf = j->s->stage + (uint64_t)slot * sb;
	uint64_t off = k * sb, n = j->len - off < sb ? j->len - off : sb;
	uint32_t rc = wait_slot(b, j, w, CW_SLOT_FREE);

	if (rc == 0 && j->h2d) {
		copy_timed(b, buf, j->host + off, n);
		cw_store(w, CW_SLOT_BUSY);
		rc = push(b, j, CW_OP_STAGE_H2D, slot, j->dptr + off, n);
		if (rc == 0)
			chunk_pushed(b, j);
	} else if (rc == 0) {
		cw_store(w, CW_SLOT_BUSY);
		rc = push(b, j, CW_OP_STAGE_D2H, slot, j->dptr + off, n);
		if (rc == 0) {
			chunk_pushed(b, j);
			rc = wait_slot(b, j, w, CW_SLOT_READY);
		}
		if (rc == 0) {
			copy_timed(b, j->host + off, buf, n);
			cw_store(w, CW_SLOT_FREE);
		}
	}
	if (rc) {
		fail(j, rc);
		release(b, j);
	}
}

/* The last thread done with a job completes it (unless the worker
 * will: a staged H2D whose STAGE_END went out). */
static void finish(struct backend_cuda *b, struct cb_job *j)
{
	release(b, j);
	if (!j->end_pushed)
		cb_local_complete(b, j->tok, b->tok[j->tok].r,
				  failed(j) ? failed(j) : VGPU_S_OK, 0);
	free(j);
}

static void *stage_main(void *arg)
{
	struct cb_arg *a = arg;
	struct cb_stage *st = a->st;
	uint32_t i = a->i, bit = 1u << a->i;

	free(a);
	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct cb_job *j = st->head;

		while (j && (j->taken & bit))
			j = j->next;
		if (!j) {
			if (st->stop)
				break;
			pthread_cond_wait(&st->cond, &st->lock);
			continue;
		}
		pthread_mutex_unlock(&st->lock);
		for (uint64_t k = i; k < j->nchunks && !failed(j); k += st->n)
			run_chunk(st->b, j, k);
		pthread_mutex_lock(&st->lock);
		j->taken |= bit;
		if (++j->finished < st->n)
			continue;
		for (struct cb_job **pp = &st->head; *pp; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		if (!st->head)
			st->tail = &st->head;
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
		finish(st->b, j);
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int cb_stage_start(struct backend_cuda *b)
{
	struct cb_stage *st = calloc(1, sizeof(*st));
	uint32_t n = b->o.stage_threads ? b->o.stage_threads : 4;

	if (!st)
		return -ENOMEM;
	/* every slot belongs to one thread: n divides the slot count */
	while (n > 1 && (n > CB_STAGE_THREADS_MAX || b->cfg.nslots % n))
		n--;
	st->b = b;
	st->n = n;
	st->tail = &st->head;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	b->st = st;
	for (uint32_t i = 0; i < n; i++) {
		struct cb_arg *a = malloc(sizeof(*a));

		if (!a)
			return -ENOMEM;
		a->st = st;
		a->i = i;
		if (pthread_create(&st->th[i], NULL, stage_main, a)) {
			free(a);
			return -EAGAIN;
		}
		st->started++;
	}
	return 0;
}

void cb_stage_stop(struct backend_cuda *b)
{
	struct cb_stage *st = b->st;

	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	for (uint32_t i = 0; i < st->started; i++)
		pthread_join(st->th[i], NULL);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
	b->st = NULL;
}

void cb_stage_submit(struct backend_cuda *b, struct cb_sess *s, uint32_t t)
{
	struct cb_stage *st = b->st;
	struct be_req *r = b->tok[t].r;
	struct cb_job *j = calloc(1, sizeof(*j));

	if (!j) {
		s->stage_busy = false;
		cb_local_complete(b, t, r, VGPU_S_NO_MEMORY, 0);
		return;
	}
	j->s = s;
	j->tok = t;
	j->gen = b->tok[t].gen;
	j->stream = r->stream;
	j->h2d = r->op == VGPU_OP_COPY_H2D;
	j->host = r->copy.region->va + r->copy.offset;
	j->dptr = r->copy.dptr;
	j->len = r->copy.len;
	j->nchunks = (j->len + b->cfg.slot_bytes - 1) / b->cfg.slot_bytes;
	j->epoch = __atomic_load_n(&s->epoch, __ATOMIC_ACQUIRE);
	__atomic_fetch_add(&b->stats.staged, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&b->stats.staged_bytes, j->len, __ATOMIC_RELAXED);
	pthread_mutex_lock(&st->lock);
	*st->tail = j;
	st->tail = &j->next;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

void cb_stage_quiesce(struct backend_cuda *b, struct cb_sess *s)
{
	struct cb_stage *st = b->st;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct cb_job *j = st->head;

		while (j && j->s != s)
			j = j->next;
		if (!j)
			break;
		pthread_cond_wait(&st->cond, &st->lock);
	}
	pthread_mutex_unlock(&st->lock);
}
