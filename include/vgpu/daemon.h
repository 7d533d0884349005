/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process plumbing: signals, daemonising with a readiness hand-off, pid
 * files, and the readiness signals (stdout line, --ready-fd, sd_notify).
 */
#ifndef VGPU_DAEMON_H
#define VGPU_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Block SIGTERM, SIGINT, SIGHUP, SIGUSR1 (and SIGCHLD with @children)
 * before any thread exists, and return a signalfd for them, or -errno. */
int daemon_signalfd(bool children);

/*
 * Fork into the background. The parent waits until the child calls
 * daemon_ready() (then prints its ready line on stdout and exits 0) or
 * exits (then exits with the child's status). Returns in the child the
 * write end of the hand-off pipe (>= 0), or -errno in the parent's place
 * if forking failed.
 */
int daemon_fork(void);
/* In the child: detach stdio (stderr too if @keep_stderr is false). */
void daemon_detach(bool keep_stderr);

/* Create, lock and fill a pid file. fd (kept open) or -errno;
 * -EWOULDBLOCK means another process holds it. */
int daemon_pidfile(const char *path);

/*
 * Announce readiness: @line on stdout (or to the waiting parent through
 * @handoff_fd), "READY=1" on @ready_fd, and READY=1 to systemd.
 * Closes @handoff_fd and @ready_fd.
 */
void daemon_ready(const char *line, int handoff_fd, int ready_fd);
/* Create (or open) @path, size it to @size and map it shared. 0 or
 * -errno; the mapping outlives the process's death in the page cache. */
int daemon_map_file(const char *path, size_t size, void **addr);
void daemon_unmap_file(void *addr, size_t size);

/* Tell systemd we are stopping (no-op outside systemd). */
void daemon_stopping(void);

#endif
