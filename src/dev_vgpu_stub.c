// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vgpu-stub device (1af4:1111, class 0x120000): a 4 KiB BAR0 register
 * file, described in include/vgpu/vgpu_stub_regs.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vgpu/backend.h>
#include <vgpu/savestate.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_stub.h>

#include "dev_vgpu_stub_int.h"

/* The engine's view of our BAR0, which no guest buffer may overlap. */
static struct engine *engine_of(struct vdev *d)
{
	struct engine *en = stub(d)->en;

	if (en)
		engine_set_bar(en, d->st->bar0_base,
			       d->st->bar0_mapped ? VGPU_BAR0_SIZE : 0);
	return en;
}

/* For the queue registers of a restarted emulator: no engine calls. */
static struct ring_ctx ring_ctx_of(struct vdev *d)
{
	return (struct ring_ctx){
		.host = d->host,
		.log = d->log,
		.max_depth = MAX_QDEPTH,
		.bar_lo = d->st->bar0_base,
		.bar_len = d->st->bar0_mapped ? VGPU_BAR0_SIZE : 0,
	};
}

/* The queue Q_SELECT names, or NULL. */
static struct ring_queue *selected(struct vgpu_stub *s)
{
	return s->q_select < NR_QUEUES ? &s->q[s->q_select] : NULL;
}

static uint32_t factorial32(uint32_t n)
{
	uint32_t r = 1, i;

	/* n! has 32 factors of two from n = 34 on: the result is 0 there */
	if (n >= 34)
		return 0;
	for (i = 2; i <= n; i++)
		r *= i;
	return r;
}

/* The Q_ window of the queue Q_SELECT names. */
static uint32_t queue_read(struct vgpu_stub *s, uint32_t off)
{
	const struct ring_queue *q = selected(s);

	if (!q)
		return off == VGPU_REG_Q_ERROR ? VGPU_QERR_NO_QUEUE : 0;
	switch (off) {
	case VGPU_REG_Q_DEPTH:
		return q->depth;
	case VGPU_REG_Q_SQ_GPA:
		return (uint32_t)q->sq_gpa;
	case VGPU_REG_Q_SQ_GPA + 4:
		return (uint32_t)(q->sq_gpa >> 32);
	case VGPU_REG_Q_CQ_GPA:
		return (uint32_t)q->cq_gpa;
	case VGPU_REG_Q_CQ_GPA + 4:
		return (uint32_t)(q->cq_gpa >> 32);
	case VGPU_REG_Q_HDR_GPA:
		return (uint32_t)q->hdr_gpa;
	case VGPU_REG_Q_HDR_GPA + 4:
		return (uint32_t)(q->hdr_gpa >> 32);
	case VGPU_REG_Q_ENABLE:
		return q->live;
	case VGPU_REG_Q_ERROR:
		return q->error;
	case VGPU_REG_Q_SESSION:
		return q->session;
	}
	return 0;
}

static uint32_t vgpu_stub_reg_read(struct vdev *d, uint32_t off)
{
	struct vgpu_stub *s = stub(d);

	switch (off) {
	case VGPU_REG_MAGIC:
		return VGPU_MAGIC;
	case VGPU_REG_VERSION:
		return VGPU_ABI_VERSION;
	case VGPU_REG_FEATURES:
		return VGPU_F_QUEUES | VGPU_F_MSI | VGPU_F_SESSIONS |
		       VGPU_F_INFLIGHT |
		       (stub_evtchn_offered(d) ? VGPU_F_EVTCHN : 0) |
		       (s->en && engine_grants(s->en) ? VGPU_F_GRANT : 0);
	case VGPU_REG_STATUS:
		return s->status;
	case VGPU_REG_RESET_COUNT:
		return s->reset_count;
	case VGPU_REG_SCRATCH:
		return s->scratch;
	case VGPU_REG_COMPUTE_IN:
		return s->compute_in;
	case VGPU_REG_COMPUTE_OUT:
		return s->compute_out;
	case VGPU_REG_MAX_QUEUES:
		return NR_QUEUES;
	case VGPU_REG_MAX_QDEPTH:
		return MAX_QDEPTH;
	case VGPU_REG_MAX_SGL:
		return MAX_SGL;
	case VGPU_REG_DEVMEM_PAGES: {
		uint64_t pages = s->lim.devmem / 4096;

		return pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
	}
	case VGPU_REG_MAX_SESSIONS:
		return s->lim.sessions;
	case VGPU_REG_EVTCHN:
		return s->evt.port;
	case VGPU_REG_INFLIGHT:
		return s->en ? engine_inflight(s->en) : 0;
	case VGPU_REG_Q_SELECT:
		return s->q_select;
	case VGPU_REG_INTR_STATUS: {
		/* read to clear (a sub-dword read clears it all); INTA drops */
		uint32_t v = s->intr_status;

		s->intr_status = 0;
		stub_update_intx(d);
		return v;
	}
	case VGPU_REG_INTR_MASK:
		return s->intr_mask;
	}
	if (off >= VGPU_REG_Q_DEPTH && off <= VGPU_REG_Q_SESSION)
		return queue_read(s, off);
	if (off >= VGPU_REG_DOORBELL(0) && off < VGPU_DOORBELLS_END)
		return 0; /* write-only */
	if (off - VGPU_REG_SCRATCH_RAM < 4 * VGPU_SCRATCH_RAM_WORDS)
		return s->scratch_ram[(off - VGPU_REG_SCRATCH_RAM) / 4];
	log_guest(d->log, "guest: read of unimplemented bar0 offset 0x%03x",
		  off);
	return 0;
}

