/* SPDX-License-Identifier: GPL-2.0-only */
/* The fake CUDA driver's insides, shared by fakecuda.c (devices, the
 * executor, contexts, memory) and fakecuda_api.c (modules, launches,
 * streams, events). */
#ifndef FAKECUDA_INT_H
#define FAKECUDA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "fakecuda.h"

#define FK_DEPTH 8

struct fk_alloc {
	struct fk_alloc *next;
	CUdeviceptr d;
	uint64_t len;
	uint8_t *p;
};

enum fk_op_type {
	FK_COPY_H2D,
	FK_COPY_D2H,
	FK_COPY_D2D,
	FK_MEMSET,
	FK_KERNEL,
	FK_RECORD,
	FK_HOSTFN,
	FK_NOP,
};

struct CUevent_st {
	struct fk_ctx *ctx;
	unsigned int flags;
	uint64_t recorded, done;
	double t_ms;
};

struct fk_op {
	struct fk_op *next;
	int type;
	CUdeviceptr d, s;
	void *h;
	uint64_t n;
	uint32_t val;
	int elem;
	struct CUevent_st *ev;
	uint64_t ev_count;
	CUhostFn fn;
	void *ud;
	struct fk_launch l;
	uint8_t params[4096];
	bool *done; /* synchronous copies wait for it */
};

struct fk_ctx {
	struct fk_ctx *next;
	pthread_t exec;
	pthread_cond_t cond; /* queue, deaths, completions */
	struct fk_op *head, **tail;
	bool dead, running;
	CUresult sticky;
	struct fk_alloc *allocs;
};

struct CUmod_st {
	struct fk_ctx *ctx;
	CUdeviceptr global;
	uint32_t nk;
	const struct fk_kernel *k[32];
};

struct CUfunc_st {
	const struct fk_kernel *k;
	struct CUmod_st *m;
};

struct CUstream_st {
	struct fk_ctx *ctx;
};

struct fk_reg {
	struct fk_reg *next;
	uint8_t *p;
	uint64_t len;
};

struct fk_global {
	pthread_mutex_t lock;
	bool init;
	int ndev;
	uint64_t mem, used, ctx_mem;
	bool clean, reg_fail, hang_destroy, no_paraminfo;
	const char *ctx_fail_if; /* no context while this file exists */
	uint64_t drift; /* FAKECUDA_FREE_DRIFT: free memory seen shrinking */
	const char *crash;
	uint64_t jit_ms;
	FILE *trace;
	CUdeviceptr next;
	struct fk_ctx *ctxs;
	CUresult poison; /* a fault: every context of the process has it */
	struct fk_reg *regs;
};

extern struct fk_global fk_g;

struct fk_ctx *fk_cur(void);
void fk_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct fk_op *fk_op_new(int type);
/* Queue @o on the current context; with @wait, until it ran. */
CUresult fk_enqueue(struct fk_op *o, bool wait);
/* The current context's sticky error, or the process's poison. */
CUresult fk_sticky(void);

/* fakecuda_dev.c: the device memory, shared by processes (lock held) */
void fk_dev_init(const char *path);
uint64_t fk_mem_used(void);
bool fk_mem_take(uint64_t n);
void fk_mem_give(uint64_t n);

#endif
