// SPDX-License-Identifier: MIT
/*
 * PLACEHOLDER, owned by branch loopback: at merge take that branch's
 * version of this file. Until then the loopback transport reports that
 * it is missing.
 */
#include <errno.h>

#include "transport.h"

static int l_open(struct vgpu_tr_session *s, const struct vgpu_tr_params *p)
{
	(void)s;
	(void)p;
	return -ENOSYS;
}

static int l_doorbell(struct vgpu_tr_session *s)
{
	(void)s;
	return -ENOSYS;
}

static int l_wait(struct vgpu_tr_session *s, uint32_t head, uint64_t timeout_ns)
{
	(void)s;
	(void)head;
	(void)timeout_ns;
	return -ENOSYS;
}

static int l_region_alloc(struct vgpu_tr_session *s, uint64_t bytes,
			  uint32_t *region, void **va, uint64_t *len)
{
	(void)s;
	(void)bytes;
	(void)region;
	(void)va;
	(void)len;
	return -ENOSYS;
}

static int l_region_free(struct vgpu_tr_session *s, uint32_t region, void *va,
			 uint64_t len)
{
	(void)s;
	(void)region;
	(void)va;
	(void)len;
	return -ENOSYS;
}

static void l_close(struct vgpu_tr_session *s)
{
	(void)s;
}

const struct vgpu_tr_ops vgpu_tr_loop = {
	.name = "loopback (placeholder)",
	.open = l_open,
	.doorbell = l_doorbell,
	.wait = l_wait,
	.region_alloc = l_region_alloc,
	.region_free = l_region_free,
	.close = l_close,
};
