/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dropping privileges once setup is done (docs/designs/qemu-deprivilege.md
 * in Xen): an empty root, a non-root uid and gid, no_new_privs, no new
 * processes, and a seccomp allow-list of the system calls serving needs.
 */
#ifndef VGPU_DEPRIV_H
#define VGPU_DEPRIV_H

#include <stddef.h>
#include <sys/types.h>

#include <vgpu/log.h>

struct depriv {
	uid_t uid;
	gid_t gid;
	char chroot_dir[128];
};

/* Resolve a user name (or numeric uid) before any handle is restricted.
 * 0, or -1 with a reason in @err. */
int depriv_lookup(const char *user, struct depriv *d, char *err, size_t len);
/*
 * Drop everything. Verifies what it did (a return to uid 0 fails, a
 * forbidden system call is refused) and logs it. 0 or -errno: the caller
 * must not serve the guest after a failure.
 */
int depriv_drop(const struct depriv *d, struct logger *lg);

#endif
