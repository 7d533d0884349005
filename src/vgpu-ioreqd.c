// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreqd: XenStore-driven attach. Watches
 * /local/domain/0/vgpu-ioreq/<domid>/request and runs one vgpu-ioreq
 * worker per requested domain, reporting through state, error, pid,
 * ioservid and sbdf beside the request (see vgpu-ioreqd(8)). The
 * supervisor keeps XenStore; workers may drop every privilege (--depriv).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/cli.h>
#include <vgpu/daemon.h>
#include <vgpu/ioreqd.h>
#include <vgpu/log.h>
#include <vgpu/pidlock.h>
#include <vgpu/xs.h>

#define ROOT IOREQD_ROOT
#define MAX_WORKERS 64
#define RESTARTS_MAX 3 /* crashes within RESTART_WINDOW_S, then give up */
#define RESTART_WINDOW_S 60

enum { EV_SIGNAL = -1, EV_XENSTORE = -2 };

struct worker {
	bool used;
	uint32_t domid;
	pid_t pid;
	int out_fd, err_fd;
	char out[512];
	size_t out_len;
	char err[1024];
	size_t err_len;
	char reason[256]; /* the worker's last error, for the error key */
	char bdf[32];
	bool stopping; /* detach asked, or the domain is gone */
	bool domain_gone;
	enum ioreqd_phase phase; /* it owes its ready line while STARTING */
	bool ready_ignored; /* logged once per start */
	unsigned int crashes;
	time_t first_crash;
};

struct sup {
	struct logger log;
	struct xsg *xs;
	int ep;
	int sigfd;
	int notify_fd; /* systemd's, or -1 */
	struct pidlock pidfile;
	const struct ioreqd_opts *o;
	struct worker w[MAX_WORKERS];
};

static void key_path(char *buf, size_t len, uint32_t domid, const char *key)
{
	snprintf(buf, len, ROOT "/%u/%s", domid, key);
}

static void put(struct sup *s, uint32_t domid, const char *key, const char *val)
{
	char p[96];

	key_path(p, sizeof(p), domid, key);
	if (xsg_write(s->xs, p, val) < 0)
		log_warn(&s->log, "cannot write %s: %s", p, strerror(errno));
}

static void drop(struct sup *s, uint32_t domid, const char *key)
{
	char p[96];

	key_path(p, sizeof(p), domid, key);
	xsg_rm(s->xs, p);
}

static void set_error(struct sup *s, uint32_t domid, const char *why)
{
	put(s, domid, "error", why);
	put(s, domid, "state", "error");
	log_warn(&s->log, "d%u: %s", domid, why);
}

static struct worker *find(struct sup *s, uint32_t domid)
{
	unsigned int i;

	for (i = 0; i < MAX_WORKERS; i++)
		if (s->w[i].used && s->w[i].domid == domid)
			return &s->w[i];
	return NULL;
}

static int add_fd(struct sup *s, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = (uint64_t)tag };

	ev.data.u64 = (uint64_t)(int64_t)tag;
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int spawn(struct sup *s, struct worker *w)
{
	const char *argv[IOREQD_MAX_WORKER_ARGS + 12];
	struct ioreqd_child c;
	char domid[16];
	unsigned int i, n = 0;
	int rc;

	snprintf(domid, sizeof(domid), "%u", w->domid);
	argv[n++] = s->o->worker_path;
	argv[n++] = "--domid";
	argv[n++] = domid;
	argv[n++] = "--foreground";
	argv[n++] = "--log";
	argv[n++] = "stderr";
	if (w->bdf[0]) {
		argv[n++] = "--bdf";
		argv[n++] = w->bdf;
	}
	for (i = 0; i < s->o->nr_worker_args; i++)
		argv[n++] = s->o->worker_args[i];
	argv[n] = NULL;
	rc = ioreqd_spawn((char *const *)argv, &c);
	if (rc < 0)
		return rc;
	w->pid = c.pid;
	w->out_fd = c.out_fd;
	w->err_fd = c.err_fd;
	w->out_len = w->err_len = 0;
	w->reason[0] = '\0';
	w->phase = IOREQD_STARTING;
	w->ready_ignored = false;
	add_fd(s, w->out_fd, (int)(w - s->w) * 2);
	add_fd(s, w->err_fd, (int)(w - s->w) * 2 + 1);
	log_info(&s->log, "d%u: worker %ld started", w->domid, (long)c.pid);
	return 0;
}

