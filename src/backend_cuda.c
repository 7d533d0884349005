// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend, the daemon's half: a thin proxy that hands each
 * session's requests to the session's own vgpu-cuda-worker process
 * through shared-memory rings (include/vgpu/cuda_ipc.h) and hands
 * completions back from poll().
 *
 * A session gets its worker when it is first used (a region, a request):
 * the VM's spare (CUDA already up there), whose place a new spare takes.
 * Requests wait in their session's FIFO only while the ring is full or a
 * staged copy (a region without a file) is feeding its chunks: stream
 * order is kept without the engine thread ever waiting. When a session's
 * worker dies, what it held completes with VGPU_S_BACKEND (device lost)
 * unless it had said the session was lost (a fault, a time limit: then
 * VGPU_S_SESSION_LOST), and the session answers so until the engine
 * closes it; the VM's other sessions never notice.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "backend_cuda_int.h"

static struct backend_cuda *cb(struct backend *be)
{
	return (struct backend_cuda *)be;
}

void cb_log(struct backend_cuda *b, int prio, const char *fmt, ...)
{
	va_list ap;

	if (!b->log)
		return;
	va_start(ap, fmt);
	log_vmsg(b->log, prio, fmt, ap);
	va_end(ap);
}

/* ---- tokens and local completions ---- */

static uint32_t tok_alloc(struct backend_cuda *b, struct be_req *r,
			  uint32_t slot)
{
	uint32_t t = b->tok_free;
	struct cb_tok *k;

	if (t == CB_NONE)
		return CB_NONE;
	k = &b->tok[t];
	b->tok_free = k->next;
	k->r = r;
	k->gen++;
	k->next = CB_NONE;
	k->slot = (uint16_t)slot;
	k->state = CB_TOK_PENDING;
	k->internal = CB_I_NONE;
	k->progress = 0;
	return t;
}

void cb_tok_release(struct backend_cuda *b, uint32_t t)
{
	struct cb_tok *k = &b->tok[t];

	k->gen++;
	k->r = NULL;
	k->state = CB_TOK_FREE;
	k->next = b->tok_free;
	b->tok_free = t;
}

/* Queue @r (NULL: only the token) for poll(); any thread. */
static void local_queue(struct backend_cuda *b, uint32_t t, struct be_req *r)
{
	pthread_mutex_lock(&b->done_lock);
	if (b->ndone == b->done_cap) {
		uint32_t cap = b->done_cap ? b->done_cap * 2 : 64;
		struct cb_done *d = realloc(b->done, cap * sizeof(*d));

		if (!d) {
			/* short of memory exhaustion this cannot happen;
			 * dying beats losing a completion */
			pthread_mutex_unlock(&b->done_lock);
			cb_log(b, LOG_ERR, "no memory for a completion");
			abort();
		}
		b->done = d;
		b->done_cap = cap;
	}
	b->done[b->ndone].r = r;
	b->done[b->ndone].tok = t;
	b->ndone++;
	pthread_mutex_unlock(&b->done_lock);
}

