// SPDX-License-Identifier: MIT
/*
 * Can the guest libraries reach a device here? Opens one session the
 * way libcuda.so.1 does (the transport the environment chooses) and
 * says what it found. For the CUDA test harness (cuda-progs.sh).
 * Exit: 0 a 1.2 device; 2 an older device; 3 no device; 4 the
 * transport is a placeholder (not in this build).
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

int main(void)
{
	const struct vgpu_tr_ops *ops = vgpu_tr_choose();
	struct vgpu_sess *s;
	int rc;

	if (strstr(ops->name, "placeholder")) {
		printf("the %s transport is not in this build\n", ops->name);
		return 4;
	}
	rc = vgpu_sess_open(&s, ops, NULL);
	if (rc == VGPU_L_OLD_ABI) {
		printf("the device speaks an ABI older than 1.2\n");
		return 2;
	}
	if (rc) {
		printf("no device through the %s transport: %s\n", ops->name,
		       vgpu_status_text(rc));
		return 3;
	}
	printf("%s transport: ABI %u.%u, session %u, queue depth %u, pool %llu KiB\n",
	       ops->name, vgpu_sess_tr(s)->abi_version >> 16,
	       vgpu_sess_tr(s)->abi_version & 0xffff, vgpu_sess_id(s),
	       vgpu_sess_tr(s)->depth,
	       (unsigned long long)vgpu_sess_tr(s)->pool_len >> 10);
	vgpu_sess_close(s);
	return 0;
}