static void attach(struct sup *s, uint32_t domid)
{
	struct worker *w = find(s, domid);
	char p[96], *bdf;
	unsigned int i;
	int rc;

	if (w)
		return; /* attached already: a request is idempotent */
	for (i = 0; i < MAX_WORKERS && s->w[i].used; i++)
		;
	if (i == MAX_WORKERS) {
		set_error(s, domid, "too many domains served (64)");
		return;
	}
	w = &s->w[i];
	memset(w, 0, sizeof(*w));
	w->used = true;
	w->domid = domid;
	w->out_fd = w->err_fd = -1;
	key_path(p, sizeof(p), domid, "bdf");
	bdf = xsg_read(s->xs, p);
	if (bdf)
		snprintf(w->bdf, sizeof(w->bdf), "%s", bdf);
	free(bdf);
	drop(s, domid, "error");
	drop(s, domid, "pid");
	drop(s, domid, "ioservid");
	drop(s, domid, "sbdf");
	put(s, domid, "state", "initialising");
	rc = spawn(s, w);
	if (rc < 0) {
		w->used = false;
		set_error(s, domid, "cannot start a worker");
	}
}

static void forget_domain(struct sup *s, uint32_t domid)
{
	char p[96];
	glob_t g;
	size_t i;

	snprintf(p, sizeof(p), ROOT "/%u", domid);
	xsg_rm(s->xs, p);
	/* the worker's lock and state files under the run directory */
	snprintf(p, sizeof(p), "%s/vgpu-ioreq/d%u-*", RUNSTATEDIR, domid);
	if (glob(p, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	log_info(&s->log, "d%u: domain gone, keys removed", domid);
}

/* A request node changed: .../<domid>/request = attach | detach. */
static void on_request(struct sup *s, const char *name)
{
	char p[96], *req;
	uint32_t domid;
	struct worker *w;

	snprintf(p, sizeof(p), ROOT "/%s/request", name);
	req = xsg_read(s->xs, p);
	if (!req)
		return;
	if (ioreqd_parse_domid(name, &domid) < 0) {
		snprintf(p, sizeof(p), ROOT "/%s/error", name);
		xsg_write(s->xs, p, "not a domain id");
		snprintf(p, sizeof(p), ROOT "/%s/state", name);
		xsg_write(s->xs, p, "error");
		log_warn(&s->log, "request under '%s': not a domain id", name);
	} else if (strcmp(req, "attach") == 0) {
		attach(s, domid);
	} else if (strcmp(req, "detach") == 0) {
		w = find(s, domid);
		if (w) {
			w->stopping = true;
			kill(w->pid, SIGTERM);
		} else if (xsg_domain_exists(s->xs, domid)) {
			put(s, domid, "state", "closed");
		} else {
			forget_domain(s, domid);
		}
	} else {
		char why[160];

		snprintf(why, sizeof(why),
			 "unknown request '%.64s' (expected attach or detach)",
			 req);
		set_error(s, domid, why);
	}
	free(req);
}

/* The ready line: taken once per start (a worker serves a guest, and
 * every line means four XenStore writes); anything else is ignored. */
static void on_ready_line(struct sup *s, struct worker *w, const char *line)
{
	struct ioreqd_ready r;

	if (!ioreqd_ready_line(&w->phase, w->domid, w->pid, line, &r)) {
		if (strncmp(line, "vgpu-ioreq: ready", 17) == 0 &&
		    !w->ready_ignored) {
			log_warn(&s->log,
				 "d%u: worker %ld: ready line ignored (%s)",
				 w->domid, (long)w->pid,
				 w->phase == IOREQD_RUNNING ?
					 "it is running already" :
					 "malformed");
			w->ready_ignored = true;
		}
		return;
	}
	put(s, w->domid, "sbdf", r.sbdf);
	put(s, w->domid, "ioservid", r.ioservid);
	put(s, w->domid, "pid", r.pid);
	put(s, w->domid, "state", "running");
	log_info(&s->log, "d%u: running", w->domid);
}

static void drain(struct sup *s, struct worker *w, bool is_err)
{
	int fd = is_err ? w->err_fd : w->out_fd;
	char *buf = is_err ? w->err : w->out;
	size_t cap = is_err ? sizeof(w->err) : sizeof(w->out);
	size_t *len = is_err ? &w->err_len : &w->out_len;
	char *nl;
	ssize_t n;

	while ((n = read(fd, buf + *len, cap - 1 - *len)) > 0) {
		*len += (size_t)n;
		buf[*len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (is_err)
				ioreqd_err_line(buf, w->reason,
						sizeof(w->reason));
			else
				on_ready_line(s, w, buf);
			*len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, *len + 1);
		}
		if (*len == cap - 1)
			*len = 0; /* an overlong line: drop it */
	}
	if (n == 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		if (is_err)
			w->err_fd = -1;
		else
			w->out_fd = -1;
	}
}

static void on_exit_status(struct sup *s, struct worker *w, int status)
{
	time_t now = time(NULL);
	char why[320];

	if (w->out_fd >= 0)
		drain(s, w, false);
	if (w->err_fd >= 0)
		drain(s, w, true);
	if (w->out_fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, w->out_fd, NULL);
		close(w->out_fd);
	}
	if (w->err_fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, w->err_fd, NULL);
		close(w->err_fd);
	}
	w->out_fd = w->err_fd = -1;
	drop(s, w->domid, "pid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		put(s, w->domid, "state", "closed");
		log_info(&s->log, "d%u: worker exited, closed", w->domid);
	} else if (WIFSIGNALED(status) && !w->stopping &&
		   xsg_domain_exists(s->xs, w->domid)) {
		/* A crash: a new worker takes over the server it left. */
		if (now - w->first_crash > RESTART_WINDOW_S) {
			w->first_crash = now;
			w->crashes = 0;
		}
		if (++w->crashes <= RESTARTS_MAX) {
			log_warn(
				&s->log,
				"d%u: worker killed by signal %d, restarting it (%u/%d)",
				w->domid, WTERMSIG(status), w->crashes,
				RESTARTS_MAX);
			put(s, w->domid, "state", "initialising");
			if (spawn(s, w) == 0)
				return;
		}
		snprintf(why, sizeof(why), "worker killed by signal %d",
			 WTERMSIG(status));
		set_error(s, w->domid, why);
	} else if (WIFSIGNALED(status)) {
		put(s, w->domid, "state", "closed");
	} else {
		snprintf(why, sizeof(why), "%s",
			 w->reason[0] ? w->reason : "worker failed");
		set_error(s, w->domid, why);
	}
	w->used = false;
	if (w->domain_gone)
		forget_domain(s, w->domid);
}

