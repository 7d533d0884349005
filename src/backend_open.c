// SPDX-License-Identifier: GPL-2.0-only
/* vgpu-ioreq's backend by --backend: see backend_open.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <vgpu/backend_cuda.h>
#include <vgpu/backend_open.h>

struct backend *backend_open(const struct cli *c, const char *vm,
			     struct logger *lg, int *cuda_spawner, char *err,
			     size_t errlen)
{
	if (strcmp(c->backend, "cuda") != 0)
		return backend_create(c->backend, -1, c->cpu_threads, err,
				      errlen);
#ifdef HAVE_CUDA_BACKEND
	return backend_cuda_open(c, vm, c->limits.devmem, lg, cuda_spawner, err,
				 errlen);
#else
	(void)vm;
	(void)lg;
	(void)cuda_spawner;
	snprintf(
		err, errlen,
		"the CUDA backend is not built into this vgpu-ioreq (configure --with-cuda needs cuda.h and libcuda)");
	return NULL;
#endif
}

int backend_prepare(const struct cli *c, struct logger *lg, int *cuda_spawner,
		    char *err, size_t errlen)
{
	if (strcmp(c->backend, "cuda") != 0)
		return 0;
#ifdef HAVE_CUDA_BACKEND
	return backend_cuda_spawner(c, lg, cuda_spawner, err, errlen);
#else
	(void)lg;
	(void)cuda_spawner;
	snprintf(err, errlen, "the CUDA backend is not built");
	return -1;
#endif
}

/*
 * The CUDA backend's proxy after the drop: its workers' control sockets
 * (sendmsg/recvmsg with SCM_RIGHTS), and for each new worker (one per
 * session) a socketpair (AF_UNIX only) handed over through the spawner
 * forked before, and its shared memory (memfd, ftruncate).
 */
static const struct depriv_rule cuda_rules[] = {
	DEPRIV_ANY("sendmsg", "the workers' sockets and the spawner's"),
	DEPRIV_ANY("recvmsg", "the workers' sockets and the spawner's"),
	DEPRIV_ANY("recvfrom", "the workers' sockets (recv)"),
	DEPRIV_ARG("socketpair", 0, AF_UNIX, "a new worker per session"),
	DEPRIV_ANY("memfd_create", "a new worker's shared memory"),
	DEPRIV_ANY("ftruncate", "a new worker's shared memory"),
};

static const struct depriv_rules depriv_cuda = {
	"cuda backend", cuda_rules, sizeof(cuda_rules) / sizeof(cuda_rules[0])
};

const struct depriv_rules *backend_depriv_rules(const struct cli *c)
{
	return strcmp(c->backend, "cuda") == 0 ? &depriv_cuda : NULL;
}
