// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's real Xen glue (host_xen.o) and event loop (serve.o) against
 * the fake Xen: setup order, the hvmloader + Linux trace replayed, spurious
 * events, INVALIDATE broadcasts, several vCPUs at once, shutdown by signal
 * and by domain death, and teardown order. The fake fails the test on any
 * broken Xen rule (bad state transition, a request answered twice or never).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/host_xen.h>
#include <vgpu/serve.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "fakexen/fake_xen.h"

#define DOMID 7
#define SBDF (5u << 3)
#define WAIT_MS 5000

struct world {
	struct logger lg;
	struct xen_host *x;
	struct vdev d;
	struct io_stats st;
};

static void up(struct world *w, unsigned int vcpus)
{
	struct fake_xen_cfg cfg = { .domid = DOMID,
				    .nr_vcpus = vcpus,
				    .hvm = true,
				    .name = "guest",
				    .guest_pages = 16,
				    .qemu = true };

	memset(w, 0, sizeof(*w));
	fake_xen_reset(&cfg);
	log_init(&w->lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w->x, DOMID, XEN_NO_SERVER, &w->lg), 0);
	assert_int_equal(vdev_create(&w->d, &vgpu_stub_ops, NULL, SBDF,
				     xen_host_seam(w->x), &w->lg),
			 0);
	assert_int_equal(xen_host_attach(w->x, &w->d, &w->st), 0);
	xen_host_scan(w->x);
}

static void down(struct world *w)
{
	xen_host_detach(w->x);
	vdev_destroy(&w->d);
	xen_host_close(w->x);
	assert_int_equal(fake_xen_servers(), 0);
	assert_int_equal(fake_xen_outstanding(), 0);
	if (fake_xen_violations())
		fail_msg("xen rule broken: %s", fake_xen_last_violation());
}

/* Serve every pending event, in this thread. */
static void drain(struct xen_host *x)
{
	int r;

	while ((r = xen_host_handle_events(x)) > 0)
		;
	assert_int_equal(r, 0);
}

/* One synchronous request on vCPU @v, served in this thread. */
static uint64_t xact(struct world *w, unsigned int v, struct io_req r)
{
	uint64_t data = 0;

	fake_vcpu_send(v, &r);
	drain(w->x);
	assert_true(fake_vcpu_wait(v, &data, WAIT_MS));
	return data;
}

static uint64_t cfg_rd(struct world *w, uint32_t off, uint32_t size)
{
	struct io_req r = { .addr = (uint64_t)SBDF << 32 | off,
			    .count = 1,
			    .size = size,
			    .type = IO_PCI_CONFIG,
			    .dir = IO_READ };

	return xact(w, 0, r);
}

static void cfg_wr(struct world *w, uint32_t off, uint32_t size, uint32_t v)
{
	struct io_req r = { .addr = (uint64_t)SBDF << 32 | off,
			    .data = v,
			    .count = 1,
			    .size = size,
			    .type = IO_PCI_CONFIG,
			    .dir = IO_WRITE };

	xact(w, 0, r);
}

static struct io_req mmio(uint32_t addr, int dir, uint32_t size, uint64_t v)
{
	struct io_req r = { .addr = addr,
			    .data = v,
			    .count = 1,
			    .size = size,
			    .type = IO_MMIO,
			    .dir = (uint8_t)dir };
	return r;
}

static void setup_order_matches_xen(void **state)
{
	const struct fake_dmop *ops;
	struct world w;
	size_t n;

	up(&w, 2);
	n = fake_xen_dmops(&ops);
	assert_true(n >= 4);
	assert_string_equal(ops[0].op, "create");
	assert_int_equal(ops[0].b, 0); /* HVM_IOREQSRV_BUFIOREQ_OFF */
	assert_string_equal(ops[1].op, "map_resource");
	assert_string_equal(ops[2].op, "map_pcidev");
	assert_int_equal(ops[2].a, SBDF);
	assert_string_equal(ops[3].op, "enable");
	assert_int_equal(xen_host_nr_vcpus(w.x), 2);
	assert_int_equal(xen_host_ioservid(w.x), 1); /* QEMU's is 0 */
	/* binding left a pending event on each port: served as spurious */
	drain(w.x);
	assert_int_equal(fake_xen_notifies(), 0);
	down(&w);
}

static void teardown_order_mirrors_setup(void **state)
{
	const struct fake_dmop *ops;
	struct world w;
	size_t n, i, first;

	up(&w, 1);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	first = fake_xen_dmops(&ops);
	down(&w);
	n = fake_xen_dmops(&ops);
	{
		static const char *const want[] = { "disable", "unmap_mmio",
						    "unmap_pcidev",
						    "unmap_resource",
						    "destroy" };

		assert_int_equal(n - first, 5);
		for (i = 0; i < 5; i++)
			assert_string_equal(ops[first + i].op, want[i]);
	}
	assert_int_equal(ops[first + 1].a, 0xf1000000);
	assert_int_equal(ops[first + 1].b, 0xf1000fff); /* inclusive end */
}

