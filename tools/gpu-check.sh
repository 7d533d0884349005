#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The CUDA backend on a real GPU: every GPU check and the benchmark, in one
# call of a few minutes.
#
#   tools/gpu-check.sh --prepare    on the development machine (Debian 12,
#                                   libxen-dev, cmocka, CUDA 13.0): builds
#                                   everything into _gpu/ (ignored by git)
#   tools/gpu-check.sh              on the GPU machine, with _gpu carried:
#                                   device.run(command="tools/gpu-check.sh",
#                                              carry=["_gpu"])
#   tools/gpu-check.sh --selftest   here, without a GPU: the same run
#                                   against the fake libcuda (tests/fakecuda)
#
# Why prepared here: the GPU machine has CUDA 13.0, nvcc and gcc but no
# Debian packages (no libxen-dev, json-c, seccomp, cmocka), no network. The
# daemon is built here and carried with the few libraries it links that the
# GPU machine lacks (_gpu/lib); the worker links only libc and libcuda.so.1,
# which resolves to the machine's driver there. Without _gpu the script
# builds what needs no missing library on the spot (worker, backend check,
# benchmark, kernels) and says that the end-to-end part cannot run.
#
# What it shows (files under $OUT, and under results/gpu-DATE/):
#   env.txt            the machine: GPU, driver, toolkit, what was carried
#   backend-check.txt  the backend below the engine, on the GPU: a worker
#                      per session, kernels and layouts, zero-copy and staged
#                      copies, fresh memory is zero, PTX JIT off the request
#                      path, a faulting kernel and a kernel past its limit
#                      end only their session, limits refuse and recover, a
#                      killed worker costs its session only; what a session's
#                      worker costs; figures with where their time goes (B
#                      lines) and DMA inside one worker (dma_*)
#   e2e.txt            the project's CUDA test programs natively and through
#                      loopback + --backend cuda, outputs compared; a fault
#                      in one VM while another VM works; a quota refusal
#   bench.txt          one bench_cuda run: native and mediated side by side
#   variants.txt       the mediated figures under variants of the settings
#                      (profiled, run 1's staging, waits tuned), side by side
#   daemon.log         vgpu-ioreq's log, then each variant's daemon's
#   summary.txt        verdicts and the table
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
G=${GPU_CHECK_DIR:-$ROOT/_gpu}
DATE=$(date -u +%Y-%m-%d)
MODE=${1:-run}
NATIVE_LIBCUDA_DIR=  # selftest: the fake's libcuda.so.1
WORKER=
SOCK=

say() { printf '%s\n' "$*" | tee -a "$W/summary.txt"; }

# ---- --prepare: build here, collect what the GPU machine needs ----
prepare() {
	local B=$ROOT/_gpubuild lib f
	rm -rf "$G" && mkdir -p "$G"/{bin,lib,data,guestlib,cuda-tests}
	(cd "$ROOT" && ./autogen.sh >/dev/null) || return 1
	mkdir -p "$B" && cd "$B" || return 1
	"$ROOT"/configure --with-cuda --prefix=/usr --sysconfdir=/etc \
		--localstatedir=/var >"$G/configure.log" 2>&1 || {
		tail -5 "$G/configure.log"; return 1; }
	make -j"$(nproc)" >"$G/make.log" 2>&1 &&
		make -j"$(nproc)" check TESTS= >>"$G/make.log" 2>&1 || {
		tail -20 "$G/make.log"; return 1; }
	cp src/vgpu-ioreq src/cuda-worker/vgpu-cuda-worker \
		tests/bench/gpu_backend_check tests/bench/bench_cuda \
		tests/fakecuda/vgpu-cuda-worker-fake "$G/bin/"
	cp tests/bench/bench_kernels.cubin tests/bench/bench_kernels.ptx "$G/data/"
	# the daemon's libraries that a CUDA image does not have
	for lib in $(ldd src/vgpu-ioreq | awk '/=>/ { print $3 }' |
		     grep -E 'libxen|libjson-c|libseccomp|libyajl'); do
		cp -L "$lib" "$G/lib/"
	done
	# the guest libraries and the project's CUDA test programs (issue 9)
	for f in $(find . -path ./tests/fakecuda -prune -o \
		   \( -name 'libcuda.so*' -o -name 'libcudart.so*' \) -print); do
		cp -P "$f" "$G/guestlib/" 2>/dev/null
	done
	if [ -d tests/cuda ]; then
		cp -r tests/cuda/. "$G/cuda-tests/"
		find "$G/cuda-tests" \( -name '*.o' -o -name '.deps' -o \
			-name '.dirstamp' -o -name '*.log' -o -name '*.trs' \) \
			-prune -exec rm -rf {} +
	fi
	# the fake, for --selftest
	mkdir -p "$G/lib/fake"
	gcc -shared -fPIC -O2 -I/usr/local/cuda/include -I. \
		-o "$G/lib/fake/libcuda.so.1" "$ROOT"/tests/fakecuda/fakecuda.c \
		"$ROOT"/tests/fakecuda/fakecuda_api.c \
		"$ROOT"/tests/fakecuda/fakecuda_mem.c \
		"$ROOT"/tests/fakecuda/fakecuda_dev.c \
		"$ROOT"/tests/fakecuda/kernels.c -Wl,-soname,libcuda.so.1 \
		-lpthread || return 1
	{
		echo "prepared $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
		echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
		echo "guest libraries: $(ls "$G/guestlib" | tr '\n' ' ')"
		echo "CUDA test programs: $(ls "$G/cuda-tests" | wc -l) files"
	} >"$G/manifest"
	du -sh "$G"
	cat "$G/manifest"
}

