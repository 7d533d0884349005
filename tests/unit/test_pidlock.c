// SPDX-License-Identifier: GPL-2.0-only
/*
 * Locked pid files (pidlock.h): the pid written once through a descriptor
 * of its own, the lock held on a read-only one; after the hand-over the
 * server holds no descriptor to the files, and they disappear when it
 * dies, SIGKILL included; a successor started at once waits for that
 * instead of reporting the slot busy.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vgpu/pidlock.h>

struct fx {
	char dir[64];
	char pidfile[128];
	char lock[128];
	pid_t server; /* killed at teardown if a check failed */
};

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/vgpu-pidlock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->pidfile, sizeof(f->pidfile), "%s/d.pid", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/d5-05.0.lock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->server > 0 && waitpid(f->server, NULL, WNOHANG) == 0) {
		kill(f->server, SIGKILL);
		waitpid(f->server, NULL, 0);
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	unlink(f->pidfile);
	unlink(f->lock);
	rmdir(f->dir);
	test_free(f);
	return 0;
}

static long pid_in(const char *path)
{
	FILE *fp = fopen(path, "r");
	long pid = -1;

	if (!fp)
		return -1;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	return pid;
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Does this process hold a descriptor to @path? */
static bool holds(const char *path)
{
	char target[256];
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;

	while (d && (e = readdir(d))) {
		n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found |= strcmp(target, path) == 0;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void read_only_with_our_pid(void **state)
{
	struct fx *f = *state;
	struct pidlock pl;
	long holder;

	assert_int_equal(pidlock_take(&pl, f->pidfile, &holder), 0);
	assert_int_equal(pid_in(f->pidfile), (long)getpid());
	assert_int_equal(fcntl(pl.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(write(pl.fd, "666\n", 4), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(pid_in(f->pidfile), (long)getpid());
	pidlock_release(&pl);
	assert_false(exists(f->pidfile));
}

/* The exit status of a child that tries to take @path: 0 taken, 1 busy
 * and @want named as the holder, 2 anything else. */
static int take_in_child(const char *path, long want)
{
	struct pidlock pl;
	long holder;
	int status, rc;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		rc = pidlock_take(&pl, path, &holder);
		if (rc == 0)
			_exit(0);
		_exit(rc == -EBUSY && holder == want ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void second_holder_is_refused(void **state)
{
	struct fx *f = *state;
	struct pidlock pl;
	long holder;

	assert_int_equal(pidlock_take(&pl, f->lock, &holder), 0);
	assert_int_equal(take_in_child(f->lock, getpid()), 1);
	pidlock_release(&pl);
	assert_int_equal(take_in_child(f->lock, 0), 0);
}

/* A file left by a holder that died without cleaning up is taken over. */
static void stale_file_is_taken_over(void **state)
{
	struct fx *f = *state;
	struct pidlock pl;
	long holder;
	FILE *fp = fopen(f->lock, "w");

	assert_non_null(fp);
	fprintf(fp, "%d\n", 0x3ffffff0); /* no such process */
	fclose(fp);
	assert_int_equal(pidlock_take(&pl, f->lock, &holder), 0);
	assert_int_equal(pid_in(f->lock), (long)getpid());
	pidlock_release(&pl);
}

/* A server: takes both files, hands them over, reports whether it still
 * holds a descriptor to either, then waits to be killed. */
static pid_t start_server(struct fx *f, int *ready)
{
	struct pidlock a, b;
	struct pidlock *both[] = { &a, &b };
	int p[2];
	long holder;
	char c;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (pidlock_take(&a, f->pidfile, &holder) < 0 ||
		    pidlock_take(&b, f->lock, &holder) < 0 ||
		    pidlock_hand_over(both, 2) < 0)
			c = 'e';
		else
			c = holds(f->pidfile) || holds(f->lock) ? 'h' : 'k';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	f->server = pid;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	*ready = c;
	return pid;
}

/* The helper the server forked (a child of ours once the server dies). */
static pid_t helper_of(pid_t server)
{
	char path[64];
	long pid = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)server,
		 (int)server);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	return (pid_t)pid;
}

static void gone_with_the_server(void **state)
{
	struct fx *f = *state;
	int ready, status;
	pid_t server, helper;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	server = start_server(f, &ready);
	assert_int_equal(ready, 'k'); /* no descriptor to either file */
	helper = helper_of(server);
	assert_int_equal(pid_in(f->pidfile), (long)server);
	assert_int_equal(pid_in(f->lock), (long)server);
	/* still locked for the server's life */
	assert_int_equal(take_in_child(f->lock, server), 1);
	kill(server, SIGKILL);
	assert_int_equal(waitpid(server, &status, 0), server);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(exists(f->pidfile));
	assert_false(exists(f->lock));
}

/* A successor started while the helper has not removed the files yet
 * (it is stopped here) waits for it, then takes the slot. */
static void successor_waits_for_the_helper(void **state)
{
	struct fx *f = *state;
	int ready, status;
	pid_t server, helper, successor;
	struct pidlock pl;
	long holder;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	server = start_server(f, &ready);
	assert_int_equal(ready, 'k');
	helper = helper_of(server);
	kill(helper, SIGSTOP);
	kill(server, SIGKILL);
	assert_int_equal(waitpid(server, &status, 0), server);
	successor = fork();
	assert_true(successor >= 0);
	if (successor == 0)
		_exit(pidlock_take(&pl, f->lock, &holder) == 0 &&
				      pid_in(f->lock) == (long)getpid() ?
			      0 :
			      1);
	/* the successor is waiting (it cannot have the lock yet) */
	assert_int_equal(waitpid(successor, &status, WNOHANG), 0);
	kill(helper, SIGCONT);
	assert_int_equal(waitpid(successor, &status, 0), successor);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(waitpid(helper, &status, 0), helper);
	assert_false(exists(f->pidfile));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_only_with_our_pid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(second_holder_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(stale_file_is_taken_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(gone_with_the_server, setup,
						teardown),
		cmocka_unit_test_setup_teardown(successor_waits_for_the_helper,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("pidlock", tests, NULL, NULL);
}
