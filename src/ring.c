// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command-queue engine; see ring.h. Guest memory is hostile and may
 * change under us at any time: indices are read once per use, entries
 * and lists are copied before validation, and nothing is re-read after.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include <vgpu/ring.h>

#define PAGE 4096u

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t pages_for(uint64_t bytes)
{
	return (uint32_t)((bytes + PAGE - 1) / PAGE);
}

/* [gpa, gpa + len) is page aligned where asked, does not wrap and stays
 * clear of the device's own BAR. */
static bool gpa_ok(const struct ring_ctx *c, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return false;
	return gpa + len <= c->bar_lo || gpa >= c->bar_lo + c->bar_len;
}

static uint32_t load(const struct vgpu_qhdr_line *l)
{
	return __atomic_load_n(&l->v, __ATOMIC_ACQUIRE);
}

static void store(struct vgpu_qhdr_line *l, uint32_t v)
{
	__atomic_store_n(&l->v, v, __ATOMIC_RELEASE);
}

void ring_unmap(struct ring_queue *q, const struct ring_ctx *c)
{
	struct host *h = c->host;

	if (q->hdr)
		h->ops->unmap_guest(h, q->hdr, 1);
	if (q->sq)
		h->ops->unmap_guest(h, q->sq, q->sq_pages);
	if (q->cq)
		h->ops->unmap_guest(h, q->cq, q->cq_pages);
	q->hdr = NULL;
	q->sq = NULL;
	q->cq = NULL;
}

void ring_disable(struct ring_queue *q, const struct ring_ctx *c)
{
	ring_unmap(q, c);
	q->live = false;
	q->posted = false;
	q->sq_head = q->cq_tail = q->cq_reserved = 0;
	q->phase = 0;
}

int ring_remap(struct ring_queue *q, const struct ring_ctx *c)
{
	struct host *h = c->host;

	ring_unmap(q, c);
	if (!h->ops->map_guest)
		return -1;
	q->hdr = h->ops->map_guest(h, q->hdr_gpa, 1, true);
	q->sq = h->ops->map_guest(h, q->sq_gpa, q->sq_pages, false);
	q->cq = h->ops->map_guest(h, q->cq_gpa, q->cq_pages, true);
	if (!q->hdr || !q->sq || !q->cq) {
		ring_unmap(q, c);
		return -1;
	}
	return 0;
}

bool ring_state_ok(const struct ring_queue *q, const struct ring_ctx *c)
{
	uint64_t sq_len = (uint64_t)q->depth * sizeof(struct vgpu_sqe);
	uint64_t cq_len = (uint64_t)q->depth * sizeof(struct vgpu_cqe);

	return pow2(q->depth) && q->depth >= 2 && q->depth <= c->max_depth &&
	       !((q->sq_gpa | q->cq_gpa | q->hdr_gpa) & (PAGE - 1)) &&
	       gpa_ok(c, q->sq_gpa, sq_len) && gpa_ok(c, q->cq_gpa, cq_len) &&
	       gpa_ok(c, q->hdr_gpa, PAGE) &&
	       q->sq_pages == pages_for(sq_len) &&
	       q->cq_pages == pages_for(cq_len) &&
	       (q->phase == 0 || q->phase == VGPU_CQE_PHASE);
}

static int fail(struct ring_queue *q, const struct ring_ctx *c, uint32_t err)
{
	ring_disable(q, c);
	q->error = err;
	return -1;
}

