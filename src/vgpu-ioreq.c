// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-ioreq: a standalone Xen ioreq server that gives an HVM guest the
 * vgpu-stub PCI function. main() owns all state and runs the init ladder;
 * the teardown mirrors it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vgpu/cli.h>
#include <vgpu/daemon.h>
#include <vgpu/host_xen.h>
#include <vgpu/ioreq.h>
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
	struct timespec t_start;
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
			log_err(&dm->log, "cannot look up domain '%s' in xenstore: %s",
				c->domain, strerror(-rc));
			return rc;
		}
	}
	rc = xen_domain_check(c->domid);
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
			rc == -EACCES || rc == -EPERM ? " (run as root in dom0)" :
							"");
		break;
	}
	return rc;
}

static int start(struct daemon *dm)
{
	struct cli *c = &dm->cli;
	const struct vdev_ops *ops = vdev_find(c->device);
	char line[160];
	uint32_t s = c->sbdf;
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
	rc = xen_host_open(&dm->xen, c->domid, &dm->log);
	if (rc < 0)
		return rc;
	rc = vdev_create(&dm->dev, ops, c->have_ids ? &c->ids : NULL, c->sbdf,
			 xen_host_seam(dm->xen), &dm->log);
	if (rc < 0) {
		log_err(&dm->log, "cannot create the device: %s", strerror(-rc));
		return rc;
	}
	rc = xen_host_attach(dm->xen, &dm->dev, &dm->stats);
	if (rc < 0)
		return rc;
	snprintf(line, sizeof(line),
		 "vgpu-ioreq: ready domid=%u sbdf=%04x:%02x:%02x.%u ioservid=%u id=%04x:%04x vcpus=%u pid=%ld\n",
		 c->domid, s >> 16, (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7,
		 xen_host_ioservid(dm->xen), dm->dev.ids.vendor,
		 dm->dev.ids.device, xen_host_nr_vcpus(dm->xen),
		 (long)getpid());
	log_info(&dm->log, "serving %s as %04x:%04x with ioreq server %u, ready %.2f ms after start",
		 ops->name, dm->dev.ids.vendor, dm->dev.ids.device,
		 xen_host_ioservid(dm->xen), ms_since(&dm->t_start));
	daemon_ready(line, dm->handoff_fd, c->ready_fd);
	dm->handoff_fd = -1;
	if (!c->foreground && !c->log_sink_set) {
		/* Setup errors went to the caller's terminal; from now on
		 * the daemon logs to syslog. */
		log_init(&dm->log, LOG_SINK_SYSLOG, c->log_level);
		log_set_prefix(&dm->log, "d%u %02x:%02x.%u: ", c->domid,
			       (s >> 8) & 0xff, (s >> 3) & 0x1f, s & 7);
		daemon_detach(false);
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
	if (dm->pidfile_fd >= 0) {
		unlink(dm->cli.pidfile);
		close(dm->pidfile_fd);
	}
}

int main(int argc, char **argv)
{
	struct daemon dm = { .sigfd = -1, .handoff_fd = -1, .pidfile_fd = -1 };
	enum serve_end end;
	char err[256];
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &dm.t_start);
	if (cli_parse(&dm.cli, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vgpu-ioreq: %s\nTry 'vgpu-ioreq --help'.\n", err);
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
	dm.sigfd = daemon_signalfd();
	if (dm.sigfd < 0) {
		log_err(&dm.log, "signalfd: %s", strerror(-dm.sigfd));
		return CLI_EXIT_FAIL;
	}
	if (check_domain(&dm) < 0)
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
	end = serve_run(dm.xen, dm.sigfd, &dm.stats, &dm.log);
	stop(&dm);
	log_info(&dm.log, "exiting");
	return end == SERVE_ERROR ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
