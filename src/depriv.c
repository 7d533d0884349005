// SPDX-License-Identifier: GPL-2.0-only
/*
 * Privilege drop for the per-domain worker. Order, after setup and
 * xentoolcore_restrict_all(): chroot into an empty directory, drop the
 * groups, gid and uid for good, set no_new_privs, forbid new processes,
 * then install the seccomp allow-list (libseccomp) and check it bites.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vgpu/depriv.h>

int depriv_lookup(const char *user, struct depriv *d, char *err, size_t len)
{
	struct passwd *pw = getpwnam(user);

	memset(d, 0, sizeof(*d));
	if (!pw) {
		char *end;
		unsigned long uid = strtoul(user, &end, 10);

		if (*user && !*end && uid > 0 && uid < 0xfffffffful) {
			d->uid = (uid_t)uid;
			d->gid = (gid_t)uid;
		} else {
			snprintf(
				err, len,
				"no user '%s' to run as (create one, e.g. adduser --system --no-create-home --group %s)",
				user, user);
			return -1;
		}
	} else {
		d->uid = pw->pw_uid;
		d->gid = pw->pw_gid;
	}
	if (d->uid == 0 || d->gid == 0) {
		snprintf(err, len,
			 "user '%s' is root: nothing would be dropped", user);
		return -1;
	}
	snprintf(d->chroot_dir, sizeof(d->chroot_dir), "%s/vgpu-ioreq/empty",
		 RUNSTATEDIR);
	return 0;
}

/* System calls the event loop, the Xen libraries (ioctl and mmap on the
 * restricted privcmd and evtchn fds) and logging make while serving. */
static const int allowed[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(close),
	SCMP_SYS(ioctl),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mprotect),
	SCMP_SYS(madvise),
	SCMP_SYS(brk),
	SCMP_SYS(futex),
	SCMP_SYS(epoll_create1),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(getrandom),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(lseek),
	SCMP_SYS(sendto),
	SCMP_SYS(socket),
	SCMP_SYS(connect),
	/* the CUDA backend: its worker's socket, a new worker after a crash */
	SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom),
	SCMP_SYS(socketpair),
};

static int install_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int depriv_drop(const struct depriv *d, struct logger *lg)
{
	struct rlimit none = { 0, 0 };
	int fd, rc;

	if (mkdir(d->chroot_dir, 0755) < 0 && errno != EEXIST) {
		log_err(lg, "depriv: cannot create %s: %s", d->chroot_dir,
			strerror(errno));
		return -errno;
	}
	if (chroot(d->chroot_dir) < 0 || chdir("/") < 0) {
		log_err(lg, "depriv: chroot %s: %s", d->chroot_dir,
			strerror(errno));
		return -errno;
	}
	if (setgroups(0, NULL) < 0 || setresgid(d->gid, d->gid, d->gid) < 0 ||
	    setresuid(d->uid, d->uid, d->uid) < 0) {
		log_err(lg, "depriv: cannot become uid %u gid %u: %s",
			(unsigned int)d->uid, (unsigned int)d->gid,
			strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_err(lg, "depriv: uid 0 is still reachable");
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    setrlimit(RLIMIT_NPROC, &none) < 0) {
		log_err(lg, "depriv: no_new_privs/rlimit: %s", strerror(errno));
		return -errno;
	}
	rc = install_seccomp();
	if (rc < 0) {
		log_err(lg, "depriv: cannot load the seccomp filter: %s",
			strerror(-rc));
		return rc;
	}
	/* the filter must bite: opening anything is not on the list */
	fd = open("/", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EPERM) {
		log_err(lg,
			"depriv: the seccomp filter does not refuse open()");
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	log_info(
		lg,
		"privileges dropped: uid %u gid %u, root %s, no_new_privs, seccomp allow-list of %zu calls (open refused: %s)",
		(unsigned int)d->uid, (unsigned int)d->gid, d->chroot_dir,
		sizeof(allowed) / sizeof(allowed[0]), strerror(EPERM));
	return 0;
}
