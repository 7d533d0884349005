// SPDX-License-Identifier: MIT
/*
 * The project's driver-API test program: host code only (cuda.h,
 * -lcuda). It loads the test kernels from a fatbin built with
 * `nvcc -fatbin` and from a PTX file built with `nvcc -ptx` (JIT options
 * given), launches them with kernelParams and with extra, reads and
 * writes a __device__ global by name, times with events.
 *   drv_api [KERNELS.fatbin [KERNELS.ptx]]  (default: beside the program)
 * Prints "drv_api: PASS ..." or "drv_api: FAIL ..."; exit 0 on PASS.
 */
#include <cuda.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "test_check.h"

static const char *err_name(CUresult r)
{
	const char *s = NULL;

	cuGetErrorName(r, &s);
	return s ? s : "?";
}

#define CU_OK(call)                                                       \
	do {                                                              \
		CUresult r_ = (call);                                     \
		CHECK(r_ == CUDA_SUCCESS, "%s: %s", #call, err_name(r_)); \
	} while (0)

/* The mangled names of test_kernels.cuh's kernels. */
#define K_VEC_ADD "_Z7vec_addPKfS0_Pfi"
#define K_MIXED "_Z12mixed_paramscsixfdhPx"
#define K_ADD_BIAS "_Z8add_biasPKiPii"
#define K_FILL "c_linkage_fill"

static std::vector<char> read_file(const std::string &path)
{
	std::vector<char> buf;
	FILE *f = fopen(path.c_str(), "rb");

	if (!f)
		return buf;
	fseek(f, 0, SEEK_END);
	buf.resize((size_t)ftell(f) + 1, 0); /* PTX: NUL-terminated */
	fseek(f, 0, SEEK_SET);
	if (fread(buf.data(), 1, buf.size() - 1, f) != buf.size() - 1)
		buf.clear();
	fclose(f);
	return buf;
}

static std::string beside(const char *argv0, const char *name)
{
	std::string p(argv0);
	size_t slash = p.rfind('/');

	return (slash == std::string::npos ? std::string(".") :
					     p.substr(0, slash)) +
	       "/" + name;
}

static void device_info(CUdevice *dev)
{
	int n = 0, major = 0, minor = 0, sms = 0, ver = 0;
	char name[256] = "";
	size_t mem = 0;

	CU_OK(cuInit(0));
	CU_OK(cuDriverGetVersion(&ver));
	CU_OK(cuDeviceGetCount(&n));
	CHECK(n >= 1, "device count %d", n);
	CU_OK(cuDeviceGet(dev, 0));
	CU_OK(cuDeviceGetName(name, sizeof(name), *dev));
	CU_OK(cuDeviceTotalMem(&mem, *dev));
	CU_OK(cuDeviceGetAttribute(
		&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, *dev));
	CU_OK(cuDeviceGetAttribute(
		&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, *dev));
	CU_OK(cuDeviceGetAttribute(
		&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, *dev));
	printf("device 0: %s, %zu MiB, compute capability %d.%d, %d SMs, driver API %d\n",
	       name, mem >> 20, major, minor, sms, ver);
	CHECK(name[0] && mem > 0 && sms > 0, "device description");
}

static void vec_add(CUfunction f, bool extra, const char *what)
{
	const int n = 5000;
	std::vector<float> a(n), b(n), c(n);
	CUdeviceptr da, db, dc;
	int bad = 0, count = n;

	for (int i = 0; i < n; i++) {
		a[i] = (float)i;
		b[i] = (float)(3 * i) + 0.25f;
	}
	CU_OK(cuMemAlloc(&da, n * sizeof(float)));
	CU_OK(cuMemAlloc(&db, n * sizeof(float)));
	CU_OK(cuMemAlloc(&dc, n * sizeof(float)));
	CU_OK(cuMemcpyHtoD(da, a.data(), n * sizeof(float)));
	CU_OK(cuMemcpyHtoD(db, b.data(), n * sizeof(float)));
	if (!extra) {
		void *args[] = { &da, &db, &dc, &count };

		CU_OK(cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, 0,
				     args, NULL));
	} else {
		/* one packed buffer, each argument at its natural alignment;
		 * its size is the parameters' exactly (NVIDIA's driver
		 * refuses a padded one with LAUNCH_OUT_OF_RESOURCES) */
		struct {
			CUdeviceptr a, b, c;
			int n;
		} buf = { da, db, dc, n };
		size_t size = 3 * sizeof(CUdeviceptr) + sizeof(int);
		void *ex[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &buf,
			       CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
			       CU_LAUNCH_PARAM_END };

		CU_OK(cuLaunchKernel(f, (n + 127) / 128, 1, 1, 128, 1, 1, 0, 0,
				     NULL, ex));
	}
	CU_OK(cuCtxSynchronize());
	CU_OK(cuMemcpyDtoH(c.data(), dc, n * sizeof(float)));
	for (int i = 0; i < n; i++)
		bad += c[i] != a[i] + b[i];
	CHECK(bad == 0, "%s: %d of %d wrong", what, bad, n);
	CU_OK(cuMemFree(da));
	CU_OK(cuMemFree(db));
	CU_OK(cuMemFree(dc));
}

