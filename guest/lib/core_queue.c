// SPDX-License-Identifier: MIT
/*
 * Submission and completion on the session queue, mapped into this
 * process: entries (and a LAUNCH's continuation slots) are written
 * straight into the SQ, the tail is published with release semantics, a
 * full fence orders it before the look at the header's NEED_DOORBELL,
 * and the doorbell is rung only when the device asked for it.
 * Completions are matched by cid, in whatever order they come: commands
 * someone waits for get a slot (cid VGPU_CID_TRACKED | slot), the
 * asynchronous ones (QUIET) a running number below that, and only their
 * failures ever come back. Waiting polls the CQ for spin_ns, then one
 * thread at a time sleeps in the transport while the others wait on the
 * session's condition variable.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core_priv.h"

static uint32_t load_acq(const struct vgpu_qhdr_line *l)
{
	return __atomic_load_n(&l->v, __ATOMIC_ACQUIRE);
}

static void store_rel(struct vgpu_qhdr_line *l, uint32_t v)
{
	__atomic_store_n(&l->v, v, __ATOMIC_RELEASE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int vgpu_status_is_fatal(int status)
{
	return status == VGPU_S_FAULT || status == VGPU_S_TIMEOUT ||
	       status == VGPU_S_SESSION_LOST || status == VGPU_S_RESET ||
	       status == VGPU_L_IO || status == VGPU_L_QUEUE;
}

/* Lock held. The first fatal status is what the session reports. */
static void set_sticky(struct vgpu_sess *s, int status)
{
	if (!s->sticky)
		s->sticky = status;
}

/* Lock held. A completion nobody waits for: only failures come. */
static void async_completion(struct vgpu_sess *s, int status)
{
	if (status == VGPU_S_OK)
		return; /* a flow-control mark */
	if (vgpu_status_is_fatal(status))
		set_sticky(s, status);
	else if (!s->async_err)
		s->async_err = status;
}

/* The phase the entry at free-running index h carries once posted: the
 * first pass over the ring writes 1. */
static uint16_t want_phase(const struct vgpu_sess *s, uint32_t h)
{
	return ((h >> s->depth_shift) & 1) ? 0 : VGPU_CQE_PHASE;
}

static bool cqe_posted(const struct vgpu_sess *s, uint32_t h)
{
	const struct vgpu_cqe *c = &s->tr.cq[h & s->mask];
	uint16_t st = __atomic_load_n(&c->status, __ATOMIC_ACQUIRE);

	return (st & VGPU_CQE_PHASE) == want_phase(s, h);
}

/* Lock held: consume every posted completion. */
static void reap(struct vgpu_sess *s)
{
	uint32_t h = s->cq_head;
	bool any = false;

	while (cqe_posted(s, h)) {
		const struct vgpu_cqe *c = &s->tr.cq[h & s->mask];
		uint16_t cid = c->cid;
		int status = VGPU_CQE_CODE(c->status);
		uint64_t result = c->result;

		h++;
		any = true;
		if (!(cid & VGPU_CID_TRACKED)) {
			async_completion(s, status);
			continue;
		}
		cid &= ~VGPU_CID_TRACKED;
		if (cid >= VGPU_SLOTS || !s->slot[cid].busy ||
		    s->slot[cid].done) {
			/* a completion for nothing we submitted */
			set_sticky(s, VGPU_L_QUEUE);
			continue;
		}
		s->slot[cid].status = (uint16_t)status;
		s->slot[cid].result = result;
		s->slot[cid].done = true;
		if (vgpu_status_is_fatal(status))
			set_sticky(s, status);
	}
	if (any) {
		__atomic_store_n(&s->cq_head, h, __ATOMIC_RELAXED);
		store_rel(&s->tr.hdr->cq_head, h);
		pthread_cond_broadcast(&s->cond);
	}
	if (load_acq(&s->tr.hdr->status))
		set_sticky(s, VGPU_S_RESET);
}

/*
 * Lock held; returns with it held. Sleep until something happens: a
 * completion (timeout_ns 0: however long that takes), or timeout_ns.
 * One thread sleeps in the transport; the others on the condition.
 */
