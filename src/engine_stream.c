// SPDX-License-Identifier: GPL-2.0-only
/*
 * Streams, events, synchronisation and DEVICE_INFO. Handles are the
 * session's; the backend sees its own ids. Destroying a stream or an
 * event frees the handle at once; the backend lets the work already
 * submitted finish.
 */
#include <string.h>

#include "engine_priv.h"

#define EVENT_FLAGS (0x1u | VGPU_EVENT_DISABLE_TIMING) /* blocking sync */

bool stream_id(struct session *s, uint32_t h, uint32_t *id)
{
	struct hslot *slot;

	if (!h) {
		*id = 0;
		return true;
	}
	slot = htab_get(&s->streams, h);
	if (!slot)
		return false;
	*id = slot->be_id;
	return true;
}

static bool event_id(struct session *s, uint32_t h, uint32_t *id)
{
	struct hslot *slot = htab_get(&s->events, h);

	if (!slot)
		return false;
	*id = slot->be_id;
	return true;
}

/* STREAM_CREATE and EVENT_CREATE: the handle becomes live. */
static void create_done(struct engine *en, struct eng_req *r)
{
	struct htab *t = r->br.op == VGPU_OP_STREAM_CREATE ? &r->s->streams :
							     &r->s->events;
	struct hslot *h = htab_get_any(t, r->slot);

	if (!h)
		return;
	if (r->br.status != VGPU_S_OK) {
		htab_free(t, r->slot);
		return;
	}
	h->be_id = (uint32_t)r->br.result;
	h->state = HS_LIVE;
	r->br.result = r->slot;
}

static enum ring_exec create(struct cmd *c, struct htab *t, uint32_t allowed)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct hslot *h;
	struct eng_req *r;
	uint32_t handle;

	if (o->obj || o->obj2 || o->stream || (o->flags & ~allowed))
		return eng_fail(c, VGPU_S_INVALID);
	handle = htab_alloc(t, &h);
	if (!handle)
		return eng_fail(c, VGPU_S_LIMIT);
	r = eng_req_get(c, create_done);
	if (!r) {
		htab_free(t, handle);
		return RING_RETRY;
	}
	r->slot = handle;
	r->br.obj.flags = o->flags;
	return eng_submit(c->en, r);
}

static enum ring_exec destroy(struct cmd *c, struct htab *t)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct hslot *h;
	struct eng_req *r;

	if (o->obj2 || o->stream || o->flags)
		return eng_fail(c, VGPU_S_INVALID);
	h = htab_get(t, o->obj);
	if (!h)
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.obj.obj = h->be_id;
	htab_free(t, o->obj);
	return eng_submit(c->en, r);
}

/* Which fields an opcode uses: the others must be 0. */
#define U_OBJ 1
#define U_OBJ2 2
#define U_STREAM 4

static uint32_t uses(uint8_t op)
{
	switch (op) {
	case VGPU_OP_STREAM_SYNC:
		return U_OBJ;
	case VGPU_OP_STREAM_WAIT_EVENT:
	case VGPU_OP_EVENT_ELAPSED:
		return U_OBJ | U_OBJ2;
	case VGPU_OP_EVENT_RECORD:
		return U_OBJ | U_STREAM;
	case VGPU_OP_EVENT_QUERY:
	case VGPU_OP_EVENT_SYNC:
		return U_OBJ;
	}
	return 0; /* CTX_SYNC */
}

/* Translate the handles of a sync, record, query or wait. */
static uint32_t translate(struct cmd *c, struct be_req *b)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct session *s = c->s;
	uint32_t u = uses(c->e->opcode);

	if (o->flags || (!(u & U_OBJ) && o->obj) ||
	    (!(u & U_OBJ2) && o->obj2) || (!(u & U_STREAM) && o->stream))
		return VGPU_S_INVALID;
	switch (c->e->opcode) {
	case VGPU_OP_STREAM_SYNC:
		return stream_id(s, o->obj, &b->stream) ? 0 : VGPU_S_BAD_HANDLE;
	case VGPU_OP_STREAM_WAIT_EVENT:
		if (!stream_id(s, o->obj, &b->stream) ||
		    !event_id(s, o->obj2, &b->obj.obj2))
			return VGPU_S_BAD_HANDLE;
		b->obj.obj = b->stream;
		return 0;
	case VGPU_OP_EVENT_RECORD:
		if (!stream_id(s, o->stream, &b->stream) ||
		    !event_id(s, o->obj, &b->obj.obj))
			return VGPU_S_BAD_HANDLE;
		return 0;
	case VGPU_OP_EVENT_ELAPSED:
		if (!event_id(s, o->obj2, &b->obj.obj2))
			return VGPU_S_BAD_HANDLE;
		/* fall through */
	case VGPU_OP_EVENT_QUERY:
	case VGPU_OP_EVENT_SYNC:
		return event_id(s, o->obj, &b->obj.obj) ? 0 : VGPU_S_BAD_HANDLE;
	}
	return 0;
}

static enum ring_exec sync_cmd(struct cmd *c)
{
	struct be_req b = { 0 };
	struct eng_req *r;
	uint32_t st = translate(c, &b);

	if (st)
		return eng_fail(c, st);
	r = eng_req_get(c, NULL);
	if (!r)
		return RING_RETRY;
	r->br.stream = b.stream;
	r->br.obj = b.obj;
	return eng_submit(c->en, r);
}

enum ring_exec stream_cmd(struct cmd *c)
{
	const struct vgpu_cmd_obj *o = &c->e->obj;

	if (!eng_zero(o->rsvd, sizeof(o->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	switch (c->e->opcode) {
	case VGPU_OP_STREAM_CREATE:
		return create(c, &c->s->streams, VGPU_STREAM_NON_BLOCKING);
	case VGPU_OP_EVENT_CREATE:
		return create(c, &c->s->events, EVENT_FLAGS);
	case VGPU_OP_STREAM_DESTROY:
		return destroy(c, &c->s->streams);
	case VGPU_OP_EVENT_DESTROY:
		return destroy(c, &c->s->events);
	}
	return sync_cmd(c);
}

static void info_done(struct engine *en, struct eng_req *r)
{
	struct vgpu_device_info *di = (struct vgpu_device_info *)r->scratch;

	if (r->br.status != VGPU_S_OK)
		return;
	/* what this VM may allocate, whatever the device has */
	di->total_mem = en->lim.devmem;
	di->name[sizeof(di->name) - 1] = '\0';
	di->backend[sizeof(di->backend) - 1] = '\0';
	if (di->nattrs > VGPU_ATTRS_MAX)
		di->nattrs = VGPU_ATTRS_MAX;
	eng_put_out(en, r, di, sizeof(*di));
}

enum ring_exec device_info(struct cmd *c)
{
	const struct vgpu_cmd_buf *a = &c->e->buf;
	struct eng_region *in, *out;
	struct eng_req *r;
	uint32_t st = buf_ranges(c, &in, &out);

	if (!st && (in || !out || a->obj || a->flags ||
		    a->out_len < offsetof(struct vgpu_device_info, attr)))
		st = VGPU_S_INVALID;
	if (st)
		return eng_fail(c, st);
	r = eng_req_get(c, info_done);
	if (!r)
		return RING_RETRY;
	memset(r->scratch, 0, sizeof(struct vgpu_device_info));
	r->out_off = a->out_off;
	r->out_len = a->out_len;
	region_hold(r, out);
	r->out_region = r->region;
	r->region = NULL;
	r->br.devinfo = (struct vgpu_device_info *)r->scratch;
	return eng_submit(c->en, r);
}
