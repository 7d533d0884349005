// SPDX-License-Identifier: MIT
/*
 * A name the libraries export but do not implement answers the API's
 * not-supported error, every time, and says so on stderr once.
 *   stub_check LIBCUDA LIBCUDART
 */
#include <dlfcn.h>
#include <stdio.h>

typedef int (*fn)(void);

static int call_twice(const char *lib, const char *name, int want)
{
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	fn f = h ? (fn)dlsym(h, name) : NULL;
	int a, b;

	if (!f) {
		printf("%s: no %s (%s)\n", lib, name, dlerror());
		return 1;
	}
	a = f();
	b = f();
	if (a != want || b != want) {
		printf("%s: %s returned %d, %d; want %d\n", lib, name, a, b,
		       want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	/* CUDA_ERROR_NOT_SUPPORTED and cudaErrorNotSupported are 801 */
	return call_twice(argv[1], "cuGraphCreate", 801) |
	       call_twice(argv[2], "cudaGraphCreate", 801);
}
