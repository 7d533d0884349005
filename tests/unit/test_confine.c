// SPDX-License-Identifier: GPL-2.0-only
/*
 * A daemon that goes to the background with --depriv: after confine()
 * its stdio is /dev/null and its guest warnings reach syslog, from inside
 * the chroot, as the unprivileged user, under the seccomp filter. Needs
 * root for the real chroot and uid change, and a private mount namespace
 * whose /dev/log is this test's socket (skipped otherwise). Also: the
 * background hand-off carries errors to the waiting caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/confine.h>
#include <vgpu/daemon.h>

#define SKIP 77

/*
 * In a private mount namespace: a fresh /dev holding the real /dev/null
 * and, as /dev/log, a datagram socket of ours. The socket, or -1.
 */
static int fake_dev_log(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "/dev/log" };
	char src[64];
	int null, fd, l;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	null = open("/dev/null", O_RDWR);
	if (null < 0 || mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0)
		return -1;
	fd = open("/dev/null", O_CREAT | O_WRONLY, 0666);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", null);
	if (mount(src, "/dev/null", NULL, MS_BIND, NULL) < 0)
		return -1;
	close(null);
	l = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return l;
}

/* Exit without the sanitizers' exit paths, which make system calls (such
 * as sigaltstack) that the filter refuses. */
static void __attribute__((noreturn)) filtered_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

static bool is_dev_null(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) &&
	       sb.st_rdev == makedev(1, 3);
}

/* The daemon's side: leave, drop, log a guest warning. */
static void __attribute__((noreturn)) daemon_side(const char *root)
{
	static const struct depriv_rules *const rules[] = { &depriv_xen, NULL };
	struct depriv d = { .uid = 65534, .gid = 65534 };
	struct confine how = {
		.leave = true, .syslog = true, .depriv = &d, .rules = rules
	};
	struct logger lg;
	int helper, fd;

	snprintf(d.chroot_dir, sizeof(d.chroot_dir), "%s", root);
	log_init(&lg, LOG_SINK_STDERR, LOG_INFO);
	if (confine(&how, &lg, &helper) < 0)
		filtered_exit(10);
	for (fd = 0; fd <= 2; fd++)
		if (!is_dev_null(fd))
			filtered_exit(11 + fd);
	log_guest(&lg, "guest: a warning from inside the chroot");
	filtered_exit(0);
}

/* What arrived at /dev/log: every datagram, concatenated. */
static void collect(int l, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	buf[0] = '\0';
	while (used + 1 < len &&
	       (n = recv(l, buf + used, len - used - 1, MSG_DONTWAIT)) > 0) {
		used += (size_t)n;
		buf[used++] = '\n';
		buf[used] = '\0';
	}
}

/* In the namespace: run the daemon's side, then read its log. */
static void __attribute__((noreturn)) namespace_side(const char *root)
{
	char log[8192];
	int l = fake_dev_log(), status;
	pid_t pid;

	if (l < 0)
		_exit(SKIP);
	pid = fork();
	if (pid < 0)
		_exit(2);
	if (pid == 0)
		daemon_side(root);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		_exit(3);
	if (WEXITSTATUS(status) != 0)
		_exit(WEXITSTATUS(status));
	collect(l, log, sizeof(log));
	if (!strstr(log, "vgpu-ioreq[") ||
	    !strstr(log, "privileges dropped: uid 65534"))
		_exit(20);
	if (!strstr(log, "guest: a warning from inside the chroot"))
		_exit(21);
	_exit(0);
}

static void background_depriv_logs_to_syslog(void **state)
{
	char root[] = "/tmp/vgpu-confine-XXXXXX";
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(root));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		namespace_side(root);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(root);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * The caller's side of daemon_fork(): the child's reports reach the
 * caller's stderr, its ready line the caller's stdout; the caller exits
 * with the child's status, or 0 when it is ready.
 */
static int run_forking(bool ready, char *out, char *err, size_t len)
{
	int o[2], e[2], status, h;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(o[1], STDOUT_FILENO);
		dup2(e[1], STDERR_FILENO);
		close(o[0]);
		close(e[0]);
		h = daemon_fork();
		if (h < 0)
			_exit(99);
		/* the daemon, after daemon_detach(): stdio is elsewhere */
		daemon_report(h, "vgpu-ioreq: err: cannot load the filter");
		if (ready)
			daemon_ready("vgpu-ioreq: ready domid=5\n", h, -1, -1);
		_exit(1);
	}
	close(o[1]);
	close(e[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = read(o[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(e[0], err, len - 1);
	err[n > 0 ? n : 0] = '\0';
	close(o[0]);
	close(e[0]);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void handoff_carries_errors(void **state)
{
	char out[256], err[256];

	(void)state;
	assert_int_equal(run_forking(false, out, err, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_string_equal(err, "vgpu-ioreq: err: cannot load the filter\n");
	assert_int_equal(run_forking(true, out, err, sizeof(out)), 0);
	assert_string_equal(out, "vgpu-ioreq: ready domid=5\n");
	assert_string_equal(err, "vgpu-ioreq: err: cannot load the filter\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(background_depriv_logs_to_syslog),
		cmocka_unit_test(handoff_carries_errors),
	};

	return cmocka_run_group_tests_name("confine", tests, NULL, NULL);
}
