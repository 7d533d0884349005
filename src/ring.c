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
#include <vgpu/vgpu_stub_regs.h>

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
	q->sq_head = q->cq_tail = 0;
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
	/* v1 has no polling thread: every submission needs the doorbell */
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

bool ring_doorbell(struct ring_queue *q, uint32_t tail)
{
	if (!q->live)
		return false;
	/* unsigned distance: a tail more than depth ahead is corrupt */
	if (tail - q->sq_head > q->depth) {
		ring_set_fatal(q, VGPU_QERR_TAIL);
		return false;
	}
	return true;
}

/* Copy the command's scatter-gather list out of guest memory and check
 * every entry; the total length on success, 0 on a bad list. */
static uint64_t read_sgl(const struct ring_ctx *c, const struct vgpu_sqe *e,
			 struct vgpu_sgl_entry *sgl, uint32_t *status)
{
	uint64_t total = 0;
	uint32_t i;

	if (e->sgl_nents == 0 || e->sgl_nents > c->max_sgl ||
	    e->sgl_nents > PAGE / sizeof(*sgl) || (e->sgl_gpa & (PAGE - 1)) ||
	    !gpa_ok(c, e->sgl_gpa, PAGE)) {
		*status = VGPU_S_INVALID;
		return 0;
	}
	if (c->host->ops->copy_from_guest(c->host, sgl, e->sgl_gpa,
					  e->sgl_nents * sizeof(*sgl)) < 0) {
		*status = VGPU_S_BAD_GPA;
		return 0;
	}
	for (i = 0; i < e->sgl_nents; i++) {
		if (sgl[i].rsvd || sgl[i].len == 0 ||
		    (sgl[i].gpa & (PAGE - 1)) + sgl[i].len > PAGE ||
		    !gpa_ok(c, sgl[i].gpa, sgl[i].len)) {
			*status = VGPU_S_INVALID;
			return 0;
		}
		total += sgl[i].len;
	}
	return total;
}

/* Move the SGL's bytes between guest pages and device memory: one copy,
 * straight from or into the mapped guest page. */
static uint32_t copy_sgl(const struct ring_ctx *c,
			 const struct vgpu_sgl_entry *sgl, uint32_t n,
			 uint64_t dptr, bool to_device)
{
	struct host *h = c->host;
	uint32_t i, status = VGPU_S_OK;

	for (i = 0; i < n && status == VGPU_S_OK; i++) {
		uint64_t page = sgl[i].gpa & ~(uint64_t)(PAGE - 1);
		uint8_t *va = h->ops->map_guest(h, page, 1, !to_device);

		if (!va)
			return VGPU_S_BAD_GPA;
		va += sgl[i].gpa - page;
		if (to_device ? c->be->ops->h2d(c->be, dptr, va, sgl[i].len) :
				c->be->ops->d2h(c->be, va, dptr, sgl[i].len))
			status = VGPU_S_BAD_ADDRESS;
		h->ops->unmap_guest(h, va - (sgl[i].gpa - page), 1);
		dptr += sgl[i].len;
	}
	return status;
}

static uint32_t get_info(const struct ring_ctx *c, const struct vgpu_sqe *e)
{
	struct vgpu_sgl_entry sgl[PAGE / sizeof(struct vgpu_sgl_entry)];
	struct vgpu_info info;
	uint32_t status = VGPU_S_OK, i;
	uint64_t total = read_sgl(c, e, sgl, &status), off = 0;

	if (!total)
		return status;
	if (total < sizeof(info))
		return VGPU_S_INVALID;
	memset(&info, 0, sizeof(info));
	info.abi_version = VGPU_ABI_VERSION;
	info.features = VGPU_F_QUEUES;
	info.max_qdepth = c->max_depth;
	info.max_sgl = c->max_sgl;
	info.devmem_quota = c->be->quota;
	strncpy(info.backend, c->be->ops->name, sizeof(info.backend) - 1);
	for (i = 0; i < e->sgl_nents && off < sizeof(info); i++) {
		uint64_t n = sgl[i].len < sizeof(info) - off ?
				     sgl[i].len :
				     sizeof(info) - off;

		if (c->host->ops->copy_to_guest(c->host, sgl[i].gpa,
						(uint8_t *)&info + off, n) < 0)
			return VGPU_S_BAD_GPA;
		off += n;
	}
	return VGPU_S_OK;
}

