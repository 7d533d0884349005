/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The command engine's validation tests' fixture (test_engine.c,
 * test_engine_memory.c): an engine with the driver's queue 1 and
 * sessions A and B on queues 2 and 3, A with a region of two extents (the
 * second page range first), small limits.
 */
#ifndef TEST_ENGINE_VAL_FX_H
#define TEST_ENGINE_VAL_FX_H

#include "unit/engine_fx.h"

#define QP 1
#define QA 2 /* session A's queue */
#define QB 3 /* session B's queue */
#define LIST 0xc000
#define SGLP 0xd000
/* the region: two extents, the second page range first */
#define R0 0x60000 /* region offsets [0, 0xa0000) */
#define R1 0x10000 /* region offsets [0xa0000, 0xf0000) */

struct fx {
	struct efx e;
	uint32_t a, b; /* sessions on QA, QB */
	uint32_t ra; /* A's region */
};

/* cmocka setups: the engine not polling, and polling for 2 ms. */
int setup(void **state);
int setup_polling(void **state);
int teardown(void **state);
uint32_t run(struct fx *f, unsigned int qi, struct vgpu_sqe e, uint64_t *res);
/* MEM_ALLOC that must work: the device address. */
uint64_t alloc(struct fx *f, unsigned int qi, uint64_t bytes);

#endif
