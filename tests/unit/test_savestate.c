// SPDX-License-Identifier: GPL-2.0-only
/*
 * The saved device state (savestate.h): every field the guest programmed
 * comes back in a device restored from the blob (config space, BAR0 and
 * its routing to the new server, COMMAND, MSI, INTERRUPT_LINE, the
 * register file, a live queue that goes on from its indices), session
 * queues come back stopped with RESTART, and a blob that is truncated,
 * corrupted, of another version or another device is refused with a
 * reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/pci_cfg.h>
#include <vgpu/ring.h>
#include <vgpu/savestate.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

#define SBDF (5u << 3)
#define BAR 0xf1000000u
#define HDR 0x0
#define SQ 0x1000
#define CQ 0x2000
#define DEPTH 8
#define MSI 0x40

struct fx {
	struct recorder r;
	struct logger lg;
	struct vdev d;
	struct vdev_state *st;
	uint8_t *blob;
	size_t len;
};

static uint32_t rd(struct vdev *d, uint32_t off)
{
	return (uint32_t)vdev_bar_read(d, off, 4);
}

static void wr(struct vdev *d, uint32_t off, uint32_t v)
{
	vdev_bar_write(d, off, 4, v);
}

static struct vgpu_qhdr *hdr(struct fx *f)
{
	return (struct vgpu_qhdr *)(f->r.ram + HDR);
}

static struct vgpu_cqe *cqe(struct fx *f, uint32_t slot)
{
	return (struct vgpu_cqe *)(f->r.ram + CQ) + slot % DEPTH;
}

/* Submit a NOP with @cid at the tail; wait (bounded) for its completion
 * in CQ slot @slot with phase @phase. */
static void nop(struct fx *f, uint16_t cid, uint32_t slot, uint16_t phase)
{
	struct vgpu_sqe *sq = (struct vgpu_sqe *)(f->r.ram + SQ);
	uint32_t tail = hdr(f)->sq_tail.v;
	int i;

	memset(&sq[tail % DEPTH], 0, sizeof(sq[0]));
	sq[tail % DEPTH].opcode = VGPU_OP_NOP;
	sq[tail % DEPTH].cid = cid;
	hdr(f)->sq_tail.v = tail + 1;
	wr(&f->d, VGPU_REG_DOORBELL(1), tail + 1);
	vdev_run_deferred(&f->d);
	for (i = 0; i < 100; i++) {
		struct pollfd p = { .fd = vdev_poll_fd(&f->d),
				    .events = POLLIN };

		vdev_poll(&f->d);
		if ((cqe(f, slot)->status & VGPU_CQE_PHASE) == phase &&
		    cqe(f, slot)->cid == cid)
			break;
		if (p.fd >= 0)
			poll(&p, 1, 100);
	}
	assert_int_equal(cqe(f, slot)->cid, cid);
	assert_int_equal(cqe(f, slot)->status, phase);
	hdr(f)->cq_head.v = slot + 1;
}

