/* SPDX-License-Identifier: MIT */
/*
 * A first-fit allocator over a range of offsets (the pinned pool): blocks
 * in address order, split on allocation, merged with free neighbours on
 * release. Not thread-safe (the session lock covers it).
 */
#ifndef VGPU_GUEST_CORE_POOL_H
#define VGPU_GUEST_CORE_POOL_H

#include <stdint.h>

#define VGPU_POOL_ALIGN 256u /* what cudaMallocHost promises at least */

struct vgpu_pool_blk;

struct vgpu_pool {
	struct vgpu_pool_blk *head; /* NULL: an empty pool */
};

/* [off, off + len) is the range to hand out. 0 or -ENOMEM. */
int vgpu_pool_init(struct vgpu_pool *p, uint64_t off, uint64_t len);
void vgpu_pool_fini(struct vgpu_pool *p);
/* 0 and *off, or -ENOMEM (no room, or len 0 / overflowing). */
int vgpu_pool_alloc(struct vgpu_pool *p, uint64_t len, uint64_t *off);
/* off must be an allocation's start: 0, else -EINVAL. */
int vgpu_pool_free(struct vgpu_pool *p, uint64_t off);
/* The allocation holding off: 0 with its start and length, or -ENOENT. */
int vgpu_pool_find(const struct vgpu_pool *p, uint64_t off, uint64_t *start,
		   uint64_t *len);
/* Bytes free, and the largest free block (tests, diagnostics). */
void vgpu_pool_usage(const struct vgpu_pool *p, uint64_t *free_bytes,
		     uint64_t *largest);

#endif
