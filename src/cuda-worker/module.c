// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-cuda-worker: modules, functions and globals. A module image comes
 * in chunks; a cubin, or a fatbin with machine code for this GPU, loads
 * at once (cuModuleLoadData, ~20 us); anything the driver would have to
 * compile (PTX, a fatbin without our SASS) goes to the JIT thread, so
 * that a 100 ms compile never blocks the session's other requests. The
 * driver caches compiled PTX under CUDA_CACHE_PATH, one directory per VM.
 * Function layouts come from cuFuncGetParamInfo: the count is the first
 * index that answers CUDA_ERROR_INVALID_VALUE.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define FATBIN_MAGIC 0xba55ed50u
#define FATBIN_KIND_ELF 2

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * A fatbin image: magic, u16 version, u16 header size, u64 body size;
 * then entries of u16 kind (1 PTX, 2 ELF), u16 version, u32 header size,
 * u64 payload size, ..., u32 arch at offset 28 (90 for sm_90).
 */
bool wk_image_has_sass(const uint8_t *img, uint64_t len, int sm)
{
	uint64_t off, end;

	if (len >= 4 && memcmp(img, "\177ELF", 4) == 0)
		return true;
	if (len < 16 || rd32(img) != FATBIN_MAGIC)
		return false;
	off = (uint16_t)(img[6] | img[7] << 8);
	end = rd64(img + 8);
	if (off < 16 || off > len || end > len - off)
		return false;
	end += off;
	while (off + 32 <= end) {
		uint32_t hsize = rd32(img + off + 4);
		uint64_t psize = rd64(img + off + 8);
		uint16_t kind = (uint16_t)(img[off] | img[off + 1] << 8);

		if (kind == FATBIN_KIND_ELF && (int)rd32(img + off + 28) == sm)
			return true;
		if (hsize < 32 || hsize > end - off ||
		    psize > end - off - hsize)
			return false;
		off += hsize + psize;
	}
	return false;
}

static void loaded(struct wk_session *s, uint32_t token, uint32_t gen,
		   CUresult rc, CUmodule m, uint64_t bytes)
{
	struct wk_module *mod;
	uint32_t id;

	if (rc != CUDA_SUCCESS) {
		pthread_mutex_lock(&s->w->lock);
		s->w->module_bytes -= bytes;
		pthread_mutex_unlock(&s->w->lock);
		wk_session_error(s, rc, token, gen);
		return;
	}
	mod = malloc(sizeof(*mod));
	id = mod ? wk_table_add(&s->modules, mod) : 0;
	if (!id) {
		free(mod);
		cuModuleUnload(m);
		pthread_mutex_lock(&s->w->lock);
		s->w->module_bytes -= bytes;
		pthread_mutex_unlock(&s->w->lock);
		wk_post(s, token, gen, VGPU_S_NO_MEMORY, 0, NULL, 0);
		return;
	}
	mod->m = m;
	mod->bytes = bytes;
	wk_post(s, token, gen, VGPU_S_OK, id, NULL, 0);
}

static void jit_queue(struct wk_session *s)
{
	struct worker *w = s->w;
	struct wk_jit_job *j = calloc(1, sizeof(*j));

	if (!j) {
		loaded(s, s->img_token, s->img_gen, CUDA_ERROR_OUT_OF_MEMORY,
		       NULL, s->img_total);
		free(s->img);
		return;
	}
	j->s = s;
	j->token = s->img_token;
	j->gen = s->img_gen;
	j->img = s->img;
	j->len = s->img_total;
	pthread_mutex_lock(&s->jit_lock);
	s->jit_busy++;
	pthread_mutex_unlock(&s->jit_lock);
	pthread_mutex_lock(&w->jit_lock);
	*w->jit_tail = j;
	w->jit_tail = &j->next;
	pthread_cond_signal(&w->jit_cond);
	pthread_mutex_unlock(&w->jit_lock);
}

