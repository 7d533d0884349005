// SPDX-License-Identifier: GPL-2.0-only
/* vgpu-ioreqd's workers, without Xen; see ioreqd.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vgpu/cli.h>
#include <vgpu/ioreqd.h>

/* Canonical decimal, digits only (strtoul takes signs, blanks and
 * wraps negatives around), no leading zero, at most @max. */
static bool parse_dec(const char *s, size_t n, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int ioreqd_parse_domid(const char *s, uint32_t *domid)
{
	unsigned long v;

	if (!parse_dec(s, strlen(s), CLI_DOMID_MAX, &v))
		return -1;
	*domid = (uint32_t)v;
	return 0;
}

/* In the child: a session of its own (no controlling terminal to type
 * into), /dev/null as stdin, the pipes as stdout and stderr. */
static void __attribute__((noreturn))
exec_worker(char *const *argv, int out, int err)
{
	sigset_t all;
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* readiness is the supervisor's to report, not the worker's */
	unsetenv("NOTIFY_SOCKET");
	if (null < 0 || setsid() < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
		dprintf(err, "vgpu-ioreq: err: cannot set up a worker: %s\n",
			strerror(errno));
		_exit(127);
	}
	execv(argv[0], argv);
	fprintf(stderr, "vgpu-ioreq: err: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

int ioreqd_spawn(char *const *argv, struct ioreqd_child *c)
{
	int out[2], err[2], rc;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		close(out[0]);
		close(out[1]);
		return rc;
	}
	pid = fork();
	if (pid == 0)
		exec_worker(argv, out[1], err[1]);
	rc = pid < 0 ? -errno : 0;
	close(out[1]);
	close(err[1]);
	if (rc < 0) {
		close(out[0]);
		close(err[0]);
		return rc;
	}
	c->pid = pid;
	c->out_fd = out[0];
	c->err_fd = err[0];
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

static bool hex_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* SSSS:BB:DD.F as vgpu-ioreq prints it (lower-case hex, function 0-7). */
static bool good_sbdf(const char *v, size_t n)
{
	return n == 12 && hex_digits(v, 4) && v[4] == ':' &&
	       hex_digits(v + 5, 2) && v[7] == ':' && hex_digits(v + 8, 2) &&
	       v[10] == '.' && v[11] >= '0' && v[11] <= '7';
}

enum { K_DOMID, K_SBDF, K_IOSERVID, K_PID, NR_KEYS };

/* Each key=value of the line once; the values checked. */
static bool ready_values(char *line, uint32_t domid, pid_t pid,
			 struct ioreqd_ready *r)
{
	static const char *const keys[NR_KEYS] = { "domid", "sbdf", "ioservid",
						   "pid" };
	unsigned int seen = 0, k;
	unsigned long v = 0;
	char *tok, *save = NULL, *eq;

	for (tok = strtok_r(line, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			return false;
		*eq++ = '\0';
		for (k = 0; k < NR_KEYS && strcmp(tok, keys[k]) != 0; k++)
			;
		if (k == NR_KEYS)
			continue; /* id=, vcpus=: not published */
		if (seen & (1u << k))
			return false;
		seen |= 1u << k;
		if (k == K_SBDF ?
			    !good_sbdf(eq, strlen(eq)) :
			    !parse_dec(eq, strlen(eq),
				       k == K_IOSERVID ? 0xffff : ~0ul, &v))
			return false;
		if ((k == K_DOMID && v != domid) ||
		    (k == K_PID && v != (unsigned long)pid))
			return false;
		if (k == K_SBDF)
			snprintf(r->sbdf, sizeof(r->sbdf), "%s", eq);
		else if (k == K_IOSERVID)
			snprintf(r->ioservid, sizeof(r->ioservid), "%lu", v);
		else if (k == K_PID)
			snprintf(r->pid, sizeof(r->pid), "%lu", v);
	}
	return seen == (1u << NR_KEYS) - 1;
}

bool ioreqd_ready_line(enum ioreqd_phase *phase, uint32_t domid, pid_t pid,
		       const char *line, struct ioreqd_ready *r)
{
	static const char prefix[] = "vgpu-ioreq: ready ";
	char copy[256];
	size_t n;

	if (*phase != IOREQD_STARTING ||
	    strncmp(line, prefix, sizeof(prefix) - 1) != 0)
		return false;
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		n--;
	if (n >= sizeof(copy))
		return false;
	memcpy(copy, line, n);
	copy[n] = '\0';
	if (!ready_values(copy + sizeof(prefix) - 1, domid, pid, r))
		return false;
	*phase = IOREQD_RUNNING;
	return true;
}

bool ioreqd_err_line(const char *line, char *reason, size_t len)
{
	const char *m = strstr(line, ": err: ");

	if (m) {
		m += 7;
		/* drop the worker's "dN DD:DD.F: " prefix */
		if (m[0] == 'd' && strstr(m, ": "))
			m = strstr(m, ": ") + 2;
	} else if (strncmp(line, "vgpu-ioreq: invalid", 19) == 0 ||
		   strncmp(line, "vgpu-ioreq: give", 16) == 0) {
		m = line + 12; /* a usage error */
	} else {
		return false;
	}
	snprintf(reason, len, "%s", m);
	return true;
}
