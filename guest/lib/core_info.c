// SPDX-License-Identifier: MIT
/*
 * DEVICE_INFO, asked once per session and cached: the device as the
 * session sees it (name, memory, compute capability, attributes).
 */
#include <stdlib.h>
#include <string.h>

#include "core_priv.h"

static int fetch(struct vgpu_sess *s, struct vgpu_device_info *out)
{
	struct vgpu_scratch sc;
	struct vgpu_sqe e;
	int rc;

	rc = vgpu_scratch_get(s, sizeof(*out), &sc);
	if (rc)
		return rc;
	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_DEVICE_INFO;
	e.buf.out_off = sc.off;
	e.buf.out_len = sizeof(*out);
	e.buf.region = sc.region;
	rc = vgpu_exec(s, &e, NULL, 0, NULL);
	if (!rc)
		memcpy(out, sc.va, sizeof(*out));
	vgpu_scratch_put(s, &sc);
	if (rc)
		return rc;
	/* strings from the device end where we say */
	out->name[sizeof(out->name) - 1] = '\0';
	out->backend[sizeof(out->backend) - 1] = '\0';
	if (out->nattrs > VGPU_ATTRS_MAX)
		out->nattrs = VGPU_ATTRS_MAX;
	return VGPU_S_OK;
}

int vgpu_device_info(struct vgpu_sess *s, const struct vgpu_device_info **out)
{
	struct vgpu_device_info *info;
	int rc;

	pthread_mutex_lock(&s->lock);
	info = s->info;
	pthread_mutex_unlock(&s->lock);
	if (info) {
		*out = info;
		return VGPU_S_OK;
	}
	info = malloc(sizeof(*info));
	if (!info)
		return VGPU_L_NOMEM;
	rc = fetch(s, info);
	if (rc) {
		free(info);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	if (s->info) { /* another thread was quicker */
		free(info);
		info = s->info;
	} else {
		s->info = info;
	}
	pthread_mutex_unlock(&s->lock);
	*out = info;
	return VGPU_S_OK;
}
