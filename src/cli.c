// SPDX-License-Identifier: GPL-2.0-only
/* vgpu-ioreq's command line. Every bad value gets a one-line reason. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vgpu/cli.h>

const char cli_usage[] =
	"usage: vgpu-ioreq --domid N | --domain NAME [options]\n"
	"       vgpu-ioreq --loopback PATH [options]\n"
	"\n"
	"Serve the vgpu-stub PCI function (1af4:1111, class 0x120000) to a Xen\n"
	"HVM guest as a secondary ioreq server. Start it while the domain is\n"
	"paused (xl create -p); it returns, or signals readiness, once the guest\n"
	"can see the device.\n"
	"\n"
	"  -d, --domid N            domain id of the HVM guest\n"
	"  -n, --domain NAME        domain name, looked up in XenStore\n"
	"  -b, --bdf [SSSS:]BB:DD.F PCI address to claim (bus 0, function 0;\n"
	"                           default 00:05.0)\n"
	"      --device NAME        device model (default vgpu-stub)\n"
	"      --vendor-id HEX      override the PCI vendor id (default 1af4)\n"
	"      --device-id HEX      override the PCI device id (default 1111)\n"
	"      --depriv             after setup, restrict the Xen handles to the\n"
	"                           domain and drop to user vgpu-ioreq (chroot,\n"
	"                           no_new_privs, seccomp allow-list)\n"
	"      --user NAME|UID      like --depriv, as this user\n"
	"      --loopback PATH      no hypervisor: serve local processes on a Unix\n"
	"                           socket, one VM per connection (README)\n"
	"      --socket-mode MODE   the socket's permissions, octal (default 0660)\n"
	"      --socket-group GROUP the socket's group (default: the daemon's)\n"
	"      --max-connections N  loopback VMs at once (default 16)\n"
	"  -F, --foreground         do not daemonise\n"
	"  -p, --pidfile PATH       write and lock a pid file\n"
	"      --ready-fd N         write READY=1 to fd N once serving, then close it\n"
	"      --log stderr|syslog  log destination (default: stderr in the\n"
	"                           foreground, syslog once daemonised)\n"
	"      --log-level LEVEL    err, warning, info or debug (default info)\n"
	"  -v, --verbose            more logging (repeatable)\n"
	"\n"
	"The command engine (ABI 1.2) and its per-VM limits:\n"
	"      --backend cpu|cuda[:GPU]  run commands on the CPU reference\n"
	"                           backend (default; the project's own test\n"
	"                           kernels only) or an NVIDIA GPU (device index\n"
	"                           or UUID), one worker process per VM\n"
	"      --cpu-threads N      CPU backend stream executors (default 4)\n"
	"      --poll-us N          keep polling a queue N us after its last\n"
	"                           command, doorbells off (default 50; 0: never\n"
	"                           poll)\n"
	"      --max-sessions N     guest processes with a session (default 16)\n"
	"      --devmem SIZE        device memory quota (default 256M; with\n"
	"                           --backend cuda 8G, contexts included)\n"
	"      --pinned SIZE        guest memory registered as regions (default\n"
	"                           512M)\n"
	"      --grant SIZE         dom0 memory granted to the guest as regions\n"
	"                           (Xen, xen-gntalloc; default 16M; 0: none)\n"
	"      --module-max SIZE    one module image (default 16M)\n"
	"      --max-streams N      per session (default 64)\n"
	"      --max-events N       per session (default 1024)\n"
	"      --kernel-ms N        a kernel's time limit: past it the session\n"
	"                           is lost (default 10000; 0: none)\n"
	"      --cuda-user NAME     run the CUDA workers as this user\n"
	"      --cuda-stage-all     copy through staging even where memory could\n"
	"                           be shared (benchmarks)\n"
	"\n"
	"Save, restore and migration (README):\n"
	"      --restore-state SRC  serve the device as a saved state left it;\n"
	"                           SRC: xenstore (what xl restore or xl\n"
	"                           migrate brought) or a file\n"
	"      --save-state DEST    write the state of the running vgpu-ioreq\n"
	"                           of --domid (suspended: nothing in flight)\n"
	"                           to DEST (xenstore or a file), and exit\n"
	"      --save-watch[=refuse] stay beside the domain: seal its device's\n"
	"                           state into XenStore whenever it is\n"
	"                           suspended, so xl save and xl migrate carry\n"
	"                           it (run by vgpu-ioreq-dm); =refuse: keep\n"
	"                           every save failing instead (vgpu-ioreq-dm\n"
	"                           with VGPU_IOREQ_SAVE=no)\n"
	"  -h, --help               show this help\n"
	"  -V, --version            show the version\n"
	"\n"
	"Exit status: 0 clean exit (signal, or the domain went away),\n"
	"1 runtime failure, 2 usage error.\n";

enum {
	OPT_DEVICE = 256,
	OPT_VENDOR_ID,
	OPT_DEVICE_ID,
	OPT_READY_FD,
	OPT_LOG,
	OPT_LOG_LEVEL,
	OPT_DEPRIV,
	OPT_USER,
	OPT_LOOPBACK,
	OPT_SOCKET_MODE,
	OPT_SOCKET_GROUP,
	OPT_MAX_CONNS,
	OPT_BACKEND,
	OPT_CPU_THREADS,
	OPT_POLL_US,
	OPT_MAX_SESSIONS,
	OPT_DEVMEM,
	OPT_PINNED,
	OPT_GRANT,
	OPT_MODULE_MAX,
	OPT_MAX_STREAMS,
	OPT_MAX_EVENTS,
	OPT_KERNEL_MS,
	OPT_CUDA_USER,
	OPT_CUDA_STAGE_ALL,
	OPT_RESTORE_STATE,
	OPT_SAVE_STATE,
	OPT_SAVE_WATCH,
};

static const struct option cli_options[] = {
	{ "domid", required_argument, NULL, 'd' },
	{ "domain", required_argument, NULL, 'n' },
	{ "bdf", required_argument, NULL, 'b' },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "vendor-id", required_argument, NULL, OPT_VENDOR_ID },
	{ "device-id", required_argument, NULL, OPT_DEVICE_ID },
	{ "foreground", no_argument, NULL, 'F' },
	{ "pidfile", required_argument, NULL, 'p' },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "depriv", no_argument, NULL, OPT_DEPRIV },
	{ "user", required_argument, NULL, OPT_USER },
	{ "loopback", required_argument, NULL, OPT_LOOPBACK },
	{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "cpu-threads", required_argument, NULL, OPT_CPU_THREADS },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "devmem", required_argument, NULL, OPT_DEVMEM },
	{ "pinned", required_argument, NULL, OPT_PINNED },
	{ "grant", required_argument, NULL, OPT_GRANT },
	{ "module-max", required_argument, NULL, OPT_MODULE_MAX },
	{ "max-streams", required_argument, NULL, OPT_MAX_STREAMS },
	{ "max-events", required_argument, NULL, OPT_MAX_EVENTS },
	{ "kernel-ms", required_argument, NULL, OPT_KERNEL_MS },
	{ "cuda-user", required_argument, NULL, OPT_CUDA_USER },
	{ "cuda-stage-all", no_argument, NULL, OPT_CUDA_STAGE_ALL },
	{ "restore-state", required_argument, NULL, OPT_RESTORE_STATE },
	{ "save-state", required_argument, NULL, OPT_SAVE_STATE },
	{ "save-watch", optional_argument, NULL, OPT_SAVE_WATCH },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int cli_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_hex_field(const char *s, size_t len, uint32_t max,
			   uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (len == 0 || len > 4)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ?
						s[i] - '0' :
						(tolower((unsigned char)s[i]) -
						 'a' + 10));
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_bdf(const char *s, uint32_t *sbdf, char *err, size_t errlen)
{
	const char *c1 = strchr(s, ':'), *c2, *dot, *bus;
	uint32_t seg = 0, b, d, f;

	if (!c1)
		goto bad;
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		if (parse_hex_field(s, (size_t)(c1 - s), 0xffff, &seg))
			goto bad;
		bus = c1 + 1;
	} else {
		bus = s;
		c2 = c1;
	}
	dot = strchr(c2 + 1, '.');
	if (!dot || parse_hex_field(bus, (size_t)(c2 - bus), 0xff, &b) ||
	    parse_hex_field(c2 + 1, (size_t)(dot - c2 - 1), 0xff, &d) ||
	    parse_hex_field(dot + 1, strlen(dot + 1), 0xff, &f))
		goto bad;
	if (d > 0x1f || f > 7)
		goto bad;
	if (seg != 0) {
		snprintf(
			err, errlen,
			"invalid --bdf '%s': segment must be 0000 (an HVM guest has one PCI segment)",
			s);
		return -1;
	}
	if (b != 0) {
		snprintf(
			err, errlen,
			"invalid --bdf '%s': bus must be 00 (Xen routes HVM config cycles for bus 0 only)",
			s);
		return -1;
	}
	if (f != 0) {
		snprintf(
			err, errlen,
			"invalid --bdf '%s': function must be 0 (guests look at functions 1-7 only behind a multi-function device)",
			s);
		return -1;
	}
	*sbdf = seg << 16 | b << 8 | d << 3 | f;
	return 0;
bad:
	snprintf(
		err, errlen,
		"invalid --bdf '%s': expected [SSSS:]BB:DD.F in hex, device 00-1f, function 0-7",
		s);
	return -1;
}

static int bad(char *err, size_t errlen, const char *what, const char *val,
	       const char *expect)
{
	snprintf(err, errlen, "invalid %s '%s': %s", what, val, expect);
	return -1;
}

/* The loopback transport's options (README, "Loopback transport"). */
static int parse_loopback_opt(struct cli *c, int opt, const char *val,
			      char *err, size_t errlen)
{
	uint32_t v;
	char *end;

	if (opt != OPT_LOOPBACK)
		c->loopback_opts = true;
	switch (opt) {
	case OPT_LOOPBACK:
		/* sockaddr_un.sun_path holds 107 bytes and a NUL */
		if (!*val || strlen(val) > 107)
			return bad(err, errlen, "--loopback", val,
				   "expected a socket path of 1 to 107 bytes");
		c->loopback = val;
		return 0;
	case OPT_SOCKET_MODE:
		errno = 0;
		v = (uint32_t)strtoul(val, &end, 8);
		if (!*val || *end || errno || v > 0777 || *val == '-' ||
		    *val == '+' || isspace((unsigned char)*val))
			return bad(err, errlen, "--socket-mode", val,
				   "expected octal permission bits, e.g. 0660");
		c->socket_mode = v;
		return 0;
	case OPT_SOCKET_GROUP:
		if (!*val)
			return bad(err, errlen, "--socket-group", val,
				   "expected a group name or gid");
		c->socket_group = val;
		return 0;
	default: /* OPT_MAX_CONNS */
		if (cli_parse_u32(val, CLI_MAX_CONNS, &v) || v == 0)
			return bad(err, errlen, "--max-connections", val,
				   "expected a number from 1 to 1024");
		c->max_conns = v;
		return 0;
	}
}

