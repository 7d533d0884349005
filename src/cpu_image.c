// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module images for the CPU backend: which kernels and globals an image
 * holds. Three forms (cuModuleLoadData's): a fatbin (magic 0xBA55ED50,
 * see ../shared/design/cuda-stack.md; nvcc 13 compresses PTX entries,
 * and cubins with -Xfatbin -compress-all, with zstd: decompressed with
 * libzstd, LZ4 with liblz4), a cubin (64-bit ELF: entry functions, the
 * objects in .nv.global*, and each kernel's EIATTR_KPARAM_INFO parameter
 * layout from .nv.info.<name>), or PTX text (.entry and .global
 * directives). The image is the guest's: every offset and size is
 * checked before use. This is a reader of the two ELF tables we need,
 * not a general ELF library, on purpose: less to audit against hostile
 * input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZ4
#include <lz4.h>
#endif

#include "cpu_priv.h"

#define FATBIN_MAGIC 0xBA55ED50u
#define FB_KIND_PTX 1
#define FB_KIND_ELF 2
#define FB_LZ4 0x2000u
#define FB_ZSTD 0x8000u
#define MAX_UNPACKED (64u << 20)

#define EIFMT_HVAL 3
#define EIFMT_SVAL 4
#define EIATTR_KPARAM_INFO 0x17
#define STO_CUDA_ENTRY 0x10

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* [off, off + n) inside [0, len)? */
static bool in(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static int func_index(struct cpu_module *m, const char *name, size_t n)
{
	uint32_t i;

	if (n == 0 || n >= sizeof(m->names[0]))
		return -1;
	for (i = 0; i < m->nfuncs; i++)
		if (strlen(m->names[i]) == n && !memcmp(m->names[i], name, n))
			return (int)i;
	if (m->nfuncs == CPU_MAX_FUNCS)
		return -1;
	memcpy(m->names[m->nfuncs], name, n);
	m->names[m->nfuncs][n] = '\0';
	m->nkp[m->nfuncs] = -1;
	return (int)m->nfuncs++;
}

static void add_global(struct cpu_module *m, const char *name, size_t n,
		       uint64_t size)
{
	uint32_t i;

	if (n == 0 || n >= sizeof(m->g[0].name) || !size || size > (1u << 30))
		return;
	for (i = 0; i < m->nglobals; i++)
		if (strlen(m->g[i].name) == n && !memcmp(m->g[i].name, name, n))
			return;
	if (m->nglobals == CPU_MAX_GLOBALS)
		return;
	memcpy(m->g[m->nglobals].name, name, n);
	m->g[m->nglobals].name[n] = '\0';
	m->g[m->nglobals++].size = size;
}

/* A NUL-terminated string at @off of a string table [base, base + n). */
static const char *str_at(const uint8_t *img, size_t len, uint64_t base,
			  uint64_t n, uint64_t off, size_t *slen)
{
	const uint8_t *e;

	if (!in(len, base, n) || off >= n)
		return NULL;
	e = memchr(img + base + off, '\0', n - off);
	if (!e)
		return NULL;
	*slen = (size_t)(e - (img + base + off));
	return (const char *)img + base + off;
}

struct elf {
	const uint8_t *p;
	size_t len;
	uint64_t shoff;
	uint32_t shnum;
	uint64_t shstr_off, shstr_len;
};

static const uint8_t *shdr(const struct elf *e, uint32_t i)
{
	return e->p + e->shoff + (uint64_t)i * 64;
}

/* Parameter records of one .nv.info.<name> section into @m's func @f. */
static void kparams(const struct elf *e, const uint8_t *sh,
		    struct cpu_module *m, int f)
{
	uint64_t off = rd(sh + 24, 8), n = rd(sh + 32, 8), p;
	struct vgpu_param *kp = m->kp[f];

	if (!in(e->len, off, n))
		return;
	m->nkp[f] = 0;
	for (p = 0; p + 4 <= n;) {
		const uint8_t *r = e->p + off + p;
		uint32_t fmt = r[0], attr = r[1], sz = (uint32_t)rd(r + 2, 2);

		if (fmt != EIFMT_SVAL) {
			p += fmt == EIFMT_HVAL ? 4 : 2;
			continue;
		}
		if (sz > n - p - 4)
			break;
		if (attr == EIATTR_KPARAM_INFO && sz >= 12) {
			uint32_t ord = (uint32_t)rd(r + 8, 2);

			if (ord < 8) {
				kp[ord].offset = (uint32_t)rd(r + 10, 2);
				kp[ord].size = (uint32_t)(rd(r + 12, 4) >> 18) &
					       0x3fff;
				if (ord + 1 > (uint32_t)m->nkp[f])
					m->nkp[f] = (int)ord + 1;
			}
		}
		p += 4 + sz;
	}
}

static void elf_infos(const struct elf *e, struct cpu_module *m)
{
	uint32_t i;

	for (i = 0; i < e->shnum; i++) {
		const uint8_t *sh = shdr(e, i);
		size_t n;
		const char *name = str_at(e->p, e->len, e->shstr_off,
					  e->shstr_len, rd(sh, 4), &n);
		int f;

		if (!name || n <= 9 || memcmp(name, ".nv.info.", 9))
			continue;
		f = func_index(m, name + 9, n - 9);
		if (f >= 0)
			kparams(e, sh, m, f);
	}
}

static void elf_symbols(const struct elf *e, const uint8_t *symsh,
			struct cpu_module *m)
{
	uint64_t off = rd(symsh + 24, 8), n = rd(symsh + 32, 8), i;
	uint32_t link = (uint32_t)rd(symsh + 40, 4);
	const uint8_t *strsh;

	if (link >= e->shnum || !in(e->len, off, n))
		return;
	strsh = shdr(e, link);
	for (i = 0; i + 24 <= n; i += 24) {
		const uint8_t *s = e->p + off + i;
		uint32_t type = s[4] & 0xf, ndx = (uint32_t)rd(s + 6, 2);
		size_t sl, tl;
		const char *nm = str_at(e->p, e->len, rd(strsh + 24, 8),
					rd(strsh + 32, 8), rd(s, 4), &sl),
			   *sec;

		if (!nm || ndx >= e->shnum)
			continue;
		if (type == 2 && (s[5] & STO_CUDA_ENTRY || s[4] >> 4 == 1)) {
			func_index(m, nm, sl);
			continue;
		}
		sec = str_at(e->p, e->len, e->shstr_off, e->shstr_len,
			     rd(shdr(e, ndx), 4), &tl);
		if (type == 1 && sec && tl >= 10 &&
		    !memcmp(sec, ".nv.global", 10))
			add_global(m, nm, sl, rd(s + 16, 8));
	}
}

static uint32_t parse_elf(const uint8_t *p, size_t len, struct cpu_module *m)
{
	struct elf e = { .p = p, .len = len };
	const uint8_t *ss;
	uint32_t i, strndx;

	if (len < 64 || memcmp(p, "\177ELF", 4) || p[4] != 2 || p[5] != 1 ||
	    rd(p + 58, 2) != 64)
		return VGPU_S_BAD_IMAGE;
	e.shoff = rd(p + 40, 8);
	e.shnum = (uint32_t)rd(p + 60, 2);
	strndx = (uint32_t)rd(p + 62, 2);
	if (!e.shnum || strndx >= e.shnum ||
	    !in(len, e.shoff, (uint64_t)e.shnum * 64))
		return VGPU_S_BAD_IMAGE;
	ss = shdr(&e, strndx);
	e.shstr_off = rd(ss + 24, 8);
	e.shstr_len = rd(ss + 32, 8);
	if (!in(len, e.shstr_off, e.shstr_len))
		return VGPU_S_BAD_IMAGE;
	for (i = 0; i < e.shnum; i++)
		if (rd(shdr(&e, i) + 4, 4) == 2) /* SHT_SYMTAB */
			elf_symbols(&e, shdr(&e, i), m);
	elf_infos(&e, m);
	return VGPU_S_OK;
}

/* The identifier at @s (bounded by @end): its length. */
static size_t ident(const char *s, const char *end)
{
	const char *p = s;

	while (p < end &&
	       (*p == '_' || *p == '$' || (*p >= '0' && *p <= '9') ||
		(*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		p++;
	return (size_t)(p - s);
}

/* Bytes of a PTX type token: .u32 -> 4, .b8 -> 1, .f64 -> 8. */
static uint64_t ptx_type_size(const char *t, const char *end)
{
	uint64_t bits = 0;

	for (t += 2; t < end && *t >= '0' && *t <= '9' && bits < 1024; t++)
		bits = bits * 10 + (uint64_t)(*t - '0');
	return bits % 8 || bits > 64 ? 0 : bits / 8;
}

/* The decimal number at @s, bounded by @end (0: none, or too large). */
static uint64_t ptx_count(const char *s, const char *end)
{
	uint64_t v = 0;

	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > (1u << 30))
			return 0;
	}
	return v;
}

/* ".global [.align N] .TYPE name[[N]]" at the start of a line. */
static void ptx_global(const char *l, const char *end, struct cpu_module *m)
{
	const char *p = l;
	uint64_t elem, count = 1;
	size_t n;

	while (p < end && *p != '\n' &&
	       (end - p < 7 || memcmp(p, ".global", 7)))
		p++;
	if (end - p < 7 || *p == '\n')
		return;
	p += 7;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p > 6 && !strncmp(p, ".align", 6)) {
		p += 6;
		while (p < end &&
		       (*p == ' ' || *p == '\t' || (*p >= '0' && *p <= '9')))
			p++;
	}
	if (p >= end || *p != '.')
		return;
	elem = ptx_type_size(p, end);
	while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	n = ident(p, end);
	if (p + n < end && p[n] == '[')
		count = ptx_count(p + n + 1, end);
	if (elem && count && count <= (1u << 30))
		add_global(m, p, n, elem * count);
}

static uint32_t parse_ptx(const uint8_t *img, size_t len, struct cpu_module *m)
{
	const char *s = (const char *)img, *end = s + len, *l;

	if (!memmem(s, len, ".version", 8) && !memmem(s, len, ".entry", 6))
		return VGPU_S_BAD_IMAGE;
	for (l = s; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l)), *t = l;
		const char *le = nl ? nl : end;
		const char *en = memmem(l, (size_t)(le - l), ".entry", 6);

		while (t < le && (*t == ' ' || *t == '\t'))
			t++;
		if (en) {
			en += 6;
			while (en < le && (*en == ' ' || *en == '\t'))
				en++;
			func_index(m, en, ident(en, le));
		} else if (t < le && *t == '.') {
			ptx_global(t, le, m);
		}
		l = le + 1;
	}
	return VGPU_S_OK;
}

