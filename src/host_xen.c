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
};

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

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

int xen_domain_check(uint32_t domid, uint8_t uuid[16])
{
	xc_interface *xch = xc_interface_open(NULL, NULL, 0);
	xc_domaininfo_t info;
	int n, rc = 0;

	if (!xch)
		return neg_errno();
	n = xc_domain_getinfolist(xch, domid, 1, &info);
	if (n < 0)
		rc = neg_errno();
	else if (n == 0 || info.domain != domid ||
		 (info.flags & XEN_DOMINF_dying))
		rc = -ENOENT;
	else if (!(info.flags & XEN_DOMINF_hvm_guest))
		rc = -EINVAL;
	else if (uuid)
		memcpy(uuid, info.handle, 16);
	xc_interface_close(xch);
	return rc;
}

int xen_domain_lookup(const char *name, uint32_t *domid)
{
	struct xs_handle *xs = xs_open(0);
	unsigned int n, i;
	char **doms;
	int rc = -ENOENT;

	if (!xs)
		return neg_errno();
	doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (i = 0; doms && i < n && rc == -ENOENT; i++) {
		char path[64], *end;
		unsigned int len;
		char *v;

		snprintf(path, sizeof(path), "/local/domain/%s/name", doms[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && strcmp(v, name) == 0) {
			unsigned long id = strtoul(doms[i], &end, 10);

			if (*end == '\0' && id < DOMID_FIRST_RESERVED) {
				*domid = (uint32_t)id;
				rc = 0;
			}
		}
		free(v);
	}
	if (!doms)
		rc = neg_errno();
	free(doms);
	xs_close(xs);
	return rc;
}

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

static const struct host_ops xen_host_ops = {
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
};

struct host *xen_host_seam(struct xen_host *x)
{
	return &x->seam;
}

/* ---- setup and teardown ---- */

static int open_handles(struct xen_host *x)
{
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

static bool server_exists(struct xen_host *x, uint32_t id)
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

	rc = open_handles(x);
	if (rc < 0)
		goto fail;
	x->stage = XS_HANDLES;

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
	if (reuse_id <= 0xffff && server_exists(x, reuse_id)) {
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

static int bind_ports(struct xen_host *x)
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

/* ---- a dead predecessor's server, found without its state ---- */

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
		if (server_exists(x, id) &&
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
	rc = open_handles(x);
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
	rc = bind_ports(x);
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
	rc = bind_ports(x);
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
	if (x->stage >= XS_PAGE)
		xenforeignmemory_unmap_resource(x->fm, x->res);
	if (x->stage >= XS_SERVER)
		log_teardown(x,
			     xendevicemodel_destroy_ioreq_server(
				     x->dm, x->domid, x->id),
			     "destroy ioreq server");
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
