// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq --loopback PATH: the listener's socket file. PATH made
 * absolute, the --socket-group looked up, a stale socket of a dead server
 * replaced (a live one, or anything else, is not), the socket born with
 * --socket-mode and given its group.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loopback_sock.h"

/* PATH, made absolute (the daemon changes to / once detached). */
static int resolve_path(struct lb_sock *s, const struct cli *c,
			struct logger *lg)
{
	const char *p = c->loopback;
	char cwd[sizeof(s->path)];
	int n;

	if (p[0] == '/')
		n = snprintf(s->path, sizeof(s->path), "%s", p);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(s->path, sizeof(s->path), "%s/%s", cwd, p);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		log_err(lg,
			"--loopback %s: the absolute path is longer than %zu bytes",
			p, sizeof(s->path) - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int resolve_group(struct lb_sock *s, const struct cli *c,
			 struct logger *lg)
{
	const char *g = c->socket_group;
	struct group *gr;
	uint32_t v;

	if (!g)
		return 0;
	gr = getgrnam(g);
	if (gr) {
		s->gid = gr->gr_gid;
	} else if (cli_parse_u32(g, 0xfffffffeu, &v) == 0) {
		s->gid = (gid_t)v;
	} else {
		log_err(lg, "--socket-group %s: no such group", g);
		return -ENOENT;
	}
	s->have_gid = true;
	return 0;
}

/* A socket file left at PATH by a dead server is replaced; a live one,
 * or anything that is not a socket, is not. */
static int clear_stale(struct lb_sock *s, struct logger *lg,
		       const struct sockaddr_un *sa)
{
	struct stat sb;
	int fd, rc;

	if (lstat(s->path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode)) {
		log_err(lg, "%s exists and is not a socket", s->path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		log_err(lg, "another server listens on %s", s->path);
		return -EADDRINUSE;
	}
	log_info(lg, "removing the stale socket %s", s->path);
	return unlink(s->path) < 0 && errno != ENOENT ? -errno : 0;
}

int lb_sock_resolve(struct lb_sock *s, const struct cli *c, struct logger *lg)
{
	int rc = resolve_path(s, c, lg);

	return rc < 0 ? rc : resolve_group(s, c, lg);
}

/* Bound at s->path: given its group, listening. 0 or -errno, logged. */
static int group_and_listen(struct lb_sock *s, int fd, const struct cli *c,
			    struct logger *lg)
{
	int rc;

	if (s->have_gid && lchown(s->path, (uid_t)-1, s->gid) < 0) {
		rc = -errno;
		log_err(lg, "cannot give %s to group %u: %s", s->path,
			(unsigned int)s->gid, strerror(-rc));
		return rc;
	}
	if (listen(fd, 64) < 0) {
		rc = -errno;
		log_err(lg, "cannot listen on %s: %s", s->path, strerror(-rc));
		return rc;
	}
	if (c->socket_mode & 0007)
		log_warn(
			lg,
			"%s is open to every local user (mode %04o): each can use a device-memory quota",
			s->path, c->socket_mode);
	return 0;
}

/* The socket, born with its final mode (umask), then given its group. */
int lb_sock_open(struct lb_sock *s, const struct cli *c, struct logger *lg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int rc, fd;

	memcpy(sa.sun_path, s->path, strlen(s->path));
	rc = clear_stale(s, lg, &sa);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(~(mode_t)c->socket_mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		rc = -errno;
		log_err(lg, "cannot bind %s: %s", s->path, strerror(-rc));
	} else {
		s->bound = true;
		rc = group_and_listen(s, fd, c, lg);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

void lb_sock_unlink(struct lb_sock *s)
{
	if (s->bound)
		unlink(s->path);
	s->bound = false;
}
