// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq --loopback PATH: the listener. It owns the socket (created
 * with the configured mode and group, as a privileged daemon's:
 * src/loopback_sock.c), accepts
 * connections up to --max-connections, forks one process per connection
 * (the VM: src/loopback_vm.c) and reaps them; a VM's crash costs nothing
 * but that VM. It keeps a duplicate of each connection only to notice the
 * client's hang-up: a VM whose process has not exited LOOP_GRACE_MS later
 * is killed, so that a stuck VM can never hold its connection slot. On
 * SIGTERM or SIGINT it stops accepting, removes the socket, ends every VM
 * the same way and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/backend_open.h>
#include <vgpu/daemon.h>
#include <vgpu/loopback.h>
#include <vgpu/pidlock.h>
#include <vgpu/loopback_proto.h>

#include "loopback_sock.h"

#define EV_LISTEN 0u
#define EV_SIGNAL 1u
#define EV_CHILD 2u /* + slot */

struct lb_child {
	pid_t pid; /* 0: free slot */
	int watch; /* our duplicate of the connection */
	unsigned int serial;
	int64_t kill_at; /* ms on CLOCK_MONOTONIC; 0: none */
};

struct lb {
	const struct cli *c;
	struct logger *lg;
	struct lb_sock sock;
	int lfd, ep, sigfd, handoff_fd, notify_fd;
	struct pidlock pidfile;
	struct depriv dp;
	struct loopback_vm_cfg vm;
	struct lb_child *kid;
	unsigned int live, serial;
	bool stopping;
};

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* epoll's data: a tag, and for a connection its serial (an event of a
 * reaped VM must not reach the next VM in its slot). */