static uint32_t memcpy_cmd(const struct ring_ctx *c, const struct vgpu_sqe *e,
			   bool to_device)
{
	struct vgpu_sgl_entry sgl[PAGE / sizeof(struct vgpu_sgl_entry)];
	uint32_t status = VGPU_S_OK;
	uint64_t total;

	if (e->arg[2] || e->arg[3])
		return VGPU_S_INVALID;
	total = read_sgl(c, e, sgl, &status);
	if (!total)
		return status;
	if (total != e->arg[1])
		return VGPU_S_INVALID;
	if (c->be->ops->mem_check(c->be, e->arg[0], total))
		return VGPU_S_BAD_ADDRESS;
	return copy_sgl(c, sgl, e->sgl_nents, e->arg[0], to_device);
}

/* Run one command (already copied out of the ring). */
static uint32_t exec_cmd(const struct ring_ctx *c, const struct vgpu_sqe *e,
			 uint64_t *result)
{
	struct backend *be = c->be;
	bool no_sgl = e->sgl_nents == 0 && e->sgl_gpa == 0;
	int rc;

	*result = 0;
	if (e->session || e->rsvd1 || e->rsvd2 || (e->flags & ~VGPU_SQE_QUIET))
		return VGPU_S_INVALID;
	switch (e->opcode) {
	case VGPU_OP_NOP:
		return no_sgl && !(e->arg[0] | e->arg[1] | e->arg[2] |
				   e->arg[3]) ?
			       VGPU_S_OK :
			       VGPU_S_INVALID;
	case VGPU_OP_GET_INFO:
		if (e->arg[0] | e->arg[1] | e->arg[2] | e->arg[3])
			return VGPU_S_INVALID;
		return get_info(c, e);
	case VGPU_OP_MEM_ALLOC:
		if (!no_sgl || e->arg[1] | e->arg[2] | e->arg[3] || !e->arg[0])
			return VGPU_S_INVALID;
		rc = be->ops->mem_alloc(be, e->arg[0], result);
		return rc == 0 ? VGPU_S_OK : VGPU_S_NO_MEMORY;
	case VGPU_OP_MEM_FREE:
		if (!no_sgl || e->arg[1] | e->arg[2] | e->arg[3])
			return VGPU_S_INVALID;
		return be->ops->mem_free(be, e->arg[0]) ? VGPU_S_BAD_ADDRESS :
							  VGPU_S_OK;
	case VGPU_OP_MEMCPY_H2D:
	case VGPU_OP_MEMCPY_D2H:
		return memcpy_cmd(c, e, e->opcode == VGPU_OP_MEMCPY_H2D);
	case VGPU_OP_COMPUTE:
		if (!no_sgl || e->arg[3] == 0 || e->arg[3] % 4)
			return VGPU_S_INVALID;
		if (e->arg[0] != VGPU_K_ADD1_U32 && e->arg[0] != VGPU_K_XOR_U32)
			return VGPU_S_INVALID;
		rc = be->ops->compute(be, (uint32_t)e->arg[0], e->arg[1],
				      e->arg[2], e->arg[3], result);
		return rc == 0 ? VGPU_S_OK : VGPU_S_BAD_ADDRESS;
	}
	return VGPU_S_INVALID;
}

/* Room for one more completion? (A driver that moves cq_head past the
 * tail only loses completions of its own.) */
static bool cq_room(const struct ring_queue *q)
{
	return q->cq_tail - load(&q->hdr->cq_head) < q->depth;
}

static void post(struct ring_queue *q, uint16_t cid, uint32_t status,
		 uint64_t result)
{
	struct vgpu_cqe *e = &q->cq[q->cq_tail & (q->depth - 1)];

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
}

bool ring_process(struct ring_queue *q, const struct ring_ctx *c)
{
	uint32_t tail, done = 0;
	bool posted = false;

	if (!q->live)
		return false;
	/* mappings dropped on INVALIDATE come back on first use */
	if (!q->hdr && ring_remap(q, c) < 0) {
		ring_set_fatal(q, VGPU_QERR_MAP);
		return false;
	}
	tail = load(&q->hdr->sq_tail);
	if (tail - q->sq_head > q->depth) {
		ring_set_fatal(q, VGPU_QERR_TAIL);
		return false;
	}
	while (q->sq_head != tail && done < q->depth) {
		struct vgpu_sqe e;
		uint64_t result;
		uint32_t status;

		/* a completion must fit before anything runs: a command is
		 * executed exactly once */
		if (!cq_room(q))
			break;
		/* copy first; the guest may rewrite the slot meanwhile */
		memcpy(&e, &q->sq[q->sq_head & (q->depth - 1)], sizeof(e));
		status = exec_cmd(c, &e, &result);
		if (status != VGPU_S_OK || !(e.flags & VGPU_SQE_QUIET)) {
			post(q, e.cid, status, result);
			posted = true;
		}
		q->sq_head++;
		store(&q->hdr->sq_head, q->sq_head);
		done++;
	}
	return posted && (load(&q->hdr->drv_flags) & VGPU_DRV_NEED_IRQ);
}