static void check_mixed(CUdeviceptr dout, const char *what)
{
	long long out[7] = { 0 };

	CU_OK(cuMemcpyDtoH(out, dout, sizeof(out)));
	CHECK(out[0] == -5 && out[1] == -1234 && out[2] == 123456789 &&
		      out[3] == (1LL << 40) + 7 && out[4] == 3250 &&
		      out[5] == 2718281 && out[6] == 200,
	      "%s: %lld %lld %lld %lld %lld %lld %lld", what, out[0], out[1],
	      out[2], out[3], out[4], out[5], out[6]);
}

/* Mixed sizes: the layout the driver reports, and both launch forms. */
static void mixed(CUmodule m)
{
	static const size_t want_off[8] = { 0, 2, 4, 8, 16, 24, 32, 40 };
	static const size_t want_size[8] = { 1, 2, 4, 8, 4, 8, 1, 8 };
	char c = -5;
	short s = -1234;
	int i = 123456789;
	long long ll = (1LL << 40) + 7;
	float f = 3.25f;
	double d = 2.718281828;
	unsigned char u8 = 200;
	CUdeviceptr dout;
	CUfunction fn;
	size_t off, size;
	int k;

	CU_OK(cuModuleGetFunction(&fn, m, K_MIXED));
	for (k = 0; k < 8; k++) {
		CU_OK(cuFuncGetParamInfo(fn, k, &off, &size));
		CHECK(off == want_off[k] && size == want_size[k],
		      "param %d at %zu size %zu", k, off, size);
	}
	CHECK(cuFuncGetParamInfo(fn, 8, &off, &size) ==
		      CUDA_ERROR_INVALID_VALUE,
	      "a ninth parameter");
	CU_OK(cuMemAlloc(&dout, 7 * sizeof(long long)));

	void *args[] = { &c, &s, &i, &ll, &f, &d, &u8, &dout };
	CU_OK(cuMemsetD8(dout, 0, 7 * sizeof(long long)));
	CU_OK(cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, 0, args, NULL));
	check_mixed(dout, "mixed_params (kernelParams)");

	unsigned char buf[48] = { 0 };
	memcpy(buf + 0, &c, 1);
	memcpy(buf + 2, &s, 2);
	memcpy(buf + 4, &i, 4);
	memcpy(buf + 8, &ll, 8);
	memcpy(buf + 16, &f, 4);
	memcpy(buf + 24, &d, 8);
	memcpy(buf + 32, &u8, 1);
	memcpy(buf + 40, &dout, 8);
	size_t bsize = sizeof(buf);
	void *ex[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, buf,
		       CU_LAUNCH_PARAM_BUFFER_SIZE, &bsize,
		       CU_LAUNCH_PARAM_END };
	CU_OK(cuMemsetD32(dout, 0, 14));
	CU_OK(cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, 0, NULL, ex));
	check_mixed(dout, "mixed_params (extra)");
	CU_OK(cuMemFree(dout));
}

