// SPDX-License-Identifier: MIT
/*
 * The transport chooser of the test build of libcuda.so.1
 * (tests/cuda/fake/): every session goes to the fake session queue.
 */
#include "fake_dev.h"

const struct vgpu_tr_ops *vgpu_tr_choose(void)
{
	return &fake_tr_ops;
}