/* Expected answers to the trace's reads that a user would check. */
static void check_trace_read(uint32_t off, uint32_t size, uint64_t got,
			     uint32_t last_bar_write[7])
{
	if (off == 0 && size == 2)
		assert_int_equal(got, 0x1af4);
	else if (off == 0 && size == 4)
		assert_int_equal(got, 0x11111af4);
	else if (off == 0xa && size == 2)
		assert_int_equal(got, 0x1200);
	else if (off == 0xe)
		assert_int_equal(got, 0);
	else if (off == 0x3d)
		assert_int_equal(got, 1); /* INTA */
	else if (off == 0x2c)
		assert_int_equal(got, 0x1af4);
	else if (off == 0x2e)
		assert_int_equal(got, 0x1100);
	else if (off == 0x10 && last_bar_write[0] == 0xffffffff)
		assert_int_equal(got, 0xfffff000);
	else if (off >= 0x14 && off <= 0x24)
		assert_int_equal(got, 0);
	else if (off == 0x30)
		assert_int_equal(got, 0);
}

static void replay_hvmloader_linux_trace(void **state)
{
	char path[512], line[128], op[8];
	uint64_t maps[64][2];
	unsigned int nmaps = 0, i, k = 0, lines = 0;
	uint32_t last_bar_write[7] = { 0 };
	const struct fake_dmop *ops;
	const char *dir = getenv("VGPU_TEST_DATA");
	struct world w;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/hvmloader-linux-cfg.trace",
		 dir ? dir : "tests/data");
	f = fopen(path, "r");
	assert_non_null(f);
	up(&w, 1);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a = 0, b = 0, c = 0;

		if (line[0] == '#' ||
		    sscanf(line, "%7s %llx %llx %llx", op, &a, &b, &c) < 2)
			continue;
		lines++;
		if (strcmp(op, "RD") == 0) {
			check_trace_read((uint32_t)a, (uint32_t)b,
					 cfg_rd(&w, (uint32_t)a, (uint32_t)b),
					 last_bar_write);
		} else if (strcmp(op, "WR") == 0) {
			cfg_wr(&w, (uint32_t)a, (uint32_t)b, (uint32_t)c);
			if (a >= 0x10 && a <= 0x30 && (a & 3) == 0)
				last_bar_write[(a - 0x10) / 4 > 6 ?
						       6 :
						       (a - 0x10) / 4] =
					(uint32_t)c;
		} else if (strcmp(op, "MAP") == 0 && nmaps < 64) {
			maps[nmaps][0] = a;
			maps[nmaps++][1] = a + b - 1;
		} else if (strcmp(op, "UNMAP") == 0 && nmaps < 64) {
			maps[nmaps][0] = a;
			maps[nmaps++][1] = 0; /* unmap marker */
		}
	}
	fclose(f);
	assert_true(lines > 100);
	/* exactly the trace's map/unmap sequence, inclusive ends */
	n = fake_xen_dmops(&ops);
	for (i = 0; i < n; i++) {
		if (strcmp(ops[i].op, "map_mmio") &&
		    strcmp(ops[i].op, "unmap_mmio"))
			continue;
		assert_true(k < nmaps);
		if (maps[k][1]) {
			assert_string_equal(ops[i].op, "map_mmio");
			assert_int_equal(ops[i].b, maps[k][1]);
		} else {
			assert_string_equal(ops[i].op, "unmap_mmio");
			assert_int_equal(ops[i].b, maps[k][0] + 0xfff);
		}
		assert_int_equal(ops[i].a, maps[k][0]);
		k++;
	}
	assert_int_equal(k, nmaps);
	assert_int_equal(nmaps, 15);
	/* final state: BAR at 0xf1000000, MEM|MASTER, routed */
	assert_int_equal(cfg_rd(&w, PCI_COMMAND, 2), 0x6);
	assert_int_equal(cfg_rd(&w, PCI_BASE_ADDRESS_0, 4), 0xf1000000);
	assert_true(w.d.st->bar0_mapped);
	assert_int_equal(xact(&w, 0, mmio(0xf1000000, IO_READ, 4, 0)),
			 VGPU_MAGIC);
	assert_int_equal(w.st.rejected, 0);
	down(&w);
}