void cb_local_complete(struct backend_cuda *b, uint32_t t, struct be_req *r,
		       uint32_t status, uint64_t result)
{
	uint64_t one = 1;

	r->status = status;
	r->result = result;
	local_queue(b, t, r);
	if (write(b->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		cb_log(b, LOG_WARNING, "notify: %s", strerror(errno));
}

/* A copy the worker cannot do from the region itself goes through
 * staging: the region has no file, or was kept from the worker. */
bool cb_staged(const struct backend_cuda *b, const struct cb_sess *s,
	       const struct be_req *r)
{
	(void)b;
	if (r->op != VGPU_OP_COPY_H2D && r->op != VGPU_OP_COPY_D2H)
		return false;
	for (uint32_t i = 0; i < s->nregions; i++)
		if (s->regions[i].id == r->copy.region->id)
			return !s->regions[i].sent;
	return true;
}

/* ---- sessions ---- */

static struct cb_sess *sess_find(struct backend_cuda *b, uint32_t id)
{
	for (uint32_t i = 0; i < b->max_sessions; i++) {
		struct cb_sess *s = &b->sess[i];

		if (s->id == id &&
		    (s->state == CB_S_OPEN || s->state == CB_S_DEAD))
			return s;
	}
	return NULL;
}

/* Push what the FIFO holds, in order (the session's lock held). */
void cb_flush(struct backend_cuda *b, struct cb_sess *s)
{
	uint32_t pos = s->req.pos;

	while (s->head != CB_NONE && !s->stage_busy && s->state != CB_S_DEAD &&
	       s->w.sock >= 0) {
		uint32_t t = s->head;
		struct cb_tok *k = &b->tok[t];
		int rc;

		if (k->r && cb_staged(b, s, k->r)) {
			s->head = k->next;
			if (s->head == CB_NONE)
				s->tail = CB_NONE;
			k->state = CB_TOK_STAGING;
			s->stage_busy = true;
			cb_stage_submit(b, s, t);
			break;
		}
		rc = cb_wire_push(b, s, t);
		if (rc == -EAGAIN)
			break;
		s->head = k->next;
		if (s->head == CB_NONE)
			s->tail = CB_NONE;
		if (rc < 0 && k->r) {
			/* a request the wire refuses (a bad name length) */
			k->state = CB_TOK_LOCAL;
			cb_local_complete(b, t, k->r, VGPU_S_INVALID, 0);
			continue;
		}
		if (!k->r) { /* the free list is the engine thread's */
			k->state = CB_TOK_LOCAL;
			local_queue(b, t, NULL);
		} else {
			k->state = CB_TOK_WORKER;
		}
	}
	/* what went in, a part of a module image included */
	if (s->req.pos != pos)
		cb_wire_publish(b, s);
}

static void fifo_add(struct backend_cuda *b, struct cb_sess *s, uint32_t t)
{
	if (s->tail == CB_NONE)
		s->head = t;
	else
		b->tok[s->tail].next = t;
	s->tail = t;
}

/* An entry the worker needs but the engine did not ask for. */
static void internal(struct backend_cuda *b, struct cb_sess *s, uint8_t what,
		     uint32_t arg)
{
	uint32_t t = tok_alloc(b, NULL, cb_slot_of(b, s));

	if (t == CB_NONE) {
		cb_log(b, LOG_ERR, "no token for a session message");
		return;
	}
	b->tok[t].internal = what;
	b->tok[t].arg = arg;
	pthread_mutex_lock(&s->lock);
	fifo_add(b, s, t);
	cb_flush(b, s);
	pthread_mutex_unlock(&s->lock);
}

/* The rings of the worker now serving @s. */
static void sess_attach(struct backend_cuda *b, struct cb_sess *s)
{
	uint8_t *base = s->w.map + cw_sess_off();

	s->shm = (struct cw_sess_shm *)base;
	cw_prod_init(&s->req, &s->shm->req, base + sizeof(struct cw_sess_shm),
		     b->cfg.req_bytes);
	cw_cons_init(&s->cpl, &s->shm->cpl,
		     base + sizeof(struct cw_sess_shm) + b->cfg.req_bytes,
		     b->cfg.cpl_bytes);
	s->stage = s->w.map + cw_stage_off(b->cfg.req_bytes, b->cfg.cpl_bytes);
	s->profile = cb_profiling(b);
}

/* The session's first use: the spare (or a new worker) makes its context
 * and serves it; a new spare is started for the next session. False if
 * no worker could be had (the session is then lost: device lost). */
static bool sess_bind(struct backend_cuda *b, struct cb_sess *s)
{
	struct cw_msg m = { .magic = CW_MAGIC, .type = CW_MSG_SESSION_OPEN };

	if (s->w.sock >= 0 || s->state != CB_S_OPEN)
		return s->state == CB_S_OPEN;
	for (int tries = 0;; tries++) {
		if (b->spare.sock >= 0) {
			s->w = b->spare;
			memset(&b->spare, 0, sizeof(b->spare));
			b->spare.sock = -1;
		} else if (cb_worker_spawn(b, &s->w) < 0) {
			s->state = CB_S_DEAD;
			s->dead_status = VGPU_S_BACKEND;
			return false;
		}
		sess_attach(b, s);
		if (cb_send_msg(s->w.sock, &m, sizeof(m), NULL, 0) == 0)
			break;
		if (tries) {
			cb_worker_died(b, s, "its socket is closed", false);
			return false;
		}
		/* a spare that died unnoticed: a new worker */
		cb_worker_retire(b, &s->w);
	}
	/* the next session's, while this one makes its context */
	if (cb_worker_spawn(b, &b->spare) < 0)
		cb_log(b, LOG_WARNING, "no spare CUDA worker for %s", b->vm);
	return true;
}

/* The newest free device memory any worker saw (0: none yet). */
static bool dev_free(struct backend_cuda *b, uint64_t *fr)
{
	uint64_t at = 0;

	for (uint32_t i = 0; i < b->max_sessions; i++) {
		struct cw_shm_hdr *h = b->sess[i].w.hdr;
		uint64_t t;

		if (!h)
			continue;
		t = __atomic_load_n(&h->dev_free_at, __ATOMIC_ACQUIRE);
		if (t > at) {
			at = t;
			*fr = __atomic_load_n(&h->dev_free, __ATOMIC_RELAXED);
		}
	}
	return at != 0;
}

static int cuda_session_open(struct backend *be, uint32_t id)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = NULL;
	uint32_t open = 0;
	uint64_t fr;

	for (uint32_t i = 0; i < b->max_sessions; i++) {
		if (b->sess[i].state == CB_S_FREE && !s)
			s = &b->sess[i];
		else if (b->sess[i].state != CB_S_FREE)
			open++;
	}
	if (!s)
		return -EMFILE;
	if (open && dev_free(b, &fr) && fr < b->be.session_overhead)
		return -ENOSPC;
	s->id = id;
	s->state = CB_S_OPEN;
	s->dead_status = 0;
	s->head = s->tail = CB_NONE;
	s->stage_busy = false;
	s->nregions = 0;
	s->nmods = 0;
	return 0;
}

static void sess_release_modules(struct backend_cuda *b, struct cb_sess *s)
{
	for (uint32_t i = 0; i < s->nmods; i++)
		b->module_bytes -= s->mods[i].bytes;
	s->nmods = 0;
}

static void cuda_session_close(struct backend *be, uint32_t id)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = sess_find(b, id);

	if (!s)
		return;
	cb_stage_quiesce(b, s);
	for (uint32_t i = 0; i < s->nregions; i++)
		if (s->regions[i].sent)
			b->pinned -= s->regions[i].len;
	s->nregions = 0;
	sess_release_modules(b, s);
	if (s->state == CB_S_OPEN && s->w.sock >= 0) {
		s->state = CB_S_CLOSING;
		internal(b, s, CB_I_CLOSE, 0);
	} else {
		cb_worker_retire(b, &s->w);
		s->state = CB_S_FREE;
	}
	s->id = 0;
}

