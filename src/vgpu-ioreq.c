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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/backend_open.h>
#include <vgpu/cli.h>
#include <vgpu/confine.h>
#include <vgpu/daemon.h>
#include <vgpu/depriv.h>
#include <vgpu/host_xen.h>
#include <vgpu/ioreq.h>
#include <vgpu/loopback.h>
#include <vgpu/pidlock.h>
#include <vgpu/qmp.h>
#include <vgpu/savestate.h>
#include <vgpu/savestate_xs.h>
#include <vgpu/serve.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_stub.h>

struct daemon {
	struct cli cli;
	struct logger log;
	struct vdev dev;
	struct io_stats stats;
	struct xen_host *xen;
	int sigfd;
	int handoff_fd;
	int notify_fd; /* systemd's, or -1 */
	struct pidlock pidfile; /* --pidfile */
	struct pidlock slot; /* one server per function */
	int lock_helper_fd; /* after pidlock_hand_over(): kept until exit */
	char slot_lock[128];
	char state_path[128];
	struct vdev_state *st; /* in a file mapping: survives a crash */
	bool st_mapped;
	uint8_t uuid[16];
	struct depriv depriv;
	struct backend *be; /* created before the privilege drop */
	int cuda_spawner; /* --backend cuda: starts this VM's worker */
	struct vgpu_stub_cfg dcfg;
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
 * the process's life (pidlock.h: it holds our pid, and disappears with
 * us, also after a privilege drop).
 */
static int lock_slot(struct daemon *dm, char *holder, size_t len)
{
	uint32_t s = dm->cli.sbdf;
	long pid;
	int rc;

	snprintf(dm->slot_lock, sizeof(dm->slot_lock),
		 "%s/vgpu-ioreq/d%u-%02x.%u.lock", RUNSTATEDIR, dm->cli.domid,
		 (s >> 3) & 0x1f, s & 7);
	savestate_state_path(dm->state_path, sizeof(dm->state_path),
			     dm->cli.domid, s);
	rc = pidlock_take(&dm->slot, dm->slot_lock, &pid);
	if (rc == -EBUSY && pid)
		snprintf(holder, len, "%ld", pid);
	else if (rc == -EBUSY)
		snprintf(holder, len, "not known yet");
	return rc;
}