static void spurious_events_and_invalidate(void **state)
{
	struct io_req inv = {
		.type = IO_INVALIDATE, .count = 1, .size = 0, .dir = IO_WRITE
	};
	struct world w;
	uint64_t notifies;

	up(&w, 2);
	drain(w.x);
	notifies = fake_xen_notifies();
	fake_vcpu_kick(0);
	fake_vcpu_kick(1);
	drain(w.x);
	assert_int_equal(fake_xen_notifies(), notifies);
	/* INVALIDATE is broadcast to every server on every vCPU */
	xact(&w, 0, inv);
	xact(&w, 1, inv);
	assert_int_equal(w.st.invalidate, 2);
	down(&w);
}

static void two_vcpus_at_once(void **state)
{
	struct world w;
	uint64_t d0 = 0, d1 = 0;
	struct io_req r0, r1;

	up(&w, 2);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	r0 = mmio(0xf1000000 + VGPU_REG_MAGIC, IO_READ, 4, 0);
	r1 = mmio(0xf1000000 + VGPU_REG_VERSION, IO_READ, 4, 0);
	fake_vcpu_send(0, &r0);
	fake_vcpu_send(1, &r1);
	drain(w.x);
	assert_true(fake_vcpu_wait(0, &d0, WAIT_MS));
	assert_true(fake_vcpu_wait(1, &d1, WAIT_MS));
	assert_int_equal(d0, VGPU_MAGIC);
	assert_int_equal(d1, VGPU_ABI_VERSION);
	down(&w);
}

static void request_waiting_before_bind(void **state)
{
	struct fake_xen_cfg cfg = {
		.domid = DOMID, .nr_vcpus = 1, .hvm = true, .guest_pages = 1
	};
	struct io_req r = { .addr = (uint64_t)SBDF << 32,
			    .count = 1,
			    .size = 4,
			    .type = IO_PCI_CONFIG,
			    .dir = IO_READ };
	struct world w;
	uint64_t data = 0;

	memset(&w, 0, sizeof(w));
	fake_xen_reset(&cfg);
	log_init(&w.lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w.x, DOMID, XEN_NO_SERVER, &w.lg), 0);
	assert_int_equal(vdev_create(&w.d, &vgpu_stub_ops, NULL, SBDF,
				     xen_host_seam(w.x), &w.lg),
			 0);
	fake_vcpu_preload(0, &r);
	/* every slot is looked at once after binding */
	assert_int_equal(xen_host_attach(w.x, &w.d, &w.st), 0);
	xen_host_scan(w.x);
	assert_true(fake_vcpu_wait(0, &data, WAIT_MS));
	assert_int_equal(data, 0x11111af4);
	down(&w);
}

static void malformed_requests_complete_once(void **state)
{
	struct io_req bad[] = {
		{ .type = 0x55, .dir = IO_READ, .size = 4, .count = 1 },
		{ .type = IO_MMIO,
		  .dir = IO_READ,
		  .size = 0,
		  .count = 1,
		  .addr = 0xf1000000 },
		{ .type = IO_MMIO,
		  .dir = IO_WRITE,
		  .size = 4,
		  .count = 0xffffffff,
		  .addr = 0xf1000000 },
		{ .type = IO_MMIO,
		  .dir = IO_READ,
		  .size = 4,
		  .count = 2,
		  .addr = 0xf1000ffc,
		  .data_is_ptr = 1,
		  .data = ~0ull },
		{ .type = IO_PCI_CONFIG,
		  .dir = IO_READ,
		  .size = 4,
		  .count = 1,
		  .addr = 0xffffffffffffffffull },
		{ .type = IO_PIO,
		  .dir = IO_READ,
		  .size = 4,
		  .count = 1,
		  .addr = 0xcfc },
	};
	struct world w;
	unsigned int i;

	up(&w, 1);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		xact(&w, 0, bad[i]);
	assert_int_equal(fake_xen_notifies(), 2 + i);
	assert_true(w.st.rejected >= 5);
	/* the device still works */
	assert_int_equal(xact(&w, 0, mmio(0xf1000000, IO_READ, 4, 0)),
			 VGPU_MAGIC);
	down(&w);
}

static void rep_movs_through_foreign_mapping(void **state)
{
	struct io_req w4 = { .type = IO_MMIO,
			     .dir = IO_WRITE,
			     .size = 4,
			     .count = 4,
			     .addr = 0xf1000800,
			     .data_is_ptr = 1,
			     .data = 0x1ff8 };
	uint32_t src[4] = { 10, 20, 30, 40 };
	struct world w;

	up(&w, 1);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	memcpy(fake_guest_ram() + 0x1ff8, src, sizeof(src));
	xact(&w, 0, w4);
	assert_int_equal(xact(&w, 0, mmio(0xf100080c, IO_READ, 4, 0)), 40);
	assert_int_equal(fake_xen_count("map_guest"), 1);
	down(&w);
}

struct loop_arg {
	struct world *w;
	int sigfd;
	enum serve_end end;
};

static void *loop_thread(void *p)
{
	struct loop_arg *a = p;

	a->end = serve_run(a->w->x, &a->w->d, a->sigfd, 10, &a->w->st,
			   &a->w->lg);
	return NULL;
}

