/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging to stderr or syslog, in the style of OpenBSD's log.c. A logger is
 * owned by main() and passed down; nothing here is global. Guest-triggered
 * messages go through log_guest(), which is rate-limited so that a guest
 * cannot flood dom0's logs.
 */
#ifndef VGPU_LOG_H
#define VGPU_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

enum log_sink { LOG_SINK_STDERR, LOG_SINK_SYSLOG };

#define LOG_GUEST_BURST 10 /* messages per window, then suppressed */
#define LOG_GUEST_WINDOW_NS 5000000000ull

struct logger {
	enum log_sink sink;
	int level; /* LOG_ERR .. LOG_DEBUG from <syslog.h> */
	char prefix[32]; /* e.g. "d5 00:05.0: " */
	uint64_t guest_window_start;
	unsigned int guest_in_window;
	uint64_t guest_suppressed;
	/* errors are also handed to tee(), if set, as formatted lines */
	void (*tee)(void *arg, const char *line);
	void *tee_arg;
};

void log_init(struct logger *lg, enum log_sink sink, int level);
/* Log to syslog from now on, level and prefix kept. The connection to
 * /dev/log is made here (LOG_NDELAY), and the time zone loaded: both are
 * out of reach after a chroot. */
void log_to_syslog(struct logger *lg);
/* Hand every LOG_ERR (and worse) line to @tee too ("vgpu-ioreq: err:
 * ..."), e.g. for a caller waiting on a daemon; NULL stops it. */
void log_set_tee(struct logger *lg, void (*tee)(void *arg, const char *line),
		 void *arg);
void log_set_prefix(struct logger *lg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_msg(struct logger *lg, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(struct logger *lg, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/*
 * Everything a guest can trigger is logged through these, or not at all.
 * Like log_msg(@prio), with one budget for all of them: at most
 * LOG_GUEST_BURST messages per LOG_GUEST_WINDOW_NS, then one line saying
 * how many were suppressed (when the next guest message comes after the
 * window, or at log_guest_flush()). Messages above the logger's level are
 * neither printed nor counted.
 */
void log_guest_msg(struct logger *lg, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* log_guest_msg(LOG_WARNING) */
void log_guest(struct logger *lg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The summary of suppressed guest messages, now (e.g. at exit). */
void log_guest_flush(struct logger *lg);
/* Parse "err", "warning", "info", "debug" (or a syslog number). */
int log_parse_level(const char *s);

#define log_err(lg, ...) log_msg(lg, LOG_ERR, __VA_ARGS__)
#define log_warn(lg, ...) log_msg(lg, LOG_WARNING, __VA_ARGS__)
#define log_info(lg, ...) log_msg(lg, LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_msg(lg, LOG_DEBUG, __VA_ARGS__)

#endif
