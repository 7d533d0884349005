// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CUDA backend's proxy: creating one. The shared memory (rings) and
 * the staging memory are memfds made here, before the privilege drop, and
 * outlive any one worker; the worker is started and must say hello (CUDA
 * up, the device found) before the backend exists.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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
	c->max_sessions = or_default(o->max_sessions, 16);
	if (c->max_sessions > CW_MAX_SESSIONS)
		c->max_sessions = CW_MAX_SESSIONS;
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
	c->hang_ms = or_default(o->hang_ms, 30000);
	c->flags = o->no_zero ? CW_CFG_NO_ZERO : 0;
	snprintf(c->gpu, sizeof(c->gpu), "%s", o->gpu ? o->gpu : "");
	if (o->cache_dir && *o->cache_dir)
		cb_cache_path(c->cache_dir, sizeof(c->cache_dir), o->cache_dir,
			      b->vm);
	c->shm_bytes =
		cw_sess_off() +
		c->max_sessions * cw_sess_stride(c->req_bytes, c->cpl_bytes);
	c->staging_bytes =
		(uint64_t)c->max_sessions * c->nslots * c->slot_bytes;
}

static int map_memfd(const char *name, uint64_t len, int *fd, void **va)
{
	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)len) < 0)
		return -errno;
	*va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*va == MAP_FAILED) {
		*va = NULL;
		return -errno;
	}
	return 0;
}

static int setup(struct backend_cuda *b)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	rc = map_memfd("vgpu-cuda-shm", b->cfg.shm_bytes, &b->shm_fd,
		       (void **)&b->shm);
	if (rc == 0)
		rc = map_memfd("vgpu-cuda-staging", b->cfg.staging_bytes,
			       &b->stage_fd, (void **)&b->stage);
	if (rc < 0)
		return rc;
	b->shm_len = b->cfg.shm_bytes;
	b->stage_len = b->cfg.staging_bytes;
	b->shm->magic = CW_MAGIC;
	b->shm->version = CW_VERSION;
	b->shm->max_sessions = b->cfg.max_sessions;
	b->shm->req_bytes = b->cfg.req_bytes;
	b->shm->cpl_bytes = b->cfg.cpl_bytes;
	b->shm->sess_off = cw_sess_off();
	b->shm->sess_stride =
		cw_sess_stride(b->cfg.req_bytes, b->cfg.cpl_bytes);
	b->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (b->notify_fd < 0 || b->ep_fd < 0)
		return -errno;
	ev.data.fd = b->notify_fd;
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

/* The device as a session sees it: ours, checked, with the VM's quota. */
static void take_devinfo(struct backend_cuda *b)
{
	struct vgpu_device_info *d = &b->devinfo;

	memcpy(d, &b->shm->devinfo, sizeof(*d));
	d->name[sizeof(d->name) - 1] = '\0';
	if (d->nattrs > VGPU_ATTRS_MAX)
		d->nattrs = VGPU_ATTRS_MAX;
	memset(d->backend, 0, sizeof(d->backend));
	memcpy(d->backend, "cuda", 4);
	if (b->o.quota && b->o.quota < d->total_mem)
		d->total_mem = b->o.quota;
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
	b->sock = -1;
	b->shm_fd = b->stage_fd = b->notify_fd = b->ep_fd = -1;
	snprintf(b->vm, sizeof(b->vm), "%s", o->vm ? o->vm : "vm");
	b->o.vm = b->vm;
	b->o.gpu = NULL;
	b->o.cache_dir = NULL;
	b->be.ops = &cb_ops;
	pthread_mutex_init(&b->done_lock, NULL);
	for (uint32_t i = 0; i < CW_MAX_SESSIONS; i++)
		pthread_mutex_init(&b->sess[i].lock, NULL);
	configure(b, o);
	rc = setup(b);
	if (rc < 0) {
		snprintf(err, errlen, "CUDA backend: %s", strerror(-rc));
		cb_destroy(&b->be);
		return NULL;
	}
	rc = cb_worker_start(b);
	if (rc == 0)
		rc = cb_wait_hello(b, or_default(o->hello_ms, 60000), err,
				   errlen);
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
	take_devinfo(b);
	cb_log(b, LOG_INFO,
	       "CUDA backend for %s: %s, %llu MiB for this VM, a session costs %llu MiB",
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

int backend_cuda_worker_pid(struct backend *be)
{
	return ((struct backend_cuda *)be)->worker_pid;
}
