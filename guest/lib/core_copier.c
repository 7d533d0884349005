// SPDX-License-Identifier: MIT
/*
 * Helper threads for large staged copies (core_copy.c): a session's copy
 * from or to ordinary memory can run its CPU copies on several threads,
 * each with staging chunks of its own, so that a copy is not held to one
 * core's memcpy speed (about 10 GB/s). Made on the first copy that wants
 * them, as many as VGPU_COPY_THREADS says (default: half the online CPUs,
 * at most 4, none on a machine of 2 or fewer); they wait on a condition
 * variable, after polling a little so that back-to-back chunks of work
 * find them awake.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core_priv.h"

#define COPIERS_MAX 7u /* helpers; with the caller, 8 threads */
#define COPIER_SPIN_NS 100000ull

struct vgpu_copiers {
	pthread_t th[COPIERS_MAX];
	uint32_t n; /* helpers started */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t gen; /* a new job */
	uint32_t done; /* helpers through with it */
	bool stop;
	void (*fn)(void *arg, uint32_t part);
	void *arg;
};

struct helper_arg {
	struct vgpu_copiers *c;
	uint32_t part;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Until a job newer than @seen (or stop); the lock held on return. */
static void next_job(struct vgpu_copiers *c, uint64_t seen)
{
	uint64_t end = now_ns() + COPIER_SPIN_NS;

	while (__atomic_load_n(&c->gen, __ATOMIC_ACQUIRE) == seen &&
	       !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE) && now_ns() < end)
		cpu_relax();
	pthread_mutex_lock(&c->lock);
	while (c->gen == seen && !c->stop)
		pthread_cond_wait(&c->cond, &c->lock);
}

static void *helper(void *p)
{
	struct helper_arg a = *(struct helper_arg *)p;
	struct vgpu_copiers *c = a.c;
	uint64_t seen = 0;

	free(p);
	for (;;) {
		next_job(c, seen);
		if (c->stop)
			break;
		seen = c->gen;
		pthread_mutex_unlock(&c->lock);
		c->fn(c->arg, a.part);
		pthread_mutex_lock(&c->lock);
		c->done++;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

uint32_t vgpu_copiers_wanted(void)
{
	const char *v = getenv("VGPU_COPY_THREADS");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t n;

	if (v && *v)
		n = (uint32_t)strtoul(v, NULL, 10);
	else
		n = cpus > 2 ? (uint32_t)(cpus / 2) : 1;
	if (n > 4 && !(v && *v))
		n = 4;
	n = n ? n - 1 : 0; /* the caller is one of them */
	return n > COPIERS_MAX ? COPIERS_MAX : n;
}

uint32_t vgpu_copiers_start(struct vgpu_sess *s)
{
	struct vgpu_copiers *c = s->copiers;
	uint32_t want;

	if (c || s->copiers_tried)
		return c ? c->n + 1 : 1;
	s->copiers_tried = true;
	want = s->copiers_want;
	if (!want)
		return 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	for (uint32_t i = 0; i < want; i++) {
		struct helper_arg *a = malloc(sizeof(*a));

		if (!a)
			break;
		a->c = c;
		a->part = i + 1;
		if (pthread_create(&c->th[i], NULL, helper, a)) {
			free(a);
			break;
		}
		c->n++;
	}
	s->copiers = c;
	return c->n + 1;
}

void vgpu_copiers_run(struct vgpu_sess *s, void (*fn)(void *, uint32_t),
		      void *arg)
{
	struct vgpu_copiers *c = s->copiers;

	if (!c || !c->n) {
		fn(arg, 0);
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->fn = fn;
	c->arg = arg;
	c->done = 0;
	__atomic_store_n(&c->gen, c->gen + 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	fn(arg, 0);
	pthread_mutex_lock(&c->lock);
	while (c->done < c->n)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void vgpu_copiers_stop(struct vgpu_sess *s)
{
	struct vgpu_copiers *c = s->copiers;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	for (uint32_t i = 0; i < c->n; i++)
		pthread_join(c->th[i], NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	s->copiers = NULL;
}