static void reap(struct sup *s)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < MAX_WORKERS; i++)
			if (s->w[i].used && s->w[i].pid == pid)
				on_exit_status(s, &s->w[i], status);
}

/* @releaseDomain: stop the workers of vanished domains (they would see it
 * within a second themselves) and remove their keys. */
static void on_release(struct sup *s)
{
	unsigned int i, n;
	char **dirs = xsg_list(s->xs, ROOT, &n);

	for (i = 0; i < MAX_WORKERS; i++) {
		struct worker *w = &s->w[i];

		if (w->used && !xsg_domain_exists(s->xs, w->domid)) {
			w->domain_gone = w->stopping = true;
			kill(w->pid, SIGTERM);
		}
	}
	for (i = 0; dirs && i < n; i++) {
		char p[96], *state;
		uint32_t d;

		if (ioreqd_parse_domid(dirs[i], &d) < 0 || find(s, d) ||
		    xsg_domain_exists(s->xs, d))
			continue;
		/* an error stays for the administrator to read (and clear) */
		key_path(p, sizeof(p), d, "state");
		state = xsg_read(s->xs, p);
		if (!state || strcmp(state, "error") != 0)
			forget_domain(s, d);
		free(state);
	}
	free(dirs);
}

static void on_xenstore(struct sup *s)
{
	char *path;

	while ((path = xsg_next_event(s->xs))) {
		const char *rel = path + strlen(ROOT) + 1;
		const char *slash;

		if (strcmp(path, "@releaseDomain") == 0) {
			on_release(s);
		} else if (strncmp(path, ROOT "/", strlen(ROOT) + 1) == 0 &&
			   (slash = strchr(rel, '/')) &&
			   strcmp(slash, "/request") == 0) {
			char name[32];

			snprintf(name, sizeof(name), "%.*s", (int)(slash - rel),
				 rel);
			on_request(s, name);
		}
		free(path);
	}
}