static int block_sigterm(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void serve_loop_two_vcpus_then_sigterm(void **state)
{
	struct loop_arg a;
	struct world w;
	pthread_t t;
	unsigned int i;

	up(&w, 2);
	a.w = &w;
	a.sigfd = block_sigterm();
	assert_true(a.sigfd >= 0);
	assert_int_equal(pthread_create(&t, NULL, loop_thread, &a), 0);
	/* from here the loop thread serves; this thread is two vCPUs */
	{
		struct io_req bar = { .addr = (uint64_t)SBDF << 32 | 0x10,
				      .data = 0xf1000000,
				      .count = 1,
				      .size = 4,
				      .type = IO_PCI_CONFIG };
		struct io_req cmd = bar;

		cmd.addr = (uint64_t)SBDF << 32 | PCI_COMMAND;
		cmd.data = PCI_COMMAND_MEMORY;
		cmd.size = 2;
		fake_vcpu_send(0, &bar);
		assert_true(fake_vcpu_wait(0, NULL, WAIT_MS));
		fake_vcpu_send(1, &cmd);
		assert_true(fake_vcpu_wait(1, NULL, WAIT_MS));
	}
	for (i = 0; i < 200; i++) {
		struct io_req w0 = mmio(0xf1000800, IO_WRITE, 4, i);
		struct io_req w1 = mmio(0xf1000804, IO_WRITE, 4, ~i);
		struct io_req r0 = mmio(0xf1000800, IO_READ, 4, 0);
		struct io_req r1 = mmio(0xf1000804, IO_READ, 4, 0);
		uint64_t d0, d1;

		fake_vcpu_send(0, &w0);
		fake_vcpu_send(1, &w1);
		assert_true(fake_vcpu_wait(0, NULL, WAIT_MS));
		assert_true(fake_vcpu_wait(1, NULL, WAIT_MS));
		fake_vcpu_send(0, &r0);
		fake_vcpu_send(1, &r1);
		assert_true(fake_vcpu_wait(0, &d0, WAIT_MS));
		assert_true(fake_vcpu_wait(1, &d1, WAIT_MS));
		assert_int_equal(d0, i);
		assert_int_equal(d1, (uint32_t)~i);
	}
	kill(getpid(), SIGTERM);
	pthread_join(t, NULL);
	assert_int_equal(a.end, SERVE_SIGNAL);
	close(a.sigfd);
	down(&w);
}

static void serve_loop_ends_when_domain_dies(void **state)
{
	struct loop_arg a;
	struct world w;
	pthread_t t;

	up(&w, 1);
	a.w = &w;
	a.sigfd = block_sigterm();
	assert_int_equal(pthread_create(&t, NULL, loop_thread, &a), 0);
	fake_domain_destroy();
	pthread_join(t, NULL);
	assert_int_equal(a.end, SERVE_DOMAIN_GONE);
	close(a.sigfd);
	/* teardown against a dead domain: calls fail with ESRCH, quietly */
	xen_host_detach(w.x);
	vdev_destroy(&w.d);
	xen_host_close(w.x);
	assert_int_equal(fake_xen_violations(), 0);
}

static void failed_claim_leaves_nothing(void **state)
{
	struct fake_xen_cfg cfg = { .domid = DOMID,
				    .nr_vcpus = 1,
				    .hvm = true };
	struct world w;

	memset(&w, 0, sizeof(w));
	fake_xen_reset(&cfg);
	log_init(&w.lg, LOG_SINK_STDERR, LOG_CRIT);
	assert_int_equal(xen_host_open(&w.x, DOMID, XEN_NO_SERVER, &w.lg), 0);
	vdev_create(&w.d, &vgpu_stub_ops, NULL, SBDF, xen_host_seam(w.x),
		    &w.lg);
	fake_xen_fail_next("map_pcidev", EEXIST);
	assert_int_equal(xen_host_attach(w.x, &w.d, &w.st), -EEXIST);
	vdev_destroy(&w.d);
	xen_host_close(w.x);
	assert_int_equal(fake_xen_servers(), 0);
	assert_int_equal(fake_xen_count("unmap_pcidev"), 0);
	assert_int_equal(fake_xen_count("destroy"), 1);

	fake_xen_reset(&cfg);
	fake_xen_fail_next("create", ENOSPC);
	assert_int_equal(xen_host_open(&w.x, DOMID, XEN_NO_SERVER, &w.lg),
			 -ENOSPC);
	assert_null(w.x);
	assert_int_equal(fake_xen_count("destroy"), 0);
	assert_int_equal(fake_xen_violations(), 0);
}

/* The driver's side of a queue in fake guest RAM, through BAR0. */
static void ring_through_bar0_and_doorbell(void **state)
{
	const uint32_t bar = 0xf1000000;
	struct vgpu_sqe *sq;
	struct vgpu_qhdr *h;
	struct vgpu_cqe *cq;
	struct world w;
	uint8_t *ram;
	unsigned int i;

	up(&w, 1);
	ram = fake_guest_ram();
	h = (struct vgpu_qhdr *)(ram + 0x1000);
	sq = (struct vgpu_sqe *)(ram + 0x2000);
	cq = (struct vgpu_cqe *)(ram + 0x3000);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, bar);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(
		xact(&w, 0, mmio(bar + VGPU_REG_FEATURES, IO_READ, 4, 0)),
		VGPU_F_QUEUES | VGPU_F_MSI | VGPU_F_SESSIONS | VGPU_F_EVTCHN |
			VGPU_F_INFLIGHT | VGPU_F_GRANT);
	xact(&w, 0, mmio(bar + VGPU_REG_Q_SELECT, IO_WRITE, 4, 1));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_DEPTH, IO_WRITE, 4, 16));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_HDR_GPA, IO_WRITE, 8, 0x1000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_SQ_GPA, IO_WRITE, 8, 0x2000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_CQ_GPA, IO_WRITE, 8, 0x3000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_ENABLE, IO_WRITE, 4, 1));
	assert_int_equal(
		xact(&w, 0, mmio(bar + VGPU_REG_Q_ENABLE, IO_READ, 4, 0)), 1);
	assert_int_equal(h->dev_flags.v, VGPU_DEV_NEED_DOORBELL);
	/* 40 NOPs, one doorbell per 10 */
	h->drv_flags.v = VGPU_DRV_NEED_IRQ;
	for (i = 0; i < 40; i++) {
		sq[i % 16] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP,
						.cid = (uint16_t)i };
		h->sq_tail.v = i + 1;
		if (i % 10 == 9 || i % 16 == 15) {
			xact(&w, 0,
			     mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4,
				  i + 1));
			/* the commands ran once the doorbell's request was
			 * answered; the driver reaps */
			h->cq_head.v = i + 1;
		}
	}
	assert_int_equal(h->sq_head.v, 40);
	assert_int_equal(cq[39 % 16].cid, 39);
	assert_int_equal(VGPU_CQE_CODE(cq[39 % 16].status), VGPU_S_OK);
	assert_int_equal(cq[39 % 16].status & VGPU_CQE_PHASE, 1); /* 3rd pass */
	assert_int_equal(xact(&w, 0,
			      mmio(bar + VGPU_REG_INTR_STATUS, IO_READ, 4, 0)),
			 1u << 1);
	/* INVALIDATE drops the mappings; the next doorbell maps again */
	xact(&w, 0, (struct io_req){ .type = IO_INVALIDATE, .count = 1 });
	sq[40 % 16] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP, .cid = 40 };
	h->sq_tail.v = 41;
	xact(&w, 0, mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4, 41));
	assert_int_equal(h->sq_head.v, 41);
	assert_int_equal(cq[40 % 16].cid, 40);
	/* a tail beyond the ring makes the queue FATAL, visibly */
	xact(&w, 0, mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4, 1000));
	assert_int_equal(h->status.v, VGPU_QERR_TAIL);
	assert_int_equal(xact(&w, 0,
			      mmio(bar + VGPU_REG_Q_ERROR, IO_READ, 4, 0)),
			 VGPU_QERR_TAIL);
	down(&w);
}

