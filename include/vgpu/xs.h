/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * XenStore for the supervisor, behind the same thin seam as host_xen.c:
 * src/xs.c is the only other file that includes Xen headers.
 */
#ifndef VGPU_XS_H
#define VGPU_XS_H

#include <stdbool.h>
#include <stdint.h>

struct xsg;

int xsg_open(struct xsg **out);
void xsg_close(struct xsg *x);
/* Readable when a watch fired: then call xsg_next_event(). */
int xsg_fd(struct xsg *x);
int xsg_watch(struct xsg *x, const char *path, const char *token);
/* The path of the next fired watch (free() it), or NULL if none. */
char *xsg_next_event(struct xsg *x);
/* A node's value (free() it), or NULL if absent. */
char *xsg_read(struct xsg *x, const char *path);
int xsg_write(struct xsg *x, const char *path, const char *val);
int xsg_rm(struct xsg *x, const char *path);
/* Create @path readable and writable by dom0 only. */
int xsg_mkdir_dom0_only(struct xsg *x, const char *path);
/* Names under @path (free() the array; the strings live in it). */
char **xsg_list(struct xsg *x, const char *path, unsigned int *n);
bool xsg_domain_exists(struct xsg *x, uint32_t domid);

#endif
