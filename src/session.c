// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions and handle tables. A handle is type << 28 | generation << 16 |
 * index: 0 is never one, a freed slot's next handle differs from the old
 * one (stale handles are caught), and every table belongs to exactly one
 * session (another session's handle names nothing here). The generation
 * field carries a salt that differs from session to session (the VM's
 * sessions take turns through 4095 values), so the same slot of two
 * sessions has two different handles: a handle passed from one session
 * to another is refused as BAD_HANDLE instead of naming the receiver's
 * own object in that slot.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

#define H_IDX(h) ((h)&0xffffu)
#define H_GEN(h) (((h) >> 16) & 0xfffu)
#define H_TYPE(h) ((h) >> 28)

int htab_init(struct htab *t, enum htype type, uint32_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap > 0x10000)
		cap = 0x10000;
	t->s = calloc(cap ? cap : 1, sizeof(*t->s));
	if (!t->s)
		return -ENOMEM;
	t->cap = cap;
	t->type = (uint8_t)type;
	return 0;
}

void htab_fini(struct htab *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* The generation as handles carry it: never 0. */
static uint32_t hgen(const struct htab *t, uint16_t gen)
{
	uint32_t g = (uint32_t)(gen - 1 + t->salt) % 0xfffu;

	return g + 1;
}

uint32_t htab_handle(const struct htab *t, uint32_t i)
{
	return (uint32_t)t->type << 28 | hgen(t, t->s[i].gen) << 16 | i;
}

uint32_t htab_alloc(struct htab *t, struct hslot **out)
{
	uint32_t i;

	if (t->used == t->cap)
		return 0;
	for (i = 0; i < t->cap; i++) {
		struct hslot *s = &t->s[i];

		if (s->state != HS_FREE)
			continue;
		s->gen = (uint16_t)((s->gen + 1) & 0xfff);
		if (!s->gen)
			s->gen = 1;
		s->state = HS_PENDING;
		s->be_id = s->owner = s->aux = 0;
		s->p = NULL;
		t->used++;
		*out = s;
		return htab_handle(t, i);
	}
	return 0;
}

struct hslot *htab_get_any(struct htab *t, uint32_t h)
{
	struct hslot *s;

	if (!t->s || H_TYPE(h) != t->type || H_IDX(h) >= t->cap)
		return NULL;
	s = &t->s[H_IDX(h)];
	return s->state != HS_FREE && hgen(t, s->gen) == H_GEN(h) ? s : NULL;
}

struct hslot *htab_get(struct htab *t, uint32_t h)
{
	struct hslot *s = htab_get_any(t, h);

	return s && s->state == HS_LIVE ? s : NULL;
}

void htab_free(struct htab *t, uint32_t h)
{
	struct hslot *s = htab_get_any(t, h);

	if (s) {
		s->state = HS_FREE;
		s->p = NULL;
		t->used--;
	}
}

/* ---- sessions ---- */

static uint32_t nslots(const struct engine *en)
{
	/* room for sessions still draining after a reset or a close */
	return 2 * en->lim.sessions + 2;
}

int sess_init_all(struct engine *en)
{
	en->sess = calloc(nslots(en), sizeof(*en->sess));
	if (!en->sess || htab_init(&en->sids, H_SESSION, nslots(en)) < 0)
		return -ENOMEM;
	return 0;
}

struct session *sess_lookup(struct engine *en, uint32_t handle)
{
	struct hslot *h;

	if (handle == 0)
		return en->legacy >= 0 ? &en->sess[en->legacy] : NULL;
	h = htab_get(&en->sids, handle);
	return h ? &en->sess[h - en->sids.s] : NULL;
}

static void sess_tables_fini(struct session *s)
{
	htab_fini(&s->regions);
	htab_fini(&s->modules);
	htab_fini(&s->funcs);
	htab_fini(&s->streams);
	htab_fini(&s->events);
	free(s->allocs);
	s->allocs = NULL;
}

static int sess_tables_init(struct engine *en, struct session *s)
{
	const struct engine_limits *l = &en->lim;
	uint16_t salt = en->next_salt;

	en->next_salt = (uint16_t)((en->next_salt + 1) % 0xfffu);
	s->allocs = calloc(l->allocs ? l->allocs : 1, sizeof(*s->allocs));
	if (!s->allocs || htab_init(&s->regions, H_REGION, l->regions) ||
	    htab_init(&s->modules, H_MODULE, l->modules) ||
	    htab_init(&s->funcs, H_FUNC, l->funcs) ||
	    htab_init(&s->streams, H_STREAM, l->streams) ||
	    htab_init(&s->events, H_EVENT, l->events)) {
		sess_tables_fini(s);
		return -ENOMEM;
	}
	s->regions.salt = s->modules.salt = s->funcs.salt = salt;
	s->streams.salt = s->events.salt = salt;
	return 0;
}

/* A fresh session in a free slot: its index, or -VGPU_S_* . */
static int sess_new(struct engine *en, bool legacy)
{
	struct backend *be = en->be;
	struct hslot *h;
	uint32_t handle = htab_alloc(&en->sids, &h);
	struct session *s;
	int i;

	if (!handle)
		return -VGPU_S_LIMIT;
	i = (int)(h - en->sids.s);
	s = &en->sess[i];
	memset(s, 0, sizeof(*s));
	if (be->session_overhead > en->lim.devmem - en->devmem_used) {
		htab_free(&en->sids, handle);
		return -VGPU_S_NO_MEMORY;
	}
	if (sess_tables_init(en, s) < 0) {
		htab_free(&en->sids, handle);
		return -VGPU_S_NO_MEMORY;
	}
	s->be_id = (uint32_t)i + 1;
	if (be->ops->session_open(be, s->be_id) < 0) {
		sess_tables_fini(s);
		htab_free(&en->sids, handle);
		return -VGPU_S_NO_MEMORY;
	}
	h->state = HS_LIVE;
	s->handle = legacy ? 0 : handle;
	s->state = SS_LIVE;
	s->queue = -1;
	s->devmem = be->session_overhead;
	en->devmem_used += s->devmem;
	en->stats.sessions += !legacy;
	return i;
}

int sess_open_legacy(struct engine *en)
{
	int i = sess_new(en, true);

	en->legacy = i >= 0 ? i : -1;
	return i >= 0 ? 0 : -1;
}

static uint32_t live_sessions(const struct engine *en)
{
	uint32_t i, n = 0;

	for (i = 0; i < nslots(en); i++)
		n += en->sess[i].state != SS_FREE &&
		     en->sess[i].state != SS_CLOSING && (int)i != en->legacy;
	return n;
}

bool engine_holds_state(const struct engine *en)
{
	return live_sessions(en) > 0 ||
	       (en->legacy >= 0 && en->sess[en->legacy].devmem > 0);
}

enum ring_exec sess_open(struct cmd *c)
{
	struct engine *en = c->en;
	const struct vgpu_cmd_obj *o = &c->e->obj;
	uint32_t qi = o->obj;
	int i;

	if (c->e->session || o->obj2 || o->stream || o->flags ||
	    !eng_zero(o->rsvd, sizeof(o->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	if (qi != VGPU_NO_QUEUE &&
	    (qi < ENGINE_PRIV_QUEUES || qi >= en->nq || en->q[qi].session))
		return eng_fail(c, VGPU_S_INVALID);
	if (live_sessions(en) >= en->lim.sessions)
		return eng_fail(c, VGPU_S_LIMIT);
	i = sess_new(en, false);
	if (i < 0)
		return eng_fail(c, (uint32_t)-i);
	if (qi != VGPU_NO_QUEUE) {
		en->sess[i].queue = (int)qi;
		en->q[qi].session = en->sess[i].handle;
	}
	c->result = en->sess[i].handle;
	return eng_fail(c, VGPU_S_OK);
}

/* Everything @s owned goes; the backend has handed back its requests. */
static void sess_free(struct engine *en, struct session *s)
{
	struct backend *be = en->be;
	struct eng_req *r = s->close_req;
	int i = (int)(s - en->sess);

	region_free_all(en, s);
	be->ops->session_close(be, s->be_id);
	if (en->stage.registered == s->be_id)
		en->stage.registered = 0; /* closed with the session */
	en->devmem_used -= s->devmem;
	sess_tables_fini(s);
	s->state = SS_FREE;
	s->close_req = NULL;
	htab_free(&en->sids, htab_handle(&en->sids, (uint32_t)i));
	if (en->legacy == i)
		en->legacy = -1;
	if (r) {
		r->br.status = VGPU_S_OK;
		eng_finish(en, r);
	}
}

void sess_drained(struct engine *en, struct session *s)
{
	if (s->state == SS_CLOSING && s->inflight == 0)
		sess_free(en, s);
}

void sess_end(struct engine *en, struct session *s)
{
	if (s->state == SS_FREE || s->state == SS_CLOSING)
		return;
	s->state = SS_CLOSING;
	if (s->inflight && en->be->ops->session_abort)
		en->be->ops->session_abort(en->be, s->be_id);
	if (s->queue >= 0) {
		unsigned int qi = (unsigned int)s->queue;

		s->queue = -1;
		engine_queue_disable(en, qi);
	}
	sess_drained(en, s);
}

enum ring_exec sess_close(struct cmd *c)
{
	struct engine *en = c->en;
	const struct vgpu_cmd_obj *o = &c->e->obj;
	struct hslot *h = htab_get(&en->sids, c->e->session);
	struct session *s;
	struct eng_req *r;

	if (o->obj || o->obj2 || o->stream || o->flags ||
	    !eng_zero(o->rsvd, sizeof(o->rsvd)))
		return eng_fail(c, VGPU_S_INVALID);
	s = h ? &en->sess[h - en->sids.s] : NULL;
	if (!s || s->state == SS_CLOSING || (int)(s - en->sess) == en->legacy)
		return eng_fail(c, VGPU_S_BAD_HANDLE);
	/* the close request belongs to the privileged queue, not to @s */
	c->s = &en->sess[en->legacy >= 0 ? en->legacy : 0];
	if (en->legacy < 0)
		c->s = s;
	r = eng_req_get(c, NULL);
	if (!r)
		return eng_fail(c, VGPU_S_NO_MEMORY);
	s->close_req = r;
	sess_end(en, s);
	return RING_ASYNC;
}

void sess_lose(struct engine *en, struct session *s, uint32_t status)
{
	if (s->state != SS_LIVE)
		return;
	s->state = SS_LOST;
	s->lost_status = status;
	en->stats.lost++;
	log_guest(en->log, "guest: session 0x%x lost (%s)", s->handle,
		  status == VGPU_S_TIMEOUT ? "kernel time limit" :
					     "kernel fault");
}

/* End every session; with @wait, until the backend drained them all. */
static void sess_end_all(struct engine *en, bool wait)
{
	uint32_t i;

	for (i = 0; i < nslots(en); i++)
		sess_end(en, &en->sess[i]);
	while (wait && en->sids.used) {
		int fd = en->be->ops->poll_fd(en->be);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (fd >= 0)
			poll(&p, 1, 100);
		en->be->ops->poll(en->be);
	}
}

void sess_reset_all(struct engine *en)
{
	sess_end_all(en, false);
}

void sess_fini_all(struct engine *en)
{
	if (en->sess)
		sess_end_all(en, true);
	htab_fini(&en->sids);
	free(en->sess);
	en->sess = NULL;
}

bool sess_has_room(const struct engine *en, const struct session *s, uint32_t n)
{
	return s->nallocs + s->pending_allocs + n <= en->lim.allocs;
}
