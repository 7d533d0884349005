/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Granting our own pages to a domain (host_xen_gntalloc.c, replaced by
 * the fake Xen in tests). Used by host_xen_grant.c only.
 */
#ifndef VGPU_HOST_XEN_GNT_H
#define VGPU_HOST_XEN_GNT_H

#include <stdint.h>

/* The gntalloc fd, or -errno. */
int xen_gntalloc_open(void);
void xen_gntalloc_close(int fd);
/* @count zeroed pages granted writable to @domid: the mapping, refs[i]
 * naming page i; NULL with errno (ENOSPC past gntalloc's limit). */
void *xen_gntalloc_share(int fd, uint32_t domid, uint32_t count,
			 uint32_t *refs);
/* Ends the grants of a share_pages mapping and unmaps it. */
void xen_gntalloc_unshare(int fd, void *va, uint32_t count);

#endif
