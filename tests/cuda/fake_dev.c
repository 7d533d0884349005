// SPDX-License-Identifier: MIT
/*
 * The guest core's fake session queue; see fake_dev.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fake_dev.h"

#define FAKE_DEFAULT_DEPTH 64u
#define FAKE_DEFAULT_POOL (1u << 20)
#define FAKE_POOL_REGION 1u

/* test_kernels.cuh's kernels that the registration test launches, with
 * the x86-64 CUDA parameter layout (what cuFuncGetParamInfo says). */
static const struct {
	const char *name;
	uint32_t n, bytes;
	struct vgpu_param p[8];
} known[] = {
	{ "_Z7vec_addPKfS0_Pfi",
	  4,
	  28,
	  { { 0, 8 }, { 8, 8 }, { 16, 8 }, { 24, 4 } } },
	{ "_Z12mixed_paramscsixfdhPx",
	  8,
	  48,
	  { { 0, 1 },
	    { 2, 2 },
	    { 4, 4 },
	    { 8, 8 },
	    { 16, 4 },
	    { 24, 8 },
	    { 32, 1 },
	    { 40, 8 } } },
	{ "_Z8add_biasPKiPii", 3, 20, { { 0, 8 }, { 8, 8 }, { 16, 4 } } },
};

static void logf_(struct vgpu_tr *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(struct vgpu_tr *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->log)
		return;
	va_start(ap, fmt);
	vfprintf(f->log, fmt, ap);
	va_end(ap);
	fflush(f->log);
}

struct done {
	uint16_t cid;
	int status;
	uint64_t result;
};

static void post(struct vgpu_tr *f, const struct done *d)
{
	struct vgpu_cqe *c = &f->cq[f->cq_tail & (f->depth - 1)];
	uint16_t phase = (f->cq_tail / f->depth) & 1 ? 0 : VGPU_CQE_PHASE;

	c->result = d->result;
	c->cid = d->cid;
	c->rsvd = 0;
	__atomic_store_n(&c->status, (uint16_t)(d->status << 1 | phase),
			 __ATOMIC_RELEASE);
	f->cq_tail++;
}

/* Host bytes a command names: the pool or a region. */
static uint8_t *host(struct vgpu_tr *f, uint32_t region, uint64_t off,
		     uint64_t len)
{
	unsigned i;

	if (region == FAKE_POOL_REGION)
		return off <= f->pool_len && len <= f->pool_len - off ?
			       f->pool + off :
			       NULL;
	for (i = 0; i < FAKE_REGIONS; i++) {
		struct fake_region *r = &f->region[i];

		if (r->va && r->id == region && off <= r->len &&
		    len <= r->len - off)
			return r->va + off;
	}
	return NULL;
}

static uint8_t *dev(struct vgpu_tr *f, uint64_t dptr, uint64_t len)
{
	unsigned i;

	for (i = 0; i < FAKE_ALLOCS; i++) {
		struct fake_alloc *a = &f->alloc[i];

		if (a->mem && dptr >= a->dptr && dptr - a->dptr <= a->len &&
		    len <= a->len - (dptr - a->dptr))
			return a->mem + (dptr - a->dptr);
	}
	return NULL;
}

static int mem_alloc(struct vgpu_tr *f, uint64_t len, uint64_t *r)
{
	unsigned i;

	for (i = 0; i < FAKE_ALLOCS; i++) {
		struct fake_alloc *a = &f->alloc[i];

		if (a->mem)
			continue;
		a->mem = calloc(1, len);
		if (!a->mem)
			return VGPU_S_NO_MEMORY;
		a->len = len;
		a->dptr = f->next_dptr;
		f->next_dptr += (len + 0xffff) & ~(uint64_t)0xffff;
		*r = a->dptr;
		return VGPU_S_OK;
	}
	return VGPU_S_NO_MEMORY;
}

static int mem_free(struct vgpu_tr *f, uint64_t dptr)
{
	unsigned i;

	for (i = 0; i < FAKE_ALLOCS; i++) {
		if (f->alloc[i].mem && f->alloc[i].dptr == dptr) {
			free(f->alloc[i].mem);
			f->alloc[i].mem = NULL;
			return VGPU_S_OK;
		}
	}
	return VGPU_S_BAD_ADDRESS;
}

