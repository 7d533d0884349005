// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command engine (engine.h): queues and their request pools, the
 * decoder that resolves a command's session and refuses what its queue
 * may not do, backend completions, and the polling that keeps doorbells
 * rare. The commands themselves live in session.c, region.c,
 * engine_mem.c, engine_module.c, engine_stream.c and engine_legacy.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_priv.h"

void engine_limits_default(struct engine_limits *l)
{
	*l = (struct engine_limits){
		.sessions = 16,
		.devmem = 256ull << 20,
		.pinned = 512ull << 20,
		.granted = 16ull << 20,
		.module_bytes = 16u << 20,
		.streams = 64,
		.events = 1024,
		.modules = 64,
		.funcs = 1024,
		.allocs = 4096,
		.regions = 64,
		.kernel_ms = 10000,
		.poll_us = 50,
	};
}

uint64_t eng_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool eng_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- request pools ---- */

static void pool_free(struct eng_pool *p)
{
	uint32_t i;

	for (i = 0; i < p->n; i++)
		free(p->reqs[i].scratch);
	free(p->reqs);
	free(p);
}

static struct eng_pool *pool_new(unsigned int qi, uint32_t n)
{
	struct eng_pool *p = calloc(1, sizeof(*p));
	uint32_t i;

	if (!p)
		return NULL;
	p->reqs = calloc(n, sizeof(*p->reqs));
	if (!p->reqs) {
		free(p);
		return NULL;
	}
	p->n = n;
	p->qi = qi;
	p->live = true;
	for (i = n; i-- > 0;) {
		p->reqs[i].pool = p;
		p->reqs[i].next_free = p->free;
		p->free = &p->reqs[i];
	}
	return p;
}

/* The queue's pool goes away: now, or once its requests came back. */
static void pool_retire(struct engine *en, unsigned int qi)
{
	struct eng_pool *p = en->pools[qi];

	en->pools[qi] = NULL;
	if (!p)
		return;
	p->live = false;
	if (p->inflight == 0) {
		pool_free(p);
		return;
	}
	p->next_zombie = en->zombies;
	en->zombies = p;
}

static void reap_zombies(struct engine *en)
{
	struct eng_pool **pp = &en->zombies;

	while (*pp) {
		struct eng_pool *p = *pp;

		if (p->inflight) {
			pp = &p->next_zombie;
			continue;
		}
		*pp = p->next_zombie;
		pool_free(p);
	}
}

struct eng_req *eng_req_get(struct cmd *c, eng_done_fn done)
{
	struct eng_pool *p = c->en->pools[c->qi];
	struct eng_req *r = p ? p->free : NULL;

	/* a CQ slot is reserved per request and the pool has one request
	 * per slot: this cannot run dry */
	if (!r)
		return NULL;
	if (!r->scratch) {
		r->scratch = malloc(ENGINE_SCRATCH);
		if (!r->scratch)
			return NULL;
	}
	p->free = r->next_free;
	p->inflight++;
	c->s->inflight++;
	memset(&r->br, 0, sizeof(r->br));
	r->br.owner = r;
	r->br.session = c->s->be_id;
	r->br.op = c->e->opcode;
	r->s = c->s;
	r->done = done;
	r->cid = c->e->cid;
	r->quiet = c->e->flags & VGPU_SQE_QUIET;
	r->slot = 0;
	r->aux = 0;
	r->region = NULL;
	r->out_region = NULL;
	return r;
}

static struct ring_ctx ctx_of(struct engine *en);

void eng_finish(struct engine *en, struct eng_req *r)
{
	struct eng_pool *p = r->pool;
	struct session *s = r->s;

	if (p->live) {
		struct ring_ctx c = ctx_of(en);

		ring_post(&en->q[p->qi], &c, r->cid, r->br.status, r->br.result,
			  r->quiet);
		en->rung |= 1u << p->qi; /* room again: look at the queue */
	}
	if (r->region)
		region_release(en, r->region);
	if (r->out_region)
		region_release(en, r->out_region);
	r->region = r->out_region = NULL;
	r->next_free = p->free;
	p->free = r;
	p->inflight--;
	if (!p->live && p->inflight == 0)
		reap_zombies(en);
	s->inflight--;
	sess_drained(en, s);
}

void eng_put_out(struct engine *en, struct eng_req *r, const void *src,
		 uint64_t len)
{
	struct eng_region *g = r->out_region;

	if (!g)
		return;
	if (len > r->out_len)
		len = r->out_len;
	memcpy(g->br.va + r->out_off, src, len);
	region_dirty(en, g, r->out_off, len);
}

