/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * /dev/vgpu_stub: the user ABI of the Linux guest driver (guest/linux).
 *
 * Sessions (ABI 1.2). Every open file may hold one session: a device
 * session (vgpu_ring_abi.h) with its own submission and completion queue
 * and a pinned pool, all in memory the driver allocates and the process
 * maps. The process then submits without system calls: it writes entries
 * into its SQ, publishes the tail and calls VGPU_IOC_DOORBELL only when
 * the queue header asks for it; it reaps completions from its CQ and calls
 * VGPU_IOC_WAIT to sleep until one arrives. The device refuses guest
 * addresses on a session queue, so a process reaches nothing but its own
 * session; closing the file (or the process dying) closes the session and
 * frees what it owned. The pinned pool and further pinned regions
 * (VGPU_IOC_REGION_ALLOC) are named by region id in commands.
 *
 * mmap offsets: VGPU_MMAP_QHDR (one page), VGPU_MMAP_SQ, VGPU_MMAP_CQ
 * (their sizes in vgpu_ioc_session), and a region's mmap_off.
 *
 * A session belongs to the process that made it: the file inherited by a
 * child (fork) gives the child -EPERM, and no mapping survives a fork
 * (VM_DONTCOPY). VGPU_IOC_SESSION on an ABI 1.1 device: -EOPNOTSUPP.
 * After a device reset or an emulator restart the session is gone: every
 * session call says -ENODEV and the process opens the file anew; after an
 * unbind every call on the file says -ENODEV. Mappings stay readable until
 * munmap in both cases.
 *
 * VGPU_IOC_SUBMIT (ABI 1.1) runs one 1.1 command (any other opcode:
 * -EINVAL) on the driver's own queue with user memory the driver pins
 * into a scatter-gather list, and returns when it completed. Once
 * submitted, only a fatal signal ends the wait (the command then finishes
 * on its own, and its pages stay pinned until it does); other signals wait
 * for the result. A buffer longer than 64 pages' worth: -E2BIG. A command
 * lost to a device reset or an emulator restart: -EIO, and so is every
 * later VGPU_IOC_SUBMIT on a file opened before that reset (the legacy
 * session's device memory went with it, a restored guest's too): the
 * process opens the file anew.
 *
 * Who may open the node: mode 0660, group root unless a udev rule
 * (guest/linux/99-vgpu-stub.rules) gives it the group "vgpu".
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
typedef int64_t __s64;
#endif

struct vgpu_ioc_cmd {
	__u8 opcode; /* VGPU_OP_* (vgpu_ring_abi.h), 1.1 opcodes only */
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
	/* 1.3: the guest's event-channel port that carries doorbells and
	 * completions (VGPU_REG_EVTCHN), 0: MMIO doorbells and msi above */
	__u32 evtchn;
	/* 1.2 */
	__u64 doorbells; /* doorbells rung (MMIO or event channel) */
	__u64 waits; /* VGPU_IOC_WAIT calls that slept */
	__u64 sessions; /* sessions opened since load */
	__u64 resets; /* device resets or emulator restarts seen */
};

/* VGPU_IOC_SESSION: open this file's session (once per file). */
struct vgpu_ioc_session {
	__u32 sq_depth; /* in: entries (power of two), 0: default */
	__u32 rsvd0; /* 0 */
	__u64 pool_bytes; /* in: pinned pool size, 0: default; rounded up to
			   * pages */
	/* out */
	__u32 session; /* the device's session id */
	__u32 queue; /* the device queue bound to it */
	__u32 depth; /* SQ and CQ entries */
	__u32 pool_region; /* region id of the pinned pool */
	__u64 pool_mmap_off; /* mmap offset of the pool */
	__u64 pool_len; /* its bytes */
	__u64 sq_bytes; /* mmap length of VGPU_MMAP_SQ */
	__u64 cq_bytes; /* mmap length of VGPU_MMAP_CQ */
	__u32 abi_version;
	__u32 features;
	/* 1.5, out: VGPU_POOL_GRANTED when the pool is dom0 memory the
	 * emulator granted (Xen, VGPU_F_GRANT); else guest RAM. in: 0 */
	__u32 pool_flags;
	__u32 rsvd1; /* 0 */
	__u64 rsvd[3]; /* in: 0 */
};

#define VGPU_POOL_GRANTED 0x1u

/* Limits of the driver (VGPU_IOC_SESSION and VGPU_IOC_REGION_ALLOC). */
#define VGPU_SESSION_DEPTH_DEFAULT 256
#define VGPU_POOL_BYTES_DEFAULT (4ull << 20)
#define VGPU_REGION_BYTES_MAX (256ull << 20) /* the pool included */
#define VGPU_SESSION_PINNED_MAX (512ull << 20) /* all regions of a session */
#define VGPU_REGIONS_MAX 64 /* the pool included */

/* mmap offsets, MAP_SHARED only, each of its exact length; the CQ is
 * read-only. */
#define VGPU_MMAP_QHDR 0x0ull
#define VGPU_MMAP_SQ 0x100000ull
#define VGPU_MMAP_CQ 0x200000ull
#define VGPU_MMAP_REGION_BASE 0x1000000ull /* regions from here on */

/* VGPU_IOC_WAIT: sleep until the CQ entry at index head (the caller's
 * next entry to reap, a free-running index like the header's cq_head) is
 * posted, a signal arrives (-EINTR; nothing is consumed, the call may
 * simply be repeated), timeout_ns passes (-ETIMEDOUT; 0: no timeout), or
 * the session is lost to a device reset or an emulator restart (-ENODEV);
 * -EIO when the device stopped the session's queue (a tail past the ring).
 * While it sleeps it sets VGPU_DRV_NEED_IRQ in the header; the last
 * waiter to return clears it (a process that polls leaves it clear). */
struct vgpu_ioc_wait {
	__u32 head;
	__u32 rsvd0; /* 0 */
	__u64 timeout_ns;
};

/* VGPU_IOC_REGION_ALLOC / _FREE: a further pinned region of the session
 * (cuMemAllocHost); freed when the file closes at the latest. The pool
 * cannot be freed. After _FREE the device no longer uses the pages; a
 * mapping of them stays valid until munmap. */
struct vgpu_ioc_region {
	__u64 bytes; /* in: rounded up to pages */
	__u32 region; /* out (ALLOC), in (FREE) */
	__u32 rsvd0; /* 0 */
	__u64 mmap_off; /* out */
	__u64 len; /* out */
};

#define VGPU_IOC_SUBMIT _IOWR('V', 1, struct vgpu_ioc_cmd)
#define VGPU_IOC_STATS _IOR('V', 2, struct vgpu_ioc_stats)
#define VGPU_IOC_SESSION _IOWR('V', 3, struct vgpu_ioc_session)
#define VGPU_IOC_DOORBELL _IO('V', 4)
#define VGPU_IOC_WAIT _IOW('V', 5, struct vgpu_ioc_wait)
#define VGPU_IOC_REGION_ALLOC _IOWR('V', 6, struct vgpu_ioc_region)
#define VGPU_IOC_REGION_FREE _IOW('V', 7, struct vgpu_ioc_region)

#endif