/* --loopback excludes the Xen options; the socket options need it. */
static int check_loopback(const struct cli *c, char *err, size_t errlen)
{
	if (!c->loopback) {
		snprintf(
			err, errlen,
			"--socket-mode, --socket-group and --max-connections need --loopback PATH");
		return -1;
	}
	if (c->have_domid || c->domain || c->sbdf != CLI_DEFAULT_SBDF) {
		snprintf(
			err, errlen,
			"--loopback serves local processes: --domid, --domain and --bdf do not apply");
		return -1;
	}
	return 0;
}

int cli_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (max >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* --backend cpu | cuda[:GPU] */
static int parse_backend(struct cli *c, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "cpu") == 0) {
		c->backend = "cpu";
		c->cuda_gpu = NULL;
		return 0;
	}
	if (strcmp(v, "cuda") != 0 &&
	    (strncmp(v, "cuda:", 5) != 0 || v[5] == '\0'))
		return bad(
			err, errlen, "--backend", v,
			"expected cpu, cuda or cuda:GPU (an index or a UUID)");
#ifndef HAVE_CUDA_BACKEND
	snprintf(
		err, errlen,
		"--backend %s: this vgpu-ioreq was built without the CUDA backend (configure --with-cuda needs cuda.h and libcuda)",
		v);
	return -1;
