// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's proxy: requests as ring records for the worker, and
 * the worker's completions checked back into requests. Everything read
 * from the worker is checked: it runs guest code through a vendor driver.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend_cuda_int.h"

#define CB_CHUNK_MAX (64u << 10)

static uint32_t rec_len(uint64_t payload)
{
	return (uint32_t)((sizeof(struct cw_req) + payload + 15) & ~15ull);
}

/* A request record with room for @payload bytes, header filled. */
static struct cw_req *reserve(struct cb_sess *s, uint64_t payload, uint32_t op,
			      uint32_t stream, uint32_t token, uint32_t gen,
			      int *err)
{
	uint32_t len = rec_len(payload);
	struct cw_req *q = cw_prod_reserve(&s->req, len);

	if (q == CW_RING_BROKEN) {
		*err = -EPIPE;
		return NULL;
	}
	if (!q) {
		*err = -EAGAIN;
		return NULL;
	}
	memset(q, 0, sizeof(*q));
	q->h.len = len;
	q->h.type = CW_REC_REQ;
	q->h.token = token;
	q->h.gen = gen;
	q->op = op;
	q->stream = stream;
	if (s->profile)
		q->stamp = cw_now_ns();
	return q;
}

static void commit(struct cb_sess *s, struct cw_req *q)
{
	cw_prod_commit(&s->req, q->h.len);
}

void cb_wire_publish(struct backend_cuda *b, struct cb_sess *s)
{
	if (cw_prod_publish(&s->req)) {
		__atomic_fetch_add(&b->stats.wakes, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->shm->req.wake.v, 1, __ATOMIC_SEQ_CST);
		cw_futex_wake(&s->shm->req.wake.v);
	}
}

int cb_wire_stage(struct backend_cuda *b, struct cb_sess *s, uint32_t op,
		  uint32_t stream, uint32_t token, uint32_t gen, uint32_t slot,
		  uint64_t dptr, uint64_t len)
{
	int err = 0;
	struct cw_req *q = reserve(s, 0, op, stream, token, gen, &err);

	(void)b;
	if (!q)
		return err;
	q->a[0] = dptr;
	q->a[2] = len;
	q->u[0] = slot;
	commit(s, q);
	return 0;
}

/* MODULE_LOAD: the image in chunks, the first one in the LOAD record. */
static int push_module(struct backend_cuda *b, struct cb_sess *s,
		       struct cb_tok *t, uint32_t token)
{
	const struct be_req *r = t->r;
	uint32_t max = b->cfg.req_bytes / 4 < CB_CHUNK_MAX ?
			       b->cfg.req_bytes / 4 :
			       CB_CHUNK_MAX;
	int err = 0;

	do {
		uint64_t n = r->module.len - t->progress;
		struct cw_req *q;

		if (n > max)
			n = max;
		q = reserve(s, n,
			    t->progress ? CW_OP_MODULE_DATA :
					  VGPU_OP_MODULE_LOAD,
			    0, token, t->gen, &err);
		if (!q)
			return err;
		q->a[0] = r->module.len;
		q->a[1] = t->progress;
		q->u[0] = (uint32_t)n;
		memcpy(q + 1, (const uint8_t *)r->module.image + t->progress,
		       n);
		commit(s, q);
		t->progress += n;
	} while (t->progress < r->module.len);
	return 0;
}

static int push_internal(struct backend_cuda *b, struct cb_sess *s,
			 struct cb_tok *t)
{
	static const uint32_t ops[] = { [CB_I_REGION_REG] = CW_OP_REGION_REG,
					[CB_I_REGION_UNREG] =
						CW_OP_REGION_UNREG,
					[CB_I_CLOSE] = CW_OP_SESSION_CLOSE };
	int err = 0;
	struct cw_req *q = reserve(s, 0, ops[t->internal], 0, 0, 0, &err);

	(void)b;
	if (!q)
		return err;
	q->u[0] = t->arg;
	commit(s, q);
	return 0;
}

static int push_named(struct cb_sess *s, const struct be_req *r, uint32_t token,
		      uint32_t gen)
{
	size_t n = strnlen(r->sym.name, VGPU_NAME_MAX + 1);
	int err = 0;
	struct cw_req *q;

	if (n == 0 || n > VGPU_NAME_MAX)
		return -EINVAL;
	q = reserve(s, n + 1, r->op, 0, token, gen, &err);
	if (!q)
		return err;
	q->u[0] = r->sym.module;
	q->u[1] = (uint32_t)n;
	memcpy(q + 1, r->sym.name, n + 1);
	commit(s, q);
	return 0;
}

static int push_launch(struct cb_sess *s, const struct be_req *r,
		       uint32_t token, uint32_t gen)
{
	int err = 0;
	struct cw_req *q;

	if (r->launch.param_len > VGPU_PARAM_MAX)
		return -EINVAL;
	q = reserve(s, r->launch.param_len, r->op, r->stream, token, gen, &err);
	if (!q)
		return err;
	q->u[0] = r->launch.func;
	memcpy(&q->u[1], r->launch.grid, sizeof(r->launch.grid));
	memcpy(&q->u[4], r->launch.block, sizeof(r->launch.block));
	q->u[7] = r->launch.shmem;
	q->a[0] = r->launch.param_len;
	if (r->launch.param_len)
		memcpy(q + 1, r->launch.params, r->launch.param_len);
	commit(s, q);
	return 0;
}

