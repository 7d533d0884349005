/* SPDX-License-Identifier: MIT */
/*
 * A minimal in-process fake of one session queue, for the guest core's
 * unit tests: a transport (struct vgpu_tr_ops) whose "device" runs in the
 * caller's thread when the core rings or sleeps. It answers just the
 * commands the core's tests need, with knobs for what the tests provoke
 * (lazy consumption, reversed completions, injected statuses). It is not
 * an engine and must not become one: the CPU backend behind loopback is
 * what runs CUDA programs.
 */
#ifndef VGPU_TEST_FAKE_DEV_H
#define VGPU_TEST_FAKE_DEV_H

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

#include "transport.h"

#define FAKE_ALLOCS 32
#define FAKE_REGIONS 8

/* Knobs; open sets them from vgpu_tr_params, a test may change them. */
struct fake_cfg {
	bool lazy; /* consume the SQ only when the core sleeps */
	unsigned per_wait; /* entries consumed per sleep (0: all) */
	bool reverse; /* post a batch's completions last first */
	bool polling; /* keep NEED_DOORBELL clear */
};

struct fake_alloc {
	uint64_t dptr;
	uint64_t len;
	uint8_t *mem;
};

struct fake_region {
	uint32_t id;
	uint8_t *va;
	uint64_t len;
};

struct vgpu_tr {
	pthread_mutex_t lock;
	struct fake_cfg cfg;
	uint32_t depth;
	uint64_t pool_len;
	struct vgpu_qhdr *hdr;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint8_t *pool;
	uint32_t sq_head, cq_tail;
	struct fake_alloc alloc[FAKE_ALLOCS];
	uint64_t next_dptr;
	struct fake_region region[FAKE_REGIONS];
	uint32_t next_region;
	/* what the tests look at */
	unsigned doorbells, waits, commands, quiet, marks;
	unsigned max_copies_batch; /* most COPY commands taken in one go */
	unsigned launches;
	struct vgpu_cmd_launch last_launch;
	uint8_t last_params[VGPU_PARAM_MAX];
	uint64_t image_len;
	uint32_t image_magic;
	char last_name[VGPU_NAME_MAX + 1];
	struct vgpu_func_info layout; /* FUNC_GET's answer */
	int inject; /* the next LAUNCH's status (0: none) */
	bool lost; /* a fault ended the session */
	bool bogus_cid; /* post one completion for a cid nobody used */
	unsigned idle_waits; /* sleeps that found nothing: a hung test */
	uint64_t g_bias; /* GLOBAL_GET "g_bias": 4 bytes, on first ask */
	FILE *log; /* FAKE_DEV_LOG: one line per module, lookup, launch */
};

/* FUNC_GET answers with the layout a test set (layout.param_bytes or
 * nparams non-zero), else with the real layout of a few of
 * test_kernels.cuh's kernels (registration tests). */
extern const struct vgpu_tr_ops fake_tr_ops; /* a 1.2 device */
extern const struct vgpu_tr_ops fake_tr_ops_old; /* a 1.1 device */

/* The fake behind a session the core opened over fake_tr_ops. */
#define FAKE(sess) (vgpu_sess_tr(sess)->tr)

#endif
