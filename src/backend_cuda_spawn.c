// SPDX-License-Identifier: GPL-2.0-only
/*
 * Starting vgpu-cuda-worker. vgpu-ioreq forks a spawner before it opens
 * Xen handles or drops privileges; the spawner holds nothing but its
 * socket and starts a worker for each request (a socketpair end passed
 * with SCM_RIGHTS): a new session, a new process group, descriptor 3 the
 * control socket, optionally its own user, exec. So a deprivileged
 * daemon can still start a worker per session, and no worker inherits a
 * Xen handle or another VM's descriptor.
 *
 * What a context costs in device memory is measured once, by the
 * spawner, before it starts any worker (so while nothing else of this
 * daemon uses the GPU): it runs the worker as a probe (--probe), which
 * samples the free memory a second context takes and keeps only samples
 * that nothing else on the GPU disturbed; every worker is told the figure
 * (--ctx-cost) and says it in its hello. None kept: WK_CTX_COST_DEFAULT.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend_cuda_int.h"

#ifndef CUDA_WORKER_PATH
#define CUDA_WORKER_PATH "/usr/libexec/vgpu-ioreq/vgpu-cuda-worker"
#endif

struct spawn_req {
	uint32_t magic;
	char vm[64];
};

/* An H200's context (523-527 MiB measured, results/gpu-2026-11-29-1),
 * charged when the probe could not measure. */
#define CTX_COST_DEFAULT (512ull << 20)
#define PROBE_MS 120000

struct spawner {
	int sock;
	char worker[256];
	char cache[256];
	char gpu[96];
	uint64_t ctx_cost;
	uid_t uid;
	gid_t gid;
	bool as_user;
	struct logger *log;
};

int cb_send_msg(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

#ifdef VGPU_COVERAGE /* configure CPPFLAGS=-DVGPU_COVERAGE CFLAGS=--coverage */
void __gcov_dump(void);
#endif

static void leave(int code) __attribute__((noreturn));

static void leave(int code)
{
#ifdef VGPU_COVERAGE
	__gcov_dump(); /* the coverage run counts the spawner's lines */
#endif
	_exit(code);
}

static void close_from(int lo)
{
	if (syscall(SYS_close_range, lo, ~0u, 0) == 0)
		return;
	for (int fd = lo; fd < 65536; fd++)
		close(fd);
}

void cb_cache_path(char *buf, size_t len, const char *base, const char *vm)
{
	char clean[64];
	size_t i;

	for (i = 0; vm[i] && i < sizeof(clean) - 1; i++) {
		char c = vm[i];

		clean[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9') || c == '-' ||
					   c == '_' || c == '.' ?
				   c :
				   '_';
	}
	clean[i] = '\0';
	if (i == 0 || clean[0] == '.')
		clean[0] = '_';
	snprintf(buf, len, "%s/%s", base, i ? clean : "_");
}

static void mkdir_parents(const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* In the child: become the worker (descriptor 3: @fd). Never returns. */
static void exec_worker(const struct spawner *sp, int fd, const char *vm,
			char *const argv[])
{
	char dir[512];
	sigset_t none;
	int nul;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(126);
	close_from(4);
	nul = open("/dev/null", O_RDONLY);
	if (nul >= 0 && nul != 0) {
		dup2(nul, 0);
		close(nul);
	}
	if (sp->cache[0] && vm) {
		cb_cache_path(dir, sizeof(dir), sp->cache, vm);
		mkdir_parents(sp->cache);
		if (mkdir(dir, 0700) == 0 && sp->as_user &&
		    chown(dir, sp->uid, sp->gid) < 0)
			_exit(126);
	}
	if (sp->as_user && (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 ||
			    setuid(sp->uid) < 0))
		_exit(126);
	execv(sp->worker, argv);
	_exit(127);
}

static void sp_log(struct spawner *sp, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sp_log(struct spawner *sp, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (sp->log)
		log_vmsg(sp->log, prio, fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!sp->log)
		fputc('\n', stderr);
}

static void reap(struct spawner *sp)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (WIFEXITED(st))
			sp_log(sp, LOG_WARNING,
			       "vgpu-cuda-worker %ld exited with status %d%s",
			       (long)pid, WEXITSTATUS(st),
			       WEXITSTATUS(st) == 127 ?
				       " (could not run it, or libcuda.so.1 is missing)" :
				       "");
		else if (WIFSIGNALED(st))
			sp_log(sp, LOG_WARNING,
			       "vgpu-cuda-worker %ld killed by signal %d",
			       (long)pid, WTERMSIG(st));
	}
}

/* Read the probe's line from @fd for up to PROBE_MS. */
static void probe_read(int fd, char *line, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got + 1 < len && poll(&p, 1, PROBE_MS) == 1) {
		ssize_t n = read(fd, line + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	line[got] = '\0';
}

/* What a context costs, measured before any worker runs. */
static void probe(struct spawner *sp)
{
	char *argv[] = { (char *)"vgpu-cuda-worker", (char *)"--probe", sp->gpu,
			 NULL };
	char line[256];
	unsigned long long cost = 0;
	unsigned int kept = 0, tries = 0;
	int p[2], st;
	pid_t pid;

	sp->ctx_cost = CTX_COST_DEFAULT;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0)
		exec_worker(sp, p[1], NULL, argv);
	close(p[1]);
	line[0] = '\0';
	if (pid > 0)
		probe_read(p[0], line, sizeof(line));
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL); /* it is done, or stuck */
		waitpid(pid, &st, 0);
	}
	if (sscanf(line, "ctx_cost %llu kept %u of %u", &cost, &kept, &tries) ==
		    3 &&
	    kept && cost) {
		sp->ctx_cost = cost;
		sp_log(sp, LOG_INFO,
		       "CUDA: a context takes %llu MiB of device memory (the median of %u undisturbed samples of %u)",
		       cost >> 20, kept, tries);
	} else if (tries) {
		sp_log(sp, LOG_WARNING,
		       "CUDA: the GPU's free memory kept changing while a context's cost was measured (%u samples): charging %llu MiB per context",
		       tries, CTX_COST_DEFAULT >> 20);
	}
	/* no line at all: no CUDA here, which each worker will say */
}

