// SPDX-License-Identifier: MIT
/* The test kernels alone: built into cuda_kernels.fatbin (nvcc -fatbin)
 * and cuda_kernels.ptx (nvcc -ptx) for the driver-API program. */
#include "test_kernels.cuh"
