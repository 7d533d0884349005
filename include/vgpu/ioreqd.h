/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Xen-free half of vgpu-ioreqd: XenStore names as domids, starting a
 * worker, and reading what it says. A worker serves a guest: once it has
 * dropped its privileges it is untrusted, so its lines are parsed
 * strictly and its ready line is taken once per start.
 */
#ifndef VGPU_IOREQD_H
#define VGPU_IOREQD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vgpu/log.h>

#define IOREQD_ROOT "/local/domain/0/vgpu-ioreq"
#define IOREQD_MAX_WORKER_ARGS 16

struct ioreqd_opts {
	const char *pidfile;
	bool foreground;
	bool log_set;
	enum log_sink sink;
	int level;
	const char *worker_path;
	const char *worker_args[IOREQD_MAX_WORKER_ARGS];
	unsigned int nr_worker_args;
};

/* vgpu-ioreqd's command line into @o: -1 to go on, or the exit status
 * (--help, --version, a usage error on stderr). */
int ioreqd_parse_args(struct ioreqd_opts *o, int argc, char **argv);

/* A directory name under the supervisor's root as a domid: canonical
 * decimal (digits only, no leading zero), at most CLI_DOMID_MAX. 0 or -1. */
int ioreqd_parse_domid(const char *s, uint32_t *domid);

struct ioreqd_child {
	pid_t pid;
	int out_fd, err_fd; /* the worker's stdout and stderr, non-blocking */
};

/*
 * Start @argv (argv[0] a path) in a session of its own, stdin /dev/null,
 * stdout and stderr to pipes, every signal unblocked, no NOTIFY_SOCKET.
 * 0, or -errno with nothing left open.
 */
int ioreqd_spawn(char *const *argv, struct ioreqd_child *c);

/* Where a worker is: it owes its ready line while STARTING. */
enum ioreqd_phase { IOREQD_STARTING, IOREQD_RUNNING };

/* The values of a ready line, each checked. */
struct ioreqd_ready {
	char sbdf[16]; /* SSSS:BB:DD.F */
	char ioservid[8]; /* decimal, < 65536 */
	char pid[16]; /* the worker's own */
};

/*
 * A line from the stdout of worker @pid serving @domid: true if it is the
 * ready line the worker owes ("vgpu-ioreq: ready domid=5
 * sbdf=0000:00:05.0 ioservid=1 ... pid=812", every value well-formed and
 * domid and pid its own) and @phase is STARTING; then @r holds the values
 * and @phase becomes RUNNING. False for anything else.
 */
bool ioreqd_ready_line(enum ioreqd_phase *phase, uint32_t domid, pid_t pid,
		       const char *line, struct ioreqd_ready *r);

/* A line from a worker's stderr: true if it gives the worker's reason
 * for failing (an error or a usage error), copied into @reason. */
bool ioreqd_err_line(const char *line, char *reason, size_t len);

#endif
