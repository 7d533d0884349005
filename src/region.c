// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regions (REGION_ADD / REGION_DEL): guest memory a session's commands
 * name by (region, offset, length). The extent list is copied out of
 * guest memory and every extent checked before anything is mapped; the
 * frames are mapped once, as one contiguous range, and handed to the
 * backend as struct be_region. A region stays mapped while a request in
 * flight uses it, even after REGION_DEL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

#define REGION_MAX_EXTENTS 65536u

/* [gpa, gpa + len) does not wrap and stays clear of our BAR. */
static bool clear_of_bar(const struct engine *en, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return false;
	return gpa + len <= en->bar_lo || gpa >= en->bar_lo + en->bar_len;
}

int region_list_copy(struct engine *en, uint64_t gpa, void *buf, uint64_t len,
		     bool to_guest)
{
	const struct host_ops *o = en->host->ops;
	uint64_t off = 0;

	if (!clear_of_bar(en, gpa, len) ||
	    (to_guest ? !o->copy_to_guest : !o->copy_from_guest))
		return -EINVAL;
	while (off < len) {
		uint64_t piece = PAGE - ((gpa + off) & (PAGE - 1));
		uint8_t *b = (uint8_t *)buf + off;
		int rc;

		if (piece > len - off)
			piece = len - off;
		rc = to_guest ?
			     o->copy_to_guest(en->host, gpa + off, b, piece) :
			     o->copy_from_guest(en->host, b, gpa + off, piece);
		if (rc < 0)
			return -EFAULT;
		off += piece;
	}
	return 0;
}

/* Every extent page aligned, not empty, clear of the BAR; the sum equals
 * @bytes. Fills @gfns (bytes / PAGE frames). */
static bool check_extents(const struct engine *en, const struct vgpu_extent *x,
			  uint32_t n, uint64_t bytes, uint64_t *gfns)
{
	uint64_t sum = 0, k = 0, p;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (!x[i].len || (x[i].gpa | x[i].len) & (PAGE - 1) ||
		    !clear_of_bar(en, x[i].gpa, x[i].len) ||
		    x[i].len > bytes - sum)
			return false;
		sum += x[i].len;
		for (p = 0; p < x[i].len; p += PAGE)
			gfns[k++] = (x[i].gpa + p) / PAGE;
	}
	return sum == bytes;
}

static void region_destroy(struct engine *en, struct eng_region *g)
{
	struct host *h = en->host;

	en->be->ops->region_del(en->be, g->s->be_id, &g->br);
	if (g->granted) {
		h->ops->grant_free(h, g->br.va, g->pages);
		en->granted_used -= g->br.len;
	} else {
		h->ops->unmap_guest(h, g->br.va, g->pages);
		en->pinned_used -= g->br.len;
	}
	g->s->pinned -= g->br.len;
	free(g->ext);
	free(g);
}

static bool in_a_row(const struct vgpu_extent *x, uint32_t n)
{
	uint32_t i;

	for (i = 1; i < n; i++)
		if (x[i].gpa != x[i - 1].gpa + x[i - 1].len)
			return false;
	return true;
}

/* Map the frames and offer the backend a file for zero copy. */
static struct eng_region *region_map(struct engine *en, struct vgpu_extent *x,
				     uint32_t n, uint64_t bytes,
				     const uint64_t *gfns)
{
	struct host *h = en->host;
	struct eng_region *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->pages = (uint32_t)(bytes / PAGE);
	g->br.va = h->ops->map_guest_frames(h, gfns, g->pages, true);
	if (!g->br.va) {
		free(g);
		return NULL;
	}
	g->br.len = bytes;
	g->br.fd = -1;
	/* one run of guest memory (extents in a row): a file the backend
	 * may map itself, where the host has one (loopback) */
	if (in_a_row(x, n) && h->ops->guest_fd &&
	    h->ops->guest_fd(h, x[0].gpa, bytes, &g->br.fd, &g->br.fd_off) < 0)
		g->br.fd = -1;
	g->ext = x;
	g->next = n;
	return g;
}

/* Validate the arguments and the list: 0 or a VGPU_S_* code. */
static uint32_t region_args(struct cmd *c, struct vgpu_extent **out)
{
	const struct vgpu_cmd_region *a = &c->e->region;
	struct engine *en = c->en;
	struct vgpu_extent *x;

	if (a->rsvd0 || !eng_zero(a->rsvd, sizeof(a->rsvd)) || !a->nents ||
	    a->nents > REGION_MAX_EXTENTS || !a->bytes ||
	    a->bytes & (PAGE - 1) || a->nents > a->bytes / PAGE ||
	    (a->list_gpa & 7))
		return VGPU_S_INVALID;
	if (a->bytes > en->lim.pinned - en->pinned_used)
		return VGPU_S_LIMIT;
	if (!en->host->ops->map_guest_frames)
		return VGPU_S_NOT_SUPPORTED;
	x = malloc((size_t)a->nents * sizeof(*x));
	if (!x)
		return VGPU_S_NO_MEMORY;
	if (region_list_copy(en, a->list_gpa, x,
			     (uint64_t)a->nents * sizeof(*x), false) < 0) {
		free(x);
		return VGPU_S_BAD_GPA;
	}
	*out = x;
	return 0;
}

