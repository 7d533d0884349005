// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ABI 1.1 commands on privileged queues: GET_INFO and MEMCPY_H2D/D2H
 * with scatter-gather lists of guest pages, and COMPUTE. A 1.1 copy goes
 * through a staging slot (one of STAGE_SLOTS, registered with the backend
 * as a region of the legacy session): the list is copied and checked
 * first, then the data moves between the listed pages and the slot on
 * our thread and between the slot and device memory on the backend's.
 */
#include <stdlib.h>
#include <string.h>

#include <vgpu/vgpu_stub_regs.h>

#include "engine_priv.h"

#define NO_SGL(e) ((e)->sgl_nents == 0 && (e)->sgl_gpa == 0)

static bool gpa_ok(const struct engine *en, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return false;
	return gpa + len <= en->bar_lo || gpa >= en->bar_lo + en->bar_len;
}

/* Copy the command's list out of guest memory and check every entry; the
 * total length on success, 0 on a bad list (*status says why). */
static uint64_t read_sgl(struct engine *en, const struct vgpu_sqe *e,
			 struct vgpu_sgl_entry *sgl, uint32_t *status)
{
	uint64_t total = 0;
	uint32_t i;

	if (e->sgl_nents == 0 || e->sgl_nents > ENGINE_MAX_SGL ||
	    (e->sgl_gpa & (PAGE - 1)) || !gpa_ok(en, e->sgl_gpa, PAGE) ||
	    e->rsvd1 || e->rsvd2) {
		*status = VGPU_S_INVALID;
		return 0;
	}
	if (en->host->ops->copy_from_guest(en->host, sgl, e->sgl_gpa,
					   e->sgl_nents * sizeof(*sgl)) < 0) {
		*status = VGPU_S_BAD_GPA;
		return 0;
	}
	for (i = 0; i < e->sgl_nents; i++) {
		if (sgl[i].rsvd || sgl[i].len == 0 ||
		    (sgl[i].gpa & (PAGE - 1)) + sgl[i].len > PAGE ||
		    !gpa_ok(en, sgl[i].gpa, sgl[i].len)) {
			*status = VGPU_S_INVALID;
			return 0;
		}
		total += sgl[i].len;
	}
	return total;
}

enum ring_exec legacy_get_info(struct cmd *c)
{
	struct vgpu_sgl_entry sgl[ENGINE_MAX_SGL];
	struct engine *en = c->en;
	const struct vgpu_sqe *e = c->e;
	struct vgpu_info info;
	uint32_t st = VGPU_S_OK, i;
	uint64_t total, off = 0;

	if (e->arg[0] | e->arg[1] | e->arg[2] | e->arg[3])
		return eng_fail(c, VGPU_S_INVALID);
	total = read_sgl(en, e, sgl, &st);
	if (!total)
		return eng_fail(c, st);
	if (total < sizeof(info))
		return eng_fail(c, VGPU_S_INVALID);
	memset(&info, 0, sizeof(info));
	info.abi_version = VGPU_ABI_VERSION;
	info.features = VGPU_F_QUEUES | VGPU_F_MSI | VGPU_F_SESSIONS;
	info.max_queues = en->nq;
	info.max_qdepth = 256;
	info.max_sgl = ENGINE_MAX_SGL;
	info.devmem_quota = en->lim.devmem;
	strncpy(info.backend, en->be->ops->name, sizeof(info.backend) - 1);
	for (i = 0; i < e->sgl_nents && off < sizeof(info); i++) {
		uint64_t n = sgl[i].len < sizeof(info) - off ?
				     sgl[i].len :
				     sizeof(info) - off;

		if (en->host->ops->copy_to_guest(en->host, sgl[i].gpa,
						 (uint8_t *)&info + off, n) < 0)
			return eng_fail(c, VGPU_S_BAD_GPA);
		off += n;
	}
	return eng_fail(c, VGPU_S_OK);
}