/* Every session ends, every queue stops, device memory is freed (once
 * the backend drained); registers return to 0 but for the reset count. */
static void vgpu_stub_reset(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);
	struct engine *en = engine_of(d);
	struct backend *be = s->be;
	struct engine_limits lim = s->lim;
	uint32_t resets = s->reset_count + 1;
	bool own = s->own_be;

	if (en)
		engine_reset(en);
	stub_evtchn_unbind(d, &s->evt);
	s->intr_status = 0;
	stub_update_intx(d); /* deasserts */
	memset(s, 0, sizeof(*s));
	s->reset_count = resets;
	s->be = be;
	s->own_be = own;
	s->en = en;
	s->lim = lim;
}

/*
 * A queue's live flag as a previous process left it: only 0 or 1 is a
 * bool (reading anything else as one is undefined), anything else is a
 * corrupt state and the queue is dropped. From here on it is a bool.
 */
static bool state_live(struct ring_queue *q)
{
	unsigned char b;

	memcpy(&b, &q->live, sizeof(b));
	q->live = false;
	return b == 1;
}

/*
 * Queue @q as a previous process left it, its mappings gone. A crashed
 * predecessor's queues stop with RESTART (sessions and commands in flight
 * died with it). A restored device (save, migration) keeps a privileged
 * queue without a session live, from the indices it stopped at: true is
 * returned, the engine adopts it. Sessions and device memory do not
 * travel: a session queue stops with RESTART, and if any existed when the
 * state was taken (held), every queue does (the driver's device-lost
 * path: it resets the device and starts again).
 */
static bool resume_queue(struct vdev *d, struct ring_queue *q,
			 const struct ring_ctx *c, bool resumed)
{
	uint32_t session = q->session;

	q->hdr = NULL; /* a previous process's mappings */
	q->sq = NULL;
	q->cq = NULL;
	q->session = 0;
	q->cq_reserved = 0;
	q->posted = false;
	if (!state_live(q) || !resumed)
		return false;
	q->live = true;
	if (ring_remap(q, c) < 0) {
		q->live = false;
		return false;
	}
	if (d->restored && session == 0 && !stub(d)->held &&
	    ring_state_ok(q, c))
		return true;
	ring_set_fatal(q, VGPU_QERR_RESTART);
	return false;
}

static void vgpu_stub_start(struct vdev *d, bool resumed)
{
	const struct vgpu_stub_cfg *cfg = d->model_cfg;
	struct vgpu_stub *s = stub(d);
	struct ring_ctx c = ring_ctx_of(d);
	uint32_t adopt = 0;
	unsigned int i;

	for (i = 0; i < NR_QUEUES; i++)
		if (resume_queue(d, &s->q[i], &c, resumed))
			adopt |= 1u << i;
	/* The event channel a crashed predecessor bound is bound again; a
	 * restored device's (save, migration) was the old domain's port. */
	if (resumed && !d->restored)
		stub_evtchn_restart(d, &s->evt);
	else
		memset(&s->evt, 0, sizeof(s->evt));
	s->be = cfg ? cfg->be : NULL;
	s->own_be = false;
	s->en = NULL;
	if (cfg)
		s->lim = cfg->limits;
	else
		engine_limits_default(&s->lim);
	if (!s->be) {
		s->be = backend_cpu_create(VGPU_STUB_CPU_THREADS);
		s->own_be = s->be != NULL;
	}
	if (s->be)
		s->en = engine_create(d->host, s->be, d->log, &s->lim, s->q,
				      NR_QUEUES);
	if (!s->en)
		log_err(d->log, "no command engine: queues cannot be enabled");
	for (i = 0; i < NR_QUEUES; i++)
		if ((adopt & 1u << i) &&
		    (!s->en || engine_queue_adopt(s->en, i) < 0))
			ring_set_fatal(&s->q[i], VGPU_QERR_RESTART);
}

