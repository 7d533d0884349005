// SPDX-License-Identifier: MIT
/*
 * Module images and what is looked up in them. An image's size is found
 * from its own headers (a fatbin's header + body, an ELF cubin's
 * furthest section or table, PTX text through its NUL), the image is
 * copied into pinned memory and MODULE_LOAD names it there. Function and
 * global names travel the same way; a function's parameter layout comes
 * back from the device and is checked before anyone lays parameters out
 * by it.
 */
#include <elf.h>
#include <string.h>

#include "core_priv.h"

#define IMAGE_MAX (1ull << 30) /* larger images are refused here */

struct fatbin_wrapper {
	uint32_t magic;
	uint32_t version;
	const void *data;
	const void *filename_or_fatbins;
};

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static int fatbin_size(const uint8_t *p, uint64_t *size)
{
	uint16_t hdr;
	uint64_t body;

	memcpy(&hdr, p + 6, sizeof(hdr));
	memcpy(&body, p + 8, sizeof(body));
	if (hdr < 16 || body > IMAGE_MAX)
		return VGPU_S_BAD_IMAGE;
	*size = hdr + body;
	return VGPU_S_OK;
}

/* The end of an ELF64 cubin: its headers, tables and sections. */
static int elf_size(const uint8_t *p, uint64_t *size)
{
	Elf64_Ehdr eh;
	uint64_t end;
	unsigned i;

	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize < sizeof(Elf64_Shdr) || eh.e_shoff > IMAGE_MAX ||
	    eh.e_phoff > IMAGE_MAX)
		return VGPU_S_BAD_IMAGE;
	end = max64(sizeof(eh),
		    eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize);
	if (eh.e_phnum)
		end = max64(end,
			    eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize);
	for (i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, p + eh.e_shoff + (uint64_t)i * eh.e_shentsize,
		       sizeof(sh));
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset > IMAGE_MAX || sh.sh_size > IMAGE_MAX)
			return VGPU_S_BAD_IMAGE;
		end = max64(end, sh.sh_offset + sh.sh_size);
	}
	if (end > IMAGE_MAX)
		return VGPU_S_BAD_IMAGE;
	*size = end;
	return VGPU_S_OK;
}

/* PTX: text through its terminating NUL. */
static int text_size(const uint8_t *p, uint64_t *size)
{
	uint64_t n;

	for (n = 0; n < IMAGE_MAX && p[n]; n++) {
		if (p[n] < 0x20 && p[n] != '\t' && p[n] != '\n' && p[n] != '\r')
			return VGPU_S_BAD_IMAGE;
	}
	if (n == 0 || n == IMAGE_MAX)
		return VGPU_S_BAD_IMAGE;
	*size = n + 1;
	return VGPU_S_OK;
}

int vgpu_image_size(const void **image, uint64_t *size)
{
	const uint8_t *p = *image;
	uint32_t magic;

	if (!p)
		return VGPU_S_BAD_IMAGE;
	memcpy(&magic, p, sizeof(magic));
	if (magic == VGPU_FATBIN_WRAPPER_MAGIC) {
		struct fatbin_wrapper w;

		memcpy(&w, p, sizeof(w));
		if (!w.data)
			return VGPU_S_BAD_IMAGE;
		p = w.data;
		*image = p;
		memcpy(&magic, p, sizeof(magic));
		if (magic != VGPU_FATBIN_IMAGE_MAGIC)
			return VGPU_S_BAD_IMAGE;
	}
	if (magic == VGPU_FATBIN_IMAGE_MAGIC)
		return fatbin_size(p, size);
	if (!memcmp(p, ELFMAG, SELFMAG))
		return elf_size(p, size);
	return text_size(p, size);
}

