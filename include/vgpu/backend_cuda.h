/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CUDA backend (struct backend_ops, include/vgpu/backend.h): a thin
 * proxy in vgpu-ioreq to vgpu-cuda-worker, one worker process per session
 * (include/vgpu/cuda_ipc.h says why not one per VM).
 *
 * Wiring, in the daemon (backend_cuda_open() below does 1 and 2 from the
 * command line):
 *   1. before it opens a Xen handle or drops privileges, once:
 *        fd = cuda_spawner_start(&spawner_opts, log, err, sizeof(err));
 *      a small helper process that starts workers on request, so that
 *      workers can be started after the privilege drop. Before it starts
 *      any, it runs the worker once as a probe that measures what a
 *      context costs in device memory (while nothing else of this daemon
 *      uses the GPU), and tells every worker;
 *   2. per VM (per domain, per loopback connection), also before the
 *      privilege drop: b = backend_cuda_create(&opts, err, sizeof(err))
 *      with opts.spawner_fd = fd. It starts a first worker and waits
 *      until CUDA is up there (a GPU-less host fails here, with err
 *      saying why); that worker waits as the spare for the first
 *      session, and each session that takes the spare starts the next.
 */
#ifndef VGPU_BACKEND_CUDA_H
#define VGPU_BACKEND_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/cuda_ipc.h>
#include <vgpu/log.h>

struct cuda_spawner_opts {
	const char *worker; /* path of vgpu-cuda-worker (NULL: installed) */
	const char *user; /* run workers as this user (NULL: as we are) */
	const char *cache_dir; /* per-VM PTX caches below (NULL: none) */
	const char *gpu; /* for the probe: as cuda_be_opts.gpu */
};

/* Fork the spawner. Its socket (>= 0), or -1 with a reason in @err. */
int cuda_spawner_start(const struct cuda_spawner_opts *o, struct logger *log,
		       char *err, size_t errlen);

struct cuda_be_opts {
	int spawner_fd;
	const char *gpu; /* NULL or "": device 0; an index or a UUID */
	const char *vm; /* names the VM in logs and its JIT cache dir */
	const char *cache_dir; /* as given to the spawner, or NULL */
	uint64_t quota; /* the VM's device memory (DEVICE_INFO); 0: all */
	uint32_t max_sessions; /* sessions at once (<= 64); 0: 16 */
	uint32_t timeout_ms; /* a kernel's time limit; 0: none */
	uint64_t pinned_limit; /* client memory registered; 0: 4 GiB */
	uint64_t module_limit; /* module images held by the VM; 0: 256 MiB */
	uint32_t stage_threads; /* staging copy threads (1, 2, 4 or 8) */
	uint32_t slot_bytes; /* staging chunk; 0: 2 MiB */
	uint32_t nslots; /* staging chunks per session; 0: 8 */
	bool stage_all; /* stage even regions with a file (benchmarks) */
	bool no_zero; /* leave fresh allocations as the driver gives them */
	uint32_t spin_us; /* a session thread polls this long; 0: 50 */
	uint32_t busy_spin_us; /* ... with GPU work in flight; 0: spin_us */
	uint32_t hang_ms; /* a CUDA call stuck this long ends the worker */
	uint32_t hello_ms; /* wait this long for the worker; 0: 60 s */
	bool profile; /* time each stage (backend_cuda_stats) */
	struct logger *log; /* may be NULL */
};

/* NULL with a one-line reason in @err. */
struct backend *backend_cuda_create(const struct cuda_be_opts *o, char *err,
				    size_t errlen);

/* "cuda" or "cuda:GPU": 0 and *gpu (NULL or the part after ':'), or -1. */
int backend_cuda_parse(const char *spec, const char **gpu);

/* vgpu-ioreq's --backend cuda (src/backend_cuda_daemon.c): the backend
 * for VM @vm from the command line, starting the spawner into *spawner
 * (-1: not yet) on first use. NULL with a one-line reason in @err. */
struct cli;
struct backend *backend_cuda_open(const struct cli *c, const char *vm,
				  uint64_t quota, struct logger *log,
				  int *spawner, char *err, size_t errlen);

/* Start the spawner into *spawner unless it runs already (a loopback
 * listener does this once, before it forks its VMs). 0, or -1 with a
 * reason in @err. */
int backend_cuda_spawner(const struct cli *c, struct logger *log, int *spawner,
			 char *err, size_t errlen);

/* The pid of session @session's worker (0: of the spare); 0 if none. */
int backend_cuda_worker_pid(struct backend *b, uint32_t session);

/* Where the time goes, summed over the VM's workers (live and gone) and
 * the proxy: counts always, times (ns) with opts.profile. */
struct cuda_be_stats {
	struct cw_stats w; /* the workers' (include/vgpu/cuda_ipc.h) */
	uint64_t workers; /* started, the spares included */
	uint64_t spawn_ns; /* asked the spawner -> HELLO, summed */
	uint64_t submits; /* requests from the engine */
	uint64_t wakes; /* futex wakes of a sleeping session thread */
	uint64_t notify_reads; /* the notify eventfd was readable */
	uint64_t cpls; /* completions taken from the workers */
	uint64_t cpl_ns; /* the worker posted it -> the proxy took it */
	uint64_t local; /* completed by the proxy itself */
	uint64_t staged; /* staged copies */
	uint64_t staged_bytes;
	uint64_t stage_copy_ns; /* memcpy in and out of the slots */
	uint64_t stage_wait_ns; /* waiting for a slot */
};

void backend_cuda_stats(struct backend *b, struct cuda_be_stats *st);
/* One line of them, for logs. */
void backend_cuda_stats_line(const struct cuda_be_stats *st, char *buf,
			     size_t len);

#endif
