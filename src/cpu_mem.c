// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU backend's device memory: host memory behind device addresses
 * handed out from a private range with a guard gap after every
 * allocation, so that an off-by-one in a kernel or a range lands in no
 * allocation and faults. Kernels reach memory only through cpu_ptr(),
 * which checks every access against the session's allocations; a freed
 * allocation leaves the table at once but its memory waits in the
 * graveyard until the session has no stream work left.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu_priv.h"

uint32_t cpu_mem_alloc(struct backend_cpu *c, struct cpu_session *s,
		       uint64_t bytes, uint64_t *dptr)
{
	struct cpu_alloc *a;

	if (!bytes || bytes > (1ull << 40))
		return VGPU_S_NO_MEMORY;
	a = calloc(1, sizeof(*a));
	if (!a)
		return VGPU_S_NO_MEMORY;
	a->mem = calloc(1, bytes);
	if (!a->mem) {
		free(a);
		return VGPU_S_NO_MEMORY;
	}
	a->dptr = c->next_dptr;
	a->len = bytes;
	c->next_dptr += (bytes + CPU_GUARD + 0xffff) & ~0xffffull;
	a->next = s->allocs;
	s->allocs = a;
	*dptr = a->dptr;
	return VGPU_S_OK;
}

uint32_t cpu_mem_free(struct backend_cpu *c, struct cpu_session *s,
		      uint64_t dptr)
{
	struct cpu_alloc **pp;

	for (pp = &s->allocs; *pp; pp = &(*pp)->next) {
		struct cpu_alloc *a = *pp;

		if (a->dptr != dptr)
			continue;
		*pp = a->next;
		a->next = s->grave;
		s->grave = a;
		cpu_mem_bury(s);
		return VGPU_S_OK;
	}
	return VGPU_S_BAD_ADDRESS;
}

static void free_list(struct cpu_alloc *a)
{
	while (a) {
		struct cpu_alloc *next = a->next;

		free(a->mem);
		free(a);
		a = next;
	}
}

void cpu_mem_bury(struct cpu_session *s)
{
	struct cpu_module **pp = &s->modules;

	if (s->active)
		return;
	free_list(s->grave);
	s->grave = NULL;
	/* unloaded modules: no launch can look at them any more */
	while (*pp) {
		struct cpu_module *m = *pp;

		if (m->dead) {
			*pp = m->next;
			free(m);
		} else {
			pp = &m->next;
		}
	}
}

void cpu_mem_free_all(struct cpu_session *s)
{
	free_list(s->allocs);
	free_list(s->grave);
	s->allocs = s->grave = NULL;
}

static struct cpu_alloc *lookup(struct cpu_session *s, uint64_t dptr,
				uint64_t len)
{
	struct cpu_alloc *a;

	for (a = s->allocs; a; a = a->next)
		if (dptr >= a->dptr && dptr - a->dptr < a->len &&
		    len <= a->len - (dptr - a->dptr))
			return a;
	return NULL;
}

uint8_t *cpu_mem_host(struct cpu_session *s, uint64_t dptr, uint64_t len)
{
	struct cpu_alloc *a = lookup(s, dptr, len);

	return a ? a->mem + (dptr - a->dptr) : NULL;
}

void *cpu_ptr(struct cpu_kctx *k, uint64_t dptr, uint64_t len)
{
	const struct cpu_alloc *a = k->cache;

	if (k->status)
		return NULL;
	if (!a || dptr < a->dptr || dptr - a->dptr >= a->len ||
	    len > a->len - (dptr - a->dptr)) {
		pthread_mutex_lock(&k->c->mu);
		a = lookup(k->s, dptr, len);
		pthread_mutex_unlock(&k->c->mu);
		if (!a) {
			k->status = VGPU_S_FAULT;
			return NULL;
		}
		k->cache = a;
	}
	return a->mem + (dptr - a->dptr);
}

/* Both ends of a device range, checked (mu taken). */
static uint8_t *dev(struct backend_cpu *c, struct cpu_session *s, uint64_t dptr,
		    uint64_t len)
{
	uint8_t *p;

	pthread_mutex_lock(&c->mu);
	p = cpu_mem_host(s, dptr, len);
	pthread_mutex_unlock(&c->mu);
	return p;
}

static uint32_t memset_dev(uint8_t *p, const struct be_req *r)
{
	uint64_t i;

	if (r->memset.elem == 1) {
		memset(p, (int)r->memset.value, r->memset.count);
		return VGPU_S_OK;
	}
	for (i = 0; i < r->memset.count; i++) {
		if (r->memset.elem == 2) {
			uint16_t v = (uint16_t)r->memset.value;

			memcpy(p + 2 * i, &v, 2);
		} else {
			memcpy(p + 4 * i, &r->memset.value, 4);
		}
	}
	return VGPU_S_OK;
}

/* The 1.1 toy kernels: add one to each word, or xor them all. */
static uint32_t compute(uint8_t *dst, const uint8_t *src, struct be_req *r)
{
	uint32_t x = 0, w;
	uint64_t i;

	for (i = 0; i < r->compute.len; i += 4) {
		memcpy(&w, src + i, 4);
		if (r->compute.kernel == VGPU_K_ADD1_U32) {
			w++;
			memcpy(dst + i, &w, 4);
		} else {
			x ^= w;
		}
	}
	r->result = r->compute.kernel == VGPU_K_ADD1_U32 ? r->compute.len / 4 :
							   x;
	return VGPU_S_OK;
}

uint32_t cpu_exec_mem(struct backend_cpu *c, struct cpu_session *s,
		      struct be_req *r)
{
	uint8_t *p, *q;

	switch (r->op) {
	case VGPU_OP_COPY_H2D:
	case VGPU_OP_COPY_D2H:
		p = dev(c, s, r->copy.dptr, r->copy.len);
		if (!p)
			return VGPU_S_BAD_ADDRESS;
		q = r->copy.region->va + r->copy.offset;
		if (r->op == VGPU_OP_COPY_H2D)
			memcpy(p, q, r->copy.len);
		else
			memcpy(q, p, r->copy.len);
		return VGPU_S_OK;
	case VGPU_OP_COPY_D2D:
		p = dev(c, s, r->d2d.dst, r->d2d.len);
		q = dev(c, s, r->d2d.src, r->d2d.len);
		if (!p || !q)
			return VGPU_S_BAD_ADDRESS;
		memmove(p, q, r->d2d.len);
		return VGPU_S_OK;
	case VGPU_OP_MEMSET:
		p = dev(c, s, r->memset.dptr, r->memset.count * r->memset.elem);
		return p ? memset_dev(p, r) : VGPU_S_BAD_ADDRESS;
	case VGPU_OP_COMPUTE:
		q = dev(c, s, r->compute.src, r->compute.len);
		p = r->compute.kernel == VGPU_K_ADD1_U32 ?
			    dev(c, s, r->compute.dst, r->compute.len) :
			    q;
		return p && q ? compute(p, q, r) : VGPU_S_BAD_ADDRESS;
	}
	return VGPU_S_NOT_SUPPORTED;
}
