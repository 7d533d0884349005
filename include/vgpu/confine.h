/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Leaving the caller and dropping privileges, in the only order that
 * works: what needs the file system or the caller's process (stdio to
 * /dev/null, the connection to /dev/log, the run files' helper) before
 * the chroot, the uid change and the seccomp filter (depriv.h).
 */
#ifndef VGPU_CONFINE_H
#define VGPU_CONFINE_H

#include <stdbool.h>
#include <stddef.h>

#include <vgpu/depriv.h>
#include <vgpu/log.h>
#include <vgpu/pidlock.h>

struct confine {
	bool leave; /* in the background: stdio to /dev/null, cwd / */
	bool keep_stderr; /* ... except stderr (--log stderr) */
	bool syslog; /* log to syslog from now on */
	const struct depriv *depriv; /* NULL: keep the privileges */
	const struct depriv_rules *const *rules; /* depriv_drop()'s @extra */
	struct pidlock *const *locks; /* to pidlock_hand_over() first */
	size_t nr_locks;
};

/*
 * Leave (if @c->leave), connect the log (if @c->syslog), hand the run
 * files over and drop (if @c->depriv). 0, or -errno (logged): then the
 * caller must not serve. @helper_fd: pidlock_hand_over()'s descriptor,
 * to keep until exit, or -1.
 */
int confine(const struct confine *c, struct logger *lg, int *helper_fd);

#endif