static void wait_progress(struct vgpu_sess *s, uint64_t timeout_ns)
{
	uint32_t head = s->cq_head;
	int rc;

	if (s->waiting) {
		struct timespec ts;
		uint64_t t;

		if (!timeout_ns) {
			pthread_cond_wait(&s->cond, &s->lock);
			return;
		}
		t = now_ns() + timeout_ns;
		ts.tv_sec = (time_t)(t / 1000000000u);
		ts.tv_nsec = (long)(t % 1000000000u);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		return;
	}
	s->waiting = true;
	s->stats.waits++;
	pthread_mutex_unlock(&s->lock);
	rc = s->tr.ops->wait(&s->tr, head, timeout_ns);
	pthread_mutex_lock(&s->lock);
	s->waiting = false;
	if (rc == -ENODEV)
		set_sticky(s, VGPU_S_RESET);
	else if (rc && rc != -EINTR && rc != -ETIMEDOUT)
		set_sticky(s, VGPU_L_IO);
	reap(s);
	pthread_cond_broadcast(&s->cond);
}

/* Lock held. Poll the CQ without the lock for up to spin_ns, until the
 * entry at the head is posted. */
static void spin(struct vgpu_sess *s)
{
	uint64_t end;

	if (!s->spin_ns || s->waiting)
		return;
	end = now_ns() + s->spin_ns;
	pthread_mutex_unlock(&s->lock);
	while (!cqe_posted(s, __atomic_load_n(&s->cq_head, __ATOMIC_RELAXED)) &&
	       now_ns() < end)
		__builtin_ia32_pause();
	pthread_mutex_lock(&s->lock);
}

/* Lock held: until n SQ slots are free (or the session is lost). */
static int sq_room(struct vgpu_sess *s, uint32_t n)
{
	uint32_t depth = s->mask + 1;
	bool counted = false;

	if (n > depth)
		return VGPU_S_INVALID;
	for (;;) {
		uint32_t head = load_acq(&s->tr.hdr->sq_head);

		if (s->sq_tail - head > depth) {
			set_sticky(s, VGPU_L_QUEUE);
			return s->sticky;
		}
		if (depth - (s->sq_tail - head) >= n)
			return VGPU_S_OK;
		if (s->sticky)
			return s->sticky;
		if (!counted)
			s->stats.sq_full++;
		counted = true;
		reap(s);
		/* the device consumes without completing (QUIET): look again
		 * at least every 200 us, sooner when a completion comes */
		wait_progress(s, 200000);
	}
}

/* Lock held, room checked: write the entry and its continuation slots. */
static void put_entry(struct vgpu_sess *s, const struct vgpu_sqe *e,
		      const void *cont, uint32_t cont_len)
{
	const uint8_t *p = cont;

	memcpy(&s->tr.sq[s->sq_tail & s->mask], e, sizeof(*e));
	s->sq_tail++;
	while (cont_len) {
		uint32_t n = cont_len < sizeof(*e) ? cont_len : sizeof(*e);
		uint8_t *slot = (uint8_t *)&s->tr.sq[s->sq_tail & s->mask];

		memcpy(slot, p, n);
		memset(slot + n, 0, sizeof(*e) - n);
		p += n;
		cont_len -= n;
		s->sq_tail++;
	}
}

/* Lock held: publish the tail; ring only if the device sleeps. */
static int publish(struct vgpu_sess *s)
{
	store_rel(&s->tr.hdr->sq_tail, s->sq_tail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(load_acq(&s->tr.hdr->dev_flags) & VGPU_DEV_NEED_DOORBELL))
		return VGPU_S_OK;
	s->stats.doorbells++;
	if (s->tr.ops->doorbell(&s->tr) < 0) {
		set_sticky(s, VGPU_L_IO);
		return s->sticky;
	}
	return VGPU_S_OK;
}

static uint32_t cont_slots(uint32_t cont_len)
{
	return (cont_len + sizeof(struct vgpu_sqe) - 1) /
	       sizeof(struct vgpu_sqe);
}

