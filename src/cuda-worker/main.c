// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: started by vgpu-ioreq (its spawner) with the control
 * socket as descriptor 3. Reads CONFIG, maps the shared memory, brings
 * up CUDA and answers HELLO; then serves the control socket: the session
 * (SESSION_OPEN starts its thread), region files for zero-copy DMA. It
 * watches the session thread: one stuck in a CUDA call past the hang
 * limit (a context that will not die) ends the worker, which vgpu-ioreq
 * reports to the session as a lost device.
 *
 *   vgpu-cuda-worker [--ctx-cost BYTES]   the worker (descriptor 3)
 *   vgpu-cuda-worker --probe [GPU]        what a context costs (fd 3)
 *   vgpu-cuda-worker --dma-probe [INDEX]  DMA from pinned and registered
 *                                         memory (dmaprobe.c)
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "worker.h"

#define WK_RFD_WAIT_MS 5000

static int recv_msg(int sock, void *buf, size_t len, int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;
	int got = 0;

	for (int i = 0; i < nfds; i++)
		fds[i] = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int *p = (int *)CMSG_DATA(c);
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			if (got < nfds)
				fds[got++] = p[i];
			else
				close(p[i]);
		}
	}
	return (int)n;
}

static void *map_fd(int fd, uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static bool pow2(uint32_t v)
{
	return v >= 4096 && (v & (v - 1)) == 0;
}

/* The configuration and the two descriptors; -1 with a reason. */
static int configure(struct worker *w, char *msg, size_t len)
{
	struct cw_config *c = &w->cfg;
	int fds[2], n = recv_msg(w->sock, c, sizeof(*c), fds, 2);

	if (n != (int)sizeof(*c) || c->magic != CW_MAGIC ||
	    c->type != CW_MSG_CONFIG || c->version != CW_VERSION ||
	    fds[0] < 0 || fds[1] < 0) {
		snprintf(msg, len, "bad configuration message");
		return -1;
	}
	c->gpu[sizeof(c->gpu) - 1] = '\0';
	c->cache_dir[sizeof(c->cache_dir) - 1] = '\0';
	if (!pow2(c->req_bytes) || !pow2(c->cpl_bytes) ||
	    c->nslots > CW_MAX_SLOTS ||
	    cw_stage_off(c->req_bytes, c->cpl_bytes) +
			    (uint64_t)c->nslots * c->slot_bytes >
		    c->shm_bytes) {
		snprintf(msg, len, "inconsistent configuration");
		return -1;
	}
	w->shm_len = c->shm_bytes;
	w->shm = map_fd(fds[0], w->shm_len);
	w->notify_fd = fds[1];
	close(fds[0]);
	if (!w->shm) {
		snprintf(msg, len, "cannot map the shared memory: %s",
			 strerror(errno));
		return -1;
	}
	w->stage = (uint8_t *)w->shm + cw_stage_off(c->req_bytes, c->cpl_bytes);
	return 0;
}

static void hello(struct worker *w, int status, const char *msg)
{
	struct cw_hello h = {
		.magic = CW_MAGIC,
		.type = CW_MSG_HELLO,
		.version = CW_VERSION,
		.status = status,
		.pid = (uint32_t)getpid(),
		.ctx_overhead = w->ctx_overhead,
	};

	snprintf(h.msg, sizeof(h.msg), "%s", msg);
	if (send(w->sock, &h, sizeof(h), MSG_NOSIGNAL) < 0)
		wk_log("hello: %s", strerror(errno));
}

int wk_region_fd_take(struct worker *w, uint32_t id, uint64_t *len,
		      uint64_t *off)
{
	struct timespec dl;
	int fd = -1;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WK_RFD_WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		for (uint32_t i = 0; i < w->nrfd; i++) {
			struct wk_region_fd *r = &w->rfd[i];

			if (r->id == id) {
				fd = r->fd;
				*len = r->len;
				*off = r->off;
				*r = w->rfd[--w->nrfd];
				goto out;
			}
		}
		if (pthread_cond_timedwait(&w->cond, &w->lock, &dl))
			break;
	}
out:
	pthread_mutex_unlock(&w->lock);
	return fd;
}

