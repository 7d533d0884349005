// SPDX-License-Identifier: MIT
/*
 * Copies and memset. Pinned host memory (the pool, regions) goes to the
 * device straight by (region, offset); ordinary memory is staged through
 * the pool's staging chunks, pipelined: the CPU fills chunk i+1 (H2D) or
 * drains chunk i-1 (D2H) while the device moves chunk i. A small copy
 * gets smaller chunks (at least 4 in flight); a large one runs its CPU
 * copies on several threads (core_copier.c), each with its own chunks.
 */
#include <string.h>

#include "core_priv.h"

static void copy_entry(struct vgpu_sqe *e, uint8_t op, uint64_t dptr,
		       uint32_t region, uint64_t off, uint64_t len,
		       uint32_t stream)
{
	memset(e, 0, sizeof(*e));
	e->opcode = op;
	e->copy.dptr = dptr;
	e->copy.offset = off;
	e->copy.len = len;
	e->copy.region = region;
	e->copy.stream = stream;
}

static int run(struct vgpu_sess *s, struct vgpu_sqe *e, int async)
{
	return async ? vgpu_post(s, e, NULL, 0) :
		       vgpu_exec(s, e, NULL, 0, NULL);
}

/*
 * A staged copy, planned: chunks of @chunk bytes (smaller than the
 * session's for a copy that would fill few of them, so that even 1 MiB is
 * pipelined), @parts threads, thread i taking chunks i, i + parts, ...
 * through staging chunks i, i + parts, ... of its own.
 */
struct staged {
	struct vgpu_sess *s;
	bool h2d;
	char *host;
	uint64_t dptr, len, chunk, nchunks;
	uint32_t stream, parts;
	int rc; /* the first failure */
};

#define CHUNK_MIN (256u << 10)
#define MT_MIN (4u << 20) /* copies from this size use the helpers */

