/* SPDX-License-Identifier: MIT */
/*
 * The names already logged by one library (its one-time log lines: a
 * stub called, a flag not offered). Built into both faces, exported by
 * neither.
 */
#ifndef VGPU_GUEST_LOG_ONCE_H
#define VGPU_GUEST_LOG_ONCE_H

#include <pthread.h>
#include <stdbool.h>

struct vg_once_name;

struct vg_once {
	pthread_mutex_t lock;
	struct vg_once_name *names; /* never freed */
};

#define VG_ONCE_INIT                              \
	{                                         \
		.lock = PTHREAD_MUTEX_INITIALIZER \
	}

/* True the first time @name (a string that lives as long as the process)
 * is asked in @set, false after; true again next time when there was no
 * memory to keep it. */
bool vg_first_time(struct vg_once *set, const char *name);

#endif