/* The staging area, registered with the legacy session on first use. */
static int stage_ready(struct engine *en, struct session *s)
{
	struct stage *st = &en->stage;

	if (!st->buf) {
		st->buf = aligned_alloc(PAGE, STAGE_SLOTS * STAGE_BYTES);
		if (!st->buf)
			return -1;
		st->br = (struct be_region){ .va = st->buf,
					     .len = STAGE_SLOTS * STAGE_BYTES,
					     .fd = -1 };
	}
	if (st->registered != s->be_id) {
		st->br.id = ++en->next_region_id;
		if (en->be->ops->region_add(en->be, s->be_id, &st->br) < 0)
			return -1;
		st->registered = s->be_id;
	}
	return 0;
}

void legacy_stage_fini(struct engine *en)
{
	free(en->stage.buf);
	memset(&en->stage, 0, sizeof(en->stage));
}

/* D2H: scatter the slot into the listed pages; free the slot. */
static void memcpy_done(struct engine *en, struct eng_req *r)
{
	struct stage *st = &en->stage;
	uint32_t k = r->slot, i;
	const uint8_t *p = st->buf + (uint64_t)k * STAGE_BYTES;

	if (r->aux == VGPU_OP_MEMCPY_D2H && r->br.status == VGPU_S_OK) {
		for (i = 0; i < st->nents[k]; i++) {
			const struct vgpu_sgl_entry *g = &st->sgl[k][i];

			if (en->host->ops->copy_to_guest(en->host, g->gpa, p,
							 g->len) < 0)
				r->br.status = VGPU_S_BAD_GPA;
			p += g->len;
		}
	}
	st->busy &= ~(1u << k);
	r->br.result = 0;
}

static bool gather(struct engine *en, uint32_t k)
{
	struct stage *st = &en->stage;
	uint8_t *p = st->buf + (uint64_t)k * STAGE_BYTES;
	uint32_t i;

	for (i = 0; i < st->nents[k]; i++) {
		const struct vgpu_sgl_entry *g = &st->sgl[k][i];

		if (en->host->ops->copy_from_guest(en->host, p, g->gpa,
						   g->len) < 0)
			return false;
		p += g->len;
	}
	return true;
}

/* Each entry but the first starts a page, each but the last ends one. */
static bool one_run(const struct vgpu_sgl_entry *sgl, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && (sgl[i].gpa & (PAGE - 1)))
			return false;
		if (i + 1 < n && (sgl[i].gpa & (PAGE - 1)) + sgl[i].len != PAGE)
			return false;
	}
	return true;
}

/* The pages go with the copy; what the device wrote is reported. */
static void direct_done(struct engine *en, struct eng_req *r)
{
	const struct vgpu_sgl_entry *sgl =
		(const struct vgpu_sgl_entry *)r->scratch;
	struct host *h = en->host;
	uint32_t i;

	en->be->ops->region_del(en->be, r->s->be_id, &r->tmp);
	h->ops->unmap_guest(h, r->tmp.va, r->tmp_pages);
	if (r->aux == VGPU_OP_MEMCPY_D2H && r->br.status == VGPU_S_OK &&
	    h->ops->mark_dirty)
		for (i = 0; i < r->tmp_pages; i++)
			h->ops->mark_dirty(h, sgl[i].gpa, sgl[i].len);
	r->br.result = 0;
}