static int ep_add(struct lb *lb, int fd, uint32_t events, uint32_t tag,
		  uint32_t serial)
{
	struct epoll_event ev = { .events = events,
				  .data.u64 = (uint64_t)serial << 32 | tag };

	return epoll_ctl(lb->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* In the child: only the connection survives of the listener's fds. */
static void child_close_fds(struct lb *lb)
{
	unsigned int i;

	close(lb->lfd);
	close(lb->ep);
	close(lb->sigfd);
	if (lb->pidfile.fd >= 0)
		close(lb->pidfile.fd);
	if (lb->notify_fd >= 0)
		close(lb->notify_fd);
	for (i = 0; i < lb->c->max_conns; i++)
		if (lb->kid[i].pid)
			close(lb->kid[i].watch);
}

static void __attribute__((noreturn))
child(struct lb *lb, int sock, int watch, unsigned int serial)
{
	int sigfd;

	child_close_fds(lb);
	close(watch);
	log_set_prefix(lb->lg, "vm%u: ", serial);
	sigfd = daemon_signalfd(false);
	if (sigfd < 0) {
		log_err(lb->lg, "signalfd: %s", strerror(-sigfd));
		_exit(1);
	}
	_exit(loopback_vm_run(sock, sigfd, &lb->vm, lb->lg));
}

/* At the limit: say so in a HELLO reply and close. */
static void refuse(struct lb *lb, int sock, const struct ucred *cr)
{
	struct vgpu_loop_msg m = {
		.magic = VGPU_LOOP_MAGIC,
		.type = VGPU_LOOP_HELLO,
		.version = VGPU_LOOP_VERSION,
		.status = -EBUSY,
	};

	log_guest(
		lb->lg,
		"connection from pid %ld uid %u refused: %u VMs served (--max-connections)",
		(long)cr->pid, (unsigned int)cr->uid, lb->live);
	send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(sock);
}

static void on_accept(struct lb *lb)
{
	struct ucred cr = { 0 };
	socklen_t crl = sizeof(cr);
	struct lb_child *k = NULL;
	unsigned int i;
	int sock = accept4(lb->lfd, NULL, NULL, SOCK_CLOEXEC), watch;
	pid_t pid;

	if (sock < 0)
		return; /* the client gave up, or out of fds: next time */
	getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &crl);
	for (i = 0; i < lb->c->max_conns && !k; i++)
		if (!lb->kid[i].pid)
			k = &lb->kid[i];
	if (!k) {
		refuse(lb, sock, &cr);
		return;
	}
	watch = fcntl(sock, F_DUPFD_CLOEXEC, 3);
	if (watch < 0 ||
	    ep_add(lb, watch, EPOLLRDHUP | EPOLLONESHOT,
		   EV_CHILD + (uint32_t)(k - lb->kid), lb->serial + 1) < 0) {
		log_err(lb->lg, "cannot watch a connection: %s",
			strerror(errno));
		if (watch >= 0)
			close(watch);
		close(sock);
		return;
	}
	pid = fork();
	if (pid == 0)
		child(lb, sock, watch, lb->serial + 1);
	close(sock);
	if (pid < 0) {
		log_err(lb->lg, "cannot fork a VM: %s", strerror(errno));
		close(watch); /* closing it takes it out of epoll */
		return;
	}
	*k = (struct lb_child){ .pid = pid,
				.watch = watch,
				.serial = ++lb->serial };
	lb->live++;
	log_info(
		lb->lg,
		"vm%u: connection from pid %ld uid %u gid %u, served by pid %ld",
		k->serial, (long)cr.pid, (unsigned int)cr.uid,
		(unsigned int)cr.gid, (long)pid);
}

static void on_hangup(struct lb *lb, unsigned int slot, unsigned int serial)
{
	struct lb_child *k = &lb->kid[slot];

	if (k->pid && k->serial == serial && !k->kill_at)
		k->kill_at = now_ms() + LOOP_GRACE_MS;
}

static void reap(struct lb *lb)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < lb->c->max_conns; i++) {
			struct lb_child *k = &lb->kid[i];

			if (k->pid != pid)
				continue;
			if (WIFSIGNALED(status))
				log_warn(
					lb->lg,
					"vm%u: pid %ld killed by signal %d (%s)",
					k->serial, (long)pid, WTERMSIG(status),
					strsignal(WTERMSIG(status)));
			else
				log_info(lb->lg,
					 "vm%u: pid %ld exited with status %d",
					 k->serial, (long)pid,
					 WEXITSTATUS(status));
			epoll_ctl(lb->ep, EPOLL_CTL_DEL, k->watch, NULL);
			close(k->watch);
			*k = (struct lb_child){ 0 };
			lb->live--;
		}
	}
}

/* SIGTERM/SIGINT: stop accepting, remove the socket, end every VM. */
static void stop_all(struct lb *lb)
{
	int64_t t = now_ms() + LOOP_GRACE_MS;
	unsigned int i;

	lb->stopping = true;
	epoll_ctl(lb->ep, EPOLL_CTL_DEL, lb->lfd, NULL);
	close(lb->lfd);
	lb->lfd = -1;
	lb_sock_unlink(&lb->sock);
	for (i = 0; i < lb->c->max_conns; i++) {
		if (!lb->kid[i].pid)
			continue;
		kill(lb->kid[i].pid, SIGTERM);
		if (!lb->kid[i].kill_at || lb->kid[i].kill_at > t)
			lb->kid[i].kill_at = t;
	}
}

static void on_signal(struct lb *lb)
{
	struct signalfd_siginfo si;

	while (read(lb->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(lb);
		} else if ((si.ssi_signo == SIGTERM ||
			    si.ssi_signo == SIGINT) &&
			   !lb->stopping) {
			log_info(lb->lg, "%s received, shutting down",
				 strsignal((int)si.ssi_signo));
			stop_all(lb);
		}
	}
	reap(lb); /* SIGCHLDs coalesce */
}

