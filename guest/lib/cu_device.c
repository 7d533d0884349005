// SPDX-License-Identifier: MIT
/*
 * The device: one (device 0), described by what the device's DEVICE_INFO
 * said to the first session. Attributes are the backend's own values.
 */
#include <string.h>

#include "cu_priv.h"

CUresult CUDAAPI cuDriverGetVersion(int *driverVersion)
{
	if (!driverVersion)
		return CUDA_ERROR_INVALID_VALUE;
	/* the API this library implements (cuda.h it was built with) */
	*driverVersion = CUDA_VERSION;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetCount(int *count)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	*count = 1;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal)
{
	CUresult r = vg_initialized();

	if (r)
		return r;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	if (ordinal != 0)
		return CUDA_ERROR_INVALID_DEVICE;
	*device = 0;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!name || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	strncpy(name, vg_devinfo()->name, (size_t)len - 1);
	name[len - 1] = '\0';
	return CUDA_SUCCESS;
}

/* cuda.h maps cuDeviceGetUuid to _v2; both names are exported. */
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!uuid)
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(uuid->bytes, vg_devinfo()->uuid, sizeof(uuid->bytes));
	return CUDA_SUCCESS;
}

#undef cuDeviceGetUuid
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	return cuDeviceGetUuid_v2(uuid, dev);
}

CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = vg_devinfo()->total_mem;
	return CUDA_SUCCESS;
}

/* attr[a] for what the device reports; nothing made up past that. */
static CUresult attr(int *pi, int a)
{
	const struct vgpu_device_info *d = vg_devinfo();

	if (a < 0 || (unsigned int)a >= d->nattrs)
		return CUDA_ERROR_INVALID_VALUE;
	*pi = d->attr[a];
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib,
				      CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!pi)
		return CUDA_ERROR_INVALID_VALUE;
	return attr(pi, (int)attrib);
}

CUresult CUDAAPI cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!major || !minor)
		return CUDA_ERROR_INVALID_VALUE;
	*major = (int)vg_devinfo()->cc_major;
	*minor = (int)vg_devinfo()->cc_minor;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetProperties(CUdevprop *prop, CUdevice dev)
{
	CUresult r = vg_check_dev(dev);

	if (r)
		return r;
	if (!prop)
		return CUDA_ERROR_INVALID_VALUE;
	memset(prop, 0, sizeof(*prop));
	/* what the device does not report stays 0 */
	attr(&prop->maxThreadsPerBlock,
	     CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
	attr(&prop->maxThreadsDim[0], CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X);
	attr(&prop->maxThreadsDim[1], CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y);
	attr(&prop->maxThreadsDim[2], CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z);
	attr(&prop->maxGridSize[0], CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X);
	attr(&prop->maxGridSize[1], CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y);
	attr(&prop->maxGridSize[2], CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z);
	attr(&prop->sharedMemPerBlock,
	     CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
	attr(&prop->totalConstantMemory,
	     CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY);
	attr(&prop->SIMDWidth, CU_DEVICE_ATTRIBUTE_WARP_SIZE);
	attr(&prop->memPitch, CU_DEVICE_ATTRIBUTE_MAX_PITCH);
	attr(&prop->regsPerBlock, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK);
	attr(&prop->clockRate, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
	attr(&prop->textureAlign, CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev,
				       CUdevice peerDev)
{
	CUresult r = vg_check_dev(dev);

	if (!r)
		r = vg_check_dev(peerDev);
	if (r)
		return r;
	if (!canAccessPeer)
		return CUDA_ERROR_INVALID_VALUE;
	*canAccessPeer = 0; /* one device, no peers */
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
	CUresult r;

	if (!ctx)
		return cuCtxGetDevice(device);
	r = vg_ctx_check(ctx);
	if (!r && !device)
		r = CUDA_ERROR_INVALID_VALUE;
	if (!r)
		*device = 0;
	return r;
}