#else
	c->backend = "cuda";
	c->cuda_gpu = v[4] == ':' ? v + 5 : NULL;
	return 0;
#endif
}

/* A count option into *out: 0 or -1 with the reason. */
static int count_opt(const char *name, const char *s, uint32_t lo, uint32_t hi,
		     uint32_t *out, char *err, size_t errlen)
{
	char expect[64];
	uint32_t v;

	if (cli_parse_u32(s, hi, &v) == 0 && v >= lo) {
		*out = v;
		return 0;
	}
	snprintf(expect, sizeof(expect), "expected a number from %u to %u", lo,
		 hi);
	return bad(err, errlen, name, s, expect);
}

static int size_opt(const char *name, const char *s, uint64_t max,
		    uint64_t *out, char *err, size_t errlen)
{
	if (cli_parse_size(s, max, out) == 0)
		return 0;
	return bad(err, errlen, name, s,
		   "expected a size such as 4096, 64K, 256M or 2G");
}

/* The engine's options: 0, -1 with the reason, or 1: not one of them. */
static int engine_opt(struct cli *c, int opt, const char *a, char *err,
		      size_t errlen)
{
	struct engine_limits *l = &c->limits;

	switch (opt) {
	case OPT_BACKEND:
		return parse_backend(c, a, err, errlen);
	case OPT_CPU_THREADS:
		return count_opt("--cpu-threads", a, 1, 16, &c->cpu_threads,
				 err, errlen);
	case OPT_POLL_US:
		c->poll_us_given = true;
		return count_opt("--poll-us", a, 0, 1000000, &l->poll_us, err,
				 errlen);
	case OPT_MAX_SESSIONS:
		return count_opt("--max-sessions", a, 1, 1024, &l->sessions,
				 err, errlen);
	case OPT_DEVMEM:
		c->devmem_given = true;
		return size_opt("--devmem", a, 1ull << 40, &l->devmem, err,
				errlen);
	case OPT_CUDA_USER:
		if (!*a)
			return bad(err, errlen, "--cuda-user", a,
				   "expected a user name");
		c->cuda_user = a;
		return 0;
	case OPT_CUDA_STAGE_ALL:
		c->cuda_stage_all = true;
		return 0;
	case OPT_PINNED:
		return size_opt("--pinned", a, 1ull << 40, &l->pinned, err,
				errlen);
	case OPT_GRANT:
		if (strcmp(a, "0") == 0) { /* no grants: VGPU_F_GRANT off */
			l->granted = 0;
			return 0;
		}
		return size_opt("--grant", a, 1ull << 36, &l->granted, err,
				errlen);
	case OPT_MODULE_MAX:
		return size_opt("--module-max", a, 1ull << 30, &l->module_bytes,
				err, errlen);
	case OPT_MAX_STREAMS:
		return count_opt("--max-streams", a, 1, 65536, &l->streams, err,
				 errlen);
	case OPT_MAX_EVENTS:
		return count_opt("--max-events", a, 1, 65536, &l->events, err,
				 errlen);
	case OPT_KERNEL_MS:
		return count_opt("--kernel-ms", a, 0, 3600000, &l->kernel_ms,
				 err, errlen);
	}
	return 1;
}

