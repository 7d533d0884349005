// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: a session's pinned pool and regions (ABI 1.2): pages the
 * driver allocates, in high-order chunks where it can, registered with
 * REGION_ADD as an extent list and mapped into the session's process.
 * Split out of vgpu_session.c unchanged.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vgpu_drv.h"
#include "vgpu_session.h"

#ifdef MAX_PAGE_ORDER
#define VGPU_MAX_ORDER MAX_PAGE_ORDER
#else
#define VGPU_MAX_ORDER (MAX_ORDER - 1)
#endif

void vgpu_region_free(struct vgpu_dev *vd, struct vgpu_region *r)
{
	unsigned long i;

	if (r->granted) {
		vgpu_grant_release(vd, r);
		return;
	}
	for (i = 0; i < r->nchunks; i++)
		dma_unmap_page(&vd->pdev->dev, r->chunks[i].dma,
			       r->chunks[i].bytes, DMA_BIDIRECTIONAL);
	/* a page still mapped by the process lives on until its munmap */
	for (i = 0; r->pages && i < r->bytes >> PAGE_SHIFT && r->pages[i]; i++)
		put_page(r->pages[i]);
	kvfree(r->pages);
	kvfree(r->chunks);
	kfree(r);
}

/* One chunk of 2^order pages, zeroed, split into order-0 pages. */
static int region_chunk(struct vgpu_dev *vd, struct vgpu_region *r,
			unsigned long at, unsigned int order)
{
	gfp_t gfp = GFP_KERNEL | __GFP_ZERO;
	struct page *p;
	dma_addr_t dma;
	unsigned long i;

	if (order)
		gfp |= __GFP_NOWARN | __GFP_NORETRY;
	p = alloc_pages(gfp, order);
	if (!p)
		return -ENOMEM;
	split_page(p, order);
	for (i = 0; i < 1ul << order; i++)
		r->pages[at + i] = p + i;
	dma = dma_map_page(&vd->pdev->dev, p, 0, PAGE_SIZE << order,
			   DMA_BIDIRECTIONAL);
	if (dma_mapping_error(&vd->pdev->dev, dma))
		return -ENOMEM;
	r->chunks[r->nchunks].dma = dma;
	r->chunks[r->nchunks].bytes = PAGE_SIZE << order;
	r->nchunks++;
	return 0;
}

static struct vgpu_region *region_alloc(struct vgpu_dev *vd, u64 bytes)
{
	unsigned long n = bytes >> PAGE_SHIFT, at = 0;
	unsigned int order = VGPU_MAX_ORDER;
	struct vgpu_region *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->bytes = bytes;
	r->pages = kvcalloc(n, sizeof(*r->pages), GFP_KERNEL);
	r->chunks = kvcalloc(n, sizeof(*r->chunks), GFP_KERNEL);
	if (!r->pages || !r->chunks)
		goto fail;
	while (at < n) {
		order = min_t(unsigned int, order, ilog2(n - at));
		if (!region_chunk(vd, r, at, order)) {
			at += 1ul << order;
		} else if (!order) {
			goto fail;
		} else {
			order--;
		}
	}
	return r;
fail:
	vgpu_region_free(vd, r);
	return NULL;
}

/* REGION_ADD for @r: its chunks as an extent list (adjacent ones merged),
 * in coherent memory the device reads while it runs the command. */
