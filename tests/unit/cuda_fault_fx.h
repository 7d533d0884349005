/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The steps the CUDA backend's fault tests share (test_cuda_faults.c,
 * test_cuda_workers.c), over cuda_harness.h; they fail the running
 * cmocka test when a step does not work.
 */
#ifndef CUDA_FAULT_FX_H
#define CUDA_FAULT_FX_H

#include <stdbool.h>
#include <stdint.h>

#include "cuda_harness.h"

/* Load a cubin of null_kernel, spin, poke and c_linkage_fill. */
uint32_t load(struct vm *v, uint32_t s);
/* A function of module @m by its (mangled) name. */
uint32_t fn(struct vm *v, uint32_t s, uint32_t m, const char *name);
/* Launch poke (function @f): 42 written at device address @where. */
struct be_req *poke(struct vm *v, uint32_t s, uint32_t f, uint64_t where);
/* Launch spin (function @f) with @ns as its loop count (the fake spins
 * that many nanoseconds). */
struct be_req *spin(struct vm *v, uint32_t s, uint32_t f, long long ns);
/* SIGSTOP @pid and wait until it has stopped. */
void stop(int pid);
/* Poll until session @s of @v has no worker any more; whether it went. */
bool worker_gone(struct vm *v, uint32_t s);
/* A session that works: allocate, write, read back (only allocate,
 * without a region). */
void works(struct vm *v, uint32_t s, struct be_region *reg);

#endif
