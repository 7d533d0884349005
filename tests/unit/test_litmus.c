// SPDX-License-Identifier: GPL-2.0-only
/*
 * Issue 14, finding 5, as a litmus test: the real ring_process() on one
 * thread against the driver's sequence on another, round after round.
 *
 *   device (ring_process)            driver (vgpu_stub.c's wait)
 *   store CQE, store sq_head         store drv_flags = NEED_IRQ
 *   (full barrier)                   smp_mb()
 *   load drv_flags: IRQ wanted?      load CQE: posted?
 *
 * A round is lost when neither saw the other's store: the driver sleeps
 * and no interrupt comes. Without the device's full barrier x86 lets its
 * load pass its stores (store buffering) and rounds are lost; with it,
 * never. The test passes when no round is lost; it needs two CPUs to
 * mean anything, and says how many rounds really overlapped.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <vgpu/ring.h>
#include "unit/recorder.h"

#define DEPTH 64
#define ROUNDS 2000000u
#define BUDGET_S 10.0 /* stop early on a busy machine */

enum mode { IRQ, DOORBELL };

struct litmus {
	enum mode mode;
	struct recorder r;
	struct logger lg;
	struct ring_queue q;
	struct ring_ctx c;
	uint32_t go, dev_done; /* round numbers, atomics */
	bool irq; /* the device's answer in this round */
	unsigned int rounds;
};

static enum ring_exec nop_exec(void *arg, struct ring_queue *q,
			       const struct vgpu_sqe *e, const uint8_t *params,
			       uint32_t plen, uint32_t *status,
			       uint64_t *result)
{
	*status = VGPU_S_OK;
	*result = 0;
	return RING_DONE;
}

static void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static void *device(void *arg)
{
	struct litmus *l = arg;
	unsigned int n;

	for (n = 1; n <= l->rounds; n++) {
		while (__atomic_load_n(&l->go, __ATOMIC_ACQUIRE) < n)
			cpu_relax();
		if (__atomic_load_n(&l->go, __ATOMIC_ACQUIRE) == UINT32_MAX)
			break;
		l->irq = l->mode == IRQ ? ring_process(&l->q, &l->c) :
					  ring_poll_stop(&l->q);
		__atomic_store_n(&l->dev_done, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One doorbell round: the device is polling (flag clear) and has seen
 * every entry; it stops polling while the driver submits one more. True
 * if the driver saw NEED_DOORBELL (it rings). */
static bool doorbell_round(struct litmus *l, unsigned int n,
			   struct vgpu_qhdr *h)
{
	unsigned int k;

	ring_poll_start(&l->q);
	l->q.seen_tail = n - 1;
	__atomic_store_n(&l->go, n, __ATOMIC_RELEASE);
	for (k = 0; k < (n * 37u) % 192; k++)
		__asm__ volatile("" ::: "memory");
	/* the submitter: publish the tail, smp_mb(), read dev_flags */
	__atomic_store_n(&h->sq_tail.v, n, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&h->dev_flags.v, __ATOMIC_RELAXED) &
	       VGPU_DEV_NEED_DOORBELL;
}

/* Round after round, each side's store then load; the count of rounds
 * where neither saw the other. */
static void litmus(enum mode mode)
{
	struct litmus *l = test_calloc(1, sizeof(*l));
	struct vgpu_qhdr *h;
	struct vgpu_sqe *sq;
	struct vgpu_cqe *cq;
	unsigned int n, k, lost = 0, both = 0, done = 0;
	uint16_t phase = 1;
	double t0 = now_s();
	pthread_t t;

	rec_init(&l->r);
	log_init(&l->lg, LOG_SINK_STDERR, -1);
	l->c = (struct ring_ctx){ .host = &l->r.host,
				  .log = &l->lg,
				  .max_depth = DEPTH,
				  .bar_lo = 0xf1000000,
				  .bar_len = 0x1000,
				  .exec = nop_exec };
	l->q = (struct ring_queue){
		.depth = DEPTH, .hdr_gpa = 0, .sq_gpa = 0x1000, .cq_gpa = 0x2000
	};
	assert_int_equal(ring_enable(&l->q, &l->c), 0);
	h = l->q.hdr;
	sq = l->q.sq;
	cq = l->q.cq;
	l->rounds = ROUNDS;
	l->mode = mode;
	assert_int_equal(pthread_create(&t, NULL, device, l), 0);
	for (n = 1; n <= ROUNDS; n++) {
		struct vgpu_cqe *e = &cq[(n - 1) % DEPTH];
		bool saw;

		if (mode == DOORBELL) {
			saw = doorbell_round(l, n, h);
			goto judge;
		}
		/* a NOP is submitted; the driver has not asked for an IRQ */
		sq[(n - 1) % DEPTH] = (struct vgpu_sqe){ .cid = (uint16_t)n };
		__atomic_store_n(&h->drv_flags.v, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&h->sq_tail.v, n, __ATOMIC_RELEASE);
		__atomic_store_n(&l->go, n, __ATOMIC_RELEASE);
		/* sweep the driver's start across the device's work, so that
		 * some rounds put the two store-load pairs on top of each
		 * other */
		for (k = 0; k < (n * 37u) % 192; k++)
			__asm__ volatile("" ::: "memory");
		/* the driver's wait: NEED_IRQ, smp_mb(), check the CQ */
		__atomic_store_n(&h->drv_flags.v, VGPU_DRV_NEED_IRQ,
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		saw = (__atomic_load_n(&e->status, __ATOMIC_RELAXED) &
		       VGPU_CQE_PHASE) == phase;
judge:
		while (__atomic_load_n(&l->dev_done, __ATOMIC_ACQUIRE) < n)
			cpu_relax();
		if (!saw && !l->irq)
			lost++;
		both += saw && l->irq; /* the stores really raced */
		if (n % DEPTH == 0)
			phase ^= 1;
		__atomic_store_n(&h->cq_head.v, n, __ATOMIC_RELEASE);
		done = n;
		if (n % 65536 == 0 && now_s() - t0 > BUDGET_S)
			break;
	}
	__atomic_store_n(&l->go, UINT32_MAX, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("# %s: %u rounds, %u lost, %u where both saw the other\n",
	       mode == IRQ ? "completion interrupt" : "doorbell", done, lost,
	       both);
	assert_int_equal(lost, 0);
	ring_disable(&l->q, &l->c);
	rec_fini(&l->r);
	test_free(l);
}

/* Issue 14, finding 5: completions against the driver's NEED_IRQ. */
static void no_lost_completion_interrupts(void **state)
{
	litmus(IRQ);
}

/* The same pair for doorbells: the device sets NEED_DOORBELL and looks
 * at the tail once more (ring_poll_stop); the driver publishes its tail
 * and then reads dev_flags. */
static void no_lost_doorbells(void **state)
{
	litmus(DOORBELL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_lost_completion_interrupts),
		cmocka_unit_test(no_lost_doorbells),
	};

	return cmocka_run_group_tests_name("litmus", tests, NULL, NULL);
}
