// SPDX-License-Identifier: MIT
/*
 * The pinned pool's allocator; see core_pool.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core_pool.h"

struct vgpu_pool_blk {
	uint64_t off;
	uint64_t len;
	bool used;
	struct vgpu_pool_blk *next;
};

int vgpu_pool_init(struct vgpu_pool *p, uint64_t off, uint64_t len)
{
	uint64_t start = (off + VGPU_POOL_ALIGN - 1) &
			 ~(uint64_t)(VGPU_POOL_ALIGN - 1);

	p->head = NULL;
	if (start < off || len <= start - off)
		return 0; /* nothing to hand out */
	p->head = calloc(1, sizeof(*p->head));
	if (!p->head)
		return -ENOMEM;
	p->head->off = start;
	p->head->len = (len - (start - off)) & ~(uint64_t)(VGPU_POOL_ALIGN - 1);
	if (!p->head->len) {
		free(p->head);
		p->head = NULL;
	}
	return 0;
}

void vgpu_pool_fini(struct vgpu_pool *p)
{
	while (p->head) {
		struct vgpu_pool_blk *b = p->head;

		p->head = b->next;
		free(b);
	}
}

int vgpu_pool_alloc(struct vgpu_pool *p, uint64_t len, uint64_t *off)
{
	uint64_t want = (len + VGPU_POOL_ALIGN - 1) &
			~(uint64_t)(VGPU_POOL_ALIGN - 1);
	struct vgpu_pool_blk *b;

	if (!len || want < len)
		return -ENOMEM;
	for (b = p->head; b; b = b->next) {
		if (b->used || b->len < want)
			continue;
		if (b->len > want) {
			struct vgpu_pool_blk *rest = calloc(1, sizeof(*rest));

			if (!rest)
				return -ENOMEM;
			rest->off = b->off + want;
			rest->len = b->len - want;
			rest->next = b->next;
			b->next = rest;
			b->len = want;
		}
		b->used = true;
		*off = b->off;
		return 0;
	}
	return -ENOMEM;
}

/* Merge b with its successor if both are free. */
static void merge_next(struct vgpu_pool_blk *b)
{
	struct vgpu_pool_blk *n = b->next;

	if (n && !b->used && !n->used) {
		b->len += n->len;
		b->next = n->next;
		free(n);
	}
}

int vgpu_pool_free(struct vgpu_pool *p, uint64_t off)
{
	struct vgpu_pool_blk *prev = NULL, *b;

	for (b = p->head; b; prev = b, b = b->next) {
		if (b->off != off)
			continue;
		if (!b->used)
			return -EINVAL;
		b->used = false;
		merge_next(b);
		if (prev)
			merge_next(prev);
		return 0;
	}
	return -EINVAL;
}

int vgpu_pool_find(const struct vgpu_pool *p, uint64_t off, uint64_t *start,
		   uint64_t *len)
{
	const struct vgpu_pool_blk *b;

	for (b = p->head; b; b = b->next) {
		if (off < b->off || off - b->off >= b->len)
			continue;
		if (!b->used)
			return -ENOENT;
		*start = b->off;
		*len = b->len;
		return 0;
	}
	return -ENOENT;
}

void vgpu_pool_usage(const struct vgpu_pool *p, uint64_t *free_bytes,
		     uint64_t *largest)
{
	const struct vgpu_pool_blk *b;

	*free_bytes = 0;
	*largest = 0;
	for (b = p->head; b; b = b->next) {
		if (b->used)
			continue;
		*free_bytes += b->len;
		if (b->len > *largest)
			*largest = b->len;
	}
}
