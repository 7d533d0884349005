// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab-fd-check PID: run Xen's depriv-fd-checker on the Xen device fds of a
 * running process. The fds are the process's own open files, duplicated
 * with pidfd_getfd(2) (what Xen's fishdescriptor does with a debugger):
 * only those carry the restriction the process applied to them.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECKER "/usr/lib/xen-4.17/bin/depriv-fd-checker"

int main(int argc, char **argv)
{
	char path[64], target[256], fdstr[16][16];
	const char *args[64] = { CHECKER };
	int pid, pidfd, n = 1, found = 0;
	struct dirent *e;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: lab-fd-check PID\n");
		return 2;
	}
	pid = atoi(argv[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (pidfd < 0 || !d) {
		perror("pidfd_open/opendir");
		return 1;
	}
	while ((e = readdir(d)) && found < 16) {
		const char *cls = NULL;
		char link[336];
		ssize_t len;
		int fd;

		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "/dev/xen/privcmd") == 0)
			cls = "privcmd";
		else if (strcmp(target, "/dev/xen/evtchn") == 0)
			cls = "evtchn";
		else if (strcmp(target, "/dev/xen/gntdev") == 0)
			cls = "gntdev";
		if (!cls)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		/* pidfd_getfd() sets close-on-exec: the checker must get it */
		if (fd < 0 || fcntl(fd, F_SETFD, 0) < 0) {
			perror("pidfd_getfd");
			return 1;
		}
		snprintf(fdstr[found], sizeof(fdstr[found]), "%d", fd);
		args[n++] = cls;
		args[n++] = fdstr[found];
		args[n++] = cls;
		printf("lab-fd-check: fd %s of %d is %s\n", e->d_name, pid,
		       target);
		found++;
	}
	closedir(d);
	if (!found) {
		fprintf(stderr, "lab-fd-check: no Xen device fds in %d\n", pid);
		return 1;
	}
	args[n] = NULL;
	fflush(stdout);
	execv(CHECKER, (char *const *)args);
	perror(CHECKER);
	return 1;
}
