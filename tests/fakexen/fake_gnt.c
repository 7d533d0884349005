// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake Xen's gntalloc (replacing src/host_xen_gntalloc.c): grants of
 * the daemon's own pages, counted per share, checked against Xen's rules
 * as the daemon must follow them (only to the domain it serves, every
 * share ended exactly once, nothing left when the fd closes but what the
 * kernel ends for it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fakexen/fake_xen.h"
#include "../../src/host_xen_gnt.h"

#define FAKE_GNT_FD 4242
#define MAX_SHARES 64

static struct {
	int open_fail; /* errno of the next open */
	int share_fail; /* errno of the next share */
	bool open;
	uint32_t domid; /* the domain every share must go to */
	uint32_t next_ref;
	uint64_t pages; /* granted now */
	uint64_t ended_at_close; /* pages the fd's close ended */
	unsigned int bad; /* rule violations */
	struct {
		void *va;
		uint32_t count;
	} share[MAX_SHARES];
} g;

void fake_gnt_reset(uint32_t domid)
{
	memset(&g, 0, sizeof(g));
	g.domid = domid;
	g.next_ref = 8; /* Linux keeps the first references for itself */
}

void fake_gnt_fail_open(int err)
{
	g.open_fail = err;
}

void fake_gnt_fail_share(int err)
{
	g.share_fail = err;
}

uint64_t fake_gnt_pages(void)
{
	return g.pages;
}

uint64_t fake_gnt_ended_at_close(void)
{
	return g.ended_at_close;
}

unsigned int fake_gnt_violations(void)
{
	return g.bad;
}

int xen_gntalloc_open(void)
{
	if (g.open_fail) {
		int e = g.open_fail;

		g.open_fail = 0;
		return -e;
	}
	if (g.open)
		g.bad++; /* one handle per daemon */
	g.open = true;
	return FAKE_GNT_FD;
}

/* Every share still held ends, as the kernel does when the fd closes. */
static void end_all(void)
{
	unsigned int i;

	for (i = 0; i < MAX_SHARES; i++) {
		if (!g.share[i].va)
			continue;
		/* the kernel ends what the fd's mappings still hold; the
		 * mapping itself is the process's (gone at its exit) */
		g.ended_at_close += g.share[i].count;
		g.pages -= g.share[i].count;
		free(g.share[i].va);
		g.share[i].va = NULL;
	}
	g.open = false;
}

void fake_gnt_process_died(void)
{
	end_all();
}

void xen_gntalloc_close(int fd)
{
	if (fd < 0)
		return;
	if (fd != FAKE_GNT_FD || !g.open)
		g.bad++;
	end_all();
}

void *xen_gntalloc_share(int fd, uint32_t domid, uint32_t count, uint32_t *refs)
{
	unsigned int i, k;

	if (fd != FAKE_GNT_FD || !g.open || domid != g.domid || !count)
		g.bad++;
	if (g.share_fail) {
		errno = g.share_fail;
		g.share_fail = 0;
		return NULL;
	}
	for (i = 0; i < MAX_SHARES && g.share[i].va; i++)
		;
	if (i == MAX_SHARES) {
		errno = ENOSPC;
		return NULL;
	}
	g.share[i].va = calloc(count, 4096);
	if (!g.share[i].va)
		return NULL;
	g.share[i].count = count;
	for (k = 0; k < count; k++)
		refs[k] = g.next_ref++;
	g.pages += count;
	return g.share[i].va;
}

void xen_gntalloc_unshare(int fd, void *va, uint32_t count)
{
	unsigned int i;

	if (fd != FAKE_GNT_FD)
		g.bad++;
	for (i = 0; i < MAX_SHARES; i++) {
		if (g.share[i].va != va)
			continue;
		if (g.share[i].count != count)
			g.bad++;
		g.pages -= g.share[i].count;
		free(va);
		g.share[i].va = NULL;
		return;
	}
	g.bad++; /* not a share of ours, or ended twice */
}
