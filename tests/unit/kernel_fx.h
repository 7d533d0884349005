/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPU backend's tests' fixture (test_kernels.c, test_streams.c): an
 * engine with the driver's queue 1 and two sessions (queues 2 and 3), each
 * with a region over guest [0x10000, 0x100000), and helpers to load the
 * committed module images, get functions, allocate, copy and launch.
 */
#ifndef TEST_KERNEL_FX_H
#define TEST_KERNEL_FX_H

#include "unit/engine_fx.h"

#define QP 1
#define QA 2
#define QB 3
#define REG 0x10000 /* the region: guest [0x10000, 0x100000) */
#define IMG 0x80000 /* region offset of a module image */
#define NAME 0x70000
#define OUT 0x71000
#define SPIN_LONG 300000000ll /* iterations: a few hundred ms */

struct fx {
	struct efx e;
	uint32_t a, b, ra, rb;
};

/* The project's kernels, by mangled name, in test_kernels.cuh's order. */
extern const char *const names[12];

int setup_limits(void **state, uint32_t kernel_ms);
int setup(void **state);
int setup_short_limit(void **state);
int teardown(void **state);
uint8_t *at(struct fx *f, uint64_t off);
uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e, uint64_t *res);
uint32_t load_bytes(struct fx *f, const void *img, size_t len, uint32_t *mod);
uint32_t load(struct fx *f, const char *file);
uint32_t sym(struct fx *f, uint8_t op, uint32_t mod, const char *name,
	     uint64_t *res);
uint32_t func(struct fx *f, uint32_t mod, const char *name);
uint64_t alloc(struct fx *f, unsigned int qi, uint64_t bytes);
void put(struct fx *f, uint64_t d, uint64_t off, uint64_t len, bool h2d);
struct vgpu_sqe launch_e(uint32_t fn, uint32_t g0, uint32_t g1, uint32_t g2,
			 uint32_t b0, uint32_t b1, uint32_t b2, uint32_t shmem,
			 uint32_t plen);

#endif