static int copy(struct vgpu_tr *f, const struct vgpu_sqe *e)
{
	uint8_t *h = host(f, e->copy.region, e->copy.offset, e->copy.len);
	uint8_t *d = dev(f, e->copy.dptr, e->copy.len);

	if (!h || !d)
		return VGPU_S_BAD_ADDRESS;
	if (e->opcode == VGPU_OP_COPY_H2D)
		memcpy(d, h, e->copy.len);
	else
		memcpy(h, d, e->copy.len);
	return VGPU_S_OK;
}

static int func_get(struct vgpu_tr *f, uint8_t *out, uint64_t *r)
{
	struct vgpu_func_info fi = f->layout;
	unsigned i;

	*r = 11;
	if (!fi.nparams && !fi.param_bytes) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(known[i].name, f->last_name))
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return VGPU_S_NOT_FOUND;
		fi.nparams = known[i].n;
		fi.param_bytes = known[i].bytes;
		memcpy(fi.param, known[i].p, sizeof(known[i].p));
		fi.fattr[0] =
			1024; /* CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK */
		*r = 20 + i;
	}
	memcpy(out, &fi, sizeof(fi));
	return VGPU_S_OK;
}

static int buf_cmd(struct vgpu_tr *f, const struct vgpu_sqe *e, uint64_t *r)
{
	const struct vgpu_cmd_buf *b = &e->buf;
	uint8_t *in = host(f, b->region, b->in_off, b->in_len);
	uint8_t *out = host(f, b->region, b->out_off, b->out_len);
	struct vgpu_device_info di = { .name = "fake", .cc_major = 9 };

	if ((b->in_len && !in) || (b->out_len && !out))
		return VGPU_S_BAD_ADDRESS;
	switch (e->opcode) {
	case VGPU_OP_MODULE_LOAD:
		f->image_len = b->in_len;
		memcpy(&f->image_magic, in, 4);
		logf_(f, "MODULE_LOAD magic=%08x len=%llu\n", f->image_magic,
		      (unsigned long long)b->in_len);
		*r = 7;
		return VGPU_S_OK;
	case VGPU_OP_FUNC_GET:
		if (b->in_len > VGPU_NAME_MAX ||
		    b->out_len != sizeof(f->layout))
			return VGPU_S_INVALID;
		memcpy(f->last_name, in, b->in_len);
		f->last_name[b->in_len] = '\0';
		logf_(f, "FUNC_GET %s\n", f->last_name);
		return func_get(f, out, r);
	case VGPU_OP_GLOBAL_GET:
		logf_(f, "GLOBAL_GET %.*s\n", (int)b->in_len, (const char *)in);
		if (b->in_len != 6 || memcmp(in, "g_bias", 6) ||
		    b->out_len != sizeof(struct vgpu_global_info))
			return VGPU_S_NOT_FOUND;
		if (!f->g_bias && mem_alloc(f, 4, &f->g_bias))
			return VGPU_S_NO_MEMORY;
		memcpy(out, &(struct vgpu_global_info){ f->g_bias, 4 },
		       b->out_len);
		*r = f->g_bias;
		return VGPU_S_OK;
	case VGPU_OP_DEVICE_INFO:
		if (b->out_len != sizeof(di))
			return VGPU_S_INVALID;
		di.total_mem = 1u << 30;
		di.nattrs = 2;
		di.attr[1] = 1024;
		memcpy(out, &di, sizeof(di));
		return VGPU_S_OK;
	}
	return VGPU_S_INVALID;
}

static int launch(struct vgpu_tr *f, const struct vgpu_sqe *e)
{
	const struct vgpu_cmd_launch *l = &e->launch;
	uint32_t i, n = l->param_len;
	int inj = f->inject;

	f->last_launch = *l;
	f->launches++;
	/* the parameters follow in the next slots, wrapping */
	for (i = 0; i < n; i += sizeof(struct vgpu_sqe)) {
		uint32_t k = n - i < sizeof(struct vgpu_sqe) ?
				     n - i :
				     sizeof(struct vgpu_sqe);

		memcpy(f->last_params + i,
		       &f->sq[f->sq_head++ & (f->depth - 1)], k);
	}
	f->inject = 0;
	if (inj == VGPU_S_FAULT)
		f->lost = true;
	logf_(f, "LAUNCH func=%u grid=%u,%u,%u block=%u,%u,%u shmem=%u params=",
	      l->func, l->grid[0], l->grid[1], l->grid[2], l->block[0],
	      l->block[1], l->block[2], l->shmem);
	for (i = 0; i < n; i++)
		logf_(f, "%02x", f->last_params[i]);
	logf_(f, "\n");
	return inj;
}

