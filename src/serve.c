// SPDX-License-Identifier: GPL-2.0-only
/* The event loop; see serve.h. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <vgpu/host_xen.h>
#include <vgpu/serve.h>
#include <vgpu/vdev.h>

int serve_init(struct serve *s, struct logger *lg)
{
	memset(s, 0, sizeof(*s));
	s->lg = lg;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	return s->ep < 0 ? -errno : 0;
}

static int add(struct serve *s, int fd, serve_fn fn, void *arg, bool timer)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = s->n };

	if (s->n == SERVE_MAX_SOURCES)
		return -ENOSPC;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	s->src[s->n++] = (struct serve_source){
		.fd = fd, .fn = fn, .arg = arg, .timer = timer
	};
	return 0;
}

int serve_add(struct serve *s, int fd, serve_fn fn, void *arg)
{
	return add(s, fd, fn, arg, false);
}

int serve_add_timer(struct serve *s, int ms, serve_fn fn, void *arg)
{
	struct itimerspec its = {
		.it_interval = { ms / 1000, (long)(ms % 1000) * 1000000L },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int rc;

	if (fd < 0)
		return -errno;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = add(s, fd, fn, arg, true);
	if (rc < 0)
		close(fd);
	return rc;
}

void serve_set_poll(struct serve *s, bool (*poll)(void *arg), void *arg)
{
	s->poll = poll;
	s->poll_arg = arg;
}

/* SERVE_GO_ON, or how the loop ends. */
static int dispatch(struct serve *s, const struct epoll_event *ev)
{
	struct serve_source *src = &s->src[ev->data.u32];
	uint64_t ticks;

	if (src->timer && read(src->fd, &ticks, sizeof(ticks)) < 0)
		return SERVE_GO_ON; /* spurious: nothing expired */
	return src->fn(src->arg);
}

enum serve_end serve_loop(struct serve *s)
{
	for (;;) {
		struct epoll_event evs[SERVE_MAX_SOURCES];
		bool hot = s->poll && s->poll(s->poll_arg);
		int n, i, r;

		n = epoll_wait(s->ep, evs, SERVE_MAX_SOURCES, hot ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err(s->lg, "epoll_wait: %s", strerror(errno));
			return SERVE_ERROR;
		}
		for (i = 0; i < n; i++) {
			r = dispatch(s, &evs[i]);
			if (r != SERVE_GO_ON)
				return (enum serve_end)r;
		}
	}
}

void serve_fini(struct serve *s)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (s->src[i].timer)
			close(s->src[i].fd);
	if (s->ep >= 0)
		close(s->ep);
	s->ep = -1;
	s->n = 0;
}

void serve_log_stats(struct logger *lg, const struct io_stats *st)
{
	log_info(
		lg,
		"requests: config %llu, mmio %llu, pio %llu, invalidate %llu, other %llu, rejected %llu",
		(unsigned long long)st->cfg, (unsigned long long)st->mmio,
		(unsigned long long)st->pio, (unsigned long long)st->invalidate,
		(unsigned long long)st->other,
		(unsigned long long)st->rejected);
}

int serve_on_signal(void *arg)
{
	struct serve_signals *sg = arg;
	struct signalfd_siginfo si;

	while (read(sg->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info(sg->lg, "%s received, shutting down",
				 strsignal((int)si.ssi_signo));
			return SERVE_SIGNAL;
		case SIGUSR1:
			if (sg->st)
				serve_log_stats(sg->lg, sg->st);
			break;
		default:
			break;
		}
	}
	return SERVE_GO_ON;
}

/* ---- the Xen daemon's loop ---- */

struct xen_loop {
	struct xen_host *x;
	struct vdev *d;
	struct logger *lg;
};

static int on_ioreq(void *arg)
{
	struct xen_loop *xl = arg;

	return xen_host_handle_events(xl->x) < 0 ? SERVE_ERROR : SERVE_GO_ON;
}

static int on_liveness(void *arg)
{
	struct xen_loop *xl = arg;

	if (!xen_host_domain_gone(xl->x))
		return SERVE_GO_ON;
	log_info(xl->lg, "the domain is gone");
	return SERVE_DOMAIN_GONE;
}

static int on_device(void *arg)
{
	vdev_poll(arg);
	return SERVE_GO_ON;
}

static bool device_hot(void *arg)
{
	return vdev_poll(arg);
}

enum serve_end serve_run(struct xen_host *x, struct vdev *d, int sigfd,
			 int liveness_ms, const struct io_stats *st,
			 struct logger *lg)
{
	struct xen_loop xl = { .x = x, .d = d, .lg = lg };
	struct serve_signals sg = { .sigfd = sigfd, .st = st, .lg = lg };
	enum serve_end end = SERVE_ERROR;
	struct serve s;
	int rc, dfd = d ? vdev_poll_fd(d) : -1;

	rc = serve_init(&s, lg);
	if (rc == 0)
		rc = serve_add(&s, xen_host_event_fd(x), on_ioreq, &xl);
	if (rc == 0)
		rc = serve_add_timer(&s, liveness_ms, on_liveness, &xl);
	if (rc == 0)
		rc = serve_add(&s, sigfd, serve_on_signal, &sg);
	if (rc == 0 && dfd >= 0)
		rc = serve_add(&s, dfd, on_device, d);
	if (rc < 0) {
		log_err(lg, "cannot set up the event loop: %s", strerror(-rc));
	} else {
		if (d && d->ops->poll)
			serve_set_poll(&s, device_hot, d);
		end = serve_loop(&s);
	}
	serve_fini(&s);
	serve_log_stats(lg, st);
	return end;
}
