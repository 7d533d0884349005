// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback listener as an administrator meets it: the socket's mode
 * and group (and who may connect), a stale socket replaced and a live one
 * left alone, the connection limit, a VM's crash, a VM stuck after its
 * client left (killed by the watchdog), SIGTERM with VMs connected,
 * daemonising with a pid file, dropping privileges, and bad options.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/vgpu_ring_abi.h>
#include <vgpu/vgpu_stub_regs.h>

#include "../../guest/lib/loop_client.h"
#include "ldaemon.h"

#define RAM (1u << 20)
#define NOBODY 65534

static struct ldaemon d; /* one daemon per test */

static pid_t detached; /* test_daemonise's daemon, not our child */

static int teardown(void **state)
{
	if (d.pid > 0)
		ld_stop(&d);
	if (detached > 0)
		kill(detached, SIGKILL); /* the test failed half-way */
	detached = 0;
	return 0;
}

static void start(const char *const *extra)
{
	if (ld_start(&d, NULL, extra) < 0) {
		ld_dump(&d);
		fail_msg("the daemon did not start");
	}
}

static int connect_as(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int status, fd;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(2);
		memcpy(sa.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			_exit(0);
		_exit(errno == EACCES ? 1 : 3);
	}
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status);
}

static void test_socket_defaults(void **state)
{
	struct stat sb;

	start(NULL);
	assert_int_equal(stat(d.path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	assert_int_equal(sb.st_gid, getegid());
	if (geteuid() == 0) /* others may not connect */
		assert_int_equal(connect_as(d.path, NOBODY, NOBODY), 1);
}

static void test_socket_mode_group(void **state)
{
	static const char *const args[] = { "--socket-mode", "0660",
					    "--socket-group", "65534", NULL };
	static const char *const args2[] = { "--socket-mode", "600", NULL };
	struct stat sb;

	if (geteuid() != 0)
		skip();
	start(args);
	assert_int_equal(chmod(d.dir, 0755), 0); /* the socket decides */
	assert_int_equal(stat(d.path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0660);
	assert_int_equal(sb.st_gid, NOBODY);
	/* the group may connect, other users may not */
	assert_int_equal(connect_as(d.path, NOBODY, NOBODY), 0);
	assert_int_equal(connect_as(d.path, NOBODY, NOBODY - 1), 1);
	assert_int_equal(ld_stop(&d), 0);
	start(args2);
	assert_int_equal(chmod(d.dir, 0755), 0);
	assert_int_equal(stat(d.path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(connect_as(d.path, NOBODY, NOBODY), 1);
}

static void test_stale_and_live_socket(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/vgpu-loops-XXXXXX", err[4096];
	const char *argv[] = { "--loopback", sa.sun_path, "-F", NULL };
	struct loop_conn *c;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	/* a dead server's socket: bound, nobody listening */
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	if (ld_start(&d, sa.sun_path, NULL) < 0) {
		ld_dump(&d);
		fail();
	}
	assert_int_equal(ld_wait_log(&d, "removing the stale socket", 10000),
			 0);
	assert_int_equal(loop_conn_open(&c, sa.sun_path, RAM), 0);
	/* a second server on a live socket refuses and leaves it alone */
	assert_int_equal(ld_run(argv, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "another server listens"));
	assert_int_equal(loop_rd32(c, VGPU_REG_MAGIC), VGPU_MAGIC);
	loop_conn_close(c);
	assert_int_equal(ld_stop(&d), 0);
	assert_int_equal(access(sa.sun_path, F_OK), -1);
	/* something that is not a socket is never removed */
	fd = open(sa.sun_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(ld_run(argv, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(sa.sun_path, F_OK), 0);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void test_connection_limit(void **state)
{
	static const char *const args[] = { "--max-connections", "2", NULL };
	struct loop_conn *a, *b, *c;

	start(args);
	assert_int_equal(loop_conn_open(&a, d.path, RAM), 0);
	assert_int_equal(loop_conn_open(&b, d.path, RAM), 0);
	assert_int_equal(loop_conn_open(&c, d.path, RAM), -EBUSY);
	assert_int_equal(ld_wait_log(&d, "refused: 2 VMs served", 10000), 0);
	loop_conn_close(a);
	assert_int_equal(ld_wait_log(&d, "exited with status 0", 10000), 0);
	assert_int_equal(loop_conn_open(&c, d.path, RAM), 0);
	assert_int_equal(loop_rd32(b, VGPU_REG_MAGIC), VGPU_MAGIC);
	loop_conn_close(b);
	loop_conn_close(c);
}

/* A VM's process dies: its client sees the device gone, the listener
 * and the other VMs go on, and the slot is free again. */
static void test_vm_crash(void **state)
{
	static const char *const args[] = { "--max-connections", "2", NULL };
	struct loop_conn *a, *b, *c;
	pid_t kids[4];

	start(args);
	assert_int_equal(loop_conn_open(&a, d.path, RAM), 0);
	assert_int_equal(ld_children(&d, kids, 4), 1);
	assert_int_equal(loop_conn_open(&b, d.path, RAM), 0);
	assert_int_equal(kill(kids[0], SIGKILL), 0);
	assert_int_equal(ld_wait_log(&d, "killed by signal 9", 10000), 0);
	assert_int_equal(loop_wr32(a, VGPU_REG_SCRATCH, 1), -ENODEV);
	assert_int_equal(loop_rd32(b, VGPU_REG_MAGIC), VGPU_MAGIC);
	assert_int_equal(loop_conn_open(&c, d.path, RAM), 0);
	loop_conn_close(a);
	loop_conn_close(b);
	loop_conn_close(c);
}

/*
 * A VM whose process is stuck when its client leaves is killed after the
 * grace period. Stuck for real: the client takes O_NONBLOCK off the
 * interrupt eventfd it shares with the server and fills its counter, so
 * the server's next interrupt write blocks.
 */
static void test_stuck_vm_killed(void **state)
{
	static const char *const args[] = { "--max-connections", "1", NULL };
	uint64_t full = 0xfffffffffffffffeull;
	struct loop_conn *c;
	struct loop_queue q;
	uint32_t qerr;

	start(args);
	assert_int_equal(loop_conn_open(&c, d.path, RAM), 0);
	assert_int_equal(loop_queue_create(c, &q, 1, 8, &qerr), 0);
	/* the server made it non-blocking; we take that back */
	assert_true(fcntl(c->irq, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fcntl(c->irq, F_SETFL, 0), 0);
	assert_int_equal(write(c->irq, &full, sizeof(full)), sizeof(full));
	__atomic_store_n(&q.w.hdr->drv_flags.v, VGPU_DRV_NEED_IRQ,
			 __ATOMIC_SEQ_CST);
	q.sq[0] = (struct vgpu_sqe){ .opcode = VGPU_OP_NOP };
	__atomic_store_n(&q.w.hdr->sq_tail.v, 1, __ATOMIC_SEQ_CST);
	/* the register's commands run once the write is answered: the VM
	 * is in its interrupt write when we leave */
	assert_int_equal(loop_wr32(c, VGPU_REG_DOORBELL(1), 1), 0);
	loop_conn_close(c);
	assert_int_equal(
		ld_wait_log(&d, "after its client left: killing it", 10000), 0);
	assert_int_equal(ld_wait_log(&d, "killed by signal 9", 10000), 0);
	/* the slot is free again */
	assert_int_equal(loop_conn_open(&c, d.path, RAM), 0);
	loop_conn_close(c);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static void test_sigterm_with_vms(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct loop_conn *a, *b;
	int silent;

	start(NULL);
	assert_int_equal(loop_conn_open(&a, d.path, RAM), 0);
	assert_int_equal(loop_conn_open(&b, d.path, RAM), 0);
	/* and one that has not said HELLO yet */
	memcpy(sa.sun_path, d.path, strlen(d.path));
	silent = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(silent, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(ld_wait_log(&d, "connection from", 10000), 0);
	assert_int_equal(ld_wait_log(&d, "connection from", 10000), 0);
	assert_int_equal(ld_wait_log(&d, "connection from", 10000), 0);
	assert_int_equal(ld_stop(&d), 0);
	close(silent);
	assert_non_null(strstr(d.log, "Terminated received"));
	/* each VM ended by itself on the SIGTERM passed on, none killed */
	assert_int_equal(count(d.log, "exited with status 0"), 2);
	assert_int_equal(count(d.log, "exited with status 1"), 1);
	assert_null(strstr(d.log, "killed by signal"));
	assert_int_equal(access(d.path, F_OK), -1);
	assert_int_equal(loop_wr32(a, VGPU_REG_SCRATCH, 1), -ENODEV);
	assert_int_equal(loop_wr32(b, VGPU_REG_SCRATCH, 1), -ENODEV);
	loop_conn_close(a);
	loop_conn_close(b);
}

/* Without -F: the foreground process prints the ready line and exits 0
 * once the socket serves; the daemon's pid file names it. */
static void test_daemonise(void **state)
{
	char dir[] = "/tmp/vgpu-loopd-XXXXXX", sock[64], pidf[64], out[512];
	/* (detached, it logs to syslog: our pipe sees its end) */
	const char *argv[] = { "--loopback", sock, "--pidfile", pidf, NULL };
	struct pollfd p = { .events = POLLIN };
	struct loop_conn *c;
	long pid = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(pidf, sizeof(pidf), "%s/pid", dir);
	assert_int_equal(ld_run(argv, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "vgpu-ioreq: ready loopback="));
	f = fopen(pidf, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	detached = (pid_t)pid;
	assert_int_equal(loop_conn_open(&c, sock, RAM), 0);
	loop_conn_close(c);
	p.fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	assert_true(p.fd >= 0);
	assert_int_equal(kill((pid_t)pid, SIGTERM), 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	detached = 0;
	close(p.fd);
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(access(pidf, F_OK), -1);
	rmdir(dir);
}

/* --user: each VM runs as that user, and still serves. */
static void test_depriv(void **state)
{
	static const char *const args[] = { "--user", "nobody", NULL };
	char path[64], line[256];
	struct loop_conn *c;
	struct loop_queue q;
	struct vgpu_sqe e = { .opcode = VGPU_OP_NOP };
	uint32_t qerr, st;
	bool seen = false;
	uint64_t r;
	pid_t kid;
	FILE *f;

	if (geteuid() != 0)
		skip();
	start(args);
	assert_int_equal(loop_conn_open(&c, d.path, RAM), 0);
	assert_int_equal(ld_children(&d, &kid, 1), 1);
	snprintf(path, sizeof(path), "/proc/%d/status", kid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Uid:", 4) == 0) {
			assert_non_null(strstr(line, "65534"));
			assert_null(strstr(line, "\t0"));
			seen = true;
		}
	fclose(f);
	assert_true(seen);
	assert_int_equal(ld_wait_log(&d, "privileges dropped", 10000), 0);
	assert_int_equal(loop_queue_create(c, &q, 1, 8, &qerr), 0);
	q.timeout_ns = 10000000000ull;
	assert_int_equal(loop_queue_exec(c, &q, &e, &st, &r), 0);
	assert_int_equal(st, VGPU_S_OK);
	loop_conn_close(c);
}

/* Under systemd: READY=1 once serving, STOPPING=1 on the way out. */
static void test_sd_notify(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p = { .events = POLLIN };
	char dir[] = "/tmp/vgpu-loopn-XXXXXX", buf[64];
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	p.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(p.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	start(NULL);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(poll(&p, 1, 10000), 1);
	n = recv(p.fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1");
	assert_int_equal(ld_stop(&d), 0);
	assert_int_equal(poll(&p, 1, 10000), 1);
	n = recv(p.fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "STOPPING=1");
	close(p.fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void expect_usage(const char *const *argv, int status, const char *msg)
{
	char err[4096];

	assert_int_equal(ld_run(argv, err, sizeof(err)), status);
	if (!strstr(err, msg))
		fail_msg("expected '%s' in: %s", msg, err);
}

static void test_bad_options(void **state)
{
	expect_usage((const char *[]){ "--loopback", "/tmp/x", "--domid", "1",
				       NULL },
		     2, "--domid, --domain and --bdf do not apply");
	expect_usage((const char *[]){ "--loopback", "/tmp/x", "--socket-mode",
				       "999", NULL },
		     2, "invalid --socket-mode '999'");
	expect_usage((const char *[]){ "--socket-mode", "600", "--domid", "1",
				       NULL },
		     2, "need --loopback PATH");
	expect_usage((const char *[]){ "--loopback", "/tmp/x",
				       "--max-connections", "0", NULL },
		     2, "invalid --max-connections '0'");
	expect_usage((const char *[]){ "--loopback", "", NULL }, 2,
		     "invalid --loopback ''");
	expect_usage((const char *[]){ "--loopback", "/tmp/x", "-F",
				       "--socket-group", "no-such-group-x",
				       NULL },
		     1, "no such group");
	expect_usage((const char *[]){ "--loopback", "/nonexistent/dir/sock",
				       "-F", NULL },
		     1, "cannot bind /nonexistent/dir/sock");
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_socket_defaults),
		T(test_socket_mode_group),
		T(test_stale_and_live_socket),
		T(test_connection_limit),
		T(test_vm_crash),
		T(test_stuck_vm_killed),
		T(test_sigterm_with_vms),
		T(test_daemonise),
		T(test_depriv),
		T(test_sd_notify),
		T(test_bad_options),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("loopback daemon", tests, NULL,
					   NULL);
}
