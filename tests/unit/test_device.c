// SPDX-License-Identifier: GPL-2.0-only
/* vdev: BAR0 routing reconciled from config space; the vgpu-stub registers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

struct fx {
	struct recorder r;
	struct vdev d;
	struct logger lg;
};

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	rec_make_stub(&f->r, &f->d, &f->lg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vdev_destroy(&f->d);
	test_free(f);
	return 0;
}

static void assert_call(struct recorder *r, unsigned int i, bool map,
			uint64_t gpa)
{
	assert_true(i < r->n);
	assert_int_equal(r->calls[i].map, map);
	assert_int_equal(r->calls[i].gpa, gpa);
	assert_int_equal(r->calls[i].len, VGPU_BAR0_SIZE);
}

static void routed_only_with_memory_decode(void **state)
{
	struct fx *f = *state;

	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	assert_int_equal(f->r.n, 0);
	assert_false(f->d.st->bar0_mapped);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->r.n, 1);
	assert_call(&f->r, 0, true, 0xf1000000);
	/* an unrelated COMMAND write does not re-route */
	vdev_cfg_write(&f->d, PCI_COMMAND, 2,
		       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(f->r.n, 1);
	/* a byte write clearing MEM unroutes */
	vdev_cfg_write(&f->d, PCI_COMMAND, 1, PCI_COMMAND_MASTER);
	assert_int_equal(f->r.n, 2);
	assert_call(&f->r, 1, false, 0xf1000000);
}

static void sizing_pattern_and_zero_not_routed(void **state)
{
	struct fx *f = *state;

	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_false(f->d.st->bar0_mapped);
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0);
	assert_false(f->d.st->bar0_mapped);
	assert_int_equal(f->r.n, 0);
}

static void moving_a_routed_bar_unroutes_first(void **state)
{
	struct fx *f = *state;

	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xe0001000);
	assert_int_equal(f->r.n, 3);
	assert_call(&f->r, 1, false, 0xf1000000);
	assert_call(&f->r, 2, true, 0xe0001000);
	/* sizing while decode is on: unrouted, then back */
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_call(&f->r, 3, false, 0xe0001000);
	assert_false(f->d.st->bar0_mapped);
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xe0001000);
	assert_call(&f->r, 4, true, 0xe0001000);
	assert_true(f->d.st->bar0_mapped);
}

static void failed_route_keeps_bar_value(void **state)
{
	struct fx *f = *state;

	f->r.fail_map = -ENOSPC; /* e.g. Xen's range limit */
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_false(f->d.st->bar0_mapped);
	assert_int_equal(f->d.map_failures, 1);
	assert_int_equal(vdev_cfg_read(&f->d, PCI_BASE_ADDRESS_0, 4),
			 0xf1000000);
	/* the next relevant write retries */
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(f->d.st->bar0_mapped);
	assert_int_equal(f->r.n, 2);
}

static void stale_range_is_taken_over(void **state)
{
	struct fx *f = *state;

	/* Xen still holds the range for our server (a crashed predecessor
	 * mapped it but never recorded it): unroute, route again. */
	f->r.fail_map = -EEXIST;
	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->r.n, 3);
	assert_call(&f->r, 1, false, 0xf1000000);
	assert_call(&f->r, 2, true, 0xf1000000);
	assert_true(f->d.st->bar0_mapped);
}

/* What a dead emulator leaves in its memory: kept reachable for
 * LeakSanitizer (volatile: the stores must stay). */
static void *volatile dead_state[2];

static void emulator_dies(struct vdev_state *st, size_t size, unsigned int i)
{
	dead_state[i] = malloc(size);
	memcpy(dead_state[i], st, size);
}