/* Serve the device's own work (backend completions) until the CQE at
 * @idx of a depth-16 CQ at @cq has @phase. */
static bool settle(struct world *w, struct vgpu_cqe *cq, unsigned int idx,
		   uint16_t phase)
{
	int i;

	for (i = 0; i < 500; i++) {
		struct pollfd p = { .fd = vdev_poll_fd(&w->d),
				    .events = POLLIN };

		vdev_poll(&w->d);
		if ((__atomic_load_n(&cq[idx % 16].status, __ATOMIC_ACQUIRE) &
		     VGPU_CQE_PHASE) == phase)
			return true;
		poll(&p, 1, 10);
	}
	return false;
}

/* A region of scattered guest frames, mapped by host_xen.c's
 * map_guest_frames as one range; copies through it land on the right
 * pages and are reported dirty. */
static void region_through_foreign_mappings(void **state)
{
	const uint32_t bar = 0xf1000000;
	struct vgpu_extent *x;
	struct vgpu_sqe *sq;
	struct vgpu_qhdr *h;
	struct vgpu_cqe *cq;
	struct world w;
	uint64_t region, dptr;
	unsigned int i, dirty;
	uint8_t *ram;

	up(&w, 1);
	ram = fake_guest_ram();
	h = (struct vgpu_qhdr *)(ram + 0x1000);
	sq = (struct vgpu_sqe *)(ram + 0x2000);
	cq = (struct vgpu_cqe *)(ram + 0x3000);
	x = (struct vgpu_extent *)(ram + 0x4000);
	cfg_wr(&w, PCI_BASE_ADDRESS_0, 4, bar);
	cfg_wr(&w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	xact(&w, 0, mmio(bar + VGPU_REG_Q_SELECT, IO_WRITE, 4, 1));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_DEPTH, IO_WRITE, 4, 16));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_HDR_GPA, IO_WRITE, 8, 0x1000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_SQ_GPA, IO_WRITE, 8, 0x2000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_CQ_GPA, IO_WRITE, 8, 0x3000));
	xact(&w, 0, mmio(bar + VGPU_REG_Q_ENABLE, IO_WRITE, 4, 1));
	/* the second pair of pages first */
	x[0] = (struct vgpu_extent){ 0x9000, 0x2000 };
	x[1] = (struct vgpu_extent){ 0x6000, 0x2000 };
	for (i = 0; i < 0x2000; i++) {
		ram[0x9000 + i] = (uint8_t)i;
		ram[0x6000 + i] = (uint8_t)(i * 3);
	}
	sq[0] = (struct vgpu_sqe){
		.opcode = VGPU_OP_REGION_ADD,
		.region = { .list_gpa = 0x4000, .nents = 2, .bytes = 0x4000 }
	};
	sq[1] = (struct vgpu_sqe){ .opcode = VGPU_OP_MEM_ALLOC,
				   .cid = 1,
				   .arg = { 0x4000 } };
	h->sq_tail.v = 2;
	xact(&w, 0, mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4, 2));
	assert_true(settle(&w, cq, 1, 1));
	assert_int_equal(VGPU_CQE_CODE(cq[0].status), VGPU_S_OK);
	assert_int_equal(VGPU_CQE_CODE(cq[1].status), VGPU_S_OK);
	region = cq[0].result;
	dptr = cq[1].result;
	/* all of it in, then two pages back across the seam of the two
	 * extents: region [0x1000, 0x3000) is guest 0xa000 and 0x6000 */
	sq[2] = (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_H2D,
				   .cid = 2,
				   .copy = { .dptr = dptr,
					     .len = 0x4000,
					     .region = (uint32_t)region } };
	sq[3] = (struct vgpu_sqe){ .opcode = VGPU_OP_COPY_D2H,
				   .cid = 3,
				   .copy = { .dptr = dptr,
					     .offset = 0x1000,
					     .len = 0x2000,
					     .region = (uint32_t)region } };
	h->sq_tail.v = 4;
	dirty = fake_xen_count("modified_memory");
	xact(&w, 0, mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4, 4));
	assert_true(settle(&w, cq, 3, 1));
	assert_int_equal(VGPU_CQE_CODE(cq[2].status), VGPU_S_OK);
	assert_int_equal(VGPU_CQE_CODE(cq[3].status), VGPU_S_OK);
	for (i = 0; i < 0x1000; i++) {
		assert_int_equal(ram[0xa000 + i], (uint8_t)i); /* region 0 */
		assert_int_equal(ram[0x6000 + i], (uint8_t)(0x1000 + i));
	}
	assert_true(fake_xen_count("modified_memory") > dirty);
	sq[4] = (struct vgpu_sqe){ .opcode = VGPU_OP_REGION_DEL,
				   .cid = 4,
				   .obj = { .obj = (uint32_t)region } };
	h->sq_tail.v = 5;
	xact(&w, 0, mmio(bar + VGPU_REG_DOORBELL(1), IO_WRITE, 4, 5));
	assert_true(settle(&w, cq, 4, 1));
	assert_int_equal(VGPU_CQE_CODE(cq[4].status), VGPU_S_OK);
	down(&w);
}

