// SPDX-License-Identifier: GPL-2.0-only
/* Leave the caller, then drop privileges; see confine.h. */
#include "config.h"

#include <string.h>

#include <vgpu/confine.h>
#include <vgpu/daemon.h>

int confine(const struct confine *c, struct logger *lg, int *helper_fd)
{
	int fd;

	*helper_fd = -1;
	/* /dev/null and /dev/log are out of reach after the chroot, and
	 * open() and connect() are refused after the seccomp filter */
	if (c->leave)
		daemon_detach(c->keep_stderr);
	if (c->syslog)
		log_to_syslog(lg);
	if (!c->depriv)
		return 0;
	/* the run files cannot be removed, nor must they be written, by a
	 * process that dropped its privileges */
	if (c->nr_locks) {
		fd = pidlock_hand_over(c->locks, c->nr_locks);
		if (fd < 0) {
			log_err(lg, "cannot hand the run files over: %s",
				strerror(-fd));
			return fd;
		}
		*helper_fd = fd;
	}
	return depriv_drop(c->depriv, lg, c->rules);
}
