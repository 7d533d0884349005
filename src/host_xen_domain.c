// SPDX-License-Identifier: GPL-2.0-only
/*
 * Xen glue: questions about a domain asked before serving it (is it a
 * live HVM guest, its UUID; a name to a domid; has it ended).
 */
#include "host_xen_int.h"

int xen_domain_info(uint32_t domid, xc_domaininfo_t *info)
{
	xc_interface *xch = xc_interface_open(NULL, NULL, 0);
	int n, rc = 0;

	if (!xch)
		return neg_errno();
	n = xc_domain_getinfolist(xch, domid, 1, info);
	if (n < 0)
		rc = neg_errno();
	else if (n == 0 || info->domain != domid ||
		 (info->flags & XEN_DOMINF_dying))
		rc = -ENOENT;
	xc_interface_close(xch);
	return rc;
}

bool xen_domain_ended(uint32_t domid, void *arg)
{
	xc_domaininfo_t info;

	(void)arg;
	return xen_domain_info(domid, &info) == -ENOENT;
}

int xen_domain_check(uint32_t domid, uint8_t uuid[16])
{
	xc_domaininfo_t info;
	int rc = xen_domain_info(domid, &info);

	if (rc == 0 && !(info.flags & XEN_DOMINF_hvm_guest))
		rc = -EINVAL;
	else if (rc == 0 && uuid)
		memcpy(uuid, info.handle, 16);
	return rc;
}

int xen_domain_lookup(const char *name, uint32_t *domid)
{
	struct xs_handle *xs = xs_open(0);
	unsigned int n, i;
	char **doms;
	int rc = -ENOENT;

	if (!xs)
		return neg_errno();
	doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (i = 0; doms && i < n && rc == -ENOENT; i++) {
		char path[64], *end;
		unsigned int len;
		char *v;

		snprintf(path, sizeof(path), "/local/domain/%s/name", doms[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && strcmp(v, name) == 0) {
			unsigned long id = strtoul(doms[i], &end, 10);

			if (*end == '\0' && id < DOMID_FIRST_RESERVED) {
				*domid = (uint32_t)id;
				rc = 0;
			}
		}
		free(v);
	}
	if (!doms)
		rc = neg_errno();
	free(doms);
	xs_close(xs);
	return rc;
}
