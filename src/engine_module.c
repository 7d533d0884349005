// SPDX-License-Identifier: GPL-2.0-only
/*
 * Modules, their functions and globals, and launches. Images and names
 * are copied out of the region before anything looks at them; a
 * function's parameter layout comes from the backend (FUNC_GET) and a
 * LAUNCH must carry exactly its param_bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

#define NAME_OFF 0
#define INFO_OFF 1032 /* after a VGPU_NAME_MAX name and its NUL, aligned */

#define MAX_BLOCK_THREADS 1024
#define MAX_SHMEM (48u << 10)

uint32_t buf_ranges(struct cmd *c, struct eng_region **in,
		    struct eng_region **out)
{
	const struct vgpu_cmd_buf *a = &c->e->buf;
	uint32_t st = 0;

	*in = *out = NULL;
	if (a->rsvd0 || a->rsvd1)
		return VGPU_S_INVALID;
	if (a->in_len &&
	    !(*in = region_range(c->s, a->region, a->in_off, a->in_len, &st)))
		return st;
	if (a->out_len && !(*out = region_range(c->s, a->region, a->out_off,
						a->out_len, &st)))
		return st;
	if (!a->in_len && a->in_off)
		return VGPU_S_INVALID;
	if (!a->out_len && a->out_off)
		return VGPU_S_INVALID;
	return 0;
}

static void load_done(struct engine *en, struct eng_req *r)
{
	struct hslot *h = htab_get_any(&r->s->modules, r->slot);

	free((void *)r->br.module.image);
	if (!h)
		return;
	if (r->br.status != VGPU_S_OK) {
		htab_free(&r->s->modules, r->slot);
		return;
	}
	h->be_id = (uint32_t)r->br.result;
	h->state = HS_LIVE;
	r->br.result = r->slot;
}

enum ring_exec mod_load(struct cmd *c)
{
	const struct vgpu_cmd_buf *a = &c->e->buf;
	struct eng_region *in, *out;
	struct hslot *h;
	struct eng_req *r;
	uint32_t st = buf_ranges(c, &in, &out), handle;
	void *img;

	if (!st && (a->obj || a->flags != VGPU_IMAGE_AUTO || out || !in))
		st = VGPU_S_INVALID;
	if (!st && a->in_len > c->en->lim.module_bytes)
		st = VGPU_S_LIMIT;
	if (st)
		return eng_fail(c, st);
	handle = htab_alloc(&c->s->modules, &h);
	if (!handle)
		return eng_fail(c, VGPU_S_LIMIT);
	img = malloc(a->in_len);
	r = img ? eng_req_get(c, load_done) : NULL;
	if (!r) {
		free(img);
		htab_free(&c->s->modules, handle);
		return eng_fail(c, VGPU_S_NO_MEMORY);
	}
	/* the engine's private copy: the guest may rewrite its own */
	memcpy(img, in->br.va + a->in_off, a->in_len);
	r->slot = handle;
	r->br.module.image = img;
	r->br.module.len = a->in_len;
	return eng_submit(c->en, r);
}

