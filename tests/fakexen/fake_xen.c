// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake Xen (see fake_xen.h). State is one struct behind one mutex: the
 * daemon side may run in its own thread while the test plays the vCPUs.
 */
#define __XEN_TOOLS__ 1
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
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

#include "fakexen/fake_xen.h"

#define MAX_VCPUS 128
#define MAX_PORTS 1024
#define MAX_DMOPS 4096
#define MAX_RANGES 16
#define MAX_MAPS 16
#define PAGE 4096u
#define LOCAL_PORT_BASE 40 /* local ports: 40, 43, 46, ... */
#define REMOTE_PORT_BASE 7

struct xendevicemodel_handle {
	int unused;
};
struct xenforeignmemory_handle {
	int unused;
};
struct xenforeignmemory_resource_handle {
	int unused;
};
struct xenevtchn_handle {
	int unused;
};
struct xc_interface_core {
	int unused;
};
struct xs_handle {
	int unused;
};

struct range {
	uint64_t start, end;
};

struct gmap {
	void *va;
	size_t n;
	xen_pfn_t pfn[1]; /* the first frame; ~0: an error mapping */
	bool scattered; /* frames not in a row: a range of its own */
};

static struct fake {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	struct fake_xen_cfg cfg;
	bool alive;
	/* server (one at a time is enough for the daemon) */
	bool server, enabled, page_mapped, bound_before_enable;
	uint32_t sbdf;
	bool pcidev;
	shared_iopage_t *page;
	struct range ranges[MAX_RANGES];
	unsigned int nr_ranges;
	/* event channels */
	int evfd;
	int local_of_vcpu[MAX_VCPUS];
	bool bound[MAX_PORTS];
	bool masked[MAX_PORTS];
	bool pending_masked[MAX_PORTS];
	int queue[MAX_PORTS];
	unsigned int qhead, qlen;
	/* vCPU bookkeeping */
	bool outstanding[MAX_VCPUS];
	uint64_t notifies;
	/* guest RAM and its foreign mappings */
	uint8_t *ram;
	struct gmap maps[MAX_MAPS];
	/* record */
	struct fake_dmop dmops[MAX_DMOPS];
	size_t nr_dmops;
	char fail_op[24];
	int fail_err;
	unsigned int violations;
	char last_violation[256];
} fx = { .lock = PTHREAD_MUTEX_INITIALIZER,
	 .answered = PTHREAD_COND_INITIALIZER,
	 .evfd = -1 };

static struct xendevicemodel_handle dm_handle;
static struct xenforeignmemory_handle fm_handle;
static struct xenforeignmemory_resource_handle res_handle;
static struct xenevtchn_handle ev_handle;
static struct xc_interface_core xc_handle;
static struct xs_handle xs_h;

static void violation(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fx.last_violation, sizeof(fx.last_violation), fmt, ap);
	va_end(ap);
	fx.violations++;
	fprintf(stderr, "fake-xen: RULE VIOLATION: %s\n", fx.last_violation);
}

/* Record @op; returns -1 with errno set if the test asked it to fail. */
static int record(const char *op, uint64_t a, uint64_t b)
{
	if (fx.nr_dmops < MAX_DMOPS) {
		struct fake_dmop *d = &fx.dmops[fx.nr_dmops++];

		snprintf(d->op, sizeof(d->op), "%s", op);
		d->a = a;
		d->b = b;
	}
	if (fx.fail_op[0] && strcmp(fx.fail_op, op) == 0) {
		fx.fail_op[0] = '\0';
		errno = fx.fail_err;
		return -1;
	}
	return 0;
}

static bool is_our_domain(uint32_t domid)
{
	if (!fx.alive || domid != fx.cfg.domid) {
		errno = ESRCH;
		return false;
	}
	return true;
}

/* ---- guest RAM: shared memory, so that a mapping of scattered frames
 * can alias them as a real foreign mapping does ---- */

static size_t ram_pages;

static void ram_alloc(size_t pages)
{
	fx.ram = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fx.ram == MAP_FAILED)
		abort();
	ram_pages = pages;
}

static void ram_free(void)
{
	if (fx.ram)
		munmap(fx.ram, ram_pages * PAGE);
	fx.ram = NULL;
}