static void state_in_caller_memory_resumes(void **state)
{
	struct fx *f = *state;
	size_t size = vdev_state_size(&vgpu_stub_ops);
	struct vdev_state *st = test_calloc(1, size);
	struct vdev d2;

	assert_int_equal(vdev_create_in(&d2, &vgpu_stub_ops, NULL, 5u << 3,
					&f->r.host, &f->lg, st, true),
			 0);
	vdev_cfg_write(&d2, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	vdev_cfg_write(&d2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	vdev_bar_write(&d2, VGPU_REG_SCRATCH, 4, 0xfeedf00d);
	/* the emulator dies; a new one finds everything in place */
	emulator_dies(st, size, 0);
	assert_int_equal(vdev_create_in(&d2, &vgpu_stub_ops, NULL, 5u << 3,
					&f->r.host, &f->lg, st, true),
			 1);
	assert_true(st->bar0_mapped);
	assert_int_equal(vdev_cfg_read(&d2, PCI_BASE_ADDRESS_0, 4), 0xf1000000);
	assert_int_equal(vdev_bar_read(&d2, VGPU_REG_SCRATCH, 4), 0xfeedf00d);
	assert_int_equal(f->r.n, 1); /* routed once, not again */
	/* another function's state is not taken */
	emulator_dies(st, size, 1);
	assert_int_equal(vdev_create_in(&d2, &vgpu_stub_ops, NULL, 6u << 3,
					&f->r.host, &f->lg, st, true),
			 0);
	assert_false(st->bar0_mapped);
	assert_int_equal(vdev_bar_read(&d2, VGPU_REG_SCRATCH, 4), 0);
	vdev_destroy(&d2);
	test_free(st);
}

static void destroy_unroutes(void **state)
{
	struct fx *f = *state;

	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	vdev_destroy(&f->d);
	assert_call(&f->r, 1, false, 0xf1000000);
	rec_make_stub(&f->r, &f->d, &f->lg); /* for teardown() */
}

static uint32_t rd(struct fx *f, uint32_t off)
{
	return (uint32_t)vdev_bar_read(&f->d, off, 4);
}

static void wr(struct fx *f, uint32_t off, uint32_t v)
{
	vdev_bar_write(&f->d, off, 4, v);
}

static void identity_registers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VGPU_REG_MAGIC), VGPU_MAGIC);
	assert_int_equal(rd(f, VGPU_REG_VERSION), 0x00010005);
	/* a host without event channels (loopback, this recorder): no
	 * VGPU_F_EVTCHN, and a port named anyway is not taken */
	assert_int_equal(rd(f, VGPU_REG_FEATURES), VGPU_F_QUEUES | VGPU_F_MSI |
							   VGPU_F_SESSIONS |
							   VGPU_F_INFLIGHT);
	/* an idle device has nothing in flight */
	assert_int_equal(rd(f, VGPU_REG_INFLIGHT), 0);
	wr(f, VGPU_REG_EVTCHN, 5);
	assert_int_equal(rd(f, VGPU_REG_EVTCHN), 0);
	wr(f, VGPU_REG_MAGIC, 0);
	wr(f, VGPU_REG_VERSION, 0);
	wr(f, VGPU_REG_COMPUTE_OUT, 7);
	assert_int_equal(rd(f, VGPU_REG_MAGIC), VGPU_MAGIC);
	assert_int_equal(rd(f, VGPU_REG_VERSION), VGPU_ABI_VERSION);
	assert_int_equal(rd(f, VGPU_REG_COMPUTE_OUT), 0);
	/* "VGPU" byte by byte, as it lies in memory */
	assert_int_equal(vdev_bar_read(&f->d, 0, 1), 'V');
	assert_int_equal(vdev_bar_read(&f->d, 3, 1), 'U');
	/* an 8-byte read covers MAGIC then VERSION */
	assert_int_equal(vdev_bar_read(&f->d, 0, 8),
			 (uint64_t)VGPU_ABI_VERSION << 32 | VGPU_MAGIC);
}

static void scratch_and_sub_dword_access(void **state)
{
	struct fx *f = *state;

	wr(f, VGPU_REG_SCRATCH, 0xdeadbeef);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH), 0xdeadbeef);
	vdev_bar_write(&f->d, VGPU_REG_SCRATCH + 1, 1, 0x11);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH), 0xdead11ef);
	vdev_bar_write(&f->d, VGPU_REG_SCRATCH + 2, 2, 0x2233);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH), 0x223311ef);
	assert_int_equal(vdev_bar_read(&f->d, VGPU_REG_SCRATCH + 1, 2), 0x3311);
	/* an unaligned dword across SCRATCH and the next (unimplemented)
	 * register reads zeroes there and drops those bytes on write */
	assert_int_equal(vdev_bar_read(&f->d, VGPU_REG_SCRATCH + 2, 4), 0x2233);
	vdev_bar_write(&f->d, VGPU_REG_SCRATCH + 2, 4, 0xaabbccdd);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH), 0xccdd11ef);
	/* 8-byte write into the scratch RAM: low dword first */
	vdev_bar_write(&f->d, VGPU_REG_SCRATCH_RAM + 8, 8,
		       0x0102030405060708ull);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH_RAM + 8), 0x05060708);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH_RAM + 12), 0x01020304);
}

