// SPDX-License-Identifier: MIT
/*
 * A session's life: open through a transport, check the device's ABI,
 * carve the pinned pool into the staging chunks and the allocator's
 * range; close, which frees everything the session owned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_priv.h"

#define STAGING_MAX (16u << 20) /* bytes of the pool for staging, at most */
#define STAGING_CHUNKS VGPU_STAGING_CHUNKS_MAX
/*
 * How long a wait polls the CQ before it sleeps in the transport, by
 * default: like CUDA's own cudaDeviceScheduleAuto, spin (1 ms) where the
 * machine has CPUs to spare, yield at once where it has few (on 2 CPUs a
 * spinning client takes the core the device needs). Measured on the H200
 * (results/gpu-2026-11-29-2): spinning is what brings pinned copies to
 * full speed; VGPU_SPIN_US overrides.
 */
#define SPIN_NS_SPARE_CPUS 1000000u
#define SPIN_CPUS_MIN 4

static uint32_t log2u(uint32_t v)
{
	uint32_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

/* Staging: up to half the pool, in STAGING_CHUNKS page-sized chunks. */
static void plan_staging(struct vgpu_sess *s)
{
	uint64_t total = s->tr.pool_len / 2;

	if (total > STAGING_MAX)
		total = STAGING_MAX;
	s->nchunks = STAGING_CHUNKS;
	s->chunk = (total / s->nchunks) & ~(uint64_t)4095;
	if (!s->chunk) {
		s->nchunks = 1;
		s->chunk = total & ~(uint64_t)(VGPU_POOL_ALIGN - 1);
	}
}

static uint64_t spin_from_env(void)
{
	const char *v = getenv("VGPU_SPIN_US");
	char *end;
	unsigned long us;

	if (!v || !*v || (us = strtoul(v, &end, 10), *end) || us > 1000000)
		return sysconf(_SC_NPROCESSORS_ONLN) >= SPIN_CPUS_MIN ?
			       SPIN_NS_SPARE_CPUS :
			       0;
	return (uint64_t)us * 1000u;
}

static int check_device(const struct vgpu_tr_session *t)
{
	if (t->abi_version < VGPU_CORE_ABI_MIN ||
	    !(t->features & VGPU_F_SESSIONS)) {
		vgpu_log(
			"the device speaks ABI %u.%u without sessions; the CUDA libraries need 1.2",
			t->abi_version >> 16, t->abi_version & 0xffff);
		return VGPU_L_OLD_ABI;
	}
	if (t->depth < 2 || (t->depth & (t->depth - 1)) || !t->hdr || !t->sq ||
	    !t->cq || !t->pool || t->pool_len < 2 * VGPU_POOL_ALIGN) {
		vgpu_log("the transport gave a malformed session queue");
		return VGPU_L_QUEUE;
	}
	return VGPU_S_OK;
}

static int sess_init(struct vgpu_sess *s)
{
	pthread_condattr_t ca;
	int rc;

	s->mask = s->tr.depth - 1;
	s->depth_shift = log2u(s->tr.depth);
	s->sq_tail = __atomic_load_n(&s->tr.hdr->sq_tail.v, __ATOMIC_ACQUIRE);
	s->cq_head = __atomic_load_n(&s->tr.hdr->cq_head.v, __ATOMIC_ACQUIRE);
	s->spin_ns = spin_from_env();
	s->copiers_want = vgpu_copiers_wanted();
	/* figures: VGPU_COPY_SPLIT=0 and VGPU_COPY_THREADS=1 stage as the
	 * first version did (whole chunks, one thread) */
	s->copy_split = !getenv("VGPU_COPY_SPLIT") ||
			strcmp(getenv("VGPU_COPY_SPLIT"), "0") != 0;
	plan_staging(s);
	if (vgpu_pool_init(&s->pool, s->chunk * s->nchunks,
			   s->tr.pool_len - s->chunk * s->nchunks))
		return VGPU_L_NOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->staging_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? VGPU_L_NOMEM : VGPU_S_OK;
}

/* A transport's open failure as a status. -ENOTSUP: the device has no
 * ABI 1.2 sessions (a transport that knows the ABI says so itself). */
static int open_error(const struct vgpu_tr_ops *ops, int rc)
{
	switch (rc) {
	case -ENOMEM:
		return VGPU_L_NOMEM;
	case -ENOTSUP:
		vgpu_log("%s transport: the device has no ABI 1.2 sessions",
			 ops->name);
		return VGPU_L_OLD_ABI;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
	case -ECONNREFUSED:
		return VGPU_L_NO_DEVICE;
	default:
		vgpu_log("%s transport: %s", ops->name, strerror(-rc));
		return VGPU_L_IO;
	}
}

int vgpu_sess_open(struct vgpu_sess **out, const struct vgpu_tr_ops *ops,
		   const struct vgpu_tr_params *p)
{
	struct vgpu_tr_params def = { 0 };
	struct vgpu_sess *s;
	int rc;

	if (!ops)
		ops = vgpu_tr_choose();
	if (!ops)
		return VGPU_L_NO_DEVICE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return VGPU_L_NOMEM;
	s->tr.ops = ops;
	rc = ops->open(&s->tr, p ? p : &def);
	if (rc < 0) {
		free(s);
		return open_error(ops, rc);
	}
	s->tr.ops = ops;
	rc = check_device(&s->tr);
	if (!rc)
		rc = sess_init(s);
	if (rc) {
		vgpu_pool_fini(&s->pool);
		ops->close(&s->tr);
		free(s);
		return rc;
	}
	*out = s;
	return VGPU_S_OK;
}

void vgpu_sess_close(struct vgpu_sess *s)
{
	if (!s)
		return;
	vgpu_copiers_stop(s);
	vgpu_regions_free_all(s);
	vgpu_pool_fini(&s->pool);
	s->tr.ops->close(&s->tr);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->staging_lock);
	pthread_mutex_destroy(&s->lock);
	free(s->info);
	free(s);
}

uint32_t vgpu_sess_id(const struct vgpu_sess *s)
{
	return s->tr.session;
}

const struct vgpu_tr_session *vgpu_sess_tr(const struct vgpu_sess *s)
{
	return &s->tr;
}
