// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend, the daemon's half: a thin proxy that hands each
 * session's requests to the VM's vgpu-cuda-worker through shared-memory
 * rings (include/vgpu/cuda_ipc.h) and hands completions back from poll().
 *
 * Requests wait in their session's FIFO only while the ring is full or a
 * staged copy (a region without a file) is feeding its chunks: stream
 * order is kept without the engine thread ever waiting. When the worker
 * dies, everything it held completes with VGPU_S_BACKEND (device lost),
 * its sessions answer VGPU_S_BACKEND until the engine closes them, and
 * the next session_open starts a new worker.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
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

void cb_local_complete(struct backend_cuda *b, uint32_t t, struct be_req *r,
		       uint32_t status, uint64_t result)
{
	uint64_t one = 1;

	r->status = status;
	r->result = result;
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
	for (uint32_t i = 0; i < b->cfg.max_sessions; i++) {
		struct cb_sess *s = &b->sess[i];

		if (s->id == id &&
		    (s->state == CB_S_OPEN || s->state == CB_S_DEAD))
			return s;
	}
	return NULL;
}

static uint32_t slot_of(struct backend_cuda *b, struct cb_sess *s)
{
	return (uint32_t)(s - b->sess);
}

/* Push what the FIFO holds, in order (the session's lock held). */
void cb_flush(struct backend_cuda *b, struct cb_sess *s)
{
	uint32_t pos = s->req.pos;

	while (s->head != CB_NONE && !s->stage_busy && s->state != CB_S_DEAD) {
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
			k->state = CB_TOK_STAGING;
			cb_local_complete(b, t, k->r, VGPU_S_INVALID, 0);
			continue;
		}
		if (!k->r)
			cb_tok_release(b, t);
		else
			k->state = CB_TOK_WORKER;
	}
	/* what went in, a part of a module image included */
	if (s->req.pos != pos)
		cb_wire_publish(s);
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
	uint32_t t = tok_alloc(b, NULL, slot_of(b, s));

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

static void sess_reset(struct backend_cuda *b, struct cb_sess *s, uint32_t slot)
{
	uint8_t *base = (uint8_t *)b->shm + b->shm->sess_off +
			(uint64_t)slot * b->shm->sess_stride;

	s->shm = (struct cw_sess_shm *)base;
	memset(s->shm, 0, sizeof(*s->shm));
	cw_prod_init(&s->req, &s->shm->req, base + sizeof(struct cw_sess_shm),
		     b->cfg.req_bytes);
	cw_cons_init(&s->cpl, &s->shm->cpl,
		     base + sizeof(struct cw_sess_shm) + b->cfg.req_bytes,
		     b->cfg.cpl_bytes);
	s->stage =
		b->stage + (uint64_t)slot * b->cfg.nslots * b->cfg.slot_bytes;
	s->head = s->tail = CB_NONE;
	s->stage_busy = false;
	s->nregions = 0;
	s->epoch = b->epoch;
}

static int worker_start(struct backend_cuda *b);

