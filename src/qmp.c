// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal QMP client: greeting, qmp_capabilities, query-pci. JSON is
 * parsed with json-c; every read has a timeout so that a busy or wedged
 * QEMU cannot hang the daemon's start.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <vgpu/qmp.h>

#define QMP_TIMEOUT_S 3
#define QMP_MAX_REPLY (256 * 1024)

static int get_int(struct json_object *o, const char *key, int *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int(v);
	return 0;
}

int qmp_parse_query_pci(const char *json, unsigned int dev, unsigned int fn,
			char *desc, size_t desclen)
{
	struct json_object *root = json_tokener_parse(json), *ret;
	int found = -EPROTO;
	size_t i, j;

	if (!root)
		return -EPROTO;
	if (!json_object_object_get_ex(root, "return", &ret) ||
	    !json_object_is_type(ret, json_type_array))
		goto out;
	found = 0;
	for (i = 0; i < json_object_array_length(ret) && !found; i++) {
		struct json_object *bus = json_object_array_get_idx(ret, i);
		struct json_object *devs;
		int busno;

		if (get_int(bus, "bus", &busno) || busno != 0 ||
		    !json_object_object_get_ex(bus, "devices", &devs) ||
		    !json_object_is_type(devs, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(devs); j++) {
			struct json_object *d =
				json_object_array_get_idx(devs, j);
			struct json_object *ci, *de;
			int slot, f;

			if (get_int(d, "slot", &slot) ||
			    get_int(d, "function", &f) ||
			    (unsigned int)slot != dev || (unsigned int)f != fn)
				continue;
			snprintf(desc, desclen, "a QEMU device");
			if (json_object_object_get_ex(d, "qdev_id", &de) &&
			    json_object_get_string_len(de) > 0)
				snprintf(desc, desclen, "QEMU's %s",
					 json_object_get_string(de));
			else if (json_object_object_get_ex(d, "class_info",
							   &ci) &&
				 json_object_object_get_ex(ci, "desc", &de))
				snprintf(desc, desclen, "QEMU's %s",
					 json_object_get_string(de));
			found = 1;
			break;
		}
	}
out:
	json_object_put(root);
	return found;
}

/* Read one line-terminated QMP message into @buf; skip async events. */
static int read_msg(int fd, char *buf, size_t len)
{
	size_t have = 0;

	for (;;) {
		char *nl = memchr(buf, '\n', have);
		ssize_t n;

		if (nl) {
			*nl = '\0';
			if (!strstr(buf, "\"event\""))
				return 0;
			/* an event: drop it, keep what follows */
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
			continue;
		}
		if (have + 1 >= len)
			return -EMSGSIZE;
		n = read(fd, buf + have, len - have - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		have += (size_t)n;
		buf[have] = '\0';
	}
}

static int send_cmd(int fd, const char *cmd, char *buf, size_t len)
{
	size_t n = strlen(cmd);

	if (write(fd, cmd, n) != (ssize_t)n)
		return -errno;
	return read_msg(fd, buf, len);
}

int qmp_slot_in_use(const char *sock_path, unsigned int dev, unsigned int fn,
		    char *desc, size_t desclen)
{
	static char buf[QMP_MAX_REPLY];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = QMP_TIMEOUT_S };
	int fd, rc;

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	rc = read_msg(fd, buf, sizeof(buf)); /* greeting */
	if (rc == 0)
		rc = send_cmd(fd, "{\"execute\":\"qmp_capabilities\"}\n", buf,
			      sizeof(buf));
	if (rc == 0)
		rc = send_cmd(fd, "{\"execute\":\"query-pci\"}\n", buf,
			      sizeof(buf));
	if (rc == 0)
		rc = qmp_parse_query_pci(buf, dev, fn, desc, desclen);
out:
	close(fd);
	return rc;
}
