// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device memory commands: MEM_ALLOC / MEM_FREE / MEM_GET_INFO against the
 * VM's quota, and copies and memsets bounded to the session's live
 * allocations (a sorted table of ranges) and registered regions.
 */
#include <string.h>

#include "engine_priv.h"

/* Index of the last allocation at or below @dptr, or -1. */
static int find(const struct session *s, uint64_t dptr)
{
	int lo = 0, hi = (int)s->nallocs - 1, best = -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->allocs[mid].dptr <= dptr) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

bool mem_inside(const struct session *s, uint64_t dptr, uint64_t len)
{
	int i = find(s, dptr);
	const struct eng_alloc *a;

	if (i < 0)
		return false;
	a = &s->allocs[i];
	return dptr - a->dptr < a->len && len <= a->len - (dptr - a->dptr);
}

int mem_track(struct session *s, uint64_t dptr, uint64_t len, uint32_t module)
{
	int i = find(s, dptr) + 1;

	memmove(&s->allocs[i + 1], &s->allocs[i],
		(s->nallocs - (uint32_t)i) * sizeof(*s->allocs));
	s->allocs[i] = (struct eng_alloc){ dptr, len, module };
	s->nallocs++;
	return 0;
}

static void untrack(struct session *s, int i)
{
	memmove(&s->allocs[i], &s->allocs[i + 1],
		(s->nallocs - (uint32_t)i - 1) * sizeof(*s->allocs));
	s->nallocs--;
}

void mem_untrack_module(struct session *s, uint32_t module)
{
	uint32_t i = 0;

	while (i < s->nallocs) {
		if (s->allocs[i].module == module)
			untrack(s, (int)i);
		else
			i++;
	}
}

/* The 1.1 layout: arg[0] and nothing else. */
static bool only_arg0(const struct vgpu_sqe *e)
{
	return eng_zero(&e->arg[1], sizeof(e->bytes) - sizeof(e->arg[0]));
}

static void alloc_done(struct engine *en, struct eng_req *r)
{
	struct session *s = r->s;

	s->pending_allocs--;
	if (r->br.status == VGPU_S_OK) {
		mem_track(s, r->br.result, r->aux, 0);
		return;
	}
	s->devmem -= r->aux;
	en->devmem_used -= r->aux;
}

enum ring_exec mem_alloc(struct cmd *c)
{
	struct engine *en = c->en;
	uint64_t bytes = c->e->arg[0];
	struct eng_req *r;

	if (!bytes || !only_arg0(c->e))
		return eng_fail(c, VGPU_S_INVALID);
	if (bytes > en->lim.devmem - en->devmem_used)
		return eng_fail(c, VGPU_S_NO_MEMORY);
	if (!sess_has_room(en, c->s, 1))
		return eng_fail(c, VGPU_S_LIMIT);
	r = eng_req_get(c, alloc_done);
	if (!r)
		return RING_RETRY;
	c->s->pending_allocs++;
	c->s->devmem += bytes;
	en->devmem_used += bytes;
	r->aux = bytes;
	r->br.mem.bytes = bytes;
	return eng_submit(en, r);
}

static void free_done(struct engine *en, struct eng_req *r)
{
	r->s->devmem -= r->aux;
	en->devmem_used -= r->aux;
}

enum ring_exec mem_free(struct cmd *c)
{
	uint64_t dptr = c->e->arg[0];
	int i = find(c->s, dptr);
	struct eng_req *r;

	if (!only_arg0(c->e))
		return eng_fail(c, VGPU_S_INVALID);
	/* only an allocation's base, and not a module's global */
	if (i < 0 || c->s->allocs[i].dptr != dptr || c->s->allocs[i].module)
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	r = eng_req_get(c, free_done);
	if (!r)
		return RING_RETRY;
	r->aux = c->s->allocs[i].len;
	r->br.mem.dptr = dptr;
	untrack(c->s, i);
	return eng_submit(c->en, r);
}

enum ring_exec mem_get_info(struct cmd *c)
{
	if (!eng_zero(c->e->bytes, sizeof(c->e->bytes)))
		return eng_fail(c, VGPU_S_INVALID);
	c->result = c->en->lim.devmem - c->en->devmem_used;
	return eng_fail(c, VGPU_S_OK);
}

static void d2h_done(struct engine *en, struct eng_req *r)
{
	if (r->br.status == VGPU_S_OK)
		region_dirty(en, r->region, r->br.copy.offset, r->br.copy.len);
}

enum ring_exec mem_copy(struct cmd *c)
{
	const struct vgpu_cmd_copy *a = &c->e->copy;
	bool d2h = c->e->opcode == VGPU_OP_COPY_D2H;
	struct eng_region *g;
	struct eng_req *r;
	uint32_t st = 0, stream;

	if (!eng_zero(a->rsvd, sizeof(a->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	g = region_range(c->s, a->region, a->offset, a->len, &st);
	if (!g)
		return eng_fail(c, st);
	if (!mem_inside(c->s, a->dptr, a->len))
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	if (!stream_id(c->s, a->stream, &stream))
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	r = eng_req_get(c, d2h ? d2h_done : NULL);
	if (!r)
		return RING_RETRY;
	r->br.stream = stream;
	r->br.copy.dptr = a->dptr;
	r->br.copy.region = &g->br;
	r->br.copy.offset = a->offset;
	r->br.copy.len = a->len;
	region_hold(r, g);
	return eng_submit(c->en, r);
}

enum ring_exec mem_d2d(struct cmd *c)
{
	const struct vgpu_cmd_d2d *a = &c->e->d2d;
	struct eng_req *r;
	uint32_t stream;

	if (a->rsvd0 || !eng_zero(a->rsvd, sizeof(a->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	if (!mem_inside(c->s, a->dst, a->len) ||
	    !mem_inside(c->s, a->src, a->len))
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	if (!stream_id(c->s, a->stream, &stream))
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.stream = stream;
	r->br.d2d.dst = a->dst;
	r->br.d2d.src = a->src;
	r->br.d2d.len = a->len;
	return eng_submit(c->en, r);
}

enum ring_exec mem_set(struct cmd *c)
{
	const struct vgpu_cmd_memset *a = &c->e->memset;
	struct eng_req *r;
	uint32_t stream;

	if (a->rsvd0 || !eng_zero(a->rsvd, sizeof(a->rsvd)) ||
	    (a->elem != 1 && a->elem != 2 && a->elem != 4) ||
	    (a->elem < 4 && a->value >> (8 * a->elem)) ||
	    a->count > UINT64_MAX / a->elem)
		return eng_fail(c, VGPU_S_INVALID);
	if (!mem_inside(c->s, a->dptr, a->count * a->elem))
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	if (!stream_id(c->s, a->stream, &stream))
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.stream = stream;
	r->br.memset.dptr = a->dptr;
	r->br.memset.count = a->count;
	r->br.memset.value = a->value;
	r->br.memset.elem = a->elem;
	return eng_submit(c->en, r);
}
