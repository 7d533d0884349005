// SPDX-License-Identifier: GPL-2.0-only
/*
 * Xen glue, the seam the device model and command engine use: BAR
 * mappings, guest memory (copies, mappings, frame lists for regions),
 * dirty tracking while log-dirty is on, MSI and INTx.
 */
#include "host_xen_int.h"

/* ---- the hypervisor seam (struct host_ops) ---- */

static int xen_map_mmio(struct host *h, uint64_t gpa, uint64_t len)
{
	struct xen_host *x = h->priv;

	/* The end of the range is inclusive. */
	if (xendevicemodel_map_io_range_to_ioreq_server(x->dm, x->domid, x->id,
							1, gpa, gpa + len - 1))
		return neg_errno();
	return 0;
}

static int xen_unmap_mmio(struct host *h, uint64_t gpa, uint64_t len)
{
	struct xen_host *x = h->priv;

	if (xendevicemodel_unmap_io_range_from_ioreq_server(
		    x->dm, x->domid, x->id, 1, gpa, gpa + len - 1))
		return neg_errno();
	return 0;
}

#define MAP_GUEST_MAX_PAGES 64

/*
 * Map @n consecutive guest frames from @pfn. The guest chose them, so
 * every frame's error is checked. NULL with errno set.
 */
static void *map_frames(struct xen_host *x, uint64_t pfn, size_t n, int prot)
{
	xen_pfn_t pfns[MAP_GUEST_MAX_PAGES];
	int errs[MAP_GUEST_MAX_PAGES];
	size_t i;
	void *va;

	if (n == 0 || n > MAP_GUEST_MAX_PAGES) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		pfns[i] = (xen_pfn_t)(pfn + i);
		errs[i] = 0;
	}
	va = xenforeignmemory_map(x->fm, x->domid, prot, n, pfns, errs);
	if (!va)
		return NULL;
	for (i = 0; i < n; i++) {
		if (errs[i]) {
			log_guest(x->log,
				  "guest: frame 0x%llx cannot be mapped: %s",
				  (unsigned long long)pfns[i],
				  strerror(-errs[i]));
			xenforeignmemory_unmap(x->fm, va, n);
			errno = -errs[i] > 0 ? -errs[i] : EFAULT;
			return NULL;
		}
	}
	return va;
}

/* The frames under [gpa, gpa + len), len at most a page (rep string I/O
 * never spans more). false if the range is not one. */
static bool span(uint64_t gpa, size_t len, uint64_t *pfn, size_t *n)
{
	if (len == 0 || len > XEN_PAGE_SIZE || gpa + len < gpa)
		return false;
	*pfn = gpa >> XEN_PAGE_SHIFT;
	*n = (size_t)(((gpa + len - 1) >> XEN_PAGE_SHIFT) - *pfn) + 1;
	return true;
}

static int xen_copy_from_guest(struct host *h, void *dst, uint64_t gpa,
			       size_t len)
{
	struct xen_host *x = h->priv;
	uint64_t pfn;
	uint8_t *va;
	size_t n;

	if (!span(gpa, len, &pfn, &n))
		return -EINVAL;
	va = map_frames(x, pfn, n, PROT_READ);
	if (!va)
		return neg_errno();
	memcpy(dst, va + (gpa & (XEN_PAGE_SIZE - 1)), len);
	xenforeignmemory_unmap(x->fm, va, n);
	return 0;
}

static int xen_copy_to_guest(struct host *h, uint64_t gpa, const void *src,
			     size_t len)
{
	struct xen_host *x = h->priv;
	uint64_t pfn;
	uint8_t *va;
	size_t n;

	if (!span(gpa, len, &pfn, &n))
		return -EINVAL;
	va = map_frames(x, pfn, n, PROT_READ | PROT_WRITE);
	if (!va)
		return neg_errno();
	memcpy(va + (gpa & (XEN_PAGE_SIZE - 1)), src, len);
	xenforeignmemory_unmap(x->fm, va, n);
	/* keep log-dirty tracking (migration) right */
	xendevicemodel_modified_memory(x->dm, x->domid, pfn, (uint32_t)n);
	return 0;
}

static void *xen_map_guest(struct host *h, uint64_t gpa, uint32_t pages,
			   bool writable)
{
	if (gpa & (XEN_PAGE_SIZE - 1))
		return NULL;
	return map_frames(h->priv, gpa >> XEN_PAGE_SHIFT, pages,
			  writable ? PROT_READ | PROT_WRITE : PROT_READ);
}

