// SPDX-License-Identifier: MIT
/*
 * cuGetProcAddress: the entry points this library implements (the table
 * is generated at build time from the compiled objects, gen-procs.sh),
 * under the name a caller asks for without its version suffix: the
 * newest variant the caller's CUDA version knows, the per-thread-stream
 * one if asked. Names that are only present as not-supported stubs are
 * not found.
 */
#include <stdio.h>
#include <string.h>

#include "cu_priv.h"

/* The CUDA version that introduced a versioned variant, where it is not
 * the 3.2 of the 64-bit memory API. */
static const struct {
	const char *name;
	int version;
} since[] = {
	{ "cuCtxCreate_v3", 11040 },
	{ "cuCtxCreate_v4", 12050 },
	{ "cuDeviceGetUuid_v2", 11040 },
	{ "cuEventElapsedTime_v2", 12080 },
	{ "cuCtxSynchronize_v2", 13000 },
	{ "cuGetProcAddress_v2", 12000 },
	{ "cuCtxGetDevice_v2", 13000 },
	{ "cuDevicePrimaryCtxRelease_v2", 11000 },
	{ "cuDevicePrimaryCtxReset_v2", 11000 },
	{ "cuDevicePrimaryCtxSetFlags_v2", 11000 },
};

static int introduced(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(since) / sizeof(since[0]); i++)
		if (!strcmp(since[i].name, name))
			return since[i].version;
	return strstr(name, "_v") ? 3020 : 0;
}

static void *lookup(const char *name)
{
	unsigned int i;

	for (i = 0; i < vg_nprocs; i++)
		if (!strcmp(vg_procs[i].name, name))
			return vg_procs[i].fn;
	return NULL;
}

/* name, or name_vN for the highest N the version allows. */
static void *newest(const char *symbol, int version, char *out, size_t len)
{
	void *fn = NULL;
	int v;

	for (v = 9; v >= 2 && !fn; v--) {
		snprintf(out, len, "%s_v%d", symbol, v);
		if (introduced(out) <= version)
			fn = lookup(out);
	}
	if (!fn) {
		snprintf(out, len, "%s", symbol);
		fn = lookup(out);
	}
	return fn;
}

static CUresult proc(const char *symbol, void **pfn, int cudaVersion,
		     cuuint64_t flags, CUdriverProcAddressQueryResult *status)
{
	char name[128], ptds[160];
	void *fn, *pt;

	if (!symbol || !pfn || strlen(symbol) > 100)
		return CUDA_ERROR_INVALID_VALUE;
	fn = newest(symbol, cudaVersion, name, sizeof(name));
	if (fn && (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM)) {
		snprintf(ptds, sizeof(ptds), "%s_ptds", name);
		pt = lookup(ptds);
		if (!pt) {
			snprintf(ptds, sizeof(ptds), "%s_ptsz", name);
			pt = lookup(ptds);
		}
		if (pt)
			fn = pt;
	}
	*pfn = fn;
	if (status)
		*status = fn ? CU_GET_PROC_ADDRESS_SUCCESS :
			       CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	return fn ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn,
				  int cudaVersion, cuuint64_t flags,
				  CUdriverProcAddressQueryResult *symbolStatus)
{
	return proc(symbol, pfn, cudaVersion, flags, symbolStatus);
}

#undef cuGetProcAddress
CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn,
				  int cudaVersion, cuuint64_t flags);
CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn,
				  int cudaVersion, cuuint64_t flags)
{
	return proc(symbol, pfn, cudaVersion, flags, NULL);
}
