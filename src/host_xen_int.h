/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the Xen glue (host_xen*.c, the only files that talk to Xen):
 * the state of one ioreq server and the helpers its files share.
 */
#ifndef VGPU_HOST_XEN_INT_H
#define VGPU_HOST_XEN_INT_H

#define __XEN_TOOLS__ 1

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoolcore.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/dm_op.h>
#include <xen/memory.h>

#include <vgpu/host_xen.h>
#include <vgpu/vdev.h>

#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE (1u << XEN_PAGE_SHIFT)
#define MAX_VCPUS (XEN_PAGE_SIZE / sizeof(ioreq_t))

/* Init ladder (demu's idea): teardown undoes exactly what was reached. */
enum xen_stage {
	XS_NONE,
	XS_HANDLES,
	XS_SERVER,
	XS_PAGE,
	XS_PCIDEV,
	XS_ENABLED,
	XS_BOUND,
};

struct xen_host {
	struct host seam;
	struct logger *log;
	enum xen_stage stage;
	uint32_t domid;
	uint32_t sbdf;
	ioservid_t id;
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xce;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page;
	unsigned int nr_vcpus;
	unsigned int nr_bound;
	evtchn_port_t *ports; /* local port of each vCPU */
	int32_t *vcpu_of_port; /* local port -> vCPU, or -1 */
	evtchn_port_t max_port;
	struct vdev *dev;
	struct io_stats *stats;
	uint64_t spurious;
	bool reattached; /* serving a server a predecessor left behind */
	/* the guest's event channel (ABI 1.3, host_xen_evtchn.c) */
	bool guest_bound;
	uint32_t guest_port; /* the guest's port */
	evtchn_port_t guest_local; /* ours */
	/* regions granted to the guest (ABI 1.5, host_xen_grant.c) */
	int gnt_fd; /* gntalloc, or -1 */
	uint64_t granted; /* pages granted now */
};

static inline int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/* host_xen_seam.c: the guest-memory and interrupt seam */
extern const struct host_ops xen_host_ops;

/* host_xen_domain.c: the domain's info; -ENOENT if it is gone or dying */
int xen_domain_info(uint32_t domid, xc_domaininfo_t *info);

/* host_xen.c: shared with the release of an orphaned server */
int xen_open_handles(struct xen_host *x);
bool xen_server_exists(struct xen_host *x, uint32_t id);
int xen_bind_ports(struct xen_host *x);

/* host_xen_evtchn.c: the guest's event channel (host_ops.evtchn_*) */
int xen_evtchn_bind(struct host *h, uint32_t port);
int xen_evtchn_notify(struct host *h);
void xen_evtchn_unbind(struct host *h);
/* An event on local @port: the guest's doorbell? Then served: true. */
bool xen_evtchn_event(struct xen_host *x, evtchn_port_t port);

/* host_xen_grant.c: regions granted to the guest (host_ops.grant_*) */
void xen_grant_open(struct xen_host *x);
void xen_grant_close(struct xen_host *x);
bool xen_grant_offered(struct host *h);
void *xen_grant_alloc(struct host *h, uint32_t pages, uint32_t *refs);
void xen_grant_free(struct host *h, void *va, uint32_t pages);

#endif