static int region_add(struct vgpu_session *s, struct vgpu_region *r)
{
	struct vgpu_dev *vd = s->vd;
	struct vgpu_sqe e = { .opcode = VGPU_OP_REGION_ADD };
	size_t list_bytes = r->nchunks * sizeof(struct vgpu_extent);
	struct vgpu_extent *x;
	dma_addr_t list;
	u32 i, n = 0;
	u64 id = 0;
	u16 st = 0;
	int rc;

	x = dma_alloc_coherent(&vd->pdev->dev, list_bytes, &list, GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	for (i = 0; i < r->nchunks; i++) {
		struct vgpu_chunk *c = &r->chunks[i];

		if (n &&
		    le64_to_cpu(x[n - 1].gpa) + le64_to_cpu(x[n - 1].len) ==
			    c->dma) {
			le64_add_cpu(&x[n - 1].len, c->bytes);
			continue;
		}
		x[n].gpa = cpu_to_le64(c->dma);
		x[n++].len = cpu_to_le64(c->bytes);
	}
	e.session = cpu_to_le32(s->id);
	e.region.list_gpa = cpu_to_le64(list);
	e.region.nents = cpu_to_le32(n);
	e.region.bytes = cpu_to_le64(r->bytes);
	rc = vgpu_admin_run(vd, &e, &st, &id);
	dma_free_coherent(&vd->pdev->dev, list_bytes, x, list);
	if (!rc && st != VGPU_S_OK)
		rc = st == VGPU_S_LIMIT || st == VGPU_S_NO_MEMORY ? -ENOSPC :
								    -EIO;
	r->id = (u32)id;
	return rc;
}

int vgpu_region_budget(struct vgpu_session *s, u64 bytes, u32 *slot)
{
	if (!bytes || bytes > VGPU_REGION_BYTES_MAX ||
	    s->pinned + bytes > VGPU_SESSION_PINNED_MAX)
		return -E2BIG;
	*slot = find_first_zero_bit(&s->slots, VGPU_REGIONS_MAX);
	return *slot < VGPU_REGIONS_MAX ? 0 : -ENOSPC;
}

/* A new region of the session, registered with the device. Caller holds
 * s->lock. REGION_ADD's outcome is always known (the admin wait is not
 * killable): on an error the device does not hold the pages. */
struct vgpu_region *vgpu_session_region(struct vgpu_session *s, u64 bytes,
					int *err)
{
	struct vgpu_region *r;
	u32 slot;

	*err = vgpu_region_budget(s, bytes, &slot);
	if (*err)
		return NULL;
	r = region_alloc(s->vd, bytes);
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->slot = slot;
	__set_bit(slot, &s->slots);
	s->pinned += bytes;
	list_add_tail(&r->node, &s->regions);
	*err = region_add(s, r);
	if (*err) { /* refused, never sent, or the device was reset */
		list_del(&r->node);
		__clear_bit(slot, &s->slots);
		s->pinned -= bytes;
		vgpu_region_free(s->vd, r);
	}
	return *err ? NULL : r;
}

long vgpu_region_alloc_ioctl(struct vgpu_session *s, void __user *uarg)
{
	struct vgpu_ioc_region a;
	struct vgpu_region *r;
	int rc = vgpu_session_usable(s);

	if (rc)
		return rc;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.rsvd0 || a.region || a.bytes > VGPU_REGION_BYTES_MAX)
		return -EINVAL;
	mutex_lock(&s->lock);
	r = vgpu_session_region(s, PAGE_ALIGN(a.bytes), &rc);
	if (r) {
		a.region = r->id;
		a.mmap_off =
			VGPU_MMAP_REGION_BASE + r->slot * VGPU_REGION_STRIDE;
		a.len = r->bytes;
	}
	mutex_unlock(&s->lock);
	if (rc)
		return rc;
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* REGION_DEL, then the pages: those the process still maps stay until
 * its munmap (page references), none is touched by the device again. */
long vgpu_region_free_ioctl(struct vgpu_session *s, void __user *uarg)
{
	struct vgpu_ioc_region a;
	struct vgpu_region *r, *found = NULL;
	int rc = vgpu_session_usable(s);

	if (rc)
		return rc;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.rsvd0 || !a.region || a.region == s->pool->id)
		return -EINVAL;
	mutex_lock(&s->lock);
	list_for_each_entry(r, &s->regions, node) if (r->id == a.region)
		found = r;
	rc = found ? vgpu_session_simple(s, VGPU_OP_REGION_DEL, a.region,
					 NULL) :
		     -ENOENT;
	if (found && (!rc || READ_ONCE(s->lost))) {
		list_del(&found->node);
		__clear_bit(found->slot, &s->slots);
		s->pinned -= found->bytes;
		vgpu_region_free(s->vd, found);
		rc = 0;
	}
	mutex_unlock(&s->lock);
	return rc;
}

int vgpu_region_mmap(struct vgpu_session *s, struct vm_area_struct *vma,
		     u64 off)
{
	struct vgpu_region *r, *found = NULL;
	int rc = -EINVAL;

	mutex_lock(&s->lock);
	list_for_each_entry(r, &s->regions,
			    node) if (VGPU_MMAP_REGION_BASE +
					      r->slot * VGPU_REGION_STRIDE ==
				      off) found = r;
	if (found && vma->vm_end - vma->vm_start == found->bytes) {
		vgpu_vm_flags(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP,
			      0);
		rc = vm_map_pages_zero(vma, found->pages,
				       found->bytes >> PAGE_SHIFT);
	}
	mutex_unlock(&s->lock);
	return rc;
}
