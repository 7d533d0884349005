// SPDX-License-Identifier: MIT
/*
 * PLACEHOLDER, owned by branch loopback: at merge take that branch's
 * version of this file. It exists here only so that branch guestlib
 * builds and links on its own.
 */
#include <stdlib.h>

#include <vgpu/loopback_proto.h>

#include "transport.h"

const struct vgpu_tr_ops *vgpu_tr_choose(void)
{
	const char *sock = getenv(VGPU_LOOP_ENV);

	return sock && *sock ? &vgpu_tr_loop : &vgpu_tr_kernel;
}
