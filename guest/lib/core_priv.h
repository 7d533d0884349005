/* SPDX-License-Identifier: MIT */
/*
 * The core's session, shared by the core's own files only.
 */
#ifndef VGPU_GUEST_CORE_PRIV_H
#define VGPU_GUEST_CORE_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "core.h"
#include "core_pool.h"

/* Completions someone waits for carry cid VGPU_CID_TRACKED | slot; the
 * asynchronous (QUIET) ones a running number below it. */
#define VGPU_CID_TRACKED 0x8000u
#define VGPU_SLOTS 64u
/* At least one command in this many SQ slots asks for a completion, so
 * that a submitter finding the SQ full has a completion to sleep on. */
#define VGPU_MARK_DIV 4u
#define VGPU_STAGING_CHUNKS_MAX 8u /* staging chunks in flight */

struct vgpu_slot {
	bool busy; /* handed out, completion not yet consumed by its owner */
	bool done; /* its completion arrived */
	uint16_t status;
	uint64_t result;
};

/* A pinned region of the session beyond the pool. */
struct vgpu_region {
	uint32_t id;
	void *va;
	uint64_t len;
	struct vgpu_region *next;
};

struct vgpu_sess {
	struct vgpu_tr_session tr;
	pthread_mutex_t lock; /* the queue, slots, errors, regions, pool */
	pthread_cond_t cond; /* a completion was reaped or a slot freed */
	bool waiting; /* a thread sleeps in the transport's wait */

	uint32_t mask; /* depth - 1 */
	uint32_t depth_shift; /* log2(depth) */
	uint32_t sq_tail; /* next free SQ slot (free-running) */
	uint32_t cq_head; /* next CQE to reap (free-running) */
	uint16_t next_quiet; /* cid of the next asynchronous command */
	uint32_t since_mark; /* SQ slots since the last tracked command */
	struct vgpu_slot slot[VGPU_SLOTS];

	int sticky; /* the session is lost: this status forever */
	int async_err; /* the first failed asynchronous command's status */

	struct vgpu_pool pool; /* pinned pool allocations (beyond staging) */
	struct vgpu_region *regions;

	/* Staging for copies from and to ordinary memory: nchunks chunks of
	 * chunk bytes at the start of the pool, one copy at a time. */
	pthread_mutex_t staging_lock;
	uint64_t chunk;
	uint32_t nchunks;
	struct vgpu_copiers *copiers; /* helper threads (core_copier.c) */
	uint32_t copiers_want; /* helpers wanted (at open, from the env) */
	bool copy_split; /* cut small copies finer (VGPU_COPY_SPLIT=0: no) */
	bool copiers_tried;

	struct vgpu_device_info *info; /* cached DEVICE_INFO */
	uint64_t spin_ns; /* poll the CQ this long before sleeping */
	struct vgpu_sess_stats stats;
};

/* core_pinned.c: scratch space for a command's buffers (pool, or a
 * temporary region). */
struct vgpu_scratch {
	void *va;
	uint32_t region;
	uint64_t off;
	uint64_t len;
};
int vgpu_scratch_get(struct vgpu_sess *s, uint64_t len,
		     struct vgpu_scratch *sc);
void vgpu_scratch_put(struct vgpu_sess *s, struct vgpu_scratch *sc);
void vgpu_regions_free_all(struct vgpu_sess *s);

/* core_copier.c: threads for large staged copies. The helpers a session
 * wants (VGPU_COPY_THREADS, or the CPUs), read at its open; how many can
 * run a copy, the caller included (they are started on the first call). */
uint32_t vgpu_copiers_wanted(void);
uint32_t vgpu_copiers_start(struct vgpu_sess *s);
/* fn(arg, part) for every part 0..n-1 at once, part 0 on the caller. */
void vgpu_copiers_run(struct vgpu_sess *s, void (*fn)(void *, uint32_t),
		      void *arg);
void vgpu_copiers_stop(struct vgpu_sess *s);

#endif
