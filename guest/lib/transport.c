// SPDX-License-Identifier: MIT
/* Which transport reaches the device; see transport.h. */
#include <stdlib.h>

#include <vgpu/loopback_proto.h>

#include "transport.h"

const struct vgpu_tr_ops *vgpu_tr_choose(void)
{
	const char *path = getenv(VGPU_LOOP_ENV);

	return path && *path ? &vgpu_tr_loop : &vgpu_tr_kernel;
}
