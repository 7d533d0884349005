// SPDX-License-Identifier: GPL-2.0-only
/*
 * Xen glue: the one file that talks to Xen (libxendevicemodel,
 * libxenforeignmemory, libxenevtchn, libxenctrl, libxenstore).
 *
 * Setup order, proven on Xen 4.17.7 with a PV dom0 (see
 * tests/lab/README.md): create the server with buffered ioreqs off, map its
 * synchronous ioreq page as a resource, claim the PCI function, enable the
 * server (Xen writes each vCPU's vp_eport only then), bind the event
 * channels, then scan every slot once. The domain must still be paused:
 * hvmloader only assigns BARs to functions it sees at its own scan.
 */
#include "host_xen_int.h"

/* Calls whose failure only means the domain is already gone. */
static int log_teardown(struct xen_host *x, int rc, const char *what)
{
	if (rc < 0) {
		if (errno == ESRCH || errno == ENOENT)
			log_debug(x->log, "%s: domain already gone", what);
		else
			log_warn(x->log, "%s: %s", what, strerror(errno));
	}
	return rc;
}

/* ---- setup and teardown ---- */

int xen_open_handles(struct xen_host *x)
{
	x->gnt_fd = -1; /* xen_grant_open(), the device's host only */
	x->dm = xendevicemodel_open(NULL, 0);
	x->fm = xenforeignmemory_open(NULL, 0);
	x->xce = xenevtchn_open(NULL, 0);
	if (!x->dm || !x->fm || !x->xce) {
		log_err(x->log,
			"cannot open the xen device model interfaces: %s (is this dom0, and are xen-privcmd and xen-evtchn loaded?)",
			strerror(errno));
		return neg_errno();
	}
	/* pending() must not block: the loop reads one port per wakeup. */
	if (fcntl(xenevtchn_fd(x->xce), F_SETFL, O_NONBLOCK) < 0)
		return neg_errno();
	return 0;
}

bool xen_server_exists(struct xen_host *x, uint32_t id)
{
	return xendevicemodel_get_ioreq_server_info(
		       x->dm, x->domid, (ioservid_t)id, NULL, NULL, NULL) == 0;
}

int xen_host_open(struct xen_host **out, uint32_t domid, uint32_t reuse_id,
		  struct logger *lg)
{
	struct xen_host *x = calloc(1, sizeof(*x));
	unsigned int nr;
	void *addr = NULL;
	int rc;

	*out = NULL;
	if (!x)
		return -ENOMEM;
	x->log = lg;
	x->domid = domid;
	x->seam.ops = &xen_host_ops;
	x->seam.priv = x;

	rc = xen_open_handles(x);
	if (rc < 0)
		goto fail;
	x->stage = XS_HANDLES;
	xen_grant_open(x);

	if (xendevicemodel_nr_vcpus(x->dm, domid, &nr)) {
		rc = neg_errno();
		log_err(lg, "cannot read the vcpu count: %s", strerror(-rc));
		goto fail;
	}
	if (nr == 0 || nr > MAX_VCPUS) {
		rc = -ERANGE;
		log_err(lg, "domain has %u vcpus, this server handles 1..%zu",
			nr, (size_t)MAX_VCPUS);
		goto fail;
	}
	x->nr_vcpus = nr;
	x->ports = calloc(nr, sizeof(*x->ports));
	if (!x->ports) {
		rc = -ENOMEM;
		goto fail;
	}

	/*
	 * Xen knows the emulator by domain (dom0), not by process: a server
	 * that a crashed vgpu-ioreq left behind can be served again, with the
	 * guest's vCPUs that wait on it.
	 */
	if (reuse_id <= 0xffff && xen_server_exists(x, reuse_id)) {
		x->id = (ioservid_t)reuse_id;
		x->reattached = true;
		log_info(
			lg,
			"reattaching to ioreq server %u, left by a previous vgpu-ioreq",
			x->id);
	} else if (xendevicemodel_create_ioreq_server(
			   x->dm, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &x->id)) {
		/* No buffered ioreqs: only stdvga and RTC broadcasts use them. */
		rc = neg_errno();
		log_err(lg, "cannot create an ioreq server: %s%s",
			strerror(-rc),
			rc == -ENOSPC ? " (the domain has 8 servers already)" :
					"");
		goto fail;
	}
	x->stage = XS_SERVER;