/* The whole image is here: load it now, or hand it to the JIT thread. */
static void image_done(struct wk_session *s)
{
	CUmodule m = NULL;
	CUresult rc;

	s->img[s->img_total] = 0; /* PTX is text */
	if (wk_image_has_sass(s->img, s->img_total, s->w->sm)) {
		rc = cuModuleLoadData(&m, s->img);
		free(s->img);
		s->img = NULL;
		loaded(s, s->img_token, s->img_gen, rc, m, s->img_total);
		return;
	}
	jit_queue(s);
	s->img = NULL;
}

/* A new image; false if it is refused (its status goes out once its
 * last chunk is in: the proxy still owns the request until then). */
static bool image_start(struct wk_session *s, const struct cw_req *q)
{
	struct worker *w = s->w;
	bool over;

	free(s->img);
	s->img = NULL;
	s->img_token = q->h.token;
	s->img_gen = q->h.gen;
	s->img_total = q->a[0];
	s->img_got = 0;
	s->img_discard = true;
	s->img_fail = s->state == CW_SESS_LIVE ? VGPU_S_BAD_IMAGE :
						 s->lost_status;
	if (q->a[0] == 0 || s->state != CW_SESS_LIVE)
		return false;
	pthread_mutex_lock(&w->lock);
	over = q->a[0] > w->cfg.module_limit - w->module_bytes;
	if (!over)
		w->module_bytes += q->a[0];
	pthread_mutex_unlock(&w->lock);
	s->img_fail = VGPU_S_LIMIT;
	if (over)
		return false;
	s->img = malloc(q->a[0] + 1);
	if (!s->img) {
		pthread_mutex_lock(&w->lock);
		w->module_bytes -= q->a[0];
		pthread_mutex_unlock(&w->lock);
		s->img_fail = VGPU_S_NO_MEMORY;
		return false;
	}
	s->img_discard = false;
	return true;
}

void wk_module_data(struct wk_session *s, const struct cw_req *q, uint32_t len)
{
	uint64_t n = q->u[0], off = q->a[1];

	if (q->op == VGPU_OP_MODULE_LOAD)
		image_start(s, q);
	if (q->h.token != s->img_token || q->h.gen != s->img_gen)
		return;
	if (n > len - sizeof(*q) || off != s->img_got ||
	    n > s->img_total - off) {
		wk_log("module image out of order");
		if (!s->img_discard)
			loaded(s, q->h.token, q->h.gen,
			       CUDA_ERROR_INVALID_IMAGE, NULL, s->img_total);
		free(s->img);
		s->img = NULL;
		s->img_token = 0;
		return;
	}
	if (!s->img_discard)
		memcpy(s->img + off, q + 1, n);
	s->img_got += n;
	if (s->img_got < s->img_total)
		return;
	if (s->img_discard)
		wk_post(s, q->h.token, q->h.gen, s->img_fail, 0, NULL, 0);
	else
		image_done(s);
	s->img_token = 0;
}

uint32_t wk_module_unload(struct wk_session *s, uint32_t id)
{
	struct wk_module *m = wk_table_get(&s->modules, id);
	CUresult rc;

	if (!m)
		return VGPU_S_BAD_HANDLE;
	rc = cuModuleUnload(m->m);
	for (uint32_t i = 0; i < s->funcs.n; i++) {
		struct wk_func *f = s->funcs.v[i];

		if (f && f->module == id)
			free(wk_table_del(&s->funcs, i + 1));
	}
	pthread_mutex_lock(&s->w->lock);
	s->w->module_bytes -= m->bytes;
	pthread_mutex_unlock(&s->w->lock);
	free(wk_table_del(&s->modules, id));
	return rc == CUDA_SUCCESS ? VGPU_S_OK : wk_status(rc);
}

