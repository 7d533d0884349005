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
	"      --backend cpu|cuda[:GPU]  run sessions on the CPU reference backend\n"
	"                           (default) or on an NVIDIA GPU: device index or\n"
	"                           UUID (GPU-...), one worker process per VM\n"
	"      --cuda-timeout SEC   end a session whose kernel runs longer (10;\n"
	"                           0: no limit)\n"
	"      --cuda-sessions N    CUDA contexts per VM (16, at most 64)\n"
	"      --cuda-user NAME     run the CUDA workers as this user\n"
	"      --cuda-stage-all     copy through staging even where the memory\n"
	"                           could be shared (benchmarks)\n"
	"  -F, --foreground         do not daemonise\n"
	"  -p, --pidfile PATH       write and lock a pid file\n"
	"      --ready-fd N         write READY=1 to fd N once serving, then close it\n"
	"      --log stderr|syslog  log destination (default: stderr in the\n"
	"                           foreground, syslog once daemonised)\n"
	"      --log-level LEVEL    err, warning, info or debug (default info)\n"
	"  -v, --verbose            more logging (repeatable)\n"
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
	OPT_BACKEND,
	OPT_CUDA_TIMEOUT,
	OPT_CUDA_SESSIONS,
	OPT_CUDA_USER,
	OPT_CUDA_STAGE_ALL,
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
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "cuda-timeout", required_argument, NULL, OPT_CUDA_TIMEOUT },
	{ "cuda-sessions", required_argument, NULL, OPT_CUDA_SESSIONS },
	{ "cuda-user", required_argument, NULL, OPT_CUDA_USER },
	{ "cuda-stage-all", no_argument, NULL, OPT_CUDA_STAGE_ALL },
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

/* --backend cpu | cuda | cuda:GPU */
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

/* The CUDA backend's own options. 1 if @opt is not one of them. */
static int parse_cuda(struct cli *c, int opt, const char *v, char *err,
		      size_t errlen)
{
	uint32_t n;

	switch (opt) {
	case OPT_BACKEND:
		return parse_backend(c, v, err, errlen);
	case OPT_CUDA_TIMEOUT:
		if (cli_parse_u32(v, 86400, &n))
			return bad(
				err, errlen, "--cuda-timeout", v,
				"expected seconds from 0 (no limit) to 86400");
		c->cuda_timeout_ms = n * 1000;
		return 0;
	case OPT_CUDA_SESSIONS:
		if (cli_parse_u32(v, 64, &n) || n == 0)
			return bad(err, errlen, "--cuda-sessions", v,
				   "expected 1 to 64");
		c->cuda_sessions = n;
		return 0;
	case OPT_CUDA_USER:
		if (!*v)
			return bad(err, errlen, "--cuda-user", v,
				   "expected a user name");
		c->cuda_user = v;
		return 0;
	case OPT_CUDA_STAGE_ALL:
		c->cuda_stage_all = true;
		return 0;
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
	c->backend = "cpu";
	c->cuda_timeout_ms = CLI_CUDA_TIMEOUT_MS;
	c->cuda_sessions = CLI_CUDA_SESSIONS;
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
		case OPT_BACKEND:
		case OPT_CUDA_TIMEOUT:
		case OPT_CUDA_SESSIONS:
		case OPT_CUDA_USER:
		case OPT_CUDA_STAGE_ALL:
			if (parse_cuda(c, opt, optarg, err, errlen))
				return -1;
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
		default:
			snprintf(err, errlen, "unknown option '%s'",
				 argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (c->have_domid == (c->domain != NULL)) {
		snprintf(err, errlen,
			 "give exactly one of --domid N or --domain NAME");
		return -1;
	}
	return 0;
}