static void serve_requests(struct spawner *sp)
{
	struct pollfd p = { .fd = sp->sock, .events = POLLIN };
	char cost[32];
	char *argv[] = { (char *)"vgpu-cuda-worker", (char *)"--ctx-cost", cost,
			 NULL };

	probe(sp);
	snprintf(cost, sizeof(cost), "%llu", (unsigned long long)sp->ctx_cost);
	for (;;) {
		struct spawn_req rq;
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = &rq, .iov_len = sizeof(rq) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n;
		int fd = -1;
		pid_t pid;

		reap(sp);
		if (getppid() == 1 || poll(&p, 1, 500) < 0)
			return;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = recvmsg(sp->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return; /* every vgpu-ioreq end is gone */
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (fd < 0 || n != sizeof(rq) || rq.magic != CW_MAGIC) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		rq.vm[sizeof(rq.vm) - 1] = '\0';
		pid = fork();
		if (pid == 0)
			exec_worker(sp, fd, rq.vm, argv);
		if (pid < 0)
			sp_log(sp, LOG_WARNING,
			       "cannot start vgpu-cuda-worker: %s",
			       strerror(errno));
		close(fd);
	}
}

static int resolve_user(struct spawner *sp, const char *user, char *err,
			size_t errlen)
{
	struct passwd *pw;

	if (!user || !*user)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "no user '%s' to run the CUDA worker as",
			 user);
		return -1;
	}
	sp->uid = pw->pw_uid;
	sp->gid = pw->pw_gid;
	sp->as_user = true;
	return 0;
}