int vgpu_module_load(struct vgpu_sess *s, const void *image, uint64_t size,
		     uint32_t *module)
{
	struct vgpu_scratch sc;
	struct vgpu_sqe e;
	uint64_t r;
	int rc;

	if (!size || size > IMAGE_MAX)
		return VGPU_S_BAD_IMAGE;
	rc = vgpu_sticky_error(s);
	if (!rc)
		rc = vgpu_scratch_get(s, size, &sc);
	if (rc)
		return rc;
	memcpy(sc.va, image, size);
	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_MODULE_LOAD;
	e.buf.in_off = sc.off;
	e.buf.in_len = size;
	e.buf.region = sc.region;
	e.buf.flags = VGPU_IMAGE_AUTO;
	rc = vgpu_exec(s, &e, NULL, 0, &r);
	vgpu_scratch_put(s, &sc);
	if (!rc && (!r || r > UINT32_MAX))
		rc = VGPU_L_QUEUE;
	if (!rc)
		*module = (uint32_t)r;
	return rc;
}

int vgpu_module_unload(struct vgpu_sess *s, uint32_t module)
{
	struct vgpu_sqe e;

	memset(&e, 0, sizeof(e));
	e.opcode = VGPU_OP_MODULE_UNLOAD;
	e.obj.obj = module;
	return vgpu_exec(s, &e, NULL, 0, NULL);
}

/* A lookup by name: the name in, out_len bytes out (copied to out). */
static int lookup(struct vgpu_sess *s, uint8_t op, uint32_t module,
		  const char *name, void *out, uint64_t out_len,
		  uint64_t *result)
{
	size_t n = name ? strlen(name) : 0;
	uint64_t in_room = (n + 7) & ~(uint64_t)7;
	struct vgpu_scratch sc;
	struct vgpu_sqe e;
	int rc;

	if (!n || n > VGPU_NAME_MAX)
		return VGPU_S_NOT_FOUND;
	rc = vgpu_scratch_get(s, in_room + out_len, &sc);
	if (rc)
		return rc;
	memcpy(sc.va, name, n);
	memset(&e, 0, sizeof(e));
	e.opcode = op;
	e.buf.in_off = sc.off;
	e.buf.in_len = n;
	e.buf.out_off = sc.off + in_room;
	e.buf.out_len = out_len;
	e.buf.region = sc.region;
	e.buf.obj = module;
	rc = vgpu_exec(s, &e, NULL, 0, result);
	if (!rc)
		memcpy(out, (char *)sc.va + in_room, out_len);
	vgpu_scratch_put(s, &sc);
	return rc;
}

/* Every parameter inside param_bytes, param_bytes within the limit. */
static bool layout_ok(const struct vgpu_func_info *fi)
{
	uint32_t i;

	if (fi->nparams > VGPU_PARAMS_MAX || fi->param_bytes > VGPU_PARAM_MAX)
		return false;
	for (i = 0; i < fi->nparams; i++) {
		const struct vgpu_param *p = &fi->param[i];

		if (p->offset > fi->param_bytes ||
		    p->size > fi->param_bytes - p->offset)
			return false;
	}
	return true;
}

int vgpu_func_get(struct vgpu_sess *s, uint32_t module, const char *name,
		  uint32_t *func, struct vgpu_func_info *info)
{
	uint64_t r;
	int rc;

	rc = lookup(s, VGPU_OP_FUNC_GET, module, name, info, sizeof(*info), &r);
	if (rc)
		return rc;
	if (!r || r > UINT32_MAX || !layout_ok(info))
		return VGPU_L_QUEUE;
	*func = (uint32_t)r;
	return VGPU_S_OK;
}

int vgpu_global_get(struct vgpu_sess *s, uint32_t module, const char *name,
		    uint64_t *dptr, uint64_t *size)
{
	struct vgpu_global_info gi;
	uint64_t r;
	int rc;

	rc = lookup(s, VGPU_OP_GLOBAL_GET, module, name, &gi, sizeof(gi), &r);
	if (rc)
		return rc;
	*dptr = gi.dptr;
	*size = gi.size;
	return VGPU_S_OK;
}
