// SPDX-License-Identifier: GPL-2.0-only
/* Locked pid files and the helper that removes them; see pidlock.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/pidlock.h>

void pidlock_init(struct pidlock *pl)
{
	pl->fd = -1;
	pl->handed_over = false;
	pl->path[0] = '\0';
}

/* Does @path still name the file open on @fd? */
static bool names(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* The pid in the file, or 0 if there is none (yet). */
static long read_pid(int fd)
{
	char buf[24], *end;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || (*end && *end != '\n') || v <= 0)
		return 0;
	return v;
}

static bool alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/*
 * Lock @fd if its file is still @path: 0; 1 to try again (the file was
 * removed meanwhile); -EBUSY, the holder in @holder; -ESTALE, a dead
 * holder's pid while its lock is still held; or -errno.
 */
static int try_lock(int fd, const char *path, long *holder)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return names(fd, path) ? 0 : 1;
	if (errno != EWOULDBLOCK)
		return -errno;
	*holder = read_pid(fd);
	if (*holder == 0 || alive(*holder))
		return -EBUSY;
	return -ESTALE;
}

/* Our pid, through a descriptor of its own that is closed at once. */
static int write_pid(int fd, const char *path)
{
	int wfd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), len, rc = 0;
	struct stat a, b;
	char buf[24];

	if (wfd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fstat(fd, &a) < 0 || fstat(wfd, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev)
		rc = -ESTALE;
	else if (ftruncate(wfd, 0) < 0 ||
		 pwrite(wfd, buf, (size_t)len, 0) != len)
		rc = errno ? -errno : -EIO;
	close(wfd);
	return rc;
}

/* Events for files in @path's directory being removed or rewritten. */
static int watch_dir(const char *path)
{
	char dir[sizeof(((struct pidlock *)0)->path)];
	char *slash;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (in < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (inotify_add_watch(in, dir,
			      IN_DELETE | IN_MOVED_FROM | IN_CLOSE_WRITE) < 0) {
		close(in);
		return -1;
	}
	return in;
}

static int64_t ms_left(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return PIDLOCK_WAIT_MS - ((int64_t)(t.tv_sec - t0->tv_sec) * 1000 +
				  (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Until an event on @in or the deadline: false once it has passed. */
static bool wait_change(int in, const struct timespec *t0)
{
	struct pollfd p = { .fd = in, .events = POLLIN };
	char buf[4096];
	int64_t left = ms_left(t0);

	if (left <= 0 || poll(&p, 1, (int)left) <= 0)
		return false;
	while (read(in, buf, sizeof(buf)) > 0)
		;
	return true;
}

/* The locked descriptor on @path, or -errno (-EBUSY with @holder). */
static int lock_file(const char *path, long *holder)
{
	struct timespec t0;
	int in = -1, fd, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0644);
		if (fd < 0) {
			rc = -errno;
			break;
		}
		rc = try_lock(fd, path, holder);
		if (rc == 0)
			break;
		close(fd);
		if (rc == 1)
			continue;
		if (rc != -ESTALE)
			break;
		/* watch first, then look again: no change is missed */
		if (in < 0) {
			in = watch_dir(path);
			if (in >= 0)
				continue;
		} else if (wait_change(in, &t0)) {
			continue;
		}
		rc = -EBUSY;
		break;
	}
	if (in >= 0)
		close(in);
	return rc < 0 ? rc : fd;
}

int pidlock_take(struct pidlock *pl, const char *path, long *holder)
{
	int fd, rc;

	pidlock_init(pl);
	*holder = 0;
	if (strlen(path) >= sizeof(pl->path))
		return -ENAMETOOLONG;
	fd = lock_file(path, holder);
	if (fd < 0)
		return fd;
	rc = write_pid(fd, path);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	pl->fd = fd;
	snprintf(pl->path, sizeof(pl->path), "%s", path);
	return 0;
}

void pidlock_release(struct pidlock *pl)
{
	if (pl->fd < 0 || pl->handed_over)
		return;
	if (names(pl->fd, pl->path))
		unlink(pl->path);
	close(pl->fd);
	pl->fd = -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void close_range_of(unsigned int lo, unsigned int hi)
{
	struct rlimit rl;
	unsigned int fd;

	if (close_range(lo, hi, 0) == 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	for (fd = lo; fd <= hi && fd < rl.rlim_cur; fd++)
		close((int)fd);
}

/* Close every descriptor but the @n in @keep (sorted here). */
static void close_all_but(int *keep, size_t n)
{
	unsigned int lo = 0;
	size_t i;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > lo)
			close_range_of(lo, (unsigned int)keep[i] - 1);
		lo = (unsigned int)keep[i] + 1;
	}
	close_range_of(lo, ~0u);
}

/* The helper: hold the locks until the pipe closes, then remove. */
static void __attribute__((noreturn))
helper(int life, struct pidlock *const *pls, size_t n)
{
	int keep[9];
	size_t i, k = 0;
	char c;

	keep[k++] = life;
	for (i = 0; i < n && k < sizeof(keep) / sizeof(keep[0]); i++)
		if (pls[i]->fd >= 0)
			keep[k++] = pls[i]->fd;
	close_all_but(keep, k);
	prctl(PR_SET_NAME, "vgpu-ioreq-lock", 0, 0, 0);
	for (;;) {
		ssize_t r = read(life, &c, 1);

		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	for (i = 0; i < n; i++)
		if (pls[i]->fd >= 0 && names(pls[i]->fd, pls[i]->path))
			unlink(pls[i]->path);
	_exit(0);
}

int pidlock_hand_over(struct pidlock *const *pls, size_t n)
{
	int p[2], rc;
	pid_t pid;
	size_t i;

	if (n > 8)
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		close(p[1]);
		helper(p[0], pls, n);
	}
	close(p[0]);
	for (i = 0; i < n; i++) {
		if (pls[i]->fd >= 0)
			close(pls[i]->fd);
		pls[i]->fd = -1;
		pls[i]->handed_over = true;
	}
	return p[1];
}
