// SPDX-License-Identifier: MIT
/*
 * Launches (the parameters in continuation slots), streams, events and
 * context synchronisation. Launches, event records and stream waits are
 * asynchronous (QUIET); everything else waits for its completion.
 */
#include <string.h>

#include "core_priv.h"

int vgpu_launch(struct vgpu_sess *s, const struct vgpu_launch *l)
{
	struct vgpu_sqe e;
	int i;

	if (l->param_len > VGPU_PARAM_MAX || (l->param_len && !l->params))
		return VGPU_S_INVALID;
	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_LAUNCH;
	e.launch.func = l->func;
	e.launch.stream = l->stream;
	for (i = 0; i < 3; i++) {
		e.launch.grid[i] = l->grid[i];
		e.launch.block[i] = l->block[i];
	}
	e.launch.shmem = l->shmem;
	e.launch.param_len = l->param_len;
	return vgpu_post(s, &e, l->params, l->param_len);
}

static void obj_entry(struct vgpu_sqe *e, uint8_t op, uint32_t obj,
		      uint32_t obj2, uint32_t stream, uint32_t flags)
{
	memset(e, 0, sizeof(*e));
	e->opcode = op;
	e->obj.obj = obj;
	e->obj.obj2 = obj2;
	e->obj.stream = stream;
	e->obj.flags = flags;
}

/* A command that waits: its 32-bit result (a handle, a flag) if asked. */
static int obj_exec(struct vgpu_sess *s, uint8_t op, uint32_t obj,
		    uint32_t obj2, uint32_t stream, uint32_t flags,
		    uint64_t *result)
{
	struct vgpu_sqe e;

	obj_entry(&e, op, obj, obj2, stream, flags);
	return vgpu_exec(s, &e, NULL, 0, result);
}

static int obj_post(struct vgpu_sess *s, uint8_t op, uint32_t obj,
		    uint32_t obj2, uint32_t stream)
{
	struct vgpu_sqe e;

	obj_entry(&e, op, obj, obj2, stream, 0);
	return vgpu_post(s, &e, NULL, 0);
}

/* A new handle: the device mints it, never 0, 32 bits. */
static int create(struct vgpu_sess *s, uint8_t op, uint32_t flags,
		  uint32_t *out)
{
	uint64_t r;
	int rc = obj_exec(s, op, 0, 0, 0, flags, &r);

	if (rc)
		return rc;
	if (!r || r > UINT32_MAX)
		return VGPU_L_QUEUE;
	*out = (uint32_t)r;
	return VGPU_S_OK;
}

int vgpu_stream_create(struct vgpu_sess *s, uint32_t flags, uint32_t *stream)
{
	return create(s, VGPU_OP_STREAM_CREATE, flags, stream);
}

int vgpu_stream_destroy(struct vgpu_sess *s, uint32_t stream)
{
	return obj_exec(s, VGPU_OP_STREAM_DESTROY, stream, 0, 0, 0, NULL);
}

int vgpu_stream_sync(struct vgpu_sess *s, uint32_t stream)
{
	return obj_exec(s, VGPU_OP_STREAM_SYNC, stream, 0, 0, 0, NULL);
}

int vgpu_stream_wait_event(struct vgpu_sess *s, uint32_t stream, uint32_t event)
{
	return obj_post(s, VGPU_OP_STREAM_WAIT_EVENT, stream, event, 0);
}

int vgpu_event_create(struct vgpu_sess *s, uint32_t flags, uint32_t *event)
{
	return create(s, VGPU_OP_EVENT_CREATE, flags, event);
}

int vgpu_event_destroy(struct vgpu_sess *s, uint32_t event)
{
	return obj_exec(s, VGPU_OP_EVENT_DESTROY, event, 0, 0, 0, NULL);
}

int vgpu_event_record(struct vgpu_sess *s, uint32_t event, uint32_t stream)
{
	return obj_post(s, VGPU_OP_EVENT_RECORD, event, 0, stream);
}

int vgpu_event_query(struct vgpu_sess *s, uint32_t event, int *done)
{
	uint64_t r;
	int rc = obj_exec(s, VGPU_OP_EVENT_QUERY, event, 0, 0, 0, &r);

	if (!rc)
		*done = r != 0;
	return rc;
}

int vgpu_event_sync(struct vgpu_sess *s, uint32_t event)
{
	return obj_exec(s, VGPU_OP_EVENT_SYNC, event, 0, 0, 0, NULL);
}

int vgpu_event_elapsed(struct vgpu_sess *s, uint32_t start, uint32_t end,
		       uint64_t *ns)
{
	return obj_exec(s, VGPU_OP_EVENT_ELAPSED, start, end, 0, 0, ns);
}

int vgpu_ctx_sync(struct vgpu_sess *s)
{
	return obj_exec(s, VGPU_OP_CTX_SYNC, 0, 0, 0, 0, NULL);
}