	/* The page lives in Xen's heap, not in guest RAM: map it as a
	 * resource (the legacy gfn path can fail since Xen 4.11). */
	x->res = xenforeignmemory_map_resource(
		x->fm, domid, XENMEM_resource_ioreq_server, x->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	if (!x->res) {
		rc = neg_errno();
		log_err(lg, "cannot map the ioreq page of server %u: %s", x->id,
			strerror(-rc));
		goto fail;
	}
	x->page = addr;
	x->stage = XS_PAGE;
	*out = x;
	return 0;
fail:
	xen_host_close(x);
	return rc;
}

bool xen_host_reattached(const struct xen_host *x)
{
	return x->reattached;
}

int xen_host_restrict(struct xen_host *x)
{
	/* From here the devicemodel, foreignmemory and evtchn handles only
	 * reach this domain, and every XenStore or libxenctrl handle in the
	 * process is dead (Xen 4.17 dup2s /dev/null over them). */
	if (xentoolcore_restrict_all(x->domid) < 0) {
		log_err(x->log,
			"cannot restrict the xen handles to domain %u: %s",
			x->domid, strerror(errno));
		return neg_errno();
	}
	return 0;
}

static void serve_slot(struct xen_host *x, unsigned int v, bool recover);

int xen_bind_ports(struct xen_host *x)
{
	unsigned int v;

	for (v = 0; v < x->nr_vcpus; v++) {
		xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(
			x->xce, x->domid, x->page->vcpu_ioreq[v].vp_eport);

		if (p < 0) {
			int rc = neg_errno();

			log_err(x->log,
				"cannot bind the event channel of vcpu %u: %s",
				v, strerror(-rc));
			return rc;
		}
		x->ports[v] = (evtchn_port_t)p;
		x->nr_bound = v + 1;
		if ((evtchn_port_t)p > x->max_port)
			x->max_port = (evtchn_port_t)p;
	}
	x->vcpu_of_port =
		malloc(((size_t)x->max_port + 1) * sizeof(*x->vcpu_of_port));
	if (!x->vcpu_of_port)
		return -ENOMEM;
	memset(x->vcpu_of_port, 0xff,
	       ((size_t)x->max_port + 1) * sizeof(*x->vcpu_of_port));
	for (v = 0; v < x->nr_vcpus; v++)
		x->vcpu_of_port[x->ports[v]] = (int32_t)v;
	return 0;
}

int xen_host_attach(struct xen_host *x, struct vdev *d, struct io_stats *st)
{
	uint32_t sbdf = d->sbdf;
	int rc;

	x->dev = d;
	x->stats = st;
	x->sbdf = sbdf;
	if (x->reattached) {
		/* the function is claimed already: claiming again is EEXIST */
		x->stage = XS_PCIDEV;
	} else if (xendevicemodel_map_pcidev_to_ioreq_server(
			   x->dm, x->domid, x->id, (uint16_t)(sbdf >> 16),
			   (uint8_t)(sbdf >> 8), (uint8_t)((sbdf >> 3) & 0x1f),
			   (uint8_t)(sbdf & 7))) {
		rc = neg_errno();
		log_err(x->log, "cannot claim pci %04x:%02x:%02x.%u: %s",
			sbdf >> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f,
			sbdf & 7, strerror(-rc));
		return rc;
	} else {
		x->stage = XS_PCIDEV;
	}
	if (xendevicemodel_set_ioreq_server_state(x->dm, x->domid, x->id, 1)) {
		rc = neg_errno();
		log_err(x->log, "cannot enable ioreq server %u: %s", x->id,
			strerror(-rc));
		return rc;
	}
	x->stage = XS_ENABLED;
	rc = xen_bind_ports(x);
	if (rc < 0)
		return rc;
	x->stage = XS_BOUND;
	return 0;
}

void xen_host_scan(struct xen_host *x)
{
	unsigned int v;

	/* Requests may predate the binding: look at every slot once. After
	 * a predecessor's crash a slot may also be half-served. */
	for (v = 0; v < x->nr_vcpus; v++)
		serve_slot(x, v, x->reattached);
}

void xen_host_detach(struct xen_host *x)
{
	unsigned int v;

	if (!x || x->stage < XS_ENABLED)
		return;
	log_teardown(x,
		     xendevicemodel_set_ioreq_server_state(x->dm, x->domid,
							   x->id, 0),
		     "disable ioreq server");
	x->stage = XS_PCIDEV;
	/* Nothing new arrives now; answer what was sent before. */
	if (x->nr_bound == x->nr_vcpus)
		for (v = 0; v < x->nr_vcpus; v++)
			serve_slot(x, v, false);
}

void xen_host_close(struct xen_host *x)
{
	unsigned int v;
	uint32_t s;

	if (!x)
		return;
	xen_host_detach(x);
	s = x->sbdf;
	if (x->stage >= XS_PCIDEV)
		log_teardown(x,
			     xendevicemodel_unmap_pcidev_from_ioreq_server(
				     x->dm, x->domid, x->id,
				     (uint16_t)(s >> 16), (uint8_t)(s >> 8),
				     (uint8_t)((s >> 3) & 0x1f),
				     (uint8_t)(s & 7)),
			     "release pci function");
	for (v = 0; v < x->nr_bound; v++)
		xenevtchn_unbind(x->xce, x->ports[v]);
	xen_evtchn_unbind(&x->seam);
	if (x->stage >= XS_PAGE)
		xenforeignmemory_unmap_resource(x->fm, x->res);
	if (x->stage >= XS_SERVER)
		log_teardown(x,
			     xendevicemodel_destroy_ioreq_server(
				     x->dm, x->domid, x->id),
			     "destroy ioreq server");
	xen_grant_close(x);
	if (x->xce)
		xenevtchn_close(x->xce);
	if (x->fm)
		xenforeignmemory_close(x->fm);
	if (x->dm)
		xendevicemodel_close(x->dm);
	free(x->vcpu_of_port);
	free(x->ports);
	free(x);
}

uint16_t xen_host_ioservid(const struct xen_host *x)
{
	return x->id;
}

unsigned int xen_host_nr_vcpus(const struct xen_host *x)
{
	return x->nr_vcpus;
}

/* ---- serving ---- */

/*
 * Answer the request in vCPU @v's slot, if there is one. Act only on
 * IOREQ_READY (spurious events are normal: binding sets a pending bit);
 * copy the request once, so the guest-visible page is read once; write
 * back only data; release barrier before IORESP_READY; then notify.
 * Xen crashes the domain on a backwards transition, so state only moves
 * READY -> INPROCESS -> IORESP_READY here.
 */
static void serve_slot(struct xen_host *x, unsigned int v, bool recover)
{
	volatile ioreq_t *p = &x->page->vcpu_ioreq[v];
	unsigned int state = p->state;
	struct io_req r;

	/*
	 * Recovery after a predecessor died: INPROCESS was being served and
	 * is served again; IORESP_READY was answered but maybe never
	 * notified, and the vCPU waits for that notification.
	 */
	if (recover && state == STATE_IORESP_READY) {
		xenevtchn_notify(x->xce, x->ports[v]);
		return;
	}
	if (state != STATE_IOREQ_READY &&
	    !(recover && state == STATE_IOREQ_INPROCESS)) {
		x->spurious++;
		return;
	}
	atomic_thread_fence(memory_order_acquire);
	r.addr = p->addr;
	r.data = p->data;
	r.count = p->count;
	r.size = p->size;
	r.type = p->type;
	r.dir = p->dir;
	r.df = p->df;
	r.data_is_ptr = p->data_is_ptr;
	p->state = STATE_IOREQ_INPROCESS;

	io_dispatch(x->dev, &r, x->stats);

	if (r.dir == IO_READ && !r.data_is_ptr)
		p->data = r.data;
	atomic_thread_fence(memory_order_release);
	p->state = STATE_IORESP_READY;
	xenevtchn_notify(x->xce, x->ports[v]);
	/* e.g. a doorbell's commands: the vCPU runs on meanwhile */
	vdev_run_deferred(x->dev);
}

int xen_host_event_fd(const struct xen_host *x)
{
	return xenevtchn_fd(x->xce);
}

int xen_host_handle_events(struct xen_host *x)
{
	/*
	 * One port per call: the fd is level-triggered in epoll, so a
	 * second pending port wakes the loop again at once, and the common
	 * case saves the read() that would only return EAGAIN.
	 */
	xenevtchn_port_or_error_t port = xenevtchn_pending(x->xce);

	if (port < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_err(x->log, "event channel read failed: %s",
			strerror(errno));
		return neg_errno();
	}
	xenevtchn_unmask(x->xce, (evtchn_port_t)port);
	if (xen_evtchn_event(x, (evtchn_port_t)port))
		return 1;
	if ((evtchn_port_t)port <= x->max_port && x->vcpu_of_port[port] >= 0)
		serve_slot(x, (unsigned int)x->vcpu_of_port[port], false);
	else
		x->spurious++;
	return 1;
}

bool xen_host_domain_gone(struct xen_host *x)
{
	/*
	 * Works for a restricted process too (no XenStore, no libxenctrl):
	 * Xen destroys a domain's ioreq servers when the domain dies, so
	 * asking for ours without gfns (no side effects) fails then.
	 */
	if (xendevicemodel_get_ioreq_server_info(x->dm, x->domid, x->id, NULL,
						 NULL, NULL) == 0)
		return false;
	return errno == ENOENT || errno == ESRCH || errno == EINVAL;
}
