/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's event loop: epoll over a small set of sources (the
 * hypervisor's event channels or a loopback socket, a backend's completion
 * descriptor, signals, timers), plus an optional busy-poll hook for
 * devices that poll their queues while they are hot. Single-threaded:
 * every callback runs on the loop's thread. Teardown is never done here,
 * nor in a signal handler.
 */
#ifndef VGPU_SERVE_H
#define VGPU_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include <vgpu/ioreq.h>
#include <vgpu/log.h>

struct xen_host;
struct vdev;

enum serve_end {
	SERVE_SIGNAL, /* SIGTERM or SIGINT */
	SERVE_DOMAIN_GONE, /* the domain (or the loopback client) went away */
	SERVE_ERROR,
};

/* What a source callback returns: go on, or end the loop with an enum
 * serve_end value. */
#define SERVE_GO_ON (-1)
typedef int (*serve_fn)(void *arg);

#define SERVE_MAX_SOURCES 8

struct serve_source {
	int fd;
	serve_fn fn;
	void *arg;
	bool timer; /* a timerfd of ours: drained before fn runs, closed at fini */
};

struct serve {
	int ep;
	struct logger *lg;
	struct serve_source src[SERVE_MAX_SOURCES];
	unsigned int n;
	/*
	 * Called once per loop iteration; returns true while the device is
	 * hot (polling its queues), and the loop then does not sleep. Its
	 * fd, if any, is added as a plain source by the caller.
	 */
	bool (*poll)(void *arg);
	void *poll_arg;
};

/* 0 or -errno. */
int serve_init(struct serve *s, struct logger *lg);
/* Call fn(arg) whenever fd is readable. 0 or -errno. */
int serve_add(struct serve *s, int fd, serve_fn fn, void *arg);
/* Call fn(arg) every @ms milliseconds. 0 or -errno. */
int serve_add_timer(struct serve *s, int ms, serve_fn fn, void *arg);
void serve_set_poll(struct serve *s, bool (*poll)(void *arg), void *arg);
/* Run until a callback ends the loop or epoll fails. */
enum serve_end serve_loop(struct serve *s);
void serve_fini(struct serve *s);

/*
 * Signals from daemon_signalfd(): SIGTERM/SIGINT end the loop
 * (SERVE_SIGNAL), SIGUSR1 logs the request counters in st, others are
 * ignored. Usable as a serve_fn through struct serve_signals.
 */
struct serve_signals {
	int sigfd;
	const struct io_stats *st;
	struct logger *lg;
};
int serve_on_signal(void *arg);
void serve_log_stats(struct logger *lg, const struct io_stats *st);

/* How often the Xen loop checks that the domain still exists. */
#define SERVE_LIVENESS_MS 1000

/*
 * The Xen daemon's loop: serve @x until a terminating signal arrives on
 * @sigfd (from daemon_signalfd()), the domain goes away (checked every
 * @liveness_ms), or an error; @d's own sources and poll hook (vdev_ops
 * poll_fd/poll) are served too. SIGUSR1 logs the request counters in @st.
 */
enum serve_end serve_run(struct xen_host *x, struct vdev *d, int sigfd,
			 int liveness_ms, const struct io_stats *st,
			 struct logger *lg);

#endif
