// SPDX-License-Identifier: GPL-2.0-only
/*
 * The seccomp allow-list (depriv.h): each check installs the filter the
 * daemon installs (depriv_base + depriv_xen) in a forked child and tries
 * what a compromised worker would: sockets of any family, connect, sendto
 * with an address, TIOCSTI into its terminal, other ioctls, open,
 * executable memory, fork, exec. Each must fail with EPERM; what the
 * daemon needs must still pass. Runs unprivileged (no_new_privs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntalloc.h>
#include <xen/sys/privcmd.h>

#include <vgpu/depriv.h>

static const struct depriv_rules *const daemon_rules[] = { &depriv_xen, NULL };

/* Exit without the sanitizers' exit paths, which make system calls (such
 * as sigaltstack) that the filter refuses. */
static void __attribute__((noreturn)) filtered_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* A failed call that the filter refused: -1 with EPERM. */
#define REFUSED(call) ((call) == -1 && errno == EPERM)

/* Run @fn in a child under the daemon's filter (plus @extra, if any);
 * the child's exit status (0: every expectation held) or 200 + signal. */
static int confined(int (*fn)(void *), void *arg,
		    const struct depriv_rules *const *rules)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (depriv_seccomp(rules, NULL) < 0)
			_exit(99);
		filtered_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

/* ---- sockets ---- */

struct net {
	int inet_listener; /* 127.0.0.1, made before the filter */
	struct sockaddr_in inet_addr;
	int inet_sock; /* an AF_INET socket made before the filter */
	int unix_dgram; /* an unconnected AF_UNIX datagram socket */
	int pair[2]; /* connected before the filter */
};

static int try_sockets(void *arg)
{
	struct net *n = arg;
	struct sockaddr_un abstract = { .sun_family = AF_UNIX,
					.sun_path = "\0vgpu-test" };
	char c = 'x';

	if (!REFUSED(socket(AF_INET, SOCK_STREAM, 0)))
		return 1;
	if (!REFUSED(socket(AF_INET6, SOCK_DGRAM, 0)))
		return 2;
	if (!REFUSED(socket(AF_UNIX, SOCK_STREAM, 0)))
		return 3;
	if (!REFUSED(socket(AF_NETLINK, SOCK_RAW, 0)))
		return 4;
	if (!REFUSED(socketpair(AF_UNIX, SOCK_STREAM, 0, n->pair)))
		return 5;
	/* the reviewer's case: reach a TCP listener */
	if (!REFUSED(connect(n->inet_sock, (struct sockaddr *)&n->inet_addr,
			     sizeof(n->inet_addr))))
		return 6;
	if (!REFUSED(sendto(n->inet_sock, &c, 1, 0,
			    (struct sockaddr *)&n->inet_addr,
			    sizeof(n->inet_addr))))
		return 7;
	/* an abstract AF_UNIX name is reachable from any chroot */
	if (!REFUSED(connect(n->unix_dgram, (struct sockaddr *)&abstract,
			     sizeof(abstract))))
		return 8;
	if (!REFUSED(sendto(n->unix_dgram, &c, 1, 0,
			    (struct sockaddr *)&abstract, sizeof(abstract))))
		return 9;
	if (!REFUSED(bind(n->unix_dgram, (struct sockaddr *)&abstract,
			  sizeof(abstract))))
		return 10;
	if (!REFUSED(accept(n->inet_listener, NULL, NULL)))
		return 11;
	/* what the daemon does: send() on a socket connected before */
	if (send(n->pair[0], &c, 1, MSG_NOSIGNAL) != 1)
		return 12;
	return 0;
}

static void sockets_refused(void **state)
{
	struct net n;
	socklen_t len = sizeof(n.inet_addr);

	(void)state;
	memset(&n, 0, sizeof(n));
	n.inet_listener = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(n.inet_listener >= 0);
	n.inet_addr.sin_family = AF_INET;
	n.inet_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(n.inet_listener, (struct sockaddr *)&n.inet_addr,
			      sizeof(n.inet_addr)),
			 0);
	assert_int_equal(listen(n.inet_listener, 1), 0);
	assert_int_equal(getsockname(n.inet_listener,
				     (struct sockaddr *)&n.inet_addr, &len),
			 0);
	n.inet_sock = socket(AF_INET, SOCK_STREAM, 0);
	n.unix_dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(n.inet_sock >= 0 && n.unix_dgram >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, n.pair), 0);
	assert_int_equal(confined(try_sockets, &n, daemon_rules), 0);
	close(n.inet_listener);
	close(n.inet_sock);
	close(n.unix_dgram);
	close(n.pair[0]);
	close(n.pair[1]);
}

/* ---- ioctl: TIOCSTI into the controlling terminal ---- */

