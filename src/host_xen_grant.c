// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regions the device keeps in our own memory, granted to the guest (ABI
 * 1.5, REGION_GRANT): the guest maps them through its grant table, the
 * device reads and writes them as ordinary dom0 memory (no foreign
 * mapping, so a GPU backend can register them). The gntalloc fd is opened
 * with the other handles; without it (module not loaded, not dom0) the
 * host offers no grants and the guest's regions stay in its RAM. Every
 * grant ends with grant_free or, at the latest, when the process exits
 * (the kernel ends what the fd still holds); Xen keeps a page the guest
 * still maps until it unmaps it.
 */
#include "host_xen_int.h"
#include "host_xen_gnt.h"

void xen_grant_open(struct xen_host *x)
{
	int fd = xen_gntalloc_open();

	x->gnt_fd = fd < 0 ? -1 : fd;
	if (fd < 0)
		log_info(
			x->log,
			"no grants (/dev/xen/gntalloc: %s; modprobe xen-gntalloc): regions stay in guest RAM",
			strerror(-fd));
}

void xen_grant_close(struct xen_host *x)
{
	if (x->granted)
		log_info(x->log, "%llu granted pages ended at exit",
			 (unsigned long long)x->granted);
	xen_gntalloc_close(x->gnt_fd);
	x->gnt_fd = -1;
}

bool xen_grant_offered(struct host *h)
{
	const struct xen_host *x = h->priv;

	return x->gnt_fd >= 0;
}

void *xen_grant_alloc(struct host *h, uint32_t pages, uint32_t *refs)
{
	struct xen_host *x = h->priv;
	void *va;

	if (x->gnt_fd < 0) {
		errno = ENOTSUP;
		return NULL;
	}
	va = xen_gntalloc_share(x->gnt_fd, x->domid, pages, refs);
	if (!va) {
		int err = errno; /* the caller's answer: keep it past the log */

		log_guest(x->log, "granting %u pages to the guest: %s", pages,
			  strerror(err));
		errno = err;
		return NULL;
	}
	x->granted += pages;
	log_info(x->log,
		 "%u pages granted to the guest (refs %u..), %llu in all",
		 pages, refs[0], (unsigned long long)x->granted);
	return va;
}

void xen_grant_free(struct host *h, void *va, uint32_t pages)
{
	struct xen_host *x = h->priv;

	xen_gntalloc_unshare(x->gnt_fd, va, pages);
	x->granted -= pages;
	log_info(x->log, "%u granted pages ended, %llu left", pages,
		 (unsigned long long)x->granted);
}
