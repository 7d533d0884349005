// SPDX-License-Identifier: MIT
/*
 * Pinned host memory: allocations from the session's pool (beyond the
 * staging chunks), or a region of their own when large or when the pool
 * is full; the lookup that lets a copy from pinned memory go to the
 * device straight; scratch buffers for commands' inputs and outputs.
 */
#include <errno.h>
#include <stdlib.h>

#include "core_priv.h"

/* Allocations above this share of the pool get a region of their own. */
#define POOL_SHARE_DIV 4u

static uint64_t pool_off(const struct vgpu_sess *s, const void *va)
{
	return (uint64_t)((const char *)va - (const char *)s->tr.pool);
}

static bool in_pool(const struct vgpu_sess *s, const void *va)
{
	const char *p = va, *b = s->tr.pool;

	return p >= b && p < b + s->tr.pool_len;
}

static int region_new(struct vgpu_sess *s, uint64_t bytes,
		      struct vgpu_region **out)
{
	struct vgpu_region *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return VGPU_L_NOMEM;
	rc = s->tr.ops->region_alloc(&s->tr, bytes, &r->id, &r->va, &r->len);
	if (rc < 0) {
		free(r);
		/* over the driver's limits (-E2BIG, -EINVAL, -ENOSPC) is
		 * out of pinned memory; a lost device is not */
		return rc == -ENODEV || rc == -EIO ? VGPU_L_IO : VGPU_L_NOMEM;
	}
	*out = r;
	return VGPU_S_OK;
}

static void region_drop(struct vgpu_sess *s, struct vgpu_region *r)
{
	s->tr.ops->region_free(&s->tr, r->id, r->va, r->len);
	free(r);
}

int vgpu_host_alloc(struct vgpu_sess *s, uint64_t bytes, void **va)
{
	struct vgpu_region *r;
	uint64_t off;
	int rc;

	if (!bytes)
		return VGPU_S_INVALID;
	pthread_mutex_lock(&s->lock);
	if (bytes <= s->tr.pool_len / POOL_SHARE_DIV &&
	    !vgpu_pool_alloc(&s->pool, bytes, &off)) {
		*va = (char *)s->tr.pool + off;
		pthread_mutex_unlock(&s->lock);
		return VGPU_S_OK;
	}
	pthread_mutex_unlock(&s->lock);
	rc = region_new(s, bytes, &r);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->lock);
	r->next = s->regions;
	s->regions = r;
	pthread_mutex_unlock(&s->lock);
	*va = r->va;
	return VGPU_S_OK;
}

int vgpu_host_free(struct vgpu_sess *s, void *va)
{
	struct vgpu_region **pp, *r;

	pthread_mutex_lock(&s->lock);
	if (in_pool(s, va)) {
		int rc = vgpu_pool_free(&s->pool, pool_off(s, va));

		pthread_mutex_unlock(&s->lock);
		return rc ? VGPU_S_INVALID : VGPU_S_OK;
	}
	for (pp = &s->regions; (r = *pp); pp = &r->next) {
		if (r->va == va) {
			*pp = r->next;
			pthread_mutex_unlock(&s->lock);
			region_drop(s, r);
			return VGPU_S_OK;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return VGPU_S_INVALID;
}

/* Lock held. The pinned allocation holding va. */
static int find_locked(struct vgpu_sess *s, const void *va, char **base,
		       uint64_t *size, uint32_t *region)
{
	const struct vgpu_region *r;
	uint64_t start;

	if (in_pool(s, va)) {
		if (vgpu_pool_find(&s->pool, pool_off(s, va), &start, size))
			return VGPU_S_NOT_FOUND;
		*base = (char *)s->tr.pool + start;
		*region = s->tr.pool_region;
		return VGPU_S_OK;
	}
	for (r = s->regions; r; r = r->next) {
		const char *p = va, *b = r->va;

		if (p >= b && p < b + r->len) {
			*base = r->va;
			*size = r->len;
			*region = r->id;
			return VGPU_S_OK;
		}
	}
	return VGPU_S_NOT_FOUND;
}

int vgpu_host_lookup(struct vgpu_sess *s, const void *va, uint64_t len,
		     uint32_t *region, uint64_t *off)
{
	uint64_t size, at;
	char *base;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = find_locked(s, va, &base, &size, region);
	pthread_mutex_unlock(&s->lock);
	if (rc)
		return rc;
	at = (uint64_t)((const char *)va - base);
	if (len > size - at)
		return VGPU_S_NOT_FOUND; /* runs past the allocation */
	/* pool offsets count from the pool's start, not the block's */
	*off = in_pool(s, va) ? pool_off(s, va) : at;
	return VGPU_S_OK;
}

int vgpu_host_range(struct vgpu_sess *s, const void *va, void **base,
		    uint64_t *size)
{
	uint32_t region;
	char *b;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = find_locked(s, va, &b, size, &region);
	pthread_mutex_unlock(&s->lock);
	if (!rc)
		*base = b;
	return rc;
}

int vgpu_scratch_get(struct vgpu_sess *s, uint64_t len, struct vgpu_scratch *sc)
{
	struct vgpu_region *r;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (!vgpu_pool_alloc(&s->pool, len, &sc->off)) {
		pthread_mutex_unlock(&s->lock);
		sc->va = (char *)s->tr.pool + sc->off;
		sc->region = s->tr.pool_region;
		sc->len = 0; /* from the pool */
		return VGPU_S_OK;
	}
	pthread_mutex_unlock(&s->lock);
	rc = region_new(s, len, &r);
	if (rc)
		return rc;
	sc->va = r->va;
	sc->region = r->id;
	sc->off = 0;
	sc->len = r->len;
	free(r);
	return VGPU_S_OK;
}

void vgpu_scratch_put(struct vgpu_sess *s, struct vgpu_scratch *sc)
{
	if (!sc->len) {
		pthread_mutex_lock(&s->lock);
		vgpu_pool_free(&s->pool, sc->off);
		pthread_mutex_unlock(&s->lock);
	} else {
		s->tr.ops->region_free(&s->tr, sc->region, sc->va, sc->len);
	}
	sc->va = NULL;
}

void vgpu_regions_free_all(struct vgpu_sess *s)
{
	while (s->regions) {
		struct vgpu_region *r = s->regions;

		s->regions = r->next;
		region_drop(s, r);
	}
}