/* The crashed process's memory (its Xen handles, and its copy of the
 * device state with the pointers in it): kept reachable (volatile: the
 * stores must not be optimised away), so LeakSanitizer does not report
 * it. */
static struct xen_host *volatile crashed;
static void *volatile crashed_state;
static struct world *volatile crashed_worlds[4];

static void restart_after_crash_reattaches(void **state)
{
	size_t size = vdev_state_size(&vgpu_stub_ops);
	struct vdev_state *st = test_calloc(1, size);
	struct io_req rd = mmio(0xf1000000 + VGPU_REG_SCRATCH, IO_READ, 4, 0);
	struct world w1, w2;
	uint64_t data = 0;

	up(&w1, 1);
	/* the first emulator keeps its state in @st, as in a file mapping */
	vdev_destroy(&w1.d);
	vdev_create_in(&w1.d, &vgpu_stub_ops, NULL, SBDF, xen_host_seam(w1.x),
		       &w1.lg, st, false);
	st->ioservid = xen_host_ioservid(w1.x);
	cfg_wr(&w1, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	xact(&w1, 0, mmio(0xf1000000 + VGPU_REG_SCRATCH, IO_WRITE, 4, 0xabcd));
	/* a request arrives and the emulator is killed before answering */
	fake_vcpu_send(0, &rd);
	fake_process_died();
	crashed = w1.x;
	crashed_state = malloc(size);
	memcpy(crashed_state, st, size);

	memset(&w2, 0, sizeof(w2));
	log_init(&w2.lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w2.x, DOMID, st->ioservid, &w2.lg), 0);
	assert_true(xen_host_reattached(w2.x));
	assert_int_equal(vdev_create_in(&w2.d, &vgpu_stub_ops, NULL, SBDF,
					xen_host_seam(w2.x), &w2.lg, st, true),
			 1);
	assert_int_equal(xen_host_attach(w2.x, &w2.d, &w2.st), 0);
	xen_host_scan(w2.x);
	/* the waiting vCPU gets its answer from the restored registers */
	assert_true(fake_vcpu_wait(0, &data, WAIT_MS));
	assert_int_equal(data, 0xabcd);
	assert_int_equal(cfg_rd(&w2, PCI_BASE_ADDRESS_0, 4), 0xf1000000);
	assert_int_equal(xact(&w2, 0, mmio(0xf1000000, IO_READ, 4, 0)),
			 VGPU_MAGIC);
	/* one server, one claim, one route: nothing was set up twice */
	assert_int_equal(fake_xen_count("create"), 1);
	assert_int_equal(fake_xen_count("map_pcidev"), 1);
	assert_int_equal(fake_xen_count("map_mmio"), 1);
	down(&w2);
	test_free(st);
}