static void xen_unmap_guest(struct host *h, void *va, uint32_t pages)
{
	struct xen_host *x = h->priv;

	xenforeignmemory_unmap(x->fm, va, pages);
}

static int xen_inject_msi(struct host *h, uint64_t addr, uint32_t data)
{
	struct xen_host *x = h->priv;

	/* forwarded as programmed: PV-on-HVM Linux encodes a PIRQ in it */
	return xendevicemodel_inject_msi(x->dm, x->domid, addr, data) ?
		       neg_errno() :
		       0;
}

static int xen_set_intx(struct host *h, bool level)
{
	struct xen_host *x = h->priv;

	return xendevicemodel_set_pci_intx_level(
		       x->dm, x->domid, (uint16_t)(x->sbdf >> 16),
		       (uint8_t)(x->sbdf >> 8),
		       (uint8_t)((x->sbdf >> 3) & 0x1f), 0 /* INTA */, level) ?
		       neg_errno() :
		       0;
}

/* ---- guest memory for the command engine: regions, dirty tracking ---- */

#define MAP_FRAMES_MAX (1u << 20) /* 4 GiB of guest memory in one range */

/*
 * Map the guest frames @gfns[0..n) (any order) as one contiguous range:
 * a session's registered region. The guest chose every frame, so every
 * frame's error is checked.
 */
static void *xen_map_guest_frames(struct host *h, const uint64_t *gfns,
				  uint32_t n, bool writable)
{
	struct xen_host *x = h->priv;
	xen_pfn_t *pfns = NULL;
	int *errs = NULL;
	void *va = NULL;
	uint32_t i;

	if (n == 0 || n > MAP_FRAMES_MAX)
		return NULL;
	pfns = malloc((size_t)n * sizeof(*pfns));
	errs = calloc(n, sizeof(*errs));
	if (!pfns || !errs)
		goto out;
	for (i = 0; i < n; i++)
		pfns[i] = (xen_pfn_t)gfns[i];
	va = xenforeignmemory_map(x->fm, x->domid,
				  writable ? PROT_READ | PROT_WRITE : PROT_READ,
				  n, pfns, errs);
	for (i = 0; va && i < n; i++) {
		if (!errs[i])
			continue;
		log_guest(x->log, "guest: frame 0x%llx cannot be mapped: %s",
			  (unsigned long long)pfns[i], strerror(-errs[i]));
		xenforeignmemory_unmap(x->fm, va, n);
		va = NULL;
	}
out:
	free(pfns);
	free(errs);
	return va;
}

/* The device wrote [gpa, gpa + len) outside an ioreq: log-dirty. */
static void xen_mark_dirty(struct host *h, uint64_t gpa, uint64_t len)
{
	struct xen_host *x = h->priv;
	uint64_t pfn, last;

	if (!len || gpa + len < gpa)
		return;
	pfn = gpa >> XEN_PAGE_SHIFT;
	last = (gpa + len - 1) >> XEN_PAGE_SHIFT;
	while (pfn <= last) {
		uint64_t nr = last - pfn + 1 > UINT32_MAX ? UINT32_MAX :
							    last - pfn + 1;

		/* fails harmlessly while log-dirty mode is off */
		xendevicemodel_modified_memory(x->dm, x->domid, pfn,
					       (uint32_t)nr);
		pfn += nr;
	}
}

const struct host_ops xen_host_ops = {
	.map_mmio = xen_map_mmio,
	.unmap_mmio = xen_unmap_mmio,
	.copy_from_guest = xen_copy_from_guest,
	.copy_to_guest = xen_copy_to_guest,
	.map_guest = xen_map_guest,
	.unmap_guest = xen_unmap_guest,
	.map_guest_frames = xen_map_guest_frames,
	.mark_dirty = xen_mark_dirty,
	.inject_msi = xen_inject_msi,
	.set_intx = xen_set_intx,
	.evtchn_bind = xen_evtchn_bind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_unbind = xen_evtchn_unbind,
	.grant_offered = xen_grant_offered,
	.grant_alloc = xen_grant_alloc,
	.grant_free = xen_grant_free,
};

struct host *xen_host_seam(struct xen_host *x)
{
	return &x->seam;
}
