#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Issue 9 on real Xen: unmodified CUDA programs in the guest, on the
# project's libcuda.so.1 and libcudart.so.13 (installed as the
# vgpu-cuda-guest package installs them, run through its vgpu-cuda-run
# wrapper), through /dev/vgpu_stub to vgpu-ioreq's command engine with the
# CPU backend. Sourced by scenarios.sh (pass, fail, skip, boot_guest, ...).
# Without nvcc or the CUDA headers at configure time the guest image has
# no CUDA programs and every scenario here SKIPs, saying why.

# cuda_boot NAME MODE SCENARIO...: boot the guest in MODE and let it run to
# its end; 1 (after a SKIP or FAIL of each SCENARIO) if that did not
# happen. Leaves CUDA_G (the guest console, CRs gone) and CUDA_RC (the
# daemon's exit status).
cuda_boot() {
	local n=$1 m=$2 s
	shift 2
	if [ -f "$L/cuda-skip" ]; then
		for s in "$@"; do skip "$s" "$(cat "$L/cuda-skip")"; done
		return 1
	fi
	info "$n: guest initramfs $(stat -c %s "$L/guest-initrd.gz") bytes"
	if ! boot_guest "$n" 1 "$m" GUEST-DONE; then
		show_guest "$n"
		for s in "$@"; do fail "$s" "the guest did not finish"; done
		return 1
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	CUDA_RC=$?
	show_guest "$n"
	CUDA_G=$(tr -d '\r' <"/tmp/$n-serial.log")
	return 0
}

# The guest's trouble: a kernel oops, or the daemon's exit status.
cuda_trouble() {
	echo "$CUDA_G" | grep -qi 'bug:\|oops\|general protection' && echo "[kernel trouble in the guest]"
	[ "$CUDA_RC" = 0 ] || echo "[daemon exit $CUDA_RC]"
}

# A program's output as the guest printed it (its block).
cuda_out() { echo "$CUDA_G" | sed -n "/^=== guest: $1/,/^=== end guest/p"; }

# The device's own count (its log, when the guest powered off).
cuda_device_line() {
	grep -o 'queues: .*' "/tmp/$1-vgpu.log" 2>/dev/null | tail -n 1
}

# ---- cuda-runtime-api, cuda-driver-api, the figures ----
scenario_cuda_api() {
	local n=vcuda-api why out b
	cuda_boot $n cuda cuda-runtime-api cuda-driver-api || return
	why=$(cuda_trouble)
	out=$(cuda_out rt_api)
	if echo "$out" | grep -q '^rt_api: PASS' && [ -z "$why" ]; then
		pass cuda-runtime-api "$(echo "$out" | grep '^rt_api: PASS'); $(echo "$out" | grep -m1 '^device 0')"
	else
		fail cuda-runtime-api "$(echo "$out" | grep 'FAILED\|rt_api:\|error' | head -n 4 | tr '\n' ';') $why"
	fi
	out=$(cuda_out drv_api)
	if echo "$out" | grep -q '^drv_api: PASS' && [ -z "$why" ]; then
		pass cuda-driver-api "$(echo "$out" | grep '^drv_api: PASS')"
	else
		fail cuda-driver-api "$(echo "$out" | grep 'FAILED\|drv_api:\|error' | head -n 4 | tr '\n' ';') $why"
	fi
	# Figures (nested TCG: only ratios mean anything)
	b=$(cuda_out vgpu-cuda-bench)
	echo "$b" | grep -o 'CUDA-BENCH: .*' | sed 's/^CUDA-BENCH: /LAB-METRIC: cuda_guest /'
	echo "$b" | grep -o 'CUDA-BENCH-RESULT: .*' | sed 's/^/LAB-INFO: /'
	echo "LAB-METRIC: cuda_guest device: $(cuda_device_line $n)"
}

# ---- cuda-isolation: two processes apart, one killed mid-stream ----
scenario_cuda_isolation() {
	local n=vcuda-iso why out
	cuda_boot $n cudaiso cuda-isolation || return
	why=$(cuda_trouble)
	out=$(cuda_out "vgpu-cuda-lab isolate")
	if echo "$out" | grep -q 'CUDA-ISOLATE-RESULT: PASS' && [ -z "$why" ]; then
		pass cuda-isolation "$(echo "$out" | grep -o 'CUDA-ISOLATE-RESULT: PASS.*'): A's handles refused to B; $(echo "$out" | grep -o "C's session freed.*"); device: $(cuda_device_line $n)"
	else
		fail cuda-isolation "$(echo "$out" | grep 'not ok\|RESULT' | head -n 5 | tr '\n' ';') $why"
	fi
}

# ---- cuda-malicious: hostile sessions; a good program passes after ----
scenario_cuda_malicious() {
	local n=vcuda-evil why out rt fa
	cuda_boot $n cudaevil cuda-malicious || return
	why=$(cuda_trouble)
	out=$(cuda_out "vgpu-cuda-lab evil")
	fa=$(cuda_out fault)
	rt=$(cuda_out rt_api)
	if echo "$out" | grep -q 'CUDA-EVIL-RESULT: PASS' &&
		echo "$fa" | grep -q '^fault: PASS' &&
		echo "$rt" | grep -q '^rt_api: PASS' && [ -z "$why" ]; then
		pass cuda-malicious "$(echo "$out" | grep -o 'CUDA-EVIL-RESULT: PASS.*'); then $(echo "$fa" | grep '^fault: PASS') and $(echo "$rt" | grep '^rt_api: PASS'); device: $(cuda_device_line $n)"
	else
		fail cuda-malicious "$(echo "$out$fa$rt" | grep 'not ok\|RESULT\|^fault:\|^rt_api:' | head -n 6 | tr '\n' ';') $why"
	fi
}