/* The NUL-terminated name in a request's payload, or NULL. */
static const char *req_name(const struct cw_req *q, uint32_t len)
{
	const char *name = (const char *)(q + 1);
	uint32_t n = q->u[1];

	if (n == 0 || n > VGPU_NAME_MAX || n >= len - sizeof(*q) || name[n])
		return NULL;
	return name;
}

static uint32_t layout(CUfunction f, struct vgpu_func_info *fi)
{
	for (uint32_t i = 0; i <= VGPU_PARAMS_MAX; i++) {
		size_t off = 0, size = 0;
		CUresult rc = cuFuncGetParamInfo(f, i, &off, &size);

		if (rc == CUDA_ERROR_INVALID_VALUE) {
			fi->nparams = i;
			return VGPU_S_OK;
		}
		if (rc != CUDA_SUCCESS)
			return wk_status(rc) == VGPU_S_INVALID ?
				       VGPU_S_NOT_SUPPORTED :
				       wk_status(rc);
		if (i == VGPU_PARAMS_MAX || off > VGPU_PARAM_MAX ||
		    size > VGPU_PARAM_MAX - off)
			return VGPU_S_LIMIT;
		fi->param[i].offset = (uint32_t)off;
		fi->param[i].size = (uint32_t)size;
		if (off + size > fi->param_bytes)
			fi->param_bytes = (uint32_t)(off + size);
	}
	return VGPU_S_LIMIT;
}

void wk_func_get(struct wk_session *s, const struct cw_req *q, uint32_t len)
{
	struct wk_module *m = wk_table_get(&s->modules, q->u[0]);
	const char *name = req_name(q, len);
	struct vgpu_func_info fi;
	struct wk_func *f;
	CUfunction fn;
	CUresult rc;
	uint32_t st, id;

	if (!m || !name) {
		wk_post(s, q->h.token, q->h.gen,
			m ? VGPU_S_INVALID : VGPU_S_BAD_HANDLE, 0, NULL, 0);
		return;
	}
	rc = cuModuleGetFunction(&fn, m->m, name);
	if (rc != CUDA_SUCCESS) {
		wk_session_error(s, rc, q->h.token, q->h.gen);
		return;
	}
	memset(&fi, 0, sizeof(fi));
	st = layout(fn, &fi);
	for (int a = 0; a < VGPU_FATTRS_MAX && a < CU_FUNC_ATTRIBUTE_MAX; a++) {
		int v = 0;

		if (cuFuncGetAttribute(&v, (CUfunction_attribute)a, fn) ==
		    CUDA_SUCCESS)
			fi.fattr[a] = v;
	}
	f = st == VGPU_S_OK ? malloc(sizeof(*f)) : NULL;
	id = f ? wk_table_add(&s->funcs, f) : 0;
	if (!id) {
		free(f);
		wk_post(s, q->h.token, q->h.gen,
			st == VGPU_S_OK ? VGPU_S_NO_MEMORY : st, 0, NULL, 0);
		return;
	}
	f->f = fn;
	f->module = q->u[0];
	f->param_bytes = fi.param_bytes;
	wk_post(s, q->h.token, q->h.gen, VGPU_S_OK, id, &fi,
		CW_FUNC_INFO_BYTES(fi.nparams));
}

void wk_global_get(struct wk_session *s, const struct cw_req *q, uint32_t len)
{
	struct wk_module *m = wk_table_get(&s->modules, q->u[0]);
	const char *name = req_name(q, len);
	struct vgpu_global_info gi;
	CUdeviceptr d = 0;
	size_t size = 0;
	CUresult rc;

	if (!m || !name) {
		wk_post(s, q->h.token, q->h.gen,
			m ? VGPU_S_INVALID : VGPU_S_BAD_HANDLE, 0, NULL, 0);
		return;
	}
	rc = cuModuleGetGlobal(&d, &size, m->m, name);
	if (rc != CUDA_SUCCESS) {
		wk_session_error(s, rc, q->h.token, q->h.gen);
		return;
	}
	gi.dptr = d;
	gi.size = size;
	wk_post(s, q->h.token, q->h.gen, VGPU_S_OK, d, &gi, sizeof(gi));
}

