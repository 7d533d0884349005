// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: the GPU. cuInit, the device by index or UUID, every
 * attribute for DEVICE_INFO, the session's context, and the probe that
 * measures what a context costs in device memory (the spawner runs it
 * once, before any worker: see src/backend_cuda_spawn.c).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define WK_DEFAULT_OVERHEAD (512ull << 20)

static void uuid_str(const uint8_t *u, char *buf, size_t len)
{
	snprintf(
		buf, len,
		"GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* "GPU-xxxxxxxx-xxxx-...", with or without "GPU-" and dashes. */
static bool uuid_match(const char *spec, const uint8_t *u)
{
	char want[64], have[64];
	size_t n = 0;

	if (strncasecmp(spec, "GPU-", 4) == 0)
		spec += 4;
	for (; *spec && n < sizeof(want) - 1; spec++)
		if (*spec != '-')
			want[n++] = (char)tolower((unsigned char)*spec);
	want[n] = '\0';
	for (int i = 0; i < 16; i++)
		snprintf(have + 2 * i, 3, "%02x", u[i]);
	return strcmp(want, have) == 0;
}

static int pick(const char *spec, int count, CUdevice *dev, char *msg,
		size_t len)
{
	char *end;
	long idx;

	if (!spec[0]) {
		*dev = 0;
		return cuDeviceGet(dev, 0) == CUDA_SUCCESS ? 0 : -ENODEV;
	}
	idx = strtol(spec, &end, 10);
	if (*end == '\0' && end != spec) {
		if (idx < 0 || idx >= count) {
			snprintf(msg, len,
				 "no CUDA device %ld (this host has %d)", idx,
				 count);
			return -ENODEV;
		}
		return cuDeviceGet(dev, (int)idx) == CUDA_SUCCESS ? 0 : -ENODEV;
	}
	for (int i = 0; i < count; i++) {
		CUuuid u;
		CUdevice d;

		if (cuDeviceGet(&d, i) == CUDA_SUCCESS &&
		    cuDeviceGetUuid(&u, d) == CUDA_SUCCESS &&
		    uuid_match(spec, (const uint8_t *)u.bytes)) {
			*dev = d;
			return 0;
		}
	}
	snprintf(msg, len, "no CUDA device with UUID %s (%d device%s)", spec,
		 count, count == 1 ? "" : "s");
	return -ENODEV;
}

static void fill_info(struct worker *w)
{
	struct vgpu_device_info *di = &w->shm->devinfo;
	size_t total = 0;
	CUuuid u;
	int v, drv = 0;

	memset(di, 0, sizeof(*di));
	cuDeviceGetName(di->name, sizeof(di->name) - 1, w->dev);
	if (cuDeviceGetUuid(&u, w->dev) == CUDA_SUCCESS)
		memcpy(di->uuid, u.bytes, sizeof(di->uuid));
	cuDeviceTotalMem(&total, w->dev);
	di->total_mem = total;
	di->nattrs = CU_DEVICE_ATTRIBUTE_MAX < VGPU_ATTRS_MAX ?
			     CU_DEVICE_ATTRIBUTE_MAX :
			     VGPU_ATTRS_MAX;
	for (uint32_t a = 1; a < di->nattrs; a++) {
		v = 0;
		if (cuDeviceGetAttribute(&v, (CUdevice_attribute)a, w->dev) ==
		    CUDA_SUCCESS)
			di->attr[a] = v;
	}
	di->cc_major =
		(uint32_t)di->attr[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
	di->cc_minor =
		(uint32_t)di->attr[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
	cuDriverGetVersion(&drv);
	di->driver_version = (uint32_t)drv;
	memcpy(di->backend, "cuda", 5);
	w->sm = (int)(di->cc_major * 10 + di->cc_minor);
}

static CUresult ctx_new(CUdevice dev, CUcontext *ctx)
{
	CUcontext old;
	CUresult rc = cuCtxCreate(ctx, NULL, CU_CTX_SCHED_AUTO, dev);

	if (rc == CUDA_SUCCESS)
		cuCtxPopCurrent(&old);
	return rc;
}

static uint64_t mem_free(CUcontext ctx)
{
	size_t fr = 0, total = 0;
	CUcontext old;

	if (cuCtxPushCurrent(ctx) != CUDA_SUCCESS)
		return 0;
	cuMemGetInfo(&fr, &total);
	cuCtxPopCurrent(&old);
	return fr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * What a second context takes of the free memory (a first one in a
 * process costs the same within a few MiB: 527 against 523 MiB on an
 * H200). A sample counts only if the free memory is back where it was
 * once that context is gone: nothing else changed it meanwhile. Up to
 * PROBE_TRIES samples; PROBE_KEEP undisturbed ones are enough.
 */
#define PROBE_TRIES 6
#define PROBE_KEEP 3
#define PROBE_SLACK (1ull << 20)

static uint32_t probe_samples(CUdevice dev, CUcontext a, uint64_t *kept,
			      uint32_t *tries)
{
	uint32_t n = 0;

	for (*tries = 0; *tries < PROBE_TRIES && n < PROBE_KEEP; (*tries)++) {
		uint64_t f0 = mem_free(a), f1, f2;
		CUcontext b;

		if (ctx_new(dev, &b) != CUDA_SUCCESS)
			break;
		f1 = mem_free(b);
		cuCtxDestroy(b);
		f2 = mem_free(a);
		if (f0 > f1 && (f0 > f2 ? f0 - f2 : f2 - f0) <= PROBE_SLACK)
			kept[n++] = f0 - f1;
	}
	return n;
}

int wk_probe(const char *gpu)
{
	uint64_t kept[PROBE_KEEP];
	uint32_t n, tries = 0;
	char msg[256] = "";
	CUdevice dev = 0;
	CUcontext a;
	int count = 0;
	FILE *out = fdopen(3, "w");

	if (!out || cuInit(0) != CUDA_SUCCESS ||
	    cuDeviceGetCount(&count) != CUDA_SUCCESS ||
	    pick(gpu, count, &dev, msg, sizeof(msg)) < 0 ||
	    ctx_new(dev, &a) != CUDA_SUCCESS)
		return 1; /* the workers will say why */
	n = probe_samples(dev, a, kept, &tries);
	qsort(kept, n, sizeof(kept[0]), cmp_u64);
	fprintf(out, "ctx_cost %llu kept %u of %u\n",
		(unsigned long long)(n ? kept[n / 2] : 0), n, tries);
	fclose(out);
	cuCtxDestroy(a);
	return 0;
}

static const char *hint(CUresult rc)
{
	switch (rc) {
	case CUDA_ERROR_NO_DEVICE:
		return ": this host has no NVIDIA GPU";
	case CUDA_ERROR_STUB_LIBRARY:
		return ": this libcuda is the toolkit's stub; install the NVIDIA driver";
	case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
		return ": the NVIDIA kernel module and libcuda differ in version";
	default:
		return "";
	}
}

int wk_device_open(struct worker *w, char *msg, size_t len)
{
	int count = 0, rc;
	CUresult cr;

	if (w->cfg.cache_dir[0])
		setenv("CUDA_CACHE_PATH", w->cfg.cache_dir, 1);
	cr = cuInit(0);
	if (cr == CUDA_SUCCESS)
		cr = cuDeviceGetCount(&count);
	if (cr != CUDA_SUCCESS || count == 0) {
		snprintf(msg, len, "cuInit: %s%s",
			 cr ? wk_errname(cr) : "no device",
			 hint(cr ? cr : CUDA_ERROR_NO_DEVICE));
		return -ENODEV;
	}
	rc = pick(w->cfg.gpu, count, &w->dev, msg, len);
	if (rc < 0) {
		if (!msg[0])
			snprintf(msg, len, "cannot open CUDA device %s",
				 w->cfg.gpu);
		return rc;
	}
	fill_info(w);
	if (!w->ctx_overhead)
		w->ctx_overhead = WK_DEFAULT_OVERHEAD;
	{
		char u[64];

		uuid_str(w->shm->devinfo.uuid, u, sizeof(u));
		snprintf(msg, len,
			 "%s %s sm_%d, %llu MiB, a context takes %llu MiB",
			 w->shm->devinfo.name, u, w->sm,
			 (unsigned long long)(w->shm->devinfo.total_mem >> 20),
			 (unsigned long long)(w->ctx_overhead >> 20));
	}
	return 0;
}

CUresult wk_device_context(struct worker *w, CUcontext *ctx)
{
	return ctx_new(w->dev, ctx);
}

void wk_device_refresh_free(struct worker *w)
{
	size_t fr = 0, total = 0;

	if (cuMemGetInfo(&fr, &total) != CUDA_SUCCESS)
		return;
	__atomic_store_n(&w->shm->dev_free, (uint64_t)fr, __ATOMIC_RELAXED);
	__atomic_store_n(&w->shm->dev_free_at, wk_now_ns(), __ATOMIC_RELEASE);
}
