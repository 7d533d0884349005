// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu_stub: queues in guest RAM and the privileged queues (admin queue 0,
 * I/O queue 1) whose commands the driver submits for itself or for a
 * caller. Completions are matched by cid: every command holds its cid
 * until its completion arrives or the device is reset, and nothing it
 * lent the device is given back before that.
 *
 * Memory shared with the device is ordered with dma_wmb()/dma_rmb()/
 * dma_mb() and, where a store must be seen before a load of the device's
 * flags, virt_mb(): the device is another processor even on a
 * CONFIG_SMP=n guest, where smp_*() barriers are compiler barriers only.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "vgpu_drv.h"

static void *coherent(struct vgpu_dev *vd, size_t bytes, dma_addr_t *dma)
{
	return dma_alloc_coherent(&vd->pdev->dev, bytes, dma, GFP_KERNEL);
}

int vgpu_qmem_alloc(struct vgpu_dev *vd, struct vgpu_qmem *m, u32 depth)
{
	m->depth = depth;
	m->sq_bytes = PAGE_ALIGN(depth * sizeof(struct vgpu_sqe));
	m->cq_bytes = PAGE_ALIGN(depth * sizeof(struct vgpu_cqe));
	m->hdr = coherent(vd, PAGE_SIZE, &m->hdr_dma);
	m->sq = coherent(vd, m->sq_bytes, &m->sq_dma);
	m->cq = coherent(vd, m->cq_bytes, &m->cq_dma);
	if (m->hdr && m->sq && m->cq) {
		vgpu_qmem_clear(m);
		return 0;
	}
	vgpu_qmem_free(vd, m);
	return -ENOMEM;
}

void vgpu_qmem_free(struct vgpu_dev *vd, struct vgpu_qmem *m)
{
	struct device *dev = &vd->pdev->dev;

	if (m->hdr)
		dma_free_coherent(dev, PAGE_SIZE, m->hdr, m->hdr_dma);
	if (m->sq)
		dma_free_coherent(dev, m->sq_bytes, m->sq, m->sq_dma);
	if (m->cq)
		dma_free_coherent(dev, m->cq_bytes, m->cq, m->cq_dma);
	m->hdr = NULL;
	m->sq = NULL;
	m->cq = NULL;
}

/* A queue as new: no entries, no completions (phase 0 everywhere). */
void vgpu_qmem_clear(struct vgpu_qmem *m)
{
	memset(m->hdr, 0, PAGE_SIZE);
	memset(m->sq, 0, m->sq_bytes);
	memset(m->cq, 0, m->cq_bytes);
}

/* Program queue @qid through the Q_ window and enable it. Caller: alive. */
int vgpu_queue_enable(struct vgpu_dev *vd, u32 qid, struct vgpu_qmem *m)
{
	void __iomem *b = vd->bar;
	int rc = 0;

	mutex_lock(&vd->reg_lock);
	iowrite32(qid, b + VGPU_REG_Q_SELECT);
	iowrite32(0, b + VGPU_REG_Q_ENABLE);
	iowrite32(m->depth, b + VGPU_REG_Q_DEPTH);
	vgpu_wr64(vd, VGPU_REG_Q_HDR_GPA, m->hdr_dma);
	vgpu_wr64(vd, VGPU_REG_Q_SQ_GPA, m->sq_dma);
	vgpu_wr64(vd, VGPU_REG_Q_CQ_GPA, m->cq_dma);
	iowrite32(1, b + VGPU_REG_Q_ENABLE);
	if (!ioread32(b + VGPU_REG_Q_ENABLE)) {
		dev_err(&vd->pdev->dev, "queue %u refused: error %u\n", qid,
			ioread32(b + VGPU_REG_Q_ERROR));
		rc = -EIO;
	}
	mutex_unlock(&vd->reg_lock);
	return rc;
}

void vgpu_queue_disable(struct vgpu_dev *vd, u32 qid)
{
	mutex_lock(&vd->reg_lock);
	iowrite32(qid, vd->bar + VGPU_REG_Q_SELECT);
	iowrite32(0, vd->bar + VGPU_REG_Q_ENABLE);
	mutex_unlock(&vd->reg_lock);
}

