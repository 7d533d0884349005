// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's event channel (ABI 1.3, VGPU_REG_EVTCHN): the guest driver
 * allocates an unbound port for dom0 and names it through BAR0; we bind
 * it on the handle that serves the vCPUs' ioreq channels (one fd, one
 * epoll entry, restricted to the domain with the others), so that a
 * notification reaches the device as a doorbell and the device signals
 * completions back on it.
 *
 * Xen decides what the guest may name: binding succeeds only for a port
 * of this domain that is ECS_UNBOUND with dom0 as its remote domain, so a
 * port the guest does not own (another's, one bound already, one
 * allocated for another domain, one that does not exist) fails with
 * EINVAL, which the device answers by reading 0 (MMIO doorbells and MSI
 * stay). A flood of notifications is coalesced by Xen and by the evtchn
 * driver, which masks the port until we unmask it: at most one pending
 * event per port.
 */
#include "host_xen_int.h"

void xen_evtchn_unbind(struct host *h)
{
	struct xen_host *x = h->priv;

	if (!x->guest_bound)
		return;
	/* fails harmlessly when the domain (and its end) is gone */
	if (xenevtchn_unbind(x->xce, x->guest_local) < 0)
		log_debug(x->log, "unbind of event channel port %u: %s",
			  x->guest_local, strerror(errno));
	x->guest_bound = false;
	x->guest_port = 0;
	x->guest_local = 0;
}

int xen_evtchn_bind(struct host *h, uint32_t port)
{
	struct xen_host *x = h->priv;
	xenevtchn_port_or_error_t p;

	xen_evtchn_unbind(h);
	p = xenevtchn_bind_interdomain(x->xce, x->domid, port);
	if (p < 0)
		return neg_errno();
	x->guest_bound = true;
	x->guest_port = port;
	x->guest_local = (evtchn_port_t)p;
	return 0;
}

int xen_evtchn_notify(struct host *h)
{
	struct xen_host *x = h->priv;

	if (!x->guest_bound)
		return -ENOTCONN;
	return xenevtchn_notify(x->xce, x->guest_local) < 0 ? neg_errno() : 0;
}

bool xen_evtchn_event(struct xen_host *x, evtchn_port_t port)
{
	if (!x->guest_bound || port != x->guest_local)
		return false;
	/* binding sets the port pending: such a kick finds nothing to do */
	if (x->dev)
		vdev_evtchn(x->dev);
	return true;
}
