/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test helper: the real vgpu-ioreq binary in --loopback mode on a socket
 * in a fresh temporary directory, started in the foreground and waited
 * for through --ready-fd (no sleeps), its stderr collected so that tests
 * can wait for a log line and show the log when they fail.
 */
#ifndef TEST_LDAEMON_H
#define TEST_LDAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ldaemon {
	pid_t pid;
	char dir[64];
	char path[108];
	int err_fd; /* the daemon's stderr */
	char log[1 << 16];
	size_t loglen;
	size_t seen; /* log bytes ld_wait_log() has looked at */
	bool own_dir; /* ld_stop() removes dir */
};

#define LD_ALARM_S 300 /* ld_start() arms alarm(): a hang ends the test */

/*
 * Start vgpu-ioreq --loopback PATH -F --ready-fd N, with the extra
 * arguments @extra (NULL-terminated, may be NULL); PATH is @path, or NULL
 * for a socket in a fresh directory. 0 once it said READY=1, or -1
 * (d->log says why; d->pid is then reaped).
 */
int ld_start(struct ldaemon *d, const char *path, const char *const *extra);
/* Run the binary with @argv (argv[0] excluded) to its end: its exit
 * status, its stderr in @err. */
int ld_run(const char *const *argv, char *err, size_t errlen);
/* SIGTERM, wait (bounded), remove the directory: the exit status, or -1
 * (killed, or did not exit within 10 s). */
int ld_stop(struct ldaemon *d);
/* Read the log until a line after the last match contains @needle.
 * 0, or -1 after @timeout_ms. */
int ld_wait_log(struct ldaemon *d, const char *needle, int timeout_ms);
/* Collect what the daemon logged so far (non-blocking). */
void ld_drain(struct ldaemon *d);
/* The daemon's children (the VMs), up to @max: how many. */
int ld_children(const struct ldaemon *d, pid_t *pids, int max);
/* Print the log as TAP comments. */
void ld_dump(struct ldaemon *d);

/* The path of the daemon binary (compiled in). */
extern const char ld_binary[];

#endif
