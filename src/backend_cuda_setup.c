// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's proxy: creating one, and its figures. A VM's backend
 * starts its first worker and waits for its hello (CUDA up, the device
 * found) before it exists; that worker then waits as the spare for the
 * first session. Threads (staging) are made here, before the privilege
 * drop; workers are started through the spawner at any time.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend_cuda_int.h"

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static void configure(struct backend_cuda *b, const struct cuda_be_opts *o)
{
	struct cw_config *c = &b->cfg;

	c->magic = CW_MAGIC;
	c->type = CW_MSG_CONFIG;
	c->version = CW_VERSION;
	b->max_sessions = or_default(o->max_sessions, 16);
	if (b->max_sessions > CB_MAX_SESSIONS)
		b->max_sessions = CB_MAX_SESSIONS;
	c->req_bytes = 256u << 10;
	c->cpl_bytes = 64u << 10;
	c->nslots = or_default(o->nslots, 8);
	if (c->nslots > CW_MAX_SLOTS)
		c->nslots = CW_MAX_SLOTS;
	c->slot_bytes = (or_default(o->slot_bytes, 2u << 20) + 4095) & ~4095u;
	c->pinned_limit = o->pinned_limit ? o->pinned_limit : 4ull << 30;
	c->module_limit = o->module_limit ? o->module_limit : 256ull << 20;
	c->timeout_ms = o->timeout_ms;
	c->spin_us = or_default(o->spin_us, 50);
	/* with GPU work in flight the session thread polls its events this
	 * long before it sleeps: CUDA's own spin-wait; at 50 us a 16 MiB
	 * copy came back 100-160 us late (results/gpu-2026-11-29-2) */
	c->busy_spin_us = or_default(o->busy_spin_us, 2000);
	c->hang_ms = or_default(o->hang_ms, 30000);
	c->flags = (o->no_zero ? CW_CFG_NO_ZERO : 0) |
		   (o->profile ? CW_CFG_PROFILE : 0);
	snprintf(c->gpu, sizeof(c->gpu), "%s", o->gpu ? o->gpu : "");
	if (o->cache_dir && *o->cache_dir)
		cb_cache_path(c->cache_dir, sizeof(c->cache_dir), o->cache_dir,
			      b->vm);
	c->shm_bytes = cw_stage_off(c->req_bytes, c->cpl_bytes) +
		       (uint64_t)c->nslots * c->slot_bytes;
}

static int setup(struct backend_cuda *b)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = CB_EP_NOTIFY };

	b->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (b->notify_fd < 0 || b->ep_fd < 0)
		return -errno;
	if (epoll_ctl(b->ep_fd, EPOLL_CTL_ADD, b->notify_fd, &ev) < 0)
		return -errno;
	b->tok = calloc(CB_MAX_TOKENS, sizeof(*b->tok));
	if (!b->tok)
		return -ENOMEM;
	for (uint32_t t = 0; t < CB_MAX_TOKENS; t++)
		b->tok[t].next = t + 1 < CB_MAX_TOKENS ? t + 1 : CB_NONE;
	b->tok_free = 0;
	return cb_stage_start(b);
}

struct backend *backend_cuda_create(const struct cuda_be_opts *o, char *err,
				    size_t errlen)
{
	struct backend_cuda *b = calloc(1, sizeof(*b));
	int rc;

	if (!b) {
		snprintf(err, errlen, "CUDA backend: no memory");
		return NULL;
	}
	b->o = *o;
	b->log = o->log;
	b->notify_fd = b->ep_fd = -1;
	b->spare.sock = -1;
	snprintf(b->vm, sizeof(b->vm), "%s", o->vm ? o->vm : "vm");
	b->o.vm = b->vm;
	b->o.gpu = NULL;
	b->o.cache_dir = NULL;
	b->be.ops = &cb_ops;
	pthread_mutex_init(&b->done_lock, NULL);
	for (uint32_t i = 0; i < CB_MAX_SESSIONS; i++) {
		pthread_mutex_init(&b->sess[i].lock, NULL);
		b->sess[i].w.sock = -1;
	}
	configure(b, o);
	rc = setup(b);
	if (rc < 0) {
		snprintf(err, errlen, "CUDA backend: %s", strerror(-rc));
		cb_destroy(&b->be);
		return NULL;
	}
	rc = cb_worker_spawn(b, &b->spare);
	if (rc == 0)
		rc = cb_wait_hello(b, &b->spare, or_default(o->hello_ms, 60000),
				   err, errlen);
	else
		snprintf(
			err, errlen,
			rc == -EPIPE ?
				"the CUDA worker ended before it was ready (see the log: is the NVIDIA driver's libcuda.so.1 installed?)" :
				"cannot start the CUDA worker: %s",
			strerror(-rc));
	if (rc < 0) {
		cb_destroy(&b->be);
		return NULL;
	}
	cb_log(b, LOG_INFO,
	       "CUDA backend for %s: %s, %llu MiB for this VM, a session (a worker process and its context) costs %llu MiB of it",
	       b->vm, b->devinfo.name,
	       (unsigned long long)(b->devinfo.total_mem >> 20),
	       (unsigned long long)(b->be.session_overhead >> 20));
	return &b->be;
}

