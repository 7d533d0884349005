// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vgpu-stub's event channel (ABI 1.3): see VGPU_REG_EVTCHN in
 * include/vgpu/vgpu_ring_abi.h. The binding itself is the host's (Xen:
 * src/host_xen_evtchn.c); here, what the register means to the device.
 */
#include <errno.h>
#include <string.h>

#include <vgpu/log.h>
#include <vgpu/vdev.h>

#include "dev_vgpu_evtchn.h"

bool stub_evtchn_offered(struct vdev *d)
{
	const struct host_ops *o = d->host->ops;

	return o->evtchn_bind && o->evtchn_notify && o->evtchn_unbind;
}

void stub_evtchn_unbind(struct vdev *d, struct stub_evtchn *e)
{
	if (!e->port)
		return;
	d->host->ops->evtchn_unbind(d->host);
	log_guest_msg(
		d->log, LOG_INFO,
		"event channel: guest port %u unbound: %llu doorbells by event channel, %llu MMIO doorbells while bound, %llu completions signalled",
		e->port, (unsigned long long)e->kicks,
		(unsigned long long)e->mmio_bells,
		(unsigned long long)e->signals);
	memset(e, 0, sizeof(*e));
}

void stub_evtchn_write(struct vdev *d, struct stub_evtchn *e, uint32_t port)
{
	int rc;

	if (port == e->port)
		return;
	stub_evtchn_unbind(d, e);
	if (!port)
		return;
	if (!stub_evtchn_offered(d)) {
		log_guest(d->log,
			  "guest: event channel port %u: not offered here",
			  port);
		return;
	}
	rc = d->host->ops->evtchn_bind(d->host, port);
	if (rc < 0) {
		/* the register reads 0: the driver stays on MMIO + MSI */
		log_guest(d->log,
			  "guest: cannot bind its event channel port %u: %s",
			  port, strerror(-rc));
		return;
	}
	e->port = port;
	log_guest_msg(
		d->log, LOG_INFO,
		"event channel: guest port %u bound: doorbells and completions go through it",
		port);
}

bool stub_evtchn_signal(struct vdev *d, struct stub_evtchn *e)
{
	int rc;

	if (!e->port)
		return false;
	rc = d->host->ops->evtchn_notify(d->host);
	if (rc < 0) {
		log_warn(d->log, "event channel: cannot signal port %u: %s",
			 e->port, strerror(-rc));
		return false; /* MSI/INTx then */
	}
	e->signals++;
	return true;
}

void stub_evtchn_restart(struct vdev *d, struct stub_evtchn *e)
{
	uint32_t port = e->port;

	e->port = 0; /* bound by a process that is gone */
	if (!port || !stub_evtchn_offered(d))
		return;
	if (d->host->ops->evtchn_bind(d->host, port) == 0) {
		e->port = port;
		log_info(d->log, "event channel: guest port %u bound again",
			 port);
	} else {
		log_warn(d->log,
			 "event channel: guest port %u cannot be bound again",
			 port);
	}
}
