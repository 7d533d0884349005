// SPDX-License-Identifier: GPL-2.0-only
/* Test helper: a vgpu-ioreq --loopback of the test's own; see ldaemon.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ldaemon.h"

const char ld_binary[] = VGPU_IOREQ_BIN;

static long ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Append what is readable of the daemon's stderr; -1 at its end. */
static int pull(struct ldaemon *d, int timeout_ms)
{
	struct pollfd p = { .fd = d->err_fd, .events = POLLIN };
	ssize_t n;

	if (d->err_fd < 0 || poll(&p, 1, timeout_ms) <= 0)
		return d->err_fd < 0 ? -1 : 0;
	if (d->loglen + 1 >= sizeof(d->log)) {
		/* keep the newest half */
		size_t keep = sizeof(d->log) / 2;

		memmove(d->log, d->log + d->loglen - keep, keep);
		d->seen = d->seen > d->loglen - keep ?
				  d->seen - (d->loglen - keep) :
				  0;
		d->loglen = keep;
	}
	n = read(d->err_fd, d->log + d->loglen, sizeof(d->log) - 1 - d->loglen);
	if (n <= 0) {
		close(d->err_fd);
		d->err_fd = -1;
		return -1;
	}
	d->loglen += (size_t)n;
	d->log[d->loglen] = '\0';
	return 1;
}

void ld_drain(struct ldaemon *d)
{
	while (pull(d, 0) > 0)
		;
}

int ld_wait_log(struct ldaemon *d, const char *needle, int timeout_ms)
{
	long end = ms_now() + timeout_ms;

	for (;;) {
		char *hit = strstr(d->log + d->seen, needle);

		if (hit) {
			char *eol = strchr(hit, '\n');

			d->seen = (size_t)((eol ? eol + 1 : hit + strlen(hit)) -
					   d->log);
			return 0;
		}
		if (ms_now() >= end || pull(d, (int)(end - ms_now())) < 0)
			return strstr(d->log + d->seen, needle) ? 0 : -1;
	}
}

void ld_dump(struct ldaemon *d)
{
	char *line, *save = NULL;

	ld_drain(d);
	for (line = strtok_r(d->log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# daemon: %s\n", line);
	d->loglen = d->seen = 0;
	d->log[0] = '\0';
}

static void exec_daemon(int ready, int err, const char *const *argv)
{
	dup2(err, STDERR_FILENO);
	dup2(err, STDOUT_FILENO); /* the ready line: not TAP */
	if (ready != 3) {
		dup2(ready, 3);
		close(ready);
	}
	fcntl(3, F_SETFD, 0);
	execv(ld_binary, (char *const *)argv);
	_exit(127);
}

int ld_start(struct ldaemon *d, const char *path, const char *const *extra)
{
	const char *argv[32] = { ld_binary, "--loopback", d->path,
				 "-F",	    "--ready-fd", "3" };
	int rp[2], ep[2], n = 6, i;
	char buf[16] = "";
	struct pollfd p;

	/* a test that hangs fails (SIGALRM) instead of hanging make check */
	alarm(LD_ALARM_S);
	memset(d, 0, sizeof(*d));
	d->err_fd = -1;
	if (path) {
		snprintf(d->path, sizeof(d->path), "%s", path);
	} else {
		snprintf(d->dir, sizeof(d->dir), "/tmp/vgpu-loop-XXXXXX");
		if (!mkdtemp(d->dir))
			return -1;
		d->own_dir = true;
		snprintf(d->path, sizeof(d->path), "%s/sock", d->dir);
	}
	for (i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0)
		return -1;
	d->pid = fork();
	if (d->pid == 0)
		exec_daemon(rp[1], ep[1], argv);
	close(rp[1]);
	close(ep[1]);
	d->err_fd = ep[0];
	/* READY=1 on the descriptor, or its end when the daemon fails */
	p = (struct pollfd){ .fd = rp[0], .events = POLLIN };
	if (poll(&p, 1, 10000) == 1 && read(rp[0], buf, sizeof(buf) - 1) > 0 &&
	    strncmp(buf, "READY=1", 7) == 0) {
		close(rp[0]);
		ld_drain(d);
		return 0;
	}
	close(rp[0]);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
	while (pull(d, 1000) > 0)
		;
	return -1;
}

int ld_run(const char *const *argv, char *err, size_t errlen)
{
	const char *av[32] = { ld_binary };
	int ep[2], status, i;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	for (i = 0; argv[i] && i < 30; i++)
		av[i + 1] = argv[i];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(ep[1], STDERR_FILENO);
		dup2(ep[1], STDOUT_FILENO);
		execv(ld_binary, (char *const *)av);
		_exit(127);
	}
	close(ep[1]);
	while (len + 1 < errlen &&
	       (n = read(ep[0], err + len, errlen - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(ep[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ld_stop(struct ldaemon *d)
{
	long end = ms_now() + 10000;
	int status = 0;
	pid_t r = 0;
	char cmd[128];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		/* bounded: the log pipe closes when the daemon exits */
		while ((r = waitpid(d->pid, &status, WNOHANG)) == 0 &&
		       ms_now() < end)
			if (pull(d, (int)(end - ms_now())) < 0)
				r = waitpid(d->pid, &status, 0);
		if (r == 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			status = -1;
		}
		d->pid = 0;
	}
	ld_drain(d);
	if (d->err_fd >= 0)
		close(d->err_fd);
	d->err_fd = -1;
	if (d->own_dir) {
		snprintf(cmd, sizeof(cmd), "%s/sock", d->dir);
		unlink(cmd);
		rmdir(d->dir);
		d->own_dir = false;
	}
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int ld_children(const struct ldaemon *d, pid_t *pids, int max)
{
	char path[64];
	FILE *f;
	int n = 0;
	long v;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", d->pid,
		 d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < max && fscanf(f, "%ld", &v) == 1)
		pids[n++] = (pid_t)v;
	fclose(f);
	return n;
}