int cuda_spawner_start(const struct cuda_spawner_opts *o, struct logger *log,
		       char *err, size_t errlen)
{
	struct spawner sp = { .log = log };
	const char *path = o && o->worker ? o->worker : CUDA_WORKER_PATH;
	int sv[2];
	pid_t pid;

	snprintf(sp.worker, sizeof(sp.worker), "%s", path);
	if (o && o->cache_dir)
		snprintf(sp.cache, sizeof(sp.cache), "%s", o->cache_dir);
	if (o && o->gpu)
		snprintf(sp.gpu, sizeof(sp.gpu), "%s", o->gpu);
	if (resolve_user(&sp, o ? o->user : NULL, err, errlen) < 0)
		return -1;
	if (access(sp.worker, X_OK) < 0) {
		snprintf(err, errlen, "cannot run the CUDA worker %s: %s",
			 sp.worker, strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		static const int sigs[] = { SIGCHLD, SIGSEGV, SIGBUS,  SIGILL,
					    SIGFPE,  SIGABRT, SIGTERM, SIGINT,
					    SIGHUP,  SIGPIPE };

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* whatever the daemon (or a test runner) installed is not
		 * the spawner's business */
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_from(4);
		sp.sock = 3;
		serve_requests(&sp);
		leave(0);
	}
	close(sv[1]);
	return sv[0];
}

int cb_spawn(struct backend_cuda *b)
{
	struct spawn_req rq = { .magic = CW_MAGIC };
	int sv[2], rc;

	snprintf(rq.vm, sizeof(rq.vm), "%s", b->vm);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = cb_send_msg(b->o.spawner_fd, &rq, sizeof(rq), &sv[1], 1);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		return rc;
	}
	return sv[0];
}

/* The device as a session sees it: the worker's, checked, with the VM's
 * quota. */
static void take_devinfo(struct backend_cuda *b, const struct cw_shm_hdr *h)
{
	struct vgpu_device_info *d = &b->devinfo;

	memcpy(d, &h->devinfo, sizeof(*d));
	d->name[sizeof(d->name) - 1] = '\0';
	if (d->nattrs > VGPU_ATTRS_MAX)
		d->nattrs = VGPU_ATTRS_MAX;
	memset(d->backend, 0, sizeof(d->backend));
	memcpy(d->backend, "cuda", 4);
	if (b->o.quota && b->o.quota < d->total_mem)
		d->total_mem = b->o.quota;
	b->have_devinfo = true;
}

static int take_hello(struct backend_cuda *b, struct cb_worker *w,
		      const struct cw_hello *h, ssize_t n, char *err,
		      size_t errlen)
{
	if (n != (ssize_t)sizeof(*h) || h->magic != CW_MAGIC ||
	    h->type != CW_MSG_HELLO || h->version != CW_VERSION) {
		snprintf(err, errlen, "the CUDA worker sent no valid hello");
		return -EPROTO;
	}
	if (h->status < 0) {
		snprintf(err, errlen, "CUDA backend: %.200s", h->msg);
		return h->status;
	}
	w->pid = (int)h->pid;
	w->hello = true;
	b->stats.spawn_ns += cw_now_ns() - w->t_spawn;
	if (!b->have_devinfo)
		take_devinfo(b, w->hdr);
	if (!b->be.session_overhead)
		b->be.session_overhead = h->ctx_overhead;
	return 0;
}

int cb_read_hello(struct backend_cuda *b, struct cb_worker *w, char *err,
		  size_t errlen)
{
	struct cw_hello h;
	ssize_t n = recv(w->sock, &h, sizeof(h), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		snprintf(
			err, errlen,
			"the CUDA worker ended before it was ready (see the log: is the NVIDIA driver's libcuda.so.1 installed?)");
		return -EPIPE;
	}
	n = take_hello(b, w, &h, n, err, errlen);
	return n < 0 ? (int)n : 1;
}

int cb_wait_hello(struct backend_cuda *b, struct cb_worker *w, uint32_t ms,
		  char *err, size_t errlen)
{
	struct pollfd p = { .fd = w->sock, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, (int)ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		snprintf(err, errlen,
			 "the CUDA worker did not come up within %u ms", ms);
		return -ETIMEDOUT;
	}
	rc = cb_read_hello(b, w, err, errlen);
	return rc == 1 ? 0 : rc < 0 ? rc : -EPROTO;
}
