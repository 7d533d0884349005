// SPDX-License-Identifier: GPL-2.0-only
/*
 * lab-ioreq-servers DOMID: print how many ioreq servers Xen holds for a
 * domain (the default QEMU's and ours). Xen 4.17 keeps up to 8, with ids
 * 0..7; asking for a server's info without gfns has no side effects and
 * fails with ENOENT for an id that has no server.
 */
#define __XEN_TOOLS__ 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xendevicemodel.h>

int main(int argc, char **argv)
{
	xendevicemodel_handle *dm;
	unsigned int id, n = 0;
	int domid;

	if (argc != 2) {
		fprintf(stderr, "usage: lab-ioreq-servers DOMID\n");
		return 2;
	}
	domid = atoi(argv[1]);
	dm = xendevicemodel_open(NULL, 0);
	if (!dm) {
		perror("xendevicemodel_open");
		return 1;
	}
	for (id = 0; id < 8; id++) {
		if (xendevicemodel_get_ioreq_server_info(dm, (domid_t)domid,
							 (ioservid_t)id, NULL,
							 NULL, NULL) == 0)
			n++;
		else if (errno != ENOENT && errno != EINVAL) {
			fprintf(stderr, "server %u: %s\n", id, strerror(errno));
			return 1;
		}
	}
	printf("%u\n", n);
	xendevicemodel_close(dm);
	return 0;
}
