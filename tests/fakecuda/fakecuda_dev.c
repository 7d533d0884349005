// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake CUDA driver (fakecuda.h): the device's memory, as the
 * processes that use the GPU share it. With FAKECUDA_DEVSTATE=path every
 * process of one fake GPU keeps its usage in a slot of that file, and
 * what a process that is gone held no longer counts (the driver frees a
 * process's contexts and memory when it exits); without it, a process
 * sees only its own. Callers hold fk_g.lock (the slot is the process's
 * own; other processes' slots are only read).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakecuda_int.h"

#define FK_PROCS 256

struct fk_proc {
	int32_t pid;
	uint32_t pad;
	uint64_t used;
};

static struct fk_proc *procs; /* the shared file, or NULL */
static struct fk_proc *mine;

/* Gone, or a zombie waiting to be reaped: its memory is free. */
static bool gone(int32_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool z = false;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		z = p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return z;
}

void fk_dev_init(const char *path)
{
	int fd;
	int32_t me = (int32_t)getpid();

	if (!path || !*path)
		return;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FK_PROCS * sizeof(struct fk_proc)) < 0)
		abort();
	procs = mmap(NULL, FK_PROCS * sizeof(struct fk_proc),
		     PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (procs == MAP_FAILED)
		abort();
	for (int i = 0; i < FK_PROCS && !mine; i++) {
		int32_t p = __atomic_load_n(&procs[i].pid, __ATOMIC_ACQUIRE);

		if ((p == 0 || (p != me && gone(p))) &&
		    __atomic_compare_exchange_n(&procs[i].pid, &p, me, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			mine = &procs[i];
			__atomic_store_n(&mine->used, 0, __ATOMIC_RELEASE);
		}
	}
	if (!mine)
		abort();
}

uint64_t fk_mem_used(void)
{
	uint64_t sum = 0;

	if (!procs)
		return fk_g.used;
	for (int i = 0; i < FK_PROCS; i++) {
		int32_t p = __atomic_load_n(&procs[i].pid, __ATOMIC_ACQUIRE);

		if (p && (&procs[i] == mine || !gone(p)))
			sum += __atomic_load_n(&procs[i].used,
					       __ATOMIC_ACQUIRE);
	}
	return sum;
}

bool fk_mem_take(uint64_t n)
{
	if (n > fk_g.mem - fk_mem_used())
		return false;
	fk_g.used += n;
	if (mine)
		__atomic_fetch_add(&mine->used, n, __ATOMIC_SEQ_CST);
	return true;
}

void fk_mem_give(uint64_t n)
{
	fk_g.used -= n;
	if (mine)
		__atomic_fetch_sub(&mine->used, n, __ATOMIC_SEQ_CST);
}
