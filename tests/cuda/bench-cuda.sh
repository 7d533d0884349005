#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-cuda: bench_cuda on the project's libraries through loopback
# to a vgpu-ioreq (CPU backend) this script starts, with the device's
# doorbell and command counts: once for the whole table, once for the
# asynchronous launches alone (doorbells per launch while streaming).
# The same program on NVIDIA's libraries and a GPU is the reference.
#   bench-cuda.sh BUILDDIR [SCALE]
b=${1:-.}
set -u
dir=$(mktemp -d) || exit 1
pid=
stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pid=
}
trap 'stop; rm -rf "$dir"' EXIT
# One daemon per run: its log's VM line holds that run's counts.
bench() {
	rm -f "$dir/ready" "$dir/s"
	mkfifo "$dir/ready" || exit 1
	"$b/src/vgpu-ioreq" --loopback "$dir/s" -F --log stderr --ready-fd 3 \
		3>"$dir/ready" >"$dir/daemon.log" 2>&1 &
	pid=$!
	read -r line <"$dir/ready" || {
		cat "$dir/daemon.log"
		exit 1
	}
	env LD_LIBRARY_PATH="$b/guest/lib" VGPU_LOOPBACK="$dir/s" \
		"$b/tests/cuda/bench_cuda" "$@"
	stop
	grep -o 'queues: [0-9]* doorbells, [0-9]* commands, [0-9]* launches' \
		"$dir/daemon.log" |
		awk '{ printf "  device: %d doorbells, %d commands, %d launches: %.4f doorbells per launch\n",
			$2, $4, $6, $6 ? $2 / $6 : 0 }'
}
bench "${2:-1}"
bench "${2:-1}" launches
