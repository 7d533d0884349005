// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device's state file is data from a previous process (one that may
 * have served a hostile guest, and that could write its mapping): a
 * restarted emulator loads it without undefined behaviour. A queue's
 * `bool live` that is neither 0 nor 1 is dropped, not read as a bool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/ring.h>
#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>
#include "unit/recorder.h"

struct fx {
	struct recorder r;
	struct logger lg;
	struct vdev_state *st; /* the "file": outlives the first device */
};

static uint32_t rd(struct vdev *d, uint32_t off)
{
	return (uint32_t)vdev_bar_read(d, off, 4);
}

static void wr(struct vdev *d, uint32_t off, uint32_t v)
{
	vdev_bar_write(d, off, 4, v);
}

/* A device in the state buffer with queue 1 live, then a "crash": the
 * state is left as it is. */
static struct fx *crashed_with_a_live_queue(void)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	size_t size = vdev_state_size(&vgpu_stub_ops);
	void *copy = test_malloc(size);
	struct vdev d;

	rec_init(&f->r);
	log_init(&f->lg, LOG_SINK_STDERR, LOG_ERR);
	f->st = test_calloc(1, vdev_state_size(&vgpu_stub_ops));
	vdev_create_in(&d, &vgpu_stub_ops, NULL, 5u << 3, &f->r.host, &f->lg,
		       f->st, false);
	wr(&d, VGPU_REG_Q_SELECT, 1);
	wr(&d, VGPU_REG_Q_DEPTH, 8);
	wr(&d, VGPU_REG_Q_HDR_GPA, 0);
	wr(&d, VGPU_REG_Q_SQ_GPA, 0x1000);
	wr(&d, VGPU_REG_Q_CQ_GPA, 0x2000);
	wr(&d, VGPU_REG_Q_ENABLE, 1);
	assert_int_equal(rd(&d, VGPU_REG_Q_ENABLE), 1);
	/* the process dies: its memory goes, the state file stays as it
	 * was (the backend pointer in it dangles: start() never uses it) */
	memcpy(copy, f->st, size);
	vdev_destroy(&d);
	memcpy(f->st, copy, size);
	test_free(copy);
	return f;
}

/* Queue 1's struct ring_queue in the device's registers. */
static struct ring_queue *queue1(struct fx *f)
{
	size_t size = vdev_state_size(&vgpu_stub_ops) -
		      offsetof(struct vdev_state, priv);
	uint8_t *p = (uint8_t *)f->st->priv;
	size_t off;

	for (off = 0; off + sizeof(struct ring_queue) <= size; off += 8) {
		struct ring_queue *q = (struct ring_queue *)(p + off);

		if (q->depth == 8 && q->sq_gpa == 0x1000 &&
		    q->cq_gpa == 0x2000 && q->hdr_gpa == 0)
			return q;
	}
	fail_msg("queue 1 not found in the state");
	return NULL;
}

static void set_live_byte(struct ring_queue *q, uint8_t v)
{
	memcpy(&q->live, &v, 1);
}

static uint32_t restart(struct fx *f, uint32_t *error)
{
	struct vdev d;
	uint32_t live;

	assert_int_equal(vdev_create_in(&d, &vgpu_stub_ops, NULL, 5u << 3,
					&f->r.host, &f->lg, f->st, true),
			 1);
	wr(&d, VGPU_REG_Q_SELECT, 1);
	live = rd(&d, VGPU_REG_Q_ENABLE);
	*error = rd(&d, VGPU_REG_Q_ERROR);
	vdev_destroy(&d);
	return live;
}

static void done(struct fx *f)
{
	test_free(f->st);
	test_free(f);
}

/* The control: a live queue comes back FATAL (QERR_RESTART). */
static void live_queue_comes_back_fatal(void **state)
{
	struct fx *f = crashed_with_a_live_queue();
	uint32_t err;

	(void)state;
	set_live_byte(queue1(f), 1);
	assert_int_equal(restart(f, &err), 0);
	assert_int_equal(err, VGPU_QERR_RESTART);
	done(f);
}

static void corrupt_live_flag_is_dropped(void **state)
{
	static const uint8_t bad[] = { 2, 0x80, 0xff };
	uint32_t err, live;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad); i++) {
		struct fx *f = crashed_with_a_live_queue();

		set_live_byte(queue1(f), bad[i]);
		live = restart(f, &err);
		assert_int_equal(live, 0);
		assert_int_equal(err, VGPU_QERR_NONE);
		done(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(live_queue_comes_back_fatal),
		cmocka_unit_test(corrupt_live_flag_is_dropped),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
