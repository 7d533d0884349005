// SPDX-License-Identifier: GPL-2.0-only
/*
 * stderr/syslog logger. Messages are lowercase, no trailing newline; the
 * logger adds the program name, level and domain prefix.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <vgpu/log.h>

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",	   [LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",	   [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",	   [LOG_DEBUG] = "debug",
};

void log_init(struct logger *lg, enum log_sink sink, int level)
{
	memset(lg, 0, sizeof(*lg));
	lg->sink = sink;
	lg->level = level;
	if (sink == LOG_SINK_SYSLOG)
		log_to_syslog(lg);
}

void log_to_syslog(struct logger *lg)
{
	tzset();
	openlog("vgpu-ioreq", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg->sink = LOG_SINK_SYSLOG;
}

void log_set_tee(struct logger *lg, void (*tee)(void *arg, const char *line),
		 void *arg)
{
	lg->tee = tee;
	lg->tee_arg = arg;
}

void log_set_prefix(struct logger *lg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lg->prefix, sizeof(lg->prefix), fmt, ap);
	va_end(ap);
}

int log_parse_level(const char *s)
{
	unsigned int i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	return -1;
}

void log_vmsg(struct logger *lg, int prio, const char *fmt, va_list ap)
{
	char msg[512];

	if (prio > lg->level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg->tee && prio <= LOG_ERR) {
		char line[600];

		snprintf(line, sizeof(line), "vgpu-ioreq: %s: %s%s\n",
			 level_names[prio & 7], lg->prefix, msg);
		lg->tee(lg->tee_arg, line);
	}
	if (lg->sink == LOG_SINK_SYSLOG) {
		syslog(prio, "%s%s", lg->prefix, msg);
		return;
	}
	fprintf(stderr, "vgpu-ioreq: %s: %s%s\n", level_names[prio & 7],
		lg->prefix, msg);
}

void log_msg(struct logger *lg, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lg, prio, fmt, ap);
	va_end(ap);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_guest_flush(struct logger *lg)
{
	if (!lg->guest_suppressed)
		return;
	log_msg(lg, LOG_WARNING, "guest: %llu further messages suppressed",
		(unsigned long long)lg->guest_suppressed);
	lg->guest_suppressed = 0;
}

static void log_guest_vmsg(struct logger *lg, int prio, const char *fmt,
			   va_list ap)
{
	uint64_t now;

	if (prio > lg->level)
		return;
	now = mono_ns();
	if (now - lg->guest_window_start >= LOG_GUEST_WINDOW_NS) {
		log_guest_flush(lg);
		lg->guest_window_start = now;
		lg->guest_in_window = 0;
	}
	if (lg->guest_in_window >= LOG_GUEST_BURST) {
		lg->guest_suppressed++;
		return;
	}
	lg->guest_in_window++;
	log_vmsg(lg, prio, fmt, ap);
}

void log_guest_msg(struct logger *lg, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_guest_vmsg(lg, prio, fmt, ap);
	va_end(ap);
}

void log_guest(struct logger *lg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_guest_vmsg(lg, LOG_WARNING, fmt, ap);
	va_end(ap);
}
