// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreqd's worker handling (ioreqd.h): domids from XenStore names
 * parsed strictly; a worker's ready line taken once, only while it is
 * starting, and only well-formed and its own; workers started in their
 * own session with /dev/null as stdin; nothing leaked when fork fails
 * (fork is wrapped here: -Wl,--wrap=fork).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/cli.h>
#include <vgpu/ioreqd.h>

pid_t __real_fork(void);
pid_t __wrap_fork(void);

static bool fail_fork; /* the test's switch for the wrapped fork() */

pid_t __wrap_fork(void)
{
	if (fail_fork) {
		errno = EAGAIN;
		return -1;
	}
	return __real_fork();
}

static void domids(void **state)
{
	static const char *const bad[] = {
		"",
		"-5",
		"-18446744073709551611", /* strtoul: 5 */
		"+5",
		" 5",
		"5 ",
		"05",
		"0x5",
		"32752", /* DOMID_FIRST_RESERVED */
		"4294967301", /* 2^32 + 5 */
		"18446744073709551621", /* 2^64 + 5: ERANGE */
		"abc",
	};
	uint32_t d;
	size_t i;

	(void)state;
	assert_int_equal(ioreqd_parse_domid("0", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(ioreqd_parse_domid("5", &d), 0);
	assert_int_equal(d, 5);
	assert_int_equal(ioreqd_parse_domid("32751", &d), 0);
	assert_int_equal(d, CLI_DOMID_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = 4242;
		if (ioreqd_parse_domid(bad[i], &d) == 0)
			fail_msg("'%s' taken as domid %u", bad[i], d);
	}
}

#define READY                                                                  \
	"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 id=1af4:1111 " \
	"vcpus=1 pid=812"

static void ready_line_once(void **state)
{
	enum ioreqd_phase ph = IOREQD_STARTING;
	struct ioreqd_ready r;

	(void)state;
	assert_true(ioreqd_ready_line(&ph, 5, 812, READY, &r));
	assert_int_equal(ph, IOREQD_RUNNING);
	assert_string_equal(r.sbdf, "0000:00:05.0");
	assert_string_equal(r.ioservid, "1");
	assert_string_equal(r.pid, "812");
	/* a running worker says it again: four XenStore writes a line */
	assert_false(ioreqd_ready_line(&ph, 5, 812, READY, &r));
	assert_false(ioreqd_ready_line(&ph, 5, 812, READY, &r));
	assert_int_equal(ph, IOREQD_RUNNING);
	/* a new start (after a crash) owes one again */
	ph = IOREQD_STARTING;
	assert_true(ioreqd_ready_line(&ph, 5, 812, READY "\n", &r));
	assert_string_equal(r.pid, "812");
}

static void ready_line_strict(void **state)
{
	static const char *const bad[] = {
		"vgpu-ioreq: ready",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1",
		"vgpu-ioreq: ready domid=6 sbdf=0000:00:05.0 ioservid=1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 pid=813",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 pid=0812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.8 ioservid=1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0x ioservid=1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=00:05.0 ioservid=1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:0g:05.0 ioservid=1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=65536 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=-1 pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid= pid=812",
		"vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 pid=812 "
		"pid=812",
		"vgpu-ioreq: ready domid=5 domid=5 sbdf=0000:00:05.0 ioservid=1 "
		"pid=812",
		"vgpu-ioreq: readydomid=5 sbdf=0000:00:05.0 ioservid=1 pid=812",
		" vgpu-ioreq: ready domid=5 sbdf=0000:00:05.0 ioservid=1 pid=812",
		"vgpu-ioreq: err: ready domid=5 sbdf=0000:00:05.0 ioservid=1 "
		"pid=812",
	};
	enum ioreqd_phase ph;
	struct ioreqd_ready r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ph = IOREQD_STARTING;
		if (ioreqd_ready_line(&ph, 5, 812, bad[i], &r))
			fail_msg("taken: '%s'", bad[i]);
		assert_int_equal(ph, IOREQD_STARTING);
	}
}

static void err_lines(void **state)
{
	char why[128];

	(void)state;
	assert_true(ioreqd_err_line(
		"vgpu-ioreq: err: d5 00:05.0: cannot claim pci: Busy", why,
		sizeof(why)));
	assert_string_equal(why, "cannot claim pci: Busy");
	assert_true(ioreqd_err_line("vgpu-ioreq: invalid --bdf 'zz'", why,
				    sizeof(why)));
	assert_string_equal(why, "invalid --bdf 'zz'");
	assert_false(
		ioreqd_err_line("vgpu-ioreq: info: serving", why, sizeof(why)));
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Everything the child writes on @fd until it closes it. */
static void read_all(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	ssize_t n;

	for (;;) {
		assert_true(poll(&p, 1, 10000) == 1);
		n = read(fd, buf + used, len - 1 - used);
		if (n == 0)
			break;
		if (n < 0 && errno == EAGAIN)
			continue;
		assert_true(n > 0);
		used += (size_t)n;
	}
	buf[used] = '\0';
}

/* The worker's session, stdin, signal mask and environment. */
static void worker_session_and_stdin(void **state)
{
	char *const argv[] = { "/bin/sh", "-c",
			       "echo \"pid=$$ sid=$(cut -d' ' -f6 /proc/$$/stat)"
			       " in=$(readlink /proc/$$/fd/0)"
			       " blk=$(grep SigBlk /proc/$$/status | cut -f2)"
			       " notify=${NOTIFY_SOCKET-unset}\"",
			       NULL };
	struct ioreqd_child c;
	char out[512], err[512], want[256];
	sigset_t term, old;
	int status, in[2], saved;

	(void)state;
	/* our stdin: a pipe, not /dev/null (as it is under make check) */
	assert_int_equal(pipe(in), 0);
	saved = dup(STDIN_FILENO);
	dup2(in[0], STDIN_FILENO);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	assert_int_equal(ioreqd_spawn(argv, &c), 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(in[0]);
	close(in[1]);
	unsetenv("NOTIFY_SOCKET");
	sigprocmask(SIG_SETMASK, &old, NULL);
	read_all(c.out_fd, out, sizeof(out));
	read_all(c.err_fd, err, sizeof(err));
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	close(c.out_fd);
	close(c.err_fd);
	snprintf(
		want, sizeof(want),
		"pid=%d sid=%d in=/dev/null blk=0000000000000000 notify=unset\n",
		(int)c.pid, (int)c.pid);
	assert_string_equal(err, "");
	assert_string_equal(out, want);
}

static void fork_failure_leaks_nothing(void **state)
{
	char *const argv[] = { "/bin/true", NULL };
	struct ioreqd_child c;
	unsigned int before = open_fds();

	(void)state;
	fail_fork = true;
	assert_int_equal(ioreqd_spawn(argv, &c), -EAGAIN);
	fail_fork = false;
	assert_int_equal(open_fds(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(domids),
		cmocka_unit_test(ready_line_once),
		cmocka_unit_test(ready_line_strict),
		cmocka_unit_test(err_lines),
		cmocka_unit_test(worker_session_and_stdin),
		cmocka_unit_test(fork_failure_leaks_nothing),
	};

	return cmocka_run_group_tests_name("ioreqd", tests, NULL, NULL);
}
