/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vgpu-ioreq --loopback PATH: the device model served to local processes
 * over a Unix socket (include/vgpu/loopback_proto.h). src/loopback.c is
 * the listener (socket, connection limit, one child process per
 * connection, hang-up watchdog, signals, readiness); src/loopback_vm.c is
 * one connection's VM (HELLO, the device on the host_loop seam, the event
 * loop).
 */
#ifndef VGPU_LOOPBACK_H
#define VGPU_LOOPBACK_H

#include <stdint.h>

#include <vgpu/cli.h>
#include <vgpu/depriv.h>
#include <vgpu/log.h>
#include <vgpu/vdev.h>

/* After its client hangs up, a VM's process has this long to exit before
 * the listener kills it (a process stuck in a backend, say). */
#define LOOP_GRACE_MS 2000

/* --poll-us by default with loopback, on a host of this many CPUs */
#define LOOP_POLL_US 1000
#define LOOP_POLL_CPUS_MIN 4

/* main() of vgpu-ioreq --loopback: returns the exit status. */
int loopback_main(const struct cli *c, struct logger *lg);

struct loopback_vm_cfg {
	const struct vdev_ops *ops;
	const struct vdev_ids *ids; /* NULL: the model's own */
	uint32_t sbdf;
	const struct depriv *depriv; /* NULL: keep privileges */
	int hello_ms; /* how long to wait for HELLO */
	const struct cli *cli; /* --backend */
	struct engine_limits limits; /* per VM: the command line's */
	int cuda_spawner; /* the listener's, or -1 (backend_open.h) */
};

/*
 * Serve the VM on connection @sock until the client closes it or SIGTERM
 * arrives on @sigfd; frees everything. Returns the process's exit status.
 */
int loopback_vm_run(int sock, int sigfd, const struct loopback_vm_cfg *cfg,
		    struct logger *lg);

#endif
