// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's shared-memory rings (include/vgpu/cuda_ipc.h): one
 * producer, one consumer, 16-byte aligned records that never wrap (a PAD
 * record fills the end of the ring instead). Used by the proxy in
 * vgpu-ioreq and by vgpu-cuda-worker alike.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vgpu/cuda_ipc.h>

void cw_prod_init(struct cw_prod *p, struct cw_ring *c, uint8_t *data,
		  uint32_t size)
{
	p->c = c;
	p->data = data;
	p->size = size;
	p->pos = cw_load(&c->prod.v);
}

void cw_cons_init(struct cw_cons *q, struct cw_ring *c, uint8_t *data,
		  uint32_t size)
{
	q->c = c;
	q->data = data;
	q->size = size;
	q->pos = cw_load(&c->cons.v);
}

static uint32_t room(struct cw_prod *p, bool *broken)
{
	uint32_t used = p->pos - cw_load(&p->c->cons.v);

	*broken = used > p->size;
	return *broken ? 0 : p->size - used;
}

void *cw_prod_reserve(struct cw_prod *p, uint32_t len)
{
	uint32_t off = p->pos & (p->size - 1), tail = p->size - off, free;
	bool broken;

	if (len == 0 || len % CW_REC_ALIGN || len > p->size / 2)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		free = room(p, &broken);
		if (broken)
			return CW_RING_BROKEN;
		if (len <= tail && len <= free)
			return p->data + off;
		if (len > tail && tail + len <= free) {
			struct cw_rec *pad = (struct cw_rec *)(p->data + off);

			memset(pad, 0, sizeof(*pad));
			pad->len = tail;
			pad->type = CW_REC_PAD;
			p->pos += tail;
			return p->data;
		}
		if (pass == 0) {
			/* Ask for room, then look once more: the consumer
			 * may have made some before it saw the flag. */
			cw_store(&p->c->space_wanted.v, 1);
			cw_fence();
		}
	}
	return NULL;
}

void cw_prod_commit(struct cw_prod *p, uint32_t len)
{
	p->pos += len;
}

bool cw_prod_publish(struct cw_prod *p)
{
	cw_store(&p->c->prod.v, p->pos);
	cw_fence();
	if (!cw_load(&p->c->need_wake.v))
		return false;
	cw_store(&p->c->need_wake.v, 0);
	return true;
}

bool cw_prod_consumer_caught_up(struct cw_prod *p, uint32_t pos)
{
	return cw_load(&p->c->cons.v) == pos;
}

void *cw_cons_peek(struct cw_cons *q, uint32_t *len)
{
	for (;;) {
		uint32_t avail = cw_load(&q->c->prod.v) - q->pos;
		uint32_t off = q->pos & (q->size - 1), tail = q->size - off;
		struct cw_rec *r = (struct cw_rec *)(q->data + off);
		uint32_t l;
		uint16_t type;

		if (avail == 0)
			return NULL;
		if (avail > q->size || avail < sizeof(*r))
			return CW_RING_BROKEN;
		l = __atomic_load_n(&r->len, __ATOMIC_RELAXED);
		type = __atomic_load_n(&r->type, __ATOMIC_RELAXED);
		if (l < sizeof(*r) || l % CW_REC_ALIGN || l > avail || l > tail)
			return CW_RING_BROKEN;
		if (type == CW_REC_PAD) {
			if (l != tail)
				return CW_RING_BROKEN;
			q->pos += l;
			continue;
		}
		*len = l;
		return r;
	}
}

void cw_cons_advance(struct cw_cons *q, uint32_t len)
{
	q->pos += len;
}

bool cw_cons_publish(struct cw_cons *q)
{
	cw_store(&q->c->cons.v, q->pos);
	cw_fence();
	if (!cw_load(&q->c->space_wanted.v))
		return false;
	cw_store(&q->c->space_wanted.v, 0);
	return true;
}

bool cw_cons_empty(struct cw_cons *q)
{
	cw_fence();
	return cw_load(&q->c->prod.v) == q->pos;
}

int cw_futex_wait(uint32_t *word, uint32_t val, const struct timespec *rel)
{
	if (syscall(SYS_futex, word, FUTEX_WAIT, val, rel, NULL, 0) == 0)
		return 0;
	return -errno;
}

void cw_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}