/* Zero copy: the listed pages, mapped in a row, a region of their own. */
static enum ring_exec memcpy_direct(struct cmd *c,
				    const struct vgpu_sgl_entry *sgl,
				    uint32_t n, uint64_t total)
{
	struct engine *en = c->en;
	bool h2d = c->e->opcode == VGPU_OP_MEMCPY_H2D;
	struct eng_req *r = eng_req_get(c, direct_done);
	uint64_t gfns[ENGINE_MAX_SGL];
	uint32_t i;

	if (!r)
		return RING_RETRY;
	for (i = 0; i < n; i++)
		gfns[i] = sgl[i].gpa / PAGE;
	memcpy(r->scratch, sgl, n * sizeof(*sgl));
	r->tmp = (struct be_region){ .id = ++en->next_region_id,
				     .len = (uint64_t)n * PAGE,
				     .fd = -1 };
	r->tmp_pages = n;
	r->tmp.va = en->host->ops->map_guest_frames(en->host, gfns, n, !h2d);
	if (r->tmp.va &&
	    en->be->ops->region_add(en->be, c->s->be_id, &r->tmp) < 0) {
		en->host->ops->unmap_guest(en->host, r->tmp.va, n);
		r->tmp.va = NULL;
	}
	if (!r->tmp.va) {
		r->done = NULL;
		r->br.status = VGPU_S_BAD_GPA;
		eng_finish(en, r);
		return RING_ASYNC;
	}
	r->aux = c->e->opcode;
	r->br.op = h2d ? VGPU_OP_COPY_H2D : VGPU_OP_COPY_D2H;
	r->br.copy.dptr = c->e->arg[0];
	r->br.copy.region = &r->tmp;
	r->br.copy.offset = sgl[0].gpa & (PAGE - 1);
	r->br.copy.len = total;
	return eng_submit(en, r);
}

enum ring_exec legacy_memcpy(struct cmd *c)
{
	struct vgpu_sgl_entry sgl[ENGINE_MAX_SGL];
	struct engine *en = c->en;
	const struct vgpu_sqe *e = c->e;
	bool h2d = e->opcode == VGPU_OP_MEMCPY_H2D;
	struct stage *st = &en->stage;
	uint32_t status = VGPU_S_OK, k;
	struct eng_req *r;
	uint64_t total;

	if (e->arg[2] || e->arg[3])
		return eng_fail(c, VGPU_S_INVALID);
	total = read_sgl(en, e, sgl, &status);
	if (!total)
		return eng_fail(c, status);
	if (total != e->arg[1])
		return eng_fail(c, VGPU_S_INVALID);
	if (!mem_inside(c->s, e->arg[0], total))
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	if (one_run(sgl, e->sgl_nents) && en->host->ops->map_guest_frames)
		return memcpy_direct(c, sgl, e->sgl_nents, total);
	if (stage_ready(en, c->s) < 0)
		return eng_fail(c, VGPU_S_NO_MEMORY);
	if (st->busy == (1u << STAGE_SLOTS) - 1)
		return RING_RETRY; /* every slot in flight: wait for one */
	k = (uint32_t)__builtin_ctz(~st->busy);
	memcpy(st->sgl[k], sgl, e->sgl_nents * sizeof(*sgl));
	st->nents[k] = e->sgl_nents;
	if (h2d && !gather(en, k))
		return eng_fail(c, VGPU_S_BAD_GPA);
	r = eng_req_get(c, memcpy_done);
	if (!r)
		return RING_RETRY;
	st->busy |= 1u << k;
	r->slot = k;
	r->br.op = h2d ? VGPU_OP_COPY_H2D : VGPU_OP_COPY_D2H;
	r->br.copy.dptr = e->arg[0];
	r->br.copy.region = &st->br;
	r->br.copy.offset = (uint64_t)k * STAGE_BYTES;
	r->br.copy.len = total;
	/* the backend sees a COPY; our completion still says MEMCPY */
	r->aux = e->opcode;
	return eng_submit(en, r);
}

enum ring_exec legacy_compute(struct cmd *c)
{
	const struct vgpu_sqe *e = c->e;
	uint64_t k = e->arg[0], len = e->arg[3];
	struct eng_req *r;

	if (!NO_SGL(e) || e->rsvd1 || e->rsvd2 || len == 0 || len % 4 ||
	    (k != VGPU_K_ADD1_U32 && k != VGPU_K_XOR_U32))
		return eng_fail(c, VGPU_S_INVALID);
	if (!mem_inside(c->s, e->arg[2], len) ||
	    (k == VGPU_K_ADD1_U32 && !mem_inside(c->s, e->arg[1], len)))
		return eng_fail(c, VGPU_S_BAD_ADDRESS);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.compute.kernel = (uint32_t)k;
	r->br.compute.dst = e->arg[1];
	r->br.compute.src = e->arg[2];
	r->br.compute.len = len;
	return eng_submit(c->en, r);
}
