// SPDX-License-Identifier: MIT
/*
 * The project's faulting program. A kernel writes through a bad pointer:
 * the error is reported, later calls in that context keep returning it
 * (a sticky error), and another process, working before the fault and
 * after it, is not touched. (Whether this process may go on after
 * cudaDeviceReset differs: NVIDIA's driver on an H200 refuses, so the
 * program does not ask.) Prints "fault: PASS ..." or "fault: FAIL ..."; exit 0 on
 * PASS.
 */
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "test_check.h"
#include "test_kernels.cuh"

/* vec_add on n elements; true if every result is right. */
static bool work(int n)
{
	std::vector<float> a(n), b(n), c(n);
	float *da = NULL, *db = NULL, *dc = NULL;
	bool ok = true;

	for (int i = 0; i < n; i++) {
		a[i] = (float)i;
		b[i] = 1.0f;
	}
	ok &= cudaMalloc(&da, n * sizeof(float)) == cudaSuccess;
	ok &= cudaMalloc(&db, n * sizeof(float)) == cudaSuccess;
	ok &= cudaMalloc(&dc, n * sizeof(float)) == cudaSuccess;
	ok &= cudaMemcpy(da, a.data(), n * sizeof(float),
			 cudaMemcpyHostToDevice) == cudaSuccess;
	ok &= cudaMemcpy(db, b.data(), n * sizeof(float),
			 cudaMemcpyHostToDevice) == cudaSuccess;
	vec_add<<<(n + 255) / 256, 256>>>(da, db, dc, n);
	ok &= cudaMemcpy(c.data(), dc, n * sizeof(float),
			 cudaMemcpyDeviceToHost) == cudaSuccess;
	for (int i = 0; ok && i < n; i++)
		ok = c[i] == (float)i + 1.0f;
	cudaFree(da);
	cudaFree(db);
	cudaFree(dc);
	return ok;
}

/* The other process: working before the fault, and after it. */
static int bystander(int ready_fd, int go_fd)
{
	char byte;
	bool before = work(4096), after;

	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &byte, 1) != 1)
		return 2;
	after = work(4096) && work(1 << 20);
	printf("fault: bystander process %s\n",
	       before && after ? "unaffected" : "AFFECTED");
	return before && after ? 0 : 1;
}

int main(void)
{
	int go[2], ready[2], status = 0, *bad = (int *)(uintptr_t)0x1000;
	char byte;
	cudaError_t e, again;
	void *p = NULL;
	pid_t child;

	/* fork before anything touches CUDA: two independent processes */
	if (pipe(go) || pipe(ready) || (child = fork()) < 0) {
		printf("fault: FAIL (pipe/fork)\n");
		return 1;
	}
	if (child == 0) {
		close(go[1]);
		close(ready[0]);
		_exit(bystander(ready[1], go[0]));
	}
	close(go[0]);
	close(ready[1]);

	CHECK(work(1000), "work before the fault");
	/* the bystander has its context and has done its first work */
	CHECK(read(ready[0], &byte, 1) == 1, "bystander ready");
	poke<<<1, 1>>>(bad, 1);
	e = cudaDeviceSynchronize();
	printf("fault: the faulting kernel gave %s (%s)\n", cudaGetErrorName(e),
	       cudaGetErrorString(e));
	CHECK(e != cudaSuccess, "a write through a bad pointer went unnoticed");
	again = cudaMalloc(&p, 64);
	CHECK(again == e, "cudaMalloc after the fault: %s",
	      cudaGetErrorName(again));
	again = cudaMemcpy(&status, bad, sizeof(int), cudaMemcpyDeviceToHost);
	CHECK(again == e, "cudaMemcpy after the fault: %s",
	      cudaGetErrorName(again));
	again = cudaDeviceSynchronize();
	CHECK(again == e, "sync after the fault: %s", cudaGetErrorName(again));

	/* the other process goes on working */
	CHECK(write(go[1], "g", 1) == 1, "signal the bystander");
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "bystander process: status %#x", status);

	return check_summary("fault");
}