bool wk_pinned_reserve(struct worker *w, uint64_t bytes)
{
	bool ok;

	pthread_mutex_lock(&w->lock);
	ok = bytes <= w->cfg.pinned_limit - w->pinned;
	if (ok)
		w->pinned += bytes;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

void wk_pinned_release(struct worker *w, uint64_t bytes)
{
	pthread_mutex_lock(&w->lock);
	w->pinned -= bytes;
	pthread_mutex_unlock(&w->lock);
}

static void region_fd(struct worker *w, const struct cw_msg *m, int fd)
{
	struct wk_region_fd *r;

	pthread_mutex_lock(&w->lock);
	if (w->nrfd == w->rfd_cap) {
		uint32_t cap = w->rfd_cap ? w->rfd_cap * 2 : 16;

		r = realloc(w->rfd, cap * sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&w->lock);
			close(fd);
			return;
		}
		w->rfd = r;
		w->rfd_cap = cap;
	}
	r = &w->rfd[w->nrfd++];
	r->id = m->id;
	r->fd = fd;
	r->len = m->len;
	r->off = m->off;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* One control message; false once the worker should exit. */
static bool control(struct worker *w)
{
	struct cw_msg m;
	int fd, n = recv_msg(w->sock, &m, sizeof(m), &fd, 1);

	if (n < 0)
		return n == -EAGAIN;
	if (n != (int)sizeof(m) || m.magic != CW_MAGIC) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	switch (m.type) {
	case CW_MSG_SESSION_OPEN:
		if (!w->s && wk_session_start(w) < 0) {
			wk_log("cannot start the session's thread");
			wk_exit(1);
		}
		break;
	case CW_MSG_REGION:
		if (fd >= 0 && m.len) {
			region_fd(w, &m, fd);
			fd = -1;
		}
		break;
	case CW_MSG_EXIT:
		return false;
	}
	if (fd >= 0)
		close(fd);
	return true;
}

/* The session thread stuck in a CUDA call: nothing short of ending the
 * process frees the GPU from it. */
static void watchdog(struct worker *w)
{
	uint64_t now = wk_now_ns();
	uint64_t lim = (uint64_t)w->cfg.hang_ms * 1000000ull;
	uint64_t b;

	if (!w->s)
		return;
	b = __atomic_load_n(&w->s->blocked_since, __ATOMIC_RELAXED);
	if (lim && b && now > b && now - b > lim) {
		wk_log("stuck in a CUDA call for %llu ms: exiting",
		       (unsigned long long)((now - b) / 1000000));
		wk_exit(3);
	}
}

static void serve(struct worker *w)
{
	struct pollfd p = { .fd = w->sock, .events = POLLIN };

	for (;;) {
		int n = poll(&p, 1, 200);

		if (n < 0 && errno != EINTR)
			return;
		if (n > 0 && (p.revents & POLLIN) && !control(w))
			return;
		if (n > 0 && !(p.revents & POLLIN) &&
		    (p.revents & (POLLHUP | POLLERR)))
			return;
		watchdog(w);
	}
}

int main(int argc, char **argv)
{
	struct worker *w;
	char msg[256] = "";
	sigset_t none;
	uint64_t t0;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("vgpu-cuda-worker (CUDA driver API %d)\n", CUDA_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return wk_probe(argc > 2 ? argv[2] : "");
	if (argc > 1 && strcmp(argv[1], "--dma-probe") == 0)
		return wk_dma_probe(argc > 2 ? argv[2] : "");
	w = calloc(1, sizeof(*w));
	if (!w)
		return 1;
	if (argc > 2 && strcmp(argv[1], "--ctx-cost") == 0)
		w->ctx_overhead = strtoull(argv[2], NULL, 10);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	w->sock = 3;
	w->notify_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_init(&w->jit_lock, NULL);
	pthread_cond_init(&w->jit_cond, NULL);
	if (configure(w, msg, sizeof(msg)) < 0) {
		hello(w, -EINVAL, msg);
		free(w);
		return 1;
	}
	t0 = wk_now_ns();
	if (wk_device_open(w, msg, sizeof(msg)) < 0) {
		hello(w, -ENODEV, msg);
		free(w);
		return 1;
	}
	w->shm->stats.init_ns = wk_now_ns() - t0;
	if (wk_jit_start(w) < 0) {
		hello(w, -EAGAIN, "cannot start the JIT thread");
		free(w);
		return 1;
	}
	hello(w, 0, msg);
	serve(w);
	/* vgpu-ioreq is gone or asked us to go: the driver frees the
	 * context with the process. */
	wk_exit(0);
}
