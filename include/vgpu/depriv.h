/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dropping privileges once setup is done (docs/designs/qemu-deprivilege.md
 * in Xen): an empty root, a non-root uid and gid, no_new_privs, no new
 * processes, and a seccomp allow-list of the system calls serving needs.
 *
 * The allow-list is built from lists of rules: depriv_base (what every
 * per-domain process needs) plus one list per component that needs more,
 * passed to depriv_drop(). Anything on no list fails with EPERM. Each rule
 * says why it is there; src/depriv.c and src/depriv_xen.c hold the lists.
 *
 * What the lists leave out, on purpose: open/openat (nothing is opened
 * after the drop), socket/socketpair/connect/bind/accept (every socket is
 * made and connected before: the syslog and sd_notify sockets, a loopback
 * connection), sendto with an address and sendmsg (unless a component
 * adds it for a connected stream socket, where the kernel ignores an
 * address), ioctl beyond the numbers a component names (so TIOCSTI,
 * TIOCSETD and friends are refused on any terminal the process may hold),
 * mmap/mprotect with PROT_EXEC, clone/fork/execve, ptrace, kill.
 *
 * Components that will need more add a list of their own, e.g.:
 *  - the command engine's backend threads: threads are created before the
 *    drop (RLIMIT_NPROC 0 refuses clone afterwards) and must be running by
 *    then (glibc's thread start-up registers rseq, which is not on the
 *    list); they get the filter too (it is installed on every thread,
 *    SECCOMP_FILTER_FLAG_TSYNC) and futex, nanosleep and the memory calls
 *    are in depriv_base already;
 *  - the loopback transport: sendmsg/recvmsg on its connected AF_UNIX
 *    stream or seqpacket socket (SCM_RIGHTS for the memfd and eventfds),
 *    eventfd read/write (read/write are in depriv_base), mmap of the
 *    client's memfd (in depriv_base, without PROT_EXEC);
 *  - the CUDA backend proxy: a socketpair and shared memory with its
 *    worker process, both made before the drop: sendmsg/recvmsg as above.
 */
#ifndef VGPU_DEPRIV_H
#define VGPU_DEPRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vgpu/log.h>

struct depriv {
	uid_t uid;
	gid_t gid;
	char chroot_dir[128];
};

/*
 * One allow-list entry: the system call @syscall (its name, as libseccomp
 * knows it) with any arguments if @arg < 0, else only when argument @arg
 * (0-5) satisfies (argument & @mask) == @value, where @mask 0 stands for
 * every bit. Several entries for one call are alternatives.
 */
struct depriv_rule {
	const char *syscall;
	int arg;
	uint64_t mask;
	uint64_t value;
	const char *why;
};

#define DEPRIV_ANY(name, why)           \
	{                               \
		(name), -1, 0, 0, (why) \
	}
#define DEPRIV_ARG(name, arg, value, why)        \
	{                                        \
		(name), (arg), 0, (value), (why) \
	}
#define DEPRIV_MASKED(name, arg, mask, value, why)    \
	{                                             \
		(name), (arg), (mask), (value), (why) \
	}

/* A component's rules. */
struct depriv_rules {
	const char *owner;
	const struct depriv_rule *rule;
	size_t n;
};

/* The event loop, memory, time, signals and logging on descriptors made
 * before the drop. */
extern const struct depriv_rules depriv_base;
/* The Xen libraries on handles restricted to the domain: the privcmd and
 * evtchn ioctls libxendevicemodel, libxenforeignmemory and libxenevtchn
 * (Xen 4.17) issue while serving and at teardown. */
extern const struct depriv_rules depriv_xen;

/* Resolve a user name (or numeric uid) before any handle is restricted.
 * 0, or -1 with a reason in @err. */
int depriv_lookup(const char *user, struct depriv *d, char *err, size_t len);
/*
 * Drop everything; the allow-list is depriv_base plus the NULL-terminated
 * @extra (may be NULL). Verifies what it did (a return to uid 0 fails,
 * open() is refused) and logs it. 0 or -errno: the caller must not serve
 * the guest after a failure.
 */
int depriv_drop(const struct depriv *d, struct logger *lg,
		const struct depriv_rules *const *extra);
/*
 * Only the last step: set no_new_privs and install depriv_base plus
 * @extra on every thread of the process. 0 (and the number of rules in
 * @n, if not NULL) or -errno (-EINVAL: a rule names an unknown system
 * call or argument). depriv_drop() uses it; tests call it in a child.
 */
int depriv_seccomp(const struct depriv_rules *const *extra, size_t *n);

#endif
