// SPDX-License-Identifier: GPL-2.0-only
/* Daemon plumbing; see daemon.h. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vgpu/daemon.h>

int daemon_signalfd(bool children)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (children)
		sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static ssize_t write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * The parent's side of the hand-off: lines from the child, each tagged
 * 'E' (an error: to stderr, keep reading) or 'R' (ready: to stdout, exit
 * 0). End of file without 'R': the child failed; exit with its status.
 */
static void __attribute__((noreturn)) await_child(int fd, pid_t pid)
{
	FILE *in = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	int status;

	while (in && getline(&line, &cap, in) > 0) {
		if (line[0] == 'R') {
			fputs(line + 1, stdout);
			fflush(stdout);
			_exit(0);
		}
		if (line[0] == 'E')
			fputs(line + 1, stderr);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int daemon_fork(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		if (setsid() < 0)
			return -errno;
		return p[1];
	}
	close(p[1]);
	await_child(p[0], pid);
}

/* One tagged line to the waiting parent. */
static void handoff(int fd, char tag, const char *line)
{
	size_t len = strlen(line);

	write_all(fd, &tag, 1);
	write_all(fd, line, len);
	if (len == 0 || line[len - 1] != '\n')
		write_all(fd, "\n", 1);
}

void daemon_report(int handoff_fd, const char *line)
{
	if (handoff_fd >= 0)
		handoff(handoff_fd, 'E', line);
}

void daemon_detach(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (chdir("/") < 0 || fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (!keep_stderr)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/*
 * sd_notify(3)'s protocol: datagrams to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ('@' = abstract namespace). Written here rather than
 * linked from libsystemd, which with its compression and crypto libraries
 * costs about 1 MB of the daemon's 2 MiB resident-memory budget (measured
 * in the lab: 3.1 MB with it). Connected once, before any privilege drop:
 * the path is out of a chroot's reach, and the seccomp filter allows
 * send() on connected sockets only.
 */
int daemon_notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return -1;
	len = strlen(path);
	if (len < 2 || len >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) <
	    0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void notify_systemd(int notify_fd, const char *msg)
{
	if (notify_fd >= 0)
		send(notify_fd, msg, strlen(msg), MSG_NOSIGNAL);
}

void daemon_ready(const char *line, int handoff_fd, int ready_fd, int notify_fd)
{
	if (handoff_fd >= 0) {
		handoff(handoff_fd, 'R', line);
		close(handoff_fd);
	} else {
		fputs(line, stdout);
		fflush(stdout);
	}
	if (ready_fd >= 0) {
		write_all(ready_fd, "READY=1\n", 8);
		close(ready_fd);
	}
	notify_systemd(notify_fd, "READY=1");
}

int daemon_map_file(const char *path, size_t size, void **addr)
{
	struct stat sb;
	void *p;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 ||
	    ((size_t)sb.st_size != size && ftruncate(fd, (off_t)size) < 0)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

void daemon_unmap_file(void *addr, size_t size)
{
	munmap(addr, size);
}

void daemon_stopping(int notify_fd)
{
	notify_systemd(notify_fd, "STOPPING=1");
}
