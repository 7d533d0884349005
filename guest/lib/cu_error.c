// SPDX-License-Identifier: MIT
/*
 * cuGetErrorName / cuGetErrorString. The names come from the CUresult
 * enum of the cuda.h the library is built with (generated at build time,
 * gen-errnames.sh); the texts are plain-language readings of them.
 */
#include "cu_priv.h"

static const struct vg_name *find(CUresult error)
{
	return vg_name_find(vg_cu_errnames, vg_cu_errnames_n, (int)error);
}

CUresult CUDAAPI cuGetErrorName(CUresult error, const char **pStr)
{
	const struct vg_name *n = find(error);

	if (!pStr)
		return CUDA_ERROR_INVALID_VALUE;
	*pStr = n ? n->name : NULL;
	return n ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuGetErrorString(CUresult error, const char **pStr)
{
	const struct vg_name *n = find(error);

	if (!pStr)
		return CUDA_ERROR_INVALID_VALUE;
	*pStr = n ? n->text : NULL;
	return n ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
