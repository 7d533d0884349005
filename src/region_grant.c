// SPDX-License-Identifier: GPL-2.0-only
/*
 * REGION_GRANT (ABI 1.5): a session's region in our own memory, granted
 * to the guest (host_ops.grant_*): the host allocates and grants the
 * pages, we write their references into the guest's list and publish the
 * region like a REGION_ADD one. Its pages are never guest RAM, so no
 * dirty tracking; a per-VM quota (engine_limits.granted) bounds them, and
 * region_destroy() ends the grants (REGION_DEL, session end, reset,
 * engine teardown).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>

#include "engine_priv.h"

bool engine_grants(const struct engine *en)
{
	const struct host_ops *o = en->host->ops;

	return en->lim.granted && o->grant_offered && o->grant_alloc &&
	       o->grant_free && o->grant_offered(en->host);
}

/* The references, little-endian u32 each, into guest memory at @gpa. */
static int write_refs(struct engine *en, uint64_t gpa, uint32_t *refs,
		      uint32_t n)
{
	uint64_t len = (uint64_t)n * sizeof(*refs);
	struct host *h = en->host;
	uint32_t i;

	for (i = 0; i < n; i++)
		refs[i] = htole32(refs[i]);
	if (region_list_copy(en, gpa, refs, len, true) < 0)
		return -EFAULT;
	if (h->ops->mark_dirty)
		h->ops->mark_dirty(h, gpa, len);
	return 0;
}

static uint32_t grant_args(struct cmd *c)
{
	const struct vgpu_cmd_region *a = &c->e->region;
	struct engine *en = c->en;

	if (a->rsvd0 || !eng_zero(a->rsvd, sizeof(a->rsvd)) || !a->bytes ||
	    a->bytes & (PAGE - 1) || a->nents != a->bytes / PAGE ||
	    (a->list_gpa & 3))
		return VGPU_S_INVALID;
	if (!engine_grants(en))
		return VGPU_S_NOT_SUPPORTED;
	if (a->bytes > en->lim.granted - en->granted_used)
		return VGPU_S_LIMIT;
	return 0;
}

/* The host's refusal as a status: its own limit is a limit too. */
static uint32_t grant_errno(int err)
{
	if (err == ENOSPC)
		return VGPU_S_LIMIT;
	return err == ENOTSUP ? VGPU_S_NOT_SUPPORTED : VGPU_S_NO_MEMORY;
}

enum ring_exec region_grant(struct cmd *c)
{
	const struct vgpu_cmd_region *a = &c->e->region;
	struct engine *en = c->en;
	struct host *h = en->host;
	struct eng_region *g;
	uint32_t st = grant_args(c), *refs;

	if (st)
		return eng_fail(c, st);
	refs = malloc((size_t)a->nents * sizeof(*refs));
	g = calloc(1, sizeof(*g));
	if (!refs || !g) {
		st = VGPU_S_NO_MEMORY;
		goto out;
	}
	g->pages = a->nents;
	g->granted = true;
	g->br.len = a->bytes;
	g->br.fd = -1;
	g->br.va = h->ops->grant_alloc(h, g->pages, refs);
	if (!g->br.va) {
		st = grant_errno(errno);
		goto out;
	}
	if (write_refs(en, a->list_gpa, refs, a->nents) < 0)
		st = VGPU_S_BAD_GPA;
	else
		st = region_publish(c, g);
	if (st) {
		h->ops->grant_free(h, g->br.va, g->pages);
		goto out;
	}
	en->granted_used += a->bytes;
	g = NULL;
out:
	free(g);
	free(refs);
	return eng_fail(c, st);
}