/* One fatbin entry's payload, decompressed if need be: a private buffer
 * (*owned set) or a pointer into the image. NULL if it cannot be had. */
static const uint8_t *unpack(const uint8_t *pl, uint64_t n, uint64_t flags,
			     uint64_t csize, uint64_t usize, uint8_t **owned,
			     uint32_t *st)
{
	*owned = NULL;
	if (!(flags & (FB_ZSTD | FB_LZ4)))
		return pl;
	if (!usize || usize > MAX_UNPACKED || !csize || csize > n) {
		*st = VGPU_S_BAD_IMAGE;
		return NULL;
	}
	*owned = malloc(usize);
	if (!*owned) {
		*st = VGPU_S_NO_MEMORY;
		return NULL;
	}
#ifdef HAVE_ZSTD
	if ((flags & FB_ZSTD) &&
	    ZSTD_decompress(*owned, usize, pl, csize) == usize)
		return *owned;
#endif
#ifdef HAVE_LZ4
	if ((flags & FB_LZ4) && !(flags & FB_ZSTD) && usize <= 0x7fffffff &&
	    LZ4_decompress_safe((const char *)pl, (char *)*owned, (int)csize,
				(int)usize) == (int)usize)
		return *owned;
#endif
	free(*owned);
	*owned = NULL;
#if defined(HAVE_ZSTD) && defined(HAVE_LZ4)
	*st = VGPU_S_BAD_IMAGE;
#else
	*st = VGPU_S_NOT_SUPPORTED; /* built without that decompressor */
#endif
	return NULL;
}