/* Kill VMs past their deadline; the time until the next one, or -1. */
static int deadlines(struct lb *lb)
{
	int64_t t = now_ms(), next = -1;
	unsigned int i;

	for (i = 0; i < lb->c->max_conns; i++) {
		struct lb_child *k = &lb->kid[i];

		if (!k->pid || !k->kill_at)
			continue;
		if (k->kill_at <= t) {
			log_warn(
				lb->lg,
				"vm%u: pid %ld still running %d ms after its client left: killing it",
				k->serial, (long)k->pid, LOOP_GRACE_MS);
			kill(k->pid, SIGKILL);
			k->kill_at = 0; /* reaped on SIGCHLD */
		} else if (next < 0 || k->kill_at - t < next) {
			next = k->kill_at - t;
		}
	}
	return (int)next;
}

static int run(struct lb *lb)
{
	struct epoll_event evs[16];
	int n, i;

	while (!lb->stopping || lb->live) {
		n = epoll_wait(lb->ep, evs, 16, deadlines(lb));
		if (n < 0 && errno != EINTR) {
			log_err(lb->lg, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)evs[i].data.u64;
			uint32_t serial = (uint32_t)(evs[i].data.u64 >> 32);

			if (tag == EV_LISTEN && !lb->stopping)
				on_accept(lb);
			else if (tag == EV_SIGNAL)
				on_signal(lb);
			else if (tag >= EV_CHILD)
				on_hangup(lb, tag - EV_CHILD, serial);
		}
	}
	return 0;
}

/* The chroot directory's parents (the run directory), for VMs that drop
 * privileges: created as a daemon creates its run directory. */
static int prepare_depriv(struct lb *lb)
{
	char dir[sizeof(lb->dp.chroot_dir)], err[256];
	char *p;

	if (!lb->c->user)
		return 0;
	if (depriv_lookup(lb->c->user, &lb->dp, err, sizeof(err)) < 0) {
		log_err(lb->lg, "%s", err);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s", lb->dp.chroot_dir);
	for (p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			log_err(lb->lg, "cannot create %s: %s", dir,
				strerror(errno));
			return -errno;
		}
		*p = '/';
	}
	lb->vm.depriv = &lb->dp;
	return 0;
}

