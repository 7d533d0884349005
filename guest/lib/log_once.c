// SPDX-License-Identifier: MIT
/*
 * The names already logged by one library (log_once.h).
 */
#include <stdlib.h>
#include <string.h>

#include "log_once.h"

struct vg_once_name {
	const char *name;
	struct vg_once_name *next;
};

bool vg_first_time(struct vg_once *set, const char *name)
{
	struct vg_once_name *l;

	pthread_mutex_lock(&set->lock);
	for (l = set->names; l; l = l->next) {
		if (!strcmp(l->name, name)) {
			pthread_mutex_unlock(&set->lock);
			return false;
		}
	}
	l = malloc(sizeof(*l));
	if (l) {
		l->name = name;
		l->next = set->names;
		set->names = l;
	}
	pthread_mutex_unlock(&set->lock);
	return true;
}
