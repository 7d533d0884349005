// SPDX-License-Identifier: MIT
// The kernels tests/bench/bench_cuda.c and the GPU checks load, as a
// cubin (nvcc -cubin -arch=sm_90): the project's test kernels.
#include "../cuda/test_kernels.cuh"
