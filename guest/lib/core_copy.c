// SPDX-License-Identifier: MIT
/*
 * Copies and memset. Pinned host memory (the pool, regions) goes to the
 * device straight by (region, offset); ordinary memory is staged through
 * the pool's staging chunks, pipelined: the CPU fills chunk i+1 (H2D) or
 * drains chunk i-1 (D2H) while the device moves chunk i.
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

static uint64_t chunk_len(const struct vgpu_sess *s, uint64_t left)
{
	return left < s->chunk ? left : s->chunk;
}

/* Wait for every chunk still in flight; the first failure wins. */
static int drain(struct vgpu_sess *s, const unsigned *ticket, bool *busy,
		 int rc)
{
	uint32_t b;

	for (b = 0; b < s->nchunks; b++) {
		if (busy[b]) {
			int r = vgpu_wait(s, ticket[b], NULL);

			busy[b] = false;
			if (!rc)
				rc = r;
		}
	}
	return rc;
}

static int staged_h2d(struct vgpu_sess *s, uint64_t dptr, const char *src,
		      uint64_t len, uint32_t stream)
{
	unsigned ticket[VGPU_STAGING_CHUNKS_MAX];
	bool busy[VGPU_STAGING_CHUNKS_MAX] = { false };
	uint64_t done = 0;
	uint32_t i = 0;
	int rc = VGPU_S_OK;

	pthread_mutex_lock(&s->staging_lock);
	while (done < len) {
		uint32_t b = i++ % s->nchunks;
		uint64_t n = chunk_len(s, len - done);
		struct vgpu_sqe e;

		if (busy[b]) {
			busy[b] = false;
			rc = vgpu_wait(s, ticket[b], NULL);
			if (rc)
				break;
		}
		memcpy((char *)s->tr.pool + b * s->chunk, src + done, n);
		copy_entry(&e, VGPU_OP_COPY_H2D, dptr + done, s->tr.pool_region,
			   b * s->chunk, n, stream);
		rc = vgpu_submit(s, &e, &ticket[b]);
		if (rc)
			break;
		busy[b] = true;
		done += n;
	}
	rc = drain(s, ticket, busy, rc);
	pthread_mutex_unlock(&s->staging_lock);
	return rc;
}

/* Submit the D2H chunk at byte offset at into staging chunk b. */
static int d2h_chunk(struct vgpu_sess *s, uint64_t dptr, uint64_t at,
		     uint64_t len, uint32_t stream, uint32_t b,
		     unsigned *ticket)
{
	struct vgpu_sqe e;

	copy_entry(&e, VGPU_OP_COPY_D2H, dptr + at, s->tr.pool_region,
		   b * s->chunk, chunk_len(s, len - at), stream);
	return vgpu_submit(s, &e, ticket);
}

static int staged_d2h(struct vgpu_sess *s, char *dst, uint64_t dptr,
		      uint64_t len, uint32_t stream)
{
	unsigned ticket[VGPU_STAGING_CHUNKS_MAX];
	bool busy[VGPU_STAGING_CHUNKS_MAX] = { false };
	uint64_t sub = 0, done = 0; /* bytes submitted, bytes drained */
	uint32_t b, k = 0;
	int rc = VGPU_S_OK;

	pthread_mutex_lock(&s->staging_lock);
	for (b = 0; b < s->nchunks && sub < len; b++) {
		rc = d2h_chunk(s, dptr, sub, len, stream, b, &ticket[b]);
		if (rc)
			break;
		busy[b] = true;
		sub += chunk_len(s, len - sub);
	}
	while (!rc && done < len) {
		uint64_t n = chunk_len(s, len - done);

		b = k++ % s->nchunks;
		busy[b] = false;
		rc = vgpu_wait(s, ticket[b], NULL);
		if (rc)
			break;
		memcpy(dst + done, (char *)s->tr.pool + b * s->chunk, n);
		done += n;
		if (sub < len) {
			rc = d2h_chunk(s, dptr, sub, len, stream, b,
				       &ticket[b]);
			if (rc)
				break;
			busy[b] = true;
			sub += chunk_len(s, len - sub);
		}
	}
	rc = drain(s, ticket, busy, rc);
	pthread_mutex_unlock(&s->staging_lock);
	return rc;
}

int vgpu_copy_h2d(struct vgpu_sess *s, uint64_t dptr, const void *src,
		  uint64_t len, uint32_t stream, int async)
{
	struct vgpu_sqe e;
	uint32_t region;
	uint64_t off;
	int rc = vgpu_sticky_error(s);

	if (rc || !len)
		return rc;
	if (!vgpu_host_lookup(s, src, len, &region, &off)) {
		copy_entry(&e, VGPU_OP_COPY_H2D, dptr, region, off, len,
			   stream);
		return run(s, &e, async);
	}
	return staged_h2d(s, dptr, src, len, stream);
}

int vgpu_copy_d2h(struct vgpu_sess *s, void *dst, uint64_t dptr, uint64_t len,
		  uint32_t stream, int async)
{
	struct vgpu_sqe e;
	uint32_t region;
	uint64_t off;
	int rc = vgpu_sticky_error(s);

	if (rc || !len)
		return rc;
	if (!vgpu_host_lookup(s, dst, len, &region, &off)) {
		copy_entry(&e, VGPU_OP_COPY_D2H, dptr, region, off, len,
			   stream);
		return run(s, &e, async);
	}
	return staged_d2h(s, dst, dptr, len, stream);
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