int ring_enable(struct ring_queue *q, const struct ring_ctx *c)
{
	uint64_t sq_len, cq_len;

	ring_disable(q, c);
	q->error = VGPU_QERR_NONE;
	if (!pow2(q->depth) || q->depth < 2 || q->depth > c->max_depth)
		return fail(q, c, VGPU_QERR_BAD_DEPTH);
	sq_len = (uint64_t)q->depth * sizeof(struct vgpu_sqe);
	cq_len = (uint64_t)q->depth * sizeof(struct vgpu_cqe);
	if ((q->sq_gpa | q->cq_gpa | q->hdr_gpa) & (PAGE - 1) ||
	    !gpa_ok(c, q->sq_gpa, sq_len) || !gpa_ok(c, q->cq_gpa, cq_len) ||
	    !gpa_ok(c, q->hdr_gpa, PAGE))
		return fail(q, c, VGPU_QERR_BAD_GPA);
	q->sq_pages = pages_for(sq_len);
	q->cq_pages = pages_for(cq_len);
	if (ring_remap(q, c) < 0)
		return fail(q, c, VGPU_QERR_MAP);
	q->phase = VGPU_CQE_PHASE; /* the first pass writes phase 1 */
	store(&q->hdr->sq_head, 0);
	store(&q->hdr->status, 0);
	/* not polled yet: every submission needs the doorbell */
	store(&q->hdr->dev_flags, VGPU_DEV_NEED_DOORBELL);
	q->live = true;
	return 0;
}

void ring_set_fatal(struct ring_queue *q, uint32_t err)
{
	q->error = err;
	if (q->hdr)
		store(&q->hdr->status, err);
	q->live = false;
}

/*
 * The queue's pages, mapped again on first use after an INVALIDATE dropped
 * them (a guest that maps or unmaps grants causes them); if that fails the
 * queue is FATAL (QERR_MAP) and false.
 */
static bool ring_mapped(struct ring_queue *q, const struct ring_ctx *c)
{
	if (q->hdr)
		return true;
	if (ring_remap(q, c) == 0)
		return true;
	ring_set_fatal(q, VGPU_QERR_MAP);
	return false;
}

bool ring_doorbell(struct ring_queue *q, const struct ring_ctx *c,
		   uint32_t tail)
{
	if (!q->live)
		return false;
	/* unsigned distance: a tail more than depth ahead is corrupt */
	if (tail - q->sq_head > q->depth) {
		/* the driver reads FATAL in the header (if it cannot be
		 * mapped, Q_ERROR still says TAIL) */
		ring_mapped(q, c);
		ring_set_fatal(q, VGPU_QERR_TAIL);
		return false;
	}
	return true;
}

/* Room for one more completion, counting the slots promised to commands
 * still running? (A driver that moves cq_head past the tail only loses
 * completions of its own.) */
static bool cq_reserve(struct ring_queue *q)
{
	if (q->cq_tail + q->cq_reserved - load(&q->hdr->cq_head) >= q->depth)
		return false;
	q->cq_reserved++;
	return true;
}

void ring_post(struct ring_queue *q, const struct ring_ctx *c, uint16_t cid,
	       uint32_t status, uint64_t result, bool quiet)
{
	struct vgpu_cqe *e;

	if (q->cq_reserved)
		q->cq_reserved--;
	if (quiet && status == VGPU_S_OK)
		return;
	/* the queue went away meanwhile, or cannot be mapped again after
	 * an INVALIDATE while the command ran */
	if (!q->live || !ring_mapped(q, c))
		return;
	e = &q->cq[q->cq_tail & (q->depth - 1)];
	e->result = result;
	e->cid = cid;
	e->rsvd = 0;
	/* the entry is complete before its phase says so */
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&e->status, (uint16_t)(status << 1 | q->phase),
			 __ATOMIC_RELAXED);
	q->cq_tail++;
	if ((q->cq_tail & (q->depth - 1)) == 0)
		q->phase ^= VGPU_CQE_PHASE;
	q->completed++;
	q->posted = true;
}

/*
 * Issue 14, finding 5: the driver stores NEED_IRQ, issues a full barrier
 * and then re-reads the CQ; we store the completion (and sq_head) and
 * then load drv_flags. Without a full barrier between our stores and our
 * load, x86 may perform the load first (store buffering): both sides miss
 * each other and the driver sleeps on a completion nobody signals.
 */
