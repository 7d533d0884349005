/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CUDA backend (struct backend_ops, include/vgpu/backend.h): a thin
 * proxy in vgpu-ioreq to vgpu-cuda-worker, one worker process per VM
 * (include/vgpu/cuda_ipc.h).
 *
 * Wiring, in the daemon (backend_cuda_open() below does 1 and 2 from the
 * command line):
 *   1. before it opens a Xen handle or drops privileges, once:
 *        fd = cuda_spawner_start(&spawner_opts, log, err, sizeof(err));
 *      a small helper process that starts workers on request, so that a
 *      worker can be (re)started after the privilege drop;
 *   2. per VM (per domain, per loopback connection), also before the
 *      privilege drop: b = backend_cuda_create(&opts, err, sizeof(err))
 *      with opts.spawner_fd = fd. It starts the worker and waits until
 *      CUDA is up there (a GPU-less host fails here, with err saying
 *      why), then serves sessions.
 */
#ifndef VGPU_BACKEND_CUDA_H
#define VGPU_BACKEND_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/backend.h>
#include <vgpu/log.h>

struct cuda_spawner_opts {
	const char *worker; /* path of vgpu-cuda-worker (NULL: installed) */
	const char *user; /* run workers as this user (NULL: as we are) */
	const char *cache_dir; /* per-VM PTX caches below (NULL: none) */
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
	uint32_t max_sessions; /* contexts at once (<= 64); 0: 16 */
	uint32_t timeout_ms; /* a kernel's time limit; 0: none */
	uint64_t pinned_limit; /* client memory registered; 0: 4 GiB */
	uint64_t module_limit; /* module images held; 0: 256 MiB */
	uint32_t stage_threads; /* staging copy threads (1, 2, 4 or 8) */
	uint32_t slot_bytes; /* staging chunk; 0: 2 MiB */
	uint32_t nslots; /* staging chunks per session; 0: 8 */
	bool stage_all; /* stage even regions with a file (benchmarks) */
	bool no_zero; /* leave fresh allocations as the driver gives them */
	uint32_t spin_us; /* a session thread polls this long; 0: 50 */
	uint32_t hang_ms; /* a CUDA call stuck this long ends the worker */
	uint32_t hello_ms; /* wait this long for the worker; 0: 60 s */
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

/* The worker's pid (tests, logs); 0 if none is running. */
int backend_cuda_worker_pid(struct backend *b);

#endif
