// SPDX-License-Identifier: GPL-2.0-only
/* Backends by name (vgpu-ioreq --backend): see backend.h. */
#include <stdio.h>
#include <string.h>

#include <vgpu/backend.h>

struct backend *backend_create(const char *name, int gpu, unsigned int threads,
			       char *err, size_t errlen)
{
	struct backend *b;

	if (strcmp(name, "cpu") == 0) {
		b = backend_cpu_create(threads);
		if (!b)
			snprintf(
				err, errlen,
				"cannot start the CPU backend: out of memory or threads");
		return b;
	}
	if (strcmp(name, "cuda") == 0) {
		snprintf(
			err, errlen,
			"the CUDA backend is not built into this vgpu-ioreq (use --backend cpu)");
		return NULL;
	}
	snprintf(err, errlen, "no backend named '%s' (cpu, cuda)", name);
	return NULL;
}