u32 vgpu_queue_error(struct vgpu_dev *vd, u32 qid)
{
	u32 err;

	mutex_lock(&vd->reg_lock);
	iowrite32(qid, vd->bar + VGPU_REG_Q_SELECT);
	err = ioread32(vd->bar + VGPU_REG_Q_ERROR);
	mutex_unlock(&vd->reg_lock);
	return err;
}

/* Is the completion at free-running index @idx posted? The device writes
 * phase 1 on its first pass over the CQ, 0 on the second, and so on. */
bool vgpu_cqe_ready(const struct vgpu_qmem *m, u32 idx)
{
	const struct vgpu_cqe *c = &m->cq[idx & (m->depth - 1)];
	u16 want = (idx & m->depth) ? 0 : VGPU_CQE_PHASE;

	return (le16_to_cpu(READ_ONCE(c->status)) & VGPU_CQE_PHASE) == want;
}

int vgpu_pq_init(struct vgpu_dev *vd, struct vgpu_pq *pq, u32 qid, u32 depth,
		 bool sgl)
{
	pq->vd = vd;
	pq->qid = qid;
	mutex_init(&pq->sub_lock);
	spin_lock_init(&pq->lock);
	init_waitqueue_head(&pq->wq);
	pq->slot = kcalloc(depth, sizeof(*pq->slot), GFP_KERNEL);
	if (!pq->slot || vgpu_qmem_alloc(vd, &pq->m, depth))
		goto nomem;
	if (sgl) {
		pq->sgl = coherent(vd, depth * PAGE_SIZE, &pq->sgl_dma);
		if (!pq->sgl)
			goto nomem;
	}
	return 0;
nomem:
	vgpu_pq_fini(pq);
	return -ENOMEM;
}

void vgpu_pq_fini(struct vgpu_pq *pq)
{
	struct vgpu_dev *vd = pq->vd;

	if (pq->sgl)
		dma_free_coherent(&vd->pdev->dev, pq->m.depth * PAGE_SIZE,
				  pq->sgl, pq->sgl_dma);
	pq->sgl = NULL;
	vgpu_qmem_free(vd, &pq->m);
	kfree(pq->slot);
	pq->slot = NULL;
}

/* NEED_IRQ while anyone sleeps, an orphan waits for its completion, or
 * the driver does not poll at all. Caller holds pq->lock. */
static void pq_irq_flag(struct vgpu_pq *pq)
{
	bool want = !vgpu_poll_first || pq->sleepers || pq->orphans;

	WRITE_ONCE(pq->m.hdr->drv_flags.v,
		   cpu_to_le32(want ? VGPU_DRV_NEED_IRQ : 0));
}

/* A fresh queue (probe, or after a reset). Caller: alive for writing or
 * not yet visible. */
int vgpu_pq_start(struct vgpu_pq *pq)
{
	unsigned long fl;

	spin_lock_irqsave(&pq->lock, fl);
	pq->tail = 0;
	pq->head = 0;
	vgpu_qmem_clear(&pq->m);
	pq_irq_flag(pq);
	spin_unlock_irqrestore(&pq->lock, fl);
	return vgpu_queue_enable(pq->vd, pq->qid, &pq->m);
}

static void pq_finish(struct vgpu_pq *pq, struct vgpu_cmd *c)
{
	struct vgpu_dev *vd = pq->vd;

	pq->slot[c->cid] = NULL;
	pq->inflight--;
	WRITE_ONCE(c->done, true);
	if (c->orphan) {
		pq->orphans--;
		spin_lock(&vd->orphan_lock);
		list_add_tail(&c->node, &vd->orphans);
		spin_unlock(&vd->orphan_lock);
		queue_work(vgpu_wq, &vd->orphan_work);
	}
}

/* Every command in flight fails with @err: the device was reset (or is
 * gone) and touches none of their memory any more. */
void vgpu_pq_fail_all(struct vgpu_pq *pq, int err)
{
	unsigned long fl;
	u32 i;

	spin_lock_irqsave(&pq->lock, fl);
	for (i = 0; pq->slot && i < pq->m.depth; i++) {
		struct vgpu_cmd *c = pq->slot[i];

		if (!c)
			continue;
		c->err = err;
		pq_finish(pq, c);
	}
	spin_unlock_irqrestore(&pq->lock, fl);
	wake_up_all(&pq->wq);
}

/* The queue's header says FATAL (an emulator restart, or a queue error):
 * only the driver writes this page besides the device. */