/* Frames not in a row, as one range: each page remapped into it. */
static void *map_scattered(size_t pages, const xen_pfn_t arr[])
{
	uint8_t *va = mmap(NULL, pages * PAGE, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (va == MAP_FAILED)
		return NULL;
	for (i = 0; i < pages; i++)
		if (mremap(fx.ram + arr[i] * PAGE, 0, PAGE,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   va + i * PAGE) == MAP_FAILED) {
			munmap(va, pages * PAGE);
			return NULL;
		}
	return va;
}

/* ---- test API ---- */

void fake_xen_reset(const struct fake_xen_cfg *cfg)
{
	pthread_mutex_lock(&fx.lock);
	if (fx.evfd >= 0)
		close(fx.evfd);
	free(fx.page);
	ram_free();
	memset(&fx.cfg, 0, sizeof(fx) - offsetof(struct fake, cfg));
	fx.cfg = *cfg;
	fx.alive = true;
	fx.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ram_alloc(cfg->guest_pages ? cfg->guest_pages : 1);
	pthread_mutex_unlock(&fx.lock);
}

void fake_xen_fail_next(const char *op, int err)
{
	pthread_mutex_lock(&fx.lock);
	snprintf(fx.fail_op, sizeof(fx.fail_op), "%s", op);
	fx.fail_err = err;
	pthread_mutex_unlock(&fx.lock);
}

static void wake_evfd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		violation("eventfd write failed");
}

/* Event on local @port: masked on delivery, as the Linux driver does. */
static void raise_port(int port)
{
	if (port <= 0 || port >= MAX_PORTS || !fx.bound[port])
		return;
	if (fx.masked[port]) {
		fx.pending_masked[port] = true;
		return;
	}
	fx.masked[port] = true;
	fx.queue[(fx.qhead + fx.qlen++) % MAX_PORTS] = port;
	wake_evfd(fx.evfd);
}

static void fill_slot(unsigned int v, const struct io_req *r)
{
	ioreq_t *p = &fx.page->vcpu_ioreq[v];

	p->addr = r->addr;
	p->data = r->data;
	p->count = r->count;
	p->size = r->size;
	p->type = r->type;
	p->dir = r->dir & 1;
	p->df = r->df & 1;
	p->data_is_ptr = r->data_is_ptr & 1;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	p->state = STATE_IOREQ_READY;
	fx.outstanding[v] = true;
}

void fake_vcpu_send(unsigned int v, const struct io_req *r)
{
	pthread_mutex_lock(&fx.lock);
	if (!fx.enabled || v >= fx.cfg.nr_vcpus) {
		violation("send on vcpu %u with no enabled server", v);
	} else if (fx.page->vcpu_ioreq[v].state != STATE_IOREQ_NONE) {
		violation("device model set bad IO state %u on vcpu %u",
			  fx.page->vcpu_ioreq[v].state, v);
	} else {
		fill_slot(v, r);
		raise_port(fx.local_of_vcpu[v]);
	}
	pthread_mutex_unlock(&fx.lock);
}

void fake_vcpu_preload(unsigned int v, const struct io_req *r)
{
	pthread_mutex_lock(&fx.lock);
	fill_slot(v, r);
	pthread_mutex_unlock(&fx.lock);
}

void fake_vcpu_kick(unsigned int v)
{
	pthread_mutex_lock(&fx.lock);
	raise_port(fx.local_of_vcpu[v]);
	pthread_mutex_unlock(&fx.lock);
}

bool fake_vcpu_wait(unsigned int v, uint64_t *data, int timeout_ms)
{
	struct timespec dl;
	bool ok = true;
	ioreq_t *p;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fx.lock);
	p = &fx.page->vcpu_ioreq[v];
	while (fx.outstanding[v]) {
		if (pthread_cond_timedwait(&fx.answered, &fx.lock, &dl)) {
			ok = false;
			break;
		}
	}
	if (ok) {
		if (p->state != STATE_IORESP_READY)
			violation("vcpu %u resumed with state %u", v, p->state);
		if (data)
			*data = p->data;
		p->state = STATE_IOREQ_NONE;
	}
	pthread_mutex_unlock(&fx.lock);
	return ok;
}

void fake_process_died(void)
{
	unsigned int p;

	pthread_mutex_lock(&fx.lock);
	for (p = 0; p < MAX_PORTS; p++)
		fx.bound[p] = false;
	fx.page_mapped = false;
	fx.qlen = 0;
	pthread_mutex_unlock(&fx.lock);
}

void fake_domain_destroy(void)
{
	pthread_mutex_lock(&fx.lock);
	fx.alive = false;
	pthread_mutex_unlock(&fx.lock);
}

size_t fake_xen_dmops(const struct fake_dmop **ops)
{
	*ops = fx.dmops;
	return fx.nr_dmops;
}

unsigned int fake_xen_count(const char *op)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < fx.nr_dmops; i++)
		n += strcmp(fx.dmops[i].op, op) == 0;
	return n;
}

unsigned int fake_xen_violations(void)
{
	return fx.violations;
}