/* What the guest (hvmloader, then its driver) programmed. */
static void program(struct fx *f)
{
	struct vdev *d = &f->d;
	unsigned int i;

	vdev_cfg_write(d, PCI_BASE_ADDRESS_0, 4, BAR);
	vdev_cfg_write(d, PCI_INTERRUPT_LINE, 1, 11);
	vdev_cfg_write(d, MSI + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	vdev_cfg_write(d, MSI + PCI_MSI_ADDRESS_HI, 4, 0x1);
	vdev_cfg_write(d, MSI + PCI_MSI_DATA_64, 2, 0x4031);
	vdev_cfg_write(d, MSI + PCI_MSI_MASK_64, 4, 1);
	vdev_cfg_write(d, MSI + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	vdev_cfg_write(d, PCI_COMMAND, 2,
		       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			       PCI_COMMAND_INTX_DISABLE);
	wr(d, VGPU_REG_SCRATCH, 0x5ca1ab1e);
	wr(d, VGPU_REG_COMPUTE_IN, 10);
	wr(d, VGPU_REG_INTR_MASK, 0x6);
	for (i = 0; i < VGPU_SCRATCH_RAM_WORDS; i++)
		wr(d, VGPU_REG_SCRATCH_RAM + 4 * i, 0x1000u * i + 7);
	wr(d, VGPU_REG_STATUS, VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK);
	wr(d, VGPU_REG_Q_SELECT, 1);
	wr(d, VGPU_REG_Q_DEPTH, DEPTH);
	wr(d, VGPU_REG_Q_HDR_GPA, HDR);
	wr(d, VGPU_REG_Q_SQ_GPA, SQ);
	wr(d, VGPU_REG_Q_CQ_GPA, CQ);
	wr(d, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(rd(d, VGPU_REG_Q_ENABLE), 1);
	/* traffic: 10 NOPs, so the indices wrapped once (phase flipped) */
	for (i = 0; i < 10; i++)
		nop(f, (uint16_t)(100 + i), i, i < DEPTH ? 1 : 0);
	wr(d, VGPU_REG_Q_SELECT, 3); /* left selected: a register too */
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	long n;

	rec_init(&f->r);
	log_init(&f->lg, LOG_SINK_STDERR, LOG_ERR);
	f->st = test_calloc(1, vdev_state_size(&vgpu_stub_ops));
	vdev_create_in(&f->d, &vgpu_stub_ops, NULL, SBDF, &f->r.host, &f->lg,
		       f->st, false);
	program(f);
	f->len = savestate_size(&vgpu_stub_ops);
	f->blob = test_malloc(f->len);
	n = savestate_encode(&vgpu_stub_ops, f->st, f->blob, f->len);
	assert_int_equal(n, (long)f->len);
	/* the old domain and its emulator go away */
	vdev_destroy(&f->d);
	memset(f->st, 0xa5, vdev_state_size(&vgpu_stub_ops));
	memset(&f->r.calls, 0, sizeof(f->r.calls));
	f->r.n = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->d.st)
		vdev_destroy(&f->d);
	assert_int_equal(f->r.guest_maps, 0);
	rec_fini(&f->r);
	test_free(f->blob);
	test_free(f->st);
	test_free(f);
	return 0;
}

static void restore(struct fx *f)
{
	char err[256] = "";

	assert_int_equal(savestate_decode(&vgpu_stub_ops, f->blob, f->len,
					  f->st, err, sizeof(err)),
			 0);
	assert_int_equal(f->st->ioservid, VDEV_NO_SERVER);
	assert_int_equal(f->st->bar0_mapped, 0);
	assert_int_equal(vdev_create_restored(&f->d, &vgpu_stub_ops, SBDF,
					      &f->r.host, &f->lg, f->st, NULL),
			 0);
}

static void every_field_comes_back(void **state)
{
	struct fx *f = *state;
	struct vdev *d = &f->d;
	unsigned int i;

	restore(f);
	/* config space, and BAR0 routed to the new server */
	assert_int_equal(vdev_cfg_read(d, PCI_BASE_ADDRESS_0, 4), BAR);
	assert_int_equal(vdev_cfg_read(d, PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				 PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(vdev_cfg_read(d, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(vdev_cfg_read(d, MSI + PCI_MSI_ADDRESS_LO, 4),
			 0xfee01000);
	assert_int_equal(vdev_cfg_read(d, MSI + PCI_MSI_ADDRESS_HI, 4), 1);
	assert_int_equal(vdev_cfg_read(d, MSI + PCI_MSI_DATA_64, 2), 0x4031);
	assert_int_equal(vdev_cfg_read(d, MSI + PCI_MSI_MASK_64, 4), 1);
	assert_true(vdev_cfg_read(d, MSI + PCI_MSI_FLAGS, 2) &
		    PCI_MSI_FLAGS_ENABLE);
	assert_int_equal(f->r.n, 1);
	assert_true(f->r.calls[0].map);
	assert_int_equal(f->r.calls[0].gpa, BAR);
	assert_int_equal(f->st->bar0_mapped, 1);
	assert_int_equal(f->st->bar0_base, BAR);
	/* the register file */
	assert_int_equal(rd(d, VGPU_REG_SCRATCH), 0x5ca1ab1e);
	assert_int_equal(rd(d, VGPU_REG_COMPUTE_IN), 10);
	assert_int_equal(rd(d, VGPU_REG_COMPUTE_OUT), 3628800);
	assert_int_equal(rd(d, VGPU_REG_INTR_MASK), 0x6);
	assert_int_equal(rd(d, VGPU_REG_STATUS),
			 VGPU_STATUS_ACKNOWLEDGE | VGPU_STATUS_DRIVER_OK);
	assert_int_equal(rd(d, VGPU_REG_Q_SELECT), 3);
	for (i = 0; i < VGPU_SCRATCH_RAM_WORDS; i++)
		assert_int_equal(rd(d, VGPU_REG_SCRATCH_RAM + 4 * i),
				 0x1000u * i + 7);
	/* queue 1: live, programmed as it was, no error */
	wr(d, VGPU_REG_Q_SELECT, 1);
	assert_int_equal(rd(d, VGPU_REG_Q_ENABLE), 1);
	assert_int_equal(rd(d, VGPU_REG_Q_ERROR), VGPU_QERR_NONE);
	assert_int_equal(rd(d, VGPU_REG_Q_DEPTH), DEPTH);
	assert_int_equal(rd(d, VGPU_REG_Q_SQ_GPA), SQ);
	assert_int_equal(rd(d, VGPU_REG_Q_CQ_GPA), CQ);
	assert_int_equal(hdr(f)->status.v, 0);
}

/* The indices travel: the next command completes in the slot after the
 * tenth, with the phase of the second lap. */
static void queue_goes_on_from_its_indices(void **state)
{
	struct fx *f = *state;

	restore(f);
	nop(f, 200, 10, 0);
	nop(f, 201, 11, 0);
	assert_int_equal(hdr(f)->sq_head.v, 12);
}

/* Queue 1 in a decoded state */
static struct ring_queue *queue1(struct fx *f)
{
	size_t off, end = vdev_state_size(&vgpu_stub_ops) -
			  offsetof(struct vdev_state, priv);
	uint8_t *p = (uint8_t *)f->st->priv;

	for (off = 0; off + sizeof(struct ring_queue) <= end; off += 8) {
		struct ring_queue *q = (struct ring_queue *)(p + off);

		if (q->depth == DEPTH && q->sq_gpa == SQ && q->cq_gpa == CQ)
			return q;
	}
	fail_msg("queue 1 not found in the state");
	return NULL;
}

/* Decode, let @poke change queue 1, restore: queue 1 must come back
 * stopped with RESTART. */
static void comes_back_stopped(struct fx *f, void (*poke)(struct ring_queue *))
{
	char err[256];

	assert_int_equal(savestate_decode(&vgpu_stub_ops, f->blob, f->len,
					  f->st, err, sizeof(err)),
			 0);
	poke(queue1(f));
	assert_int_equal(vdev_create_restored(&f->d, &vgpu_stub_ops, SBDF,
					      &f->r.host, &f->lg, f->st, NULL),
			 0);
	wr(&f->d, VGPU_REG_Q_SELECT, 1);
	assert_int_equal(rd(&f->d, VGPU_REG_Q_ENABLE), 0);
	assert_int_equal(rd(&f->d, VGPU_REG_Q_ERROR), VGPU_QERR_RESTART);
	assert_int_equal(hdr(f)->status.v, VGPU_QERR_RESTART);
}

static void bind_session(struct ring_queue *q)
{
	q->session = 4;
}

/* A queue bound to a session: the session did not travel, the queue
 * comes back stopped with RESTART (the driver's device-lost path). */
static void session_queue_comes_back_stopped(void **state)
{
	comes_back_stopped(*state, bind_session);
}

static void bad_pages(struct ring_queue *q)
{
	/* 256 entries in the one page mapped: read past the mapping */
	q->depth = 256;
}

static void bad_depth(struct ring_queue *q)
{
	q->depth = 6;
}

/* A queue no guest could have programmed is not served on. */
static void inconsistent_queue_comes_back_stopped(void **state)
{
	comes_back_stopped(*state, bad_pages);
}

static void odd_depth_comes_back_stopped(void **state)
{
	comes_back_stopped(*state, bad_depth);
}

/* The helper's check before it seals a state: no command in flight. */
static void save_check_refuses_work_in_flight(void **state)
{
	struct fx *f = *state;
	char err[256] = "", why[128] = "";

	assert_int_equal(savestate_decode(&vgpu_stub_ops, f->blob, f->len,
					  f->st, err, sizeof(err)),
			 0);
	assert_int_equal(
		vgpu_stub_ops.save_check(f->st->priv, why, sizeof(why)), 0);
	queue1(f)->cq_reserved = 2;
	assert_int_equal(vgpu_stub_ops.save_check(f->st->priv, why,
						  sizeof(why)),
			 -EBUSY);
	assert_non_null(strstr(why, "queue 1 has 2 commands in flight"));
}

/* Sessions held device state when it was saved: every queue comes back
 * stopped with RESTART, the privileged ones too (device lost). */
static void held_state_stops_every_queue(void **state)
{
	struct fx *f = *state;
	struct vgpu_sqe *sq = (struct vgpu_sqe *)(f->r.ram + SQ);
	uint32_t tail;
	long n;
	int i;

	restore(f);
	tail = hdr(f)->sq_tail.v;
	memset(&sq[tail % DEPTH], 0, sizeof(sq[0]));
	sq[tail % DEPTH].opcode = VGPU_OP_SESSION_OPEN;
	sq[tail % DEPTH].cid = 300;
	sq[tail % DEPTH].obj.obj = VGPU_NO_QUEUE;
	hdr(f)->sq_tail.v = tail + 1;
	wr(&f->d, VGPU_REG_DOORBELL(1), tail + 1);
	vdev_run_deferred(&f->d);
	for (i = 0; i < 100 && cqe(f, tail)->cid != 300; i++) {
		struct pollfd p = { .fd = vdev_poll_fd(&f->d),
				    .events = POLLIN };

		if (p.fd >= 0)
			poll(&p, 1, 100);
		vdev_poll(&f->d);
	}
	assert_int_equal(cqe(f, tail)->cid, 300);
	assert_int_equal(VGPU_CQE_CODE(cqe(f, tail)->status), VGPU_S_OK);
	n = savestate_encode(&vgpu_stub_ops, f->st, f->blob, f->len);
	assert_int_equal(n, (long)f->len);
	vdev_destroy(&f->d);
	restore(f);
	wr(&f->d, VGPU_REG_Q_SELECT, 1);
	assert_int_equal(rd(&f->d, VGPU_REG_Q_ENABLE), 0);
	assert_int_equal(rd(&f->d, VGPU_REG_Q_ERROR), VGPU_QERR_RESTART);
	/* the registers still came back */
	assert_int_equal(rd(&f->d, VGPU_REG_SCRATCH), 0x5ca1ab1e);
}

static void refused(struct fx *f, const uint8_t *b, size_t len, const char *why)
{
	char err[256] = "";

	memset(f->st, 0x5a, vdev_state_size(&vgpu_stub_ops));
	assert_int_equal(savestate_decode(&vgpu_stub_ops, b, len, f->st, err,
					  sizeof(err)),
			 -EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s' does not say '%s'", err, why);
	/* nothing of it was used */
	assert_int_equal(((uint8_t *)f->st)[0], 0x5a);
}

static void truncated_blobs_refused(void **state)
{
	struct fx *f = *state;

	refused(f, f->blob, 0, "truncated");
	refused(f, f->blob, SAVESTATE_HDR - 1, "truncated");
	refused(f, f->blob, SAVESTATE_HDR, "truncated");
	refused(f, f->blob, f->len - 1, "truncated");
}

static void corrupted_blobs_refused(void **state)
{
	struct fx *f = *state;
	uint8_t *b = test_malloc(f->len + 1);
	size_t i;

	/* any byte of the state or its checksum */
	for (i = SAVESTATE_HDR; i < f->len; i += 97) {
		memcpy(b, f->blob, f->len);
		b[i] ^= 0x10;
		refused(f, b, f->len, "checksum");
	}
	memcpy(b, f->blob, f->len);
	b[0] = 'X';
	refused(f, b, f->len, "bad magic");
	memcpy(b, f->blob, f->len);
	b[8] = SAVESTATE_VERSION + 1;
	refused(f, b, f->len, "version 3");
	memcpy(b, f->blob, f->len);
	memcpy(b + 16, "other-dev", 10);
	refused(f, b, f->len, "'other-dev'");
	memcpy(b, f->blob, f->len);
	b[36] ^= 8;
	refused(f, b, f->len, "another build");
	memcpy(b, f->blob, f->len);
	b[f->len] = 0;
	refused(f, b, f->len + 1, "trailing");
	test_free(b);
}

static void hex_round_trip(void **state)
{
	struct fx *f = *state;
	char *hex = test_malloc(2 * f->len + 1);
	uint8_t *back = test_malloc(f->len);

	savestate_to_hex(f->blob, f->len, hex);
	assert_int_equal(strlen(hex), 2 * f->len);
	assert_int_equal(savestate_from_hex(hex, back, f->len), (long)f->len);
	assert_memory_equal(back, f->blob, f->len);
	assert_int_equal(savestate_from_hex(hex, back, f->len - 1), -EINVAL);
	hex[5] = 'g';
	assert_int_equal(savestate_from_hex(hex, back, f->len), -EINVAL);
	hex[5] = '\0';
	assert_int_equal(savestate_from_hex(hex, back, f->len), -EINVAL);
	test_free(back);
	test_free(hex);
}

/* Domains 5 and 9 have ended; every other one lives. */
static bool ended_5_9(uint32_t domid, void *arg)
{
	unsigned int *asked = arg;

	(*asked)++;
	return domid == 5 || domid == 9;
}

static bool exists_in(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* Only the state files of ended domains go, named exactly as the daemon
 * names them; locks, pid files, other names and live domains stay. */
static void sweep_removes_ended_domains_state_only(void **state)
{
	static const char *const files[] = {
		"d5-05.0.state",  "d9-1f.7.state",  "d7-05.0.state",
		"d5-05.0.lock",	  "d5.pid",	    "d5-05.0.state.tmp",
		"dx5-05.0.state", "d-5-05.0.state", "x5-05.0.state",
	};
	char dir[] = "/tmp/vgpu-sweep-XXXXXX";
	unsigned int i, asked = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[256];
		int fd;

		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		fd = open(p, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	assert_int_equal(savestate_sweep(dir, ended_5_9, &asked), 2);
	assert_int_equal(asked, 3); /* only for the three state files */
	assert_false(exists_in(dir, "d5-05.0.state"));
	assert_false(exists_in(dir, "d9-1f.7.state"));
	for (i = 2; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[256];

		assert_true(exists_in(dir, files[i]));
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	assert_int_equal(savestate_sweep(dir, ended_5_9, &asked), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(savestate_sweep(dir, ended_5_9, &asked), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_field_comes_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(queue_goes_on_from_its_indices,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			session_queue_comes_back_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(
			inconsistent_queue_comes_back_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_depth_comes_back_stopped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			save_check_refuses_work_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(held_state_stops_every_queue,
						setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_blobs_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(corrupted_blobs_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(hex_round_trip, setup,
						teardown),
		cmocka_unit_test(sweep_removes_ended_domains_state_only),
	};

	return cmocka_run_group_tests_name("savestate", tests, NULL, NULL);
}
