// SPDX-License-Identifier: GPL-2.0-only
/* The CUDA backend's test harness: see cuda_harness.h. */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cuda_harness.h"

#define MAX_REQS 8192

struct vm_priv {
	struct vm v;
	struct be_req *reqs[MAX_REQS];
	unsigned int nreqs;
};

static void completed(void *ctx, struct be_req *r)
{
	(void)ctx;
	if (r->owner) {
		fprintf(stderr, "request completed twice (op 0x%x)\n", r->op);
		abort();
	}
	r->owner = r;
}

static void set_knobs(const char *knobs, bool set)
{
	char buf[512], *save = NULL, *tok;

	if (!knobs)
		return;
	snprintf(buf, sizeof(buf), "%s", knobs);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (set)
			setenv(tok, eq + 1, 1);
		else
			unsetenv(tok);
	}
}

static unsigned int seq;

int vm_spawner(const char *knobs, const char *gpu, char *devstate, char *err,
	       size_t len)
{
	/* VGPU_TEST_WORKER: the real worker, for the checks on a GPU */
	const char *w = getenv("VGPU_TEST_WORKER");
	struct cuda_spawner_opts so = { .worker = w ? w : FAKE_WORKER,
					.gpu = gpu };
	int sp;

	snprintf(devstate, 64, "/tmp/fakecuda-%d-%u.dev", (int)getpid(), seq++);
	unlink(devstate);
	/* the VM's workers share one fake GPU, as processes share a GPU */
	setenv("FAKECUDA_DEVSTATE", devstate, 1);
	set_knobs(knobs, true);
	sp = cuda_spawner_start(&so, NULL, err, len);
	set_knobs(knobs, false);
	unsetenv("FAKECUDA_DEVSTATE");
	return sp;
}

static struct vm *vm_make(int spawner, const struct cuda_be_opts *o)
{
	struct vm_priv *p = calloc(1, sizeof(*p));
	struct cuda_be_opts bo = { 0 };
	struct vm *v = &p->v;
	char vmname[32];

	if (o)
		bo = *o;
	v->spawner = -1;
	bo.spawner_fd = spawner;
	snprintf(vmname, sizeof(vmname), "test-vm-%u", seq);
	if (!bo.vm)
		bo.vm = vmname;
	if (!bo.hello_ms)
		bo.hello_ms = 10000;
	v->b = backend_cuda_create(&bo, v->err, sizeof(v->err));
	if (v->b) {
		v->b->complete = completed;
		v->b->ctx = v;
	}
	return v;
}

struct vm *vm_on(int spawner, const struct cuda_be_opts *o)
{
	return vm_make(spawner, o);
}

struct vm *vm_new(const char *knobs, const struct cuda_be_opts *o)
{
	char trace[64], devstate[64], err[256] = "";
	struct vm *v;
	int sp;

	snprintf(trace, sizeof(trace), "/tmp/fakecuda-%d-%u.trace",
		 (int)getpid(), seq);
	unlink(trace);
	setenv("FAKECUDA_TRACE", trace, 1);
	sp = vm_spawner(knobs, o ? o->gpu : NULL, devstate, err, sizeof(err));
	unsetenv("FAKECUDA_TRACE");
	if (sp < 0) {
		v = calloc(1, sizeof(struct vm_priv));
		v->spawner = -1;
		snprintf(v->err, sizeof(v->err), "%s", err);
	} else {
		v = vm_make(sp, o);
		v->spawner = sp;
	}
	snprintf(v->trace, sizeof(v->trace), "%s", trace);
	snprintf(v->devstate, sizeof(v->devstate), "%s", devstate);
	return v;
}

void vm_free(struct vm *v)
{
	struct vm_priv *p = (struct vm_priv *)v;

	if (v->b)
		v->b->ops->destroy(v->b);
	if (v->spawner >= 0)
		close(v->spawner);
	for (unsigned int i = 0; i < p->nreqs; i++)
		free(p->reqs[i]);
	unlink(v->trace);
	unlink(v->devstate);
	free(p);
}

const char *vm_trace(struct vm *v)
{
	static char buf[1 << 16];
	int fd = open(v->trace, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

void vm_free_reqs(struct vm *v)
{
	struct vm_priv *p = (struct vm_priv *)v;
	unsigned int n = 0;

	for (unsigned int i = 0; i < p->nreqs; i++) {
		if (rq_done(p->reqs[i]))
			free(p->reqs[i]);
		else
			p->reqs[n++] = p->reqs[i];
	}
	p->nreqs = n;
}

struct be_req *rq(struct vm *v, uint32_t session, uint32_t op)
{
	struct vm_priv *p = (struct vm_priv *)v;
	/* room for a launch's parameters behind the request */
	struct be_req *r = calloc(1, sizeof(*r) + VGPU_PARAM_MAX);

	if (p->nreqs == MAX_REQS) {
		fprintf(stderr, "harness: too many requests\n");
		abort();
	}
	p->reqs[p->nreqs++] = r;
	r->op = op;
	r->session = session;
	r->status = 0xffff;
	return r;
}

void rq_submit(struct vm *v, struct be_req *r)
{
	v->b->ops->submit(v->b, r);
}

bool rq_done(const struct be_req *r)
{
	return r->owner != NULL;
}

void vm_poll(struct vm *v, int ms)
{
	struct pollfd pf = { .fd = v->b->ops->poll_fd(v->b), .events = POLLIN };

	poll(&pf, 1, ms);
	v->b->ops->poll(v->b);
}

uint32_t rq_wait(struct vm *v, struct be_req *r)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!rq_done(r)) {
		vm_poll(v, 100);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10) {
			fprintf(stderr, "harness: op 0x%x never completed\n",
				r->op);
			return 0xdead;
		}
	}
	return r->status;
}

