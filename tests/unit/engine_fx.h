/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A command engine on the recorder's guest RAM, with the test playing the
 * driver: queues it programs and enables, entries it submits (LAUNCH
 * parameters in continuation slots), doorbells, completions it reaps,
 * and waits that poll the backend's descriptor (no sleeps).
 */
#ifndef TEST_ENGINE_FX_H
#define TEST_ENGINE_FX_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/engine.h>
#include "unit/recorder.h"

#define EFX_QUEUES 4

struct efx_q {
	uint64_t hdr, sq, cq; /* guest-physical */
	uint32_t depth, tail, head;
	uint16_t phase;
};

struct efx {
	struct recorder r;
	struct logger lg;
	struct backend *be;
	struct engine *en;
	struct engine_limits lim;
	struct ring_queue q[EFX_QUEUES];
	struct efx_q d[EFX_QUEUES];
	uint32_t irq; /* interrupt bits seen so far */
};

/* Limits: @lim or the defaults (poll_us 0); @threads CPU executors. */
int efx_init(struct efx *f, const struct engine_limits *lim,
	     unsigned int threads);
void efx_fini(struct efx *f);
/* Program and enable queue @qi with its pages at @base (3 pages: header,
 * SQ, CQ). 0 or the engine's -1. */
int efx_queue(struct efx *f, unsigned int qi, uint32_t depth, uint64_t base);
struct vgpu_qhdr *efx_hdr(struct efx *f, unsigned int qi);
/* Put one entry in the SQ and publish the tail (no doorbell). */
void efx_put(struct efx *f, unsigned int qi, const struct vgpu_sqe *e);
/* A LAUNCH and its parameters in continuation slots. */
void efx_put_launch(struct efx *f, unsigned int qi, const struct vgpu_sqe *e,
		    const void *params, uint32_t len);
void efx_ring(struct efx *f, unsigned int qi);
/* One engine pass (backend completions, rung queues). */
void efx_poll(struct efx *f);
bool efx_reap(struct efx *f, unsigned int qi, struct vgpu_cqe *out);
/* Wait (polling the backend's descriptor) for the next completion;
 * false after @ms milliseconds without one. */
bool efx_wait(struct efx *f, unsigned int qi, struct vgpu_cqe *out, int ms);
/* Submit, ring, wait: the status code; the result in *result. */
uint32_t efx_run(struct efx *f, unsigned int qi, struct vgpu_sqe e,
		 uint64_t *result);
uint32_t efx_launch(struct efx *f, unsigned int qi, struct vgpu_sqe e,
		    const void *params, uint32_t len);

/* SESSION_OPEN on queue 1 binding queue @bind (enabled with its pages
 * at @base): the session's handle (0 on failure). */
uint32_t efx_session(struct efx *f, unsigned int bind, uint64_t base);
/* REGION_ADD for @session: the extents go to guest page @list; the
 * status, the handle in *handle. */
uint32_t efx_region(struct efx *f, uint32_t session,
		    const struct vgpu_extent *x, uint32_t n, uint64_t list,
		    uint32_t *handle);
/* A file under $VGPU_TEST_DATA (or tests/data): malloc'd, *len. */
void *efx_data(const char *name, size_t *len);

#endif
