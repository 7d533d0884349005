// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq: a standalone Xen ioreq server that gives an HVM guest the
 * vgpu-stub PCI function. main() owns all state and runs the init ladder;
 * the teardown mirrors it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/cli.h>
#include <vgpu/daemon.h>
#include <vgpu/depriv.h>
#include <vgpu/host_xen.h>
#include <vgpu/ioreq.h>
#include <vgpu/qmp.h>
#include <vgpu/serve.h>
#include <vgpu/vdev.h>

struct daemon {
	struct cli cli;
	struct logger log;
	struct vdev dev;
	struct io_stats stats;
	struct xen_host *xen;
	int sigfd;
	int handoff_fd;
	int pidfile_fd;
	int slot_fd;
	char slot_lock[128];
	char state_path[128];
	struct vdev_state *st; /* in a file mapping: survives a crash */
	bool st_mapped;
	uint8_t uuid[16];
	struct depriv depriv;
	struct timespec t_start;
	double ms_xen; /* spent in hypervisor and XenStore calls */
	double ms_qmp; /* spent asking QEMU */
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Resolve and check the domain before anything is created for it. */
static int check_domain(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	int rc;

	if (c->domain) {
		rc = xen_domain_lookup(c->domain, &c->domid);
		if (rc == -ENOENT) {
			log_err(&dm->log, "no domain named '%s'", c->domain);
			return rc;
		}
		if (rc < 0) {
			log_err(&dm->log,
				"cannot look up domain '%s' in xenstore: %s",
				c->domain, strerror(-rc));
			return rc;
		}
	}
	rc = xen_domain_check(c->domid, dm->uuid);
	switch (rc) {
	case 0:
		return 0;
	case -ENOENT:
		log_err(&dm->log, "no domain with id %u", c->domid);
		break;
	case -EINVAL:
		log_err(&dm->log,
			"domain %u is not an HVM guest (ioreq servers serve HVM domains only)",
			c->domid);
		break;
	default:
		log_err(&dm->log, "cannot query domain %u: %s%s", c->domid,
			strerror(-rc),
			rc == -EACCES || rc == -EPERM ?
				" (run as root in dom0)" :
				"");
		break;
	}
	return rc;
}

/*
 * The run directory (RUNSTATEDIR/vgpu-ioreq) holds the slot locks, the
 * state files and --depriv's empty chroot. Created here with its parents
 * (root's, 0755); refused if it is not a directory or anyone else may
 * write to it (a planted state file would steer this process). Without it
 * the daemon would serve with neither its lock nor its crash safety.
 */
static int make_run_dir(struct logger *lg)
{
	char dir[] = RUNSTATEDIR "/vgpu-ioreq";
	struct stat st;
	char *p;

	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '\0' || p[1] != '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				log_err(lg,
					"cannot create the run directory %s: %s",
					dir, strerror(errno));
				return -errno;
			}
			*p = c;
		}
		if (*p == '\0')
			break;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022)) {
		log_err(lg,
			"the run directory %s must be a directory of this user's (uid %u) that no one else may write to",
			dir, (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

/*
 * One vgpu-ioreq per function: a lock file per domain and slot, held for
 * the process's life. After locking, make sure the path still names the
 * locked file (an exiting holder unlinks it).
 */
static int lock_slot(struct daemon *dm, char *holder, size_t len)
{
	uint32_t s = dm->cli.sbdf;
	struct stat a, b;
	int fd;

	snprintf(dm->slot_lock, sizeof(dm->slot_lock),
		 "%s/vgpu-ioreq/d%u-%02x.%u.lock", RUNSTATEDIR, dm->cli.domid,
		 (s >> 3) & 0x1f, s & 7);
	snprintf(dm->state_path, sizeof(dm->state_path),
		 "%s/vgpu-ioreq/d%u-%02x.%u.state", RUNSTATEDIR, dm->cli.domid,
		 (s >> 3) & 0x1f, s & 7);
	for (;;) {
		fd = open(dm->slot_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			ssize_t n = read(fd, holder, len - 1);

			holder[n > 0 ? n - (holder[n - 1] == '\n') : 0] = '\0';
			close(fd);
			return -EBUSY;
		}
		if (fstat(fd, &a) == 0 && stat(dm->slot_lock, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(fd);
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", (long)getpid());
	dm->slot_fd = fd;
	return 0;
}

/* Refuse a slot that another vgpu-ioreq or the domain's QEMU uses. */
static int check_slot(struct daemon *dm)
{
	uint32_t s = dm->cli.sbdf;
	char holder[64] = "", path[64], desc[96];
	struct timespec t0;
	int rc = make_run_dir(&dm->log);

	if (rc < 0)
		return rc; /* never serve without the lock */
	rc = lock_slot(dm, holder, sizeof(holder));

	if (rc == -EBUSY) {
		log_err(&dm->log,
			"0000:00:%02x.%u of domain %u is used by another vgpu-ioreq (pid %s)",
			(s >> 3) & 0x1f, s & 7, dm->cli.domid, holder);
		return rc;
	}
	if (rc < 0) {
		log_err(&dm->log, "cannot lock %s: %s", dm->slot_lock,
			strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), QMP_SOCKET_FMT, dm->cli.domid);
	if (access(path, F_OK) < 0)
		return 0; /* no QEMU of libxl's (a stub domain, say) */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = qmp_slot_in_use(path, (s >> 3) & 0x1f, s & 7, desc, sizeof(desc));
	dm->ms_qmp += ms_since(&t0);
	if (rc == 1) {
		log_err(&dm->log,
			"0000:00:%02x.%u of domain %u is used by %s; choose a free slot with --bdf",
			(s >> 3) & 0x1f, s & 7, dm->cli.domid, desc);
		return -EBUSY;
	}
	if (rc < 0)
		log_warn(
			&dm->log,
			"cannot ask QEMU which PCI slots it uses (%s): claiming anyway",
			strerror(-rc));
	return 0;
}

/*
 * The device's state lives in a file under the run directory, mapped
 * shared: a vgpu-ioreq restarted after a crash finds the guest's BAR
 * programming and the ioreq server to take over there.
 */
static int map_state(struct daemon *dm, const struct vdev_ops *ops)
{
	size_t size = vdev_state_size(ops);
	int rc = daemon_map_file(dm->state_path, size, (void **)&dm->st);

	if (rc == 0) {
		dm->st_mapped = true;
		return 0;
	}
	/* never serve without it: a restart could not take the server over */
	log_err(&dm->log, "cannot map the state file %s: %s", dm->state_path,
		strerror(-rc));
	return rc;
}

/*
 * No state names a server for this function, yet one may claim it: a
 * predecessor that died without its state file left it, maybe with a vCPU
 * blocked on it. Released before a new server is created beside it, or
 * that vCPU would hang for good (see xen_host_release_orphan()).
 */
static int release_orphan(struct daemon *dm, uint32_t resumable)
{
	struct timespec t0;
	int rc;

	if (resumable != XEN_NO_SERVER)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xen_host_release_orphan(dm->cli.domid, dm->cli.sbdf, &dm->log);
	dm->ms_xen += ms_since(&t0);
	if (rc < 0 && rc != -EBUSY) /* -EBUSY: said why already */
		log_err(&dm->log,
			"cannot release the ioreq server left on this function: %s",
			strerror(-rc));
	return rc < 0 ? rc : 0;
}

/* The server a dead predecessor left for this domain and function. */
static uint32_t resumable_server(const struct daemon *dm)
{
	const struct vdev_state *st = dm->st;

	if (st->magic != VDEV_STATE_MAGIC || st->sbdf != dm->cli.sbdf ||
	    st->domid != dm->cli.domid ||
	    memcmp(st->domain_uuid, dm->uuid, sizeof(dm->uuid)) != 0)
		return XEN_NO_SERVER;
	return st->ioservid;
}

static int start(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	const struct vdev_ops *ops = vdev_find(c->device);
	struct timespec t0;
	char line[160];
	uint32_t s = c->sbdf;
	double total;
	int rc;

	log_set_prefix(&dm->log, "d%u %02x:%02x.%u: ", c->domid,
		       (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7);
	if (c->pidfile) {
		dm->pidfile_fd = daemon_pidfile(c->pidfile);
		if (dm->pidfile_fd < 0) {
			log_err(&dm->log, "pid file %s: %s", c->pidfile,
				dm->pidfile_fd == -EWOULDBLOCK ?
					"locked by another running vgpu-ioreq" :
					strerror(-dm->pidfile_fd));
			return dm->pidfile_fd;
		}
	}
	rc = check_slot(dm);
	if (rc < 0)
		return rc;
	rc = map_state(dm, ops);
	if (rc == 0)
		rc = release_orphan(dm, resumable_server(dm));
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xen_host_open(&dm->xen, c->domid, resumable_server(dm), &dm->log);
	dm->ms_xen += ms_since(&t0);
	if (rc < 0)
		return rc;
	vdev_create_in(&dm->dev, ops, c->have_ids ? &c->ids : NULL, c->sbdf,
		       xen_host_seam(dm->xen), &dm->log, dm->st,
		       xen_host_reattached(dm->xen));
	dm->st->domid = c->domid;
	memcpy(dm->st->domain_uuid, dm->uuid, sizeof(dm->uuid));
	dm->st->ioservid = xen_host_ioservid(dm->xen);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xen_host_attach(dm->xen, &dm->dev, &dm->stats);
	dm->ms_xen += ms_since(&t0);
	if (rc < 0)
		return rc;
	/* Nothing from the guest has been read yet: drop privileges now. */
	if (c->user) {
		rc = xen_host_restrict(dm->xen);
		if (rc == 0)
			rc = depriv_drop(&dm->depriv, &dm->log);
		if (rc < 0)
			return rc;
	}
	xen_host_scan(dm->xen);
	snprintf(
		line, sizeof(line),
		"vgpu-ioreq: ready domid=%u sbdf=%04x:%02x:%02x.%u ioservid=%u id=%04x:%04x vcpus=%u pid=%ld\n",
		c->domid, s >> 16, (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7,
		xen_host_ioservid(dm->xen), dm->dev.ids.vendor,
		dm->dev.ids.device, xen_host_nr_vcpus(dm->xen), (long)getpid());
	total = ms_since(&dm->t_start);
	log_info(
		&dm->log,
		"serving %s as %04x:%04x with ioreq server %u; ready %.2f ms after start: %.2f ms in hypervisor and xenstore calls, %.2f ms asking qemu, %.2f ms own work",
		ops->name, dm->dev.ids.vendor, dm->dev.ids.device,
		xen_host_ioservid(dm->xen), total, dm->ms_xen, dm->ms_qmp,
		total - dm->ms_xen - dm->ms_qmp);
	daemon_ready(line, dm->handoff_fd, c->ready_fd);
	dm->handoff_fd = -1;
	if (!c->foreground) {
		/* Setup errors went to the caller's terminal; from now on
		 * the daemon logs to syslog unless told otherwise. */
		daemon_detach(c->log_sink_set &&
			      c->log_sink == LOG_SINK_STDERR);
		if (!c->log_sink_set) {
			log_init(&dm->log, LOG_SINK_SYSLOG, c->log_level);
			log_set_prefix(&dm->log, "d%u %02x:%02x.%u: ", c->domid,
				       (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7);
		}
	}
	return 0;
}

/* Mirror of start(): disable, answer pending, unroute, release, destroy. */
static void stop(struct daemon *dm)
{
	daemon_stopping();
	xen_host_detach(dm->xen);
	if (dm->dev.ops)
		vdev_destroy(&dm->dev);
	xen_host_close(dm->xen);
	dm->xen = NULL;
	if (dm->st) {
		/* the server is destroyed: nothing for a successor to take */
		dm->st->magic = 0;
		if (dm->st_mapped)
			daemon_unmap_file(
				dm->st,
				vdev_state_size(dm->dev.ops ? dm->dev.ops :
							      &vgpu_stub_ops));
		else
			free(dm->st);
		dm->st = NULL;
	}
	if (dm->pidfile_fd >= 0) {
		unlink(dm->cli.pidfile);
		close(dm->pidfile_fd);
	}
	if (dm->slot_fd >= 0) {
		unlink(dm->slot_lock);
		close(dm->slot_fd);
	}
}

int main(int argc, char **argv)
{
	struct daemon dm = {
		.sigfd = -1, .handoff_fd = -1, .pidfile_fd = -1, .slot_fd = -1
	};
	enum serve_end end;
	struct timespec t0;
	char err[256];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &dm.t_start);
	if (cli_parse(&dm.cli, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vgpu-ioreq: %s\nTry 'vgpu-ioreq --help'.\n",
			err);
		return CLI_EXIT_USAGE;
	}
	if (dm.cli.help) {
		fputs(cli_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (dm.cli.version) {
		printf("vgpu-ioreq %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	}
	log_init(&dm.log,
		 dm.cli.log_sink_set ? dm.cli.log_sink : LOG_SINK_STDERR,
		 dm.cli.log_level);
	/* Signals are blocked before any thread (libxenstore's) exists. */
	dm.sigfd = daemon_signalfd(false);
	if (dm.sigfd < 0) {
		log_err(&dm.log, "signalfd: %s", strerror(-dm.sigfd));
		return CLI_EXIT_FAIL;
	}
	if (dm.cli.user &&
	    depriv_lookup(dm.cli.user, &dm.depriv, err, sizeof(err)) < 0) {
		log_err(&dm.log, "%s", err);
		return CLI_EXIT_FAIL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = check_domain(&dm);
	dm.ms_xen += ms_since(&t0);
	if (rc < 0)
		return CLI_EXIT_FAIL;
	if (!dm.cli.foreground) {
		dm.handoff_fd = daemon_fork();
		if (dm.handoff_fd < 0) {
			log_err(&dm.log, "cannot daemonise: %s",
				strerror(-dm.handoff_fd));
			return CLI_EXIT_FAIL;
		}
	}
	rc = start(&dm);
	if (rc < 0) {
		stop(&dm);
		return CLI_EXIT_FAIL;
	}
	end = serve_run(dm.xen, &dm.dev, dm.sigfd, SERVE_LIVENESS_MS, &dm.stats,
			&dm.log);
	stop(&dm);
	log_info(&dm.log, "exiting");
	return end == SERVE_ERROR ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
