#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-cuda: tests/bench/bench_cuda (issue 10's table program) on
# the project's libraries through loopback to a vgpu-ioreq with the CPU
# backend, the mediated column alone (no GPU here): null launch +
# synchronize, asynchronous launches per second, copies, module loads,
# 1, 2 and 4 VMs streaming kernels. Then the asynchronous launches alone,
# with the device's doorbells per launch (its log's VM line). The same
# program on a GPU prints NVIDIA's figures beside them
# (tools/gpu-check.sh).
#   bench-cuda.sh BUILDDIR [SCALE]
b=${1:-.}
scale=${2:-1}
set -u
dir=$(mktemp -d) || exit 1
pid=
stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pid=
}
trap 'stop; rm -rf "$dir"' EXIT
daemon() {
	rm -f "$dir/ready" "$dir/s"
	mkfifo "$dir/ready" || exit 1
	"$b/src/vgpu-ioreq" --loopback "$dir/s" -F --log stderr --ready-fd 3 \
		3>"$dir/ready" >"$dir/daemon.log" 2>&1 &
	pid=$!
	read -r line <"$dir/ready" || {
		cat "$dir/daemon.log"
		exit 1
	}
}
bench=$b/tests/bench/bench_cuda
cubin=$b/tests/bench/bench_kernels.cubin
daemon
env LD_LIBRARY_PATH="$b/guest/lib" "$bench" table --cubin "$cubin" \
	--guestlib "$b/guest/lib" --socket "$dir/s" --no-native 1 \
	--matmul 256 --seconds 1 2>"$dir/bench.log" || tail -5 "$dir/bench.log"
stop
daemon
env LD_LIBRARY_PATH="$b/guest/lib" VGPU_LOOPBACK="$dir/s" "$bench" launches \
	--cubin "$cubin" --n $((100000 * scale)) | sed 's/^R /  /'
stop
grep -o 'queues: [0-9]* doorbells, [0-9]* commands, [0-9]* launches' \
	"$dir/daemon.log" |
	awk '{ printf "  device: %d doorbells, %d commands, %d launches: %.4f doorbells per launch\n",
		$2, $4, $6, $6 ? $2 / $6 : 0 }'
