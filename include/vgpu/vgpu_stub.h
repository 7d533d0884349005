/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vgpu-stub device model's configuration (vdev.model_cfg): what
 * vgpu-ioreq's options choose. Passed to vdev_create_cfg() or
 * vdev_create_in_cfg(); NULL gives the defaults (a CPU backend of the
 * device's own with two executor threads, engine_limits_default()).
 */
#ifndef VGPU_STUB_H
#define VGPU_STUB_H

#include <vgpu/backend.h>
#include <vgpu/engine.h>

struct vgpu_stub_cfg {
	/* created before privileges are dropped; not owned by the device;
	 * NULL: a CPU backend the device creates (and destroys) itself */
	struct backend *be;
	struct engine_limits limits;
};

#define VGPU_STUB_CPU_THREADS 2 /* the default backend's executors */

#endif