/* Lock held: a free slot for a tracked command. */
static int get_slot(struct vgpu_sess *s, unsigned *slot)
{
	for (;;) {
		unsigned i;

		if (s->sticky)
			return s->sticky;
		for (i = 0; i < VGPU_SLOTS; i++) {
			if (!s->slot[i].busy) {
				s->slot[i] = (struct vgpu_slot){ .busy = true };
				*slot = i;
				return VGPU_S_OK;
			}
		}
		reap(s);
		wait_progress(s, 0);
	}
}

/* Lock held. tracked: a slot number, or -1 for a QUIET command. */
static int submit_locked(struct vgpu_sess *s, struct vgpu_sqe *e,
			 const void *cont, uint32_t cont_len, int tracked)
{
	uint32_t n = 1 + cont_slots(cont_len);
	int rc;

	if (s->sticky)
		return s->sticky;
	rc = sq_room(s, n);
	if (rc)
		return rc;
	e->session = 0; /* a session queue: the queue names it */
	if (tracked >= 0) {
		e->flags = 0;
		e->cid = (uint16_t)(VGPU_CID_TRACKED | (unsigned)tracked);
		s->since_mark = 0;
	} else {
		e->cid = s->next_quiet++ & (VGPU_CID_TRACKED - 1);
		s->since_mark += n;
		/* now and then ask for a completion after all: flow control */
		if (s->since_mark >= (s->mask + 1) / VGPU_MARK_DIV) {
			e->flags = 0;
			s->since_mark = 0;
		} else {
			e->flags = VGPU_SQE_QUIET;
		}
	}
	put_entry(s, e, cont, cont_len);
	s->stats.commands++;
	return publish(s);
}

/* Lock held: until slot's completion came; the slot is freed. */
static int wait_slot(struct vgpu_sess *s, unsigned slot, uint64_t *result)
{
	struct vgpu_slot *sl = &s->slot[slot];
	int rc;

	reap(s);
	if (!sl->done && !s->sticky) {
		spin(s);
		reap(s);
	}
	while (!sl->done) {
		/* a lost session may never complete what it had queued */
		if (s->sticky == VGPU_S_RESET || s->sticky == VGPU_L_IO ||
		    s->sticky == VGPU_L_QUEUE)
			break;
		wait_progress(s, 0);
	}
	rc = sl->done ? sl->status : s->sticky;
	/* a lost session reports what lost it */
	if (vgpu_status_is_fatal(rc) && s->sticky)
		rc = s->sticky;
	if (result)
		*result = sl->done ? sl->result : 0;
	sl->busy = false;
	pthread_cond_broadcast(&s->cond);
	return rc;
}

int vgpu_submit(struct vgpu_sess *s, struct vgpu_sqe *e, unsigned *ticket)
{
	unsigned slot;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = get_slot(s, &slot);
	if (!rc) {
		rc = submit_locked(s, e, NULL, 0, (int)slot);
		if (rc)
			s->slot[slot].busy = false;
		else
			*ticket = slot;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vgpu_wait(struct vgpu_sess *s, unsigned ticket, uint64_t *result)
{
	int rc;

	if (ticket >= VGPU_SLOTS)
		return VGPU_S_INVALID;
	pthread_mutex_lock(&s->lock);
	rc = wait_slot(s, ticket, result);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vgpu_exec(struct vgpu_sess *s, struct vgpu_sqe *e, const void *cont,
	      uint32_t cont_len, uint64_t *result)
{
	unsigned slot;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = get_slot(s, &slot);
	if (!rc) {
		rc = submit_locked(s, e, cont, cont_len, (int)slot);
		if (rc)
			s->slot[slot].busy = false;
		else
			rc = wait_slot(s, slot, result);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vgpu_post(struct vgpu_sess *s, struct vgpu_sqe *e, const void *cont,
	      uint32_t cont_len)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	/* completions of marks must not pile up in the CQ */
	reap(s);
	rc = submit_locked(s, e, cont, cont_len, -1);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vgpu_take_async_error(struct vgpu_sess *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	reap(s);
	rc = s->sticky;
	if (!rc) {
		rc = s->async_err;
		s->async_err = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int vgpu_sticky_error(struct vgpu_sess *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = s->sticky;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void vgpu_sess_stats(struct vgpu_sess *s, struct vgpu_sess_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}
