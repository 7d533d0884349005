// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the Xen libraries need after the privilege drop, for the seccomp
 * allow-list (depriv.h). Read from Xen 4.17's tools/libs and the Linux
 * uapi headers (include/uapi/xen/privcmd.h, evtchn.h); the numbers are
 * written out here so that no Xen header is needed outside host_xen.c,
 * and tests/unit/test_depriv.c checks them against Xen's own
 * <xen/sys/privcmd.h> and <xen/sys/evtchn.h>.
 *
 * After xentoolcore_restrict_all() the daemon calls, through host_xen.c:
 *  - libxendevicemodel (map/unmap_io_range, inject_msi,
 *    set_pci_intx_level, get_ioreq_server_info, set_ioreq_server_state,
 *    unmap_pcidev, destroy_ioreq_server): IOCTL_PRIVCMD_DM_OP on privcmd;
 *  - libxenforeignmemory map/unmap (queue pages, rep copies): mmap of the
 *    privcmd fd, then IOCTL_PRIVCMD_MMAPBATCH_V2; munmap;
 *    unmap_resource at teardown: munmap;
 *  - libxenevtchn: pending is read(), unmask is write(), notify is
 *    IOCTL_EVTCHN_NOTIFY, unbind at teardown IOCTL_EVTCHN_UNBIND; the
 *    guest's event channel (ABI 1.3, host_xen_evtchn.c), which the guest
 *    names at any time through BAR0: IOCTL_EVTCHN_BIND_INTERDOMAIN (the
 *    handle is restricted to the domain) and IOCTL_EVTCHN_UNBIND.
 * Not after the drop, so not allowed: IOCTL_PRIVCMD_HYPERCALL (refused on
 * a restricted fd anyway), MMAP_RESOURCE, RESTRICT, MMAPBATCH (the v1
 * fallback for kernels before 2.6.37), EVTCHN_BIND_VIRQ/UNBOUND_PORT, RESET,
 * RESTRICT_DOMID; no gntdev handle is ever opened.
 *  - gntalloc (regions granted to the guest, ABI 1.5, host_xen_gntalloc.c):
 *    IOCTL_GNTALLOC_ALLOC_GREF, mmap, IOCTL_GNTALLOC_DEALLOC_GREF, munmap.
 *    gntalloc cannot be restricted to one domain (the domain is inside
 *    the request, out of seccomp's reach): a compromised daemon could
 *    grant its own pages to another domain. That reaches no one's memory
 *    but the daemon's own (which holds this guest's data only) and forces
 *    nothing on the other domain, which must map the grant itself; the
 *    kernel's gntalloc limit (a module parameter) bounds the pages.
 *    SET_UNMAP_NOTIFY is not used, so not allowed.
 */
#include <sys/ioctl.h>

#include <vgpu/depriv.h>

/* _IOC(_IOC_NONE, type, nr, size) */
#define XEN_IOC(type, nr, size) \
	((unsigned long)_IOC(_IOC_NONE, (type), (nr), (size)))

/* struct privcmd_dm_op { domid_t dom; __u16 num; ubufs pointer }: 16 */
#define PRIVCMD_DM_OP XEN_IOC('P', 5, 16)
/* struct privcmd_mmapbatch_v2 { num, dom, addr, arr, err }: 32 */
#define PRIVCMD_MMAPBATCH_V2 XEN_IOC('P', 4, 32)
/* struct ioctl_evtchn_unbind / notify { unsigned int port }: 4 */
#define EVTCHN_UNBIND XEN_IOC('E', 3, 4)
#define EVTCHN_NOTIFY XEN_IOC('E', 4, 4)
/* struct ioctl_evtchn_bind_interdomain { remote_domain, remote_port }: 8 */
#define EVTCHN_BIND_INTERDOMAIN XEN_IOC('E', 1, 8)
/* struct ioctl_gntalloc_alloc_gref { u16 domid, flags; u32 count; u64
 * index; u32 gref_ids[1] }: 24 with its padding */
#define GNTALLOC_ALLOC_GREF XEN_IOC('G', 5, 24)
/* struct ioctl_gntalloc_dealloc_gref { u64 index; u32 count }: 16 */
#define GNTALLOC_DEALLOC_GREF XEN_IOC('G', 6, 16)

static const struct depriv_rule xen_rules[] = {
	DEPRIV_ARG("ioctl", 1, PRIVCMD_DM_OP,
		   "privcmd: every device-model operation"),
	DEPRIV_ARG("ioctl", 1, PRIVCMD_MMAPBATCH_V2,
		   "privcmd: mapping guest frames (queues, rep copies)"),
	DEPRIV_ARG("ioctl", 1, EVTCHN_NOTIFY, "evtchn: answering a vcpu"),
	DEPRIV_ARG("ioctl", 1, EVTCHN_UNBIND,
		   "evtchn: teardown; the guest's event channel replaced"),
	DEPRIV_ARG("ioctl", 1, EVTCHN_BIND_INTERDOMAIN,
		   "evtchn: binding the port the guest names (ABI 1.3)"),
	DEPRIV_ARG("ioctl", 1, GNTALLOC_ALLOC_GREF,
		   "gntalloc: a region granted to the guest (ABI 1.5)"),
	DEPRIV_ARG("ioctl", 1, GNTALLOC_DEALLOC_GREF,
		   "gntalloc: the grant ends when its pages are unmapped"),
};

const struct depriv_rules depriv_xen = {
	"xen", xen_rules, sizeof(xen_rules) / sizeof(xen_rules[0])
};