/* Fd 3 is the controlling terminal: TIOCSTI would type into it. */
static int try_tty_ioctls(void)
{
	char c = 'a';

	if (!REFUSED(ioctl(3, TIOCSTI, &c)))
		return 1;
	if (!REFUSED(ioctl(3, TIOCSETD, &(int){ 0 })))
		return 2;
	if (!REFUSED(ioctl(3, TIOCGWINSZ, &(struct winsize){ 0 })))
		return 3;
	if (!REFUSED(ioctl(3, FIONREAD, &(int){ 0 })))
		return 4;
	return 0;
}

/* In a new session with a pty as its controlling terminal: TIOCSTI
 * works before the filter (the control) and is refused after it. */
static void tiocsti_refused(void **state)
{
	char c = 'z';
	int master, slave, status;
	pid_t pid;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		slave = open(ptsname(master), O_RDWR); /* controlling tty */
		if (slave < 0 || dup2(slave, 3) < 0)
			_exit(90);
		if (ioctl(3, TIOCSTI, &c) < 0)
			_exit(91);
		if (depriv_seccomp(daemon_rules, NULL) < 0)
			_exit(99);
		filtered_exit(try_tty_ioctls());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(master);
}

/* The numbers the Xen libraries use pass the filter (and fail on a
 * pipe with ENOTTY); any other does not. */
static int try_xen_ioctls(void *arg)
{
	int *p = arg;

	if (ioctl(p[0], IOCTL_PRIVCMD_DM_OP, NULL) != -1 || errno != ENOTTY)
		return 1;
	if (ioctl(p[0], IOCTL_PRIVCMD_MMAPBATCH_V2, NULL) != -1 ||
	    errno != ENOTTY)
		return 2;
	if (ioctl(p[0], IOCTL_EVTCHN_NOTIFY, NULL) != -1 || errno != ENOTTY)
		return 3;
	if (ioctl(p[0], IOCTL_EVTCHN_UNBIND, NULL) != -1 || errno != ENOTTY)
		return 4;
	if (!REFUSED(ioctl(p[0], IOCTL_PRIVCMD_HYPERCALL, NULL)))
		return 5;
	if (!REFUSED(ioctl(p[0], IOCTL_PRIVCMD_RESTRICT, NULL)))
		return 6;
	/* the guest names its event channel at any time (ABI 1.3) */
	if (ioctl(p[0], IOCTL_EVTCHN_BIND_INTERDOMAIN, NULL) != -1 ||
	    errno != ENOTTY)
		return 7;
	if (!REFUSED(ioctl(p[0], IOCTL_EVTCHN_BIND_UNBOUND_PORT, NULL)))
		return 9;
	/* regions granted to the guest (ABI 1.5), but no unmap notify */
	if (ioctl(p[0], IOCTL_GNTALLOC_ALLOC_GREF, NULL) != -1 ||
	    errno != ENOTTY)
		return 10;
	if (ioctl(p[0], IOCTL_GNTALLOC_DEALLOC_GREF, NULL) != -1 ||
	    errno != ENOTTY)
		return 11;
	if (!REFUSED(ioctl(p[0], IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, NULL)))
		return 12;
	/* the upper half of the request word does not sneak one past */
	if (!REFUSED(syscall(SYS_ioctl, p[0], (1ul << 32) | IOCTL_PRIVCMD_DM_OP,
			     NULL)))
		return 8;
	return 0;
}

static void xen_ioctls_only(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(confined(try_xen_ioctls, p, daemon_rules), 0);
	close(p[0]);
	close(p[1]);
}

/* The numbers in src/depriv_xen.c are Xen's. */
static void xen_ioctl_numbers(void **state)
{
	const unsigned long want[] = {
		IOCTL_PRIVCMD_DM_OP,	       IOCTL_PRIVCMD_MMAPBATCH_V2,
		IOCTL_EVTCHN_NOTIFY,	       IOCTL_EVTCHN_UNBIND,
		IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_GNTALLOC_ALLOC_GREF,
		IOCTL_GNTALLOC_DEALLOC_GREF
	};
	size_t i, j, found = 0;

	(void)state;
	for (i = 0; i < depriv_xen.n; i++) {
		const struct depriv_rule *r = &depriv_xen.rule[i];

		assert_string_equal(r->syscall, "ioctl");
		assert_int_equal(r->arg, 1);
		assert_int_equal(r->mask, 0);
		for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
			found += r->value == want[j];
		assert_non_null(r->why);
	}
	assert_int_equal(depriv_xen.n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(found, depriv_xen.n);
}

/* ---- files, memory, processes ---- */

static int try_the_rest(void *arg)
{
	void *p;

	(void)arg;
	if (!REFUSED(open("/", O_RDONLY)))
		return 1;
	if (!REFUSED(openat(AT_FDCWD, "/dev/null", O_RDWR)))
		return 2;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p != MAP_FAILED || errno != EPERM)
		return 3;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 4;
	if (!REFUSED(mprotect(p, 4096, PROT_READ | PROT_EXEC)))
		return 5;
	if (!REFUSED(fork()))
		return 6;
	if (!REFUSED(execve("/bin/true", (char *[]){ "true", NULL }, NULL)))
		return 7;
	if (!REFUSED(kill(getppid(), 0)))
		return 8;
	if (!REFUSED(unlink("/tmp/x")))
		return 9;
	return 0;
}

