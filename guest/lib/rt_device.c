// SPDX-License-Identifier: MIT
/*
 * The runtime's device calls. One device; cudaGetDeviceProperties is
 * filled field by field from the driver's attributes (which are the
 * device's DEVICE_INFO), never copied as a blob: a field the device does
 * not report stays 0.
 */
#include <stddef.h>
#include <string.h>

#include "rt_priv.h"

cudaError_t CUDARTAPI cudaGetDeviceCount(int *count)
{
	CUcontext c;
	cudaError_t e;

	if (!count)
		return vgrt_set(cudaErrorInvalidValue);
	e = vgrt_ctx(&c);
	*count = e ? 0 : 1;
	return e;
}

cudaError_t CUDARTAPI cudaGetDevice(int *device)
{
	CTX_OR_RETURN();
	if (!device)
		return vgrt_set(cudaErrorInvalidValue);
	*device = 0;
	return cudaSuccess;
}

cudaError_t CUDARTAPI cudaSetDevice(int device)
{
	CTX_OR_RETURN();
	return device == 0 ? cudaSuccess : vgrt_set(cudaErrorInvalidDevice);
}

cudaError_t CUDARTAPI cudaInitDevice(int device, unsigned int deviceFlags,
				     unsigned int flags)
{
	(void)deviceFlags;
	(void)flags;
	return cudaSetDevice(device);
}

cudaError_t CUDARTAPI cudaChooseDevice(int *device,
				       const struct cudaDeviceProp *prop)
{
	(void)prop;
	return cudaGetDevice(device);
}

cudaError_t CUDARTAPI cudaSetDeviceFlags(unsigned int flags)
{
	CTX_OR_RETURN();
	/* scheduling hints (spin, yield, block): kept by the context */
	return vgrt_err(
		cuDevicePrimaryCtxSetFlags(0, flags & ~cudaDeviceMapHost));
}

cudaError_t CUDARTAPI cudaGetDeviceFlags(unsigned int *flags)
{
	CUcontext c;
	cudaError_t e = vgrt_ctx(&c);

	if (e)
		return e;
	if (!flags)
		return vgrt_set(cudaErrorInvalidValue);
	return vgrt_err(cuCtxGetFlags(flags));
}

cudaError_t CUDARTAPI cudaDeviceSynchronize(void)
{
	CTX_OR_RETURN();
	return vgrt_err(cuCtxSynchronize());
}

cudaError_t CUDARTAPI cudaDeviceReset(void)
{
	return vgrt_reset();
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int *value,
					     enum cudaDeviceAttr attr,
					     int device)
{
	CTX_OR_RETURN();
	if (!value)
		return vgrt_set(cudaErrorInvalidValue);
	if (device != 0)
		return vgrt_set(cudaErrorInvalidDevice);
	/* cudaDevAttr* and CU_DEVICE_ATTRIBUTE_* number alike */
	return vgrt_err(
		cuDeviceGetAttribute(value, (CUdevice_attribute)attr, 0));
}

cudaError_t CUDARTAPI cudaDeviceCanAccessPeer(int *canAccessPeer, int device,
					      int peerDevice)
{
	CTX_OR_RETURN();
	return vgrt_err(
		cuDeviceCanAccessPeer(canAccessPeer, device, peerDevice));
}

/* ---- cudaGetDeviceProperties ---- */

struct prop_field {
	size_t off;
	unsigned char is_size_t;
	CUdevice_attribute attr;
};

#define I(f, a)                                                                \
	{                                                                      \
		offsetof(struct cudaDeviceProp, f), 0, CU_DEVICE_ATTRIBUTE_##a \
	}
#define Z(f, a)                                                                \
	{                                                                      \
		offsetof(struct cudaDeviceProp, f), 1, CU_DEVICE_ATTRIBUTE_##a \
	}