bool vgpu_pq_fatal(struct vgpu_pq *pq)
{
	return pq->m.hdr && READ_ONCE(pq->m.hdr->status.v);
}

/* Take every posted completion; wake the waiters. Any context. */
void vgpu_pq_reap(struct vgpu_pq *pq)
{
	unsigned long fl;
	u32 n = 0;

	spin_lock_irqsave(&pq->lock, fl);
	while (pq->m.hdr && vgpu_cqe_ready(&pq->m, pq->head)) {
		struct vgpu_cqe *e = &pq->m.cq[pq->head & (pq->m.depth - 1)];
		struct vgpu_cmd *c;
		u16 cid;

		dma_rmb(); /* the entry after its phase */
		cid = le16_to_cpu(e->cid);
		c = cid < pq->m.depth ? pq->slot[cid] : NULL;
		if (c) {
			c->result = le64_to_cpu(e->result);
			c->status = VGPU_CQE_CODE(le16_to_cpu(e->status));
			pq_finish(pq, c);
		} else {
			dev_warn_ratelimited(
				&pq->vd->pdev->dev,
				"queue %u: completion for cid %u, which is not in flight\n",
				pq->qid, cid);
		}
		pq->head++;
		n++;
	}
	if (n) {
		dma_mb(); /* entries read before the slots go back */
		WRITE_ONCE(pq->m.hdr->cq_head.v, cpu_to_le32(pq->head));
		wake_up_all(&pq->wq);
	}
	spin_unlock_irqrestore(&pq->lock, fl);
}

static bool pq_slot_free(struct vgpu_pq *pq)
{
	struct vgpu_dev *vd = pq->vd;

	return READ_ONCE(pq->inflight) < pq->m.depth || READ_ONCE(vd->dead);
}

/* A cid for @c: waits for one (with @intr interruptibly: nothing is
 * submitted yet). */
int vgpu_pq_reserve(struct vgpu_pq *pq, struct vgpu_cmd *c, bool intr)
{
	unsigned long fl;
	u32 i;
	int rc;

	c->done = false;
	c->orphan = false;
	c->err = 0;
	for (;;) {
		if (intr) {
			rc = wait_event_interruptible(pq->wq, pq_slot_free(pq));
			if (rc)
				return rc;
		} else {
			wait_event(pq->wq, pq_slot_free(pq));
		}
		if (READ_ONCE(pq->vd->dead))
			return -ENODEV;
		spin_lock_irqsave(&pq->lock, fl);
		for (i = 0; i < pq->m.depth && pq->slot[i]; i++)
			;
		if (i < pq->m.depth) {
			pq->slot[i] = c;
			pq->inflight++;
			c->cid = i;
			spin_unlock_irqrestore(&pq->lock, fl);
			return 0;
		}
		spin_unlock_irqrestore(&pq->lock, fl);
	}
}

/* Give back a cid that was never submitted (or that a reset failed). */
void vgpu_pq_unreserve(struct vgpu_pq *pq, struct vgpu_cmd *c)
{
	unsigned long fl;

	spin_lock_irqsave(&pq->lock, fl);
	if (!c->done) {
		pq->slot[c->cid] = NULL;
		pq->inflight--;
		c->done = true;
	}
	spin_unlock_irqrestore(&pq->lock, fl);
	wake_up_all(&pq->wq);
}

/*
 * Publish @c (its cid reserved) and ring the doorbell if the device asks
 * for it. The tail and the doorbell go out under one lock: a doorbell
 * never carries a tail older than one the device already took.
 */
int vgpu_pq_submit(struct vgpu_pq *pq, struct vgpu_cmd *c)
{
	struct vgpu_dev *vd = pq->vd;
	struct vgpu_qhdr *h = pq->m.hdr;
	int rc = vgpu_alive_enter(vd);

	if (rc)
		return rc;
	mutex_lock(&pq->sub_lock);
	if (READ_ONCE(c->done)) { /* a reset took it back meanwhile */
		rc = c->err;
	} else {
		c->sqe.cid = cpu_to_le16(c->cid);
		pq->m.sq[pq->tail & (pq->m.depth - 1)] = c->sqe;
		pq->tail++;
		dma_wmb(); /* the entry before the tail */
		WRITE_ONCE(h->sq_tail.v, cpu_to_le32(pq->tail));
		virt_mb(); /* the tail before the device's flags */
		if (le32_to_cpu(READ_ONCE(h->dev_flags.v)) &
		    VGPU_DEV_NEED_DOORBELL) {
			vgpu_ring_doorbell(vd, pq->qid, pq->tail);
		}
		atomic64_inc(&vd->st.commands);
	}
	mutex_unlock(&pq->sub_lock);
	vgpu_alive_exit(vd);
	return rc;
}

