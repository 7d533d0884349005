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
#include <getopt.h>
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
#include <vgpu/log.h>
#include <vgpu/pidlock.h>
#include <vgpu/xs.h>

#define ROOT "/local/domain/0/vgpu-ioreq"
#define MAX_WORKERS 64
#define MAX_WORKER_ARGS 16
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
	const char *worker_path;
	const char *worker_args[MAX_WORKER_ARGS];
	unsigned int nr_worker_args;
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
	const char *argv[MAX_WORKER_ARGS + 12];
	char domid[16];
	int out[2], err[2];
	unsigned int i, n = 0;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	snprintf(domid, sizeof(domid), "%u", w->domid);
	argv[n++] = s->worker_path;
	argv[n++] = "--domid";
	argv[n++] = domid;
	argv[n++] = "--foreground";
	argv[n++] = "--log";
	argv[n++] = "stderr";
	if (w->bdf[0]) {
		argv[n++] = "--bdf";
		argv[n++] = w->bdf;
	}
	for (i = 0; i < s->nr_worker_args; i++)
		argv[n++] = s->worker_args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* readiness is the supervisor's to report, not the worker's */
		unsetenv("NOTIFY_SOCKET");
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "vgpu-ioreq: err: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	w->pid = pid;
	w->out_fd = out[0];
	w->err_fd = err[0];
	w->out_len = w->err_len = 0;
	w->reason[0] = '\0';
	fcntl(w->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(w->err_fd, F_SETFL, O_NONBLOCK);
	add_fd(s, w->out_fd, (int)(w - s->w) * 2);
	add_fd(s, w->err_fd, (int)(w - s->w) * 2 + 1);
	log_info(&s->log, "d%u: worker %ld started", w->domid, (long)pid);
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
	char p[96], *end, *req;
	unsigned long domid = strtoul(name, &end, 10);
	struct worker *w;

	snprintf(p, sizeof(p), ROOT "/%s/request", name);
	req = xsg_read(s->xs, p);
	if (!req)
		return;
	if (*name == '\0' || *end != '\0' || domid > CLI_DOMID_MAX ||
	    (name[0] == '0' && name[1] != '\0')) {
		snprintf(p, sizeof(p), ROOT "/%s/error", name);
		xsg_write(s->xs, p, "not a domain id");
		snprintf(p, sizeof(p), ROOT "/%s/state", name);
		xsg_write(s->xs, p, "error");
		log_warn(&s->log, "request under '%s': not a domain id", name);
	} else if (strcmp(req, "attach") == 0) {
		attach(s, (uint32_t)domid);
	} else if (strcmp(req, "detach") == 0) {
		w = find(s, (uint32_t)domid);
		if (w) {
			w->stopping = true;
			kill(w->pid, SIGTERM);
		} else if (xsg_domain_exists(s->xs, (uint32_t)domid)) {
			put(s, (uint32_t)domid, "state", "closed");
		} else {
			forget_domain(s, (uint32_t)domid);
		}
	} else {
		char why[160];

		snprintf(why, sizeof(why),
			 "unknown request '%.64s' (expected attach or detach)",
			 req);
		set_error(s, (uint32_t)domid, why);
	}
	free(req);
}

/* "vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 ... pid=812" */
static void on_ready_line(struct sup *s, struct worker *w, const char *line)
{
	const char *keys[] = { "sbdf=", "ioservid=", "pid=" };
	unsigned int i;

	if (strncmp(line, "vgpu-ioreq: ready ", 18) != 0)
		return;
	for (i = 0; i < 3; i++) {
		const char *v = strstr(line, keys[i]);
		char val[32];
		size_t n;

		if (!v)
			continue;
		v += strlen(keys[i]);
		n = strcspn(v, " \n");
		snprintf(val, sizeof(val), "%.*s", (int)(n < 31 ? n : 31), v);
		put(s, w->domid,
		    i == 0 ? "sbdf" :
		    i == 1 ? "ioservid" :
			     "pid",
		    val);
	}
	put(s, w->domid, "state", "running");
	log_info(&s->log, "d%u: running", w->domid);
}