static int cuda_session_open(struct backend *be, uint32_t id)
{
	struct backend_cuda *b = cb(be);
	struct cw_msg m = { .magic = CW_MAGIC, .type = CW_MSG_SESSION_OPEN };
	uint32_t slot, open = 0;
	struct cb_sess *s = NULL;
	uint64_t fr;

	if (b->sock < 0 && worker_start(b) < 0)
		return -EIO;
	for (slot = 0; slot < b->cfg.max_sessions; slot++) {
		if (b->sess[slot].state == CB_S_FREE && !s)
			s = &b->sess[slot];
		else if (b->sess[slot].state != CB_S_FREE)
			open++;
	}
	if (!s)
		return -EMFILE;
	fr = __atomic_load_n(&b->shm->dev_free, __ATOMIC_RELAXED);
	if (open && fr < b->be.session_overhead)
		return -ENOSPC;
	slot = slot_of(b, s);
	sess_reset(b, s, slot);
	m.slot = slot;
	if (cb_send_msg(b->sock, &m, sizeof(m), NULL, 0) < 0)
		return -EIO;
	s->id = id;
	s->state = CB_S_OPEN;
	return 0;
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
	if (s->state == CB_S_OPEN && b->sock >= 0) {
		s->state = CB_S_CLOSING;
		internal(b, s, CB_I_CLOSE, 0);
	} else {
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
	send = r->fd >= 0 && !b->o.stage_all && s->state == CB_S_OPEN &&
	       r->len <= b->cfg.pinned_limit - b->pinned;
	if (send) {
		m.slot = slot_of(b, s);
		m.id = r->id;
		m.len = r->len;
		m.off = r->fd_off;
		send = cb_send_msg(b->sock, &m, sizeof(m), &r->fd, 1) == 0;
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

static void cuda_submit(struct backend *be, struct be_req *r)
{
	struct backend_cuda *b = cb(be);
	struct cb_sess *s = sess_find(b, r->session);
	uint32_t t;

	if (!s) {
		cb_local_complete(b, CB_NONE, r, VGPU_S_INVALID, 0);
		return;
	}
	if (s->state == CB_S_DEAD) {
		cb_local_complete(b, CB_NONE, r, VGPU_S_BACKEND, 0);
		return;
	}
	if (r->op == VGPU_OP_DEVICE_INFO) {
		if (r->devinfo)
			*r->devinfo = b->devinfo;
		cb_local_complete(b, CB_NONE, r, VGPU_S_OK, 0);
		return;
	}
	t = tok_alloc(b, r, slot_of(b, s));
	if (t == CB_NONE) {
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

/* ---- the worker's death ---- */

static void fail_tokens(struct backend_cuda *b, uint32_t slot)
{
	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++) {
		struct cb_tok *k = &b->tok[t];

		if (k->slot != slot ||
		    (k->state != CB_TOK_PENDING && k->state != CB_TOK_WORKER))
			continue;
		if (k->r) {
			k->state = CB_TOK_STAGING; /* completes locally */
			cb_local_complete(b, t, k->r, VGPU_S_BACKEND, 0);
		} else {
			cb_tok_release(b, t);
		}
	}
}

static bool drain(struct backend_cuda *b, struct cb_sess *s);

static void worker_died(struct backend_cuda *b, const char *why, bool malformed)
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

static int worker_start(struct backend_cuda *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sock = cb_spawn(b);

	if (sock < 0) {
		cb_log(b, LOG_ERR, "cannot start a CUDA worker: %s",
		       strerror(-sock));
		return sock;
	}
	if (cb_send_config(b, sock) < 0) {
		close(sock);
		return -EIO;
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
	    k->slot != slot_of(b, s) || !k->r)
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

static void deliver_local(struct backend_cuda *b)
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
		b->be.complete(b->be.ctx, d[i].r);
	}
	free(d);
}

static void check_worker(struct backend_cuda *b)
{
	char why[256];
	int rc;

	if (b->sock < 0)
		return;
	if (!b->hello) {
		rc = cb_read_hello(b, why, sizeof(why));
		if (rc < 0)
			worker_died(b, why, false);
		if (rc != 0)
			return;
	}
	/* after hello the worker sends nothing: readable means gone */
	if (b->hello && recv(b->sock, why, sizeof(why), MSG_DONTWAIT) >= 0)
		worker_died(b, "it closed its socket", false);
	else if (b->hello && errno != EAGAIN && errno != EWOULDBLOCK)
		worker_died(b, strerror(errno), false);
}

/* Drain what every live session's ring holds; false if the worker
 * wrote something malformed. */
static bool drain_all(struct backend_cuda *b)
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

static void cuda_poll(struct backend *be)
{
	struct backend_cuda *b = cb(be);
	struct epoll_event ev[2];
	int n = epoll_wait(b->ep_fd, ev, 2, 0);
	uint64_t v;

	/* one system call tells which of the two needs one more */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == b->notify_fd &&
		    read(b->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			cb_log(b, LOG_WARNING, "notify: %s", strerror(errno));
	}
	/* what a worker finished before it died still counts */
	if (b->sock >= 0 && !drain_all(b))
		worker_died(b, "it wrote a malformed completion", true);
	for (int i = 0; i < n; i++)
		if (b->sock >= 0 && ev[i].data.fd == b->sock)
			check_worker(b);
	deliver_local(b);
}

/* ---- setup and teardown ---- */

static void cuda_destroy(struct backend *be)
{
	struct backend_cuda *b = cb(be);
	struct cw_msg m = { .magic = CW_MAGIC, .type = CW_MSG_EXIT };

	if (b->sock >= 0) {
		cb_send_msg(b->sock, &m, sizeof(m), NULL, 0);
		close(b->sock);
	}
	__atomic_fetch_add(&b->epoch, 1, __ATOMIC_SEQ_CST);
	cb_stage_stop(b);
	for (uint32_t i = 0; i < CW_MAX_SESSIONS; i++) {
		free(b->sess[i].regions);
		pthread_mutex_destroy(&b->sess[i].lock);
	}
	if (b->shm)
		munmap(b->shm, b->shm_len);
	if (b->stage)
		munmap(b->stage, b->stage_len);
	if (b->shm_fd >= 0)
		close(b->shm_fd);
	if (b->stage_fd >= 0)
		close(b->stage_fd);
	if (b->notify_fd >= 0)
		close(b->notify_fd);
	if (b->ep_fd >= 0)
		close(b->ep_fd);
	free(b->tok);
	free(b->done);
	pthread_mutex_destroy(&b->done_lock);
	free(b);
}

static const struct backend_ops cuda_ops = {
	.name = "cuda",
	.session_open = cuda_session_open,
	.session_close = cuda_session_close,
	.region_add = cuda_region_add,
	.region_del = cuda_region_del,
	.submit = cuda_submit,
	.poll_fd = cuda_poll_fd,
	.poll = cuda_poll,
	.destroy = cuda_destroy,
};

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static void configure(struct backend_cuda *b, const struct cuda_be_opts *o)
{
	struct cw_config *c = &b->cfg;

	c->magic = CW_MAGIC;
	c->type = CW_MSG_CONFIG;
	c->version = CW_VERSION;
	c->max_sessions = or_default(o->max_sessions, 16);
	if (c->max_sessions > CW_MAX_SESSIONS)
		c->max_sessions = CW_MAX_SESSIONS;
	c->req_bytes = 256u << 10;
	c->cpl_bytes = 64u << 10;
	c->nslots = or_default(o->nslots, 8);
	if (c->nslots > CW_MAX_SLOTS)
		c->nslots = CW_MAX_SLOTS;
	c->slot_bytes = (or_default(o->slot_bytes, 2u << 20) + 4095) & ~4095u;
	c->pinned_limit = o->pinned_limit ? o->pinned_limit : 4ull << 30;
	c->module_limit = o->module_limit ? o->module_limit : 256ull << 20;
	c->timeout_ms = o->timeout_ms;
	c->spin_us = or_default(o->spin_us, 50);
	c->hang_ms = or_default(o->hang_ms, 30000);
	c->flags = o->no_zero ? CW_CFG_NO_ZERO : 0;
	snprintf(c->gpu, sizeof(c->gpu), "%s", o->gpu ? o->gpu : "");
	if (o->cache_dir && *o->cache_dir)
		cb_cache_path(c->cache_dir, sizeof(c->cache_dir), o->cache_dir,
			      b->vm);
	c->shm_bytes =
		cw_sess_off() +
		c->max_sessions * cw_sess_stride(c->req_bytes, c->cpl_bytes);
	c->staging_bytes =
		(uint64_t)c->max_sessions * c->nslots * c->slot_bytes;
}

static int map_memfd(const char *name, uint64_t len, int *fd, void **va)
{
	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)len) < 0)
		return -errno;
	*va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*va == MAP_FAILED) {
		*va = NULL;
		return -errno;
	}
	return 0;
}

