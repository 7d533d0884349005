/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Locked pid files: the --pidfile and the per-function lock under the run
 * directory. Each holds the pid of the process that serves, written once,
 * and is locked (flock) for that process's life on a read-only
 * descriptor: the lock, not the file's existence, says whether the pid is
 * current, and nobody can rewrite the pid through the descriptor.
 *
 * A process that drops its privileges can neither unlink these root-owned
 * files nor must it hold a descriptor to them: pidlock_hand_over() forks,
 * before the drop, a small process (root, named "vgpu-ioreq-lock", every
 * other descriptor closed) that takes the locks over and waits on a pipe
 * only the server holds. However the server ends, SIGKILL included, the
 * pipe closes and the helper unlinks the files while still holding their
 * locks, then exits. A successor that meets a lock still held with a
 * dead holder's pid waits (bounded, on inotify) for that unlink instead of
 * reporting the function busy.
 */
#ifndef VGPU_PIDLOCK_H
#define VGPU_PIDLOCK_H

#include <stdbool.h>
#include <stddef.h>

#define PIDLOCK_WAIT_MS 5000 /* for a dead holder's helper, at most */

struct pidlock {
	int fd; /* read-only and locked; -1: none (or handed over) */
	bool handed_over;
	char path[256];
};

void pidlock_init(struct pidlock *pl);
/*
 * Create or open @path, lock it, write our pid into it. 0; -EBUSY if a
 * live process holds it (its pid in @holder, 0 if not known yet);
 * -ENAMETOOLONG; or -errno from open (-ENOENT: no such directory).
 */
int pidlock_take(struct pidlock *pl, const char *path, long *holder);
/* Unlink the file (while still locked) and unlock: at exit, for a
 * process that kept its privileges. No-op after pidlock_hand_over(). */
void pidlock_release(struct pidlock *pl);
/*
 * Give @n taken locks to a helper process (see above) and close them
 * here. Returns the write end of the pipe the helper waits on, to be kept
 * open until exit (it is close-on-exec), or -errno.
 */
int pidlock_hand_over(struct pidlock *const *pls, size_t n);

#endif