/* The fixed-size requests. */
static void fill(struct cw_req *q, const struct be_req *r)
{
	switch (r->op) {
	case VGPU_OP_MEM_ALLOC:
		q->a[0] = r->mem.bytes;
		break;
	case VGPU_OP_MEM_FREE:
		q->a[0] = r->mem.dptr;
		break;
	case VGPU_OP_COPY_H2D:
	case VGPU_OP_COPY_D2H:
		q->a[0] = r->copy.dptr;
		q->a[1] = r->copy.offset;
		q->a[2] = r->copy.len;
		q->u[0] = r->copy.region->id;
		break;
	case VGPU_OP_COPY_D2D:
		q->a[0] = r->d2d.dst;
		q->a[1] = r->d2d.src;
		q->a[2] = r->d2d.len;
		break;
	case VGPU_OP_MEMSET:
		q->a[0] = r->memset.dptr;
		q->a[1] = r->memset.count;
		q->u[0] = r->memset.value;
		q->u[1] = r->memset.elem;
		break;
	case VGPU_OP_MODULE_UNLOAD:
		q->u[0] = r->module.module;
		break;
	case VGPU_OP_COMPUTE:
		q->u[0] = r->compute.kernel;
		q->a[0] = r->compute.dst;
		q->a[1] = r->compute.src;
		q->a[2] = r->compute.len;
		break;
	default: /* streams and events */
		q->u[0] = r->obj.obj;
		q->u[1] = r->obj.obj2;
		q->u[2] = r->obj.flags;
		break;
	}
}

/* The stream a request runs on: r->stream; STREAM_SYNC and
 * STREAM_WAIT_EVENT name theirs in obj.obj in the ABI, which an engine
 * may pass through there instead. */
static uint32_t stream_of(const struct be_req *r)
{
	if (r->stream == 0 && (r->op == VGPU_OP_STREAM_SYNC ||
			       r->op == VGPU_OP_STREAM_WAIT_EVENT))
		return r->obj.obj;
	return r->stream;
}

int cb_wire_push(struct backend_cuda *b, struct cb_sess *s, uint32_t t)
{
	struct cb_tok *k = &b->tok[t];
	const struct be_req *r = k->r;
	int err = 0;
	struct cw_req *q;

	if (!r)
		return push_internal(b, s, k);
	switch (r->op) {
	case VGPU_OP_MODULE_LOAD:
		return push_module(b, s, k, t + 1);
	case VGPU_OP_FUNC_GET:
	case VGPU_OP_GLOBAL_GET:
		return push_named(s, r, t + 1, k->gen);
	case VGPU_OP_LAUNCH:
		return push_launch(s, r, t + 1, k->gen);
	}
	q = reserve(s, 0, r->op, stream_of(r), t + 1, k->gen, &err);
	if (!q)
		return err;
	fill(q, r);
	commit(s, q);
	return 0;
}

static uint32_t func_info(struct be_req *r, const struct cw_cpl *c,
			  uint32_t plen)
{
	const struct vgpu_func_info *fi = (const void *)(c + 1);
	uint32_t n, bytes;

	if (plen < CW_FUNC_INFO_BYTES(0))
		return VGPU_S_BACKEND;
	memcpy(&n, &fi->nparams, 4);
	memcpy(&bytes, &fi->param_bytes, 4);
	if (n > VGPU_PARAMS_MAX || plen < CW_FUNC_INFO_BYTES(n) ||
	    bytes > VGPU_PARAM_MAX)
		return VGPU_S_BACKEND;
	memset(r->sym.info, 0, sizeof(*r->sym.info));
	memcpy(r->sym.info, fi, CW_FUNC_INFO_BYTES(n));
	for (uint32_t i = 0; i < n; i++) {
		const struct vgpu_param *p = &r->sym.info->param[i];

		if (p->offset > bytes || p->size > bytes - p->offset)
			return VGPU_S_BACKEND;
	}
	return VGPU_S_OK;
}

uint32_t cb_wire_result(struct be_req *r, const struct cw_cpl *c, uint32_t len)
{
	uint32_t plen = len - (uint32_t)sizeof(*c);

	if (c->status > VGPU_S_PRIVILEGED)
		return VGPU_S_BACKEND;
	r->result = c->result;
	if (c->status != VGPU_S_OK)
		return c->status;
	if (r->op == VGPU_OP_FUNC_GET)
		return r->sym.info ? func_info(r, c, plen) : VGPU_S_OK;
	if (r->op == VGPU_OP_GLOBAL_GET && r->sym.global) {
		if (plen < sizeof(*r->sym.global))
			return VGPU_S_BACKEND;
		memcpy(r->sym.global, c + 1, sizeof(*r->sym.global));
		if (r->sym.global->dptr != c->result)
			return VGPU_S_BACKEND;
	}
	return VGPU_S_OK;
}
