// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq's side of --backend cuda: the command line's options as the
 * CUDA backend's, the spawner started on first use. Call it before the
 * privilege drop (it starts threads and, the first time, a process).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <vgpu/backend_cuda.h>
#include <vgpu/cli.h>

#ifndef CUDA_CACHE_DIR
#define CUDA_CACHE_DIR "/var/cache/vgpu-ioreq/cuda"
#endif

/* A tuning knob from the environment (figures); 0 if unset. */
static uint32_t env_u32(const char *name)
{
	const char *v = getenv(name);

	return v ? (uint32_t)strtoul(v, NULL, 10) : 0;
}

int backend_cuda_spawner(const struct cli *c, struct logger *log, int *spawner,
			 char *err, size_t errlen)
{
	/* VGPU_CUDA_WORKER: a worker from a build tree (tools/gpu-check.sh) */
	struct cuda_spawner_opts so = { .worker = getenv("VGPU_CUDA_WORKER"),
					.user = c->cuda_user,
					.cache_dir = CUDA_CACHE_DIR,
					.gpu = c->cuda_gpu };

	if (*spawner < 0)
		*spawner = cuda_spawner_start(&so, log, err, errlen);
	return *spawner < 0 ? -1 : 0;
}

struct backend *backend_cuda_open(const struct cli *c, const char *vm,
				  uint64_t quota, struct logger *log,
				  int *spawner, char *err, size_t errlen)
{
	struct cuda_be_opts o = {
		.gpu = c->cuda_gpu,
		.vm = vm,
		.cache_dir = CUDA_CACHE_DIR,
		.quota = quota,
		.max_sessions = c->limits.sessions,
		.timeout_ms = c->limits.kernel_ms,
		.stage_all = c->cuda_stage_all,
		/* figures: where the time goes, in the log
				   * when the VM ends (tools/gpu-check.sh) */
		.profile = getenv("VGPU_CUDA_PROFILE") != NULL,
		.busy_spin_us = env_u32("VGPU_CUDA_BUSY_SPIN_US"),
		.log = log
	};

	if (backend_cuda_spawner(c, log, spawner, err, errlen) < 0)
		return NULL;
	o.spawner_fd = *spawner;
	return backend_cuda_create(&o, err, errlen);
}
