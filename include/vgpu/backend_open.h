/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vgpu-ioreq's backend for one VM, as --backend says: the CPU reference
 * backend, or the CUDA backend (a worker process per session, started
 * through a spawner that is forked once, on first use). Call it before the
 * privilege drop: both start threads, the CUDA one a process.
 */
#ifndef VGPU_BACKEND_OPEN_H
#define VGPU_BACKEND_OPEN_H

#include <stddef.h>

#include <vgpu/backend.h>
#include <vgpu/cli.h>
#include <vgpu/depriv.h>
#include <vgpu/log.h>

/*
 * The backend for VM @vm (names it in logs). *cuda_spawner is the CUDA
 * spawner's socket (-1: not started yet; shared by the VMs of a loopback
 * listener). NULL with a one-line reason in @err.
 */
struct backend *backend_open(const struct cli *c, const char *vm,
			     struct logger *lg, int *cuda_spawner, char *err,
			     size_t errlen);

/* What must exist before VMs are forked off (a loopback listener): the
 * CUDA spawner, for --backend cuda. 0, or -1 with a reason in @err. */
int backend_prepare(const struct cli *c, struct logger *lg, int *cuda_spawner,
		    char *err, size_t errlen);

/* What the backend --backend names needs on top of depriv_base once
 * privileges are dropped: a rule list, or NULL for nothing more. */
const struct depriv_rules *backend_depriv_rules(const struct cli *c);

#endif