static void fail(struct staged *c, int rc)
{
	int zero = 0;

	if (rc)
		__atomic_compare_exchange_n(&c->rc, &zero, rc, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static bool failed(struct staged *c)
{
	return __atomic_load_n(&c->rc, __ATOMIC_ACQUIRE) != 0;
}

static uint64_t piece(const struct staged *c, uint64_t k)
{
	uint64_t left = c->len - k * c->chunk;

	return left < c->chunk ? left : c->chunk;
}

/* Staging chunk @b: where it is in the pool. */
static char *buf(const struct staged *c, uint32_t b)
{
	return (char *)c->s->tr.pool + (uint64_t)b * c->chunk;
}

static int submit(struct staged *c, uint64_t k, uint32_t b, unsigned *ticket)
{
	struct vgpu_sqe e;

	copy_entry(&e, c->h2d ? VGPU_OP_COPY_H2D : VGPU_OP_COPY_D2H,
		   c->dptr + k * c->chunk, c->s->tr.pool_region,
		   (uint64_t)b * c->chunk, piece(c, k), c->stream);
	return vgpu_submit(c->s, &e, ticket);
}

/* Wait for every chunk still in flight (each ticket exactly once). */
static void drain(struct staged *c, const unsigned *ticket, bool *busy)
{
	for (uint32_t b = 0; b < VGPU_STAGING_CHUNKS_MAX; b++) {
		if (busy[b]) {
			busy[b] = false;
			fail(c, vgpu_wait(c->s, ticket[b], NULL));
		}
	}
}

/* Thread @part: fill its chunks, send each on. */
static void part_h2d(struct staged *c, uint32_t part)
{
	unsigned ticket[VGPU_STAGING_CHUNKS_MAX];
	bool busy[VGPU_STAGING_CHUNKS_MAX] = { false };
	uint32_t mine = c->s->nchunks / c->parts, j = 0;

	for (uint64_t k = part; k < c->nchunks && !failed(c);
	     k += c->parts, j++) {
		uint32_t b = part + (j % mine) * c->parts;

		if (busy[b]) {
			busy[b] = false;
			fail(c, vgpu_wait(c->s, ticket[b], NULL));
			if (failed(c))
				break;
		}
		memcpy(buf(c, b), c->host + k * c->chunk, piece(c, k));
		fail(c, submit(c, k, b, &ticket[b]));
		busy[b] = !failed(c);
	}
	drain(c, ticket, busy);
}

/* Thread @part: ask for its chunks, take each out as it comes. */
static void part_d2h(struct staged *c, uint32_t part)
{
	unsigned ticket[VGPU_STAGING_CHUNKS_MAX];
	bool busy[VGPU_STAGING_CHUNKS_MAX] = { false };
	uint32_t mine = c->s->nchunks / c->parts;
	uint64_t sub = part, k = part; /* next to submit, next to take */

	for (uint32_t j = 0; j < mine && sub < c->nchunks; j++) {
		uint32_t b = part + j * c->parts;

		fail(c, submit(c, sub, b, &ticket[b]));
		if (failed(c))
			break;
		busy[b] = true;
		sub += c->parts;
	}
	for (uint32_t j = 0; k < c->nchunks && !failed(c); j++) {
		uint32_t b = part + (j % mine) * c->parts;

		busy[b] = false;
		fail(c, vgpu_wait(c->s, ticket[b], NULL));
		if (failed(c))
			break;
		memcpy(c->host + k * c->chunk, buf(c, b), piece(c, k));
		k += c->parts;
		if (sub < c->nchunks) {
			fail(c, submit(c, sub, b, &ticket[b]));
			busy[b] = !failed(c);
			sub += c->parts;
		}
	}
	drain(c, ticket, busy);
}

static void run_part(void *arg, uint32_t part)
{
	struct staged *c = arg;

	if (part >= c->parts)
		return;
	if (c->h2d)
		part_h2d(c, part);
	else
		part_d2h(c, part);
}

/* How many threads (a power of two dividing the staging chunks). */
static uint32_t plan_parts(struct vgpu_sess *s, const struct staged *c)
{
	uint32_t have, p = 1;

	if (c->len < MT_MIN || c->nchunks < 4)
		return 1;
	have = vgpu_copiers_start(s);
	/* each with two staging chunks at least, and a chunk to copy */
	while (p * 2 <= have && p * 4 <= s->nchunks && p * 2 <= c->nchunks)
		p *= 2;
	return p;
}

static int staged(struct vgpu_sess *s, bool h2d, char *host, uint64_t dptr,
		  uint64_t len, uint32_t stream)
{
	struct staged c = { .s = s,
			    .h2d = h2d,
			    .host = host,
			    .dptr = dptr,
			    .len = len,
			    .stream = stream };

	/* a copy that would fill fewer than 4 chunks gets smaller ones */
	c.chunk = s->chunk;
	if (len < 4 * c.chunk && s->copy_split) {
		c.chunk = ((len / 4) + 4095) & ~4095ull;
		if (c.chunk < CHUNK_MIN)
			c.chunk = CHUNK_MIN;
		if (c.chunk > s->chunk)
			c.chunk = s->chunk;
	}
	c.nchunks = (len + c.chunk - 1) / c.chunk;
	pthread_mutex_lock(&s->staging_lock);
	c.parts = plan_parts(s, &c);
	if (c.parts > s->stats.copy_threads)
		s->stats.copy_threads = c.parts;
	if (c.parts > 1)
		vgpu_copiers_run(s, run_part, &c);
	else
		run_part(&c, 0);
	pthread_mutex_unlock(&s->staging_lock);
	return c.rc;
}

/* A copy between host memory and the device: straight from the host
 * memory when it lies in a region of the session, else staged. */
static int host_copy(struct vgpu_sess *s, bool h2d, char *host, uint64_t dptr,
		     uint64_t len, uint32_t stream, int async)
{
	struct vgpu_sqe e;
	uint32_t region;
	uint64_t off;
	int rc = vgpu_sticky_error(s);

	if (rc || !len)
		return rc;
	if (!vgpu_host_lookup(s, host, len, &region, &off)) {
		copy_entry(&e, h2d ? VGPU_OP_COPY_H2D : VGPU_OP_COPY_D2H, dptr,
			   region, off, len, stream);
		return run(s, &e, async);
	}
	return staged(s, h2d, host, dptr, len, stream);
}

int vgpu_copy_h2d(struct vgpu_sess *s, uint64_t dptr, const void *src,
		  uint64_t len, uint32_t stream, int async)
{
	return host_copy(s, true, (char *)src, dptr, len, stream, async);
}

int vgpu_copy_d2h(struct vgpu_sess *s, void *dst, uint64_t dptr, uint64_t len,
		  uint32_t stream, int async)
{
	return host_copy(s, false, dst, dptr, len, stream, async);
}

int vgpu_copy_d2d(struct vgpu_sess *s, uint64_t dst, uint64_t src, uint64_t len,
		  uint32_t stream, int async)
{
	struct vgpu_sqe e;

	if (!len)
		return vgpu_sticky_error(s);
	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_COPY_D2D;
	e.d2d.dst = dst;
	e.d2d.src = src;
	e.d2d.len = len;
	e.d2d.stream = stream;
	return run(s, &e, async);
}

int vgpu_memset(struct vgpu_sess *s, uint64_t dptr, uint32_t value,
		uint32_t elem, uint64_t count, uint32_t stream, int async)
{
	struct vgpu_sqe e;

	if (elem != 1 && elem != 2 && elem != 4)
		return VGPU_S_INVALID;
	if (!count)
		return vgpu_sticky_error(s);
	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_MEMSET;
	e.memset.dptr = dptr;
	e.memset.count = count;
	e.memset.value = value;
	e.memset.elem = elem;
	e.memset.stream = stream;
	return run(s, &e, async);
}