static void global_and_c_linkage(CUmodule m)
{
	const int n = 300, bias = -77;
	std::vector<int> in(n), out(n);
	CUdeviceptr g, din, dout;
	size_t gsize = 0;
	CUfunction add, fill;
	int got = 0, count = n, v = 9, bad = 0;

	CU_OK(cuModuleGetGlobal(&g, &gsize, m, "g_bias"));
	CHECK(gsize == sizeof(int), "g_bias size %zu", gsize);
	CU_OK(cuMemcpyHtoD(g, &bias, sizeof(bias)));
	CU_OK(cuMemcpyDtoH(&got, g, sizeof(got)));
	CHECK(got == bias, "g_bias reads back %d", got);
	got = 0; /* unified addressing: the global, then host memory */
	CU_OK(cuMemcpy((CUdeviceptr)(uintptr_t)&got, g, sizeof(got)));
	CHECK(got == bias, "g_bias by cuMemcpy reads back %d", got);
	CU_OK(cuModuleGetFunction(&add, m, K_ADD_BIAS));
	CU_OK(cuModuleGetFunction(&fill, m, K_FILL));
	for (int i = 0; i < n; i++)
		in[i] = i;
	CU_OK(cuMemAlloc(&din, n * sizeof(int)));
	CU_OK(cuMemAlloc(&dout, n * sizeof(int)));
	CU_OK(cuMemcpyHtoD(din, in.data(), n * sizeof(int)));
	void *a1[] = { &din, &dout, &count };
	CU_OK(cuLaunchKernel(add, (n + 63) / 64, 1, 1, 64, 1, 1, 0, 0, a1,
			     NULL));
	CU_OK(cuMemcpyDtoH(out.data(), dout, n * sizeof(int)));
	for (int i = 0; i < n; i++)
		bad += out[i] != i + bias;
	CHECK(bad == 0, "add_bias: %d of %d wrong", bad, n);
	void *a2[] = { &din, &v, &count };
	CU_OK(cuLaunchKernel(fill, (n + 63) / 64, 1, 1, 64, 1, 1, 0, 0, a2,
			     NULL));
	CU_OK(cuMemcpyDtoH(out.data(), din, n * sizeof(int)));
	bad = 0;
	for (int i = 0; i < n; i++)
		bad += out[i] != 9;
	CHECK(bad == 0, "c_linkage_fill: %d of %d wrong", bad, n);
	CU_OK(cuMemFree(din));
	CU_OK(cuMemFree(dout));
}

/* A stream, events around work on it, pinned memory, async copies. */
static void streams_events(CUfunction f)
{
	const int n = 1 << 15;
	CUstream s;
	CUevent e0, e1;
	float *ha, *hc, ms = -1;
	CUdeviceptr da, dc;
	int count = n, bad = 0;

	CU_OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));
	CU_OK(cuEventCreate(&e0, CU_EVENT_DEFAULT));
	CU_OK(cuEventCreate(&e1, CU_EVENT_DEFAULT));
	CU_OK(cuMemAllocHost((void **)&ha, n * sizeof(float)));
	CU_OK(cuMemAllocHost((void **)&hc, n * sizeof(float)));
	CU_OK(cuMemAlloc(&da, n * sizeof(float)));
	CU_OK(cuMemAlloc(&dc, n * sizeof(float)));
	for (int i = 0; i < n; i++)
		ha[i] = (float)(i & 255);
	CU_OK(cuEventRecord(e0, s));
	CU_OK(cuMemcpyHtoDAsync(da, ha, n * sizeof(float), s));
	void *args[] = { &da, &da, &dc, &count };
	CU_OK(cuLaunchKernel(f, n / 256, 1, 1, 256, 1, 1, 0, s, args, NULL));
	CU_OK(cuMemcpyDtoHAsync(hc, dc, n * sizeof(float), s));
	CU_OK(cuEventRecord(e1, s));
	CU_OK(cuStreamSynchronize(s));
	CU_OK(cuEventSynchronize(e1));
	CU_OK(cuEventElapsedTime(&ms, e0, e1));
	printf("stream: elapsed %.3f ms\n", ms);
	CHECK(ms >= 0.0f, "elapsed %f", ms);
	CU_OK(cuStreamQuery(s));
	CU_OK(cuEventQuery(e1));
	for (int i = 0; i < n; i++)
		bad += hc[i] != 2.0f * (float)(i & 255);
	CHECK(bad == 0, "stream vec_add: %d of %d wrong", bad, n);
	CU_OK(cuMemFreeHost(ha));
	CU_OK(cuMemFreeHost(hc));
	CU_OK(cuMemFree(da));
	CU_OK(cuMemFree(dc));
	CU_OK(cuEventDestroy(e0));
	CU_OK(cuEventDestroy(e1));
	CU_OK(cuStreamDestroy(s));
}