static int exec(struct vgpu_tr *f, const struct vgpu_sqe *e, uint64_t *r)
{
	*r = 0;
	if (f->lost)
		return VGPU_S_SESSION_LOST;
	switch (e->opcode) {
	case VGPU_OP_MEM_ALLOC:
		return mem_alloc(f, e->arg[0], r);
	case VGPU_OP_MEM_FREE:
		return mem_free(f, e->arg[0]);
	case VGPU_OP_COPY_H2D:
	case VGPU_OP_COPY_D2H:
		return copy(f, e);
	case VGPU_OP_MODULE_LOAD:
	case VGPU_OP_FUNC_GET:
	case VGPU_OP_GLOBAL_GET:
	case VGPU_OP_DEVICE_INFO:
		return buf_cmd(f, e, r);
	case VGPU_OP_LAUNCH:
		return launch(f, e);
	case VGPU_OP_STREAM_CREATE:
	case VGPU_OP_EVENT_CREATE:
		*r = 3;
		return VGPU_S_OK;
	case VGPU_OP_CTX_SYNC:
	case VGPU_OP_STREAM_SYNC:
	case VGPU_OP_EVENT_RECORD:
		return VGPU_S_OK;
	}
	return VGPU_S_INVALID;
}

/* Consume up to max entries (0: all); post the completions, reversed if
 * asked. Lock held. */
static void process(struct vgpu_tr *f, unsigned max)
{
	struct done d[256];
	unsigned n = 0, copies = 0, i;
	uint32_t tail = __atomic_load_n(&f->hdr->sq_tail.v, __ATOMIC_ACQUIRE);

	while (f->sq_head != tail && n < 256 && (!max || n < max)) {
		uint32_t cq_head =
			__atomic_load_n(&f->hdr->cq_head.v, __ATOMIC_ACQUIRE);
		struct vgpu_sqe e;
		int st;

		/* nothing runs before its completion has room */
		if (f->cq_tail + n + 1 - cq_head > f->depth)
			break;
		e = f->sq[f->sq_head++ & (f->depth - 1)];

		f->commands++;
		copies += e.opcode == VGPU_OP_COPY_H2D ||
			  e.opcode == VGPU_OP_COPY_D2H;
		st = exec(f, &e, &d[n].result);
		if (e.flags & VGPU_SQE_QUIET)
			f->quiet++;
		else if (!(e.cid & 0x8000))
			f->marks++;
		if (st == VGPU_S_OK && (e.flags & VGPU_SQE_QUIET))
			continue;
		d[n].cid = e.cid;
		d[n++].status = st;
	}
	__atomic_store_n(&f->hdr->sq_head.v, f->sq_head, __ATOMIC_RELEASE);
	if (copies > f->max_copies_batch)
		f->max_copies_batch = copies;
	if (f->bogus_cid) {
		f->bogus_cid = false;
		post(f, &(struct done){ .cid = 0x8000 | 63 });
	}
	for (i = 0; i < n; i++)
		post(f, &d[f->cfg.reverse ? n - 1 - i : i]);
}

