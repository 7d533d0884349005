/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The compute backend seam: what the command engine asks of "the GPU".
 *
 * The engine has already validated everything before a request reaches a
 * backend: the session is live, every handle is one of the session's and
 * translated to the backend's own id, every device range lies inside one
 * of the session's live allocations, every host range inside a region,
 * launch parameters match the function's layout, and every buffer the
 * guest supplied (module images, names, parameters) has been copied out
 * of guest memory. Backends see backend ids, checked ranges and private
 * copies only.
 *
 * Requests complete asynchronously: submit() takes a request and returns
 * at once; the backend later hands it back through the engine's complete
 * callback, always from inside poll() (on the engine's thread), never
 * from submit() itself and never from a thread of its own. A backend that
 * finishes work on other threads queues it and makes poll_fd readable.
 * Requests that carry a stream run in submission order on that stream;
 * streams are independent; a request without a stream may run at once.
 *
 * The CPU backend (backend_cpu.c) is the reference and CI implementation;
 * the CUDA backend (backend_cuda.c, a proxy to a worker process) runs the
 * same requests on a GPU.
 */
#ifndef VGPU_BACKEND_H
#define VGPU_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vgpu/vgpu_ring_abi.h>

struct backend;

/*
 * Host memory a session registered (REGION_ADD), as the emulator maps it:
 * one contiguous range. fd >= 0 when the memory is also a shareable file
 * (loopback: the client's memfd) at fd_off, so that another process (the
 * CUDA worker) can map it itself and DMA without a copy; -1 otherwise
 * (Xen: foreign mappings, which no driver can register).
 */
struct be_region {
	uint32_t id; /* the backend's id, unique per backend */
	uint8_t *va;
	uint64_t len;
	int fd;
	uint64_t fd_off;
};

/* One command for a backend. The engine owns the storage; the backend
 * owns the request from submit() until it calls complete(). */
struct be_req {
	uint32_t op; /* VGPU_OP_* */
	uint32_t session; /* backend session id */
	uint32_t stream; /* backend stream id; 0: the session's default */
	union {
		struct { /* MEM_ALLOC (-> result dptr), MEM_FREE */
			uint64_t bytes;
			uint64_t dptr;
		} mem;
		struct { /* COPY_H2D, COPY_D2H (checked ranges) */
			uint64_t dptr;
			const struct be_region *region;
			uint64_t offset;
			uint64_t len;
		} copy;
		struct { /* COPY_D2D */
			uint64_t dst, src, len;
		} d2d;
		struct { /* MEMSET */
			uint64_t dptr, count;
			uint32_t value, elem;
		} memset;
		struct { /* MODULE_LOAD (-> result module id), UNLOAD */
			const void *image; /* engine's private copy */
			size_t len;
			uint32_t module;
		} module;
		struct { /* FUNC_GET (-> result func id, *info), GLOBAL_GET */
			uint32_t module;
			const char *name; /* NUL-terminated copy */
			struct vgpu_func_info *info; /* FUNC_GET: filled */
			struct vgpu_global_info *global; /* GLOBAL_GET: filled */
		} sym;
		struct { /* LAUNCH */
			uint32_t func;
			uint32_t grid[3], block[3];
			uint32_t shmem;
			const void *params; /* param_len bytes, engine's copy */
			uint32_t param_len;
		} launch;
		struct { /* STREAM_*, EVENT_* (ids are the backend's) */
			uint32_t obj, obj2, flags;
		} obj;
		struct { /* COMPUTE (ABI 1.1) */
			uint32_t kernel;
			uint64_t dst, src, len;
		} compute;
		struct vgpu_device_info *devinfo; /* DEVICE_INFO: filled */
	};
	/* set by the backend before complete() */
	uint32_t status; /* VGPU_S_* */
	uint64_t result;
	/* the engine's bookkeeping: not touched by backends */
	void *owner;
};

struct backend_ops {
	const char *name;
	/* Sessions: 0 or a negative errno. A backend may refuse a session
	 * (-ENOSPC: no device memory for another context). */
	int (*session_open)(struct backend *b, uint32_t session);
	/* Free everything the session owns; its requests in flight have
	 * completed before this is called. */
	void (*session_close)(struct backend *b, uint32_t session);
	/* Regions: make @r usable by the session's copies (CUDA: register
	 * it, or plan staging). 0 or a negative errno. */
	int (*region_add)(struct backend *b, uint32_t session,
			  const struct be_region *r);
	void (*region_del)(struct backend *b, uint32_t session,
			   const struct be_region *r);
	/* Every other command: see the top of this file. */
	void (*submit)(struct backend *b, struct be_req *r);
	/* Readable while completions are waiting for poll(); -1 if every
	 * completion is already delivered by the next poll() call. */
	int (*poll_fd)(struct backend *b);
	/* Deliver waiting completions through complete(). */
	void (*poll)(struct backend *b);
	void (*destroy)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	/* set by the engine before the first submit() */
	void (*complete)(void *ctx, struct be_req *r);
	void *ctx;
	/* device memory a session costs before it allocates anything (a
	 * CUDA context's own share); the engine charges it to the quota */
	uint64_t session_overhead;
};

/* The CPU reference backend. NULL on ENOMEM. @threads: executors for
 * streams, created now (before the process drops privileges). */
struct backend *backend_cpu_create(unsigned int threads);

#endif