uint32_t rq_spin(struct vm *v, struct be_req *r)
{
	/* as the engine polls while busy: no sleeping in poll(2) */
	while (!rq_done(r))
		v->b->ops->poll(v->b);
	return r->status;
}

uint32_t rq_run(struct vm *v, struct be_req *r)
{
	rq_submit(v, r);
	return rq_wait(v, r);
}

struct be_region *region_new(struct vm *v, uint32_t session, uint32_t id,
			     uint64_t len, bool with_fd)
{
	struct be_region *r = calloc(1, sizeof(*r));

	r->id = id;
	r->len = len;
	r->fd = -1;
	if (with_fd) {
		r->fd = memfd_create("test-region", MFD_CLOEXEC);
		if (ftruncate(r->fd, (off_t)len) < 0)
			abort();
		r->va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     r->fd, 0);
	} else {
		r->va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (r->va == MAP_FAILED)
		abort();
	if (v->b->ops->region_add(v->b, session, r) < 0) {
		fprintf(stderr, "harness: region_add failed\n");
		abort();
	}
	return r;
}

void region_free(struct vm *v, uint32_t session, struct be_region *r)
{
	v->b->ops->region_del(v->b, session, r);
	munmap(r->va, r->len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

uint64_t mem_alloc(struct vm *v, uint32_t s, uint64_t bytes)
{
	struct be_req *r = rq(v, s, VGPU_OP_MEM_ALLOC);

	r->mem.bytes = bytes;
	return rq_run(v, r) == VGPU_S_OK ? r->result : 0;
}

uint32_t copy(struct vm *v, uint32_t s, uint32_t op, uint64_t dptr,
	      const struct be_region *reg, uint64_t off, uint64_t len,
	      uint32_t stream)
{
	struct be_req *r = rq(v, s, op);

	r->stream = stream;
	r->copy.dptr = dptr;
	r->copy.region = reg;
	r->copy.offset = off;
	r->copy.len = len;
	return rq_run(v, r);
}

uint32_t module_load(struct vm *v, uint32_t s, const void *img, size_t len,
		     uint32_t *status)
{
	struct be_req *r = rq(v, s, VGPU_OP_MODULE_LOAD);

	r->module.image = img;
	r->module.len = len;
	*status = rq_run(v, r);
	return *status == VGPU_S_OK ? (uint32_t)r->result : 0;
}

uint32_t func_get(struct vm *v, uint32_t s, uint32_t mod, const char *name,
		  struct vgpu_func_info *fi, uint32_t *status)
{
	struct be_req *r = rq(v, s, VGPU_OP_FUNC_GET);

	r->sym.module = mod;
	r->sym.name = name;
	r->sym.info = fi;
	*status = rq_run(v, r);
	return *status == VGPU_S_OK ? (uint32_t)r->result : 0;
}

struct be_req *launch(struct vm *v, uint32_t s, uint32_t func, uint32_t stream,
		      uint32_t grid, uint32_t block, const void *params,
		      uint32_t plen)
{
	struct be_req *r = rq(v, s, VGPU_OP_LAUNCH);
	void *copy_ = r + 1;

	if (plen)
		memcpy(copy_, params, plen);
	r->stream = stream;
	r->launch.func = func;
	r->launch.grid[0] = grid;
	r->launch.grid[1] = r->launch.grid[2] = 1;
	r->launch.block[0] = block;
	r->launch.block[1] = r->launch.block[2] = 1;
	r->launch.params = copy_;
	r->launch.param_len = plen;
	rq_submit(v, r);
	return r;
}

static size_t names_len(const char *names)
{
	const char *p = names;

	while (*p)
		p += strlen(p) + 1;
	return (size_t)(p - names) + 1;
}

void *img_cubin(const char *names, size_t *len)
{
	size_t n = names_len(names);
	uint8_t *p = calloc(1, 64 + n);
	uint64_t shoff = 64 + n;

	memcpy(p, "\177ELF", 4);
	p[4] = 2;
	memcpy(p + 0x28, &shoff, 8); /* no sections: ends here */
	memcpy(p + 64, names, n);
	*len = 64 + n;
	return p;
}

void *img_fatbin(const char *names, int arch, size_t *len)
{
	size_t clen;
	uint8_t *cubin = img_cubin(names, &clen);
	uint64_t body = 64 + clen, psize = clen;
	uint32_t magic = 0xba55ed50u, hsize = 64, a = (uint32_t)arch;
	uint16_t ver = 1, hs = 16, kind = 2;
	uint8_t *p = calloc(1, 16 + body);

	memcpy(p, &magic, 4);
	memcpy(p + 4, &ver, 2);
	memcpy(p + 6, &hs, 2);
	memcpy(p + 8, &body, 8);
	memcpy(p + 16, &kind, 2);
	memcpy(p + 20, &hsize, 4);
	memcpy(p + 24, &psize, 8);
	memcpy(p + 16 + 28, &a, 4);
	memcpy(p + 16 + 64, cubin, clen);
	free(cubin);
	*len = 16 + body;
	return p;
}

void *img_ptx(const char *name, size_t *len)
{
	char *p = malloc(256);

	snprintf(
		p, 256,
		".version 9.0\n.target sm_90\n.visible .entry %s(\n)\n{\n\tret;\n}\n",
		name);
	*len = strlen(p);
	return p;
}