enum ring_exec eng_submit(struct engine *en, struct eng_req *r)
{
	en->stats.submitted++;
	en->be->ops->submit(en->be, &r->br);
	return RING_ASYNC;
}

enum ring_exec eng_fail(struct cmd *c, uint32_t status)
{
	c->status = status;
	return RING_DONE;
}

static void on_complete(void *ctx, struct be_req *br)
{
	struct engine *en = ctx;
	struct eng_req *r = br->owner;

	if (r->done)
		r->done(en, r);
	if (br->status == VGPU_S_FAULT || br->status == VGPU_S_TIMEOUT)
		sess_lose(en, r->s, br->status);
	eng_finish(en, r);
}

/* ---- decoding ---- */

enum {
	F_PRIV = 1, /* names guest-physical memory: privileged queues only */
	F_V11 = 2, /* an ABI 1.1 command: the session field is reserved */
	F_NOSESS = 4, /* resolves its own session */
};

struct opdesc {
	enum ring_exec (*fn)(struct cmd *c);
	uint8_t flags;
};

static enum ring_exec op_nop(struct cmd *c)
{
	return eng_fail(c, eng_zero(c->e->bytes, sizeof(c->e->bytes)) ?
				   VGPU_S_OK :
				   VGPU_S_INVALID);
}

static const struct opdesc opdescs[256] = {
	[VGPU_OP_NOP] = { op_nop, 0 },
	[VGPU_OP_GET_INFO] = { legacy_get_info, F_PRIV | F_V11 },
	[VGPU_OP_SESSION_OPEN] = { sess_open, F_PRIV | F_NOSESS },
	[VGPU_OP_SESSION_CLOSE] = { sess_close, F_PRIV | F_NOSESS },
	[VGPU_OP_REGION_ADD] = { region_add, F_PRIV },
	[VGPU_OP_REGION_DEL] = { region_del, F_PRIV },
	[VGPU_OP_REGION_GRANT] = { region_grant, F_PRIV },
	[VGPU_OP_MEM_ALLOC] = { mem_alloc, 0 },
	[VGPU_OP_MEM_FREE] = { mem_free, 0 },
	[VGPU_OP_MEM_GET_INFO] = { mem_get_info, 0 },
	[VGPU_OP_MEMCPY_H2D] = { legacy_memcpy, F_PRIV | F_V11 },
	[VGPU_OP_MEMCPY_D2H] = { legacy_memcpy, F_PRIV | F_V11 },
	[VGPU_OP_COPY_H2D] = { mem_copy, 0 },
	[VGPU_OP_COPY_D2H] = { mem_copy, 0 },
	[VGPU_OP_COPY_D2D] = { mem_d2d, 0 },
	[VGPU_OP_MEMSET] = { mem_set, 0 },
	[VGPU_OP_MODULE_LOAD] = { mod_load, 0 },
	[VGPU_OP_MODULE_UNLOAD] = { mod_unload, 0 },
	[VGPU_OP_FUNC_GET] = { mod_symbol, 0 },
	[VGPU_OP_GLOBAL_GET] = { mod_symbol, 0 },
	[VGPU_OP_COMPUTE] = { legacy_compute, 0 },
	[VGPU_OP_LAUNCH] = { mod_launch, 0 },
	[VGPU_OP_STREAM_CREATE] = { stream_cmd, 0 },
	[VGPU_OP_STREAM_DESTROY] = { stream_cmd, 0 },
	[VGPU_OP_STREAM_SYNC] = { stream_cmd, 0 },
	[VGPU_OP_STREAM_WAIT_EVENT] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_CREATE] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_DESTROY] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_RECORD] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_QUERY] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_SYNC] = { stream_cmd, 0 },
	[VGPU_OP_EVENT_ELAPSED] = { stream_cmd, 0 },
	[VGPU_OP_CTX_SYNC] = { stream_cmd, 0 },
	[VGPU_OP_DEVICE_INFO] = { device_info, 0 },
};

/* The command's session: 0 or a VGPU_S_* code. */
static uint32_t resolve(struct cmd *c, uint8_t flags)
{
	const struct ring_queue *q = &c->en->q[c->qi];
	uint32_t sid = c->e->session;

	if (c->qi >= ENGINE_PRIV_QUEUES) {
		/* a session queue: the session comes from the queue */
		if (sid && sid != q->session)
			return VGPU_S_BAD_HANDLE;
		sid = q->session;
		if (!sid)
			return VGPU_S_BAD_HANDLE; /* bound to nothing */
	} else if ((flags & F_V11) && sid) {
		return VGPU_S_INVALID;
	}
	c->s = sess_lookup(c->en, sid);
	if (!c->s || c->s->state == SS_CLOSING)
		return VGPU_S_BAD_HANDLE;
	if (c->s->state == SS_LOST)
		return VGPU_S_SESSION_LOST;
	return 0;
}

