// SPDX-License-Identifier: GPL-2.0-only
/* The event loop. Teardown is never done here, nor in a signal handler. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <vgpu/host_xen.h>
#include <vgpu/serve.h>

enum { EV_IOREQ, EV_LIVENESS, EV_SIGNAL };

static int watch(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void log_stats(struct logger *lg, const struct io_stats *st)
{
	log_info(
		lg,
		"requests: config %llu, mmio %llu, pio %llu, invalidate %llu, other %llu, rejected %llu",
		(unsigned long long)st->cfg, (unsigned long long)st->mmio,
		(unsigned long long)st->pio, (unsigned long long)st->invalidate,
		(unsigned long long)st->other,
		(unsigned long long)st->rejected);
}

/* -1: keep going; otherwise how the loop ends. */
static int on_signal(int sigfd, const struct io_stats *st, struct logger *lg)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info(lg, "%s received, shutting down",
				 strsignal((int)si.ssi_signo));
			return SERVE_SIGNAL;
		case SIGUSR1:
			log_stats(lg, st);
			break;
		default:
			break;
		}
	}
	return -1;
}

static int liveness_timer(int ms)
{
	struct itimerspec its = {
		.it_interval = { ms / 1000, (long)(ms % 1000) * 1000000L },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	its.it_value = its.it_interval;
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

enum serve_end serve_run(struct xen_host *x, int sigfd, int liveness_ms,
			 const struct io_stats *st, struct logger *lg)
{
	enum serve_end end = SERVE_ERROR;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = liveness_timer(liveness_ms);

	if (ep < 0 || tfd < 0 ||
	    watch(ep, xen_host_event_fd(x), EV_IOREQ) < 0 ||
	    watch(ep, tfd, EV_LIVENESS) < 0 ||
	    watch(ep, sigfd, EV_SIGNAL) < 0) {
		log_err(lg, "cannot set up the event loop: %s",
			strerror(errno));
		goto out;
	}
	for (;;) {
		struct epoll_event evs[4];
		uint64_t ticks;
		int n, i, r;

		n = epoll_wait(ep, evs, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err(lg, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_IOREQ:
				if (xen_host_handle_events(x) < 0)
					goto out;
				break;
			case EV_LIVENESS:
				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					break;
				if (xen_host_domain_gone(x)) {
					log_info(lg, "the domain is gone");
					end = SERVE_DOMAIN_GONE;
					goto out;
				}
				break;
			case EV_SIGNAL:
				r = on_signal(sigfd, st, lg);
				if (r >= 0) {
					end = (enum serve_end)r;
					goto out;
				}
				break;
			}
		}
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (ep >= 0)
		close(ep);
	log_stats(lg, st);
	return end;
}
