// SPDX-License-Identifier: GPL-2.0-only
/* XenStore glue for vgpu-ioreqd; see xs.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include <vgpu/xs.h>

struct xsg {
	struct xs_handle *h;
};

int xsg_open(struct xsg **out)
{
	struct xsg *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->h = xs_open(0);
	if (!x->h) {
		int rc = errno ? -errno : -EIO;

		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void xsg_close(struct xsg *x)
{
	if (!x)
		return;
	xs_close(x->h);
	free(x);
}

int xsg_fd(struct xsg *x)
{
	return xs_fileno(x->h);
}

int xsg_watch(struct xsg *x, const char *path, const char *token)
{
	return xs_watch(x->h, path, token) ? 0 : -errno;
}

char *xsg_next_event(struct xsg *x)
{
	char **ev = xs_check_watch(x->h);
	char *path;

	if (!ev)
		return NULL;
	path = strdup(ev[XS_WATCH_PATH]);
	free(ev);
	return path;
}

char *xsg_read(struct xsg *x, const char *path)
{
	unsigned int len;

	return xs_read(x->h, XBT_NULL, path, &len);
}

int xsg_write(struct xsg *x, const char *path, const char *val)
{
	return xs_write(x->h, XBT_NULL, path, val, (unsigned int)strlen(val)) ?
		       0 :
		       -errno;
}

int xsg_rm(struct xsg *x, const char *path)
{
	return xs_rm(x->h, XBT_NULL, path) || errno == ENOENT ? 0 : -errno;
}

int xsg_mkdir_dom0_only(struct xsg *x, const char *path)
{
	/* owner dom0, and no access for anyone else: guests can neither
	 * read the status nor write a request */
	struct xs_permissions perms = { .id = 0, .perms = XS_PERM_NONE };

	if (!xs_mkdir(x->h, XBT_NULL, path) ||
	    !xs_set_permissions(x->h, XBT_NULL, path, &perms, 1))
		return -errno;
	return 0;
}

char **xsg_list(struct xsg *x, const char *path, unsigned int *n)
{
	char **v = xs_directory(x->h, XBT_NULL, path, n);

	if (!v)
		*n = 0;
	return v;
}

bool xsg_domain_exists(struct xsg *x, uint32_t domid)
{
	return xs_is_domain_introduced(x->h, domid);
}