const char *fake_xen_last_violation(void)
{
	return fx.last_violation;
}

unsigned int fake_xen_servers(void)
{
	return fx.server;
}

unsigned int fake_xen_outstanding(void)
{
	unsigned int v, n = 0;

	for (v = 0; v < MAX_VCPUS; v++)
		n += fx.outstanding[v];
	return n;
}

uint8_t *fake_guest_ram(void)
{
	return fx.ram;
}

uint64_t fake_xen_notifies(void)
{
	return fx.notifies;
}

/* ---- libxendevicemodel ---- */

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	return &dm_handle;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	return 0;
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid,
			    unsigned int *vcpus)
{
	if (!is_our_domain(domid))
		return -1;
	*vcpus = fx.cfg.nr_vcpus;
	return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod,
				       domid_t domid, int handle_bufioreq,
				       ioservid_t *id)
{
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("create", domid, (uint64_t)handle_bufioreq) == 0 &&
	    is_our_domain(domid)) {
		if (fx.server) {
			errno = ENOSPC;
		} else {
			fx.server = true;
			free(fx.page); /* a destroyed server's page */
			fx.page = aligned_alloc(PAGE, PAGE);
			memset(fx.page, 0, PAGE);
			*id = 3; /* not 0: catches code that assumes it */
			rc = 0;
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

static bool server_ok(domid_t domid, ioservid_t id)
{
	if (!is_our_domain(domid))
		return false;
	if (!fx.server || id != 3) {
		errno = ENOENT;
		return false;
	}
	return true;
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod,
					      domid_t domid, ioservid_t id,
					      uint16_t segment, uint8_t bus,
					      uint8_t device, uint8_t function)
{
	uint32_t sbdf = (uint32_t)segment << 16 | bus << 8 | device << 3 |
			function;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("map_pcidev", sbdf, 0) == 0 && server_ok(domid, id)) {
		fx.pcidev = true;
		fx.sbdf = sbdf;
		rc = 0;
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod,
						  domid_t domid, ioservid_t id,
						  uint16_t segment, uint8_t bus,
						  uint8_t device,
						  uint8_t function)
{
	uint32_t sbdf = (uint32_t)segment << 16 | bus << 8 | device << 3 |
			function;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("unmap_pcidev", sbdf, 0) == 0 && server_ok(domid, id)) {
		if (!fx.pcidev || fx.sbdf != sbdf)
			violation("unmap of a pci function never mapped");
		fx.pcidev = false;
		rc = 0;
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start,
						uint64_t end)
{
	unsigned int i;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("map_mmio", start, end) == 0 && server_ok(domid, id)) {
		rc = 0;
		if (!is_mmio || end < start) {
			violation("bad range map %d 0x%llx-0x%llx", is_mmio,
				  (unsigned long long)start,
				  (unsigned long long)end);
			errno = EINVAL;
			rc = -1;
		}
		for (i = 0; rc == 0 && i < fx.nr_ranges; i++) {
			/* Xen's rangeset: overlap within a server fails */
			if (start <= fx.ranges[i].end &&
			    fx.ranges[i].start <= end) {
				errno = EEXIST;
				rc = -1;
			}
		}
		if (rc == 0 && fx.nr_ranges < MAX_RANGES)
			fx.ranges[fx.nr_ranges++] =
				(struct range){ start, end };
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod,
						    domid_t domid,
						    ioservid_t id, int is_mmio,
						    uint64_t start,
						    uint64_t end)
{
	unsigned int i;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("unmap_mmio", start, end) == 0 && server_ok(domid, id)) {
		errno = ENOENT;
		for (i = 0; i < fx.nr_ranges; i++) {
			if (fx.ranges[i].start == start &&
			    fx.ranges[i].end == end) {
				fx.ranges[i] = fx.ranges[--fx.nr_ranges];
				rc = 0;
				break;
			}
		}
		if (rc)
			violation("unmap of range 0x%llx-0x%llx never mapped",
				  (unsigned long long)start,
				  (unsigned long long)end);
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod,
					  domid_t domid, ioservid_t id,
					  int enabled)
{
	unsigned int v;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record(enabled ? "enable" : "disable", 0, 0) == 0 &&
	    server_ok(domid, id)) {
		fx.enabled = enabled != 0;
		/* Xen writes vp_eport on enable (ioreq_update_evtchn) */
		if (fx.enabled)
			for (v = 0; v < fx.cfg.nr_vcpus; v++)
				fx.page->vcpu_ioreq[v].vp_eport =
					REMOTE_PORT_BASE + v;
		rc = 0;
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod,
					 domid_t domid, ioservid_t id,
					 xen_pfn_t *ioreq_gfn,
					 xen_pfn_t *bufioreq_gfn,
					 evtchn_port_t *bufioreq_port)
{
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (ioreq_gfn || bufioreq_gfn)
		violation(
			"get_ioreq_server_info with gfns: steals guest memory");
	else if (server_ok(domid, id))
		rc = 0;
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod,
					domid_t domid, ioservid_t id)
{
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("destroy", 0, 0) == 0 && server_ok(domid, id)) {
		if (fake_xen_outstanding())
			violation(
				"server destroyed with %u requests unanswered",
				fake_xen_outstanding());
		fx.server = fx.enabled = fx.pcidev = false;
		fx.nr_ranges = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid,
			      uint64_t msi_addr, uint32_t msi_data)
{
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("inject_msi", msi_addr, msi_data) == 0 &&
	    is_our_domain(domid))
		rc = 0;
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod,
				      domid_t domid, uint16_t segment,
				      uint8_t bus, uint8_t device, uint8_t intx,
				      unsigned int level)
{
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (segment || bus || device > 31 || intx > 3)
		violation("intx for %u:%u:%u pin %u: Xen refuses it", segment,
			  bus, device, intx);
	else if (record("intx", level, device) == 0 && is_our_domain(domid))
		rc = 0;
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_modified_memory(xendevicemodel_handle *dmod, domid_t domid,
				   uint64_t first_pfn, uint32_t nr)
{
	pthread_mutex_lock(&fx.lock);
	record("modified_memory", first_pfn, nr);
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

/* ---- libxenforeignmemory ---- */

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned int open_flags)
{
	return &fm_handle;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	return 0;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid,
			      unsigned int type, unsigned int id,
			      unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	xenforeignmemory_resource_handle *h = NULL;

	pthread_mutex_lock(&fx.lock);
	if (record("map_resource", frame, nr_frames) == 0 &&
	    server_ok(domid, (ioservid_t)id)) {
		if (type != XENMEM_resource_ioreq_server ||
		    frame != XENMEM_resource_ioreq_server_frame_ioreq(0) ||
		    nr_frames != 1) {
			violation("map_resource of type %u frame %lu", type,
				  frame);
			errno = EINVAL;
		} else {
			fx.page_mapped = true;
			*paddr = fx.page;
			h = &res_handle;
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return h;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	pthread_mutex_lock(&fx.lock);
	record("unmap_resource", 0, 0);
	fx.page_mapped = false;
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom,
			   int prot, size_t pages, const xen_pfn_t arr[],
			   int err[])
{
	void *va = NULL;
	unsigned int m;
	size_t i;

	bool row = true;

	pthread_mutex_lock(&fx.lock);
	record("map_guest", pages ? arr[0] : 0, pages);
	if (!is_our_domain(dom) || pages == 0 || pages > fx.cfg.guest_pages)
		goto out;
	for (m = 0; m < MAX_MAPS && fx.maps[m].va; m++)
		;
	if (m == MAX_MAPS) {
		violation("foreign mappings leak");
		goto out;
	}
	for (i = 0; i < pages; i++) {
		err[i] = arr[i] < fx.cfg.guest_pages ? 0 : -EINVAL;
		row &= arr[i] == arr[0] + i;
	}
	for (i = 0; i < pages && !err[i]; i++)
		;
	/* guest RAM itself: the mapping shares it, as a real one does; a
	 * frame in error leaves a mapping of its own (Xen maps the others) */
	if (i < pages)
		va = calloc(pages, PAGE);
	else if (row)
		va = fx.ram + arr[0] * PAGE;
	else
		va = map_scattered(pages, arr);
	fx.maps[m].va = va;
	fx.maps[m].n = pages;
	fx.maps[m].pfn[0] = i < pages ? ~0ull : arr[0];
	fx.maps[m].scattered = i == pages && !row;
out:
	pthread_mutex_unlock(&fx.lock);
	return va;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr,
			   size_t pages)
{
	unsigned int m;

	pthread_mutex_lock(&fx.lock);
	for (m = 0; m < MAX_MAPS && fx.maps[m].va != addr; m++)
		;
	if (m == MAX_MAPS || fx.maps[m].n != pages) {
		violation("unmap of an unknown foreign mapping");
	} else {
		if (fx.maps[m].pfn[0] == ~0ull)
			free(addr);
		else if (fx.maps[m].scattered)
			munmap(addr, pages * PAGE);
		fx.maps[m].va = NULL;
	}
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

/* ---- libxenevtchn ---- */

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
				 unsigned int flags)
{
	return &ev_handle;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return fx.evfd;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
						     uint32_t domid,
						     evtchn_port_t remote_port)
{
	unsigned int v;
	int local, rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (!is_our_domain(domid))
		goto out;
	v = remote_port - REMOTE_PORT_BASE;
	if (!fx.enabled || remote_port < REMOTE_PORT_BASE ||
	    v >= fx.cfg.nr_vcpus) {
		violation("bind to remote port %u (server %s)", remote_port,
			  fx.enabled ? "enabled" : "not enabled");
		errno = EINVAL;
		goto out;
	}
	local = LOCAL_PORT_BASE + 3 * (int)v;
	fx.local_of_vcpu[v] = local;
	fx.bound[local] = true;
	fx.masked[local] = false;
	/* Binding always sets a pending event ("we may have lost
	 * notifications"): a spurious wakeup right after start. */
	raise_port(local);
	rc = local;
out:
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	pthread_mutex_lock(&fx.lock);
	if (port < MAX_PORTS)
		fx.bound[port] = false;
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	uint64_t cnt;
	int port = -1;

	pthread_mutex_lock(&fx.lock);
	if (fx.qlen == 0) {
		errno = EAGAIN;
	} else {
		port = fx.queue[fx.qhead];
		fx.qhead = (fx.qhead + 1) % MAX_PORTS;
		if (--fx.qlen == 0 && read(fx.evfd, &cnt, sizeof(cnt)) < 0)
			violation("eventfd read failed");
	}
	pthread_mutex_unlock(&fx.lock);
	return port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	pthread_mutex_lock(&fx.lock);
	if (port < MAX_PORTS) {
		fx.masked[port] = false;
		if (fx.pending_masked[port]) {
			fx.pending_masked[port] = false;
			raise_port((int)port);
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	unsigned int v;

	pthread_mutex_lock(&fx.lock);
	fx.notifies++;
	for (v = 0; v < fx.cfg.nr_vcpus; v++)
		if (fx.local_of_vcpu[v] == (int)port)
			break;
	if (v == fx.cfg.nr_vcpus) {
		violation("notify on unbound port %u", port);
	} else if (!fx.outstanding[v]) {
		violation(
			"vcpu %u notified with no request outstanding (completed twice?)",
			v);
	} else if (fx.page->vcpu_ioreq[v].state != STATE_IORESP_READY) {
		violation("vcpu %u notified in state %u", v,
			  fx.page->vcpu_ioreq[v].state);
	} else {
		fx.outstanding[v] = false;
		pthread_cond_broadcast(&fx.answered);
	}
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

/* ---- libxentoolcore ---- */

int xentoolcore_restrict_all(domid_t domid)
{
	pthread_mutex_lock(&fx.lock);
	record("restrict", domid, 0);
	pthread_mutex_unlock(&fx.lock);
	return 0;
}

/* ---- libxenctrl ---- */

xc_interface *xc_interface_open(xentoollog_logger *logger,
				xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	return &xc_handle;
}

int xc_interface_close(xc_interface *xch)
{
	return 0;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
			  unsigned int max_domains, xc_domaininfo_t *info)
{
	int n = 0;

	pthread_mutex_lock(&fx.lock);
	memset(info, 0, sizeof(*info));
	if (first_domain == 0) {
		info->domain = 0; /* dom0: PV */
		n = 1;
	} else if (fx.alive && first_domain <= fx.cfg.domid) {
		info->domain = (domid_t)fx.cfg.domid;
		info->flags = fx.cfg.hvm ? XEN_DOMINF_hvm_guest : 0;
		memset(info->handle, fx.cfg.uuid_byte, sizeof(info->handle));
		n = 1;
	}
	pthread_mutex_unlock(&fx.lock);
	return n;
}

/* ---- libxenstore ---- */

struct xs_handle *xs_open(unsigned long flags)
{
	return &xs_h;
}

void xs_close(struct xs_handle *xsh)
{
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		    unsigned int *num)
{
	char **v = calloc(2, sizeof(char *) + 16);
	char *s = (char *)(v + 2);

	if (!v)
		return NULL;
	v[0] = s;
	strcpy(s, "0");
	v[1] = s + 16;
	snprintf(v[1], 16, "%u", fx.cfg.domid);
	*num = fx.alive ? 2 : 1;
	return v;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	      unsigned int *len)
{
	char want[64];

	snprintf(want, sizeof(want), "/local/domain/%u/name", fx.cfg.domid);
	if (strcmp(path, "/local/domain/0/name") == 0)
		return strdup("Domain-0");
	if (strcmp(path, want) == 0 && fx.cfg.name)
		return strdup(fx.cfg.name);
	errno = ENOENT;
	return NULL;
}
