/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake Xen for tests and benchmarks: it implements the Xen library calls
 * that src/host_xen.c makes (devicemodel, foreignmemory, evtchn, ctrl,
 * store), so the daemon's real glue and event loop run against it. It
 * plays the hypervisor's part: a shared ioreq page, vCPUs that send
 * requests and wait for answers, event channels, and a record of every
 * device-model operation. It enforces Xen's rules and counts violations.
 *
 * Ioreq servers follow Xen 4.17 (xen/common/ioreq.c): up to 8 per domain,
 * each in the lowest free id; claims (PCI functions, MMIO ranges) overlap
 * freely across servers but not within one; a request goes to the enabled
 * server with the highest id that claims it; a server outlives its
 * emulator process until it is destroyed, and a vCPU whose request waits
 * on it stays blocked until someone answers that request (destroying the
 * server does not wake it: that is a rule violation here).
 */
#ifndef FAKE_XEN_H
#define FAKE_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/ioreq.h>

struct fake_xen_cfg {
	uint32_t domid;
	unsigned int nr_vcpus;
	bool hvm;
	const char *name;
	size_t guest_pages; /* guest RAM for data_is_ptr buffers */
	uint8_t uuid_byte; /* the domain's UUID: 16 times this byte */
	bool qemu; /* QEMU's server first (id 0, 00:00.0-00:02.0, alive) */
};

/* One recorded device-model operation, e.g. "map_mmio" a..b. */
struct fake_dmop {
	char op[24];
	uint64_t a;
	uint64_t b;
};

void fake_xen_reset(const struct fake_xen_cfg *cfg);
/* Make the next call to @op (a fake_dmop name) fail with @err. */
void fake_xen_fail_next(const char *op, int err);

/* vCPU side. send() needs the slot idle, like Xen's ioreq_send(). */
void fake_vcpu_send(unsigned int v, const struct io_req *r);
/* Wait until vCPU @v's request is answered; false on timeout. Takes the
 * response (data) and returns the slot to idle, as Xen does on resume. */
bool fake_vcpu_wait(unsigned int v, uint64_t *data, int timeout_ms);
/* Raise vCPU @v's event channel without a request (spurious event). */
void fake_vcpu_kick(unsigned int v);
/* A request left in the slot before the server bound its ports. */
void fake_vcpu_preload(unsigned int v, const struct io_req *r);
/* Is vCPU @v waiting for an answer? */
bool fake_vcpu_blocked(unsigned int v);

/* The emulator process died: its event channels and mappings are gone,
 * its ioreq server (and what the vCPUs wait for) is not. */
void fake_process_died(void);
/* The domain dies: every call about it fails with ESRCH from now on. */
void fake_domain_destroy(void);

size_t fake_xen_dmops(const struct fake_dmop **ops);
/* Count of recorded ops named @op. */
unsigned int fake_xen_count(const char *op);
/* Rule violations so far, and the last one's description. */
unsigned int fake_xen_violations(void);
const char *fake_xen_last_violation(void);
/* Live ioreq servers, enabled or not (QEMU's not counted). */
unsigned int fake_xen_servers(void);
/* Does server @id exist and claim PCI function @sbdf? */
bool fake_xen_server_claims(unsigned int id, uint32_t sbdf);
/* Requests sent but not yet answered. */
unsigned int fake_xen_outstanding(void);
uint8_t *fake_guest_ram(void);
/* Notifications the server sent (one per completion). */
uint64_t fake_xen_notifies(void);

/*
 * The guest's own event channels (ABI 1.3): allocate an unbound port for
 * @remote_dom (0: dom0), as EVTCHNOP_alloc_unbound does; -1 if none is
 * left. Xen lets dom0 bind only such a port of the guest with remote
 * domain 0 that is unbound. notify is the guest's EVTCHNOP_send (nothing
 * if unbound); received counts dom0's notifications to the guest.
 */
int fake_guest_evtchn_alloc(int remote_dom);
void fake_guest_evtchn_notify(int gport);
uint64_t fake_guest_evtchn_received(int gport);
bool fake_guest_evtchn_bound(int gport);

/* gntalloc (fake_gnt.c): regions granted to the guest (ABI 1.5). Reset
 * with the domain every share must go to; a failure injected for the
 * next open or share; pages granted now, pages the fd's close ended, and
 * rule violations (another domain, an unknown or twice-ended share). */
void fake_gnt_reset(uint32_t domid);
void fake_gnt_fail_open(int err);
void fake_gnt_fail_share(int err);
uint64_t fake_gnt_pages(void);
uint64_t fake_gnt_ended_at_close(void);
unsigned int fake_gnt_violations(void);
/* The daemon died: the kernel closed its gntalloc fd (fake_process_died
 * calls it). */
void fake_gnt_process_died(void);

#endif
