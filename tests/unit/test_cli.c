// SPDX-License-Identifier: GPL-2.0-only
/* Command-line parsing: good lines parse, bad ones name the problem. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <vgpu/cli.h>

#define MAXARGS 32

static int parse(struct cli *c, char *err, const char *line)
{
	static char buf[512];
	char *argv[MAXARGS] = { "vgpu-ioreq" };
	int argc = 1;
	char *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < MAXARGS - 1;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return cli_parse(c, argc, argv, err, 256);
}

static void good_lines(void **state)
{
	struct cli c;
	char err[256];

	assert_int_equal(parse(&c, err, "--domid 5"), 0);
	assert_int_equal(c.domid, 5);
	assert_int_equal(c.sbdf, 5u << 3);
	assert_false(c.foreground);
	assert_int_equal(c.ready_fd, -1);
	assert_int_equal(c.log_level, LOG_INFO);

	assert_int_equal(
		parse(&c, err,
		      "--domid=7 --bdf 0000:00:1f.0 -F -vv --pidfile /run/x.pid --ready-fd 9 --log syslog"),
		0);
	assert_int_equal(c.domid, 7);
	assert_int_equal(c.sbdf, 0x1fu << 3);
	assert_true(c.foreground);
	assert_string_equal(c.pidfile, "/run/x.pid");
	assert_int_equal(c.ready_fd, 9);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.log_sink, LOG_SINK_SYSLOG);

	assert_int_equal(
		parse(&c, err,
		      "--domain guest1 -b 00:0a.0 --log-level warning --vendor-id 1AF4 --device-id 10f0"),
		0);
	assert_string_equal(c.domain, "guest1");
	assert_int_equal(c.sbdf, 0x0au << 3);
	assert_int_equal(c.log_level, LOG_WARNING);
	assert_true(c.have_ids);
	assert_int_equal(c.ids.vendor, 0x1af4);
	assert_int_equal(c.ids.device, 0x10f0);

	/* the engine's options and their defaults */
	assert_int_equal(parse(&c, err, "--domid 1"), 0);
	assert_string_equal(c.backend, "cpu");
	assert_int_equal(c.cpu_threads, CLI_DEFAULT_CPU_THREADS);
	assert_int_equal(c.limits.poll_us, 50);
	assert_int_equal(c.limits.devmem, 256u << 20);
	assert_int_equal(c.limits.granted, 16u << 20);
	assert_int_equal(parse(&c, err, "--domid 1 --grant 0"), 0);
	assert_int_equal(c.limits.granted, 0); /* no grants offered */
	assert_int_equal(
		parse(&c, err,
		      "--domid 1 --backend cpu --poll-us 200 --devmem 1G --pinned 64M --grant 4M --module-max 512K --max-sessions 4 --max-streams 8 --max-events 9 --kernel-ms 0 --cpu-threads 2"),
		0);
	assert_string_equal(c.backend, "cpu");
	assert_int_equal(c.limits.poll_us, 200);
	assert_int_equal(c.limits.devmem, 1ull << 30);
	assert_int_equal(c.limits.pinned, 64u << 20);
	assert_int_equal(c.limits.granted, 4u << 20);
	assert_int_equal(c.limits.module_bytes, 512u << 10);
	assert_int_equal(c.limits.sessions, 4);
	assert_int_equal(c.limits.streams, 8);
	assert_int_equal(c.limits.events, 9);
	assert_int_equal(c.limits.kernel_ms, 0);
	assert_int_equal(c.cpu_threads, 2);

	assert_int_equal(parse(&c, err, "--help"), 0);
	assert_true(c.help);
	assert_int_equal(parse(&c, err, "-V"), 0);
	assert_true(c.version);
}

static void expect_error(const char *line, const char *needle);

static void backends(void **state)
{
	struct cli c;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, err, "--domid 5"), 0);
	assert_string_equal(c.backend, "cpu");
	assert_int_equal(c.limits.devmem, 256ull << 20);
	assert_int_equal(parse(&c, err, "--domid 5 --backend cpu"), 0);
	assert_string_equal(c.backend, "cpu");
#ifdef HAVE_CUDA_BACKEND
	assert_int_equal(
		parse(&c, err,
		      "--domid 5 --backend cuda:GPU-1a2b --kernel-ms 0 --max-sessions 64 --cuda-user gpu --cuda-stage-all"),
		0);
	assert_string_equal(c.backend, "cuda");
	assert_string_equal(c.cuda_gpu, "GPU-1a2b");
	assert_int_equal(c.limits.kernel_ms, 0);
	assert_int_equal(c.limits.sessions, 64);
	/* a CUDA context alone takes ~0.5 GiB: a larger default quota */
	assert_int_equal(c.limits.devmem, CLI_CUDA_DEVMEM_DEFAULT);
	assert_string_equal(c.cuda_user, "gpu");
	assert_true(c.cuda_stage_all);
	assert_int_equal(parse(&c, err, "--domid 5 --backend cuda"), 0);
	assert_null(c.cuda_gpu);
	assert_int_equal(
		parse(&c, err, "--domid 5 --devmem 1G --backend cuda:0"), 0);
	assert_int_equal(c.limits.devmem, 1ull << 30);