static int setup(struct backend_cuda *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	rc = map_memfd("vgpu-cuda-shm", b->cfg.shm_bytes, &b->shm_fd,
		       (void **)&b->shm);
	if (rc == 0)
		rc = map_memfd("vgpu-cuda-staging", b->cfg.staging_bytes,
			       &b->stage_fd, (void **)&b->stage);
	if (rc < 0)
		return rc;
	b->shm_len = b->cfg.shm_bytes;
	b->stage_len = b->cfg.staging_bytes;
	b->shm->magic = CW_MAGIC;
	b->shm->version = CW_VERSION;
	b->shm->max_sessions = b->cfg.max_sessions;
	b->shm->req_bytes = b->cfg.req_bytes;
	b->shm->cpl_bytes = b->cfg.cpl_bytes;
	b->shm->sess_off = cw_sess_off();
	b->shm->sess_stride =
		cw_sess_stride(b->cfg.req_bytes, b->cfg.cpl_bytes);
	b->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (b->notify_fd < 0 || b->ep_fd < 0)
		return -errno;
	ev.data.fd = b->notify_fd;
	if (epoll_ctl(b->ep_fd, EPOLL_CTL_ADD, b->notify_fd, &ev) < 0)
		return -errno;
	b->tok = calloc(CB_MAX_TOKENS, sizeof(*b->tok));
	if (!b->tok)
		return -ENOMEM;
	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++)
		b->tok[t].next = t + 1 < CB_MAX_TOKENS ? t + 1 : CB_NONE;
	b->tok_free = 0;
	return cb_stage_start(b);
}