static enum ring_exec exec(void *arg, struct ring_queue *q,
			   const struct vgpu_sqe *e, const uint8_t *params,
			   uint32_t plen, uint32_t *status, uint64_t *result)
{
	struct engine *en = arg;
	const struct opdesc *d = &opdescs[e->opcode];
	struct cmd c = { .en = en,
			 .qi = (unsigned int)(q - en->q),
			 .e = e,
			 .params = params,
			 .plen = plen };
	enum ring_exec r;
	uint32_t st = 0;

	en->stats.commands++;
	if (!d->fn || (e->flags & ~VGPU_SQE_QUIET))
		st = VGPU_S_INVALID;
	else if ((d->flags & F_PRIV) && c.qi >= ENGINE_PRIV_QUEUES)
		st = VGPU_S_PRIVILEGED;
	else if (!(d->flags & F_NOSESS))
		st = resolve(&c, d->flags);
	if (st) {
		*status = st;
		*result = 0;
		return RING_DONE;
	}
	r = d->fn(&c);
	if (r == RING_DONE) {
		*status = c.status;
		*result = c.status == VGPU_S_OK ? c.result : 0;
	}
	return r;
}

/* ---- queues ---- */

static struct ring_ctx ctx_of(struct engine *en)
{
	return (struct ring_ctx){
		.host = en->host,
		.log = en->log,
		.max_depth = 256,
		.bar_lo = en->bar_lo,
		.bar_len = en->bar_len,
		.exec = exec,
		.arg = en,
	};
}

void engine_set_bar(struct engine *en, uint64_t lo, uint64_t len)
{
	en->bar_lo = lo;
	en->bar_len = len;
}

int engine_queue_enable(struct engine *en, unsigned int qi)
{
	struct ring_ctx c = ctx_of(en);
	struct ring_queue *q = &en->q[qi];

	pool_retire(en, qi);
	en->hot &= ~(1u << qi);
	if (ring_enable(q, &c) < 0)
		return -1;
	en->pools[qi] = pool_new(qi, q->depth);
	if (!en->pools[qi]) {
		ring_disable(q, &c);
		q->error = VGPU_QERR_MAP;
		return -1;
	}
	return 0;
}

int engine_queue_adopt(struct engine *en, unsigned int qi)
{
	struct ring_queue *q = &en->q[qi];

	if (qi >= en->nq || !q->live || q->session)
		return -1;
	en->pools[qi] = pool_new(qi, q->depth);
	if (!en->pools[qi])
		return -1;
	/* look once: the guest may have rung before it was suspended */
	en->rung |= 1u << qi;
	return 0;
}

void engine_queue_disable(struct engine *en, unsigned int qi)
{
	struct ring_ctx c = ctx_of(en);
	struct ring_queue *q = &en->q[qi];
	struct session *s = q->session ? sess_lookup(en, q->session) : NULL;

	ring_disable(q, &c);
	pool_retire(en, qi);
	en->hot &= ~(1u << qi);
	en->rung &= ~(1u << qi);
	q->session = 0;
	if (s && s->queue == (int)qi) {
		s->queue = -1;
		sess_end(en, s);
	}
}

void engine_unmap(struct engine *en)
{
	struct ring_ctx c = ctx_of(en);
	unsigned int i;

	for (i = 0; i < en->nq; i++)
		ring_unmap(&en->q[i], &c);
}

bool engine_doorbell(struct engine *en, unsigned int qi, uint32_t tail)
{
	struct ring_ctx c = ctx_of(en);

	en->stats.doorbells++;
	if (qi >= en->nq || !ring_doorbell(&en->q[qi], &c, tail))
		return false;
	en->rung |= 1u << qi;
	return true;
}

bool engine_kick(struct engine *en)
{
	uint32_t live = 0;
	unsigned int qi;

	en->stats.kicks++;
	/* only queues with entries waiting (or unmapped since INVALIDATE:
	 * looked at anyway): an idle queue is not made hot by another's */
	for (qi = 0; qi < en->nq; qi++)
		if (ring_pending(&en->q[qi]))
			live |= 1u << qi;
	en->rung |= live;
	return live != 0;
}