int backend_cuda_parse(const char *spec, const char **gpu)
{
	if (strcmp(spec, "cuda") == 0) {
		*gpu = NULL;
		return 0;
	}
	if (strncmp(spec, "cuda:", 5) == 0 && spec[5]) {
		*gpu = spec + 5;
		return 0;
	}
	return -1;
}

int backend_cuda_worker_pid(struct backend *be, uint32_t session)
{
	struct backend_cuda *b = (struct backend_cuda *)be;

	if (!session)
		return b->spare.sock >= 0 ? b->spare.pid : 0;
	for (uint32_t i = 0; i < b->max_sessions; i++)
		if (b->sess[i].id == session && b->sess[i].w.sock >= 0)
			return b->sess[i].w.pid;
	return 0;
}

/* ---- figures ---- */

void cb_stats_add(struct cw_stats *to, const struct cw_stats *from)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *f = (const uint64_t *)from;

	for (size_t i = 0; i < sizeof(*to) / sizeof(uint64_t); i++)
		t[i] += f[i];
}

void backend_cuda_stats(struct backend *be, struct cuda_be_stats *st)
{
	struct backend_cuda *b = (struct backend_cuda *)be;
	struct cw_stats w;

	*st = b->stats; /* the staging threads' sums: figures, not exact */
	for (uint32_t i = 0; i <= b->max_sessions; i++) {
		struct cb_worker *k = i < b->max_sessions ? &b->sess[i].w :
							    &b->spare;

		if (!k->map)
			continue;
		memcpy(&w, &k->hdr->stats, sizeof(w));
		cb_stats_add(&st->w, &w);
	}
}

static double per(uint64_t ns, uint64_t n)
{
	return n ? (double)ns / (double)n / 1e3 : 0;
}

void backend_cuda_stats_line(const struct cuda_be_stats *s, char *buf,
			     size_t len)
{
	const struct cw_stats *w = &s->w;

	snprintf(
		buf, len,
		"%llu workers (%.0f ms to hello), %llu requests, %llu launches (%.2f us in the call), %llu copies (%.2f us in the call), %llu event groups (%.2f us record, %llu queries of %.2f us, done %.2f us after the record), %llu sleeps, %llu host functions (woke the thread %.2f us later), ring %.2f us, completions %llu (%.2f us back), %llu notifies, %llu wakes, %llu local, %llu staged",
		(unsigned long long)s->workers,
		per(s->spawn_ns, s->workers) / 1e3, (unsigned long long)w->reqs,
		(unsigned long long)w->launches, per(w->launch_ns, w->launches),
		(unsigned long long)w->copies, per(w->copy_ns, w->copies),
		(unsigned long long)w->groups, per(w->record_ns, w->records),
		(unsigned long long)w->queries, per(w->query_ns, w->queries),
		per(w->group_ns, w->groups), (unsigned long long)w->sleeps,
		(unsigned long long)w->hostfn,
		per(w->hostfn_wake_ns, w->hostfn), per(w->ring_ns, w->reqs),
		(unsigned long long)s->cpls, per(s->cpl_ns, s->cpls),
		(unsigned long long)w->notifies, (unsigned long long)s->wakes,
		(unsigned long long)s->local, (unsigned long long)s->staged);
}