#else
	expect_error("--domid 5 --backend cuda",
		     "built without the CUDA backend");
#endif
	expect_error("--domid 5 --backend gpu", "expected cpu, cuda");
	expect_error("--domid 5 --backend cuda:", "expected cpu, cuda");
	expect_error("--domid 5 --cuda-timeout 5", "unknown option");
	expect_error("--domid 5 --cuda-user=", "expected a user name");
	expect_error("--domid 5 --grant 1T", "expected a size");
}

static void expect_error(const char *line, const char *needle)
{
	struct cli c;
	char err[256];

	assert_int_equal(parse(&c, err, line), -1);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", line, err, needle);
}

static void bad_lines(void **state)
{
	expect_error("", "exactly one of --domid");
	expect_error("--domid 1 --domain x", "exactly one of --domid");
	expect_error("--domid abc", "invalid --domid 'abc'");
	expect_error("--domid -1", "invalid --domid");
	expect_error("--domid 32752", "invalid --domid");
	expect_error("--domid 5x", "invalid --domid");
	expect_error("--domid", "needs a value");
	expect_error("--domid 1 --frobnicate", "unknown option '--frobnicate'");
	expect_error("--domid 1 extra", "unexpected argument 'extra'");
	expect_error("--domid 1 --bdf 01:05.0", "bus must be 00");
	expect_error("--domid 1 --bdf 0001:00:05.0", "segment must be 0000");
	expect_error("--domid 1 --bdf 00:05.1", "function must be 0");
	expect_error("--domid 1 --bdf 00:20.0", "expected [SSSS:]BB:DD.F");
	expect_error("--domid 1 --bdf 5", "expected [SSSS:]BB:DD.F");
	expect_error("--domid 1 --bdf 00:05", "expected [SSSS:]BB:DD.F");
	expect_error("--domid 1 --bdf 00:0g.0", "expected [SSSS:]BB:DD.F");
	expect_error("--domid 1 --bdf 00000:00:05.0",
		     "expected [SSSS:]BB:DD.F");
	expect_error("--domid 1 --log file", "expected stderr or syslog");
	expect_error("--domid 1 --log-level loud", "invalid --log-level");
	expect_error("--domid 1 --ready-fd 1", "descriptor number >= 3");
	expect_error("--domid 1 --device vga", "known device models");
	expect_error("--domid 1 --vendor-id ffff", "not ffff");
	expect_error("--domid 1 --vendor-id 12345", "1 to 4 hex digits");
	expect_error("--domid 1 --backend gpu",
		     "expected cpu, cuda or cuda:GPU");
	expect_error("--domid 1 --poll-us -1", "invalid --poll-us");
	expect_error("--domid 1 --poll-us 1000001", "from 0 to 1000000");
	expect_error("--domid 1 --devmem 0", "invalid --devmem '0'");
	expect_error("--domid 1 --devmem 12X", "expected a size");
	expect_error("--domid 1 --devmem 2000G", "expected a size");
	expect_error("--domid 1 --cpu-threads 0", "from 1 to 16");
	expect_error("--domid 1 --max-sessions 0", "invalid --max-sessions");
	expect_error("--domid 1 --kernel-ms 1h", "invalid --kernel-ms");
}

static void save_restore(void **state)
{
	struct cli c;
	char err[256];

	(void)state;
	assert_int_equal(parse(&c, err, "--domid 5"), 0);
	assert_null(c.restore_state);
	assert_null(c.save_state);
	assert_false(c.save_watch);
	assert_int_equal(parse(&c, err,
			       "--domid 5 --depriv --restore-state xenstore"),
			 0);
	assert_string_equal(c.restore_state, "xenstore");
	assert_int_equal(parse(&c, err, "--domid 5 --save-state /tmp/f"), 0);
	assert_string_equal(c.save_state, "/tmp/f");
	assert_int_equal(parse(&c, err, "--domain g --save-watch --depriv"), 0);
	assert_true(c.save_watch);
	assert_false(c.save_refuse);
	assert_int_equal(parse(&c, err, "--domid 5 --save-watch=refuse"), 0);
	assert_true(c.save_watch && c.save_refuse);
	expect_error("--domid 5 --save-watch=yes",
		     "expected nothing or refuse");
	expect_error("--domid 5 --restore-state=",
		     "expected xenstore or a file");
	expect_error("--domid 5 --save-watch --restore-state f",
		     "at most one of --restore-state");
	expect_error("--domid 5 --save-state f --save-watch",
		     "at most one of --restore-state");
	expect_error("--loopback /tmp/s --restore-state f",
		     "--loopback has no save or restore");
	expect_error("--save-watch", "exactly one of --domid");
}

static void parse_u32(void **state)
{
	uint32_t v;

	assert_int_equal(cli_parse_u32("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_u32("0x10", 16, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(cli_parse_u32("17", 16, &v), -1);
	assert_int_equal(cli_parse_u32(" 1", 16, &v), -1);
	assert_int_equal(cli_parse_u32("99999999999999999999", ~0u, &v), -1);
	assert_int_equal(cli_parse_u32("", 16, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_lines), cmocka_unit_test(bad_lines),
		cmocka_unit_test(parse_u32),  cmocka_unit_test(save_restore),
		cmocka_unit_test(backends),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