int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen)
{
	uint32_t v;
	int opt;

	memset(c, 0, sizeof(*c));
	c->sbdf = CLI_DEFAULT_SBDF;
	c->device = "vgpu-stub";
	c->ready_fd = -1;
	c->log_level = LOG_INFO;
	c->socket_mode = CLI_DEFAULT_SOCKET_MODE;
	c->max_conns = CLI_DEFAULT_MAX_CONNS;
	c->backend = "cpu";
	c->cpu_threads = CLI_DEFAULT_CPU_THREADS;
	engine_limits_default(&c->limits);
	err[0] = '\0';
	optind = 0; /* full re-initialisation (glibc), for repeated calls */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:n:b:Fp:vhV", cli_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (cli_parse_u32(optarg, CLI_DOMID_MAX, &c->domid))
				return bad(
					err, errlen, "--domid", optarg,
					"expected a domain id from 0 to 32751");
			c->have_domid = true;
			break;
		case 'n':
			if (!*optarg)
				return bad(err, errlen, "--domain", optarg,
					   "expected a domain name");
			c->domain = optarg;
			break;
		case 'b':
			if (cli_parse_bdf(optarg, &c->sbdf, err, errlen))
				return -1;
			break;
		case OPT_DEVICE:
			if (!vdev_find(optarg))
				return bad(err, errlen, "--device", optarg,
					   "known device models: vgpu-stub");
			c->device = optarg;
			break;
		case OPT_VENDOR_ID:
		case OPT_DEVICE_ID: {
			char buf[16];

			snprintf(buf, sizeof(buf), "0x%s", optarg);
			if (strncmp(optarg, "0x", 2) == 0 ||
			    cli_parse_u32(buf, 0xfffe, &v))
				return bad(
					err, errlen,
					opt == OPT_VENDOR_ID ? "--vendor-id" :
							       "--device-id",
					optarg,
					"expected 1 to 4 hex digits, not ffff");
			if (!c->have_ids) {
				c->ids.vendor = 0x1af4;
				c->ids.device = 0x1111;
			}
			c->have_ids = true;
			if (opt == OPT_VENDOR_ID)
				c->ids.vendor = (uint16_t)v;
			else
				c->ids.device = (uint16_t)v;
			break;
		}
		case 'F':
			c->foreground = true;
			break;
		case 'p':
			if (!*optarg)
				return bad(err, errlen, "--pidfile", optarg,
					   "expected a path");
			c->pidfile = optarg;
			break;
		case OPT_READY_FD:
			if (cli_parse_u32(optarg, 65535, &v) || v < 3)
				return bad(err, errlen, "--ready-fd", optarg,
					   "expected a descriptor number >= 3");
			c->ready_fd = (int)v;
			break;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") == 0)
				c->log_sink = LOG_SINK_STDERR;
			else if (strcmp(optarg, "syslog") == 0)
				c->log_sink = LOG_SINK_SYSLOG;
			else
				return bad(err, errlen, "--log", optarg,
					   "expected stderr or syslog");
			c->log_sink_set = true;
			break;
		case OPT_LOG_LEVEL:
			c->log_level = log_parse_level(optarg);
			if (c->log_level < LOG_ERR)
				return bad(
					err, errlen, "--log-level", optarg,
					"expected err, warning, info or debug");
			break;
		case OPT_DEPRIV:
			if (!c->user)
				c->user = CLI_DEFAULT_USER;
			break;
		case OPT_USER:
			if (!*optarg)
				return bad(err, errlen, "--user", optarg,
					   "expected a user name or uid");
			c->user = optarg;
			break;
		case OPT_LOOPBACK:
		case OPT_SOCKET_MODE:
		case OPT_SOCKET_GROUP:
		case OPT_MAX_CONNS:
			if (parse_loopback_opt(c, opt, optarg, err, errlen))
				return -1;
			break;
		case OPT_RESTORE_STATE:
		case OPT_SAVE_STATE:
			if (!*optarg)
				return bad(err, errlen,
					   opt == OPT_SAVE_STATE ?
						   "--save-state" :
						   "--restore-state",
					   optarg,
					   "expected xenstore or a file");
			if (opt == OPT_SAVE_STATE)
				c->save_state = optarg;
			else
				c->restore_state = optarg;
			break;
		case OPT_SAVE_WATCH:
			if (optarg && strcmp(optarg, "refuse") != 0)
				return bad(err, errlen, "--save-watch", optarg,
					   "expected nothing or refuse");
			c->save_watch = true;
			c->save_refuse = optarg != NULL;
			break;
		case 'v':
			if (c->log_level < LOG_DEBUG)
				c->log_level++;
			break;
		case 'h':
			c->help = true;
			return 0;
		case 'V':
			c->version = true;
			return 0;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value",
				 argv[optind - 1]);
			return -1;
		default: {
			int r = engine_opt(c, opt, optarg, err, errlen);

			if (r <= 0) {
				if (r < 0)
					return -1;
				break;
			}
			snprintf(err, errlen, "unknown option '%s'",
				 argv[optind - 1]);
			return -1;
		}
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (strcmp(c->backend, "cuda") == 0 && !c->devmem_given)
		c->limits.devmem = CLI_CUDA_DEVMEM_DEFAULT;
	if ((c->loopback || c->loopback_opts) &&
	    (c->restore_state || c->save_state || c->save_watch)) {
		snprintf(
			err, errlen,
			"--loopback has no save or restore (a VM is a connection)");
		return -1;
	}
	if (!!c->restore_state + !!c->save_state + c->save_watch > 1) {
		snprintf(
			err, errlen,
			"give at most one of --restore-state, --save-state and --save-watch");
		return -1;
	}
	if (c->loopback || c->loopback_opts)
		return check_loopback(c, err, errlen);
	if (c->have_domid == (c->domain != NULL)) {
		snprintf(
			err, errlen,
			"give exactly one of --domid N, --domain NAME or --loopback PATH");
		return -1;
	}
	return 0;
}
