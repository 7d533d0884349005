// SPDX-License-Identifier: MIT
/*
 * The loopback client's queues: waiting for a completion (poll, then
 * NEED_IRQ and the interrupt eventfd) and the privileged queues this
 * process drives itself (the admin queue; the 1.1 I/O queue in tests).
 * See loop_client.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/vgpu_ring_abi.h>

#include "loop_client.h"

#define PAGE 4096ull

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
				  .tv_nsec = (long)(ns % 1000000000ull) };
}

/*
 * As the poller (irq_lock held on entry and return): sleep on the
 * interrupt eventfd and the socket's hang-up, take the interrupt, move
 * gen on and wake the other waiters, who look at their queues again.
 */
static int poll_irq(struct loop_conn *c, uint64_t deadline)
{
	struct pollfd p[2] = { { .fd = c->irq, .events = POLLIN },
			       { .fd = c->sock, .events = POLLRDHUP } };
	struct timespec ts;
	uint64_t cnt, t = now_ns();
	int n, rc = 0;

	if (deadline && t >= deadline)
		return -ETIMEDOUT;
	ts = ts_of(deadline ? deadline - t : 0);
	c->poller = true;
	pthread_mutex_unlock(&c->irq_lock);
	n = ppoll(p, 2, deadline ? &ts : NULL, NULL);
	if (n > 0 && (p[0].revents & POLLIN) &&
	    read(c->irq, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		n = -1;
	pthread_mutex_lock(&c->irq_lock);
	c->poller = false;
	if (n > 0 && (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR)))
		c->dead = true;
	else if (n < 0 && errno != EINTR)
		c->dead = true;
	if (n == 0)
		rc = -ETIMEDOUT;
	c->gen++;
	pthread_cond_broadcast(&c->irq_cond);
	return rc;
}

/* Sleep until gen moves past @gen. 0, -ETIMEDOUT, -ENODEV. */
static int irq_wait(struct loop_conn *c, uint64_t gen, uint64_t deadline)
{
	struct timespec ts = ts_of(deadline);
	int rc = 0;

	pthread_mutex_lock(&c->irq_lock);
	while (c->gen == gen && !c->dead && rc == 0) {
		if (!c->poller)
			rc = poll_irq(c, deadline);
		else if (!deadline)
			pthread_cond_wait(&c->irq_cond, &c->irq_lock);
		else if (pthread_cond_timedwait(&c->irq_cond, &c->irq_lock,
						&ts) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	}
	if (c->dead)
		rc = -ENODEV;
	pthread_mutex_unlock(&c->irq_lock);
	return rc;
}

static uint64_t irq_gen(struct loop_conn *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->irq_lock);
	g = c->gen;
	pthread_mutex_unlock(&c->irq_lock);
	return g;
}

/* The first waiter asks for interrupts, the last one stops asking. */
static void want_irq(struct loop_waitq *w, bool want)
{
	uint32_t *fl = &w->hdr->drv_flags.v;

	pthread_mutex_lock(&w->lock);
	if (want && w->waiters++ == 0)
		__atomic_or_fetch(fl, VGPU_DRV_NEED_IRQ, __ATOMIC_SEQ_CST);
	else if (!want && --w->waiters == 0)
		__atomic_and_fetch(fl, ~VGPU_DRV_NEED_IRQ, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&w->lock);
}

int loop_wait(struct loop_conn *c, struct loop_waitq *w, uint32_t head,
	      uint64_t spin_ns, uint64_t timeout_ns)
{
	uint64_t t0 = now_ns();
	uint64_t deadline = timeout_ns ? t0 + timeout_ns : 0;
	int rc = 0;

	while (!loop_cqe_posted(w->cq, w->depth, head)) {
		if (now_ns() - t0 >= spin_ns)
			break;
		cpu_relax();
	}
	if (loop_cqe_posted(w->cq, w->depth, head))
		return 0;
	want_irq(w, true);
	for (;;) {
		/* gen before the look: an interrupt after it moves gen */
		uint64_t gen = irq_gen(c);

		if (loop_cqe_posted(w->cq, w->depth, head))
			break;
		if (__atomic_load_n(&w->hdr->status.v, __ATOMIC_ACQUIRE)) {
			rc = -ENODEV; /* FATAL, reset or restarted */
			break;
		}
		rc = irq_wait(c, gen, deadline);
		if (rc)
			break;
	}
	want_irq(w, false);
	return rc;
}

int loop_queue_create(struct loop_conn *c, struct loop_queue *q, uint32_t qid,
		      uint32_t depth, uint32_t *qerr)
{
	uint64_t sq = (depth * sizeof(struct vgpu_sqe) + PAGE - 1) &
		      ~(PAGE - 1);
	uint64_t cq = (depth * sizeof(struct vgpu_cqe) + PAGE - 1) &
		      ~(PAGE - 1);
	uint32_t live;
	int rc;

	memset(q, 0, sizeof(*q));
	*qerr = 0;
	if (depth < 2 || (depth & (depth - 1)) || depth > c->max_qdepth ||
	    qid >= c->max_queues)
		return -EINVAL;
	q->qid = qid;
	q->depth = depth;
	q->bytes = PAGE + sq + cq;
	rc = loop_ram_alloc(c, q->bytes, &q->hdr_gpa);
	if (rc < 0)
		return rc;
	q->sq_gpa = q->hdr_gpa + PAGE;
	q->cq_gpa = q->sq_gpa + sq;
	memset(loop_va(c, q->hdr_gpa), 0, (size_t)q->bytes);
	pthread_mutex_lock(&c->qwin_lock);
	rc = loop_wr32(c, VGPU_REG_Q_SELECT, qid);
	if (rc == 0)
		rc = loop_wr32(c, VGPU_REG_Q_DEPTH, depth);
	if (rc == 0)
		rc = loop_reg_write(c, VGPU_REG_Q_SQ_GPA, 8, q->sq_gpa);
	if (rc == 0)
		rc = loop_reg_write(c, VGPU_REG_Q_CQ_GPA, 8, q->cq_gpa);
	if (rc == 0)
		rc = loop_reg_write(c, VGPU_REG_Q_HDR_GPA, 8, q->hdr_gpa);
	if (rc == 0)
		rc = loop_wr32(c, VGPU_REG_Q_ENABLE, 1);
	live = rc == 0 ? loop_rd32(c, VGPU_REG_Q_ENABLE) : 0;
	if (rc == 0 && live != 1) {
		*qerr = loop_rd32(c, VGPU_REG_Q_ERROR);
		rc = -EIO;
	}
	pthread_mutex_unlock(&c->qwin_lock);
	if (rc < 0) {
		loop_ram_free(c, q->hdr_gpa, q->bytes);
		return rc;
	}
	q->sq = loop_va(c, q->sq_gpa);
	q->w.hdr = loop_va(c, q->hdr_gpa);
	q->w.cq = loop_va(c, q->cq_gpa);
	q->w.depth = depth;
	pthread_mutex_init(&q->w.lock, NULL);
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void loop_queue_destroy(struct loop_conn *c, struct loop_queue *q)
{
	if (!q->bytes)
		return;
	pthread_mutex_lock(&c->qwin_lock);
	if (loop_wr32(c, VGPU_REG_Q_SELECT, q->qid) == 0)
		loop_wr32(c, VGPU_REG_Q_ENABLE, 0);
	pthread_mutex_unlock(&c->qwin_lock);
	loop_ram_free(c, q->hdr_gpa, q->bytes);
	pthread_mutex_destroy(&q->w.lock);
	pthread_mutex_destroy(&q->lock);
	q->bytes = 0;
}

int loop_queue_exec(struct loop_conn *c, struct loop_queue *q,
		    struct vgpu_sqe *e, uint32_t *status, uint64_t *result)
{
	struct vgpu_qhdr *h = q->w.hdr;
	const struct vgpu_cqe *cqe;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	e->cid = q->cid++;
	memcpy(&q->sq[q->tail & (q->depth - 1)], e, sizeof(*e));
	q->tail++;
	__atomic_store_n(&h->sq_tail.v, q->tail, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&h->dev_flags.v, __ATOMIC_ACQUIRE) &
	    VGPU_DEV_NEED_DOORBELL)
		rc = loop_doorbell(c);
	if (rc == 0)
		rc = loop_wait(c, &q->w, q->head, LOOP_SPIN_NS, q->timeout_ns);
	if (rc == 0) {
		cqe = &q->w.cq[q->head & (q->depth - 1)];
		*status = VGPU_CQE_CODE(cqe->status);
		*result = cqe->result;
		if (cqe->cid != e->cid)
			rc = -EIO;
		q->head++;
		__atomic_store_n(&h->cq_head.v, q->head, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}
