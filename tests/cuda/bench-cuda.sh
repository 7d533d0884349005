#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench-cuda: bench_cuda on the project's libraries through loopback
# to a vgpu-ioreq (CPU backend) this script starts, with the device's
# doorbell and command counts for the run. The same program run on
# NVIDIA's libraries on a GPU is the reference.
#   bench-cuda.sh BUILDDIR [SCALE]
b=${1:-.}
set -u
dir=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkfifo "$dir/ready" || exit 1
"$b/src/vgpu-ioreq" --loopback "$dir/s" -F --log stderr --ready-fd 3 \
	3>"$dir/ready" >"$dir/daemon.log" 2>&1 &
pid=$!
read -r line <"$dir/ready" || {
	cat "$dir/daemon.log"
	exit 1
}
env LD_LIBRARY_PATH="$b/guest/lib" VGPU_LOOPBACK="$dir/s" \
	"$b/tests/cuda/bench_cuda" "${2:-1}"
kill "$pid"
wait "$pid" 2>/dev/null
pid=
grep -o 'queues: [0-9]* doorbells, [0-9]* commands, [0-9]* launches' "$dir/daemon.log" |
	awk '{ d += $2; c += $4; l += $6 }
	END { if (l) printf "device: %d doorbells, %d commands, %d launches: %.4f doorbells per launch\n", d, c, l, d / l }'
