/* SPDX-License-Identifier: GPL-2.0-only */
/* Command line of vgpu-ioreq(8): parsing only, no side effects. */
#ifndef VGPU_CLI_H
#define VGPU_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/log.h>
#include <vgpu/vdev.h>

#define CLI_DEFAULT_SBDF (5u << 3) /* 0000:00:05.0 */
#define CLI_DOMID_MAX 0x7fefu /* DOMID_FIRST_RESERVED - 1 */

enum cli_exit { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

struct cli {
	bool have_domid;
	uint32_t domid;
	const char *domain; /* --domain NAME, resolved later */
	uint32_t sbdf;
	const char *device; /* device model name */
	bool have_ids;
	struct vdev_ids ids;
	bool foreground;
	const char *pidfile;
	int ready_fd; /* -1: none */
	bool log_sink_set;
	enum log_sink log_sink;
	int log_level;
	const char *user; /* drop privileges to this user after setup */
	/* the compute backend (issue 10) */
	const char *backend; /* "cpu" or "cuda" */
	const char *cuda_gpu; /* --backend cuda:GPU: index or UUID, or NULL */
	uint32_t cuda_timeout_ms; /* a kernel's time limit; 0: none */
	const char *cuda_user; /* run the CUDA workers as this user */
	uint32_t cuda_sessions; /* CUDA contexts per VM */
	bool cuda_stage_all; /* stage copies even from shareable memory */
	bool help;
	bool version;
};

#define CLI_DEFAULT_USER "vgpu-ioreq"
#define CLI_CUDA_TIMEOUT_MS 10000u
#define CLI_CUDA_SESSIONS 16u

/*
 * Parse argv into @c. 0 on success; -1 on a usage error, with a one-line
 * reason naming the problem in @err.
 */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);
/* "[SSSS:]BB:DD.F" -> seg << 16 | bus << 8 | dev << 3 | fn; 0 or -1. */
int cli_parse_bdf(const char *s, uint32_t *sbdf, char *err, size_t errlen);
/* Decimal (or 0x hex) number <= max, whole string; 0 or -1. */
int cli_parse_u32(const char *s, uint32_t max, uint32_t *out);

extern const char cli_usage[];

#endif