static void stale_server_id_is_not_taken(void **state)
{
	struct world w;

	up(&w, 1);
	down(&w);
	/* the recorded server is gone (clean exit): a new one is created */
	assert_int_equal(xen_host_open(&w.x, DOMID, 1, &w.lg), 0);
	assert_false(xen_host_reattached(w.x));
	assert_int_equal(fake_xen_count("create"), 2);
	xen_host_close(w.x);
	assert_int_equal(fake_xen_violations(), 0);
}

/* A vCPU of the guest in its own thread: one request, then its answer. */
struct vcpu_arg {
	unsigned int v;
	uint64_t data;
	bool answered;
};

static void *vcpu_waits(void *p)
{
	struct vcpu_arg *a = p;

	a->answered = fake_vcpu_wait(a->v, &a->data, WAIT_MS);
	return NULL;
}

/*
 * The first emulator serves BAR0 at 0xf1000000; vCPU 0 reads BAR0 and the
 * emulator dies before answering, leaving no state file behind.
 */
static void die_mid_request(struct world *w)
{
	struct io_req rd = mmio(0xf1000000 + VGPU_REG_SCRATCH, IO_READ, 4, 0);
	unsigned int i;

	up(w, 2);
	cfg_wr(w, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(w, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	fake_vcpu_send(0, &rd);
	fake_process_died();
	/* its memory stays reachable (see above) */
	for (i = 0; crashed_worlds[i]; i++)
		;
	crashed_worlds[i] = malloc(sizeof(*w));
	memcpy(crashed_worlds[i], w, sizeof(*w));
}

/* What a successor did before it looked for an orphan: a new server. */
static void successor(struct world *w)
{
	memset(w, 0, sizeof(*w));
	log_init(&w->lg, LOG_SINK_STDERR, LOG_ERR);
	assert_int_equal(xen_host_open(&w->x, DOMID, XEN_NO_SERVER, &w->lg), 0);
	assert_int_equal(vdev_create(&w->d, &vgpu_stub_ops, NULL, SBDF,
				     xen_host_seam(w->x), &w->lg),
			 0);
	assert_int_equal(xen_host_attach(w->x, &w->d, &w->st), 0);
	xen_host_scan(w->x);
}

/*
 * The hang of issue 8, as Xen 4.17 makes it: the new server claims the
 * function beside the dead one and gets new requests (the highest id
 * wins), but vCPU 0 stays blocked on the dead server's request.
 */
static void new_server_beside_a_dead_one_leaves_the_vcpu_hung(void **state)
{
	struct world w1, w2;

	die_mid_request(&w1);
	successor(&w2);
	assert_int_equal(fake_xen_servers(), 2);
	assert_true(fake_xen_server_claims(1, SBDF));
	assert_true(fake_xen_server_claims(2, SBDF));
	/* vCPU 1's config read reaches the new server */
	assert_int_equal(xact(&w2, 1,
			      (struct io_req){ .addr = (uint64_t)SBDF << 32,
					       .count = 1,
					       .size = 4,
					       .type = IO_PCI_CONFIG,
					       .dir = IO_READ }),
			 0x11111af4);
	/* ... while vCPU 0 waits on the dead one for good */
	assert_false(fake_vcpu_wait(0, NULL, 200));
	assert_true(fake_vcpu_blocked(0));
	assert_int_equal(fake_xen_violations(), 0);
	xen_host_detach(w2.x);
	vdev_destroy(&w2.d);
	xen_host_close(w2.x);
}

/* The fix: the successor releases the orphan before it creates a server. */
static void restart_without_state_releases_the_dead_server(void **state)
{
	struct vcpu_arg a = { .v = 0 };
	struct world w1, w2;
	pthread_t t;

	die_mid_request(&w1);
	assert_int_equal(pthread_create(&t, NULL, vcpu_waits, &a), 0);
	log_init(&w2.lg, LOG_SINK_STDERR, LOG_CRIT);
	assert_int_equal(xen_host_release_orphan(DOMID, SBDF, &w2.lg), 1);
	pthread_join(t, NULL);
	/* the read completed, with all-ones: the device's state is gone */
	assert_true(a.answered);
	assert_int_equal(a.data, 0xffffffff);
	assert_int_equal(fake_xen_servers(), 0);
	assert_int_equal(fake_xen_count("destroy"), 1);
	/* QEMU's server was asked, answered ENOENT, and kept its claims */
	assert_true(fake_xen_server_claims(0, 2u << 3));
	successor(&w2);
	assert_int_equal(xen_host_ioservid(w2.x), 1); /* the free slot */
	cfg_wr(&w2, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	cfg_wr(&w2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(xact(&w2, 0, mmio(0xf1000000, IO_READ, 4, 0)),
			 VGPU_MAGIC);
	down(&w2);
}

static void no_orphan_and_a_live_claimant_are_left_alone(void **state)
{
	struct world w;
	struct logger lg;

	log_init(&lg, LOG_SINK_STDERR, LOG_CRIT);
	up(&w, 1);
	/* a running emulator (bound channels) holds the function */
	assert_int_equal(xen_host_release_orphan(DOMID, SBDF, &lg), -EBUSY);
	assert_true(fake_xen_server_claims(1, SBDF)); /* given back */
	assert_int_equal(cfg_rd(&w, 0, 4), 0x11111af4);
	/* another function: nobody claims it, nothing changes */
	assert_int_equal(xen_host_release_orphan(DOMID, 6u << 3, &lg), 0);
	assert_int_equal(fake_xen_count("destroy"), 0);
	assert_int_equal(fake_xen_count("disable"), 0);
	down(&w);
}

static void domain_queries(void **state)
{
	struct fake_xen_cfg cfg = {
		.domid = DOMID, .nr_vcpus = 1, .hvm = true, .name = "guest"
	};
	uint32_t id = 0;

	fake_xen_reset(&cfg);
	assert_int_equal(xen_domain_check(DOMID, NULL), 0);
	assert_int_equal(xen_domain_check(DOMID + 1, NULL), -ENOENT);
	assert_int_equal(xen_domain_check(0, NULL), -EINVAL); /* dom0 is PV */
	assert_int_equal(xen_domain_lookup("guest", &id), 0);
	assert_int_equal(id, DOMID);
	assert_int_equal(xen_domain_lookup("nobody", &id), -ENOENT);
	cfg.hvm = false;
	fake_xen_reset(&cfg);
	assert_int_equal(xen_domain_check(DOMID, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(setup_order_matches_xen),
		cmocka_unit_test(teardown_order_mirrors_setup),
		cmocka_unit_test(replay_hvmloader_linux_trace),
		cmocka_unit_test(spurious_events_and_invalidate),
		cmocka_unit_test(two_vcpus_at_once),
		cmocka_unit_test(request_waiting_before_bind),
		cmocka_unit_test(malformed_requests_complete_once),
		cmocka_unit_test(rep_movs_through_foreign_mapping),
		cmocka_unit_test(serve_loop_two_vcpus_then_sigterm),
		cmocka_unit_test(serve_loop_ends_when_domain_dies),
		cmocka_unit_test(failed_claim_leaves_nothing),
		cmocka_unit_test(ring_through_bar0_and_doorbell),
		cmocka_unit_test(restart_after_crash_reattaches),
		cmocka_unit_test(stale_server_id_is_not_taken),
		cmocka_unit_test(
			new_server_beside_a_dead_one_leaves_the_vcpu_hung),
		cmocka_unit_test(
			restart_without_state_releases_the_dead_server),
		cmocka_unit_test(no_orphan_and_a_live_claimant_are_left_alone),
		cmocka_unit_test(domain_queries),
		cmocka_unit_test(region_through_foreign_mappings),
	};

	return cmocka_run_group_tests_name("fakexen", tests, NULL, NULL);
}
