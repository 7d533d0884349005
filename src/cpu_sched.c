// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU backend's executors: a few threads, created when the backend
 * is (before the daemon drops privileges), run stream heads. A stream
 * runs one request at a time, in order; different streams run on
 * different threads, so a long kernel delays its own stream only (and
 * never the engine's thread). The default stream keeps CUDA's legacy
 * semantics: it waits for the blocking streams' earlier work and they
 * wait for its. Events count records submitted and executed; waits
 * (STREAM_WAIT_EVENT heads, EVENT_SYNC, EVENT_ELAPSED, CTX_SYNC) wait for
 * the counts they saw at submission.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_priv.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct cpu_stream *cpu_stream_new(struct cpu_session *s, uint32_t id,
				  bool blocking)
{
	struct cpu_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->id = id;
	st->blocking = blocking;
	st->s = s;
	st->next = s->streams;
	s->streams = st;
	if (id == 0)
		s->s0 = st;
	return st;
}

struct cpu_stream *cpu_stream_find(struct cpu_session *s, uint32_t id)
{
	struct cpu_stream *st;

	for (st = s->streams; st; st = st->next)
		if (st->id == id && !st->destroyed)
			return st;
	return NULL;
}

struct cpu_event *cpu_event_find(struct cpu_session *s, uint32_t id)
{
	struct cpu_event *ev;

	for (ev = s->events; ev; ev = ev->next)
		if (ev->id == id && !ev->destroyed)
			return ev;
	return NULL;
}

void cpu_stream_reap(struct cpu_session *s)
{
	struct cpu_stream **pp = &s->streams;

	while (*pp) {
		struct cpu_stream *st = *pp;

		if (st->destroyed && !st->head && !st->busy) {
			*pp = st->next;
			free(st);
		} else {
			pp = &st->next;
		}
	}
}

void cpu_event_reap(struct cpu_session *s)
{
	struct cpu_event **pp = &s->events;

	while (*pp) {
		struct cpu_event *ev = *pp;

		if (ev->destroyed && !ev->refs) {
			*pp = ev->next;
			free(ev);
		} else {
			pp = &ev->next;
		}
	}
}

/* May the head of @st run now? (mu held) */
static bool head_ready(const struct cpu_stream *st)
{
	const struct cpu_session *s = st->s;
	const struct be_req *h = st->head;

	if (s->lost)
		return true; /* it only completes with SESSION_LOST */
	if (st->id == 0 && s->blk_done < REQ_WAIT(h))
		return false;
	if (st->id != 0 && st->blocking && s->s0->done < REQ_WAIT(h))
		return false;
	if (h->op == VGPU_OP_STREAM_WAIT_EVENT &&
	    REQ_EVENT(h)->done < REQ_TARGET(h))
		return false;
	return true;
}

static struct cpu_stream *pick(struct backend_cpu *c)
{
	struct cpu_session *s;
	struct cpu_stream *st;

	for (s = c->sessions; s; s = s->next)
		for (st = s->streams; st; st = st->next)
			if (!st->busy && st->head && head_ready(st))
				return st;
	return NULL;
}

static uint32_t execute(struct backend_cpu *c, struct cpu_session *s,
			struct be_req *r)
{
	switch (r->op) {
	case VGPU_OP_LAUNCH:
		return cpu_launch(c, s, r);
	case VGPU_OP_EVENT_RECORD:
	case VGPU_OP_STREAM_WAIT_EVENT:
	case VGPU_OP_STREAM_SYNC:
		return VGPU_S_OK; /* their work is the ordering */
	}
	return cpu_exec_mem(c, s, r);
}

/* The request an executor ran is done (mu held). */
static void finish(struct backend_cpu *c, struct cpu_stream *st,
		   struct be_req *r, uint32_t status)
{
	struct cpu_session *s = st->s;
	struct cpu_event *ev = REQ_EVENT(r);

	st->busy = false;
	st->done++;
	if (st->id != 0 && st->blocking)
		s->blk_done++;
	s->active--;
	if (ev) {
		if (r->op == VGPU_OP_EVENT_RECORD && status == VGPU_S_OK) {
			ev->done++;
			ev->ts_ns = now_ns();
		}
		ev->refs--;
	}
	if ((status == VGPU_S_FAULT || status == VGPU_S_TIMEOUT) && !s->lost) {
		__atomic_store_n(&s->lost, true, __ATOMIC_RELAXED);
		s->lost_status = status;
	}
	r->status = status;
	cpu_done(c, r);
	cpu_event_reap(s);
	cpu_stream_reap(s);
	cpu_mem_bury(s);
	pthread_cond_broadcast(&c->cv);
}

/* Run the head of @st (mu held; dropped while it runs). */
static void run_head(struct backend_cpu *c, struct cpu_stream *st)
{
	struct be_req *r = st->head;
	uint32_t status;
	bool lost;

	st->head = REQ_NEXT(r);
	if (!st->head)
		st->tail = NULL;
	st->busy = true;
	st->running = REQ_SEQ(r);
	lost = st->s->lost;
	pthread_mutex_unlock(&c->mu);
	status = lost ? VGPU_S_SESSION_LOST : execute(c, st->s, r);
	pthread_mutex_lock(&c->mu);
	finish(c, st, r, status);
}

static void *executor(void *arg)
{
	struct backend_cpu *c = arg;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct cpu_stream *st = pick(c);

		if (st)
			run_head(c, st);
		else
			pthread_cond_wait(&c->cv, &c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

void cpu_sched_inline(struct backend_cpu *c)
{
	struct cpu_stream *st;

	if (c->nthreads)
		return;
	while ((st = pick(c)))
		run_head(c, st);
}

/* Executors block every signal: signals are the event loop's (signalfd),
 * whichever thread the kernel would pick. */
int cpu_sched_start(struct backend_cpu *c, unsigned int threads)
{
	sigset_t all, old;
	int rc = 0;

	if (threads > CPU_MAX_THREADS)
		threads = CPU_MAX_THREADS;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (c->nthreads = 0; c->nthreads < threads; c->nthreads++)
		if (pthread_create(&c->threads[c->nthreads], NULL, executor,
				   c)) {
			rc = -1;
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		cpu_sched_stop(c);
	return rc;
}

void cpu_sched_stop(struct backend_cpu *c)
{
	unsigned int i;

	pthread_mutex_lock(&c->mu);
	__atomic_store_n(&c->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	c->nthreads = 0;
}

/* The lowest ticket of @s still queued or running, or UINT64_MAX. */
static uint64_t oldest(const struct cpu_session *s)
{
	const struct cpu_stream *st;
	uint64_t min = UINT64_MAX;

	for (st = s->streams; st; st = st->next) {
		if (st->busy && st->running < min)
			min = st->running;
		if (st->head && REQ_SEQ(st->head) < min)
			min = REQ_SEQ(st->head);
	}
	return min;
}

/* Can waiter @r complete? Sets its status and result when it can. */
static bool wait_over(struct backend_cpu *c, struct be_req *r)
{
	struct cpu_session *s = cpu_session(c, r->session);
	struct cpu_event *a = REQ_EVENT(r), *b = REQ_EVENT2(r);

	if (!s || s->lost) {
		r->status = VGPU_S_SESSION_LOST;
		return true;
	}
	switch (r->op) {
	case VGPU_OP_CTX_SYNC:
		return oldest(s) > REQ_TARGET(r);
	case VGPU_OP_EVENT_SYNC:
		return a->done >= REQ_TARGET(r);
	case VGPU_OP_EVENT_ELAPSED:
		if (a->done < REQ_TARGET(r) || b->done < REQ_WAIT(r))
			return false;
		r->result = b->ts_ns > a->ts_ns ? b->ts_ns - a->ts_ns : 0;
		return true;
	}
	return true;
}

static void unref(struct be_req *r)
{
	if (REQ_EVENT(r))
		REQ_EVENT(r)->refs--;
	if (REQ_EVENT2(r))
		REQ_EVENT2(r)->refs--;
}

void cpu_waiters_check(struct backend_cpu *c)
{
	struct be_req *r = c->waiters, *prev = NULL;

	while (r) {
		struct be_req *next = REQ_NEXT(r);
		struct cpu_session *s;

		if (!wait_over(c, r)) {
			prev = r;
			r = next;
			continue;
		}
		if (prev)
			REQ_NEXT(prev) = next;
		else
			c->waiters = next;
		unref(r);
		s = cpu_session(c, r->session);
		cpu_done(c, r);
		if (s)
			cpu_event_reap(s);
		r = next;
	}
}

void cpu_wait_add(struct backend_cpu *c, struct be_req *r)
{
	if (wait_over(c, r)) {
		unref(r);
		cpu_done(c, r);
		return;
	}
	REQ_NEXT(r) = c->waiters;
	c->waiters = r;
}

/* EVENT_SYNC, EVENT_ELAPSED, CTX_SYNC: set up the wait. 0 or a code. */
static uint32_t wait_setup(struct cpu_session *s, struct be_req *r)
{
	struct cpu_event *a = NULL, *b = NULL;

	if (r->op == VGPU_OP_CTX_SYNC) {
		REQ_TARGET(r) = s->ticket;
		return 0;
	}
	a = cpu_event_find(s, r->obj.obj);
	if (r->op == VGPU_OP_EVENT_ELAPSED)
		b = cpu_event_find(s, r->obj.obj2);
	if (!a || (r->op == VGPU_OP_EVENT_ELAPSED && !b))
		return VGPU_S_BAD_HANDLE;
	if (b && (!a->recorded || !b->recorded ||
		  ((a->flags | b->flags) & VGPU_EVENT_DISABLE_TIMING)))
		return VGPU_S_INVALID;
	SET_EVENT(r, a);
	REQ_TARGET(r) = a->recorded;
	a->refs++;
	if (b) {
		SET_EVENT2(r, b);
		REQ_WAIT(r) = b->recorded;
		b->refs++;
	}
	return 0;
}

/* A request for stream @st: its implicit waits, then the queue. */
static void enqueue(struct cpu_session *s, struct cpu_stream *st,
		    struct be_req *r)
{
	if (st->id == 0)
		REQ_WAIT(r) = s->blk_submitted;
	else if (st->blocking)
		REQ_WAIT(r) = s->s0->submitted;
	if (st->id != 0 && st->blocking)
		s->blk_submitted++;
	st->submitted++;
	s->active++;
	REQ_SEQ(r) = ++s->ticket;
	REQ_NEXT(r) = NULL;
	if (st->tail)
		REQ_NEXT(st->tail) = r;
	else
		st->head = r;
	st->tail = r;
}

/* Stream and event objects, and requests bound for a stream (mu held). */
static uint32_t objects(struct backend_cpu *c, struct cpu_session *s,
			struct be_req *r)
{
	struct cpu_stream *st;
	struct cpu_event *ev;

	switch (r->op) {
	case VGPU_OP_STREAM_CREATE:
		st = cpu_stream_new(s, ++c->next_id,
				    !(r->obj.flags & VGPU_STREAM_NON_BLOCKING));
		r->result = st ? st->id : 0;
		return st ? VGPU_S_OK : VGPU_S_NO_MEMORY;
	case VGPU_OP_STREAM_DESTROY:
		st = r->obj.obj ? cpu_stream_find(s, r->obj.obj) : NULL;
		if (!st)
			return VGPU_S_BAD_HANDLE;
		st->destroyed = true; /* its work finishes first */
		cpu_stream_reap(s);
		return VGPU_S_OK;
	case VGPU_OP_EVENT_CREATE:
		ev = calloc(1, sizeof(*ev));
		if (!ev)
			return VGPU_S_NO_MEMORY;
		ev->id = ++c->next_id;
		ev->flags = r->obj.flags;
		ev->next = s->events;
		s->events = ev;
		r->result = ev->id;
		return VGPU_S_OK;
	}
	ev = cpu_event_find(s, r->obj.obj);
	if (!ev)
		return VGPU_S_BAD_HANDLE;
	if (r->op == VGPU_OP_EVENT_DESTROY) {
		ev->destroyed = true;
		cpu_event_reap(s);
	} else { /* EVENT_QUERY */
		r->result = ev->done >= ev->recorded;
	}
	return VGPU_S_OK;
}

void cpu_sched_submit(struct backend_cpu *c, struct cpu_session *s,
		      struct be_req *r)
{
	struct cpu_stream *st;
	struct cpu_event *ev = NULL;
	uint32_t status;

	memset(&r->be_priv, 0, sizeof(r->be_priv));
	switch (r->op) {
	case VGPU_OP_STREAM_CREATE:
	case VGPU_OP_STREAM_DESTROY:
	case VGPU_OP_EVENT_CREATE:
	case VGPU_OP_EVENT_DESTROY:
	case VGPU_OP_EVENT_QUERY:
		r->status = objects(c, s, r);
		cpu_done(c, r);
		return;
	case VGPU_OP_EVENT_SYNC:
	case VGPU_OP_EVENT_ELAPSED:
	case VGPU_OP_CTX_SYNC:
		r->status = wait_setup(s, r);
		if (r->status)
			cpu_done(c, r);
		else
			cpu_wait_add(c, r);
		return;
	}
	st = cpu_stream_find(s, r->stream);
	if (r->op == VGPU_OP_EVENT_RECORD || r->op == VGPU_OP_STREAM_WAIT_EVENT)
		ev = cpu_event_find(s, r->op == VGPU_OP_EVENT_RECORD ?
					       r->obj.obj :
					       r->obj.obj2);
	status = !st || ((r->op == VGPU_OP_EVENT_RECORD ||
			  r->op == VGPU_OP_STREAM_WAIT_EVENT) &&
			 !ev) ?
			 VGPU_S_BAD_HANDLE :
			 0;
	if (status) {
		r->status = status;
		cpu_done(c, r);
		return;
	}
	if (ev) {
		if (r->op == VGPU_OP_EVENT_RECORD)
			ev->recorded++;
		else
			REQ_TARGET(r) = ev->recorded;
		ev->refs++;
		SET_EVENT(r, ev);
	}
	enqueue(s, st, r);
	pthread_cond_broadcast(&c->cv);
	if (!c->nthreads) {
		uint64_t one = 1;

		/* no executors: poll() runs it, so ask for a poll() */
		if (write(c->efd, &one, sizeof(one)) < 0) {
			/* the counter cannot be full */
		}
	}
}
