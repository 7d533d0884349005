/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vgpu_stub: what vgpu_session.c (sessions, their queue, doorbell and
 * wait) and vgpu_region.c (their pinned pool and regions) share.
 */
#ifndef VGPU_SESSION_H
#define VGPU_SESSION_H

#include <linux/mm.h>
#include <linux/version.h>

#include "vgpu_drv.h"

#define VGPU_REGION_STRIDE (1ull << 30) /* mmap offsets between regions */

/* A chunk of physically contiguous pages, DMA-mapped as one. */
struct vgpu_chunk {
	dma_addr_t dma;
	size_t bytes;
};

struct vgpu_region {
	struct list_head node;
	u32 id; /* the device's */
	u32 slot; /* mmap offset: VGPU_MMAP_REGION_BASE + slot * stride */
	u64 bytes;
	struct page **pages; /* order 0 each (split), bytes / PAGE_SIZE */
	struct vgpu_chunk *chunks;
	u32 nchunks;
	/* granted by the emulator (vgpu_grant.c): pages from the unpopulated
	 * pool, the first @mapped of them mapped with handles[] */
	bool granted, allocated;
	unsigned long mapped;
	u32 *handles; /* grant_handle_t */
};

struct vgpu_session {
	struct vgpu_dev *vd;
	struct mm_struct *mm; /* the owner's (mmgrab) */
	struct mutex lock; /* regions */
	bool lost; /* a reset or an unbind ended it (sess_lock) */
	bool opened; /* the device knows it */
	bool has_qid; /* qid is ours in vd->qmap (sess_lock) */
	u32 id, qid;
	struct vgpu_qmem m;
	struct list_head regions;
	unsigned long slots; /* region slots in use */
	u64 pinned;
	struct vgpu_region *pool;
	struct list_head node; /* vd->sessions */
	struct list_head sleep_node; /* vd->sleeping while sleepers */
	u32 sleepers; /* wake_lock */
	wait_queue_head_t wq;
	spinlock_t bell_lock;
	struct work_struct close_work;
};

static inline void vgpu_vm_flags(struct vm_area_struct *vma, unsigned long set,
				 unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/* vgpu_session.c */
int vgpu_session_simple(struct vgpu_session *s, u8 op, u32 obj, u64 *res);
int vgpu_session_usable(struct vgpu_session *s);

/* vgpu_region.c */
void vgpu_region_free(struct vgpu_dev *vd, struct vgpu_region *r);
/* A free slot and pinned-bytes budget for a region of @bytes. */
int vgpu_region_budget(struct vgpu_session *s, u64 bytes, u32 *slot);
struct vgpu_region *vgpu_session_region(struct vgpu_session *s, u64 bytes,
					int *err);
long vgpu_region_alloc_ioctl(struct vgpu_session *s, void __user *uarg);
long vgpu_region_free_ioctl(struct vgpu_session *s, void __user *uarg);
int vgpu_region_mmap(struct vgpu_session *s, struct vm_area_struct *vma,
		     u64 off);

/* vgpu_grant.c: the pool in the emulator's memory (ABI 1.5) */
bool vgpu_grant_usable(struct vgpu_dev *vd);
struct vgpu_region *vgpu_grant_region(struct vgpu_session *s, u64 bytes,
				      int *err);
void vgpu_grant_release(struct vgpu_dev *vd, struct vgpu_region *r);

#endif
