/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * /dev/vgpu_stub: the user ABI of the Linux guest driver (guest/linux).
 * One command per VGPU_IOC_SUBMIT, run on the device's I/O queue; the
 * call returns when the command has completed. Data buffers are user
 * memory: the driver pins it and hands the device a scatter-gather list.
 */
#ifndef VGPU_STUB_UAPI_H
#define VGPU_STUB_UAPI_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
#endif

struct vgpu_ioc_cmd {
	__u8 opcode; /* VGPU_OP_* (vgpu_ring_abi.h) */
	__u8 rsvd0[7]; /* 0 */
	__u64 arg[4]; /* as the opcode wants; MEMCPY: arg[1] = len */
	__u64 buf; /* user buffer (GET_INFO, MEMCPY_*), or 0 */
	__u64 len; /* its length: at most 64 pages' worth */
	__u64 result; /* out: the completion's result */
	__u32 status; /* out: VGPU_S_* */
	__u32 rsvd1; /* 0 */
};

struct vgpu_ioc_stats {
	__u64 commands;
	__u64 interrupts;
	__u32 msi; /* 1: MSI, 0: INTx */
	__u32 rsvd;
};

#define VGPU_IOC_SUBMIT _IOWR('V', 1, struct vgpu_ioc_cmd)
#define VGPU_IOC_STATS _IOR('V', 2, struct vgpu_ioc_stats)

#endif