static void files_memory_processes_refused(void **state)
{
	(void)state;
	assert_int_equal(confined(try_the_rest, NULL, daemon_rules), 0);
}

/* ---- every thread, and extensions ---- */

struct thr {
	int go[2], done[2];
};

static void *thread_tries_socket(void *arg)
{
	struct thr *t = arg;
	char c = 'r';
	int ok;

	if (write(t->done[1], &c, 1) != 1 || read(t->go[0], &c, 1) != 1)
		return NULL;
	ok = REFUSED(socket(AF_INET, SOCK_STREAM, 0));
	c = ok ? 'y' : 'n';
	if (write(t->done[1], &c, 1) != 1)
		return NULL;
	/* no thread teardown under the filter: the process exits first */
	if (read(t->go[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/* A thread made before the drop (a backend's) is filtered too. It runs
 * before the filter goes on, as a backend's thread does: glibc's thread
 * start-up (rseq) is not on the list. */
static void thread_made_before_is_filtered(void **state)
{
	struct thr t;
	pthread_t th;
	char c = 0;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (pipe(t.go) < 0 || pipe(t.done) < 0 ||
		    pthread_create(&th, NULL, thread_tries_socket, &t) != 0 ||
		    read(t.done[0], &c, 1) != 1)
			_exit(90);
		if (depriv_seccomp(daemon_rules, NULL) < 0)
			_exit(99);
		if (write(t.go[1], "g", 1) != 1 || read(t.done[0], &c, 1) != 1)
			filtered_exit(91);
		filtered_exit(c == 'y' ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int try_getppid(void *arg)
{
	(void)arg;
	return getppid() > 0 ? 0 : 1;
}

static void extensible(void **state)
{
	static const struct depriv_rule more[] = {
		DEPRIV_ANY("getppid", "a test component needs it"),
	};
	static const struct depriv_rules mine = { "test", more, 1 };
	const struct depriv_rules *const with[] = { &depriv_xen, &mine, NULL };
	static const struct depriv_rule bad[] = {
		DEPRIV_ANY("no_such_call", "typo"),
	};
	static const struct depriv_rules typo = { "typo", bad, 1 };
	const struct depriv_rules *const with_typo[] = { &typo, NULL };

	(void)state;
	assert_int_equal(confined(try_getppid, NULL, daemon_rules), 1);
	assert_int_equal(confined(try_getppid, NULL, with), 0);
	/* a name libseccomp does not know fails the drop */
	assert_int_equal(depriv_seccomp(with_typo, NULL), -EINVAL);
}

static void every_rule_says_why(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < depriv_base.n; i++) {
		assert_non_null(depriv_base.rule[i].why);
		assert_true(strcmp(depriv_base.rule[i].syscall, "socket") &&
			    strcmp(depriv_base.rule[i].syscall, "connect") &&
			    strcmp(depriv_base.rule[i].syscall, "ioctl"));
	}
}

/* ---- depriv_lookup's numeric uid ---- */

static void numeric_user_is_strict(void **state)
{
	struct depriv d;
	char err[256];

	(void)state;
	assert_int_equal(depriv_lookup("4242", &d, err, sizeof(err)), 0);
	assert_int_equal(d.uid, 4242);
	/* strtoul would wrap these to 1 */
	assert_int_equal(depriv_lookup("-4294967295", &d, err, sizeof(err)),
			 -1);
	assert_int_equal(depriv_lookup("-18446744073709551615", &d, err,
				       sizeof(err)),
			 -1);
	assert_int_equal(depriv_lookup(" 12", &d, err, sizeof(err)), -1);
	assert_int_equal(depriv_lookup("+12", &d, err, sizeof(err)), -1);
	assert_int_equal(depriv_lookup("0", &d, err, sizeof(err)), -1);
	assert_int_equal(depriv_lookup("99999999999", &d, err, sizeof(err)),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sockets_refused),
		cmocka_unit_test(tiocsti_refused),
		cmocka_unit_test(xen_ioctls_only),
		cmocka_unit_test(xen_ioctl_numbers),
		cmocka_unit_test(files_memory_processes_refused),
		cmocka_unit_test(thread_made_before_is_filtered),
		cmocka_unit_test(extensible),
		cmocka_unit_test(every_rule_says_why),
		cmocka_unit_test(numeric_user_is_strict),
	};

	return cmocka_run_group_tests_name("depriv", tests, NULL, NULL);
}
