// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: a session's pinned pool in the emulator's memory (ABI 1.5,
 * REGION_GRANT). In a Xen guest whose device offers VGPU_F_GRANT, the
 * pool behind cuMemAllocHost is not guest RAM: the emulator grants pages
 * of its own (dom0's) to us, we map the references through our grant
 * table into pages from the unpopulated pool and map those into the
 * process like any region. The emulator then reads and writes ordinary
 * dom0 memory, which a GPU backend can register. Anything short of that
 * (no Xen, no grant table, the emulator cannot grant, its quota spent)
 * leaves the pool in guest RAM (vgpu_region.c).
 *
 * The grant mappings go only when the session is freed, that is when
 * the file is released, so no process mapping outlives them. A reset or
 * an emulator restart ends the emulator's side (its grants); Xen keeps a
 * page we still map until we unmap it.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "vgpu_drv.h"
#include "vgpu_session.h"

static bool grant_pool = true;
module_param(grant_pool, bool, 0444);
MODULE_PARM_DESC(
	grant_pool,
	"on Xen, sessions' pinned pools in dom0 memory granted by the emulator (default 1; 0: guest RAM)");

bool vgpu_grant_usable(struct vgpu_dev *vd)
{
	return grant_pool && xen_domain() && (vd->features & VGPU_F_GRANT);
}

/* REGION_GRANT: the emulator's references into @refs (coherent memory). */
static int grant_cmd(struct vgpu_session *s, struct vgpu_region *r,
		     dma_addr_t list)
{
	struct vgpu_sqe e = { .opcode = VGPU_OP_REGION_GRANT };
	u64 id = 0;
	u16 st = 0;
	int rc;

	e.session = cpu_to_le32(s->id);
	e.region.list_gpa = cpu_to_le64(list);
	e.region.nents = cpu_to_le32(r->bytes >> PAGE_SHIFT);
	e.region.bytes = cpu_to_le64(r->bytes);
	rc = vgpu_admin_run(s->vd, &e, &st, &id);
	if (!rc && st != VGPU_S_OK)
		rc = st == VGPU_S_LIMIT		? -ENOSPC :
		     st == VGPU_S_NOT_SUPPORTED ? -EOPNOTSUPP :
						  -EIO;
	r->id = (u32)id;
	return rc;
}

static unsigned long page_addr(struct page *p)
{
	return (unsigned long)pfn_to_kaddr(page_to_xen_pfn(p));
}

/* Unmap what is mapped, then give the pages back. If Xen refuses an
 * unmap, none goes back (never reused while one may still be mapped):
 * after the domain was restored it refuses them all, the grants having
 * stayed with the saved domain (its new grant table never had them). */
void vgpu_grant_release(struct vgpu_dev *vd, struct vgpu_region *r)
{
	unsigned long i, k = 0, kept = 0, n = r->bytes >> PAGE_SHIFT;
	struct gntab_unmap_queue_data q = {};
	struct gnttab_unmap_grant_ref *u;
	struct page **pages;

	u = kvcalloc(n, sizeof(*u), GFP_KERNEL);
	pages = kvcalloc(n, sizeof(*pages), GFP_KERNEL);
	for (i = 0; u && pages && i < r->mapped; i++) {
		if (r->handles[i] == INVALID_GRANT_HANDLE)
			continue;
		gnttab_set_unmap_op(&u[k], page_addr(r->pages[i]),
				    GNTMAP_host_map, r->handles[i]);
		pages[k++] = r->pages[i];
	}
	if (r->mapped && (!u || !pages)) {
		kept = r->mapped; /* no memory even to ask Xen */
	} else if (k) {
		q.unmap_ops = u;
		q.pages = pages;
		q.count = k;
		if (gnttab_unmap_refs_sync(&q))
			kept = k;
		else
			for (i = 0; i < k; i++)
				kept += u[i].status != GNTST_okay;
	}
	if (kept)
		dev_warn(
			&vd->pdev->dev,
			"region %u: Xen refused %lu of %lu grant unmaps (all after a restore): its %lu pages are not reused\n",
			r->id, kept, k, n);
	else if (r->allocated)
		gnttab_free_pages(n, r->pages);
	kvfree(u);
	kvfree(pages);
	kvfree(r->handles);
	kvfree(r->pages);
	kfree(r);
}

/* Map the references; every page mapped, or -EFAULT. */
static int grant_map(struct vgpu_region *r, const __le32 *refs)
{
	unsigned long i, n = r->bytes >> PAGE_SHIFT;
	struct gnttab_map_grant_ref *m;
	int rc = 0;

	m = kvcalloc(n, sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	/* the emulator runs in dom0, as for the event channel */
	for (i = 0; i < n; i++)
		gnttab_set_map_op(&m[i], page_addr(r->pages[i]),
				  GNTMAP_host_map, le32_to_cpu(refs[i]), 0);
	if (gnttab_map_refs(m, NULL, r->pages, n))
		rc = -EFAULT;
	for (i = 0; i < n; i++) {
		r->handles[i] = m[i].status == GNTST_okay ?
					m[i].handle :
					INVALID_GRANT_HANDLE;
		if (m[i].status != GNTST_okay)
			rc = -EFAULT;
	}
	r->mapped = n;
	kvfree(m);
	return rc;
}

static struct vgpu_region *grant_new(u64 bytes)
{
	unsigned long n = bytes >> PAGE_SHIFT;
	struct vgpu_region *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->bytes = bytes;
	r->granted = true;
	r->pages = kvcalloc(n, sizeof(*r->pages), GFP_KERNEL);
	r->handles = kvcalloc(n, sizeof(*r->handles), GFP_KERNEL);
	if (r->pages && r->handles && !gnttab_alloc_pages(n, r->pages)) {
		r->allocated = true;
		return r;
	}
	kvfree(r->handles);
	kvfree(r->pages);
	kfree(r);
	return NULL;
}

/*
 * A granted region of @bytes for @s, mapped, on the session's list; NULL
 * with *err (the caller then falls back to guest RAM). Caller holds
 * s->lock.
 */
struct vgpu_region *vgpu_grant_region(struct vgpu_session *s, u64 bytes,
				      int *err)
{
	struct vgpu_dev *vd = s->vd;
	size_t list_bytes = (bytes >> PAGE_SHIFT) * sizeof(__le32);
	struct vgpu_region *r;
	dma_addr_t list;
	__le32 *refs;
	u32 slot;

	*err = vgpu_region_budget(s, bytes, &slot);
	if (*err)
		return NULL;
	refs = dma_alloc_coherent(&vd->pdev->dev, list_bytes, &list,
				  GFP_KERNEL);
	r = refs ? grant_new(bytes) : NULL;
	*err = r ? grant_cmd(s, r, list) : -ENOMEM;
	if (!*err) {
		*err = grant_map(r, refs);
		/* the emulator holds the grants: let it end them */
		if (*err &&
		    vgpu_session_simple(s, VGPU_OP_REGION_DEL, r->id, NULL) &&
		    !READ_ONCE(s->lost))
			dev_warn(
				&vd->pdev->dev,
				"region %u: the device kept a grant it could not map\n",
				r->id);
	}
	if (refs)
		dma_free_coherent(&vd->pdev->dev, list_bytes, refs, list);
	if (*err) {
		if (r)
			vgpu_grant_release(vd, r);
		return NULL;
	}
	r->slot = slot;
	__set_bit(slot, &s->slots);
	s->pinned += bytes;
	list_add_tail(&r->node, &s->regions);
	return r;
}