/* The listener holds a descriptor per VM: make room for all of them. */
static int fd_room(struct lb *lb)
{
	rlim_t need = (rlim_t)lb->c->max_conns + 32;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < need && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		log_err(lb->lg,
			"--max-connections %u needs %llu descriptors; the limit is %llu",
			lb->c->max_conns, (unsigned long long)need,
			(unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	return 0;
}

/* --backend cuda: the spawner every VM's worker comes from, before any
 * VM is forked (they share it). */
static int prepare_backend(struct lb *lb)
{
	char why[256];

	if (backend_prepare(lb->c, lb->lg, &lb->vm.cuda_spawner, why,
			    sizeof(why)) == 0)
		return 0;
	log_err(lb->lg, "%s", why);
	return -ENODEV;
}

static int setup(struct lb *lb)
{
	const struct cli *c = lb->c;
	int rc = fd_room(lb);

	if (rc < 0)
		return rc;
	lb->kid = calloc(c->max_conns, sizeof(*lb->kid));
	if (!lb->kid)
		return -ENOMEM;
	lb->vm = (struct loopback_vm_cfg){
		.ops = vdev_find(c->device),
		.ids = c->have_ids ? &c->ids : NULL,
		.sbdf = c->sbdf,
		.hello_ms = VGPU_LOOP_HELLO_MS,
		.cli = c,
		.cuda_spawner = -1,
		.limits = c->limits,
	};
	/* Loopback clients run beside the daemon on a host with cores to
	 * spare: keep a queue polled 1 ms after its last command (doorbells
	 * cost an eventfd wake of ~11 us here), unless --poll-us says. */
	if (!c->poll_us_given &&
	    sysconf(_SC_NPROCESSORS_ONLN) >= LOOP_POLL_CPUS_MIN)
		lb->vm.limits.poll_us = LOOP_POLL_US;
	rc = lb_sock_resolve(&lb->sock, c, lb->lg);
	if (rc == 0)
		rc = prepare_depriv(lb);
	if (rc == 0)
		rc = prepare_backend(lb);
	if (rc < 0)
		return rc;
	if (c->pidfile) {
		long holder = 0;

		rc = pidlock_take(&lb->pidfile, c->pidfile, &holder);
		if (rc < 0) {
			if (rc == -EBUSY)
				log_err(lb->lg,
					"pid file %s: locked by another running vgpu-ioreq (pid %ld)",
					c->pidfile, holder);
			else
				log_err(lb->lg, "pid file %s: %s", c->pidfile,
					strerror(-rc));
			return rc;
		}
	}
	lb->lfd = lb_sock_open(&lb->sock, c, lb->lg);
	if (lb->lfd < 0)
		return lb->lfd;
	lb->ep = epoll_create1(EPOLL_CLOEXEC);
	if (lb->ep < 0)
		return -errno;
	rc = ep_add(lb, lb->lfd, EPOLLIN, EV_LISTEN, 0);
	if (rc == 0)
		rc = ep_add(lb, lb->sigfd, EPOLLIN, EV_SIGNAL, 0);
	return rc;
}

static void announce(struct lb *lb)
{
	const struct cli *c = lb->c;
	char line[256];

	snprintf(
		line, sizeof(line),
		"vgpu-ioreq: ready loopback=%s mode=%04o gid=%ld max-connections=%u pid=%ld\n",
		lb->sock.path, c->socket_mode,
		lb->sock.have_gid ? (long)lb->sock.gid : (long)getegid(),
		c->max_conns, (long)getpid());
	log_info(lb->lg, "serving %s to local processes on %s, up to %u VMs",
		 lb->vm.ops->name, lb->sock.path, c->max_conns);
	daemon_ready(line, lb->handoff_fd, c->ready_fd, lb->notify_fd);
	lb->handoff_fd = -1;
	if (!c->foreground) {
		daemon_detach(c->log_sink_set &&
			      c->log_sink == LOG_SINK_STDERR);
		if (!c->log_sink_set)
			log_init(lb->lg, LOG_SINK_SYSLOG, c->log_level);
	}
}

static void teardown(struct lb *lb)
{
	if (lb->lfd >= 0)
		close(lb->lfd);
	lb_sock_unlink(&lb->sock);
	if (lb->ep >= 0)
		close(lb->ep);
	if (lb->sigfd >= 0)
		close(lb->sigfd);
	pidlock_release(&lb->pidfile);
	if (lb->vm.cuda_spawner >= 0)
		close(lb->vm.cuda_spawner);
	free(lb->kid);
}

int loopback_main(const struct cli *c, struct logger *lg)
{
	struct lb lb = { .c = c,
			 .lg = lg,
			 .lfd = -1,
			 .ep = -1,
			 .handoff_fd = -1,
			 .notify_fd = -1,
			 .vm = { .cuda_spawner = -1 } };
	int rc;

	log_set_prefix(lg, "loopback: ");
	pidlock_init(&lb.pidfile);
	/* connected now, like the Xen mode's */
	lb.notify_fd = daemon_notify_open();
	lb.sigfd = daemon_signalfd(true);
	if (lb.sigfd < 0) {
		log_err(lg, "signalfd: %s", strerror(-lb.sigfd));
		return CLI_EXIT_FAIL;
	}
	if (!c->foreground) {
		lb.handoff_fd = daemon_fork();
		if (lb.handoff_fd < 0) {
			log_err(lg, "cannot daemonise: %s",
				strerror(-lb.handoff_fd));
			return CLI_EXIT_FAIL;
		}
	}
	rc = setup(&lb);
	if (rc == 0) {
		announce(&lb);
		rc = run(&lb);
	}
	daemon_stopping(lb.notify_fd);
	teardown(&lb);
	if (lb.notify_fd >= 0)
		close(lb.notify_fd);
	log_info(lg, "exiting");
	return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