/* ---- the JIT thread ---- */

static CUresult jit_one(struct wk_jit_job *j, CUmodule *m)
{
	char log[2048] = "";
	CUjit_option opt[] = { CU_JIT_ERROR_LOG_BUFFER,
			       CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
	void *val[] = { log, (void *)(uintptr_t)sizeof(log) };
	CUcontext old;
	CUresult rc = cuCtxPushCurrent(j->s->ctx);

	if (rc != CUDA_SUCCESS)
		return rc;
	rc = cuModuleLoadDataEx(m, j->img, 2, opt, val);
	cuCtxPopCurrent(&old);
	if (rc != CUDA_SUCCESS && log[0]) {
		log[strcspn(log, "\n")] = '\0';
		wk_log("module not loaded: %s: %s", wk_errname(rc), log);
	}
	return rc;
}

static void *jit_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->jit_lock);
	for (;;) {
		struct wk_jit_job *j = w->jit_head;
		struct wk_jit_done *d;
		struct wk_session *s;
		bool cancel;

		if (!j) {
			pthread_cond_wait(&w->jit_cond, &w->jit_lock);
			continue;
		}
		w->jit_head = j->next;
		if (!w->jit_head)
			w->jit_tail = &w->jit_head;
		pthread_mutex_unlock(&w->jit_lock);
		s = j->s;
		pthread_mutex_lock(&s->jit_lock);
		cancel = s->jit_cancel;
		pthread_mutex_unlock(&s->jit_lock);
		d = calloc(1, sizeof(*d));
		if (d) {
			d->token = j->token;
			d->gen = j->gen;
			d->bytes = j->len;
			d->rc = cancel ? CUDA_ERROR_CONTEXT_IS_DESTROYED :
					 jit_one(j, &d->mod);
		}
		free(j->img);
		pthread_mutex_lock(&s->jit_lock);
		if (d) {
			d->next = s->jit_done;
			__atomic_store_n(&s->jit_done, d, __ATOMIC_RELEASE);
		}
		/* wake before letting go: once busy drops to 0 the session
		 * may end and free itself */
		wk_wake(s);
		s->jit_busy--;
		pthread_cond_broadcast(&s->jit_cond);
		pthread_mutex_unlock(&s->jit_lock);
		free(j);
		pthread_mutex_lock(&w->jit_lock);
	}
	return NULL; /* not reached: it lives as long as the process */
}

bool wk_jit_reap(struct wk_session *s)
{
	struct wk_jit_done *d;

	if (!__atomic_load_n(&s->jit_done, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&s->jit_lock);
	d = s->jit_done;
	s->jit_done = NULL;
	pthread_mutex_unlock(&s->jit_lock);
	while (d) {
		struct wk_jit_done *nx = d->next;

		if (s->state == CW_SESS_LIVE) {
			loaded(s, d->token, d->gen, d->rc, d->mod, d->bytes);
		} else {
			pthread_mutex_lock(&s->w->lock);
			s->w->module_bytes -= d->bytes;
			pthread_mutex_unlock(&s->w->lock);
			wk_post(s, d->token, d->gen, s->lost_status, 0, NULL,
				0);
		}
		free(d);
		d = nx;
	}
	return true;
}

void wk_jit_drain(struct wk_session *s)
{
	pthread_mutex_lock(&s->jit_lock);
	s->jit_cancel = true;
	while (s->jit_busy)
		pthread_cond_wait(&s->jit_cond, &s->jit_lock);
	s->jit_cancel = false;
	pthread_mutex_unlock(&s->jit_lock);
}

int wk_jit_start(struct worker *w)
{
	int rc;

	w->jit_tail = &w->jit_head;
	rc = pthread_create(&w->jit_thread, NULL, jit_main, w);
	return -rc;
}