/* Keep the worker's reason for failing: its last error line. */
static void on_err_line(struct worker *w, const char *line)
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
		return;
	}
	snprintf(w->reason, sizeof(w->reason), "%s", m);
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
				on_err_line(w, buf);
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
		char *end;
		unsigned long d = strtoul(dirs[i], &end, 10);

		char p[96], *state;

		if (*end != '\0' || d > CLI_DOMID_MAX || find(s, (uint32_t)d) ||
		    xsg_domain_exists(s->xs, (uint32_t)d))
			continue;
		/* an error stays for the administrator to read (and clear) */
		key_path(p, sizeof(p), (uint32_t)d, "state");
		state = xsg_read(s->xs, p);
		if (!state || strcmp(state, "error") != 0)
			forget_domain(s, (uint32_t)d);
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

static const char usage[] =
	"usage: vgpu-ioreqd [options]\n"
	"\n"
	"Run vgpu-ioreq for every domain whose XenStore key\n"
	"  " ROOT "/<domid>/request\n"
	"is set to \"attach\" (\"detach\" stops it). Reports state, error, pid,\n"
	"ioservid and sbdf beside it. See vgpu-ioreqd(8).\n"
	"\n"
	"  -F, --foreground         do not daemonise\n"
	"  -p, --pidfile PATH       write and lock a pid file\n"
	"      --worker PATH        the vgpu-ioreq to run (default " SBINDIR
	"/vgpu-ioreq)\n"
	"      --worker-arg ARG     pass ARG to every worker (repeatable),\n"
	"                           e.g. --worker-arg=--depriv\n"
	"      --log stderr|syslog  log destination\n"
	"      --log-level LEVEL    err, warning, info (default) or debug\n"
	"  -h, --help, -V, --version\n";

struct opts {
	const char *pidfile;
	bool foreground;
	bool log_set;
	enum log_sink sink;
	int level;
};

/* One option: -1 to go on, or the exit status. */
static int parse_opt(struct sup *s, struct opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'F':
		o->foreground = true;
		return -1;
	case 'p':
		o->pidfile = optarg;
		return -1;
	case 'w':
		s->worker_path = optarg;
		return -1;
	case 'a':
		if (s->nr_worker_args == MAX_WORKER_ARGS) {
			fprintf(stderr, "vgpu-ioreqd: too many --worker-arg\n");
			return CLI_EXIT_USAGE;
		}
		s->worker_args[s->nr_worker_args++] = optarg;
		return -1;
	case 'l':
		o->log_set = true;
		if (strcmp(optarg, "syslog") == 0) {
			o->sink = LOG_SINK_SYSLOG;
		} else if (strcmp(optarg, "stderr") != 0) {
			fprintf(stderr,
				"vgpu-ioreqd: invalid --log '%s': expected stderr or syslog\n",
				optarg);
			return CLI_EXIT_USAGE;
		}
		return -1;
	case 'L':
		o->level = log_parse_level(optarg);
		if (o->level < LOG_ERR) {
			fprintf(stderr,
				"vgpu-ioreqd: invalid --log-level '%s'\n",
				optarg);
			return CLI_EXIT_USAGE;
		}
		return -1;
	case 'h':
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	case 'V':
		printf("vgpu-ioreqd %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	default:
		fprintf(stderr,
			"vgpu-ioreqd: unknown option '%s'\nTry 'vgpu-ioreqd --help'.\n",
			arg);
		return CLI_EXIT_USAGE;
	}
}

/* The command line: -1 to go on, or the exit status. */
static int parse_args(struct sup *s, struct opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "worker", required_argument, NULL, 'w' },
		{ "worker-arg", required_argument, NULL, 'a' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "Fp:hV", opts, NULL)) != -1) {
		rc = parse_opt(s, o, opt, argv[optind - 1]);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "vgpu-ioreqd: unexpected argument '%s'\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/* Signals, the fork, the pid file, XenStore and its watches: 0 or -1. */
static int setup(struct sup *s, const struct opts *o, int *handoff)
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
	struct opts o = { .sink = LOG_SINK_STDERR, .level = LOG_INFO };
	int handoff = -1, rc;

	s.worker_path = SBINDIR "/vgpu-ioreq";
	pidlock_init(&s.pidfile);
	rc = parse_args(&s, &o, argc, argv);
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