/* The device as a session sees it: ours, checked, with the VM's quota. */
static void take_devinfo(struct backend_cuda *b)
{
	struct vgpu_device_info *d = &b->devinfo;

	memcpy(d, &b->shm->devinfo, sizeof(*d));
	d->name[sizeof(d->name) - 1] = '\0';
	if (d->nattrs > VGPU_ATTRS_MAX)
		d->nattrs = VGPU_ATTRS_MAX;
	memset(d->backend, 0, sizeof(d->backend));
	memcpy(d->backend, "cuda", 4);
	if (b->o.quota && b->o.quota < d->total_mem)
		d->total_mem = b->o.quota;
}

struct backend *backend_cuda_create(const struct cuda_be_opts *o, char *err,
				    size_t errlen)
{
	struct backend_cuda *b = calloc(1, sizeof(*b));
	int rc;

	if (!b) {
		snprintf(err, errlen, "CUDA backend: no memory");
		return NULL;
	}
	b->o = *o;
	b->log = o->log;
	b->sock = -1;
	b->shm_fd = b->stage_fd = b->notify_fd = b->ep_fd = -1;
	snprintf(b->vm, sizeof(b->vm), "%s", o->vm ? o->vm : "vm");
	b->o.vm = b->vm;
	b->o.gpu = NULL;
	b->o.cache_dir = NULL;
	b->be.ops = &cuda_ops;
	pthread_mutex_init(&b->done_lock, NULL);
	for (uint32_t i = 0; i < CW_MAX_SESSIONS; i++)
		pthread_mutex_init(&b->sess[i].lock, NULL);
	configure(b, o);
	rc = setup(b);
	if (rc < 0) {
		snprintf(err, errlen, "CUDA backend: %s", strerror(-rc));
		cuda_destroy(&b->be);
		return NULL;
	}
	rc = worker_start(b);
	if (rc == 0)
		rc = cb_wait_hello(b, or_default(o->hello_ms, 60000), err,
				   errlen);
	else
		snprintf(err, errlen, "cannot start the CUDA worker: %s",
			 strerror(-rc));
	if (rc < 0) {
		cuda_destroy(&b->be);
		return NULL;
	}
	take_devinfo(b);
	cb_log(b, LOG_INFO,
	       "CUDA backend for %s: %s, %llu MiB for this VM, a session costs %llu MiB",
	       b->vm, b->devinfo.name,
	       (unsigned long long)(b->devinfo.total_mem >> 20),
	       (unsigned long long)(b->be.session_overhead >> 20));
	return &b->be;
}

int backend_cuda_parse(const char *spec, const char **gpu)
{
	if (strcmp(spec, "cuda") == 0) {
		*gpu = NULL;
		return 0;
	}
	if (strncmp(spec, "cuda:", 5) == 0 && spec[5]) {
		*gpu = spec + 5;
		return 0;
	}
	return -1;
}

int backend_cuda_worker_pid(struct backend *be)
{
	return cb(be)->worker_pid;
}