static int cuda_region_add(struct backend *be, uint32_t id,
			   const struct be_region *r)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = sess_find(b, id);
	struct cw_msg m = { .magic = CW_MAGIC, .type = CW_MSG_REGION };
	struct cb_region *n;
	bool send;

	if (!s)
		return -ENOENT;
	n = realloc(s->regions, (s->nregions + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->regions = n;
	send = r->fd >= 0 && !b->o.stage_all &&
	       r->len <= b->cfg.pinned_limit - b->pinned && sess_bind(b, s);
	if (send) {
		m.id = r->id;
		m.len = r->len;
		m.off = r->fd_off;
		send = cb_send_msg(s->w.sock, &m, sizeof(m), &r->fd, 1) == 0;
	}
	n[s->nregions].id = r->id;
	n[s->nregions].len = r->len;
	n[s->nregions].sent = send;
	s->nregions++;
	if (send) {
		b->pinned += r->len;
		internal(b, s, CB_I_REGION_REG, r->id);
	}
	return 0;
}

static void cuda_region_del(struct backend *be, uint32_t id,
			    const struct be_region *r)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = sess_find(b, id);

	if (!s)
		return;
	cb_stage_quiesce(b, s);
	for (uint32_t i = 0; i < s->nregions; i++) {
		if (s->regions[i].id != r->id)
			continue;
		if (s->regions[i].sent) {
			b->pinned -= s->regions[i].len;
			if (s->state == CB_S_OPEN)
				internal(b, s, CB_I_REGION_UNREG, r->id);
		}
		s->regions[i] = s->regions[--s->nregions];
		return;
	}
}

/* ---- module bytes, per VM ---- */

/* Room for @r's image (reserved until its completion), or false. */
static bool module_reserve(struct backend_cuda *b, const struct be_req *r)
{
	if (r->module.len > b->cfg.module_limit - b->module_bytes)
		return false;
	b->module_bytes += r->module.len;
	return true;
}