/* Run queue @qi once; keep it hot while it has work, poll_us after. */
static void run_queue(struct engine *en, unsigned int qi, uint64_t now)
{
	struct ring_ctx c = ctx_of(en);
	struct ring_queue *q = &en->q[qi];
	uint32_t bit = 1u << qi, before = q->sq_head;
	bool rung = en->rung & bit;

	if (ring_process(q, &c))
		en->irq |= bit;
	if (!q->live || !en->lim.poll_us) {
		en->hot &= ~bit;
		return;
	}
	if (q->sq_head != before || rung) {
		if (!(en->hot & bit))
			ring_poll_start(q);
		en->hot |= bit;
		en->hot_until[qi] = now + en->lim.poll_us * 1000ull;
	} else if ((en->hot & bit) && now >= en->hot_until[qi] &&
		   !ring_poll_stop(q)) {
		en->hot &= ~bit; /* NEED_DOORBELL is set again */
	}
}

/* The device wrote @q's header (sq_head) or CQ since the last poll: tell
 * the host's log-dirty tracking, once per poll. */
static void queue_dirty(struct engine *en, unsigned int qi)
{
	struct ring_queue *q = &en->q[qi];
	struct host *h = en->host;

	if (q->completed == en->seen_completed[qi] &&
	    q->sq_head == en->seen_head[qi])
		return;
	en->seen_completed[qi] = q->completed;
	en->seen_head[qi] = q->sq_head;
	if (!h->ops->mark_dirty || !q->live)
		return;
	h->ops->mark_dirty(h, q->hdr_gpa, PAGE);
	h->ops->mark_dirty(h, q->cq_gpa, (uint64_t)q->cq_pages * PAGE);
}

bool engine_poll(struct engine *en, uint32_t *irq)
{
	uint64_t now = en->hot ? eng_now_ns() : 0;
	unsigned int i;

	en->be->ops->poll(en->be);
	if (en->rung && !now)
		now = eng_now_ns();
	for (i = 0; i < en->nq; i++) {
		uint32_t bit = 1u << i;
		struct ring_queue *q = &en->q[i];

		if ((en->rung | en->hot) & bit)
			run_queue(en, i, now);
		if (q->live && ring_irq_wanted(q))
			en->irq |= bit;
		queue_dirty(en, i);
	}
	en->rung = 0;
	*irq = en->irq;
	en->stats.irqs += (uint64_t)__builtin_popcount(en->irq);
	en->irq = 0;
	return en->hot != 0;
}

uint32_t engine_inflight(const struct engine *en)
{
	uint32_t n = 0;
	unsigned int i;

	for (i = 0; i < en->nq; i++) {
		const struct ring_queue *q = &en->q[i];

		if (!q->live)
			continue;
		n += q->cq_reserved;
		if (((en->rung | en->hot) & (1u << i)) && ring_pending(q))
			n++;
	}
	return n;
}

int engine_poll_fd(const struct engine *en)
{
	return en->be->ops->poll_fd(en->be);
}

const struct engine_limits *engine_limits(const struct engine *en)
{
	return &en->lim;
}

const struct engine_stats *engine_stats(const struct engine *en)
{
	return &en->stats;
}

void engine_reset(struct engine *en)
{
	unsigned int i;

	for (i = 0; i < en->nq; i++)
		engine_queue_disable(en, i);
	sess_reset_all(en);
	if (sess_open_legacy(en) < 0)
		log_err(en->log, "no legacy session after the reset");
}

struct engine *engine_create(struct host *h, struct backend *be,
			     struct logger *lg, const struct engine_limits *l,
			     struct ring_queue *q, unsigned int nq)
{
	struct engine *en = calloc(1, sizeof(*en));

	if (!en)
		return NULL;
	en->host = h;
	en->be = be;
	en->log = lg;
	en->lim = *l;
	en->q = q;
	en->nq = nq > VGPU_MAX_QUEUES_ABI ? VGPU_MAX_QUEUES_ABI : nq;
	be->complete = on_complete;
	be->ctx = en;
	be->kernel_ns_limit = l->kernel_ms * 1000000ull;
	if (sess_init_all(en) < 0 || sess_open_legacy(en) < 0) {
		sess_fini_all(en);
		free(en);
		return NULL;
	}
	return en;
}

void engine_destroy(struct engine *en)
{
	unsigned int i;

	if (!en)
		return;
	for (i = 0; i < en->nq; i++)
		engine_queue_disable(en, i);
	sess_fini_all(en);
	legacy_stage_fini(en);
	free(en);
}
