// SPDX-License-Identifier: MIT
/*
 * Device memory: allocate, free, how much of the quota is left.
 */
#include <string.h>

#include "core_priv.h"

static int mem_cmd(struct vgpu_sess *s, uint8_t op, uint64_t arg,
		   uint64_t *result)
{
	struct vgpu_sqe e;

	memset(&e, 0, sizeof(e));
	e.opcode = op;
	e.arg[0] = arg;
	return vgpu_exec(s, &e, NULL, 0, result);
}

int vgpu_mem_alloc(struct vgpu_sess *s, uint64_t bytes, uint64_t *dptr)
{
	if (!bytes)
		return VGPU_S_INVALID;
	return mem_cmd(s, VGPU_OP_MEM_ALLOC, bytes, dptr);
}

int vgpu_mem_free(struct vgpu_sess *s, uint64_t dptr)
{
	return mem_cmd(s, VGPU_OP_MEM_FREE, dptr, NULL);
}

int vgpu_mem_get_info(struct vgpu_sess *s, uint64_t *free_bytes)
{
	return mem_cmd(s, VGPU_OP_MEM_GET_INFO, 0, free_bytes);
}
