// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a guest can make the daemon log: every guest-triggered line goes
 * through the rate-limited guest log, so a guest that resets the device or
 * programs a refused MSI message 10 000 times gets at most the burst and
 * one summary line into dom0's logs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

#define FLOOD 10000

/* stderr into a temporary file while a test logs. */
struct capture {
	FILE *f;
	int saved;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Stop capturing; the number of lines, and how many contain @pat. */
static unsigned int capture_end(struct capture *c, const char *pat,
				unsigned int *matching)
{
	char line[1024];
	unsigned int n = 0;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->f);
	*matching = 0;
	while (fgets(line, sizeof(line), c->f)) {
		n++;
		if (pat && strstr(line, pat))
			(*matching)++;
	}
	fclose(c->f);
	return n;
}

static void guest_log_is_rate_limited(void **state)
{
	struct logger lg;
	struct capture c;
	unsigned int i, n, summary;

	(void)state;
	log_init(&lg, LOG_SINK_STDERR, LOG_INFO);
	capture_start(&c);
	for (i = 0; i < FLOOD; i++)
		log_guest(&lg, "guest: message %u", i);
	/* the window has not ended: nothing more until it does, or until
	 * the summary is asked for (at exit) */
	log_guest_flush(&lg);
	log_guest_flush(&lg); /* only once */
	n = capture_end(&c, "9990 further messages suppressed", &summary);
	assert_int_equal(summary, 1);
	assert_int_equal(n, LOG_GUEST_BURST + 1);
}

static void guest_log_below_level_is_silent(void **state)
{
	struct logger lg;
	struct capture c;
	unsigned int i, n, any;

	(void)state;
	log_init(&lg, LOG_SINK_STDERR, LOG_WARNING);
	capture_start(&c);
	for (i = 0; i < FLOOD; i++)
		log_guest_msg(&lg, LOG_INFO, "guest: info %u", i);
	log_guest_flush(&lg);
	n = capture_end(&c, NULL, &any);
	assert_int_equal(n, 0);
}

struct fx {
	struct recorder r;
	struct vdev d;
	struct logger lg;
	struct host_ops ops; /* the recorder's, with a refusing inject_msi */
};

static int refuse_msi(struct host *h, uint64_t addr, uint32_t data)
{
	(void)h;
	(void)addr;
	(void)data;
	return -EINVAL; /* what Xen says to address 0, data 0 */
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	rec_make_stub(&f->r, &f->d, &f->lg);
	/* everything the daemon logs by default, and more */
	log_init(&f->lg, LOG_SINK_STDERR, LOG_DEBUG);
	f->ops = *f->r.host.ops;
	f->ops.inject_msi = refuse_msi;
	f->r.host.ops = &f->ops;
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

static void wr(struct fx *f, uint32_t off, uint32_t val)
{
	vdev_bar_write(&f->d, off, 4, val);
}

static void resets_by_the_guest(void **state)
{
	struct fx *f = *state;
	struct capture c;
	unsigned int i, n, summary;

	capture_start(&c);
	for (i = 0; i < FLOOD; i++)
		wr(f, VGPU_REG_STATUS, 0);
	log_guest_flush(&f->lg);
	n = capture_end(&c, "further messages suppressed", &summary);
	assert_int_equal(vdev_bar_read(&f->d, VGPU_REG_RESET_COUNT, 4), FLOOD);
	assert_in_range(n, 0, LOG_GUEST_BURST + 1);
	assert_true(summary <= 1);
}

/* Memory decode toggled: BAR0 routed and unrouted 10 000 times each, one
 * route refused by the hypervisor every time. */
static void bar_routing_by_the_guest(void **state)
{
	struct fx *f = *state;
	struct capture c;
	unsigned int i, n, summary;

	vdev_cfg_write(&f->d, PCI_BASE_ADDRESS_0, 4, 0xf1000000);
	capture_start(&c);
	for (i = 0; i < FLOOD; i++) {
		f->r.n = 0; /* the recorder keeps REC_MAX calls */
		vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		vdev_cfg_write(&f->d, PCI_COMMAND, 2, 0);
		f->r.fail_map = -ENOSPC;
		vdev_cfg_write(&f->d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		f->r.fail_map = 0;
		vdev_cfg_write(&f->d, PCI_COMMAND, 2, 0);
	}
	log_guest_flush(&f->lg);
	n = capture_end(&c, "further messages suppressed", &summary);
	assert_int_equal(f->d.map_failures, FLOOD);
	assert_in_range(n, 0, LOG_GUEST_BURST + 1);
	assert_true(summary <= 1);
}

/* MSI on, message 0/0, and a NOP with an interrupt asked 10 000 times. */
static void refused_msis(void **state)
{
	struct fx *f = *state;
	struct vgpu_qhdr *h = (struct vgpu_qhdr *)f->r.ram;
	struct vgpu_sqe *sq = (struct vgpu_sqe *)(f->r.ram + 0x1000);
	struct capture c;
	unsigned int i, n, summary;

	wr(f, VGPU_REG_Q_SELECT, 1);
	wr(f, VGPU_REG_Q_DEPTH, 8);
	wr(f, VGPU_REG_Q_HDR_GPA, 0);
	wr(f, VGPU_REG_Q_SQ_GPA, 0x1000);
	wr(f, VGPU_REG_Q_CQ_GPA, 0x2000);
	wr(f, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(vdev_bar_read(&f->d, VGPU_REG_Q_ENABLE, 4), 1);
	vdev_cfg_write(&f->d, 0x42, 2, PCI_MSI_FLAGS_ENABLE);
	capture_start(&c);
	for (i = 0; i < FLOOD; i++) {
		sq[i % 8] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
		h->drv_flags.v = VGPU_DRV_NEED_IRQ;
		h->sq_tail.v = i + 1;
		wr(f, VGPU_REG_DOORBELL(1), i + 1);
		vdev_run_deferred(&f->d);
		h->cq_head.v = i + 1;
	}
	log_guest_flush(&f->lg);
	n = capture_end(&c, "further messages suppressed", &summary);
	assert_int_equal(f->r.msis, 0);
	assert_in_range(n, 0, LOG_GUEST_BURST + 1);
	assert_true(summary <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_log_is_rate_limited),
		cmocka_unit_test(guest_log_below_level_is_silent),
		cmocka_unit_test_setup_teardown(resets_by_the_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bar_routing_by_the_guest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refused_msis, setup, teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
