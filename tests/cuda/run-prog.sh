# SPDX-License-Identifier: MIT
# Sourced by the guest libraries' TAP scripts (check-guestlib.sh,
# cuda-progs.sh), with $b the build directory: run_prog runs a program on
# the libraries as built. An ASan build of them: nvcc's uninstrumented
# programs must load the ASan runtime first.
asan=$(env -u LD_LIBRARY_PATH ldd "$b/guest/lib/libcuda.so.1" 2>/dev/null |
	awk '/libasan/ { print $3 }')
run_prog() {
	if [ -n "$asan" ]; then
		env LD_PRELOAD="$asan" ASAN_OPTIONS=detect_leaks=0 "$@"
	else
		"$@"
	fi
}
