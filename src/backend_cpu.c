// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU backend: "device memory" is host memory, device addresses are
 * handed out from a private range with a guard gap after every
 * allocation (so that an off-by-one in a guest's range never lands in the
 * next allocation), and kernels are plain C loops.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vgpu/backend_v1.h>
#include <vgpu/vgpu_ring_abi.h>

#define CPU_DPTR_BASE 0x100000000000ull
#define CPU_GUARD 0x10000ull
#define CPU_MAX_ALLOCS 256

struct cpu_alloc {
	uint64_t dptr;
	uint64_t len;
	uint8_t *mem;
};

struct backend_cpu {
	struct backend be;
	struct cpu_alloc a[CPU_MAX_ALLOCS];
	unsigned int n;
	uint64_t next;
};

static struct backend_cpu *cpu(struct backend *b)
{
	return (struct backend_cpu *)b;
}

static struct cpu_alloc *find(struct backend_cpu *c, uint64_t dptr,
			      uint64_t len)
{
	unsigned int i;

	for (i = 0; i < c->n; i++) {
		struct cpu_alloc *a = &c->a[i];

		if (dptr >= a->dptr && dptr - a->dptr <= a->len &&
		    len <= a->len - (dptr - a->dptr))
			return a;
	}
	return NULL;
}

static int cpu_mem_alloc(struct backend *b, uint64_t bytes, uint64_t *dptr)
{
	struct backend_cpu *c = cpu(b);
	struct cpu_alloc *a;

	if (bytes == 0 || bytes > b->quota - b->used || c->n == CPU_MAX_ALLOCS)
		return -ENOMEM;
	a = &c->a[c->n];
	a->mem = calloc(1, bytes);
	if (!a->mem)
		return -ENOMEM;
	a->dptr = c->next;
	a->len = bytes;
	c->next += (bytes + CPU_GUARD + 0xfff) & ~0xfffull;
	c->n++;
	b->used += bytes;
	*dptr = a->dptr;
	return 0;
}

static int cpu_mem_free(struct backend *b, uint64_t dptr)
{
	struct backend_cpu *c = cpu(b);
	unsigned int i;

	for (i = 0; i < c->n; i++) {
		if (c->a[i].dptr != dptr)
			continue;
		b->used -= c->a[i].len;
		free(c->a[i].mem);
		c->a[i] = c->a[--c->n];
		return 0;
	}
	return -EINVAL; /* only an allocation's base may be freed */
}

static int cpu_mem_check(struct backend *b, uint64_t dptr, uint64_t len)
{
	return find(cpu(b), dptr, len) ? 0 : -EFAULT;
}

static int cpu_h2d(struct backend *b, uint64_t dptr, const void *src,
		   size_t len)
{
	struct cpu_alloc *a = find(cpu(b), dptr, len);

	if (!a)
		return -EFAULT;
	memcpy(a->mem + (dptr - a->dptr), src, len);
	return 0;
}

static int cpu_d2h(struct backend *b, void *dst, uint64_t dptr, size_t len)
{
	struct cpu_alloc *a = find(cpu(b), dptr, len);

	if (!a)
		return -EFAULT;
	memcpy(dst, a->mem + (dptr - a->dptr), len);
	return 0;
}

static int cpu_compute(struct backend *b, uint32_t k, uint64_t dst,
		       uint64_t src, uint64_t len, uint64_t *result)
{
	struct cpu_alloc *s = find(cpu(b), src, len), *d;
	uint32_t x = 0, w;
	uint64_t i;

	if (!s || len % 4)
		return -EFAULT;
	switch (k) {
	case VGPU_K_ADD1_U32:
		d = find(cpu(b), dst, len);
		if (!d)
			return -EFAULT;
		for (i = 0; i < len; i += 4) {
			memcpy(&w, s->mem + (src - s->dptr) + i, 4);
			w++;
			memcpy(d->mem + (dst - d->dptr) + i, &w, 4);
		}
		*result = len / 4;
		return 0;
	case VGPU_K_XOR_U32:
		for (i = 0; i < len; i += 4) {
			memcpy(&w, s->mem + (src - s->dptr) + i, 4);
			x ^= w;
		}
		*result = x;
		return 0;
	}
	return -EINVAL;
}

static void cpu_destroy(struct backend *b)
{
	struct backend_cpu *c = cpu(b);

	while (c->n)
		free(c->a[--c->n].mem);
	free(c);
}

static const struct backend_ops cpu_ops = {
	.name = "cpu",
	.mem_alloc = cpu_mem_alloc,
	.mem_free = cpu_mem_free,
	.mem_check = cpu_mem_check,
	.h2d = cpu_h2d,
	.d2h = cpu_d2h,
	.compute = cpu_compute,
	.destroy = cpu_destroy,
};

struct backend *backend_cpu_create(uint64_t quota)
{
	struct backend_cpu *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->be.ops = &cpu_ops;
	c->be.quota = quota;
	c->next = CPU_DPTR_BASE;
	return &c->be;
}
