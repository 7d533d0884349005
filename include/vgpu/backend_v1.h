/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TEMPORARY (branch cudabe): the 1.1 backend seam that main's ring.c and
 * backend_cpu.c still use, kept so that this branch builds until the
 * engine branch lands with the new include/vgpu/backend.h. Drop at merge.
 *
 * The compute backend seam: what the command engine asks of "the GPU".
 * The engine has already validated everything: backends see device
 * addresses inside their own allocations and host buffers only. The CPU
 * backend (backend_cpu.c) is the reference and CI implementation; a CUDA
 * backend implements the same operations.
 */
#ifndef VGPU_BACKEND_V1_H
#define VGPU_BACKEND_V1_H

#include <stddef.h>
#include <stdint.h>

struct backend;

struct backend_ops {
	const char *name;
	/* Device memory: 0 or -errno (-ENOMEM over the quota). */
	int (*mem_alloc)(struct backend *b, uint64_t bytes, uint64_t *dptr);
	int (*mem_free)(struct backend *b, uint64_t dptr);
	/* Is [dptr, dptr + len) inside one live allocation? */
	int (*mem_check)(struct backend *b, uint64_t dptr, uint64_t len);
	int (*h2d)(struct backend *b, uint64_t dptr, const void *src,
		   size_t len);
	int (*d2h)(struct backend *b, void *dst, uint64_t dptr, size_t len);
	/* Run kernel @k (VGPU_K_*) over checked ranges; @result out. */
	int (*compute)(struct backend *b, uint32_t k, uint64_t dst,
		       uint64_t src, uint64_t len, uint64_t *result);
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	uint64_t quota; /* bytes of device memory for this VM */
	uint64_t used;
};

/* The CPU reference backend with a device-memory quota. NULL on ENOMEM. */
struct backend *backend_cpu_create(uint64_t quota);

#endif