static void pq_sleepers(struct vgpu_pq *pq, int delta)
{
	unsigned long fl;

	spin_lock_irqsave(&pq->lock, fl);
	pq->sleepers += delta;
	pq_irq_flag(pq);
	spin_unlock_irqrestore(&pq->lock, fl);
}

/* The submitter is killed: @c finishes on its own. true if it already
 * had (the caller then releases it). */
static bool pq_orphan(struct vgpu_pq *pq, struct vgpu_cmd *c)
{
	unsigned long fl;
	bool done;

	spin_lock_irqsave(&pq->lock, fl);
	done = c->done;
	if (!done) {
		c->orphan = true;
		pq->orphans++;
		pq_irq_flag(pq);
	}
	spin_unlock_irqrestore(&pq->lock, fl);
	return done;
}

static bool pq_done(struct vgpu_pq *pq, struct vgpu_cmd *c)
{
	vgpu_pq_reap(pq);
	return READ_ONCE(c->done);
}

/*
 * Wait for @c's completion: a short poll, then NEED_IRQ, a second look
 * and a sleep. With @killable, a fatal signal ends the wait early
 * (-EINTR): @c is then an orphan and its release() runs when it
 * completes. No other signal ends it: a command that ran reports its
 * result. A sleeper looks at the device now and then (a restarted
 * emulator sends no interrupt); a reset fails @c with -EIO.
 */
int vgpu_pq_wait(struct vgpu_pq *pq, struct vgpu_cmd *c, bool killable)
{
	unsigned int i, ticks = 0;
	long rc;

	for (i = 0; vgpu_poll_first && i < 20; i++) {
		if (pq_done(pq, c))
			return c->err;
		udelay(1);
	}
	while (!READ_ONCE(c->done)) {
		pq_sleepers(pq, 1);
		virt_mb(); /* NEED_IRQ before the second look */
		rc = 1;
		if (pq_done(pq, c))
			;
		else if (killable)
			rc = wait_event_killable_timeout(
				pq->wq, pq_done(pq, c),
				vgpu_check_jiffies(pq->vd));
		else
			rc = wait_event_timeout(pq->wq, pq_done(pq, c),
						vgpu_check_jiffies(pq->vd));
		pq_sleepers(pq, -1);
		if (rc < 0) {
			if (!pq_orphan(pq, c))
				return -EINTR;
			break;
		}
		if (rc == 0)
			vgpu_check_health(pq->vd, &ticks);
	}
	return c->err;
}

/*
 * Run one command of the driver's own on the admin queue and wait for it
 * (not killable: what it set up must be known to be undone; the device
 * answers admin commands at once, and a dead one is reset). 0 with
 * *status and *result, or -errno.
 */
int vgpu_admin_run(struct vgpu_dev *vd, const struct vgpu_sqe *e, u16 *status,
		   u64 *result)
{
	struct vgpu_cmd c = { .sqe = *e };
	int rc = vgpu_pq_reserve(&vd->admin, &c, false);

	if (rc)
		return rc;
	rc = vgpu_pq_submit(&vd->admin, &c);
	if (rc) {
		vgpu_pq_unreserve(&vd->admin, &c);
		return rc;
	}
	rc = vgpu_pq_wait(&vd->admin, &c, false);
	*status = c.status;
	if (result)
		*result = c.result;
	return rc;
}

/* Orphans whose completion arrived (or whose device was reset). */
void vgpu_orphan_work(struct work_struct *w)
{
	struct vgpu_dev *vd = container_of(w, struct vgpu_dev, orphan_work);
	struct vgpu_cmd *c, *n;
	LIST_HEAD(list);

	spin_lock_irq(&vd->orphan_lock);
	list_splice_init(&vd->orphans, &list);
	spin_unlock_irq(&vd->orphan_lock);
	list_for_each_entry_safe(c, n, &list, node)
	{
		list_del(&c->node);
		c->release(c);
	}
}