enum ring_exec mod_unload(struct cmd *c)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct hslot *h;
	struct eng_req *r;
	uint32_t i;

	if (o->obj2 || o->stream || o->flags ||
	    !eng_zero(o->rsvd, sizeof(o->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	h = htab_get(&c->s->modules, o->obj);
	if (!h)
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.module.module = h->be_id;
	/* its functions and globals go with it */
	for (i = 0; i < c->s->funcs.cap; i++)
		if (c->s->funcs.s[i].state != HS_FREE &&
		    c->s->funcs.s[i].owner == o->obj)
			htab_free(&c->s->funcs, htab_handle(&c->s->funcs, i));
	mem_untrack_module(c->s, o->obj);
	htab_free(&c->s->modules, o->obj);
	return eng_submit(c->en, r);
}

static void func_done(struct engine *en, struct eng_req *r)
{
	struct vgpu_func_info *fi =
		(struct vgpu_func_info *)(r->scratch + INFO_OFF);
	struct hslot *h = htab_get_any(&r->s->funcs, r->slot);
	bool owner_live = htab_get(&r->s->modules, (uint32_t)r->aux);

	if (!h) { /* its module was unloaded meanwhile */
		if (r->br.status == VGPU_S_OK)
			r->br.status = VGPU_S_BAD_HANDLE;
		return;
	}
	if (r->br.status == VGPU_S_OK &&
	    (fi->nparams > VGPU_PARAMS_MAX || fi->param_bytes > VGPU_PARAM_MAX))
		r->br.status = VGPU_S_BACKEND; /* a layout we cannot carry */
	if (r->br.status != VGPU_S_OK || !owner_live) {
		htab_free(&r->s->funcs, r->slot);
		if (r->br.status == VGPU_S_OK)
			r->br.status =
				VGPU_S_BAD_HANDLE; /* unloaded meanwhile */
		return;
	}
	h->be_id = (uint32_t)r->br.result;
	h->aux = fi->param_bytes;
	h->state = HS_LIVE;
	r->br.result = r->slot;
	eng_put_out(en, r, fi, sizeof(*fi));
}

static void global_done(struct engine *en, struct eng_req *r)
{
	struct vgpu_global_info *gi =
		(struct vgpu_global_info *)(r->scratch + INFO_OFF);
	struct session *s = r->s;

	s->pending_allocs--;
	if (r->br.status != VGPU_S_OK)
		return;
	if (!htab_get(&s->modules, (uint32_t)r->aux)) {
		r->br.status = VGPU_S_BAD_HANDLE; /* unloaded meanwhile */
		return;
	}
	if (!gi->size || gi->dptr + gi->size < gi->dptr) {
		r->br.status = VGPU_S_BACKEND;
		return;
	}
	if (!mem_inside(s, gi->dptr, gi->size))
		mem_track(s, gi->dptr, gi->size, (uint32_t)r->aux);
	r->br.result = gi->dptr;
	eng_put_out(en, r, gi, sizeof(*gi));
}

/* Validate FUNC_GET / GLOBAL_GET: 0 or a VGPU_S_* code; the name is
 * copied into @name (NUL-terminated). */
static uint32_t sym_args(struct cmd *c, struct eng_region **out, char *name,
			 struct hslot **mod)
{
	const struct vgpu_cmd_buf *a = &c->e->buf;
	bool func = c->e->opcode == VGPU_OP_FUNC_GET;
	struct eng_region *in;
	uint32_t st = buf_ranges(c, &in, out);
	uint64_t need = func ? offsetof(struct vgpu_func_info, param) :
			       sizeof(struct vgpu_global_info);

	if (st)
		return st;
	if (a->flags || !in || a->in_len > VGPU_NAME_MAX || (func && !*out) ||
	    (*out && a->out_len < need))
		return VGPU_S_INVALID;
	*mod = htab_get(&c->s->modules, a->obj);
	if (!*mod)
		return VGPU_S_BAD_HANDLE;
	memcpy(name, in->br.va + a->in_off, a->in_len);
	name[a->in_len] = '\0';
	if (strlen(name) != a->in_len)
		return VGPU_S_INVALID; /* a NUL inside the name */
	if (!func && !sess_has_room(c->en, c->s, 1))
		return VGPU_S_LIMIT;
	return 0;
}

enum ring_exec mod_symbol(struct cmd *c)
{
	const struct vgpu_cmd_buf *a = &c->e->buf;
	bool func = c->e->opcode == VGPU_OP_FUNC_GET;
	struct eng_region *out = NULL;
	struct hslot *mod, *h;
	struct eng_req *r;
	uint32_t st, handle = 0;

	r = eng_req_get(c, func ? func_done : global_done);
	if (!r)
		return RING_RETRY;
	st = sym_args(c, &out, (char *)r->scratch + NAME_OFF, &mod);
	if (!st && func && !(handle = htab_alloc(&c->s->funcs, &h)))
		st = VGPU_S_LIMIT;
	if (st) {
		r->done = NULL;
		r->br.status = st;
		eng_finish(c->en, r);
		return RING_ASYNC;
	}
	if (func)
		h->owner = a->obj;
	else
		c->s->pending_allocs++;
	r->slot = handle;
	r->aux = a->obj;
	r->out_off = a->out_off;
	r->out_len = a->out_len;
	if (out)
		region_hold(r, out);
	r->out_region = r->region; /* the only region held is the output */
	r->region = NULL;
	memset(r->scratch + INFO_OFF, 0, sizeof(struct vgpu_func_info));
	r->br.sym.module = mod->be_id;
	r->br.sym.name = (const char *)r->scratch + NAME_OFF;
	if (func)
		r->br.sym.info =
			(struct vgpu_func_info *)(r->scratch + INFO_OFF);
	else
		r->br.sym.global =
			(struct vgpu_global_info *)(r->scratch + INFO_OFF);
	return eng_submit(c->en, r);
}

static bool dims_ok(const struct vgpu_cmd_launch *a)
{
	uint64_t threads = (uint64_t)a->block[0] * a->block[1] * a->block[2];

	return a->grid[0] && a->grid[1] && a->grid[2] && a->block[0] &&
	       a->block[1] && a->block[2] && a->grid[0] <= 0x7fffffffu &&
	       a->grid[1] <= 65535 && a->grid[2] <= 65535 &&
	       a->block[2] <= 64 && threads <= MAX_BLOCK_THREADS &&
	       a->shmem <= MAX_SHMEM;
}

enum ring_exec mod_launch(struct cmd *c)
{
	const struct vgpu_cmd_launch *a = &c->e->launch;
	struct hslot *f;
	struct eng_req *r;
	uint32_t stream;

	if (!eng_zero(a->rsvd, sizeof(a->rsvd)) || !dims_ok(a))
		return eng_fail(c, VGPU_S_INVALID);
	f = htab_get(&c->s->funcs, a->func);
	if (!f)
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	if (!stream_id(c->s, a->stream, &stream))
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	/* the blob the ring gathered must be exactly the layout's */
	if (a->param_len != f->aux || c->plen != a->param_len ||
	    (a->param_len && !c->params))
		return eng_fail(c, VGPU_S_BAD_PARAMS);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	c->en->stats.launches++;
	if (a->param_len)
		memcpy(r->scratch, c->params, a->param_len);
	r->br.stream = stream;
	r->br.launch.func = f->be_id;
	memcpy(r->br.launch.grid, a->grid, sizeof(a->grid));
	memcpy(r->br.launch.block, a->block, sizeof(a->block));
	r->br.launch.shmem = a->shmem;
	r->br.launch.params = r->scratch;
	r->br.launch.param_len = a->param_len;
	return eng_submit(c->en, r);
}