bool ring_irq_wanted(struct ring_queue *q)
{
	if (!q->posted || !q->hdr)
		return false;
	q->posted = false;
	atomic_thread_fence(memory_order_seq_cst);
	return load(&q->hdr->drv_flags) & VGPU_DRV_NEED_IRQ;
}

/* Continuation slots a LAUNCH entry announces; 0 for other commands and
 * for a LAUNCH whose parameters cannot fit the ring (exec refuses it). */
static uint32_t cont_slots(const struct ring_queue *q, const struct vgpu_sqe *e)
{
	uint32_t n;

	if (e->opcode != VGPU_OP_LAUNCH || e->launch.param_len > VGPU_PARAM_MAX)
		return 0;
	n = (e->launch.param_len + 63) / 64;
	return n < q->depth ? n : 0;
}

/* Gather the continuation slots after the entry at @head (wrapping). */
static void gather(const struct ring_queue *q, uint32_t head, uint32_t n,
		   uint8_t *out)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		memcpy(out + 64 * i, &q->sq[(head + 1 + i) & (q->depth - 1)],
		       64);
}

/* Fetch, reserve, run one entry. false: stop (nothing more to take now). */
static bool take_one(struct ring_queue *q, const struct ring_ctx *c,
		     uint32_t tail)
{
	uint8_t params[VGPU_PARAM_MAX + 64];
	struct vgpu_sqe e;
	uint64_t result = 0;
	uint32_t status = VGPU_S_OK, n, plen;
	enum ring_exec r;

	/* copy first; the guest may rewrite the slot meanwhile */
	memcpy(&e, &q->sq[q->sq_head & (q->depth - 1)], sizeof(e));
	n = cont_slots(q, &e);
	if (tail - q->sq_head < 1 + n)
		return false; /* its parameters are not all submitted yet */
	/* a completion must fit before anything runs: a command is
	 * executed exactly once */
	if (!cq_reserve(q))
		return false;
	gather(q, q->sq_head, n, params);
	/* a LAUNCH whose parameters could not be gathered gets none */
	plen = n ? e.launch.param_len : 0;
	r = c->exec(c->arg, q, &e, n ? params : NULL, plen, &status, &result);
	if (r == RING_RETRY) {
		q->cq_reserved--;
		return false;
	}
	q->sq_head += 1 + n;
	store(&q->hdr->sq_head, q->sq_head);
	if (r == RING_DONE)
		ring_post(q, c, e.cid, status, result,
			  e.flags & VGPU_SQE_QUIET);
	return q->live; /* exec may have disabled the queue */
}

bool ring_pending(const struct ring_queue *q)
{
	/* unmapped since an INVALIDATE: unknown, so looked at */
	return q->live && (!q->hdr || load(&q->hdr->sq_tail) != q->sq_head);
}

bool ring_process(struct ring_queue *q, const struct ring_ctx *c)
{
	uint32_t tail, start;

	if (!q->live || !ring_mapped(q, c))
		return false;
	tail = load(&q->hdr->sq_tail);
	if (tail - q->sq_head > q->depth) {
		ring_set_fatal(q, VGPU_QERR_TAIL);
		return false;
	}
	q->seen_tail = tail;
	start = q->sq_head;
	while (q->sq_head != tail && q->sq_head - start < q->depth)
		if (!take_one(q, c, tail))
			break;
	return q->live && ring_irq_wanted(q);
}

void ring_poll_start(struct ring_queue *q)
{
	if (q->live && q->hdr)
		store(&q->hdr->dev_flags, 0);
}

bool ring_poll_stop(struct ring_queue *q)
{
	if (!q->live || !q->hdr)
		return false;
	store(&q->hdr->dev_flags, VGPU_DEV_NEED_DOORBELL);
	/* the submitter publishes its tail, then reads dev_flags: one of
	 * us sees the other's store */
	atomic_thread_fence(memory_order_seq_cst);
	return load(&q->hdr->sq_tail) != q->seen_tail;
}