# ---- without _gpu: build what needs no missing library, here ----
build_here() {
	local T=$W/build nvcc=/usr/local/cuda/bin/nvcc inc
	mkdir -p "$T" "$G/bin" "$G/data"
	printf '#define _GNU_SOURCE 1\n#define HAVE_CUDA_BACKEND 1\n' >"$T/config.h"
	inc="-I$T -I$ROOT/include -I/usr/local/cuda/include"
	gcc -O2 -std=gnu11 $inc -o "$G/bin/vgpu-cuda-worker" \
		"$ROOT"/src/cuda-worker/*.c "$ROOT"/src/backend_cuda_ring.c \
		-L/usr/local/cuda/lib64/stubs -lcuda -lpthread &&
	gcc -O2 -std=gnu11 $inc -DFAKE_WORKER='"none"' \
		-o "$G/bin/gpu_backend_check" "$ROOT"/tests/bench/gpu_backend_check.c \
		"$ROOT"/tests/bench/gpu_backend_figures.c \
		"$ROOT"/tests/unit/cuda_harness.c "$ROOT"/src/backend_cuda.c \
		"$ROOT"/src/backend_cuda_worker.c "$ROOT"/src/backend_cuda_setup.c \
		"$ROOT"/src/backend_cuda_wire.c "$ROOT"/src/backend_cuda_stage.c \
		"$ROOT"/src/backend_cuda_spawn.c "$ROOT"/src/backend_cuda_ring.c \
		"$ROOT"/src/log.c -lpthread &&
	gcc -O2 -std=gnu11 -I/usr/local/cuda/include -o "$G/bin/bench_cuda" \
		"$ROOT"/tests/bench/bench_cuda.c "$ROOT"/tests/bench/bench_cuda_table.c \
		-L/usr/local/cuda/lib64/stubs -lcuda -lm &&
	$nvcc -cubin -arch=sm_90 -o "$G/data/bench_kernels.cubin" \
		"$ROOT"/tests/bench/bench_kernels.cu &&
	$nvcc -ptx -arch=sm_90 -o "$G/data/bench_kernels.ptx" \
		"$ROOT"/tests/bench/bench_kernels.cu
}

runs() { # does the carried program start here?
	"$@" >/dev/null 2>&1
	[ $? -lt 126 ]
}

environment() {
	{
		echo "== date"; date -u
		echo "== host"; uname -a; nproc; grep MemTotal /proc/meminfo
		echo "== GPU"
		nvidia-smi --query-gpu=name,uuid,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current,clocks.sm,clocks.max.sm --format=csv 2>&1
		echo "== toolkit"; /usr/local/cuda/bin/nvcc --version 2>&1 | tail -2
		echo "== gcc"; gcc --version 2>&1 | head -1
		echo "== glibc"; ldd --version 2>&1 | head -1
		echo "== carried"; cat "$G/manifest" 2>/dev/null || echo "(nothing: built here)"
		echo "== libraries of the carried programs"
		for p in vgpu-ioreq vgpu-cuda-worker bench_cuda; do
			[ -x "$G/bin/$p" ] && { echo "-- $p"; ldd "$G/bin/$p" 2>&1; }
		done
	} >"$W/env.txt" 2>&1
}

backend_check() {
	say "== the backend on the GPU (gpu_backend_check)"
	VGPU_TEST_WORKER=$WORKER timeout 300 "$G/bin/gpu_backend_check" \
		"$G/data/bench_kernels.cubin" "$G/data/bench_kernels.ptx" \
		>"$W/backend-check.txt" 2>&1
	echo "exit status $?" >>"$W/backend-check.txt"
	grep -E '^CHECK|failed$' "$W/backend-check.txt" | tee -a "$W/summary.txt"
}

# daemon_up SOCKET LOG [VAR=VALUE...] [-- DAEMON-OPTION...]: a loopback
# vgpu-ioreq with the CUDA backend; its pid in $UP
daemon_up() {
	local sock=$1 log=$2 envs=() opts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	opts=("$@")
	env VGPU_CUDA_WORKER="$WORKER" "${envs[@]}" "$G/bin/vgpu-ioreq" \
		--loopback "$sock" --backend cuda -F --log stderr "${opts[@]}" \
		>"$log" 2>&1 &
	UP=$!
	for _ in $(seq 300); do
		[ -S "$sock" ] && return 0
		kill -0 $UP 2>/dev/null || break
		sleep 0.2
	done
	return 1
}

daemon_down() {
	kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
}

start_daemon() {
	local d=$G/bin/vgpu-ioreq
	[ -x "$d" ] && runs "$d" --version || {
		say "SKIP end-to-end: no vgpu-ioreq that runs here"; return 1; }
	"$d" --help 2>&1 | grep -q -- --loopback || {
		say "SKIP end-to-end: this vgpu-ioreq has no --loopback (the loopback branch is not merged)"
		return 1; }
	ls "$G/guestlib"/libcudart.so.13* "$G/guestlib"/libcuda.so.1* >/dev/null 2>&1 || {
		say "SKIP end-to-end: no guest libraries (the guestlib branch is not merged)"
		return 1; }
	SOCK=$W/vgpu.sock
	daemon_up "$SOCK" "$W/daemon.log" && { DAEMON=$UP; return 0; }
	say "FAIL end-to-end: vgpu-ioreq --loopback did not come up (daemon.log)"
	return 1
}

# Lines that differ between two runs of the same program on the same GPU
# whatever the stack: timings, and the device's total memory (the VM's
# quota through vgpu-ioreq, the whole GPU natively). Everything else must
# be identical.
VARIES='elapsed [0-9.]* ms|global memory [0-9]* MiB|, [0-9]+ MiB, compute'
normal() { sed -E "s/($VARIES)/<varies>/g" "$1"; }

# a program natively, then through the libraries; outputs compared
compare() {
	local prog=$1 name rn rm
	name=$(basename "$prog")
	(cd "$(dirname "$prog")" && timeout 60 "./$name" >"$W/n.out" 2>"$W/n.err")
	rn=$?
	(cd "$(dirname "$prog")" && LD_LIBRARY_PATH=$G/guestlib:$LD_LIBRARY_PATH \
		VGPU_LOOPBACK=$SOCK timeout 60 "./$name" >"$W/m.out" 2>"$W/m.err")
	rm=$?
	{
		echo "== $name: native exit $rn, mediated exit $rm"
		echo "-- native output"; cat "$W/n.out"
		echo "-- mediated output"; cat "$W/m.out"
		if [ "$MODE" = selftest ]; then
			# NVIDIA's libcudart does not run over the fake libcuda:
			# no native reference here, the mediated run on its own
			if [ $rm -eq 0 ] && grep -q ": PASS (" "$W/m.out"; then
				echo "PASS $name (mediated alone: no native run without a GPU)"
			else
				echo "FAIL $name (mediated)"
			fi
		elif [ $rn -eq $rm ] && cmp -s <(normal "$W/n.out") <(normal "$W/m.out"); then
			echo "identical ($(wc -l <"$W/n.out") lines)"
			echo "PASS $name"
		else
			diff <(normal "$W/n.out") <(normal "$W/m.out") | head -40
			echo "-- mediated stderr"; tail -5 "$W/m.err"
			echo "FAIL $name"
		fi
	} >>"$W/e2e.txt"
	tail -1 "$W/e2e.txt" | tee -a "$W/summary.txt"
}

e2e() {
	local p bench="$G/bin/bench_cuda" cub="$G/data/bench_kernels.cubin" work
	say "== end to end: loopback + --backend cuda"
	# the project's CUDA test programs (tests/cuda: runtime API, driver
	# API, a faulting kernel), as nvcc built them, unmodified
	for p in rt_api drv_api fault; do
		[ -x "$G/cuda-tests/$p" ] && compare "$G/cuda-tests/$p" ||
			say "FAIL $p: not built"
	done
	# a fault in one VM while another VM works
	LD_LIBRARY_PATH=$G/guestlib:$LD_LIBRARY_PATH VGPU_LOOPBACK=$SOCK \
		timeout 120 "$bench" work --cubin "$cub" --ms 8000 >"$W/work.out" 2>&1 &
	work=$!
	for _ in $(seq 150); do # until VM 2 has done a round of work
		grep -q WORKING "$W/work.out" 2>/dev/null && break
		kill -0 $work 2>/dev/null || break
		sleep 0.2
	done
	LD_LIBRARY_PATH=$G/guestlib:$LD_LIBRARY_PATH VGPU_LOOPBACK=$SOCK \
		timeout 60 "$bench" fault --cubin "$cub" >"$W/fault.out" 2>&1
	wait $work
	{
		echo "== fault in VM 1 while VM 2 works"; cat "$W/fault.out" "$W/work.out"
		grep -q 'FAULT REPORTED' "$W/fault.out" && grep -q 'WORK OK' "$W/work.out" &&
			echo "PASS fault_isolation_two_vms" || echo "FAIL fault_isolation_two_vms"
		echo "== quota: more than there is, then a normal allocation"
		LD_LIBRARY_PATH=$G/guestlib:$LD_LIBRARY_PATH VGPU_LOOPBACK=$SOCK \
			timeout 60 "$bench" quota --cubin "$cub" 2>&1
	} >>"$W/e2e.txt"
	grep -q 'QUOTA OK' "$W/e2e.txt" && echo "PASS quota_refuses_and_recovers" >>"$W/e2e.txt" ||
		echo "FAIL quota_refuses_and_recovers" >>"$W/e2e.txt"
	grep -E '^(PASS|FAIL) (fault|quota)' "$W/e2e.txt" | tee -a "$W/summary.txt"
}

bench() {
	local args=(table --cubin "$G/data/bench_kernels.cubin" --seconds 3)
	say "== benchmark (bench_cuda table)"
	[ -n "$SOCK" ] && args+=(--guestlib "$G/guestlib" --socket "$SOCK")
	[ -n "$NATIVE_LIBCUDA_DIR" ] && args+=(--matmul 256)
	timeout 300 "$G/bin/bench_cuda" "${args[@]}" >"$W/bench.txt" 2>"$W/bench.log"
	echo "exit status $?" >>"$W/bench.txt"
	tail -5 "$W/bench.log" >>"$W/bench.txt"
	grep -E '^[|]|^spin' "$W/bench.txt" >>"$W/summary.txt"
	backend=$(grep -E '^R (backend_|session_|worker_|spare_|dma_)' "$W/backend-check.txt" 2>/dev/null)
	[ -n "$backend" ] && say "backend alone (no engine, no guest library):" &&
		say "$backend"
	backend=$(grep -E '^B ' "$W/backend-check.txt" 2>/dev/null)
	[ -n "$backend" ] && say "where the backend's time goes (profiled):" &&
		say "$backend"
}

# The mediated figures again under variants of the settings, each with a
# daemon of its own, side by side: what each part of the path costs.
#   default        as the table's mediated column (matmul 256 only)
#   profiled       VGPU_CUDA_PROFILE: the daemon logs, when each VM ends,
#                  where its time went (daemon-profiled.log, "CUDA backend")
#   first-staging  the guest's staging as in run 1: whole chunks, one thread
#   tuned-waits    nobody sleeps soon: --poll-us 1000, the worker polls
#                  2 ms with GPU work in flight, the guest 1 ms
VARIANTS="default profiled first-staging tuned-waits"
variant_env() {
	case $1 in
	profiled) echo "DAEMON VGPU_CUDA_PROFILE=1" ;;
	first-staging) echo "CLIENT VGPU_COPY_THREADS=1 VGPU_COPY_SPLIT=0" ;;
	tuned-waits) echo "DAEMON VGPU_CUDA_BUSY_SPIN_US=2000 -- --poll-us 1000"
		echo "CLIENT VGPU_SPIN_US=1000" ;;
	esac
}

variants() {
	local v sock denv cenv keys k
	[ -n "$SOCK" ] || return 0
	say "== variants: bench_cuda run, mediated, one daemon each (variants.txt)"
	for v in $VARIANTS; do
		sock=$W/var-$v.sock
		denv=$(variant_env "$v" | sed -n 's/^DAEMON //p')
		cenv=$(variant_env "$v" | sed -n 's/^CLIENT //p')
		# shellcheck disable=SC2086
		if ! daemon_up "$sock" "$W/daemon-$v.log" $denv; then
			echo "$v: the daemon did not come up" >>"$W/variants.txt"
			continue
		fi
		# shellcheck disable=SC2086
		env LD_LIBRARY_PATH="$G/guestlib:$LD_LIBRARY_PATH" \
			VGPU_LOOPBACK="$sock" $cenv timeout 180 "$G/bin/bench_cuda" \
			run --cubin "$G/data/bench_kernels.cubin" --matmul 256 \
			>"$W/var-$v.out" 2>&1
		daemon_down "$UP"
		rm -f "$sock"
	done
	keys=$(grep -h '^R ' "$W"/var-*.out | awk '{ print $2 }' | sort -u)
	{
		printf '%-28s' figure
		for v in $VARIANTS; do printf ' %14s' "$v"; done
		echo
		for k in $keys; do
			printf '%-28s' "$k"
			for v in $VARIANTS; do
				printf ' %14s' "$(awk -v k="$k" '$1 == "R" && $2 == k { print $3 }' \
					"$W/var-$v.out" 2>/dev/null)"
			done
			echo
		done
		echo "-- where the time went (profiled daemon, per VM):"
		grep -h 'CUDA backend of' "$W/daemon-profiled.log" 2>/dev/null
		grep -h 'a context takes' "$W/daemon.log" 2>/dev/null
	} >>"$W/variants.txt"
	cat "$W/variants.txt" >>"$W/summary.txt"
}

run() {
	# straight into $OUT: what is there comes back even if the call is
	# cut short at its time limit
	W=${OUT:-$(mktemp -d /tmp/gpu-check.XXXXXX)}
	mkdir -p "$W"
	: >"$W/summary.txt"; : >"$W/e2e.txt"; : >"$W/daemon.log"; : >"$W/variants.txt"
	say "gpu-check $MODE $(date -u '+%Y-%m-%d %H:%M UTC')"
	export LD_LIBRARY_PATH=$G/lib${NATIVE_LIBCUDA_DIR:+:$NATIVE_LIBCUDA_DIR}:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	if [ ! -x "$G/bin/vgpu-cuda-worker" ] || ! runs "$G/bin/vgpu-cuda-worker" --version ||
	   [ -n "${GPU_CHECK_BUILD_HERE:-}" ]; then
		say "building the worker, the checks and the benchmark here"
		build_here >"$W/build.log" 2>&1 || { say "FAIL build"; tail -20 "$W/build.log"; }
	fi
	[ -n "$WORKER" ] || WORKER=$G/bin/vgpu-cuda-worker
	environment
	backend_check
	DAEMON=
	start_daemon && e2e
	bench
	[ -n "$DAEMON" ] && daemon_down "$DAEMON"
	variants
	say "== $(grep -cE '(^CHECK .* PASS|^PASS)' "$W/summary.txt") passed, $(grep -cE '(^CHECK .* FAIL|^FAIL)' "$W/summary.txt") failed"
	# the variants' daemon logs into daemon.log: the device tool brings
	# back 8 files at most
	for v in $VARIANTS; do
		[ -f "$W/daemon-$v.log" ] || continue
		{ echo "==== daemon of variant $v"; cat "$W/daemon-$v.log"; } >>"$W/daemon.log"
		rm -f "$W/daemon-$v.log"
	done
	rm -f "$W"/{n,m}.{out,err} "$W"/{work,fault}.out "$W/build.log" "$W/bench.log" "$W/vgpu.sock" "$W"/var-*.out
	rm -rf "$W/build"
	if [ "$MODE" = run ]; then
		mkdir -p "$ROOT/results/gpu-$DATE"
		cp "$W"/*.txt "$W"/daemon*.log "$ROOT/results/gpu-$DATE/" 2>/dev/null
	fi
	cat "$W/summary.txt"
	[ -n "${OUT:-}" ] || echo "(outputs in $W)"
}

case $MODE in
--prepare) prepare ;;
--selftest)
	MODE=selftest
	[ -d "$G" ] || { echo "run --prepare first"; exit 2; }
	NATIVE_LIBCUDA_DIR=$G/lib/fake
	WORKER=$G/bin/vgpu-cuda-worker-fake
	run ;;
run) run ;;
*) echo "usage: $0 [--prepare|--selftest]"; exit 2 ;;
esac
