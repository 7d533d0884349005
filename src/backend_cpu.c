// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CPU reference backend (backend.h): "device memory" is host memory
 * with guard gaps between allocations in the device address space,
 * kernels are C twins of the project's own test kernels
 * (tests/cuda/test_kernels.cuh) matched by mangled name, and streams run
 * on a small pool of executor threads created up front. It executes the
 * registered kernels only: anything else is VGPU_S_NOT_SUPPORTED.
 *
 * Requests without a stream run at once in submit(); stream requests go
 * to the executors. Either way the completion waits on a list for
 * poll(), which an eventfd announces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cpu_priv.h"

struct cpu_session *cpu_session(struct backend_cpu *c, uint32_t id)
{
	struct cpu_session *s;

	for (s = c->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

void cpu_done_kick(struct backend_cpu *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* the counter is far from full: cannot happen */
	}
}

void cpu_done(struct backend_cpu *c, struct be_req *r)
{
	REQ_NEXT(r) = NULL;
	if (c->done_tail)
		REQ_NEXT(c->done_tail) = r;
	else
		c->done_head = r;
	c->done_tail = r;
	cpu_done_kick(c);
}

static int cpu_session_open(struct backend *b, uint32_t id)
{
	struct backend_cpu *c = cpu_of(b);
	struct cpu_session *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->id = id;
	if (!cpu_stream_new(s, 0, true)) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->mu);
	s->next = c->sessions;
	c->sessions = s;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

static void free_modules(struct cpu_session *s)
{
	while (s->modules) {
		struct cpu_module *m = s->modules;

		s->modules = m->next;
		free(m);
	}
}

static void cpu_session_close(struct backend *b, uint32_t id)
{
	struct backend_cpu *c = cpu_of(b);
	struct cpu_session **pp, *s = NULL;

	pthread_mutex_lock(&c->mu);
	for (pp = &c->sessions; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			s = *pp;
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (!s)
		return;
	/* drained: no executor holds anything of it */
	cpu_mem_free_all(s);
	free_modules(s);
	while (s->streams) {
		struct cpu_stream *st = s->streams;

		s->streams = st->next;
		free(st);
	}
	while (s->events) {
		struct cpu_event *ev = s->events;

		s->events = ev->next;
		free(ev);
	}
	free(s);
}

/* Its work ends early: queued requests complete as lost, running
 * kernels stop at their next check, waits end. */
static void cpu_session_abort(struct backend *b, uint32_t id)
{
	struct backend_cpu *c = cpu_of(b);
	struct cpu_session *s;

	pthread_mutex_lock(&c->mu);
	s = cpu_session(c, id);
	if (s && !s->lost) {
		__atomic_store_n(&s->lost, true, __ATOMIC_RELAXED);
		s->lost_status = VGPU_S_SESSION_LOST;
	}
	pthread_cond_broadcast(&c->cv);
	cpu_done_kick(c);
	pthread_mutex_unlock(&c->mu);
}

static int cpu_region_add(struct backend *b, uint32_t session,
			  const struct be_region *r)
{
	return 0; /* host memory: copies use r->va directly */
}

static void cpu_region_del(struct backend *b, uint32_t session,
			   const struct be_region *r)
{
}

static void fill_devinfo(struct vgpu_device_info *d)
{
	static const uint8_t uuid[16] = "vgpu-cpu-backend";
	int32_t *a = d->attr;

	snprintf(d->name, sizeof(d->name),
		 "vgpu CPU reference backend (registered test kernels only)");
	memcpy(d->uuid, uuid, sizeof(uuid));
	d->cc_major = 9;
	d->cc_minor = 0;
	d->driver_version = 13000;
	snprintf(d->backend, sizeof(d->backend), "cpu");
	d->nattrs = 148; /* CU_DEVICE_ATTRIBUTE_MAX in CUDA 13.0 */
	a[1] = 1024; /* MAX_THREADS_PER_BLOCK */
	a[2] = 1024; /* MAX_BLOCK_DIM_X */
	a[3] = 1024;
	a[4] = 64;
	a[5] = 0x7fffffff; /* MAX_GRID_DIM_X */
	a[6] = 65535;
	a[7] = 65535;
	a[8] = 48 << 10; /* MAX_SHARED_MEMORY_PER_BLOCK */
	a[9] = 64 << 10; /* TOTAL_CONSTANT_MEMORY */
	a[10] = 32; /* WARP_SIZE */
	a[11] = 0x7fffffff; /* MAX_PITCH */
	a[12] = 65536; /* MAX_REGISTERS_PER_BLOCK */
	a[13] = 1000000; /* CLOCK_RATE, kHz */
	a[14] = 512; /* TEXTURE_ALIGNMENT */
	a[15] = 1; /* GPU_OVERLAP: copies and kernels of other streams */
	a[16] = 1; /* MULTIPROCESSOR_COUNT */
	/* 18 INTEGRATED, 19 CAN_MAP_HOST_MEMORY, 20 COMPUTE_MODE: 0 */
	a[30] = 256; /* SURFACE_ALIGNMENT */
	a[31] = 1; /* CONCURRENT_KERNELS */
	a[36] = 1000000; /* MEMORY_CLOCK_RATE */
	a[37] = 64; /* GLOBAL_MEMORY_BUS_WIDTH */
	a[39] = 2048; /* MAX_THREADS_PER_MULTIPROCESSOR */
	a[40] = 1; /* ASYNC_ENGINE_COUNT */
	a[75] = 9; /* COMPUTE_CAPABILITY_MAJOR */
	a[76] = 0;
	a[81] = 228 << 10; /* MAX_SHARED_MEMORY_PER_MULTIPROCESSOR */
	a[82] = 65536; /* MAX_REGISTERS_PER_MULTIPROCESSOR */
	a[97] = 48 << 10; /* MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
	a[106] = 32; /* MAX_BLOCKS_PER_MULTIPROCESSOR */
}

/* The twin of function @i, if the image's own parameter records (a
 * cubin's) agree with its layout: a kernel of that name but another
 * signature is not ours. */
static const struct cpu_kernel *layout_checked(const struct cpu_module *m,
					       uint32_t i)
{
	const struct cpu_kernel *k = cpu_kernel_find(m->names[i]);
	uint32_t j;

	if (!k || m->nkp[i] < 0)
		return k;
	if ((uint32_t)m->nkp[i] != k->nparams)
		return NULL;
	for (j = 0; j < k->nparams; j++)
		if (m->kp[i][j].offset != k->param[j].offset ||
		    m->kp[i][j].size != k->param[j].size)
			return NULL;
	return k;
}

/* MODULE_LOAD: parse the image for kernel names and globals. */
static uint32_t module_load(struct backend_cpu *c, struct cpu_session *s,
			    struct be_req *r)
{
	struct cpu_module *m = calloc(1, sizeof(*m));
	uint32_t st, i;

	if (!m)
		return VGPU_S_NO_MEMORY;
	st = cpu_image_parse(r->module.image, r->module.len, m);
	for (i = 0; !st && i < m->nglobals; i++)
		st = cpu_mem_alloc(c, s, m->g[i].size, &m->g[i].dptr);
	if (st) {
		for (i = 0; i < m->nglobals; i++)
			if (m->g[i].dptr)
				cpu_mem_free(c, s, m->g[i].dptr);
		free(m);
		return st;
	}
	for (i = 0; i < m->nfuncs; i++)
		m->k[i] = layout_checked(m, i);
	m->id = ++c->next_id & 0xffffff;
	m->next = s->modules;
	s->modules = m;
	r->result = m->id;
	return VGPU_S_OK;
}

static struct cpu_module *module_find(struct cpu_session *s, uint32_t id)
{
	struct cpu_module *m;

	for (m = s->modules; m; m = m->next)
		if (m->id == id && !m->dead)
			return m;
	return NULL;
}

static uint32_t module_unload(struct backend_cpu *c, struct cpu_session *s,
			      uint32_t id)
{
	struct cpu_module *m = module_find(s, id);
	uint32_t i;

	if (!m)
		return VGPU_S_BAD_HANDLE;
	for (i = 0; i < m->nglobals; i++)
		cpu_mem_free(c, s, m->g[i].dptr);
	m->dead = true; /* a launch in flight may still look at it */
	cpu_mem_bury(s);
	return VGPU_S_OK;
}

/* FUNC_GET and GLOBAL_GET: the function id is module << 8 | index + 1. */
static uint32_t symbol(struct cpu_session *s, struct be_req *r)
{
	struct cpu_module *m = module_find(s, r->sym.module);
	uint32_t i;

	if (!m)
		return VGPU_S_BAD_HANDLE;
	if (r->op == VGPU_OP_GLOBAL_GET) {
		for (i = 0; i < m->nglobals; i++) {
			if (strcmp(m->g[i].name, r->sym.name))
				continue;
			r->sym.global->dptr = m->g[i].dptr;
			r->sym.global->size = m->g[i].size;
			r->result = m->g[i].dptr;
			return VGPU_S_OK;
		}
		return VGPU_S_NOT_FOUND;
	}
	for (i = 0; i < m->nfuncs; i++) {
		if (strcmp(m->names[i], r->sym.name))
			continue;
		if (!m->k[i])
			return VGPU_S_NOT_SUPPORTED; /* no C twin */
		cpu_func_info(m->k[i], r->sym.info);
		r->result = m->id << 8 | (i + 1);
		return VGPU_S_OK;
	}
	return VGPU_S_NOT_FOUND;
}

/* Requests without a stream, right now (mu held). */
static uint32_t immediate(struct backend_cpu *c, struct cpu_session *s,
			  struct be_req *r)
{
	switch (r->op) {
	case VGPU_OP_MEM_ALLOC:
		return cpu_mem_alloc(c, s, r->mem.bytes, &r->result);
	case VGPU_OP_MEM_FREE:
		return cpu_mem_free(c, s, r->mem.dptr);
	case VGPU_OP_MODULE_LOAD:
		return module_load(c, s, r);
	case VGPU_OP_MODULE_UNLOAD:
		return module_unload(c, s, r->module.module);
	case VGPU_OP_FUNC_GET:
	case VGPU_OP_GLOBAL_GET:
		return symbol(s, r);
	case VGPU_OP_DEVICE_INFO:
		fill_devinfo(r->devinfo);
		return VGPU_S_OK;
	}
	return VGPU_S_NOT_SUPPORTED;
}

static bool is_immediate(uint32_t op)
{
	return op == VGPU_OP_MEM_ALLOC || op == VGPU_OP_MEM_FREE ||
	       op == VGPU_OP_MODULE_LOAD || op == VGPU_OP_MODULE_UNLOAD ||
	       op == VGPU_OP_FUNC_GET || op == VGPU_OP_GLOBAL_GET ||
	       op == VGPU_OP_DEVICE_INFO;
}

static void cpu_submit(struct backend *b, struct be_req *r)
{
	struct backend_cpu *c = cpu_of(b);
	struct cpu_session *s;

	pthread_mutex_lock(&c->mu);
	s = cpu_session(c, r->session);
	r->status = VGPU_S_OK;
	r->result = 0;
	if (!s) {
		r->status = VGPU_S_BAD_HANDLE;
	} else if (s->lost) {
		r->status = VGPU_S_SESSION_LOST;
	} else if (is_immediate(r->op)) {
		r->status = immediate(c, s, r);
	} else {
		cpu_sched_submit(c, s, r);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	cpu_done(c, r);
	pthread_mutex_unlock(&c->mu);
}

static int cpu_poll_fd(struct backend *b)
{
	return cpu_of(b)->efd;
}

static void cpu_poll(struct backend *b)
{
	struct backend_cpu *c = cpu_of(b);
	struct be_req *r;
	uint64_t n;

	if (read(c->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing signalled; the list may still hold some */
	}
	pthread_mutex_lock(&c->mu);
	cpu_sched_inline(c);
	cpu_waiters_check(c);
	r = c->done_head;
	c->done_head = c->done_tail = NULL;
	pthread_mutex_unlock(&c->mu);
	/* complete() may submit more: the list is ours now */
	while (r) {
		struct be_req *next = REQ_NEXT(r);

		b->complete(b->ctx, r);
		r = next;
	}
}

static void cpu_destroy(struct backend *b)
{
	struct backend_cpu *c = cpu_of(b);

	cpu_sched_stop(c);
	while (c->sessions)
		cpu_session_close(b, c->sessions->id);
	close(c->efd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static const struct backend_ops cpu_ops = {
	.name = "cpu",
	.session_open = cpu_session_open,
	.session_close = cpu_session_close,
	.session_abort = cpu_session_abort,
	.region_add = cpu_region_add,
	.region_del = cpu_region_del,
	.submit = cpu_submit,
	.poll_fd = cpu_poll_fd,
	.poll = cpu_poll,
	.destroy = cpu_destroy,
};

struct backend *backend_cpu_create(unsigned int threads)
{
	struct backend_cpu *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->be.ops = &cpu_ops;
	c->next_dptr = CPU_DPTR_BASE;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (c->efd < 0 || cpu_sched_start(c, threads) < 0) {
		if (c->efd >= 0)
			close(c->efd);
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	return &c->be;
}