static void vgpu_stub_invalidate(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);
	struct ring_ctx c = ring_ctx_of(d);
	unsigned int i;

	for (i = 0; i < NR_QUEUES; i++)
		ring_unmap(&s->q[i], &c);
}

static void vgpu_stub_fini(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);

	if (s->en) {
		const struct engine_stats *st = engine_stats(s->en);

		log_info(
			d->log,
			"queues: %llu doorbells, %llu commands, %llu launches, %llu interrupts asked, %llu sessions, %llu lost, %llu doorbells by event channel",
			(unsigned long long)st->doorbells,
			(unsigned long long)st->commands,
			(unsigned long long)st->launches,
			(unsigned long long)st->irqs,
			(unsigned long long)st->sessions,
			(unsigned long long)st->lost,
			(unsigned long long)st->kicks);
		engine_destroy(s->en);
	}
	s->en = NULL;
	stub_evtchn_unbind(d, &s->evt);
	vgpu_stub_invalidate(d); /* no mapping outlives the device */
	if (s->be && s->own_be)
		s->be->ops->destroy(s->be);
	s->be = NULL;
}

/* Completions, rung and hot queues; true while a queue is hot. */
static bool vgpu_stub_poll(struct vdev *d)
{
	struct engine *en = engine_of(d);
	uint32_t irq = 0;
	bool hot;

	if (!en)
		return false;
	hot = engine_poll(en, &irq);
	stub(d)->held = engine_holds_state(en);
	if (irq)
		stub_raise_irq(d, irq);
	return hot;
}

static int vgpu_stub_poll_fd(struct vdev *d)
{
	return stub(d)->en ? engine_poll_fd(stub(d)->en) : -1;
}

/* A notification on the event channel: a doorbell for every queue. */
static void vgpu_stub_evtchn(struct vdev *d)
{
	struct vgpu_stub *s = stub(d);

	s->evt.kicks++;
	if (s->en && engine_kick(s->en))
		d->deferred = true;
}

/* After the doorbell's ioreq completed: run the queues it named. */
static void vgpu_stub_deferred(struct vdev *d)
{
	vgpu_stub_poll(d);
}

/* Q_ registers of the selected queue; programmable while it is off. */
static void queue_write(struct vdev *d, uint32_t off, uint32_t val,
			uint32_t bytes)
{
	struct vgpu_stub *s = stub(d);
	struct ring_queue *q = selected(s);
	struct engine *en = engine_of(d);
	uint64_t *gpa = NULL;

	if (!q)
		return;
	if (off == VGPU_REG_Q_ENABLE) {
		if (!(val & bytes & 1)) {
			if (en)
				engine_queue_disable(en, s->q_select);
			else
				ring_disable(q, &(struct ring_ctx){
							.host = d->host });
		} else if (!en || engine_queue_enable(en, s->q_select) < 0) {
			if (!en)
				q->error = VGPU_QERR_MAP;
			log_guest(d->log,
				  "guest: queue %u not enabled: error %u",
				  s->q_select, q->error);
		}
		return;
	}
	if (q->live) {
		log_guest(d->log,
			  "guest: queue %u reprogrammed while live: ignored",
			  s->q_select);
		return;
	}
	switch (off & ~7u) {
	case VGPU_REG_Q_SQ_GPA:
		gpa = &q->sq_gpa;
		break;
	case VGPU_REG_Q_CQ_GPA:
		gpa = &q->cq_gpa;
		break;
	case VGPU_REG_Q_HDR_GPA:
		gpa = &q->hdr_gpa;
		break;
	}
	if (off == VGPU_REG_Q_DEPTH) {
		q->depth = (q->depth & ~bytes) | (val & bytes);
	} else if (gpa) {
		unsigned int shift = off & 4 ? 32 : 0;
		uint64_t mask = (uint64_t)bytes << shift;

		*gpa = (*gpa & ~mask) | ((uint64_t)val << shift & mask);
	}
}

