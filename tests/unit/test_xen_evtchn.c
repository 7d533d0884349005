// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Xen PV fast path through the real Xen glue and device model against
 * the fake Xen. The guest's event channel (ABI 1.3, VGPU_REG_EVTCHN,
 * host_xen_evtchn.c): doorbells by notification with no MMIO exit,
 * completions signalled on the port instead of MSI, a port the guest does
 * not own, a notification flood, reset, daemon restart and domain death.
 * Regions granted to the guest (ABI 1.5, REGION_GRANT, host_xen_grant.c):
 * offered only with gntalloc, granted to this domain only, the references
 * in the guest's list, and every grant ended by a reset, a failed command,
 * the daemon's death and its exit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/host_xen.h>
#include <vgpu/pci_cfg.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "fakexen/fake_xen.h"

#define DOMID 7
#define SBDF (5u << 3)
#define WAIT_MS 5000
#define BAR 0xf1000000u
#define DEPTH 16

struct world {
	struct logger lg;
	struct xen_host *x;
	struct vdev d;
	struct io_stats st;
	struct vgpu_qhdr *h;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	uint32_t tail;
};

/* Serve every pending event, in this thread: how many there were. */
static unsigned int drain(struct xen_host *x)
{
	unsigned int n = 0;
	int r;

	while ((r = xen_host_handle_events(x)) > 0)
		n++;
	assert_int_equal(r, 0);
	return n;
}

static uint64_t xact(struct world *w, struct io_req r)
{
	uint64_t data = 0;

	fake_vcpu_send(0, &r);
	drain(w->x);
	assert_true(fake_vcpu_wait(0, &data, WAIT_MS));
	return data;
}

static struct io_req req(uint32_t type, uint64_t addr, int dir, uint32_t size,
			 uint64_t v)
{
	struct io_req r = { .addr = addr,
			    .data = v,
			    .count = 1,
			    .size = size,
			    .type = (uint8_t)type,
			    .dir = (uint8_t)dir };
	return r;
}

static uint32_t rd(struct world *w, uint32_t off)
{
	return (uint32_t)xact(w, req(IO_MMIO, BAR + off, IO_READ, 4, 0));
}

static void wr(struct world *w, uint32_t off, uint32_t size, uint64_t v)
{
	xact(w, req(IO_MMIO, BAR + off, IO_WRITE, size, v));
}

static void cfg_wr(struct world *w, uint32_t off, uint32_t size, uint32_t v)
{
	xact(w,
	     req(IO_PCI_CONFIG, (uint64_t)SBDF << 32 | off, IO_WRITE, size, v));
}

/* The device in @st (NULL: its own), BAR0 routed, MSI enabled; gntalloc
 * fails to open with @gnt_err (0: it opens). */
