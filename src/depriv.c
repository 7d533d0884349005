// SPDX-License-Identifier: GPL-2.0-only
/*
 * Privilege drop for the per-domain worker. Order, after setup and
 * xentoolcore_restrict_all(): chroot into an empty directory, drop the
 * groups, gid and uid for good, set no_new_privs, forbid new processes,
 * then install the seccomp allow-list (libseccomp) and check it bites.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vgpu/depriv.h>

/* A uid given as a number: digits only (strtoul would take "-1"). */
static bool parse_uid(const char *s, uid_t *uid)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v >= 0xfffffffful)
		return false;
	*uid = (uid_t)v;
	return true;
}

int depriv_lookup(const char *user, struct depriv *d, char *err, size_t len)
{
	struct passwd *pw = getpwnam(user);

	memset(d, 0, sizeof(*d));
	if (pw) {
		d->uid = pw->pw_uid;
		d->gid = pw->pw_gid;
	} else if (parse_uid(user, &d->uid)) {
		d->gid = (gid_t)d->uid;
	} else {
		snprintf(
			err, len,
			"no user '%s' to run as (create one, e.g. adduser --system --no-create-home --group %s)",
			user, user);
		return -1;
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

#define NO_EXEC(name, why) DEPRIV_MASKED(name, 2, PROT_EXEC, 0, why)

static const struct depriv_rule base_rules[] = {
	DEPRIV_ANY("read", "signalfd, timerfd, event channels, pipes"),
	DEPRIV_ANY("write", "log lines, the ready hand-off, evtchn unmask"),
	DEPRIV_ANY("readv", "stdio"),
	DEPRIV_ANY("writev", "stdio"),
	DEPRIV_ANY("close", "teardown"),
	NO_EXEC("mmap", "malloc, guest frames on privcmd: never executable"),
	NO_EXEC("mprotect", "malloc arenas: never executable"),
	DEPRIV_ANY("munmap", "free, guest frames"),
	DEPRIV_ANY("madvise", "free"),
	DEPRIV_ANY("brk", "malloc"),
	DEPRIV_ANY("futex", "locks; backend threads made before the drop"),
	DEPRIV_ANY("epoll_create1", "the event loop is built after the drop"),
	DEPRIV_ANY("epoll_ctl", "the event loop"),
	DEPRIV_ANY("epoll_wait", "the event loop"),
	DEPRIV_ANY("epoll_pwait", "the event loop"),
	DEPRIV_ANY("timerfd_create", "the liveness timer"),
	DEPRIV_ANY("timerfd_settime", "the liveness timer"),
	DEPRIV_ANY("clock_gettime", "time (when the vDSO is not used)"),
	DEPRIV_ANY("clock_nanosleep", "sleeps"),
	DEPRIV_ANY("nanosleep", "sleeps"),
	DEPRIV_ANY("rt_sigreturn", "signal delivery"),
	DEPRIV_ANY("rt_sigprocmask", "signal masks"),
	DEPRIV_ANY("restart_syscall", "interrupted sleeps"),
	DEPRIV_ANY("exit", "thread exit"),
	DEPRIV_ANY("exit_group", "exit"),
	DEPRIV_ANY("getpid", "syslog's LOG_PID"),
	DEPRIV_ANY("gettid", "glibc"),
	DEPRIV_ANY("getrandom", "malloc"),
	DEPRIV_ANY("fstat", "stdio"),
	DEPRIV_ANY("newfstatat", "stdio (fstat)"),
	DEPRIV_ANY("lseek", "stdio"),
	/* send() is sendto() without an address: only sockets connected
	 * before the drop (syslog, sd_notify) can be written to */
	DEPRIV_ARG("sendto", 4, 0, "syslog and sd_notify, connected before"),
};

const struct depriv_rules depriv_base = {
	"base", base_rules, sizeof(base_rules) / sizeof(base_rules[0])
};

static int add_rule(scmp_filter_ctx ctx, const struct depriv_rule *r)
{
	struct scmp_arg_cmp cmp = { .arg = (unsigned int)r->arg };
	int nr = seccomp_syscall_resolve_name(r->syscall);

	if (nr == __NR_SCMP_ERROR || r->arg > 5)
		return -EINVAL;
	if (r->arg < 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (r->mask) {
		cmp.op = SCMP_CMP_MASKED_EQ;
		cmp.datum_a = r->mask;
		cmp.datum_b = r->value;
	} else {
		cmp.op = SCMP_CMP_EQ;
		cmp.datum_a = r->value;
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
}

static int add_rules(scmp_filter_ctx ctx, const struct depriv_rules *l,
		     size_t *n)
{
	size_t i;
	int rc;

	for (i = 0; i < l->n; i++) {
		rc = add_rule(ctx, &l->rule[i]);
		if (rc < 0 && rc != -EEXIST)
			return rc;
		(*n)++;
	}
	return 0;
}

int depriv_seccomp(const struct depriv_rules *const *extra, size_t *n)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t count = 0;
	int rc;

	if (!ctx)
		return -ENOMEM;
	/* every thread (backends make theirs before the drop), and
	 * no_new_privs, which the kernel then sets on each of them */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc == 0)
		rc = add_rules(ctx, &depriv_base, &count);
	for (; rc == 0 && extra && *extra; extra++)
		rc = add_rules(ctx, *extra, &count);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc == 0 && n)
		*n = count;
	return rc > 0 ? -rc : rc;
}

/* An empty directory as the root. */
static int enter_chroot(const struct depriv *d, struct logger *lg)
{
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
	return 0;
}

/* The user's uid and gid for good, no groups, no way back, no children. */
static int become_user(const struct depriv *d, struct logger *lg)
{
	struct rlimit none = { 0, 0 };

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
	return 0;
}

int depriv_drop(const struct depriv *d, struct logger *lg,
		const struct depriv_rules *const *extra)
{
	size_t n = 0;
	int fd, rc;

	rc = enter_chroot(d, lg);
	if (rc == 0)
		rc = become_user(d, lg);
	if (rc < 0)
		return rc;
	rc = depriv_seccomp(extra, &n);
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
		"privileges dropped: uid %u gid %u, root %s, no_new_privs, seccomp allow-list of %zu rules (open refused: %s)",
		(unsigned int)d->uid, (unsigned int)d->gid, d->chroot_dir, n,
		strerror(EPERM));
	return 0;
}