static void compute_is_factorial(void **state)
{
	struct fx *f = *state;
	static const struct {
		uint32_t n, r;
	} cases[] = { { 0, 1 },		  { 1, 1 },
		      { 5, 120 },	  { 12, 479001600 },
		      { 13, 1932053504 }, { 33, 2147483648u },
		      { 34, 0 },	  { 0xffffffff, 0 } };
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(f, VGPU_REG_COMPUTE_IN, cases[i].n);
		assert_int_equal(rd(f, VGPU_REG_COMPUTE_IN), cases[i].n);
		assert_int_equal(rd(f, VGPU_REG_COMPUTE_OUT), cases[i].r);
	}
	/* a byte write recomputes from the merged value */
	wr(f, VGPU_REG_COMPUTE_IN, 0);
	vdev_bar_write(&f->d, VGPU_REG_COMPUTE_IN, 1, 6);
	assert_int_equal(rd(f, VGPU_REG_COMPUTE_OUT), 720);
}

static void status_zero_resets(void **state)
{
	struct fx *f = *state;

	wr(f, VGPU_REG_STATUS, VGPU_STATUS_ACKNOWLEDGE | 0xf0);
	assert_int_equal(rd(f, VGPU_REG_STATUS), VGPU_STATUS_ACKNOWLEDGE);
	wr(f, VGPU_REG_SCRATCH, 42);
	wr(f, VGPU_REG_SCRATCH_RAM, 43);
	wr(f, VGPU_REG_COMPUTE_IN, 5);
	assert_int_equal(rd(f, VGPU_REG_RESET_COUNT), 0);
	wr(f, VGPU_REG_STATUS, 0);
	assert_int_equal(rd(f, VGPU_REG_RESET_COUNT), 1);
	assert_int_equal(rd(f, VGPU_REG_STATUS), 0);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH), 0);
	assert_int_equal(rd(f, VGPU_REG_SCRATCH_RAM), 0);
	assert_int_equal(rd(f, VGPU_REG_COMPUTE_OUT), 0);
	wr(f, VGPU_REG_RESET_COUNT, 9); /* read-only */
	assert_int_equal(rd(f, VGPU_REG_RESET_COUNT), 1);
}