static int f_open_abi(struct vgpu_tr_session *s, const struct vgpu_tr_params *p,
		      uint32_t abi)
{
	struct vgpu_tr *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->depth = p->sq_depth ? p->sq_depth : FAKE_DEFAULT_DEPTH;
	f->pool_len = p->pool_bytes ? p->pool_bytes : FAKE_DEFAULT_POOL;
	f->hdr = calloc(1, 4096);
	f->sq = calloc(f->depth, sizeof(*f->sq));
	f->cq = calloc(f->depth, sizeof(*f->cq));
	f->pool = calloc(1, f->pool_len);
	f->next_dptr = 0x700000000000ull;
	f->next_region = 2;
	f->hdr->dev_flags.v = VGPU_DEV_NEED_DOORBELL;
	if (getenv("FAKE_DEV_LOG"))
		f->log = fopen(getenv("FAKE_DEV_LOG"), "a");
	*s = (struct vgpu_tr_session){
		.session = 5,
		.depth = f->depth,
		.hdr = f->hdr,
		.sq = f->sq,
		.cq = f->cq,
		.pool_region = FAKE_POOL_REGION,
		.pool = f->pool,
		.pool_len = f->pool_len,
		.abi_version = abi,
		.features = VGPU_F_QUEUES | VGPU_F_MSI |
			    (abi >= 0x10002 ? VGPU_F_SESSIONS : 0),
		.tr = f,
		.ops = s->ops,
	};
	return 0;
}

static int f_open(struct vgpu_tr_session *s, const struct vgpu_tr_params *p)
{
	return f_open_abi(s, p, 0x10002);
}

static int f_open_old(struct vgpu_tr_session *s, const struct vgpu_tr_params *p)
{
	return f_open_abi(s, p, 0x10001);
}

static int f_doorbell(struct vgpu_tr_session *s)
{
	struct vgpu_tr *f = s->tr;

	pthread_mutex_lock(&f->lock);
	f->doorbells++;
	if (!f->cfg.lazy)
		process(f, 0);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int f_wait(struct vgpu_tr_session *s, uint32_t head, uint64_t timeout_ns)
{
	struct vgpu_tr *f = s->tr;
	uint32_t before;
	int rc = 0;

	(void)timeout_ns;
	pthread_mutex_lock(&f->lock);
	f->waits++;
	f->hdr->dev_flags.v = f->cfg.polling ? 0 : VGPU_DEV_NEED_DOORBELL;
	before = f->sq_head;
	process(f, f->cfg.per_wait);
	/* nothing will ever come: fail rather than hang the test */
	if (f->sq_head != before || f->cq_tail != head)
		f->idle_waits = 0;
	else if (++f->idle_waits > 1000)
		rc = -ENODEV;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int f_region_alloc(struct vgpu_tr_session *s, uint64_t bytes,
			  uint32_t *region, void **va, uint64_t *len)
{
	struct vgpu_tr *f = s->tr;
	unsigned i;

	for (i = 0; i < FAKE_REGIONS; i++) {
		struct fake_region *r = &f->region[i];

		if (r->va)
			continue;
		r->len = (bytes + 4095) & ~(uint64_t)4095;
		r->va = calloc(1, r->len);
		if (!r->va)
			return -ENOMEM;
		r->id = f->next_region++;
		*region = r->id;
		*va = r->va;
		*len = r->len;
		return 0;
	}
	return -ENOSPC;
}

static int f_region_free(struct vgpu_tr_session *s, uint32_t region, void *va,
			 uint64_t len)
{
	struct vgpu_tr *f = s->tr;
	unsigned i;

	(void)len;
	for (i = 0; i < FAKE_REGIONS; i++) {
		if (f->region[i].va == va && f->region[i].id == region) {
			free(f->region[i].va);
			f->region[i].va = NULL;
			return 0;
		}
	}
	return -EINVAL;
}

static void f_close(struct vgpu_tr_session *s)
{
	struct vgpu_tr *f = s->tr;
	unsigned i;

	for (i = 0; i < FAKE_ALLOCS; i++)
		free(f->alloc[i].mem);
	for (i = 0; i < FAKE_REGIONS; i++)
		free(f->region[i].va);
	free(f->hdr);
	free(f->sq);
	free(f->cq);
	free(f->pool);
	if (f->log)
		fclose(f->log);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const struct vgpu_tr_ops fake_tr_ops = {
	.name = "fake",
	.open = f_open,
	.doorbell = f_doorbell,
	.wait = f_wait,
	.region_alloc = f_region_alloc,
	.region_free = f_region_free,
	.close = f_close,
};

const struct vgpu_tr_ops fake_tr_ops_old = {
	.name = "fake-1.1",
	.open = f_open_old,
	.doorbell = f_doorbell,
	.wait = f_wait,
	.region_alloc = f_region_alloc,
	.region_free = f_region_free,
	.close = f_close,
};