static void misc(void)
{
	const char *name = NULL;
	void *fn = NULL;
	CUdriverProcAddressQueryResult st;

	CU_OK(cuGetErrorName(CUDA_ERROR_INVALID_VALUE, &name));
	CHECK(name && !strcmp(name, "CUDA_ERROR_INVALID_VALUE"), "error name");
	CU_OK(cuGetProcAddress("cuMemAlloc", &fn, CUDA_VERSION,
			       CU_GET_PROC_ADDRESS_DEFAULT, &st));
	CHECK(fn != NULL && st == CU_GET_PROC_ADDRESS_SUCCESS,
	      "cuGetProcAddress");
}

int main(int argc, char **argv)
{
	std::string fatbin = argc > 1 ? argv[1] :
					beside(argv[0], "cuda_kernels.fatbin");
	std::string ptx = argc > 2 ? argv[2] :
				     beside(argv[0], "cuda_kernels.ptx");
	std::vector<char> fb = read_file(fatbin), px = read_file(ptx);
	CUdevice dev;
	CUcontext ctx;
	CUctxCreateParams cp = {};
	CUmodule m1, m2;
	CUfunction f1, f2;
	char info[4096], errlog[4096];

	if (fb.empty() || px.empty()) {
		printf("drv_api: FAIL (cannot read %s or %s)\n", fatbin.c_str(),
		       ptx.c_str());
		return 1;
	}
	device_info(&dev);
	CU_OK(cuCtxCreate(&ctx, &cp, 0, dev));
	CU_OK(cuModuleLoadData(&m1, fb.data()));
	CUjit_option opt[] = { CU_JIT_INFO_LOG_BUFFER,
			       CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
			       CU_JIT_ERROR_LOG_BUFFER,
			       CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
			       CU_JIT_WALL_TIME };
	void *val[] = { info, (void *)(uintptr_t)sizeof(info), errlog,
			(void *)(uintptr_t)sizeof(errlog), NULL };
	CU_OK(cuModuleLoadDataEx(&m2, px.data(), 5, opt, val));
	CU_OK(cuModuleGetFunction(&f1, m1, K_VEC_ADD));
	CU_OK(cuModuleGetFunction(&f2, m2, K_VEC_ADD));
	vec_add(f1, false, "fatbin vec_add (kernelParams)");
	vec_add(f1, true, "fatbin vec_add (extra)");
	vec_add(f2, false, "ptx vec_add (kernelParams)");
	vec_add(f2, true, "ptx vec_add (extra)");
	mixed(m1);
	global_and_c_linkage(m1);
	streams_events(f1);
	misc();
	CU_OK(cuModuleUnload(m2));
	CU_OK(cuModuleUnload(m1));
	CU_OK(cuCtxDestroy(ctx));
	return check_summary("drv_api");
}
