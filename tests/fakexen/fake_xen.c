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
#define MAX_PCIDEVS 8
#define MAX_MAPS 16
#define MAX_SERVERS 8 /* Xen's MAX_NR_IOREQ_SERVERS */
#define PAGE 4096u
#define LOCAL_PORT_BASE 40 /* local ports: 40, 43, 46, ... */
#define REMOTE_PORT_BASE 7 /* server s, vCPU v: 7 + s * MAX_VCPUS + v */
/* the guest's own ports (EVTCHNOP_alloc_unbound): 2000, 2001, ... */
#define GUEST_PORT_BASE 2000
#define GUEST_PORTS 16

struct xendevicemodel_handle {
	int unused;
};
struct xenforeignmemory_handle {
	int unused;
};
struct xenforeignmemory_resource_handle {
	unsigned int id; /* the server whose page it maps */
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

/*
 * An ioreq server, as Xen 4.17 keeps it (xen/common/ioreq.c): its own
 * page and claims; it lives until destroyed, whether or not its emulator
 * process still runs. QEMU's (cfg.qemu) belongs to another process.
 */
struct server {
	bool live, enabled, published, page_mapped, qemu;
	shared_iopage_t *page;
	uint32_t pcidev[MAX_PCIDEVS];
	unsigned int nr_pcidev;
	struct range ranges[MAX_RANGES];
	unsigned int nr_ranges;
	int port[MAX_VCPUS]; /* local port bound to each vCPU's channel, 0: none */
};

static struct fake {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	struct fake_xen_cfg cfg;
	bool alive;
	struct server srv[MAX_SERVERS];
	/* event channels: local port -> server and vCPU */
	int evfd;
	int next_port;
	int port_srv[MAX_PORTS], port_vcpu[MAX_PORTS];
	bool bound[MAX_PORTS];
	bool masked[MAX_PORTS];
	bool pending_masked[MAX_PORTS];
	int queue[MAX_PORTS];
	unsigned int qhead, qlen;
	/* vCPUs: the server each waits on (-1: none), and the last one */
	int waits_on[MAX_VCPUS];
	int last_srv[MAX_VCPUS];
	uint64_t notifies;
	/* the guest's ports: allocated for a remote domain (-1: free), the
	 * local port bound to it (0: unbound), what it received */
	int gport_remote[GUEST_PORTS];
	int gport_local[GUEST_PORTS];
	uint64_t gport_rx[GUEST_PORTS];
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
static struct xenforeignmemory_resource_handle res_handle[MAX_SERVERS];
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

/* ---- the hypervisor's side ---- */

static struct server *get_server(unsigned int id)
{
	return id < MAX_SERVERS && fx.srv[id].live ? &fx.srv[id] : NULL;
}

/* A new server in the lowest free slot, as Xen's ioreq_server_create(). */
static int new_server(bool qemu)
{
	unsigned int id;

	for (id = 0; id < MAX_SERVERS && fx.srv[id].live; id++)
		;
	if (id == MAX_SERVERS)
		return -1;
	free(fx.srv[id].page); /* a destroyed server's page */
	memset(&fx.srv[id], 0, sizeof(fx.srv[id]));
	fx.srv[id].live = true;
	fx.srv[id].qemu = qemu;
	fx.srv[id].page = aligned_alloc(PAGE, PAGE);
	memset(fx.srv[id].page, 0, PAGE);
	return (int)id;
}

static bool claims_pcidev(const struct server *sv, uint32_t sbdf)
{
	unsigned int i;

	for (i = 0; i < sv->nr_pcidev; i++)
		if (sv->pcidev[i] == sbdf)
			return true;
	return false;
}

static bool claims_mmio(const struct server *sv, uint64_t first, uint64_t last)
{
	unsigned int i;

	for (i = 0; i < sv->nr_ranges; i++)
		if (sv->ranges[i].start <= first && last <= sv->ranges[i].end)
			return true;
	return false;
}

/*
 * Xen's ioreq_server_select(): the enabled server with the highest id that
 * claims the address (FOR_EACH_IOREQ_SERVER runs from the top; ids are
 * the lowest free slot, so this is the newest one unless an older one was
 * destroyed). A request no server claims never reaches an emulator in
 * Xen; here it goes to the newest enabled server that is not QEMU's, so
 * that tests can hand the daemon requests a guest cannot produce.
 */
static int select_server(const struct io_req *r)
{
	uint64_t last =
		r->addr + (uint64_t)r->size * (r->count ? r->count : 1) - 1;
	int id;

	for (id = MAX_SERVERS - 1; id >= 0; id--) {
		const struct server *sv = &fx.srv[id];

		if (!sv->live || !sv->enabled)
			continue;
		if (r->type == IO_PCI_CONFIG &&
		    claims_pcidev(sv, r->addr >> 32))
			return id;
		if (r->type == IO_MMIO && !r->df &&
		    claims_mmio(sv, r->addr, last))
			return id;
	}
	for (id = MAX_SERVERS - 1; id >= 0; id--)
		if (fx.srv[id].live && fx.srv[id].enabled && !fx.srv[id].qemu)
			return id;
	return -1;
}

/* ---- test API ---- */

void fake_xen_reset(const struct fake_xen_cfg *cfg)
{
	static const uint32_t qemu_slots[] = { 0 << 3, 1 << 3, 1 << 3 | 1,
					       1 << 3 | 3, 2 << 3 };
	unsigned int i, v;
	int id;

	pthread_mutex_lock(&fx.lock);
	if (fx.evfd >= 0)
		close(fx.evfd);
	for (i = 0; i < MAX_SERVERS; i++)
		free(fx.srv[i].page);
	ram_free();
	memset(&fx.cfg, 0, sizeof(fx) - offsetof(struct fake, cfg));
	fx.cfg = *cfg;
	fx.alive = true;
	fx.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fx.next_port = LOCAL_PORT_BASE;
	fake_gnt_reset(cfg->domid);
	ram_alloc(cfg->guest_pages ? cfg->guest_pages : 1);
	for (v = 0; v < MAX_VCPUS; v++)
		fx.waits_on[v] = fx.last_srv[v] = -1;
	for (i = 0; i < GUEST_PORTS; i++)
		fx.gport_remote[i] = -1;
	if (cfg->qemu) {
		/* QEMU's server: created first, enabled, its channels bound
		 * by QEMU (another process: not in our port table) */
		id = new_server(true);
		fx.srv[id].enabled = fx.srv[id].published = true;
		for (i = 0; i < sizeof(qemu_slots) / sizeof(qemu_slots[0]); i++)
			fx.srv[id].pcidev[fx.srv[id].nr_pcidev++] =
				qemu_slots[i];
		for (v = 0; v < cfg->nr_vcpus; v++)
			fx.srv[id].port[v] = -1;
	}
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

static void fill_slot(int id, unsigned int v, const struct io_req *r)
{
	ioreq_t *p = &fx.srv[id].page->vcpu_ioreq[v];

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
	fx.waits_on[v] = fx.last_srv[v] = id;
}

void fake_vcpu_send(unsigned int v, const struct io_req *r)
{
	int id;

	pthread_mutex_lock(&fx.lock);
	id = v < fx.cfg.nr_vcpus ? select_server(r) : -1;
	if (id < 0) {
		violation("send on vcpu %u with no enabled server", v);
	} else if (fx.waits_on[v] >= 0) {
		violation("vcpu %u sends while blocked on server %d", v,
			  fx.waits_on[v]);
	} else if (fx.srv[id].page->vcpu_ioreq[v].state != STATE_IOREQ_NONE) {
		violation("device model set bad IO state %u on vcpu %u",
			  fx.srv[id].page->vcpu_ioreq[v].state, v);
	} else {
		fill_slot(id, v, r);
		raise_port(fx.srv[id].port[v]);
	}
	pthread_mutex_unlock(&fx.lock);
}

void fake_vcpu_preload(unsigned int v, const struct io_req *r)
{
	int id;

	pthread_mutex_lock(&fx.lock);
	for (id = MAX_SERVERS - 1; id >= 0; id--)
		if (fx.srv[id].live && !fx.srv[id].qemu)
			break;
	if (id < 0)
		violation("preload with no server");
	else
		fill_slot(id, v, r);
	pthread_mutex_unlock(&fx.lock);
}

void fake_vcpu_kick(unsigned int v)
{
	int id;

	pthread_mutex_lock(&fx.lock);
	for (id = 0; id < MAX_SERVERS; id++)
		if (fx.srv[id].live && !fx.srv[id].qemu)
			raise_port(fx.srv[id].port[v]);
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
	while (fx.waits_on[v] >= 0) {
		if (pthread_cond_timedwait(&fx.answered, &fx.lock, &dl)) {
			ok = false;
			break;
		}
	}
	if (ok && fx.last_srv[v] < 0) {
		violation("vcpu %u waits with nothing sent", v);
		ok = false;
	}
	if (ok) {
		/* Xen's wait_for_io(): IORESP_READY -> NONE, take the data */
		p = &fx.srv[fx.last_srv[v]].page->vcpu_ioreq[v];
		if (p->state != STATE_IORESP_READY)
			violation("vcpu %u resumed with state %u", v, p->state);
		if (data)
			*data = p->data;
		p->state = STATE_IOREQ_NONE;
	}
	pthread_mutex_unlock(&fx.lock);
	return ok;
}

bool fake_vcpu_blocked(unsigned int v)
{
	bool b;

	pthread_mutex_lock(&fx.lock);
	b = fx.waits_on[v] >= 0;
	pthread_mutex_unlock(&fx.lock);
	return b;
}

void fake_process_died(void)
{
	unsigned int p, id;

	pthread_mutex_lock(&fx.lock);
	for (p = 0; p < MAX_PORTS; p++) {
		if (fx.bound[p] && fx.port_srv[p] >= 0)
			fx.srv[fx.port_srv[p]].port[fx.port_vcpu[p]] = 0;
		else if (fx.bound[p]) /* the guest's end is unbound again */
			fx.gport_local[fx.port_vcpu[p]] = 0;
		fx.bound[p] = false;
	}
	for (id = 0; id < MAX_SERVERS; id++)
		if (!fx.srv[id].qemu)
			fx.srv[id].page_mapped = false;
	fx.qlen = 0;
	pthread_mutex_unlock(&fx.lock);
	fake_gnt_process_died();
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
	unsigned int id, n = 0;

	for (id = 0; id < MAX_SERVERS; id++)
		n += fx.srv[id].live && !fx.srv[id].qemu;
	return n;
}

bool fake_xen_server_claims(unsigned int id, uint32_t sbdf)
{
	const struct server *sv = get_server(id);

	return sv && claims_pcidev(sv, sbdf);
}

unsigned int fake_xen_outstanding(void)
{
	unsigned int v, n = 0;

	for (v = 0; v < MAX_VCPUS; v++)
		n += fx.waits_on[v] >= 0;
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
	int rc = -1, i;

	pthread_mutex_lock(&fx.lock);
	if (record("create", domid, (uint64_t)handle_bufioreq) == 0 &&
	    is_our_domain(domid)) {
		i = new_server(false);
		if (i < 0) {
			errno = ENOSPC;
		} else {
			*id = (ioservid_t)i;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

static struct server *server_ok(domid_t domid, ioservid_t id)
{
	struct server *sv;

	if (!is_our_domain(domid))
		return NULL;
	sv = get_server(id);
	if (!sv)
		errno = ENOENT;
	return sv;
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod,
					      domid_t domid, ioservid_t id,
					      uint16_t segment, uint8_t bus,
					      uint8_t device, uint8_t function)
{
	uint32_t sbdf = (uint32_t)segment << 16 | bus << 8 | device << 3 |
			function;
	struct server *sv;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("map_pcidev", sbdf, id) == 0 &&
	    (sv = server_ok(domid, id))) {
		/* overlaps are refused within a server, never across */
		if (claims_pcidev(sv, sbdf)) {
			errno = EEXIST;
		} else if (sv->nr_pcidev == MAX_PCIDEVS) {
			errno = ENOSPC;
		} else {
			sv->pcidev[sv->nr_pcidev++] = sbdf;
			rc = 0;
		}
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
	struct server *sv;
	unsigned int i;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("unmap_pcidev", sbdf, id) == 0 &&
	    (sv = server_ok(domid, id))) {
		errno = ENOENT; /* not claimed by this server */
		for (i = 0; i < sv->nr_pcidev; i++) {
			if (sv->pcidev[i] == sbdf) {
				sv->pcidev[i] = sv->pcidev[--sv->nr_pcidev];
				rc = 0;
				break;
			}
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return rc;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start,
						uint64_t end)
{
	struct server *sv;
	unsigned int i;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("map_mmio", start, end) == 0 &&
	    (sv = server_ok(domid, id))) {
		rc = 0;
		if (!is_mmio || end < start) {
			violation("bad range map %d 0x%llx-0x%llx", is_mmio,
				  (unsigned long long)start,
				  (unsigned long long)end);
			errno = EINVAL;
			rc = -1;
		}
		for (i = 0; rc == 0 && i < sv->nr_ranges; i++) {
			/* Xen's rangeset: overlap within a server fails */
			if (start <= sv->ranges[i].end &&
			    sv->ranges[i].start <= end) {
				errno = EEXIST;
				rc = -1;
			}
		}
		if (rc == 0 && sv->nr_ranges < MAX_RANGES)
			sv->ranges[sv->nr_ranges++] =
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
	struct server *sv;
	unsigned int i;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("unmap_mmio", start, end) == 0 &&
	    (sv = server_ok(domid, id))) {
		errno = ENOENT;
		for (i = 0; i < sv->nr_ranges; i++) {
			if (sv->ranges[i].start == start &&
			    sv->ranges[i].end == end) {
				sv->ranges[i] = sv->ranges[--sv->nr_ranges];
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
	struct server *sv;
	unsigned int v;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record(enabled ? "enable" : "disable", id, 0) == 0 &&
	    (sv = server_ok(domid, id))) {
		sv->enabled = enabled != 0;
		/* Xen writes vp_eport on enable (ioreq_update_evtchn) */
		if (sv->enabled) {
			for (v = 0; v < fx.cfg.nr_vcpus; v++)
				sv->page->vcpu_ioreq[v].vp_eport =
					REMOTE_PORT_BASE + id * MAX_VCPUS + v;
			sv->published = true;
		}
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
	struct server *sv;
	unsigned int v, n = 0;
	int rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (record("destroy", id, 0) == 0 && (sv = server_ok(domid, id))) {
		/* Xen frees the vCPUs' channels without waking them: a vCPU
		 * blocked on this server would never run again */
		for (v = 0; v < MAX_VCPUS; v++)
			n += fx.waits_on[v] == (int)id;
		if (n)
			violation(
				"server %u destroyed with %u requests unanswered: the vCPUs hang",
				id, n);
		for (v = 0; v < MAX_VCPUS; v++)
			if (sv->port[v] > 0)
				fx.bound[sv->port[v]] = false;
		sv->live = sv->enabled = false;
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
	struct server *sv;

	pthread_mutex_lock(&fx.lock);
	if (record("map_resource", frame, id) == 0 &&
	    (sv = server_ok(domid, (ioservid_t)id))) {
		if (type != XENMEM_resource_ioreq_server ||
		    frame != XENMEM_resource_ioreq_server_frame_ioreq(0) ||
		    nr_frames != 1) {
			violation("map_resource of type %u frame %lu", type,
				  frame);
			errno = EINVAL;
		} else {
			sv->page_mapped = true;
			*paddr = sv->page;
			h = &res_handle[id];
			h->id = id;
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return h;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	pthread_mutex_lock(&fx.lock);
	record("unmap_resource", fres->id, 0);
	fx.srv[fres->id].page_mapped = false;
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

/* ---- the guest's event channels ---- */

int fake_guest_evtchn_alloc(int remote_dom)
{
	int i, port = -1;

	pthread_mutex_lock(&fx.lock);
	for (i = 0; i < GUEST_PORTS; i++) {
		if (fx.gport_remote[i] < 0) {
			fx.gport_remote[i] = remote_dom;
			fx.gport_local[i] = 0;
			fx.gport_rx[i] = 0;
			port = GUEST_PORT_BASE + i;
			break;
		}
	}
	pthread_mutex_unlock(&fx.lock);
	return port;
}

/* @gport's index, if the guest allocated it. */
static int gport_index(uint32_t gport)
{
	uint32_t i = gport - GUEST_PORT_BASE;

	return gport >= GUEST_PORT_BASE && i < GUEST_PORTS &&
			       fx.gport_remote[i] >= 0 ?
		       (int)i :
		       -1;
}

void fake_guest_evtchn_notify(int gport)
{
	int i;

	pthread_mutex_lock(&fx.lock);
	i = gport_index((uint32_t)gport);
	if (i >= 0 && fx.gport_local[i])
		raise_port(fx.gport_local[i]);
	pthread_mutex_unlock(&fx.lock);
}

uint64_t fake_guest_evtchn_received(int gport)
{
	uint64_t n = 0;
	int i;

	pthread_mutex_lock(&fx.lock);
	i = gport_index((uint32_t)gport);
	if (i >= 0)
		n = fx.gport_rx[i];
	pthread_mutex_unlock(&fx.lock);
	return n;
}

bool fake_guest_evtchn_bound(int gport)
{
	bool b = false;
	int i;

	pthread_mutex_lock(&fx.lock);
	i = gport_index((uint32_t)gport);
	if (i >= 0)
		b = fx.gport_local[i] != 0;
	pthread_mutex_unlock(&fx.lock);
	return b;
}

/* Xen's evtchn_bind_interdomain: only an ECS_UNBOUND port of the guest
 * whose remote domain is us (dom0). Called with the lock held. */
static int bind_guest_port(uint32_t gport)
{
	int i = gport_index(gport), local;

	if (i < 0 || fx.gport_remote[i] != 0 || fx.gport_local[i]) {
		errno = EINVAL;
		return -1;
	}
	local = fx.next_port;
	fx.next_port += 3;
	if (local >= MAX_PORTS) {
		violation("event channel ports leak");
		errno = ENOSPC;
		return -1;
	}
	fx.gport_local[i] = local;
	fx.port_srv[local] = -1;
	fx.port_vcpu[local] = i;
	fx.bound[local] = true;
	fx.masked[local] = false;
	raise_port(local);
	return local;
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
	unsigned int v, id;
	struct server *sv;
	int local, rc = -1;

	pthread_mutex_lock(&fx.lock);
	if (!is_our_domain(domid))
		goto out;
	if (remote_port >= GUEST_PORT_BASE) {
		rc = bind_guest_port(remote_port);
		goto out;
	}
	id = (remote_port - REMOTE_PORT_BASE) / MAX_VCPUS;
	v = (remote_port - REMOTE_PORT_BASE) % MAX_VCPUS;
	sv = get_server(id);
	if (remote_port < REMOTE_PORT_BASE || !sv || !sv->published ||
	    v >= fx.cfg.nr_vcpus) {
		violation("bind to remote port %u (no server published it)",
			  remote_port);
		errno = EINVAL;
		goto out;
	}
	if (sv->port[v]) {
		/* bound already (by a live emulator): not ECS_UNBOUND */
		errno = EINVAL;
		goto out;
	}
	local = fx.next_port;
	fx.next_port += 3;
	if (local >= MAX_PORTS) {
		violation("event channel ports leak");
		errno = ENOSPC;
		goto out;
	}
	sv->port[v] = local;
	fx.port_srv[local] = (int)id;
	fx.port_vcpu[local] = (int)v;
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
	if (port < MAX_PORTS && fx.bound[port]) {
		fx.bound[port] = false;
		if (fx.port_srv[port] >= 0)
			fx.srv[fx.port_srv[port]].port[fx.port_vcpu[port]] = 0;
		else
			fx.gport_local[fx.port_vcpu[port]] = 0;
	}
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
	int id;

	pthread_mutex_lock(&fx.lock);
	fx.notifies++;
	if (port >= MAX_PORTS || !fx.bound[port]) {
		violation("notify on unbound port %u", port);
		goto out;
	}
	id = fx.port_srv[port];
	v = (unsigned int)fx.port_vcpu[port];
	if (id < 0) { /* the guest's channel */
		fx.gport_rx[v]++;
		goto out;
	}
	if (fx.waits_on[v] != id) {
		violation(
			"vcpu %u notified by server %d with no request waiting on it (completed twice?)",
			v, id);
	} else if (fx.srv[id].page->vcpu_ioreq[v].state != STATE_IORESP_READY) {
		violation("vcpu %u notified in state %u", v,
			  fx.srv[id].page->vcpu_ioreq[v].state);
	} else {
		fx.waits_on[v] = -1;
		pthread_cond_broadcast(&fx.answered);
	}
out:
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