/* The state files of domains that ended (savestate_sweep()). */
static void sweep_states(struct daemon *dm)
{
	int n = savestate_sweep(RUNSTATEDIR "/vgpu-ioreq", xen_domain_ended,
				NULL);

	if (n > 0)
		log_info(&dm->log,
			 "removed %d state file(s) of domains that ended", n);
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
	sweep_states(dm);
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

static void set_log_prefix(struct daemon *dm)
{
	uint32_t s = dm->cli.sbdf;

	log_set_prefix(&dm->log, "d%u %02x:%02x.%u: ", dm->cli.domid,
		       (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7);
}

static int take_pidfile(struct daemon *dm)
{
	const char *path = dm->cli.pidfile;
	long holder;
	int rc;

	if (!path)
		return 0;
	rc = pidlock_take(&dm->pidfile, path, &holder);
	if (rc == -EBUSY)
		log_err(&dm->log,
			"pid file %s: locked by another running vgpu-ioreq (pid %ld)",
			path, holder);
	else if (rc < 0)
		log_err(&dm->log, "pid file %s: %s", path, strerror(-rc));
	return rc;
}

/* Open the hypervisor side, create the device, claim the function. */
static int setup_xen(struct daemon *dm, const struct vdev_ops *ops)
{
	struct cli *c = &dm->cli;
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xen_host_open(&dm->xen, c->domid, resumable_server(dm), &dm->log);
	dm->ms_xen += ms_since(&t0);
	if (rc < 0)
		return rc;
	dm->dcfg = (struct vgpu_stub_cfg){ .be = dm->be, .limits = c->limits };
	if (c->restore_state) {
		rc = vdev_create_restored(&dm->dev, ops, c->sbdf,
					  xen_host_seam(dm->xen), &dm->log,
					  dm->st, &dm->dcfg);
		if (rc < 0) {
			log_err(&dm->log, "cannot restore the device state: %s",
				rc == -EIO ? "BAR0 cannot be routed" :
					     "not a state of this function");
			return rc;
		}
	} else
		vdev_create_in_cfg(&dm->dev, ops, c->have_ids ? &c->ids : NULL,
				   c->sbdf, xen_host_seam(dm->xen), &dm->log,
				   dm->st, xen_host_reattached(dm->xen),
				   &dm->dcfg);
	dm->st->domid = c->domid;
	memcpy(dm->st->domain_uuid, dm->uuid, sizeof(dm->uuid));
	dm->st->ioservid = xen_host_ioservid(dm->xen);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xen_host_attach(dm->xen, &dm->dev, &dm->stats);
	dm->ms_xen += ms_since(&t0);
	return rc;
}

/* The ready line (stdout, or the waiting parent), --ready-fd, systemd. */
static void announce_ready(struct daemon *dm, const struct vdev_ops *ops)
{
	struct cli *c = &dm->cli;
	uint32_t s = c->sbdf;
	char line[160];
	double total;

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
	daemon_ready(line, dm->handoff_fd, c->ready_fd, dm->notify_fd);
	dm->handoff_fd = -1;
}

/* An error after the detach: the waiting caller prints it too. */
static void tee_to_caller(void *arg, const char *line)
{
	struct daemon *dm = arg;

	daemon_report(dm->handoff_fd, line);
}

/*
 * In the background, leave the caller's terminal and connect the log to
 * syslog (unless --log says otherwise); with --depriv, hand the run files
 * to their helper and drop privileges: confine.h does it in that order.
 * Errors until the ready line also reach the waiting caller.
 */
static int leave_and_drop(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	const struct depriv_rules *const rules[] = { &depriv_xen,
						     backend_depriv_rules(c),
						     NULL };
	struct pidlock *locks[] = { &dm->slot, &dm->pidfile };
	struct confine how = {
		.leave = !c->foreground,
		.keep_stderr = c->log_sink_set &&
			       c->log_sink == LOG_SINK_STDERR,
		.syslog = !c->foreground && !c->log_sink_set,
		.depriv = c->user ? &dm->depriv : NULL,
		.rules = rules,
		.locks = locks,
		.nr_locks = 2,
	};

	if (how.leave && !how.keep_stderr)
		log_set_tee(&dm->log, tee_to_caller, dm);
	return confine(&how, &dm->log, &dm->lock_helper_fd);
}

/* The backend, whose threads exist before privileges are dropped. */
static int create_backend(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	char why[256], vm[16];

	snprintf(vm, sizeof(vm), "d%u", c->domid);
	dm->be = backend_open(c, vm, &dm->log, &dm->cuda_spawner, why,
			      sizeof(why));
	if (!dm->be) {
		log_err(&dm->log, "%s", why);
		return -ENOTSUP;
	}
	return 0;
}

static int start(struct daemon *dm)
{
	const struct vdev_ops *ops = vdev_find(dm->cli.device);
	int rc;

	set_log_prefix(dm);
	rc = create_backend(dm);
	if (rc == 0)
		rc = take_pidfile(dm);
	if (rc == 0)
		rc = check_slot(dm);
	if (rc == 0)
		rc = map_state(dm, ops);
	/* xl restore, migration: the device as the saved state left it */
	if (rc == 0 && dm->cli.restore_state)
		rc = savestate_load(dm->cli.restore_state, ops, dm->cli.domid,
				    dm->cli.sbdf, dm->st, &dm->log);
	if (rc == 0)
		rc = release_orphan(dm, resumable_server(dm));
	if (rc == 0)
		rc = setup_xen(dm, ops);
	/* Nothing from the guest has been read yet: restrict the handles,
	 * leave the caller, drop privileges. */
	if (rc == 0 && dm->cli.user)
		rc = xen_host_restrict(dm->xen);
	if (rc == 0)
		rc = leave_and_drop(dm);
	if (rc < 0)
		return rc;
	xen_host_scan(dm->xen);
	announce_ready(dm, ops);
	log_set_tee(&dm->log, NULL, NULL);
	return 0;
}

/* Mirror of start(): disable, answer pending, unroute, release, destroy. */
static void stop(struct daemon *dm)
{
	daemon_stopping(dm->notify_fd);
	xen_host_detach(dm->xen);
	if (dm->dev.ops)
		vdev_destroy(&dm->dev);
	if (dm->be)
		dm->be->ops->destroy(dm->be);
	dm->be = NULL;
	if (dm->cuda_spawner >= 0)
		close(dm->cuda_spawner);
	dm->cuda_spawner = -1;
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
	/* (after a privilege drop, the helper removes them) */
	pidlock_release(&dm->pidfile);
	pidlock_release(&dm->slot);
}

/* The command line: -1 to go on, or the exit status. */
static int parse_args(struct daemon *dm, int argc, char **argv)
{
	char err[256];

	if (cli_parse(&dm->cli, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vgpu-ioreq: %s\nTry 'vgpu-ioreq --help'.\n",
			err);
		return CLI_EXIT_USAGE;
	}
	if (dm->cli.help) {
		fputs(cli_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (dm->cli.version) {
		printf("vgpu-ioreq %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	}
	return -1;
}

/* Logging, signals, the user to become, the domain, the fork into the
 * background. 0 or -1 (reported). */
static int prepare(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	struct timespec t0;
	char err[256];
	int rc;

	log_init(&dm->log, c->log_sink_set ? c->log_sink : LOG_SINK_STDERR,
		 c->log_level);
	/* connected now: its path is out of a chroot's reach */
	dm->notify_fd = daemon_notify_open();
	/* Signals are blocked before any thread (libxenstore's) exists. */
	dm->sigfd = daemon_signalfd(false);
	if (dm->sigfd < 0) {
		log_err(&dm->log, "signalfd: %s", strerror(-dm->sigfd));
		return -1;
	}
	if (c->user &&
	    depriv_lookup(c->user, &dm->depriv, err, sizeof(err)) < 0) {
		log_err(&dm->log, "%s", err);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = check_domain(dm);
	dm->ms_xen += ms_since(&t0);
	if (rc < 0)
		return -1;
	if (!c->foreground) {
		dm->handoff_fd = daemon_fork();
		if (dm->handoff_fd < 0) {
			log_err(&dm->log, "cannot daemonise: %s",
				strerror(-dm->handoff_fd));
			return -1;
		}
	}
	return 0;
}

/* --save-state, --save-watch: beside a running vgpu-ioreq, as root. */
static int save_main(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	const struct vdev_ops *ops = vdev_find(c->device);
	char path[160];
	int rc = 0;

	log_init(&dm->log, c->log_sink_set ? c->log_sink : LOG_SINK_STDERR,
		 c->log_level);
	if (c->domain)
		rc = xen_domain_lookup(c->domain, &c->domid);
	if (rc < 0) {
		log_err(&dm->log, "no domain named '%s'", c->domain);
		return CLI_EXIT_FAIL;
	}
	set_log_prefix(dm);
	savestate_state_path(path, sizeof(path), c->domid, c->sbdf);
	if (c->save_watch)
		rc = savestate_watch(ops, c->domid, c->sbdf, path,
				     c->save_refuse, &dm->log);
	else
		rc = savestate_save(c->save_state, ops, c->domid, c->sbdf,
				    &dm->log);
	return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct daemon dm = { .sigfd = -1,
			     .handoff_fd = -1,
			     .notify_fd = -1,
			     .pidfile = { .fd = -1 },
			     .slot = { .fd = -1 },
			     .lock_helper_fd = -1,
			     .cuda_spawner = -1 };
	enum serve_end end;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &dm.t_start);
	rc = parse_args(&dm, argc, argv);
	if (rc >= 0)
		return rc;
	if (dm.cli.loopback) { /* no hypervisor: src/loopback.c */
		log_init(&dm.log,
			 dm.cli.log_sink_set ? dm.cli.log_sink :
					       LOG_SINK_STDERR,
			 dm.cli.log_level);
		return loopback_main(&dm.cli, &dm.log);
	}
	if (dm.cli.save_state || dm.cli.save_watch)
		return save_main(&dm);
	if (prepare(&dm) < 0)
		return CLI_EXIT_FAIL;
	if (start(&dm) < 0) {
		stop(&dm);
		return CLI_EXIT_FAIL;
	}
	end = serve_run(dm.xen, &dm.dev, dm.sigfd, SERVE_LIVENESS_MS, &dm.stats,
			&dm.log);
	stop(&dm);
	log_guest_flush(&dm.log);
	log_info(&dm.log, "exiting");
	return end == SERVE_ERROR ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
