/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tests of the CUDA backend: the proxy (src/backend_cuda*.c) driven as the
 * command engine drives it, with vgpu-cuda-worker linked against the fake
 * libcuda (tests/fakecuda) as its worker: every request goes through the
 * real rings, sockets, spawner and processes.
 */
#ifndef CUDA_HARNESS_H
#define CUDA_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/backend_cuda.h>

struct vm {
	int spawner; /* owned, or -1 (vm_on) */
	struct backend *b;
	char trace[64];
	char devstate[64]; /* the fake GPU its workers share */
	char err[256];
};

/* A VM: a spawner started with the fake's @knobs ("NAME=V NAME=V", may
 * be NULL) in its environment, and a backend on it. NULL backend (and
 * vm->err) if creation failed. @o may be NULL. */
struct vm *vm_new(const char *knobs, const struct cuda_be_opts *o);
void vm_free(struct vm *v);
/* A spawner alone (knobs as for vm_new, its probe on @gpu; the fake's
 * devstate file named in @devstate, 64 bytes), and a VM on it that does
 * not own it. */
int vm_spawner(const char *knobs, const char *gpu, char *devstate, char *err,
	       size_t len);
struct vm *vm_on(int spawner, const struct cuda_be_opts *o);
/* The fake's trace so far (a static buffer). */
const char *vm_trace(struct vm *v);

/* Requests: allocated here, freed by vm_free. */
struct be_req *rq(struct vm *v, uint32_t session, uint32_t op);
void rq_submit(struct vm *v, struct be_req *r);
/* Free the requests that have completed (long runs). */
void vm_free_reqs(struct vm *v);
/* Poll until @r completed (at most 10 s); its status. */
uint32_t rq_wait(struct vm *v, struct be_req *r);
/* Wait busy-polling the backend, as the engine does while busy. */
uint32_t rq_spin(struct vm *v, struct be_req *r);
/* Submit and wait. */
uint32_t rq_run(struct vm *v, struct be_req *r);
bool rq_done(const struct be_req *r);
/* Poll once, waiting up to @ms for the backend's fd. */
void vm_poll(struct vm *v, int ms);

/* Host memory a session registers: a memfd (zero-copy) or plain memory
 * (fd -1: staged). */
struct be_region *region_new(struct vm *v, uint32_t session, uint32_t id,
			     uint64_t len, bool with_fd);
void region_free(struct vm *v, uint32_t session, struct be_region *r);

/* Conveniences over rq(). */
uint64_t mem_alloc(struct vm *v, uint32_t s, uint64_t bytes);
uint32_t copy(struct vm *v, uint32_t s, uint32_t op, uint64_t dptr,
	      const struct be_region *r, uint64_t off, uint64_t len,
	      uint32_t stream);
/* Load an image; the module id, or 0 with *status. */
uint32_t module_load(struct vm *v, uint32_t s, const void *img, size_t len,
		     uint32_t *status);
uint32_t func_get(struct vm *v, uint32_t s, uint32_t mod, const char *name,
		  struct vgpu_func_info *fi, uint32_t *status);
struct be_req *launch(struct vm *v, uint32_t s, uint32_t func, uint32_t stream,
		      uint32_t grid, uint32_t block, const void *params,
		      uint32_t plen);

/* Module images the fake understands: a cubin (ELF), a fatbin with
 * machine code for sm_@arch, PTX. @names is a NUL-separated list ending
 * in an empty name. Caller frees. */
void *img_cubin(const char *names, size_t *len);
void *img_fatbin(const char *names, int arch, size_t *len);
void *img_ptx(const char *name, size_t *len);

#define K_NULL "_Z11null_kernelv"
#define K_VEC_ADD "_Z7vec_addPKfS0_Pfi"
#define K_ADD_BIAS "_Z8add_biasPKiPii"
#define K_MIXED "_Z12mixed_paramscsixfdhPx"
#define K_SPIN "_Z4spinxPi"
#define K_POKE "_Z4pokePii"
#define K_FILL "c_linkage_fill"

#endif