static void doorbell(struct vdev *d, uint32_t off, uint32_t val, uint32_t bytes)
{
	struct vgpu_stub *s = stub(d);
	uint32_t qi = (off - VGPU_REG_DOORBELL(0)) / 8;

	if ((off & 7) || bytes != 0xffffffffu || qi >= NR_QUEUES) {
		log_guest(d->log, "guest: bad doorbell write at 0x%03x", off);
		return;
	}
	if (s->evt.port)
		s->evt.mmio_bells++;
	/* record and go: the commands run once this request is answered */
	if (s->en && engine_doorbell(s->en, qi, val))
		d->deferred = true;
}

static uint32_t merge(uint32_t old, uint32_t val, uint32_t bytes)
{
	return (old & ~bytes) | (val & bytes);
}

static void vgpu_stub_reg_write(struct vdev *d, uint32_t off, uint32_t val,
				uint32_t bytes)
{
	struct vgpu_stub *s = stub(d);
	uint32_t v;

	switch (off) {
	case VGPU_REG_STATUS:
		v = merge(s->status, val, bytes);
		if (v == 0) {
			vgpu_stub_reset(d);
			log_guest_msg(d->log, LOG_INFO,
				      "device reset by the guest");
		} else {
			s->status = v & VGPU_STATUS_DRIVER_MASK;
		}
		return;
	case VGPU_REG_SCRATCH:
		s->scratch = merge(s->scratch, val, bytes);
		return;
	case VGPU_REG_COMPUTE_IN:
		s->compute_in = merge(s->compute_in, val, bytes);
		s->compute_out = factorial32(s->compute_in);
		return;
	case VGPU_REG_Q_SELECT:
		s->q_select = merge(s->q_select, val, bytes);
		return;
	case VGPU_REG_INTR_MASK:
		s->intr_mask = merge(s->intr_mask, val, bytes);
		stub_update_intx(d);
		return;
	case VGPU_REG_EVTCHN:
		if (bytes == 0xffffffffu)
			stub_evtchn_write(d, &s->evt, val);
		else
			log_guest(d->log, "guest: partial event channel write");
		return;
	}
	if (off >= VGPU_REG_Q_DEPTH && off <= VGPU_REG_Q_ENABLE) {
		queue_write(d, off, val, bytes);
		return;
	}
	if (off >= VGPU_REG_DOORBELL(0) && off < VGPU_DOORBELLS_END) {
		doorbell(d, off, val, bytes);
		return;
	}
	if (off - VGPU_REG_SCRATCH_RAM < 4 * VGPU_SCRATCH_RAM_WORDS) {
		uint32_t *w = &s->scratch_ram[(off - VGPU_REG_SCRATCH_RAM) / 4];

		*w = merge(*w, val, bytes);
		return;
	}
	log_guest(
		d->log,
		"guest: write of 0x%08x to read-only or unimplemented bar0 offset 0x%03x dropped",
		val & bytes, off);
}

static int vgpu_stub_save_check(const void *priv, char *why, size_t len)
{
	const struct vgpu_stub *s = priv;
	unsigned int i;

	for (i = 0; i < NR_QUEUES; i++) {
		const struct ring_queue *q = &s->q[i];
		unsigned char live;

		memcpy(&live, &q->live, 1);
		if (live == 1 && q->cq_reserved) {
			snprintf(why, len, "queue %u has %u commands in flight",
				 i, q->cq_reserved);
			return -EBUSY;
		}
	}
	return 0;
}

const struct vdev_ops vgpu_stub_ops = {
	.name = "vgpu-stub",
	.bar0_size = VGPU_BAR0_SIZE,
	.priv_size = sizeof(struct vgpu_stub),
	.init_cfg = stub_init_cfg,
	.reg_read = vgpu_stub_reg_read,
	.reg_write = vgpu_stub_reg_write,
	.reset = vgpu_stub_reset,
	.start = vgpu_stub_start,
	.fini = vgpu_stub_fini,
	.deferred = vgpu_stub_deferred,
	.invalidate = vgpu_stub_invalidate,
	.cfg_written = stub_cfg_written,
	.poll_fd = vgpu_stub_poll_fd,
	.poll = vgpu_stub_poll,
	.save_check = vgpu_stub_save_check,
	.evtchn = vgpu_stub_evtchn,
};
