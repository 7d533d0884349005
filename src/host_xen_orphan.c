// SPDX-License-Identifier: GPL-2.0-only
/*
 * Xen glue: the ioreq server a dead vgpu-ioreq left on a function without
 * a state file naming it, found, drained and destroyed.
 */
#include "host_xen_int.h"

#define IOREQ_SERVER_IDS 8 /* Xen's MAX_NR_IOREQ_SERVERS */

/* Answer what vCPU @v waits for on a server whose emulator died with the
 * device's state: a read gets all-ones (a function that is gone), a write
 * is dropped. True if the vCPU was notified. */
static bool answer_orphan_slot(struct xen_host *x, unsigned int v)
{
	volatile ioreq_t *p = &x->page->vcpu_ioreq[v];
	unsigned int state = p->state;

	if (state == STATE_IOREQ_READY || state == STATE_IOREQ_INPROCESS) {
		atomic_thread_fence(memory_order_acquire);
		if (p->dir == IOREQ_READ && !p->data_is_ptr)
			p->data = p->size >= 8 ? ~0ull :
						 (1ull << (8 * p->size)) - 1;
		atomic_thread_fence(memory_order_release);
		p->state = STATE_IORESP_READY;
	} else if (state != STATE_IORESP_READY) {
		return false;
	}
	xenevtchn_notify(x->xce, x->ports[v]);
	return true;
}

/* Take the orphan's vCPUs off it: answer, then let them take the answers
 * (up to a second: a paused vCPU takes it later, from no server). */
static unsigned int drain_orphan(struct xen_host *x)
{
	unsigned int v, n = 0, i;
	bool busy = true;

	for (v = 0; v < x->nr_vcpus; v++)
		n += answer_orphan_slot(x, v);
	for (i = 0; i < 1000 && busy; i++) {
		busy = false;
		for (v = 0; v < x->nr_vcpus; v++)
			busy |= x->page->vcpu_ioreq[v].state ==
				STATE_IORESP_READY;
		if (busy)
			usleep(1000);
	}
	return n;
}

/*
 * The server of @domid that claims @sbdf although no state file names it:
 * found by releasing the claim (Xen answers ENOENT for every server that
 * does not hold it, and changes nothing there). -ENOENT if none.
 */
static int find_claimant(struct xen_host *x, uint32_t sbdf)
{
	unsigned int id;

	for (id = 0; id < IOREQ_SERVER_IDS; id++)
		if (xen_server_exists(x, id) &&
		    xendevicemodel_unmap_pcidev_from_ioreq_server(
			    x->dm, x->domid, (ioservid_t)id,
			    (uint16_t)(sbdf >> 16), (uint8_t)(sbdf >> 8),
			    (uint8_t)((sbdf >> 3) & 0x1f),
			    (uint8_t)(sbdf & 7)) == 0)
			return (int)id;
	return -ENOENT;
}

int xen_host_release_orphan(uint32_t domid, uint32_t sbdf, struct logger *lg)
{
	struct xen_host *x = calloc(1, sizeof(*x));
	void *addr = NULL;
	unsigned int nr;
	int id, rc;

	if (!x)
		return -ENOMEM;
	x->log = lg;
	x->domid = domid;
	x->seam.priv = x;
	rc = xen_open_handles(x);
	if (rc < 0)
		goto out;
	x->stage = XS_HANDLES;
	id = find_claimant(x, sbdf);
	if (id < 0) {
		rc = 0; /* none: the usual case */
		goto out;
	}
	x->id = (ioservid_t)id;
	if (xendevicemodel_nr_vcpus(x->dm, domid, &nr) || nr == 0 ||
	    nr > MAX_VCPUS) {
		rc = -ERANGE;
		goto give_back;
	}
	x->nr_vcpus = nr;
	x->ports = calloc(nr, sizeof(*x->ports));
	x->res = xenforeignmemory_map_resource(
		x->fm, domid, XENMEM_resource_ioreq_server, x->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	if (!x->ports || !x->res) {
		rc = x->ports ? neg_errno() : -ENOMEM;
		goto give_back;
	}
	x->page = addr;
	x->stage = XS_PAGE;
	/* A running emulator has its channels bound: they cannot be bound
	 * again (EINVAL). Only a dead one's server is ours to release. */
	rc = xen_bind_ports(x);
	if (rc < 0) {
		log_err(lg,
			"pci %04x:%02x:%02x.%u is claimed by ioreq server %u, whose emulator is running (another vgpu-ioreq, with another run directory?): not taking it",
			sbdf >> 16, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f,
			sbdf & 7, x->id);
		rc = -EBUSY;
		goto give_back;
	}
	/* no new requests reach it; then answer the ones that wait */
	xendevicemodel_set_ioreq_server_state(x->dm, domid, x->id, 0);
	log_warn(
		lg,
		"ioreq server %u claimed this function with no state file for it (its vgpu-ioreq died without one): answered %u waiting request(s) with all-ones, destroying it; the guest sees the function reset",
		x->id, drain_orphan(x));
	xen_host_close(x); /* at XS_PAGE: unbinds, unmaps, destroys */
	return 1;
give_back:
	/* not ours after all: the claim goes back where it was */
	xendevicemodel_map_pcidev_to_ioreq_server(x->dm, domid, x->id,
						  (uint16_t)(sbdf >> 16),
						  (uint8_t)(sbdf >> 8),
						  (uint8_t)((sbdf >> 3) & 0x1f),
						  (uint8_t)(sbdf & 7));
	for (nr = 0; nr < x->nr_bound; nr++)
		xenevtchn_unbind(x->xce, x->ports[nr]);
	x->nr_bound = 0;
	if (x->res)
		xenforeignmemory_unmap_resource(x->fm, x->res);
out:
	x->stage = XS_HANDLES; /* nothing of the server is undone */
	xen_host_close(x);
	return rc;
}
