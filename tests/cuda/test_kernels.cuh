// SPDX-License-Identifier: MIT
/*
 * The project's own CUDA test kernels. The CPU reference backend
 * (src/backend_cpu*.c) carries a C implementation of each, matched by its
 * mangled name, with the same parameter layout; the CUDA backend runs the
 * real ones. Keep the two in step: a kernel added here needs its CPU
 * twin, or the CPU backend answers VGPU_S_NOT_SUPPORTED for it.
 */
#ifndef VGPU_TEST_KERNELS_CUH
#define VGPU_TEST_KERNELS_CUH

/* A global symbol (cudaMemcpyToSymbol, cuModuleGetGlobal). */
__device__ int g_bias;

/* Nothing: launch latency. */
__global__ void null_kernel(void)
{
}

/* c[i] = a[i] + b[i] */
__global__ void vec_add(const float *a, const float *b, float *c, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		c[i] = a[i] + b[i];
}

/* x[i] = x[i] * s + o */
__global__ void scale_offset(float *x, float s, float o, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		x[i] = x[i] * s + o;
}

/* out[i] = in[i] + g_bias */
__global__ void add_bias(const int *in, int *out, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		out[i] = in[i] + g_bias;
}

/* Parameters of every size, with the padding the ABI puts between them. */
__global__ void mixed_params(char c, short s, int i, long long ll, float f,
			     double d, unsigned char u8, long long *out)
{
	if (blockIdx.x == 0 && threadIdx.x == 0) {
		out[0] = c;
		out[1] = s;
		out[2] = i;
		out[3] = ll;
		out[4] = (long long)(f * 1000.0f);
		out[5] = (long long)(d * 1000000.0);
		out[6] = u8;
	}
}

/* A structure passed by value. */
struct pair3 {
	int a;
	double b;
	char c;
};

__global__ void struct_param(struct pair3 p, double *out)
{
	if (blockIdx.x == 0 && threadIdx.x == 0)
		*out = p.a + p.b + p.c;
}

/* Every thread of a 3-D grid writes its global linear index. */
__global__ void iota3d(unsigned int *out)
{
	unsigned int bx =
		blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
	unsigned int t = threadIdx.x +
			 blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
	unsigned int per = blockDim.x * blockDim.y * blockDim.z;

	out[bx * per + t] = bx * per + t;
}

/* C = A * B, n x n, row-major, one thread per element. */
__global__ void matmul(const float *A, const float *B, float *C, int n)
{
	int r = blockIdx.y * blockDim.y + threadIdx.y;
	int c = blockIdx.x * blockDim.x + threadIdx.x;
	float acc = 0.0f;

	if (r >= n || c >= n)
		return;
	for (int k = 0; k < n; k++)
		acc += A[r * n + k] * B[k * n + c];
	C[r * n + c] = acc;
}

/* Block-wide sum through dynamic shared memory: out[blockIdx.x]. */
__global__ void block_sum(const int *in, int *out, int n)
{
	extern __shared__ int buf[];
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	buf[threadIdx.x] = i < n ? in[i] : 0;
	__syncthreads();
	for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s)
			buf[threadIdx.x] += buf[threadIdx.x + s];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		out[blockIdx.x] = buf[0];
}

/* Spins about @iters loop rounds per thread (timeouts, stream overlap). */
__global__ void spin(long long iters, int *out)
{
	long long x = 0;

	for (long long k = 0; k < iters; k++)
		x += k ^ (x >> 3);
	if (threadIdx.x == 0 && blockIdx.x == 0 && out)
		*out = (int)(x & 1);
}

/* Writes through a pointer the caller chose: a bad one faults. */
__global__ void poke(int *p, int v)
{
	*p = v;
}

/* A C-linkage kernel: its name is not mangled. */
extern "C" __global__ void c_linkage_fill(int *out, int v, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;

	if (i < n)
		out[i] = v;
}

#endif
