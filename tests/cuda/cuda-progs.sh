#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the project's CUDA test programs (rt_api, drv_api, fault),
# unmodified, on the project's libcuda.so.1 and libcudart.so.13 through
# the loopback transport to a vgpu-ioreq with the CPU backend that this
# script starts. TAP; skips (saying why) what this build cannot run.
b=${builddir:-.}
progs="rt_api drv_api fault"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ -x "$b/guest/lib/libcudart.so.13" ] ||
	skip_all "no CUDA headers at configure time (--with-cuda): libcuda.so.1 and libcudart.so.13 are not built"
for p in $progs; do
	[ -x "$b/tests/cuda/$p" ] ||
		skip_all "no nvcc at configure time (--with-cuda): the CUDA test programs ($progs) are not built"
done
"$b/src/vgpu-ioreq" --help 2>&1 | grep -q -- --loopback ||
	skip_all "vgpu-ioreq has no --loopback in this build"

dir=$(mktemp -d) || exit 1
. "${srcdir:-.}/tests/cuda/run-prog.sh"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
sock=$dir/vgpu.sock
mkfifo "$dir/ready" || exit 1
"$b/src/vgpu-ioreq" --loopback "$sock" -F --log stderr --ready-fd 3 \
	3>"$dir/ready" >"$dir/daemon.log" 2>&1 &
pid=$!
if ! read -r line <"$dir/ready"; then
	echo "Bail out! vgpu-ioreq --loopback did not start:"
	sed 's/^/# /' "$dir/daemon.log"
	exit 1
fi

VGPU_LOOPBACK=$sock "$b/tests/cuda/vgpu_probe" >"$dir/probe" 2>&1
case $? in
0) ;;
2) skip_all "the device speaks ABI 1.1; the CUDA programs need ABI 1.2 (sessions, modules, launches)" ;;
4) skip_all "$(cat "$dir/probe")" ;;
*)
	echo "Bail out! no device through loopback: $(cat "$dir/probe")"
	sed 's/^/# /' "$dir/daemon.log"
	exit 1
	;;
esac
sed 's/^/# /' "$dir/probe"

echo "1..3"
n=0
for p in $progs; do
	n=$((n + 1))
	run_prog env LD_LIBRARY_PATH="$b/guest/lib" VGPU_LOOPBACK="$sock" \
		timeout 300 "$b/tests/cuda/$p" >"$dir/$p.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^$p: PASS" "$dir/$p.out"; then
		echo "ok $n - $p: $(grep "^$p: PASS" "$dir/$p.out")"
	else
		echo "not ok $n - $p (exit $rc)"
		sed 's/^/# /' "$dir/$p.out"
	fi
done