void cb_module_done(struct backend_cuda *b, struct cb_sess *s,
		    const struct be_req *r)
{
	struct cb_module *n;

	if (r->op == VGPU_OP_MODULE_UNLOAD && r->status == VGPU_S_OK) {
		for (uint32_t i = 0; i < s->nmods; i++)
			if (s->mods[i].id == r->module.module) {
				b->module_bytes -= s->mods[i].bytes;
				s->mods[i] = s->mods[--s->nmods];
				break;
			}
		return;
	}
	if (r->op != VGPU_OP_MODULE_LOAD)
		return;
	n = r->status == VGPU_S_OK && s->state == CB_S_OPEN ?
		    realloc(s->mods, (s->nmods + 1) * sizeof(*n)) :
		    NULL;
	if (!n) { /* failed, or the session is gone: not held */
		b->module_bytes -= r->module.len;
		return;
	}
	s->mods = n;
	n[s->nmods].id = (uint32_t)r->result;
	n[s->nmods].bytes = r->module.len;
	s->nmods++;
}

static void cuda_submit(struct backend *be, struct be_req *r)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = sess_find(b, r->session);
	uint32_t t;

	b->stats.submits++;
	if (!s) {
		cb_local_complete(b, CB_NONE, r, VGPU_S_INVALID, 0);
		return;
	}
	if (r->op == VGPU_OP_DEVICE_INFO && s->state == CB_S_OPEN) {
		if (r->devinfo)
			*r->devinfo = b->devinfo;
		cb_local_complete(b, CB_NONE, r, VGPU_S_OK, 0);
		return;
	}
	if (!sess_bind(b, s)) {
		cb_local_complete(b, CB_NONE, r, s->dead_status, 0);
		return;
	}
	if (r->op == VGPU_OP_MODULE_LOAD && !module_reserve(b, r)) {
		cb_local_complete(b, CB_NONE, r, VGPU_S_LIMIT, 0);
		return;
	}
	t = tok_alloc(b, r, cb_slot_of(b, s));
	if (t == CB_NONE) {
		if (r->op == VGPU_OP_MODULE_LOAD)
			b->module_bytes -= r->module.len;
		cb_local_complete(b, CB_NONE, r, VGPU_S_LIMIT, 0);
		return;
	}
	pthread_mutex_lock(&s->lock);
	fifo_add(b, s, t);
	cb_flush(b, s);
	pthread_mutex_unlock(&s->lock);
}

static int cuda_poll_fd(struct backend *be)
{
	return cb(be)->ep_fd;
}

static void cuda_poll(struct backend *be)
{
	struct backend_cuda *b = cb(be);
	struct epoll_event ev[16];
	int n = epoll_wait(b->ep_fd, ev, 16, 0);
	uint64_t v;

	/* one system call tells what needs one more */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 != CB_EP_NOTIFY)
			continue;
		b->stats.notify_reads++;
		if (read(b->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			cb_log(b, LOG_WARNING, "notify: %s", strerror(errno));
	}
	/* what a worker finished before it died still counts */
	cb_drain_all(b);
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 != CB_EP_NOTIFY)
			cb_worker_event(b, ev[i].data.u64);
	cb_deliver_local(b);
}

/* ---- teardown ---- */

void cb_destroy(struct backend *be)
{
	struct backend_cuda *b = cb(be);
	struct cuda_be_stats st;
	char line[1024];

	if (b->log && b->tok) {
		backend_cuda_stats(be, &st);
		backend_cuda_stats_line(&st, line, sizeof(line));
		cb_log(b, LOG_INFO, "CUDA backend of %s: %s", b->vm, line);
	}
	for (uint32_t i = 0; i < CB_MAX_SESSIONS; i++)
		__atomic_fetch_add(&b->sess[i].epoch, 1, __ATOMIC_SEQ_CST);
	cb_stage_stop(b);
	cb_worker_retire(b, &b->spare);
	for (uint32_t i = 0; i < CB_MAX_SESSIONS; i++) {
		cb_worker_retire(b, &b->sess[i].w);
		free(b->sess[i].regions);
		free(b->sess[i].mods);
		pthread_mutex_destroy(&b->sess[i].lock);
	}
	if (b->notify_fd >= 0)
		close(b->notify_fd);
	if (b->ep_fd >= 0)
		close(b->ep_fd);
	free(b->tok);
	free(b->done);
	pthread_mutex_destroy(&b->done_lock);
	free(b);
}

const struct backend_ops cb_ops = {
	.name = "cuda",
	.session_open = cuda_session_open,
	.session_close = cuda_session_close,
	.region_add = cuda_region_add,
	.region_del = cuda_region_del,
	.submit = cuda_submit,
	.poll_fd = cuda_poll_fd,
	.poll = cuda_poll,
	.destroy = cb_destroy,
};
