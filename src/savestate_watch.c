// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq --save-watch (savestate_xs.h): a root helper beside the
 * emulator that holds no guest input. While the domain runs the carrier
 * is armed (a save fails); once the domain is suspended (xl save, xl
 * migrate) the emulator's state is snapshotted and sealed into XenStore,
 * where libxl picks it up after the memory; when the domain runs again (a
 * cancelled migration, xl save -c) the carrier is armed again.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vgpu/host_xen.h>
#include <vgpu/savestate.h>
#include <vgpu/savestate_xs.h>

struct watch {
	const struct vdev_ops *ops;
	uint32_t domid, sbdf;
	const char *state_path;
	struct logger *log;
	struct xsg *x;
	uint8_t *blob;
	size_t cap;
	bool sealed;
	bool refuse;
};

/* The domain is suspended: write its device's state, complete the seal. */
static void seal(struct watch *w)
{
	struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };
	char why[256] = "";
	long n = -EBUSY;
	int rc, i;

	if (w->refuse) {
		/* the seal stays incomplete: libxl fails the save */
		log_err(w->log,
			"domain %u suspended: its save is refused (--save-watch=refuse: VGPU_IOREQ_SAVE=no in vgpu-ioreq-dm's settings; README \"Save, restore and migration\")",
			w->domid);
		w->sealed = true; /* said once per suspend */
		return;
	}
	/*
	 * The guest no longer runs, but the server may still be finishing
	 * commands it took before (their completions are reported dirty):
	 * give it up to two seconds to go idle. Nothing signals that, so
	 * this looks again every 20 ms.
	 */
	for (i = 0; i < 100 && n == -EBUSY; i++) {
		if (i)
			nanosleep(&pause, NULL);
		n = savestate_snapshot(w->ops, w->state_path, w->blob, w->cap,
				       why, sizeof(why));
	}

	if (n < 0) {
		/* the seal stays incomplete: libxl fails the save */
		log_err(w->log,
			"domain %u suspended, but its device state cannot be saved: %s; the save will fail",
			w->domid, why);
		return;
	}
	rc = savestate_xs_put(w->x, w->domid, w->sbdf, w->blob, (size_t)n);
	if (rc < 0) {
		log_err(w->log,
			"cannot write the device state of domain %u to XenStore: %s; the save will fail",
			w->domid, strerror(-rc));
		savestate_xs_arm(w->x, w->domid, w->sbdf);
		return;
	}
	w->sealed = true;
	log_info(w->log, "domain %u suspended: device state (%ld bytes) sealed",
		 w->domid, n);
}

/* One look at the domain; false once it is gone. */
static bool look(struct watch *w)
{
	int st = xen_domain_run_state(w->domid);

	if (st == -ENOENT)
		return false;
	if (st == XEN_DOMAIN_SUSPENDED && !w->sealed) {
		seal(w);
	} else if (st == XEN_DOMAIN_RUNNING && w->sealed) {
		savestate_xs_arm(w->x, w->domid, w->sbdf);
		w->sealed = false;
		log_info(w->log, "domain %u runs again: carrier re-armed",
			 w->domid);
	}
	return true;
}

static int run(struct watch *w)
{
	int rc = savestate_xs_arm(w->x, w->domid, w->sbdf);

	if (rc == 0)
		rc = xsg_watch(w->x, "@releaseDomain", "vgpu-save");
	if (rc < 0) {
		log_err(w->log, "cannot arm the save carrier of domain %u: %s",
			w->domid, strerror(-rc));
		return rc;
	}
	while (look(w)) {
		struct pollfd p = { .fd = xsg_fd(w->x), .events = POLLIN };
		char *ev;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
		while ((ev = xsg_next_event(w->x)))
			free(ev);
	}
	return 0;
}

int savestate_watch(const struct vdev_ops *ops, uint32_t domid, uint32_t sbdf,
		    const char *state_path, bool refuse, struct logger *lg)
{
	struct watch w = { .ops = ops,
			   .domid = domid,
			   .sbdf = sbdf,
			   .state_path = state_path,
			   .log = lg,
			   .refuse = refuse,
			   .cap = savestate_size(ops) };
	int rc = xsg_open(&w.x);

	if (rc < 0) {
		log_err(lg, "cannot open XenStore: %s", strerror(-rc));
		return rc;
	}
	w.blob = malloc(w.cap);
	rc = w.blob ? run(&w) : -ENOMEM;
	free(w.blob);
	xsg_close(w.x);
	return rc;
}
