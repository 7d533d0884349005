/* SPDX-License-Identifier: GPL-2.0-only */
/* The daemon's event loop: epoll over event channels, XenStore, signals. */
#ifndef VGPU_SERVE_H
#define VGPU_SERVE_H

#include <vgpu/ioreq.h>
#include <vgpu/log.h>

struct xen_host;

enum serve_end {
	SERVE_SIGNAL, /* SIGTERM or SIGINT */
	SERVE_DOMAIN_GONE,
	SERVE_ERROR,
};

/* How often the loop checks that the domain still exists. */
#define SERVE_LIVENESS_MS 1000

/*
 * Serve @x until a terminating signal arrives on @sigfd (from
 * daemon_signalfd()), the domain goes away (checked every @liveness_ms),
 * or an error. SIGUSR1 logs the request counters in @st; SIGHUP is
 * ignored.
 */
enum serve_end serve_run(struct xen_host *x, int sigfd, int liveness_ms,
			 const struct io_stats *st, struct logger *lg);

#endif
