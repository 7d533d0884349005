/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process plumbing: signals, daemonising with a readiness hand-off, and
 * the readiness signals (stdout line, --ready-fd, sd_notify). Pid files:
 * pidlock.h.
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
 * Fork into the background (the child in a session of its own). The
 * parent waits: it copies the child's daemon_report() lines to stderr,
 * and prints the ready line on stdout and exits 0 when the child calls
 * daemon_ready(), or exits with the child's status if it exits first.
 * Returns in the child the write end of the hand-off pipe (>= 0), or
 * -errno in the parent's place if forking failed.
 */
int daemon_fork(void);
/* In the child: stdio to /dev/null (stderr kept if @keep_stderr), and
 * the working directory /. */
void daemon_detach(bool keep_stderr);
/* A line for the waiting parent's stderr (e.g. an error after
 * daemon_detach()). No-op if @handoff_fd < 0. */
void daemon_report(int handoff_fd, const char *line);

/* Connect to systemd's $NOTIFY_SOCKET now (before a chroot): the socket
 * for daemon_ready() and daemon_stopping(), or -1 outside systemd. */
int daemon_notify_open(void);

/*
 * Announce readiness: @line on stdout (or to the waiting parent through
 * @handoff_fd), "READY=1" on @ready_fd, and READY=1 to systemd through
 * @notify_fd (if >= 0). Closes @handoff_fd and @ready_fd.
 */
void daemon_ready(const char *line, int handoff_fd, int ready_fd,
		  int notify_fd);
/* Create (or open) @path, size it to @size and map it shared. 0 or
 * -errno; the mapping outlives the process's death in the page cache. */
int daemon_map_file(const char *path, size_t size, void **addr);
void daemon_unmap_file(void *addr, size_t size);

/* Tell systemd we are stopping (no-op if @notify_fd < 0). */
void daemon_stopping(int notify_fd);

#endif
