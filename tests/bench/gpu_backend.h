/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gpu_backend_check's two halves: the checks (gpu_backend_check.c) and
 * the figures with where their time goes (gpu_backend_figures.c). Each
 * check and each figure makes its own VMs on the one spawner, so none
 * depends on what ran before it.
 */
#ifndef GPU_BACKEND_H
#define GPU_BACKEND_H

#include <stdint.h>

#include "../unit/cuda_harness.h"

struct ctx {
	int spawner;
	const char *cubin, *ptx;
	int failures;
};

/* A session with the cubin loaded and a 256 MiB zero-copy region. */
struct sess {
	struct vm *v;
	uint32_t id, mod;
	struct be_region *reg;
};

/* "CHECK name PASS|FAIL detail" (detail printf-style, may be ""). */
void check(struct ctx *c, const char *name, int ok, const char *fmt, ...);
double now(void);
double median(double *v, int n);
/* A VM on the check's spawner (NULL, with a FAIL line, if none). */
struct vm *vm(struct ctx *c, const char *what, const struct cuda_be_opts *o);
int open_sess(struct ctx *c, struct sess *s, struct vm *v, uint32_t id);
void close_sess(struct sess *s);
uint32_t fn(struct sess *s, const char *name, struct vgpu_func_info *fi);
/* vec_add of n floats through zero-copy; true if every sum is right */
int vec_add_ok(struct sess *s, int n);

/* gpu_backend_figures.c */
void figures(struct ctx *c);
void session_cost(struct ctx *c);

#endif
