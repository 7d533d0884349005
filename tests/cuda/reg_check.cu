// SPDX-License-Identifier: MIT
/*
 * The registration path of libcudart.so.13, end to end without a device:
 * this nvcc-built program (its host code registers the fatbin, the
 * kernels by mangled name and g_bias, as nvcc 13 emits it) runs on the
 * project's libcudart.so.13 over the test build of libcuda.so.1 whose
 * session queue is the fake (tests/cuda/fake_dev.c). The fake logs what
 * reached the device (FAKE_DEV_LOG); this program checks the log: one
 * MODULE_LOAD of the fatbin image (not its wrapper), at the first use;
 * functions asked by their mangled names; parameters laid out by the
 * layout the device gave. A test of the project's internals: it is not
 * one of the programs that run on NVIDIA's libraries.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "test_check.h"
#include "test_kernels.cuh"

static std::vector<std::string> log_lines(const char *path)
{
	std::vector<std::string> v;
	char line[16384];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		v.push_back(line);
	}
	if (f)
		fclose(f);
	return v;
}

static std::string hex(const void *p, size_t n)
{
	std::string s;
	char b[3];

	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%02x", ((const unsigned char *)p)[i]);
		s += b;
	}
	return s;
}

static int count_prefix(const std::vector<std::string> &v, const std::string &p)
{
	int n = 0;

	for (const std::string &l : v)
		n += l.compare(0, p.size(), p) == 0;
	return n;
}

static bool has(const std::vector<std::string> &v, const std::string &l)
{
	for (const std::string &x : v)
		if (x == l)
			return true;
	return false;
}

struct bufs {
	float *a, *b, *c;
	long long *out;
};

/* The program's work: nothing is loaded before the first launch. */
static void work(const char *path, struct bufs *m)
{
	int bias = 5, back = 0;

	CHECK(cudaMalloc(&m->a, 4096) == cudaSuccess, "cudaMalloc");
	CHECK(cudaMalloc(&m->b, 4096) == cudaSuccess, "cudaMalloc");
	CHECK(cudaMalloc(&m->c, 4096) == cudaSuccess, "cudaMalloc");
	CHECK(cudaMalloc(&m->out, 64) == cudaSuccess, "cudaMalloc");
	CHECK(count_prefix(log_lines(path), "MODULE_LOAD") == 0,
	      "the module was loaded before its first use");
	vec_add<<<dim3(2, 3, 1), dim3(128, 1, 1)>>>(m->a, m->b, m->c, 1000);
	CHECK(cudaGetLastError() == cudaSuccess, "vec_add launch");
	mixed_params<<<1, 1, 256>>>((char)-5, (short)-1234, 123456789,
				    (1LL << 40) + 7, 3.25f, 2.718281828,
				    (unsigned char)200, m->out);
	CHECK(cudaGetLastError() == cudaSuccess, "mixed_params launch");
	vec_add<<<1, 1>>>(m->a, m->b, m->c, 7);
	CHECK(cudaMemcpyToSymbol(g_bias, &bias, sizeof(bias)) == cudaSuccess,
	      "cudaMemcpyToSymbol");
	CHECK(cudaMemcpyFromSymbol(&back, g_bias, sizeof(back)) ==
			      cudaSuccess &&
		      back == bias,
	      "g_bias reads back %d", back);
	CHECK(cudaDeviceSynchronize() == cudaSuccess, "synchronize");
}

/* The first two launches' parameters, as the device got them. */
static void check_launches(const std::vector<std::string> &v,
			   const struct bufs *m)
{
	unsigned char p1[28] = { 0 }, p2[48] = { 0 };
	int n1 = 1000;
	char ch = -5;
	short sh = -1234;
	int in = 123456789;
	long long ll = (1LL << 40) + 7;
	float fl = 3.25f;
	double d = 2.718281828;
	unsigned char u8 = 200;

	memcpy(p1, &m->a, 8);
	memcpy(p1 + 8, &m->b, 8);
	memcpy(p1 + 16, &m->c, 8);
	memcpy(p1 + 24, &n1, 4);
	memcpy(p2, &ch, 1);
	memcpy(p2 + 2, &sh, 2);
	memcpy(p2 + 4, &in, 4);
	memcpy(p2 + 8, &ll, 8);
	memcpy(p2 + 16, &fl, 4);
	memcpy(p2 + 24, &d, 8);
	memcpy(p2 + 32, &u8, 1);
	memcpy(p2 + 40, &m->out, 8);
	CHECK(has(v, "LAUNCH func=20 grid=2,3,1 block=128,1,1 shmem=0 params=" +
			     hex(p1, sizeof(p1))),
	      "vec_add's parameters");
	CHECK(has(v, "LAUNCH func=21 grid=1,1,1 block=1,1,1 shmem=256 params=" +
			     hex(p2, sizeof(p2))),
	      "mixed_params' parameters");
}

int main(void)
{
	const char *path = getenv("FAKE_DEV_LOG");
	struct bufs m;

	if (!path) {
		printf("reg_check: FAIL (FAKE_DEV_LOG not set)\n");
		return 1;
	}
	work(path, &m);

	std::vector<std::string> v = log_lines(path);

	CHECK(count_prefix(v, "MODULE_LOAD magic=ba55ed50 ") == 1,
	      "one MODULE_LOAD of a fatbin image");
	CHECK(count_prefix(v, "FUNC_GET _Z7vec_addPKfS0_Pfi") == 1,
	      "vec_add asked once, by its mangled name");
	CHECK(has(v, "FUNC_GET _Z12mixed_paramscsixfdhPx"),
	      "mixed_params asked");
	CHECK(has(v, "GLOBAL_GET g_bias"), "g_bias asked");
	check_launches(v, &m);
	if (failures)
		for (const std::string &l : v)
			printf("  log: %s\n", l.c_str());
	return check_summary("reg_check");
}