uint32_t region_publish(struct cmd *c, struct eng_region *g)
{
	struct engine *en = c->en;
	struct hslot *h;
	uint32_t handle = htab_alloc(&c->s->regions, &h);

	if (!handle)
		return VGPU_S_LIMIT;
	g->br.id = ++en->next_region_id;
	g->en = en;
	g->s = c->s;
	if (en->be->ops->region_add(en->be, c->s->be_id, &g->br) < 0) {
		htab_free(&c->s->regions, handle);
		return VGPU_S_BACKEND;
	}
	h->p = g;
	h->state = HS_LIVE;
	c->s->pinned += g->br.len;
	c->result = handle;
	return VGPU_S_OK;
}

enum ring_exec region_add(struct cmd *c)
{
	const struct vgpu_cmd_region *a = &c->e->region;
	struct engine *en = c->en;
	struct vgpu_extent *x = NULL;
	struct eng_region *g = NULL;
	uint64_t *gfns;
	uint32_t st = region_args(c, &x);

	if (st)
		return eng_fail(c, st);
	gfns = malloc(a->bytes / PAGE * sizeof(*gfns));
	if (!gfns || !check_extents(en, x, a->nents, a->bytes, gfns))
		st = gfns ? VGPU_S_INVALID : VGPU_S_NO_MEMORY;
	if (!st && !(g = region_map(en, x, a->nents, a->bytes, gfns)))
		st = VGPU_S_BAD_GPA;
	free(gfns);
	if (!st)
		st = region_publish(c, g);
	if (st) {
		if (g)
			en->host->ops->unmap_guest(en->host, g->br.va,
						   g->pages);
		free(g);
		free(x);
		return eng_fail(c, st);
	}
	en->pinned_used += a->bytes;
	return eng_fail(c, VGPU_S_OK);
}

enum ring_exec region_del(struct cmd *c)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct hslot *h;
	struct eng_region *g;

	if (o->obj2 || o->stream || o->flags ||
	    !eng_zero(o->rsvd, sizeof(o->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	h = htab_get(&c->s->regions, o->obj);
	if (!h)
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	g = h->p;
	htab_free(&c->s->regions, o->obj);
	g->dead = true;
	if (!g->busy)
		region_destroy(c->en, g);
	return eng_fail(c, VGPU_S_OK);
}

struct eng_region *region_range(struct session *s, uint32_t h, uint64_t off,
				uint64_t len, uint32_t *status)
{
	struct hslot *slot = htab_get(&s->regions, h);
	struct eng_region *g;

	if (!slot) {
		*status = VGPU_S_BAD_HANDLE;
		return NULL;
	}
	g = slot->p;
	if (off > g->br.len || len > g->br.len - off) {
		*status = VGPU_S_INVALID;
		return NULL;
	}
	return g;
}

void region_hold(struct eng_req *r, struct eng_region *g)
{
	g->busy++;
	if (!r->region)
		r->region = g;
	else
		r->out_region = g;
}

void region_release(struct engine *en, struct eng_region *g)
{
	if (--g->busy == 0 && g->dead)
		region_destroy(en, g);
}

void region_dirty(struct engine *en, struct eng_region *g, uint64_t off,
		  uint64_t len)
{
	struct host *h = en->host;
	uint32_t i;

	if (!h->ops->mark_dirty || !len)
		return;
	for (i = 0; i < g->next && len; i++) {
		uint64_t n;

		if (off >= g->ext[i].len) {
			off -= g->ext[i].len;
			continue;
		}
		n = g->ext[i].len - off < len ? g->ext[i].len - off : len;
		h->ops->mark_dirty(h, g->ext[i].gpa + off, n);
		len -= n;
		off = 0;
	}
}

void region_free_all(struct engine *en, struct session *s)
{
	uint32_t i;

	for (i = 0; i < s->regions.cap; i++) {
		struct hslot *h = &s->regions.s[i];
		struct eng_region *g = h->p;

		if (h->state != HS_LIVE)
			continue;
		htab_free(&s->regions, htab_handle(&s->regions, i));
		g->dead = true;
		if (!g->busy)
			region_destroy(en, g);
	}
}
