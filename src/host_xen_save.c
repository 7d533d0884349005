// SPDX-License-Identifier: GPL-2.0-only
/*
 * Xen glue for save and migration: is the domain suspended (shut down
 * with SHUTDOWN_suspend, as xl save and xl migrate leave it), running,
 * or gone?
 */
#include "host_xen_int.h"

#include <xen/sched.h>

int xen_domain_run_state(uint32_t domid)
{
	xc_domaininfo_t info;
	int rc = xen_domain_info(domid, &info);

	if (rc < 0)
		return rc;
	if ((info.flags & XEN_DOMINF_shutdown) &&
	    ((info.flags >> XEN_DOMINF_shutdownshift) &
	     XEN_DOMINF_shutdownmask) == SHUTDOWN_suspend)
		rc = XEN_DOMAIN_SUSPENDED;
	else if (info.flags & XEN_DOMINF_shutdown)
		rc = XEN_DOMAIN_SHUTDOWN;
	else
		rc = XEN_DOMAIN_RUNNING;
	return rc;
}
