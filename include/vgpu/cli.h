/* SPDX-License-Identifier: GPL-2.0-only */
/* Command line of vgpu-ioreq(8): parsing only, no side effects. */
#ifndef VGPU_CLI_H
#define VGPU_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/engine.h>
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
	/* --loopback PATH: serve local processes on a Unix socket */
	const char *loopback;
	uint32_t socket_mode; /* permission bits of the socket */
	const char *socket_group; /* NULL: the daemon's own group */
	uint32_t max_conns; /* connections (VMs) at once */
	bool loopback_opts; /* one of the three above was given */
	/* the command engine and its backend */
	const char *backend; /* "cpu" or "cuda" */
	uint32_t cpu_threads; /* the CPU backend's executors */
	struct engine_limits limits; /* per VM; engine_limits_default() */
	bool devmem_given; /* --devmem: else the backend's default */
	bool poll_us_given; /* --poll-us: else the mode's default */
	/* --backend cuda */
	const char *cuda_gpu; /* cuda:GPU: index or UUID; NULL: the first */
	const char *cuda_user; /* run the CUDA workers as this user */
	bool cuda_stage_all; /* stage copies even from shareable memory */
	/* save, restore, migration (README) */
	const char *restore_state; /* "xenstore" or a file: start from it */
	const char *save_state; /* "xenstore" or a file: write it, exit */
	bool save_watch; /* the root helper of vgpu-ioreq-dm */
	bool save_refuse; /* --save-watch=refuse: keep every save failing */
	bool help;
	bool version;
};

#define CLI_DEFAULT_USER "vgpu-ioreq"
#define CLI_DEFAULT_SOCKET_MODE 0660u /* owner and group: read/write */
#define CLI_DEFAULT_MAX_CONNS 16u
#define CLI_MAX_CONNS 1024u
#define CLI_DEFAULT_CPU_THREADS 4
/* --devmem with --backend cuda: a CUDA context alone takes ~0.5 GiB */
#define CLI_CUDA_DEVMEM_DEFAULT (8ull << 30)

/*
 * Parse argv into @c. 0 on success; -1 on a usage error, with a one-line
 * reason naming the problem in @err.
 */
int cli_parse(struct cli *c, int argc, char **argv, char *err, size_t errlen);
/* A byte count with an optional K, M or G suffix, > 0 and <= max. */
int cli_parse_size(const char *s, uint64_t max, uint64_t *out);
/* "[SSSS:]BB:DD.F" -> seg << 16 | bus << 8 | dev << 3 | fn; 0 or -1. */
int cli_parse_bdf(const char *s, uint32_t *sbdf, char *err, size_t errlen);
/* Decimal (or 0x hex) number <= max, whole string; 0 or -1. */
int cli_parse_u32(const char *s, uint32_t max, uint32_t *out);

extern const char cli_usage[];

#endif