/* A queue in the recorder's guest RAM: header 0, SQ 0x1000, CQ 0x2000. */
static void enable_queue(struct fx *f)
{
	wr(f, VGPU_REG_Q_SELECT, 1);
	wr(f, VGPU_REG_Q_DEPTH, 8);
	wr(f, VGPU_REG_Q_HDR_GPA, 0);
	wr(f, VGPU_REG_Q_SQ_GPA, 0x1000);
	wr(f, VGPU_REG_Q_CQ_GPA, 0x2000);
	wr(f, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(rd(f, VGPU_REG_Q_ENABLE), 1);
}

/* One NOP by doorbell, run as after its request; @irq: ask for one. */
static void nop(struct fx *f, uint32_t n, bool irq)
{
	struct vgpu_qhdr *h = (struct vgpu_qhdr *)f->r.ram;
	struct vgpu_sqe *sq = (struct vgpu_sqe *)(f->r.ram + 0x1000);

	sq[n % 8] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	h->drv_flags.v = irq ? VGPU_DRV_NEED_IRQ : 0;
	h->sq_tail.v = n + 1;
	wr(f, VGPU_REG_DOORBELL(1), n + 1);
	vdev_run_deferred(&f->d);
	h->cq_head.v = n + 1;
}

static void interrupts_intx_and_msi(void **state)
{
	struct fx *f = *state;
	struct vdev *d = &f->d;

	enable_queue(f);
	/* INTx: INTA follows INTR_STATUS, reading it drops the line */
	nop(f, 0, true);
	assert_int_equal(f->r.intx, 1);
	assert_true(vdev_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(rd(f, VGPU_REG_INTR_STATUS), 1u << 1);
	assert_int_equal(f->r.intx, 0);
	assert_false(vdev_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* no interrupt asked, none raised */
	nop(f, 1, false);
	assert_int_equal(f->r.intx, 0);
	/* INTX_DISABLE holds the line down; STATUS still tells */
	vdev_cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	nop(f, 2, true);
	assert_int_equal(f->r.intx, 0);
	assert_true(vdev_cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	vdev_cfg_write(d, PCI_COMMAND, 2, 0);
	assert_int_equal(f->r.intx, 1);
	rd(f, VGPU_REG_INTR_STATUS);
	/* MSI: the message the guest programmed, no INTx */
	vdev_cfg_write(d, 0x44, 4, 0xfee00000);
	vdev_cfg_write(d, 0x48, 4, 0);
	vdev_cfg_write(d, 0x4c, 2, 0x4041);
	vdev_cfg_write(d, 0x42, 2, PCI_MSI_FLAGS_ENABLE);
	nop(f, 3, true);
	assert_int_equal(f->r.msis, 1);
	assert_int_equal(f->r.msi_addr, 0xfee00000);
	assert_int_equal(f->r.msi_data, 0x4041);
	assert_int_equal(f->r.intx, 0);
	/* masked: pending instead; unmasking delivers it */
	vdev_cfg_write(d, 0x50, 4, 1);
	nop(f, 4, true);
	assert_int_equal(f->r.msis, 1);
	assert_int_equal(vdev_cfg_read(d, 0x54, 4), 1);
	vdev_cfg_write(d, 0x50, 4, 0);
	assert_int_equal(f->r.msis, 2);
	assert_int_equal(vdev_cfg_read(d, 0x54, 4), 0);
	/* the pending bits are the device's */
	vdev_cfg_write(d, 0x54, 4, 1);
	assert_int_equal(vdev_cfg_read(d, 0x54, 4), 0);
}

/* Offsets that name a register in ABI 1.2. */
static bool implemented(uint32_t off)
{
	return off <= VGPU_REG_COMPUTE_OUT || off == VGPU_REG_SCRATCH ||
	       (off >= VGPU_REG_MAX_QUEUES && off <= VGPU_REG_MAX_SESSIONS) ||
	       (off >= VGPU_REG_Q_SELECT && off <= VGPU_REG_Q_SESSION) ||
	       off == VGPU_REG_INTR_STATUS || off == VGPU_REG_INTR_MASK ||
	       (off >= VGPU_REG_DOORBELL(0) && off < VGPU_DOORBELLS_END) ||
	       off - VGPU_REG_SCRATCH_RAM < 4 * VGPU_SCRATCH_RAM_WORDS;
}

static void unimplemented_offsets(void **state)
{
	struct fx *f = *state;
	uint32_t off, n = 0;

	for (off = 0; off < VGPU_BAR0_SIZE; off += 4) {
		if (implemented(off))
			continue;
		wr(f, off, 0xffffffff);
		assert_int_equal(rd(f, off), 0);
		n++;
	}
	assert_true(n > 700);
	assert_int_equal(vdev_bar_read(&f->d, VGPU_BAR0_SIZE - 8, 8), 0);
}

static void queue_registers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VGPU_REG_MAX_QUEUES), 32);
	assert_int_equal(rd(f, VGPU_REG_MAX_SESSIONS), 16);
	assert_int_equal(rd(f, VGPU_REG_MAX_QDEPTH), 256);
	wr(f, VGPU_REG_Q_SELECT, 1);
	wr(f, VGPU_REG_Q_DEPTH, 8);
	wr(f, VGPU_REG_Q_SQ_GPA, 0x1000);
	wr(f, VGPU_REG_Q_SQ_GPA + 4, 0x2);
	assert_int_equal(rd(f, VGPU_REG_Q_SQ_GPA + 4), 2);
	/* beyond guest RAM: enabling fails with a reason */
	wr(f, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(rd(f, VGPU_REG_Q_ENABLE), 0);
	assert_int_equal(rd(f, VGPU_REG_Q_ERROR), VGPU_QERR_MAP);
	wr(f, VGPU_REG_Q_SQ_GPA + 4, 0);
	wr(f, VGPU_REG_Q_CQ_GPA, 0x2000);
	wr(f, VGPU_REG_Q_HDR_GPA, 0x0);
	wr(f, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(rd(f, VGPU_REG_Q_ENABLE), 1);
	assert_int_equal(f->r.guest_maps, 3);
	/* live: reprogramming is ignored */
	wr(f, VGPU_REG_Q_DEPTH, 16);
	assert_int_equal(rd(f, VGPU_REG_Q_DEPTH), 8);
	/* no such queue */
	wr(f, VGPU_REG_Q_SELECT, 32);
	assert_int_equal(rd(f, VGPU_REG_Q_ERROR), VGPU_QERR_NO_QUEUE);
	/* a reset quiesces and unmaps everything */
	wr(f, VGPU_REG_STATUS, 0);
	assert_int_equal(f->r.guest_maps, 0);
	wr(f, VGPU_REG_Q_SELECT, 1);
	assert_int_equal(rd(f, VGPU_REG_Q_ENABLE), 0);
	assert_int_equal(rd(f, VGPU_REG_Q_DEPTH), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(routed_only_with_memory_decode,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			sizing_pattern_and_zero_not_routed, setup, teardown),
		cmocka_unit_test_setup_teardown(
			moving_a_routed_bar_unroutes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_route_keeps_bar_value,
						setup, teardown),
		cmocka_unit_test_setup_teardown(stale_range_is_taken_over,
						setup, teardown),
		cmocka_unit_test_setup_teardown(state_in_caller_memory_resumes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(destroy_unroutes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(identity_registers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(scratch_and_sub_dword_access,
						setup, teardown),
		cmocka_unit_test_setup_teardown(compute_is_factorial, setup,
						teardown),
		cmocka_unit_test_setup_teardown(status_zero_resets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unimplemented_offsets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(queue_registers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(interrupts_intx_and_msi, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
