// SPDX-License-Identifier: GPL-2.0-only
/* vgpu-ioreqd's command line; see ioreqd.h. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <vgpu/cli.h>
#include <vgpu/ioreqd.h>

#define ROOT IOREQD_ROOT

static const char usage[] =
	"usage: vgpu-ioreqd [options]\n"
	"\n"
	"Run vgpu-ioreq for every domain whose XenStore key\n"
	"  " ROOT "/<domid>/request\n"
	"is set to \"attach\" (\"detach\" stops it). Reports state, error, pid,\n"
	"ioservid and sbdf beside it. See vgpu-ioreqd(8).\n"
	"\n"
	"  -F, --foreground         do not daemonise\n"
	"  -p, --pidfile PATH       write and lock a pid file\n"
	"      --worker PATH        the vgpu-ioreq to run (default " SBINDIR
	"/vgpu-ioreq)\n"
	"      --worker-arg ARG     pass ARG to every worker (repeatable),\n"
	"                           e.g. --worker-arg=--depriv\n"
	"      --log stderr|syslog  log destination\n"
	"      --log-level LEVEL    err, warning, info (default) or debug\n"
	"  -h, --help, -V, --version\n";

/* One option: -1 to go on, or the exit status. */
static int parse_opt(struct ioreqd_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'F':
		o->foreground = true;
		return -1;
	case 'p':
		o->pidfile = optarg;
		return -1;
	case 'w':
		o->worker_path = optarg;
		return -1;
	case 'a':
		if (o->nr_worker_args == IOREQD_MAX_WORKER_ARGS) {
			fprintf(stderr, "vgpu-ioreqd: too many --worker-arg\n");
			return CLI_EXIT_USAGE;
		}
		o->worker_args[o->nr_worker_args++] = optarg;
		return -1;
	case 'l':
		o->log_set = true;
		if (strcmp(optarg, "syslog") == 0) {
			o->sink = LOG_SINK_SYSLOG;
		} else if (strcmp(optarg, "stderr") != 0) {
			fprintf(stderr,
				"vgpu-ioreqd: invalid --log '%s': expected stderr or syslog\n",
				optarg);
			return CLI_EXIT_USAGE;
		}
		return -1;
	case 'L':
		o->level = log_parse_level(optarg);
		if (o->level < LOG_ERR) {
			fprintf(stderr,
				"vgpu-ioreqd: invalid --log-level '%s'\n",
				optarg);
			return CLI_EXIT_USAGE;
		}
		return -1;
	case 'h':
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	case 'V':
		printf("vgpu-ioreqd %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	default:
		fprintf(stderr,
			"vgpu-ioreqd: unknown option '%s'\nTry 'vgpu-ioreqd --help'.\n",
			arg);
		return CLI_EXIT_USAGE;
	}
}

int ioreqd_parse_args(struct ioreqd_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'F' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "worker", required_argument, NULL, 'w' },
		{ "worker-arg", required_argument, NULL, 'a' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	memset(o, 0, sizeof(*o));
	o->sink = LOG_SINK_STDERR;
	o->level = LOG_INFO;
	o->worker_path = SBINDIR "/vgpu-ioreq";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "Fp:hV", opts, NULL)) != -1) {
		rc = parse_opt(o, opt, argv[optind - 1]);
		if (rc >= 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "vgpu-ioreqd: unexpected argument '%s'\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	return -1;
}