static uint32_t parse_fatbin(const uint8_t *p, size_t len, struct cpu_module *m)
{
	uint64_t hs = rd(p + 6, 2), body = rd(p + 8, 8), off, end;
	uint32_t first = 0;
	bool ok = false;

	if (hs < 16 || !in(len, hs, body))
		return VGPU_S_BAD_IMAGE;
	end = hs + body;
	for (off = hs; off + 0x40 <= end;) {
		const uint8_t *e = p + off;
		uint64_t kind = rd(e, 2), ehs = rd(e + 4, 4), n = rd(e + 8, 8);
		uint64_t flags = rd(e + 0x28, 8), csize = rd(e + 0x10, 4);
		uint64_t usize = rd(e + 0x38, 8);
		const uint8_t *pl;
		uint8_t *owned;
		uint32_t est = VGPU_S_OK;

		if (ehs < 0x40 || !in(end, off + ehs, n))
			return VGPU_S_BAD_IMAGE;
		pl = unpack(e + ehs, n, flags, csize, usize, &owned, &est);
		if (pl && kind == FB_KIND_ELF)
			est = parse_elf(pl, owned ? usize : n, m);
		else if (pl && kind == FB_KIND_PTX)
			est = parse_ptx(pl, owned ? usize : n, m);
		free(owned);
		/* one usable entry is enough; else the first reason */
		if (est == VGPU_S_OK)
			ok = true;
		else if (!first)
			first = est;
		off += ehs + n;
	}
	return ok ? VGPU_S_OK : first ? first : VGPU_S_BAD_IMAGE;
}

uint32_t cpu_image_parse(const void *img, size_t len, struct cpu_module *m)
{
	const uint8_t *p = img;
	uint32_t st;

	if (len >= 16 && rd(p, 4) == FATBIN_MAGIC)
		st = parse_fatbin(p, len, m);
	else if (len >= 4 && !memcmp(p, "\177ELF", 4))
		st = parse_elf(p, len, m);
	else
		st = parse_ptx(p, len, m);
	if (st == VGPU_S_OK && !m->nfuncs && !m->nglobals)
		st = VGPU_S_BAD_IMAGE;
	return st;
}