static const struct prop_field fields[] = {
	Z(sharedMemPerBlock, MAX_SHARED_MEMORY_PER_BLOCK),
	I(regsPerBlock, MAX_REGISTERS_PER_BLOCK),
	I(warpSize, WARP_SIZE),
	Z(memPitch, MAX_PITCH),
	I(maxThreadsPerBlock, MAX_THREADS_PER_BLOCK),
	I(maxThreadsDim[0], MAX_BLOCK_DIM_X),
	I(maxThreadsDim[1], MAX_BLOCK_DIM_Y),
	I(maxThreadsDim[2], MAX_BLOCK_DIM_Z),
	I(maxGridSize[0], MAX_GRID_DIM_X),
	I(maxGridSize[1], MAX_GRID_DIM_Y),
	I(maxGridSize[2], MAX_GRID_DIM_Z),
	Z(totalConstMem, TOTAL_CONSTANT_MEMORY),
	I(major, COMPUTE_CAPABILITY_MAJOR),
	I(minor, COMPUTE_CAPABILITY_MINOR),
	Z(textureAlignment, TEXTURE_ALIGNMENT),
	Z(texturePitchAlignment, TEXTURE_PITCH_ALIGNMENT),
	I(multiProcessorCount, MULTIPROCESSOR_COUNT),
	I(integrated, INTEGRATED),
	I(canMapHostMemory, CAN_MAP_HOST_MEMORY),
	I(maxTexture1D, MAXIMUM_TEXTURE1D_WIDTH),
	I(maxTexture1DMipmap, MAXIMUM_TEXTURE1D_MIPMAPPED_WIDTH),
	I(maxTexture2D[0], MAXIMUM_TEXTURE2D_WIDTH),
	I(maxTexture2D[1], MAXIMUM_TEXTURE2D_HEIGHT),
	I(maxTexture2DMipmap[0], MAXIMUM_TEXTURE2D_MIPMAPPED_WIDTH),
	I(maxTexture2DMipmap[1], MAXIMUM_TEXTURE2D_MIPMAPPED_HEIGHT),
	I(maxTexture2DLinear[0], MAXIMUM_TEXTURE2D_LINEAR_WIDTH),
	I(maxTexture2DLinear[1], MAXIMUM_TEXTURE2D_LINEAR_HEIGHT),
	I(maxTexture2DLinear[2], MAXIMUM_TEXTURE2D_LINEAR_PITCH),
	I(maxTexture2DGather[0], MAXIMUM_TEXTURE2D_GATHER_WIDTH),
	I(maxTexture2DGather[1], MAXIMUM_TEXTURE2D_GATHER_HEIGHT),
	I(maxTexture3D[0], MAXIMUM_TEXTURE3D_WIDTH),
	I(maxTexture3D[1], MAXIMUM_TEXTURE3D_HEIGHT),
	I(maxTexture3D[2], MAXIMUM_TEXTURE3D_DEPTH),
	I(maxTexture3DAlt[0], MAXIMUM_TEXTURE3D_WIDTH_ALTERNATE),
	I(maxTexture3DAlt[1], MAXIMUM_TEXTURE3D_HEIGHT_ALTERNATE),
	I(maxTexture3DAlt[2], MAXIMUM_TEXTURE3D_DEPTH_ALTERNATE),
	I(maxTextureCubemap, MAXIMUM_TEXTURECUBEMAP_WIDTH),
	I(maxTexture1DLayered[0], MAXIMUM_TEXTURE1D_LAYERED_WIDTH),
	I(maxTexture1DLayered[1], MAXIMUM_TEXTURE1D_LAYERED_LAYERS),
	I(maxTexture2DLayered[0], MAXIMUM_TEXTURE2D_LAYERED_WIDTH),
	I(maxTexture2DLayered[1], MAXIMUM_TEXTURE2D_LAYERED_HEIGHT),
	I(maxTexture2DLayered[2], MAXIMUM_TEXTURE2D_LAYERED_LAYERS),
	I(maxTextureCubemapLayered[0], MAXIMUM_TEXTURECUBEMAP_LAYERED_WIDTH),
	I(maxTextureCubemapLayered[1], MAXIMUM_TEXTURECUBEMAP_LAYERED_LAYERS),
	I(maxSurface1D, MAXIMUM_SURFACE1D_WIDTH),
	I(maxSurface2D[0], MAXIMUM_SURFACE2D_WIDTH),
	I(maxSurface2D[1], MAXIMUM_SURFACE2D_HEIGHT),
	I(maxSurface3D[0], MAXIMUM_SURFACE3D_WIDTH),
	I(maxSurface3D[1], MAXIMUM_SURFACE3D_HEIGHT),
	I(maxSurface3D[2], MAXIMUM_SURFACE3D_DEPTH),
	I(maxSurface1DLayered[0], MAXIMUM_SURFACE1D_LAYERED_WIDTH),
	I(maxSurface1DLayered[1], MAXIMUM_SURFACE1D_LAYERED_LAYERS),
	I(maxSurface2DLayered[0], MAXIMUM_SURFACE2D_LAYERED_WIDTH),
	I(maxSurface2DLayered[1], MAXIMUM_SURFACE2D_LAYERED_HEIGHT),
	I(maxSurface2DLayered[2], MAXIMUM_SURFACE2D_LAYERED_LAYERS),
	I(maxSurfaceCubemap, MAXIMUM_SURFACECUBEMAP_WIDTH),
	I(maxSurfaceCubemapLayered[0], MAXIMUM_SURFACECUBEMAP_LAYERED_WIDTH),
	I(maxSurfaceCubemapLayered[1], MAXIMUM_SURFACECUBEMAP_LAYERED_LAYERS),
	Z(surfaceAlignment, SURFACE_ALIGNMENT),
	I(concurrentKernels, CONCURRENT_KERNELS),
	I(ECCEnabled, ECC_ENABLED),
	I(pciBusID, PCI_BUS_ID),
	I(pciDeviceID, PCI_DEVICE_ID),
	I(pciDomainID, PCI_DOMAIN_ID),
	I(tccDriver, TCC_DRIVER),
	I(asyncEngineCount, ASYNC_ENGINE_COUNT),
	I(unifiedAddressing, UNIFIED_ADDRESSING),
	I(memoryBusWidth, GLOBAL_MEMORY_BUS_WIDTH),
	I(l2CacheSize, L2_CACHE_SIZE),
	I(persistingL2CacheMaxSize, MAX_PERSISTING_L2_CACHE_SIZE),
	I(maxThreadsPerMultiProcessor, MAX_THREADS_PER_MULTIPROCESSOR),
	I(streamPrioritiesSupported, STREAM_PRIORITIES_SUPPORTED),
	I(globalL1CacheSupported, GLOBAL_L1_CACHE_SUPPORTED),
	I(localL1CacheSupported, LOCAL_L1_CACHE_SUPPORTED),
	Z(sharedMemPerMultiprocessor, MAX_SHARED_MEMORY_PER_MULTIPROCESSOR),
	I(regsPerMultiprocessor, MAX_REGISTERS_PER_MULTIPROCESSOR),
	I(managedMemory, MANAGED_MEMORY),
	I(isMultiGpuBoard, MULTI_GPU_BOARD),
	I(multiGpuBoardGroupID, MULTI_GPU_BOARD_GROUP_ID),
	I(hostNativeAtomicSupported, HOST_NATIVE_ATOMIC_SUPPORTED),
	I(pageableMemoryAccess, PAGEABLE_MEMORY_ACCESS),
	I(concurrentManagedAccess, CONCURRENT_MANAGED_ACCESS),
	I(computePreemptionSupported, COMPUTE_PREEMPTION_SUPPORTED),
	I(canUseHostPointerForRegisteredMem,
	  CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM),
	I(cooperativeLaunch, COOPERATIVE_LAUNCH),
	Z(sharedMemPerBlockOptin, MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
	I(pageableMemoryAccessUsesHostPageTables,
	  PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES),
	I(directManagedMemAccessFromHost, DIRECT_MANAGED_MEM_ACCESS_FROM_HOST),
	I(maxBlocksPerMultiProcessor, MAX_BLOCKS_PER_MULTIPROCESSOR),
	I(accessPolicyMaxWindowSize, MAX_ACCESS_POLICY_WINDOW_SIZE),
	Z(reservedSharedMemPerBlock, RESERVED_SHARED_MEMORY_PER_BLOCK),
	I(hostRegisterSupported, HOST_REGISTER_SUPPORTED),
	I(sparseCudaArraySupported, SPARSE_CUDA_ARRAY_SUPPORTED),
	I(hostRegisterReadOnlySupported, READ_ONLY_HOST_REGISTER_SUPPORTED),
	I(timelineSemaphoreInteropSupported,
	  TIMELINE_SEMAPHORE_INTEROP_SUPPORTED),
	I(memoryPoolsSupported, MEMORY_POOLS_SUPPORTED),
	I(gpuDirectRDMASupported, GPU_DIRECT_RDMA_SUPPORTED),
	I(gpuDirectRDMAFlushWritesOptions,
	  GPU_DIRECT_RDMA_FLUSH_WRITES_OPTIONS),
	I(gpuDirectRDMAWritesOrdering, GPU_DIRECT_RDMA_WRITES_ORDERING),
	I(memoryPoolSupportedHandleTypes, MEMPOOL_SUPPORTED_HANDLE_TYPES),
	I(deferredMappingCudaArraySupported,
	  DEFERRED_MAPPING_CUDA_ARRAY_SUPPORTED),
	I(ipcEventSupported, IPC_EVENT_SUPPORTED),
	I(clusterLaunch, CLUSTER_LAUNCH),
	I(unifiedFunctionPointers, UNIFIED_FUNCTION_POINTERS),
	I(deviceNumaConfig, NUMA_CONFIG),
	I(deviceNumaId, NUMA_ID),
	I(mpsEnabled, MPS_ENABLED),
	I(hostNumaId, HOST_NUMA_ID),
	I(gpuPciDeviceID, GPU_PCI_DEVICE_ID),
	I(gpuPciSubsystemID, GPU_PCI_SUBSYSTEM_ID),
	I(hostNumaMultinodeIpcSupported, HOST_NUMA_MULTINODE_IPC_SUPPORTED),
};

cudaError_t CUDARTAPI cudaGetDeviceProperties(struct cudaDeviceProp *prop,
					      int device)
{
	unsigned int i;
	size_t total;
	CUuuid uuid;

	CTX_OR_RETURN();
	if (!prop)
		return vgrt_set(cudaErrorInvalidValue);
	if (device != 0)
		return vgrt_set(cudaErrorInvalidDevice);
	memset(prop, 0, sizeof(*prop));
	cuDeviceGetName(prop->name, sizeof(prop->name), 0);
	if (!cuDeviceGetUuid(&uuid, 0))
		memcpy(prop->uuid.bytes, uuid.bytes, sizeof(prop->uuid.bytes));
	if (!cuDeviceTotalMem(&total, 0))
		prop->totalGlobalMem = total;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *at = (char *)prop + fields[i].off;
		int v;

		if (cuDeviceGetAttribute(&v, fields[i].attr, 0))
			continue; /* not reported: 0 */
		if (fields[i].is_size_t) {
			size_t z = (size_t)(unsigned int)v;

			memcpy(at, &z, sizeof(z));
		} else {
			memcpy(at, &v, sizeof(v));
		}
	}
	return cudaSuccess;
}
