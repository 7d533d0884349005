/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Xen side of the daemon: an ioreq server for one domain, and the few
 * domain queries the command line needs. src/host_xen.c is the only file
 * that includes Xen headers or calls Xen libraries.
 */
#ifndef VGPU_HOST_XEN_H
#define VGPU_HOST_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/host.h>
#include <vgpu/ioreq.h>
#include <vgpu/log.h>

struct vdev;
struct xen_host;

/*
 * Is @domid a live HVM domain? 0 (and its UUID in @uuid, if not NULL), or
 * -ENOENT (no such domain), -EINVAL (not HVM), -EACCES/-EPERM (not
 * privileged), other -errno.
 */
int xen_domain_check(uint32_t domid, uint8_t uuid[16]);
/* Has @domid ended (gone or dying)? (savestate_sweep()'s question; @arg
 * unused.) False where Xen cannot be asked. */
bool xen_domain_ended(uint32_t domid, void *arg);
/* Resolve a domain name through XenStore. 0, -ENOENT, or -errno. */
int xen_domain_lookup(const char *name, uint32_t *domid);

/* host_xen_save.c: a domain's run state (XEN_DOMAIN_*), -ENOENT if it is
 * gone or dying, or -errno. */
enum { XEN_DOMAIN_RUNNING, XEN_DOMAIN_SUSPENDED, XEN_DOMAIN_SHUTDOWN };
int xen_domain_run_state(uint32_t domid);

/*
 * Open the Xen handles, create an ioreq server for @domid (buffered
 * ioreqs off) and map its ioreq page. If ioreq server @reuse_id still
 * exists (left by a vgpu-ioreq that died), serve that one instead; pass
 * XEN_NO_SERVER for none. Nothing new is routed to it yet. 0 or -errno,
 * with the reason logged.
 */
#define XEN_NO_SERVER 0xffffffffu
int xen_host_open(struct xen_host **out, uint32_t domid, uint32_t reuse_id,
		  struct logger *lg);
/*
 * Before creating a server for @sbdf when no state names one: a vgpu-ioreq
 * that died without its state file may have left a server claiming the
 * function, and a vCPU blocked on it (Xen keeps a dead emulator's server,
 * and the vCPU waits until someone answers; destroying the server does
 * not wake it). Find it, stop routing to it, answer what waits (reads get
 * all-ones: the device's state died with it), destroy it. 1 if one was
 * released, 0 if none claims @sbdf, -EBUSY if the claimant's emulator
 * runs (its claim is left as it was), other -errno. Logs what it did.
 */
int xen_host_release_orphan(uint32_t domid, uint32_t sbdf, struct logger *lg);
/* True if xen_host_open() took over an existing server. */
bool xen_host_reattached(const struct xen_host *x);
/* Restrict every Xen handle of the process to the domain (after setup:
 * XenStore and libxenctrl are unusable afterwards). 0 or -errno. */
int xen_host_restrict(struct xen_host *x);
/* The hypervisor seam for the device model. */
struct host *xen_host_seam(struct xen_host *x);
/*
 * Claim @d's PCI function, enable the server and bind every vCPU's event
 * channel. After this the guest sees the device. 0 or -errno.
 */
int xen_host_attach(struct xen_host *x, struct vdev *d, struct io_stats *st);
/* Answer whatever already waits in the ioreq page (call once, after
 * xen_host_attach() and before the event loop). */
void xen_host_scan(struct xen_host *x);
/* Stop routing to the server and answer anything still waiting. */
void xen_host_detach(struct xen_host *x);
/* Undo xen_host_open() and xen_host_attach(); frees @x. NULL is fine. */
void xen_host_close(struct xen_host *x);

uint16_t xen_host_ioservid(const struct xen_host *x);
unsigned int xen_host_nr_vcpus(const struct xen_host *x);

/* Readable when an event channel fired: call xen_host_handle_events(). */
int xen_host_event_fd(const struct xen_host *x);
/*
 * Take one pending event and serve its vCPU's request. 1 if an event was
 * taken, 0 if none was pending, -errno on a fatal error.
 */
int xen_host_handle_events(struct xen_host *x);

/* True once the domain is dying or gone (its ioreq server went with it). */
bool xen_host_domain_gone(struct xen_host *x);

#endif
