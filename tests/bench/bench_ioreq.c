// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_ioreq: ioreqs per second through the daemon's real Xen glue and
 * dispatch, against the fake Xen (one simulated vCPU, same thread).
 *
 *   bench_ioreq [cfg|mmio|both] [ITERATIONS]
 *
 * tools/bench.sh runs it under callgrind to count the daemon's own
 * instructions per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vgpu/host_xen.h>
#include <vgpu/vdev.h>
#include <vgpu/vgpu_stub_regs.h>
#include "fakexen/fake_xen.h"

#define SBDF (5u << 3)
#define BAR 0xf1000000u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(struct xen_host *x, struct io_req *r, uint64_t *data)
{
	fake_vcpu_send(0, r);
	if (xen_host_handle_events(x) < 0)
		return -1;
	return fake_vcpu_wait(0, data, 1000) ? 0 : -1;
}

static int run(struct xen_host *x, const char *kind, unsigned long n)
{
	struct io_req cfg = { .addr = (uint64_t)SBDF << 32,
			      .count = 1,
			      .size = 4,
			      .type = IO_PCI_CONFIG,
			      .dir = IO_READ };
	struct io_req mmio = { .addr = BAR + VGPU_REG_SCRATCH,
			       .count = 1,
			       .size = 4,
			       .type = IO_MMIO,
			       .dir = IO_READ };
	struct io_req *r = strcmp(kind, "cfg") == 0 ? &cfg : &mmio;
	uint64_t data = 0, want = r == &cfg ? 0x11111af4 : 0;
	unsigned long i;
	double t0 = now_s(), dt;

	for (i = 0; i < n; i++) {
		if (one(x, r, &data) < 0 || data != want) {
			fprintf(stderr, "bench: request %lu failed\n", i);
			return -1;
		}
	}
	dt = now_s() - t0;
	printf("bench: %-4s %lu requests in %.3f s: %.0f ioreqs/s (%.0f ns each, fake Xen included)\n",
	       kind, n, dt, (double)n / dt, dt / (double)n * 1e9);
	return 0;
}

static void print_rss(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			printf("bench: peak RSS of the bench process %s",
			       line + 6);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct fake_xen_cfg cfg = {
		.domid = 1, .nr_vcpus = 1, .hvm = true, .guest_pages = 1
	};
	const char *kind = argc > 1 ? argv[1] : "both";
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 0) : 200000;
	struct io_stats st = { 0 };
	struct xen_host *x;
	struct logger lg;
	struct vdev d;
	uint64_t dummy;
	int rc = 0;

	fake_xen_reset(&cfg);
	log_init(&lg, LOG_SINK_STDERR, LOG_ERR);
	if (xen_host_open(&x, 1, XEN_NO_SERVER, &lg) ||
	    vdev_create(&d, &vgpu_stub_ops, NULL, SBDF, xen_host_seam(x),
			&lg) ||
	    xen_host_attach(x, &d, &st))
		return 1;
	xen_host_scan(x);
	xen_host_handle_events(x); /* the bind-time spurious event */
	{
		struct io_req w = { .addr = (uint64_t)SBDF << 32 | 0x10,
				    .data = BAR,
				    .count = 1,
				    .size = 4,
				    .type = IO_PCI_CONFIG };

		one(x, &w, &dummy);
		w.addr = (uint64_t)SBDF << 32 | PCI_COMMAND;
		w.data = PCI_COMMAND_MEMORY;
		w.size = 2;
		one(x, &w, &dummy);
	}
	if (strcmp(kind, "cfg") == 0 || strcmp(kind, "both") == 0)
		rc |= run(x, "cfg", n);
	if (strcmp(kind, "mmio") == 0 || strcmp(kind, "both") == 0)
		rc |= run(x, "mmio", n);
	print_rss();
	xen_host_detach(x);
	vdev_destroy(&d);
	xen_host_close(x);
	if (fake_xen_violations()) {
		fprintf(stderr, "bench: xen rule broken: %s\n",
			fake_xen_last_violation());
		return 1;
	}
	return rc ? 1 : 0;
}