static void up_in(struct world *w, struct vdev_state *st, int gnt_err)
{
	struct fake_xen_cfg cfg = { .domid = DOMID,
				    .nr_vcpus = 1,
				    .hvm = true,
				    .name = "guest",
				    .guest_pages = 16 };

	memset(w, 0, sizeof(*w));
	fake_xen_reset(&cfg);
	fake_gnt_fail_open(gnt_err);
	log_init(&w->lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w->x, DOMID, XEN_NO_SERVER, &w->lg), 0);
	if (st)
		assert_int_equal(vdev_create_in(&w->d, &vgpu_stub_ops, NULL,
						SBDF, xen_host_seam(w->x),
						&w->lg, st, false),
				 0);
	else
		assert_int_equal(vdev_create(&w->d, &vgpu_stub_ops, NULL, SBDF,
					     xen_host_seam(w->x), &w->lg),
				 0);
	assert_int_equal(xen_host_attach(w->x, &w->d, &w->st), 0);
	xen_host_scan(w->x);
	cfg_wr(w, PCI_BASE_ADDRESS_0, 4, BAR);
	cfg_wr(w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_wr(w, 0x40 + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	cfg_wr(w, 0x40 + PCI_MSI_DATA_64, 2, 0x31);
	cfg_wr(w, 0x40 + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
}

static void down(struct world *w)
{
	xen_host_detach(w->x);
	vdev_destroy(&w->d);
	xen_host_close(w->x);
	assert_int_equal(fake_xen_servers(), 0);
	assert_int_equal(fake_xen_outstanding(), 0);
	assert_int_equal(fake_gnt_pages(), 0);
	assert_int_equal(fake_gnt_violations(), 0);
	if (fake_xen_violations())
		fail_msg("xen rule broken: %s", fake_xen_last_violation());
}

/* Queue 1 in fake guest RAM; the driver asks for interrupts. */
static void queue_up(struct world *w)
{
	uint8_t *ram = fake_guest_ram();

	w->h = (struct vgpu_qhdr *)(ram + 0x1000);
	w->sq = (struct vgpu_sqe *)(ram + 0x2000);
	w->cq = (struct vgpu_cqe *)(ram + 0x3000);
	memset(ram + 0x1000, 0, 3 * 4096);
	w->tail = 0;
	wr(w, VGPU_REG_Q_SELECT, 4, 1);
	wr(w, VGPU_REG_Q_DEPTH, 4, DEPTH);
	wr(w, VGPU_REG_Q_HDR_GPA, 8, 0x1000);
	wr(w, VGPU_REG_Q_SQ_GPA, 8, 0x2000);
	wr(w, VGPU_REG_Q_CQ_GPA, 8, 0x3000);
	wr(w, VGPU_REG_Q_ENABLE, 4, 1);
	assert_int_equal(rd(w, VGPU_REG_Q_ENABLE), 1);
	w->h->drv_flags.v = VGPU_DRV_NEED_IRQ;
}

/* Publish @n NOPs (no doorbell); the driver reaps as it goes. */
static void publish_nops(struct world *w, unsigned int n)
{
	while (n--) {
		w->sq[w->tail % DEPTH] =
			(struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
					   .cid = (uint16_t)w->tail };
		w->tail++;
	}
	w->h->cq_head.v = w->h->sq_head.v; /* every NOP taken has completed */
	w->h->sq_tail.v = w->tail;
}

/* Register the guest's port: what the register reads back. */
static uint32_t name_port(struct world *w, uint32_t port)
{
	wr(w, VGPU_REG_EVTCHN, 4, port);
	return rd(w, VGPU_REG_EVTCHN);
}

/* Doorbells by notification run the queue with no MMIO doorbell, and its
 * completions come back on the port, not as MSI or in INTR_STATUS. */
static void doorbell_and_completions_by_event_channel(void **state)
{
	struct world w;
	int gport;
	unsigned int i, before;

	up_in(&w, NULL, 0);
	assert_true(rd(&w, VGPU_REG_FEATURES) & VGPU_F_EVTCHN);
	assert_int_equal(rd(&w, VGPU_REG_VERSION), VGPU_ABI_VERSION);
	gport = fake_guest_evtchn_alloc(0);
	assert_int_equal(name_port(&w, (uint32_t)gport), gport);
	assert_true(fake_guest_evtchn_bound(gport));
	drain(w.x); /* binding leaves the port pending: an empty kick */
	queue_up(&w);
	before = fake_xen_count("inject_msi");
	for (i = 0; i < 5; i++) {
		uint64_t rx = fake_guest_evtchn_received(gport);

		w.sq[w.tail % DEPTH] =
			(struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
					   .cid = (uint16_t)(100 + i) };
		w.h->sq_tail.v = ++w.tail;
		fake_guest_evtchn_notify(gport);
		assert_int_equal(drain(w.x), 1);
		assert_int_equal(w.h->sq_head.v, w.tail);
		assert_int_equal(w.cq[(w.tail - 1) % DEPTH].cid, 100 + i);
		assert_int_equal(fake_guest_evtchn_received(gport), rx + 1);
		w.h->cq_head.v = w.tail;
	}
	assert_int_equal(fake_xen_count("inject_msi"), before);
	assert_int_equal(rd(&w, VGPU_REG_INTR_STATUS), 0);
	/* MMIO doorbells keep working while bound */
	publish_nops(&w, 1);
	wr(&w, VGPU_REG_DOORBELL(1), 4, w.tail);
	assert_int_equal(w.h->sq_head.v, w.tail);
	/* a reset lets the port go: the guest may bind it elsewhere */
	wr(&w, VGPU_REG_STATUS, 4, 0);
	assert_int_equal(rd(&w, VGPU_REG_EVTCHN), 0);
	assert_false(fake_guest_evtchn_bound(gport));
	/* and name it again; writing 0 unbinds */
	assert_int_equal(name_port(&w, (uint32_t)gport), gport);
	assert_int_equal(name_port(&w, 0), 0);
	assert_false(fake_guest_evtchn_bound(gport));
	down(&w);
}

/* Ports the guest does not own, or cannot give us: the register reads 0,
 * the device stays on MMIO doorbells and MSI. */
static void port_not_owned_keeps_mmio_and_msi(void **state)
{
	struct world w;
	int mine, other;
	unsigned int before;

	up_in(&w, NULL, 0);
	mine = fake_guest_evtchn_alloc(0);
	other = fake_guest_evtchn_alloc(3); /* for another domain */
	assert_int_equal(name_port(&w, (uint32_t)other), 0);
	assert_int_equal(name_port(&w, 2015), 0); /* never allocated */
	assert_int_equal(name_port(&w, 0xffffffffu), 0);
	/* our own vCPU channel (server 0, vCPU 0): bound already */
	assert_int_equal(name_port(&w, 7), 0);
	/* a partial write names nothing */
	wr(&w, VGPU_REG_EVTCHN, 2, (uint32_t)mine);
	assert_int_equal(rd(&w, VGPU_REG_EVTCHN), 0);
	assert_false(fake_guest_evtchn_bound(mine));
	/* bound once: a second binding of the same port is refused by Xen,
	 * naming another port replaces the first */
	assert_int_equal(name_port(&w, (uint32_t)mine), mine);
	assert_int_equal(name_port(&w, (uint32_t)other), 0);
	assert_false(fake_guest_evtchn_bound(mine));
	/* everything on MMIO + MSI */
	queue_up(&w);
	before = fake_xen_count("inject_msi");
	publish_nops(&w, 3);
	wr(&w, VGPU_REG_DOORBELL(1), 4, w.tail);
	assert_int_equal(w.h->sq_head.v, 3);
	assert_int_equal(fake_xen_count("inject_msi"), before + 1);
	assert_int_equal(fake_guest_evtchn_received(mine), 0);
	down(&w);
}

/* A flood of notifications: coalesced while the port is pending; every
 * command runs once, and a kick with nothing to do signals nothing. */
static void notification_flood(void **state)
{
	struct world w;
	int gport;
	unsigned int i, served = 0;

	up_in(&w, NULL, 0);
	gport = fake_guest_evtchn_alloc(0);
	assert_int_equal(name_port(&w, (uint32_t)gport), gport);
	queue_up(&w);
	drain(w.x);
	publish_nops(&w, 10);
	for (i = 0; i < 100000; i++)
		fake_guest_evtchn_notify(gport);
	served = drain(w.x);
	assert_true(served >= 1 && served <= 2);
	assert_int_equal(w.h->sq_head.v, 10);
	assert_int_equal(fake_guest_evtchn_received(gport), 1);
	/* empty kicks, one at a time: no completions, no signals */
	for (i = 0; i < 1000; i++) {
		fake_guest_evtchn_notify(gport);
		drain(w.x);
	}
	assert_int_equal(w.h->sq_head.v, 10);
	assert_int_equal(fake_guest_evtchn_received(gport), 1);
	assert_int_equal(rd(&w, VGPU_REG_Q_ERROR), VGPU_QERR_NONE);
	down(&w);
}

/* The crashed process's memory, left as it was (reachable, not freed). */
static struct xen_host *volatile crashed;

/* The emulator dies: its end closes with it (the guest's port is unbound
 * again); the restarted one binds it again from the saved registers. The
 * domain dies: teardown copes with a port Xen took away. */
static void restart_rebinds_and_domain_death(void **state)
{
	size_t size = vdev_state_size(&vgpu_stub_ops);
	struct vdev_state *st = test_calloc(1, size);
	struct xen_host *dead;
	struct world w1, w2;

	int gport;

	up_in(&w1, st, 0);
	st->ioservid = xen_host_ioservid(w1.x);
	gport = fake_guest_evtchn_alloc(0);
	assert_int_equal(name_port(&w1, (uint32_t)gport), gport);
	fake_process_died();
	dead = w1.x; /* its memory only: Xen state went with the process */
	assert_false(fake_guest_evtchn_bound(gport));

	memset(&w2, 0, sizeof(w2));
	log_init(&w2.lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w2.x, DOMID, st->ioservid, &w2.lg), 0);
	assert_int_equal(vdev_create_in(&w2.d, &vgpu_stub_ops, NULL, SBDF,
					xen_host_seam(w2.x), &w2.lg, st, true),
			 1);
	assert_int_equal(xen_host_attach(w2.x, &w2.d, &w2.st), 0);
	xen_host_scan(w2.x);
	assert_true(fake_guest_evtchn_bound(gport));
	assert_int_equal(rd(&w2, VGPU_REG_EVTCHN), gport);
	drain(w2.x);
	fake_guest_evtchn_notify(gport);
	assert_int_equal(drain(w2.x), 1);
	/* domain death with the port bound */
	fake_domain_destroy();
	assert_true(xen_host_domain_gone(w2.x));
	xen_host_detach(w2.x);
	vdev_destroy(&w2.d);
	xen_host_close(w2.x);
	assert_false(fake_guest_evtchn_bound(gport));
	crashed = dead;
	test_free(st);
}

/* Run @e on queue 1, rung by MMIO: its status code, *res its result. */
static uint32_t submit(struct world *w, struct vgpu_sqe e, uint64_t *res)
{
	const struct vgpu_cqe *c;

	e.cid = (uint16_t)w->tail;
	w->sq[w->tail % DEPTH] = e;
	w->h->sq_tail.v = ++w->tail;
	wr(w, VGPU_REG_DOORBELL(1), 4, w->tail);
	assert_int_equal(w->h->sq_head.v, w->tail);
	c = &w->cq[(w->tail - 1) % DEPTH];
	assert_int_equal(c->cid, (uint16_t)(w->tail - 1));
	w->h->cq_head.v = w->tail;
	if (res)
		*res = c->result;
	return VGPU_CQE_CODE(c->status);
}

static uint64_t open_session(struct world *w)
{
	uint64_t s = 0;

	assert_int_equal(
		submit(w,
		       (struct vgpu_sqe){ .opcode = VGPU_OP_SESSION_OPEN,
					  .obj = { .obj = VGPU_NO_QUEUE } },
		       &s),
		VGPU_S_OK);
	return s;
}

static uint32_t grant(struct world *w, uint64_t sess, uint64_t list,
		      uint32_t pages)
{
	return submit(
		w,
		(struct vgpu_sqe){ .opcode = VGPU_OP_REGION_GRANT,
				   .session = (uint32_t)sess,
				   .region = { .list_gpa = list,
					       .nents = pages,
					       .bytes = pages * 4096ull } },
		NULL);
}

/* Pages granted to this domain, their references in the guest's list;
 * a list the guest cannot take and the host's limit leave none behind; a
 * reset ends them all. */
static void grants_through_the_device(void **state)
{
	uint32_t refs[4];
	struct world w;
	uint64_t sess;
	uint8_t *ram;

	up_in(&w, NULL, 0);
	ram = fake_guest_ram();
	assert_true(rd(&w, VGPU_REG_FEATURES) & VGPU_F_GRANT);
	queue_up(&w);
	sess = open_session(&w);
	memset(ram + 0x5000, 0, sizeof(refs));
	assert_int_equal(grant(&w, sess, 0x5000, 4), VGPU_S_OK);
	assert_int_equal(fake_gnt_pages(), 4);
	memcpy(refs, ram + 0x5000, sizeof(refs));
	assert_true(refs[0] && refs[1] == refs[0] + 1 &&
		    refs[3] == refs[0] + 3);
	/* the list beyond the guest's RAM (16 pages): granted, then ended */
	assert_int_equal(grant(&w, sess, 0x20000, 1), VGPU_S_BAD_GPA);
	fake_gnt_fail_share(ENOSPC); /* gntalloc's own limit */
	assert_int_equal(grant(&w, sess, 0x5000, 1), VGPU_S_LIMIT);
	assert_int_equal(fake_gnt_pages(), 4);
	/* over the per-VM quota (16 MiB by default) */
	assert_int_equal(grant(&w, sess, 0x5000, 4097), VGPU_S_LIMIT);
	wr(&w, VGPU_REG_STATUS, 4, 0);
	assert_int_equal(fake_gnt_pages(), 0);
	down(&w);
}

/* Without gntalloc the device offers no grants and refuses them. */
static void no_gntalloc_no_grants(void **state)
{
	struct world w;

	up_in(&w, NULL, ENOENT);
	assert_false(rd(&w, VGPU_REG_FEATURES) & VGPU_F_GRANT);
	queue_up(&w);
	assert_int_equal(grant(&w, open_session(&w), 0x5000, 1),
			 VGPU_S_NOT_SUPPORTED);
	down(&w);
}

/* A daemon that dies leaves no grant: the kernel closes its gntalloc fd
 * (the dead process's memory is left as it was); one that exits ends each
 * region's grants itself before it closes the fd. */
static void grants_end_with_the_daemon(void **state)
{
	static struct world dead; /* reachable, never freed: crashed */
	struct world w;

	up_in(&dead, NULL, 0);
	queue_up(&dead);
	assert_int_equal(grant(&dead, open_session(&dead), 0x5000, 3),
			 VGPU_S_OK);
	assert_int_equal(fake_gnt_pages(), 3);
	fake_process_died();
	assert_int_equal(fake_gnt_pages(), 0);
	assert_int_equal(fake_gnt_ended_at_close(), 3);

	up_in(&w, NULL, 0);
	queue_up(&w);
	assert_int_equal(grant(&w, open_session(&w), 0x5000, 2), VGPU_S_OK);
	assert_int_equal(fake_gnt_pages(), 2);
	down(&w);
	assert_int_equal(fake_gnt_ended_at_close(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doorbell_and_completions_by_event_channel),
		cmocka_unit_test(port_not_owned_keeps_mmio_and_msi),
		cmocka_unit_test(notification_flood),
		cmocka_unit_test(restart_rebinds_and_domain_death),
		cmocka_unit_test(grants_through_the_device),
		cmocka_unit_test(no_gntalloc_no_grants),
		cmocka_unit_test(grants_end_with_the_daemon),
	};

	return cmocka_run_group_tests_name("xen_evtchn", tests, NULL, NULL);
}
