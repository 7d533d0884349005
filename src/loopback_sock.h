/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The loopback listener's socket file (src/loopback_sock.c), for
 * src/loopback.c.
 */
#ifndef VGPU_LOOPBACK_SOCK_H
#define VGPU_LOOPBACK_SOCK_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include <vgpu/cli.h>
#include <vgpu/log.h>

struct lb_sock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	gid_t gid;
	bool have_gid;
	bool bound; /* path is our socket: unlink it at the end */
};

/* --loopback PATH made absolute (the daemon changes to / once detached)
 * and --socket-group looked up. 0 or -errno, logged. */
int lb_sock_resolve(struct lb_sock *s, const struct cli *c, struct logger *lg);
/* The listening socket at s->path (non-blocking, close-on-exec), a stale
 * one replaced: its descriptor, or -errno, logged. */
int lb_sock_open(struct lb_sock *s, const struct cli *c, struct logger *lg);
/* Remove the socket file if it is ours. */
void lb_sock_unlink(struct lb_sock *s);

#endif