static void scan_requests(struct sup *s)
{
	unsigned int i, n;
	char **dirs = xsg_list(s->xs, ROOT, &n);

	for (i = 0; dirs && i < n; i++)
		on_request(s, dirs[i]);
	free(dirs);
}

static void stop_all(struct sup *s)
{
	unsigned int i, left;
	int status;

	for (i = 0; i < MAX_WORKERS; i++)
		if (s->w[i].used) {
			s->w[i].stopping = true;
			kill(s->w[i].pid, SIGTERM);
		}
	do {
		pid_t pid = waitpid(-1, &status, 0);

		for (i = 0; pid > 0 && i < MAX_WORKERS; i++)
			if (s->w[i].used && s->w[i].pid == pid)
				on_exit_status(s, &s->w[i], status);
		for (left = 0, i = 0; i < MAX_WORKERS; i++)
			left += s->w[i].used;
		if (pid < 0 && errno != EINTR)
			break;
	} while (left);
}

/* Signals, the fork, the pid file, XenStore and its watches: 0 or -1. */
static int setup(struct sup *s, const struct ioreqd_opts *o, int *handoff)
{
	long holder;
	int rc;

	log_init(&s->log, o->sink, o->level);
	s->notify_fd = daemon_notify_open();
	s->sigfd = daemon_signalfd(true); /* workers' exits too */
	if (s->sigfd < 0) {
		log_err(&s->log, "signalfd: %s", strerror(-s->sigfd));
		return -1;
	}
	if (!o->foreground) {
		*handoff = daemon_fork();
		if (*handoff < 0)
			return -1;
	}
	if (o->pidfile &&
	    (rc = pidlock_take(&s->pidfile, o->pidfile, &holder)) < 0) {
		if (rc == -EBUSY)
			log_err(&s->log,
				"pid file %s: locked by a running vgpu-ioreqd (pid %ld)",
				o->pidfile, holder);
		else
			log_err(&s->log, "pid file %s: %s", o->pidfile,
				strerror(-rc));
		return -1;
	}
	rc = xsg_open(&s->xs);
	if (rc < 0) {
		log_err(&s->log, "cannot connect to xenstore: %s",
			strerror(-rc));
		return -1;
	}
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (xsg_mkdir_dom0_only(s->xs, ROOT) < 0 ||
	    xsg_watch(s->xs, ROOT, "request") < 0 ||
	    xsg_watch(s->xs, "@releaseDomain", "release") < 0 || s->ep < 0 ||
	    add_fd(s, s->sigfd, EV_SIGNAL) < 0 ||
	    add_fd(s, xsg_fd(s->xs), EV_XENSTORE) < 0) {
		log_err(&s->log, "cannot set up %s and its watches: %s", ROOT,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Read the signalfd: false once told to stop. */
static bool on_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return false;
	}
	return true;
}

/* Serve until SIGTERM or SIGINT (or epoll fails). */
static void run(struct sup *s)
{
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(s->ep, evs, 8, -1), i;

		if (n < 0 && errno != EINTR)
			return;
		for (i = 0; i < n; i++) {
			int tag = (int)(int64_t)evs[i].data.u64;

			if (tag == EV_XENSTORE)
				on_xenstore(s);
			else if (tag == EV_SIGNAL && !on_signals(s))
				return;
			else if (tag >= 0 && s->w[tag / 2].used)
				drain(s, &s->w[tag / 2], tag & 1);
		}
	}
}

int main(int argc, char **argv)
{
	static struct sup s;
	struct ioreqd_opts o;
	int handoff = -1, rc;

	pidlock_init(&s.pidfile);
	s.o = &o;
	rc = ioreqd_parse_args(&o, argc, argv);
	if (rc >= 0)
		return rc;
	if (setup(&s, &o, &handoff) < 0)
		return CLI_EXIT_FAIL;
	scan_requests(&s);
	daemon_ready("vgpu-ioreqd: ready, watching " ROOT "\n", handoff, -1,
		     s.notify_fd);
	if (!o.foreground)
		daemon_detach(o.log_set && o.sink == LOG_SINK_STDERR);
	run(&s);
	log_info(&s.log, "stopping every worker");
	daemon_stopping(s.notify_fd);
	stop_all(&s);
	xsg_close(s.xs);
	pidlock_release(&s.pidfile);
	return CLI_EXIT_OK;
}
