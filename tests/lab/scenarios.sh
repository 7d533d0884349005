#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs inside the lab's dom0 (as root, from lab-init) against the installed
# vgpu-ioreq. Prints one "PASS: name" or "FAIL: name: reason" per scenario,
# "LAB-METRIC:" lines with measured figures, and the guests' consoles.
#
#   scenarios.sh check FUNCTION...   run these scenario functions, in order
#                                    (tests/lab/shards places them in shards)
#   scenarios.sh show scenario_step1 only step1-lspci (the README's main job)
#
# A scenario function decides the scenarios its line in tests/lab/shards
# names, each with exactly one PASS:/FAIL: line; it must not depend on
# another function having run before it in the same boot. Functions may
# also live in scenarios-*.sh files beside this one.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
MODE=${1:-check}
L=/root/lab
# where this build installs (any --prefix): SYSCONFDIR, XENSCRIPTDIR, RUNSTATEDIR
. "$L/paths"
GUEST_TIMEOUT=150 # s for one guest boot under nested TCG
TRIES=3           # nested SVM under TCG sometimes triple-faults a guest

pass() { echo "PASS: $1${2:+ ($2)}"; }
skip() { echo "SKIP: $1: $2"; }
fail() { echo "FAIL: $1: $2"; }
metric() { echo "LAB-METRIC: $*"; }
info() { echo "LAB-INFO: $*"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
servers() { "$L/lab-ioreq-servers" "$1" 2>&1; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null; }
alive() { xl list "$1" >/dev/null 2>&1; }
# daemon pid serving domain $1 (launched by a wrapper, vgpu-xl or a supervisor);
# the xl script's and vgpu-xl's save watcher beside it is not the device
# (watchers_of: the pids of those watchers)
daemons_of() { pgrep -af "vgpu-ioreq --domid $1( |\$)" | grep -v -- ' --save-watch' | cut -d' ' -f1; }
daemon_of() { daemons_of "$1" | head -n 1; }
watchers_of() { pgrep -f "vgpu-ioreq --domid $1 --save-watch"; }

mkcfg() { # NAME VCPUS GUEST_MODE [EXTRA xl.cfg LINE...]
	local n=$1 v=$2 m=$3
	shift 3
	cat >"/tmp/$n.cfg" <<-EOF
		name = "$n"
		type = "hvm"
		memory = 256
		vcpus = $v
		kernel = "$L/vmlinux"
		ramdisk = "$L/guest-initrd.gz"
		cmdline = "console=ttyS0 quiet rdinit=/init pci=noearly vgpu_mode=$m"
		serial = "file:/tmp/$n-serial.log"
		vif = []
		disk = []
		vnc = 0
		sdl = 0
		vga = "none"
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "destroy"
		device_model_args_hvm = [ "-machine", "xenfv-4.2" ]
	EOF
	for line in "$@"; do echo "$line" >>"/tmp/$n.cfg"; done
}

# wait_log NAME PATTERN TIMEOUT: until the guest console shows PATTERN,
# the domain is gone, or TIMEOUT seconds pass (the guest runs on its own
# clock: polling its console file is the only view dom0 has).
wait_log() {
	local i=0
	while [ $i -lt $(($3 * 4)) ]; do
		grep -aq "$2" "/tmp/$1-serial.log" 2>/dev/null && return 0
		alive "$1" || break
		sleep 0.25
		i=$((i + 1))
	done
	grep -aq "$2" "/tmp/$1-serial.log" 2>/dev/null
}

# wait_exit PID TIMEOUT: until process PID has exited.
wait_exit() { timeout "$2" tail --pid="$1" -f /dev/null; }

# start_fg NAME DOMID: vgpu-ioreq in the foreground, readiness on a FIFO.
# Sets DPID, READY_MS; returns non-zero if it never became ready.
start_fg() {
	local fifo=/tmp/$1.ready line="" t0
	rm -f "$fifo" && mkfifo "$fifo"
	t0=$(ms_now)
	vgpu-ioreq --domid "$2" --foreground --log stderr --ready-fd 3 \
		3>"$fifo" 2>"/tmp/$1-vgpu.log" &
	DPID=$!
	read -r -t 30 line <"$fifo"
	READY_MS=$(($(ms_now) - t0))
	[ "$line" = "READY=1" ]
}

# guest_retry NAME ATTEMPT DOMID: a guest boot is tried again (nested SVM
# under TCG sometimes triple-faults a guest); the host counts these lines.
guest_retry() {
	local why="the guest did not finish"
	[ -n "$3" ] && xl dmesg 2>/dev/null | grep -q "d$3v[0-9]* Triple fault" &&
		why="triple fault (Xen's log)"
	echo "LAB-GUEST-RETRY: $1 attempt $2 (domid ${3:-?}): $why"
}

# triple_note DOMID: what Xen's log says of a guest triple fault of that
# domain (" " + why, or nothing). RIP in Xen's own code (e008:) is QEMU
# TCG's nested-SVM world-switch race (shared/xen-lab), not the guest's.
triple_note() {
	local dump rip
	dump=$(xl dmesg 2>/dev/null | grep -A5 "d$1v[0-9]* Triple fault")
	[ -n "$dump" ] || return 0
	rip=$(echo "$dump" | grep -o 'RIP: *[0-9a-f]*:\[<[0-9a-f]*>\]' | head -n 1)
	case $rip in
	*e008:*) echo " [the guest triple-faulted in Xen's world switch ($rip): QEMU TCG's nested-SVM race, see shared/xen-lab]" ;;
	*) echo " [the guest triple-faulted ($rip)]" ;;
	esac
}

show_guest() {
	echo "----- guest console $1 -----"
	tr -d '\r' <"/tmp/$1-serial.log" 2>/dev/null
	echo "----- vgpu-ioreq log $1 -----"
	cat "/tmp/$1-vgpu.log" 2>/dev/null
	echo "----- end $1 -----"
}

# boot_guest NAME VCPUS GUEST_MODE DONE_PATTERN: create paused, start the
# daemon, unpause, wait for DONE_PATTERN; retried on a guest crash. Leaves
# DOMID, DPID, READY_MS set.
boot_guest() {
	local name=$1 attempt t0
	mkcfg "$name" "$2" "$3"
	for attempt in $(seq 1 $TRIES); do
		rm -f "/tmp/$name-serial.log" "/tmp/$name-vgpu.log"
		if ! xl create -p "/tmp/$name.cfg" >"/tmp/$name-xl.log" 2>&1; then
			cat "/tmp/$name-xl.log"
			return 1
		fi
		DOMID=$(xl domid "$name")
		if ! start_fg "$name" "$DOMID"; then
			info "$name: vgpu-ioreq never became ready"
			show_guest "$name"
			xl destroy "$name"
			return 1
		fi
		info "$name: domid $DOMID, vgpu-ioreq ready in ${READY_MS} ms, $(servers "$DOMID") ioreq servers"
		GUEST_RSS_DAEMON=$(rss_kb "$DPID")
		grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' \
			"/proc/$DPID/smaps_rollup" >"/tmp/$name.smaps" 2>/dev/null
		# resident kB per mapped file, largest first
		awk '/^[0-9a-f]+-[0-9a-f]+ /{f = $6 ? $6 : "[anon]"} /^Rss:/{r[f] += $2}
			END{for (f in r) if (r[f]) printf "%d %s\n", r[f], f}' \
			"/proc/$DPID/smaps" 2>/dev/null | sort -rn | head -n 14 |
			tr '\n' ';' >"/tmp/$name.maps"
		GUEST_RSS_QEMU=$(rss_kb "$(pgrep -f "xen-domid $DOMID " | head -n 1)")
		xl unpause "$name"
		t0=$(ms_now)
		# the guest's boot (hvmloader, SeaBIOS, kernel) up to its init
		if wait_log "$name" GUEST-BEGIN "$GUEST_TIMEOUT"; then
			info "$name: guest up $(($(ms_now) - t0)) ms after unpause ($(grep -ao 'GUEST-BEGIN.*' "/tmp/$name-serial.log" | tr -d '\r'))"
			wait_log "$name" "$4" "$GUEST_TIMEOUT" && return 0
		fi
		guest_retry "$name" "$attempt" "$DOMID"
		grep -a "GUEST-" "/tmp/$name-serial.log" 2>/dev/null | tail -n 3
		xl destroy "$name" 2>/dev/null
		wait_exit "$DPID" 20
		wait "$DPID" 2>/dev/null
	done
	return 1
}

# ---- step1: lspci, registers, power-off shutdown ----
scenario_step1() {
	local g=/tmp/vgpu-a-serial.log rc
	if ! boot_guest vgpu-a 1 step1 GUEST-DONE; then
		show_guest vgpu-a
		fail step1-lspci "guest did not finish"
		[ "$MODE" = check ] || return
		for s in step1-bar0-registers ring-userspace malicious-guest; do
			fail $s "guest did not finish"
		done
		SHUTDOWN_POWEROFF="the step1 guest did not finish"
		return
	fi
	metric "launch_to_ready_ms=$READY_MS (fork+exec, domain checks, every hypervisor call)"
	metric "rss_vgpu_ioreq_kb=$GUEST_RSS_DAEMON rss_qemu_kb=$GUEST_RSS_QEMU qemu_over_daemon=$(awk -v a="$GUEST_RSS_QEMU" -v b="$GUEST_RSS_DAEMON" 'BEGIN{printf "%.1f", a / b}')"
	echo "LAB-INFO: vgpu-ioreq memory: $(tr '\n' ' ' <"/tmp/vgpu-a.smaps")"
	echo "LAB-INFO: vgpu-ioreq resident kB by mapping: $(cat /tmp/vgpu-a.maps)"
	grep -a 'ready .* ms after start' /tmp/vgpu-a-vgpu.log | sed 's/^/LAB-INFO: /'
	# the guest powers off; the daemon must notice and exit 0
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-a
	local lsnn lsv dm
	lsnn=$(tr -d '\r' <$g | sed -n '/=== guest: lspci -nn ===/,/=== end/p')
	lsv=$(tr -d '\r' <$g | sed -n '/=== guest: lspci -d 1af4:1111 -v ===/,/=== end/p')
	# PCI errors: the PCI core's own lines (pci/PCI prefixes) and any line
	# about our function. Other drivers' messages are shown, not judged.
	dm=$(tr -d '\r' <$g | sed -n "/=== guest: dmesg | grep -iE/,/=== end/p" | sed '1d;$d' |
		grep -E '\] (pci|PCI)[ :]|0000:00:05\.0')
	if ! echo "$lsnn" | grep -q '00:05.0 Processing accelerators \[1200\]: Red Hat, Inc.* \[1af4:1111\]'; then
		fail step1-lspci "lspci -nn has no 00:05.0 processing accelerator [1af4:1111]"
	elif ! echo "$lsv" | grep -q 'Memory at [0-9a-f]* (32-bit, non-prefetchable) \[size=4K\]'; then
		fail step1-lspci "lspci -v shows no 32-bit non-prefetchable 4K BAR"
	elif [ -n "$dm" ]; then
		fail step1-lspci "PCI errors in the guest's dmesg: $(echo "$dm" | head -n 2)"
	else
		pass step1-lspci "$(echo "$lsv" | grep -o 'Memory at [^]]*]')"
	fi
	[ "$MODE" = check ] || return
	if grep -aq 'GUEST-TEST: [1-9][0-9]* passed, 0 failed' $g; then
		pass step1-bar0-registers "$(grep -ao 'GUEST-TEST: .*' $g | tr -d '\r')"
	else
		fail step1-bar0-registers "$(grep -a 'not ok\|GUEST-TEST' $g | tr -d '\r' | head -n 3)"
	fi
	if grep -aq 'RING-RESULT: PASS' $g; then
		pass ring-userspace "$(grep -ao 'RING-RESULT: .*' $g | tr -d '\r')"
	else
		fail ring-userspace "$(grep -a 'not ok\|RING-RESULT' $g | tr -d '\r' | tail -n 4 | tr '\n' ';')"
	fi
	if grep -aq 'EVIL-RESULT: PASS' $g && grep -aq 'GUEST-DONE' $g; then
		pass malicious-guest "$(grep -ao 'EVIL-RESULT: .*' $g | tr -d '\r'); the daemon served on"
	else
		fail malicious-guest "$(grep -a 'not ok\|EVIL-RESULT' $g | tr -d '\r' | tail -n 4 | tr '\n' ';')"
	fi
	grep -ao 'RING-RESULT: PASS.*nop_us=[0-9.]*' $g | tr -d '\r' |
		sed 's/.*nop_us=/LAB-METRIC: ring_nop_round_trip_polled_us=/'
	grep -ao 'BENCH: .*' $g | tr -d '\r' | sed 's/^BENCH: /LAB-METRIC: mmio_round_trip /'
	judge_poweroff vgpu-a "$rc"
}

# judge_poweroff NAME RC: the first half of step1-shutdown (the guest
# powered itself off: its daemon exited RC, which must be 0, and no domain
# is left), kept in SHUTDOWN_POWEROFF for scenario_smp.
SHUTDOWN_POWEROFF=""
judge_poweroff() {
	if [ "$2" -ne 0 ]; then
		SHUTDOWN_POWEROFF="exit $2 after guest power-off"
	elif xl list | grep -q "$1\|(null)"; then
		SHUTDOWN_POWEROFF="domain left behind after power-off: $(xl list | tail -n +2)"
	else
		SHUTDOWN_POWEROFF=ok
	fi
}

# The power-off half of step1-shutdown on its own, for a boot in which
# scenario_step1 (whose guest powers off) did not run.
poweroff_alone() {
	if ! boot_guest vgpu-p 1 poweroff GUEST-POWEROFF; then
		show_guest vgpu-p
		SHUTDOWN_POWEROFF="the power-off guest did not come up"
		return
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	judge_poweroff vgpu-p $?
	show_guest vgpu-p
}

# ---- the guest driver: ring-nop, ring-copy, msi, intx, reload ----
scenario_driver() {
	local g=/tmp/vgpu-g-serial.log rc msi intx polled
	if ! boot_guest vgpu-g 1 driver GUEST-DONE; then
		show_guest vgpu-g
		for s in ring-nop ring-copy msi-interrupts intx-fallback driver-concurrent driver-reload driver-limits; do
			fail $s "the driver guest did not finish"
		done
		return
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-g
	msi=$(tr -d '\r' <$g | sed -n '/=== MSI RUN ===/,/=== INTX RUN ===/p')
	intx=$(tr -d '\r' <$g | sed -n '/=== INTX RUN ===/,$p')
	polled=$(tr -d '\r' <$g | sed -n '/=== POLLED RUN ===/,/=== MSI RUN ===/p')
	echo "$polled" | grep -o 'nop_us=[0-9.]*' | sed 's/^/LAB-METRIC: driver_nop_round_trip_polled_/'
	echo "$msi" | grep -o 'nop_us=[0-9.]*' | sed 's/^/LAB-METRIC: driver_nop_round_trip_msi_/'
	if echo "$msi" | grep -q 'ok [0-9]* - 10000 NOPs through /dev/vgpu_stub (0 failed)' &&
		echo "$polled" | grep -q 'DRV-RESULT: PASS'; then
		pass ring-nop "$(echo "$msi" | grep -o '10000 NOPs.*') by interrupt; $(echo "$polled" | grep -o '2000 NOPs.*') polled"
	else
		fail ring-nop "$(echo "$msi" | grep 'NOPs\|not ok\|DRV' | head -n 3 | tr '\n' ';')"
	fi
	if echo "$msi" | grep -q 'ok [0-9]* - 1 MiB copied to the device and back intact' &&
		echo "$msi" | grep -q 'ok [0-9]* - odd-sized, misaligned, page-crossing copies intact' &&
		echo "$msi" | grep -q 'ok [0-9]* - device xor matches'; then
		pass ring-copy "1 MiB and odd-sized page-crossing buffers intact through device memory"
	else
		fail ring-copy "$(echo "$msi" | grep 'not ok' | head -n 3 | tr '\n' ';')"
	fi
	if echo "$msi" | grep -q 'DRV-STATS: msi=1 interrupts=[1-9]' &&
		echo "$msi" | grep -i 'INTERRUPTS-MSI: ' | grep -qi ' [1-9][0-9]* .*msi.*vgpu_stub'; then
		pass msi-interrupts "$(echo "$msi" | grep -o 'DRV-STATS.*'); $(echo "$msi" | grep -o 'INTERRUPTS-MSI.*' | tr -s ' ')"
	else
		fail msi-interrupts "$(echo "$msi" | grep 'DRV-STATS\|INTERRUPTS' | tr '\n' ';')"
	fi
	if echo "$intx" | grep -q 'DRV-RESULT: PASS' &&
		echo "$intx" | grep -q 'DRV-STATS: msi=0 interrupts=[1-9]' &&
		grep -aq 'DRIVER-DEFAULT: .*completions by INTx' $g &&
		echo "$intx" | grep 'INTERRUPTS-INTX: ' | grep -v -i msi | grep -q ' [1-9][0-9]* .*vgpu_stub'; then
		pass intx-fallback "$(echo "$intx" | grep -o 'DRV-STATS.*'); $(echo "$intx" | grep -o 'INTERRUPTS-INTX.*' | tr -s ' ')"
	else
		fail intx-fallback "$(echo "$intx" | grep 'DRV-\|not ok\|INTERRUPTS' | head -n 4 | tr '\n' ';') $(grep -a 'DRIVER-DEFAULT' $g | tr -d '\r')"
	fi
	tr -d '\r' <$g | grep -o 'DRV-COPY: .*' | head -n 1 | sed 's/^DRV-COPY: /LAB-METRIC: driver_copy /'
	if grep -aq 'CONCURRENT: DRV-RESULT: PASS DRV-RESULT: PASS' $g; then
		pass driver-concurrent "two processes on /dev/vgpu_stub at once, both intact"
	else
		fail driver-concurrent "$(grep -a 'CONCURRENT' $g | tr -d '\r')"
	fi
	if grep -aq 'LIMITS-RESULT: PASS' $g; then
		pass driver-limits "$(grep -ao 'LIMITS-RESULT: .*' $g | tr -d '\r'): oversize lengths E2BIG before any narrowing"
	else
		fail driver-limits "$(grep -a 'not ok\|LIMITS-RESULT' $g | tr -d '\r' | head -n 4 | tr '\n' ';')"
	fi
	if [ "$(grep -ac 'RELOAD-[123]: DRV-RESULT: PASS' $g)" = 3 ] &&
		grep -aq DRIVER-UNLOADED $g && [ "$rc" = 0 ]; then
		pass driver-reload "rmmod/insmod 3 times, usable each time; unloaded clean; daemon exit 0"
	else
		fail driver-reload "$(grep -a 'RELOAD-\|DRIVER-' $g | tr -d '\r' | tr '\n' ';') daemon exit $rc"
	fi
}

# ---- driver-signals: signals while commands run, and an emulator stall ----
scenario_driver_signals() {
	local g=/tmp/vgpu-s-serial.log rc
	if ! boot_guest vgpu-s 1 drvsig SIGNALS-RUNNING; then
		show_guest vgpu-s
		fail driver-signals "the guest did not start its commands"
		return
	fi
	# stop the emulator for longer than any driver timeout, mid-traffic
	sleep 3
	kill -STOP "$DPID"
	info "driver-signals: vgpu-ioreq stopped for 13 s"
	sleep 13
	kill -CONT "$DPID"
	wait_log vgpu-s GUEST-DONE 150
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-s
	if grep -aq 'SIGNALS-RESULT: PASS' $g && grep -aq 'SIGNALS: .*longest_round_ms=[0-9]\{5,\}' $g &&
		! grep -aqi 'bug:\|oops' $g && [ "$rc" = 0 ]; then
		pass driver-signals "$(grep -ao 'SIGNALS: .*' $g | tr -d '\r'): every result exactly once across a 13 s stall"
	else
		fail driver-signals "$(grep -a 'SIGNALS\|bug:\|Oops' $g | tr -d '\r' | tail -n 4 | tr '\n' ';') daemon exit $rc$(triple_note "$DOMID")"
	fi
}

# ---- driver-restart: the emulator is killed and restarted under a user ----
scenario_driver_restart() {
	local g=/tmp/vgpu-t-serial.log why=""
	if ! boot_guest vgpu-t 1 drvrestart LOOP-RUNNING; then
		show_guest vgpu-t
		fail driver-restart "the guest did not start its commands"
		return
	fi
	sleep 3 # commands flow for a while
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	mv /tmp/vgpu-t-vgpu.log /tmp/vgpu-t-vgpu.log.1
	if ! start_fg vgpu-t "$DOMID"; then
		fail driver-restart "the restarted vgpu-ioreq never became ready: $(tail -n 3 /tmp/vgpu-t-vgpu.log | tr '\n' ' ')$(triple_note "$DOMID")"
		show_guest vgpu-t
		xl destroy vgpu-t
		return
	fi
	wait_log vgpu-t GUEST-DONE 150 || why="$why [the guest did not finish]"
	grep -aq 'LOOP-RESULT: errno=E[A-Z]*' $g || why="$why [the user got no error: $(grep -a 'LOOP-\|RESTART-' $g | tr -d '\r' | tr '\n' ' ')]"
	tr -d '\r' <$g | sed -n '/=== NEW PROCESS ===/,$p' | grep -q 'DRV-RESULT: PASS' ||
		why="$why [a new process: $(tr -d '\r' <$g | sed -n '/=== NEW PROCESS ===/,$p' | grep 'not ok\|DRV-RESULT\|NEW-' | head -n 3 | tr '\n' ' ')]"
	grep -aqi 'bug:\|oops' $g && why="$why [kernel trouble in the guest]"
	# a granted pool held across the restart: its grants (ended by the
	# killed daemon's exit) unmapped cleanly when the holder ended
	grep -aq 'GRANT-HOLD: granted=1' $g && grep -aq 'HOLD-ENDED' $g ||
		why="$why [the granted pool's holder: $(grep -a 'GRANT-HOLD\|HOLD-ENDED' $g | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'grant unmaps' $g && why="$why [$(grep -ao 'region.*grant unmaps.*' $g | head -n 1 | tr -d '\r')]"
	show_guest vgpu-t
	xl destroy vgpu-t
	wait_exit "$DPID" 20
	if [ -z "$why" ]; then
		pass driver-restart "$(grep -ao 'LOOP-RESULT: .*' $g | tr -d '\r'); a new process then passed; a granted pool held throughout, unmapped cleanly"
	else
		fail driver-restart "$why"
	fi
}

# ---- driver-unbind: sysfs unbind with users, then rebind ----
scenario_driver_unbind() {
	local g=/tmp/vgpu-u-serial.log rc why=""
	if ! boot_guest vgpu-u 1 drvunbind GUEST-DONE; then
		show_guest vgpu-u
		fail driver-unbind "the guest did not finish"
		return
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-u
	grep -aq 'UNBIND: returned' $g || why="$why [the unbind did not return]"
	grep -aq 'LOOP-RESULT: errno=ENODEV' $g || why="$why [the waiting process: $(grep -a 'LOOP-\|UNBIND-LOOP' $g | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'HOLD-RESULT: PASS' $g || why="$why [the holder: $(grep -a 'HOLD' $g | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'REBOUND: DRV-RESULT: PASS' $g || why="$why [after rebind: $(grep -a 'REBOUND' $g | tr -d '\r')]"
	grep -aq 'DRIVER-UNLOADED' $g || why="$why [rmmod failed]"
	grep -aqi 'bug:\|oops\|general protection' $g && why="$why [kernel trouble in the guest]"
	if [ -z "$why" ] && [ "$rc" = 0 ]; then
		pass driver-unbind "unbind returned; the waiter got ENODEV, the holder ENODEV with its pages still mapped; rebound and used; unloaded"
	else
		fail driver-unbind "$why daemon exit $rc"
	fi
}

# ---- driver-session: ABI 1.2 sessions from guest user space ----
scenario_driver_session() {
	local g=/tmp/vgpu-v-serial.log rc
	if ! boot_guest vgpu-v 1 drvsession GUEST-DONE; then
		show_guest vgpu-v
		fail driver-session "the guest did not finish"
		return
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-v
	tr -d '\r' <$g | grep -o 'SESSION-STREAM: .*' | sed 's/^SESSION-STREAM: /LAB-METRIC: session_stream /'
	if grep -aq 'SESSION-RESULT: SKIP' $g && grep -aq 'ISOLATE-RESULT: SKIP' $g; then
		skip driver-session "$(grep -ao 'SESSION-RESULT: SKIP.*' $g | tr -d '\r' | sed 's/SESSION-RESULT: SKIP //')"
	elif grep -aq 'SESSION-RESULT: PASS' $g && grep -aq 'ISOLATE-RESULT: PASS' $g &&
		! grep -aqi 'bug:\|oops' $g && [ "$rc" = 0 ]; then
		pass driver-session "$(grep -ao 'SESSION-STREAM: .*' $g | tr -d '\r'); two processes apart"
	else
		fail driver-session "$(grep -a 'not ok\|-RESULT' $g | tr -d '\r' | head -n 5 | tr '\n' ';') daemon exit $rc"
	fi
}

# ---- step1-smp: two vCPUs at once; then xl destroy while serving ----
scenario_smp() {
	local g=/tmp/vgpu-b-serial.log rc
	[ -n "$SHUTDOWN_POWEROFF" ] || poweroff_alone
	if ! boot_guest vgpu-b 2 smp HAMMER-DONE; then
		show_guest vgpu-b
		fail step1-smp "guest did not finish"
		fail step1-shutdown "smp guest did not finish"
		return
	fi
	if grep -aq 'HAMMER-RESULT: PASS (2 cpus)' $g; then
		pass step1-smp "$(grep -ao 'HAMMER: cpu[0-9].*' $g | tr -d '\r' | tr '\n' ';')"
	else
		fail step1-smp "$(grep -a 'HAMMER' $g | tr -d '\r' | tr '\n' ';')"
	fi
	# destroy the guest while the daemon serves it
	xl destroy vgpu-b
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-b
	if [ "$SHUTDOWN_POWEROFF" != ok ]; then
		fail step1-shutdown "$SHUTDOWN_POWEROFF"
	elif [ "$rc" -ne 0 ]; then
		fail step1-shutdown "exit $rc after xl destroy"
	elif xl list | grep -q 'vgpu-b\|(null)'; then
		fail step1-shutdown "domain left behind after xl destroy"
	else
		pass step1-shutdown "exit 0 after guest power-off and after xl destroy; no domain left"
	fi
}

# expect NAME RC PATTERN CMD...: CMD exits with RC and says PATTERN.
BAD=""
expect() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$(timeout 30 "$@" 2>&1)
	rc=$?
	[ $rc -eq 124 ] && out="(still running after 30 s) $out"
	if [ "$rc" -ne "$want" ] || ! echo "$out" | grep -q "$pat"; then
		BAD="$BAD [$* -> exit $rc: $out]"
	fi
	echo "  $* -> exit $rc: $(echo "$out" | head -n 1)"
}

# ---- bad-args, and SIGTERM teardown of a daemonised instance ----
scenario_bad_args() {
	local d n0 n1 pid rc
	mkcfg vgpu-c 1 step1
	xl create -p /tmp/vgpu-c.cfg >/dev/null 2>&1 || { fail bad-args "xl create failed"; return; }
	d=$(xl domid vgpu-c)
	n0=$(servers "$d")
	expect 1 "no domain with id 4242" vgpu-ioreq --domid 4242 -F
	expect 1 "domain 0 is not an HVM guest" vgpu-ioreq --domid 0 -F
	expect 2 "invalid --domid 'abc'" vgpu-ioreq --domid abc
	expect 2 "bus must be 00" vgpu-ioreq --domid "$d" --bdf 01:05.0
	expect 2 "expected \[SSSS:\]BB:DD.F" vgpu-ioreq --domid "$d" --bdf 00:05
	expect 2 "function must be 0" vgpu-ioreq --domid "$d" --bdf 00:05.3
	expect 1 "is used by" vgpu-ioreq --domid "$d" --bdf 00:01.0 -F
	expect 1 "no domain named 'nosuchguest'" vgpu-ioreq --domain nosuchguest -F
	# daemonised: returns 0 with the ready line once serving
	# (its stderr goes to a file: the daemon keeps it open after the
	# foreground process returns)
	timeout 30 vgpu-ioreq --domain vgpu-c --pidfile /run/vgpu-c.pid \
		--log stderr >/tmp/vgpu-c.out 2>/tmp/vgpu-c-vgpu.log
	rc=$?
	echo "  vgpu-ioreq --domain vgpu-c --pidfile /run/vgpu-c.pid -> exit $rc: $(cat /tmp/vgpu-c.out)"
	grep -q "^vgpu-ioreq: ready domid=$d sbdf=0000:00:05.0 " /tmp/vgpu-c.out && [ $rc -eq 0 ] ||
		BAD="$BAD [daemon mode: exit $rc, stdout '$(cat /tmp/vgpu-c.out)']"
	pid=$(cat /run/vgpu-c.pid 2>/dev/null)
	n1=$(servers "$d")
	# a second instance for the same function is refused
	expect 1 "is used by" vgpu-ioreq --domid "$d" -F
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" 20
	local n2
	n2=$(servers "$d")
	info "bad-args: ioreq servers before=$n0 serving=$n1 after=$n2"
	[ "$n1" = $((n0 + 1)) ] || BAD="$BAD [servers while serving: $n1, before: $n0]"
	[ "$n2" = "$n0" ] || BAD="$BAD [servers left after the failures and SIGTERM: $n2, before: $n0]"
	[ -e /run/vgpu-c.pid ] && BAD="$BAD [pid file left behind]"
	pgrep -x vgpu-ioreq >/dev/null && BAD="$BAD [vgpu-ioreq processes left: $(pgrep -x vgpu-ioreq)]"
	xl destroy vgpu-c
	# vgpu-xl: a failed start leaves no domain; a good one runs the guest
	mkcfg vgpu-x 1 idle
	expect 1 "used by QEMU's ISA bridge" vgpu-xl create /tmp/vgpu-x.cfg --bdf 00:01.0
	xl list vgpu-x >/dev/null 2>&1 && BAD="$BAD [vgpu-xl left domain vgpu-x after a failed start]"
	expect 0 "ready domid=" vgpu-xl create /tmp/vgpu-x.cfg
	d=$(xl domid vgpu-x 2>/dev/null)
	# unpaused: the state column has no 'p' ("------" is runnable)
	xl list vgpu-x 2>/dev/null | tail -n 1 | awk '{exit !($5 !~ /p/)}' ||
		BAD="$BAD [vgpu-xl: vgpu-x still paused: $(xl list vgpu-x 2>&1 | tail -n 1)]"
	[ -n "$d" ] && [ "$(servers "$d")" = 2 ] || BAD="$BAD [vgpu-xl: $(servers "$d") ioreq servers for vgpu-x]"
	pid=$(daemon_of "$d")
	vgpu-xl destroy vgpu-x
	[ -n "$pid" ] && wait_exit "$pid" 20
	if [ -z "$BAD" ]; then
		pass bad-args "clear errors, exit codes 1/2, nothing left behind; SIGTERM teardown clean; vgpu-xl create/destroy"
	else
		fail bad-args "$BAD"
	fi
}

ROOTKEY=/local/domain/0/vgpu-ioreq
DM_OVERRIDE="device_model_override = \"$XENSCRIPTDIR/vgpu-ioreq-dm\""


# wait_key PATH VALUE TIMEOUT: until a XenStore key holds VALUE
wait_key() {
	local i=0
	while [ $i -lt $(($3 * 10)) ]; do
		[ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- xl-script + depriv: plain xl create with the wrapper ----
scenario_xl_script() {
	local g=/tmp/vgpu-d-serial.log d pid st why="" attempt ok=""
	mkdir -p "$SYSCONFDIR/vgpu-ioreq"
	echo 'VGPU_IOREQ_ARGS="--depriv --log stderr"' >"$SYSCONFDIR/vgpu-ioreq/vgpu-d.conf"
	mkcfg vgpu-d 1 idle "$DM_OVERRIDE"
	for attempt in $(seq 1 $TRIES); do
		rm -f $g
		if ! xl create /tmp/vgpu-d.cfg >/tmp/vgpu-d-xl.log 2>&1; then
			cat /tmp/vgpu-d-xl.log /var/log/xen/qemu-dm-vgpu-d.log 2>/dev/null
			break
		fi
		if wait_log vgpu-d GUEST-IDLE "$GUEST_TIMEOUT"; then
			ok=1
			break
		fi
		guest_retry vgpu-d "$attempt" "$(xl domid vgpu-d 2>/dev/null)"
		xl destroy vgpu-d 2>/dev/null
	done
	d=$(xl domid vgpu-d 2>/dev/null)
	pid=$(daemon_of "$d")
	echo "----- qemu-dm log (vgpu-ioreq's stderr) -----"
	cat /var/log/xen/qemu-dm-vgpu-d.log 2>/dev/null | grep -v '^$'
	tr -d '\r' <$g 2>/dev/null | sed -n '/=== guest: lspci/,/=== end/p'
	if [ -n "$ok" ] && grep -aq 'GUEST-DEVICE: present' $g; then
		pass xl-script "plain xl create with device_model_override: 1af4:1111 in the guest's lspci"
	else
		fail xl-script "guest does not see the device (domid ${d:-none}, daemon ${pid:-none})"
	fi
	# depriv: the running worker of that guest
	if [ -z "$pid" ]; then
		fail depriv "no vgpu-ioreq serving domain $d"
	else
		st=$(grep -E '^(Uid|Gid|NoNewPrivs|Seccomp):' "/proc/$pid/status" | tr '\t\n' '  ')
		echo "  worker $pid: $st"
		grep -q "^Uid:[[:space:]]*0[[:space:]]" "/proc/$pid/status" && why="$why [runs as root]"
		grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || why="$why [no_new_privs not set]"
		grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" || why="$why [no seccomp filter]"
		[ "$(readlink "/proc/$pid/root")" = "$(readlink -f "$RUNSTATEDIR/vgpu-ioreq/empty")" ] ||
			why="$why [root is $(readlink "/proc/$pid/root"), not $RUNSTATEDIR/vgpu-ioreq/empty]"
		grep -q 'privileges dropped.*open refused' /var/log/xen/qemu-dm-vgpu-d.log ||
			why="$why [no 'privileges dropped' line in its log]"
		if "$L/lab-fd-check" "$pid" >/tmp/fdcheck.log 2>&1; then
			sed 's/^/  /' /tmp/fdcheck.log | tail -n 6
		else
			why="$why [depriv-fd-checker: $(tail -n 2 /tmp/fdcheck.log | tr '\n' ' ')]"
		fi
		if [ -z "$why" ]; then
			pass depriv "worker non-root, no_new_privs, seccomp, chrooted; depriv-fd-checker passed; open() refused"
		else
			fail depriv "$why"
		fi
	fi
	xl destroy vgpu-d 2>/dev/null
	[ -n "$pid" ] && wait_exit "$pid" 20
}

# ---- depriv-background: the README's usage, --depriv in the background ----
# Its guest warnings reach syslog from inside the chroot; stdio is
# /dev/null, it leads its own session, it holds no descriptor to its pid
# file or slot lock, and both go away with it. dom0 runs no syslog
# daemon: busybox syslogd serves /dev/log for this scenario.
depriv_bg_checks() { # PID DOMID: what is wrong with the running daemon
	local pid=$1 fd t
	for fd in 0 1 2; do
		t=$(readlink "/proc/$pid/fd/$fd")
		[ "$t" = /dev/null ] || echo " [fd $fd is $t]"
	done
	for fd in /proc/"$pid"/fd/*; do
		t=$(readlink "$fd")
		case $t in /run/vgpu-h.pid | "$RUNSTATEDIR/vgpu-ioreq/d$2-05.0.lock") echo " [holds $t]" ;; esac
	done
	[ "$(cut -d' ' -f6 "/proc/$pid/stat")" = "$pid" ] || echo " [not a session leader]"
	grep -q "^Uid:[[:space:]]*0[[:space:]]" "/proc/$pid/status" && echo " [runs as root]"
	[ -e /run/vgpu-h.pid ] && [ -e "$RUNSTATEDIR/vgpu-ioreq/d$2-05.0.lock" ] || echo " [pid file or lock missing while serving]"
}

scenario_depriv_background() {
	local log=/tmp/vgpu-syslog.log slpid="" d pid out rc why="" i attempt
	if [ ! -S /dev/log ]; then
		rm -f $log
		busybox syslogd -n -O $log &
		slpid=$!
		i=0
		while [ ! -S /dev/log ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	fi
	[ -S /dev/log ] || { fail depriv-background "no /dev/log (busybox syslogd: $(busybox syslogd --help 2>&1 | head -n 1))"; return; }
	mkcfg vgpu-h 1 step1
	for attempt in $(seq 1 $TRIES); do
		why=""
		rm -f /tmp/vgpu-h-serial.log
		xl create -p /tmp/vgpu-h.cfg >/dev/null 2>&1 || { why=" [xl create failed]"; break; }
		d=$(xl domid vgpu-h)
		# (stdout to a file: a daemon that kept it would hold up $(...))
		timeout 30 vgpu-ioreq --domid "$d" --depriv --pidfile /run/vgpu-h.pid \
			>/tmp/vgpu-h.out 2>/tmp/vgpu-h-err.log
		rc=$?
		out=$(cat /tmp/vgpu-h.out)
		echo "  vgpu-ioreq --domid $d --depriv --pidfile /run/vgpu-h.pid -> exit $rc: $out $(cat /tmp/vgpu-h-err.log)"
		pid=$(cat /run/vgpu-h.pid 2>/dev/null)
		if [ $rc -ne 0 ] || [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then
			why=" [exit $rc, pid '$pid': $out $(cat /tmp/vgpu-h-err.log)]"
			xl destroy vgpu-h
			break
		fi
		why=$(depriv_bg_checks "$pid" "$d")
		xl unpause vgpu-h
		# the guest's register test reads unimplemented offsets
		i=0
		while ! grep -q "vgpu-ioreq\[$pid\]: .*guest: " $log 2>/dev/null && [ $i -lt $((GUEST_TIMEOUT * 4)) ]; do
			alive vgpu-h || break
			sleep 0.25
			i=$((i + 1))
		done
		xl destroy vgpu-h 2>/dev/null
		wait_exit "$pid" 20
		grep -q "vgpu-ioreq\[$pid\]: .*guest: " $log && break
		grep -a "Triple fault\|GUEST-" /tmp/vgpu-h-serial.log 2>/dev/null | tail -n 3
		info "depriv-background: attempt $attempt: no guest warning in syslog (guest crash under nested TCG?)"
	done
	echo "----- syslog (vgpu-ioreq[$pid]) -----"
	grep "vgpu-ioreq\[$pid\]" $log 2>/dev/null | head -n 20
	grep -q "vgpu-ioreq\[$pid\]: .*privileges dropped.*open refused" $log || why="$why [no 'privileges dropped' line in syslog]"
	grep -q "vgpu-ioreq\[$pid\]: .*guest: " $log || why="$why [no guest warning in syslog]"
	i=0
	while { [ -e /run/vgpu-h.pid ] || [ -e "$RUNSTATEDIR/vgpu-ioreq/d$d-05.0.lock" ]; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e /run/vgpu-h.pid ] && why="$why [pid file left behind]"
	[ -e "$RUNSTATEDIR/vgpu-ioreq/d$d-05.0.lock" ] && why="$why [slot lock left behind]"
	pgrep -x vgpu-ioreq-lock >/dev/null && why="$why [lock helper left: $(pgrep -x vgpu-ioreq-lock)]"
	[ -n "$slpid" ] && kill "$slpid" && rm -f /dev/log
	if [ -z "$why" ]; then
		pass depriv-background "stdio /dev/null, own session, non-root, no descriptor to its run files; guest warnings in syslog from the chroot; pid file and lock gone after"
	else
		fail depriv-background "$why"
	fi
}

# ---- reboot-loop: REBOOTS x guest reboot, a new domid each time ----
# After each boot's report: the new domain has exactly 2 ioreq servers
# (qemu's and the new vgpu-ioreq's, sampled while the guest is up: it
# reboots 1 s after its report) and exactly one device vgpu-ioreq and
# its save watcher run, both for the new domain (the previous domain's
# ended with it).
REBOOTS=20
scenario_reboot_loop() {
	local g=/tmp/vgpu-r-serial.log i d last="" seen="" why="" left n s t0 procs mine watch
	mkcfg vgpu-r 1 reboot "$DM_OVERRIDE" 'on_reboot = "restart"'
	sed -i 's/^on_reboot = "destroy"$//' /tmp/vgpu-r.cfg
	rm -f "$SYSCONFDIR/vgpu-ioreq/vgpu-r.conf"
	rm -f $g
	t0=$(ms_now)
	xl create /tmp/vgpu-r.cfg >/tmp/vgpu-r-xl.log 2>&1 || { fail reboot-loop "xl create failed"; return; }
	for i in $(seq 1 $REBOOTS); do
		# a new domain (after a reboot), then its guest's report; the
		# domain's ioreq servers sampled meanwhile
		local t=0
		n=""
		while :; do
			d=$(xl domid vgpu-r 2>/dev/null)
			if [ -n "$d" ] && [ "$d" != "$last" ]; then
				s=$(servers "$d")
				[[ $s =~ ^[0-9]+$ ]] && n=$s
				grep -aq 'REBOOT-DEVICE' $g 2>/dev/null && break
			fi
			t=$((t + 1))
			[ $t -gt $((GUEST_TIMEOUT * 4)) ] && break
			sleep 0.25
		done
		if ! grep -aq 'REBOOT-DEVICE: present' $g 2>/dev/null; then
			why="$why [boot $i (domid ${d:-none}): $(grep -ao 'REBOOT-DEVICE: [a-z]*' $g 2>/dev/null || echo 'no report')]"
			break
		fi
		# one device and the xl script's save watcher beside it, both
		# for this domain: the previous domain's ended with it
		procs=$(pgrep -x vgpu-ioreq | wc -l)
		mine=$(daemons_of "$d" | wc -l)
		watch=$(watchers_of "$d" | wc -l)
		[ "$n" = 2 ] || why="$why [boot $i (domid $d): ${n:-no} ioreq servers, 2 expected]"
		[ "$procs/$mine/$watch" = 2/1/1 ] ||
			why="$why [boot $i (domid $d): $procs vgpu-ioreq processes ($mine device, $watch save watcher for this domain), 2 expected: $(pgrep -af vgpu-ioreq | tr '\n' ';')]"
		seen="$seen $d"
		last=$d
		[ -z "$why" ] || break
		# wait until the next device model truncates this boot's console
		t=0
		while grep -aq 'REBOOT-DEVICE' $g 2>/dev/null && [ $t -lt $((GUEST_TIMEOUT * 4)) ]; do
			sleep 0.25
			t=$((t + 1))
		done
	done
	xl destroy vgpu-r 2>/dev/null
	sleep 2 # the last daemon notices within its 1 s liveness check
	left=$(pgrep -x vgpu-ioreq | tr '\n' ' ')
	[ -n "$left" ] && why="$why [vgpu-ioreq processes left: $left]"
	xl list | grep -q '(null)' && why="$why [dying domains left]"
	info "reboot-loop: domids$seen; $(echo $seen | wc -w) boots in $((($(ms_now) - t0) / 1000)) s"
	if [ -z "$why" ] && [ "$(echo $seen | wc -w)" -eq $REBOOTS ]; then
		pass reboot-loop "device present in $REBOOTS boots (domids$seen), 2 ioreq servers, one device and one save watcher after each, nothing left"
	else
		fail reboot-loop "$why"
	fi
}

# ---- kill-restart: kill -9 the worker mid-traffic, start it again ----
scenario_kill_restart() {
	local g=/tmp/vgpu-k-serial.log n pid2 why=""
	if ! boot_guest vgpu-k 1 traffic TRAFFIC-START; then
		show_guest vgpu-k
		fail kill-restart "guest did not start its traffic"
		return
	fi
	sleep 3 # traffic flows for a while
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	info "kill-restart: worker $DPID killed; ioreq servers now $(servers "$DOMID")"
	sleep 1 # the guest's vCPU is blocked on the dead worker meanwhile
	mv /tmp/vgpu-k-vgpu.log /tmp/vgpu-k-vgpu.log.1
	if ! start_fg vgpu-k "$DOMID"; then
		fail kill-restart "the restarted vgpu-ioreq never became ready: $(tail -n 3 /tmp/vgpu-k-vgpu.log | tr '\n' ' ')$(triple_note "$DOMID")"
		show_guest vgpu-k
		xl destroy vgpu-k
		return
	fi
	pid2=$DPID
	n=$(servers "$DOMID")
	wait_log vgpu-k TRAFFIC-DONE 90 || why="$why [guest traffic did not finish: vCPU hung?]"
	grep -q 'reattaching to ioreq server' /tmp/vgpu-k-vgpu.log || why="$why [no reattach in the new worker's log]"
	grep -aq 'TRAFFIC-RESULT: PASS' $g || why="$why [$(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r')]"
	[ "$n" = 2 ] || why="$why [$n ioreq servers after the restart, 2 expected: qemu's and ours]"
	show_guest vgpu-k
	xl destroy vgpu-k
	wait_exit "$pid2" 20
	if [ -z "$why" ]; then
		pass kill-restart "reattached, guest traffic intact: $(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r'); servers=$n"
	else
		fail kill-restart "$why"
	fi
}

# ---- kill-restart-nostate: the worker dies and its state file is lost ----
scenario_kill_restart_nostate() {
	local g=/tmp/vgpu-n-serial.log n why="" pid2
	if ! boot_guest vgpu-n 1 traffic TRAFFIC-START; then
		show_guest vgpu-n
		fail kill-restart-nostate "guest did not start its traffic"
		return
	fi
	sleep 3 # traffic flows for a while
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	rm -f "$RUNSTATEDIR/vgpu-ioreq/d$DOMID-"*.state
	info "kill-restart-nostate: worker $DPID killed, its state file removed; ioreq servers now $(servers "$DOMID")"
	mv /tmp/vgpu-n-vgpu.log /tmp/vgpu-n-vgpu.log.1
	if ! start_fg vgpu-n "$DOMID"; then
		fail kill-restart-nostate "the restarted vgpu-ioreq never became ready: $(tail -n 2 /tmp/vgpu-n-vgpu.log)$(triple_note "$DOMID")"
		show_guest vgpu-n
		xl destroy vgpu-n
		return
	fi
	pid2=$DPID
	n=$(servers "$DOMID")
	# the guest's vCPU was blocked on the dead worker's server: it must
	# get an answer (all-ones: the device's state died with the worker)
	wait_log vgpu-n TRAFFIC-DONE 90 || why="$why [guest traffic did not finish: vCPU hung?]"
	wait_log vgpu-n TRAFFIC-DEVICE 30 || why="$why [no device check after the traffic]"
	grep -q 'with no state file for it.*answered [0-9]* waiting request' /tmp/vgpu-n-vgpu.log ||
		why="$why [no release of the dead worker's server in the new worker's log]"
	grep -aq 'TRAFFIC-DEVICE: present' $g || why="$why [the guest lost the function]"
	# the traffic stops at its first wrong value: all-ones, the reset
	grep -aq 'TRAFFIC-RESULT: FAIL .*first_error=+0x[0-9a-f]*:0xffffffff' $g ||
		why="$why [the guest did not read all-ones after the restart: $(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r')]"
	[ "$n" = 2 ] || why="$why [$n ioreq servers after the restart, 2 expected: qemu's and the new one]"
	show_guest vgpu-n
	xl destroy vgpu-n
	wait_exit "$pid2" 20
	if [ -z "$why" ]; then
		pass kill-restart-nostate "dead worker's server released ($(grep -o 'answered [0-9]* waiting request(s)' /tmp/vgpu-n-vgpu.log)), guest not hung ($(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r'): the function was reset), function present; servers=$n"
	else
		fail kill-restart-nostate "$why"
	fi
}

# ---- xenstore-attach: a xenstore-write is the only trigger ----
start_supervisor() {
	vgpu-ioreqd --foreground --log stderr --worker-arg=--depriv \
		--worker-arg=--log-level=info >/tmp/vgpu-ioreqd.out 2>/tmp/vgpu-ioreqd.log &
	SUP=$!
	local i=0
	while ! grep -q 'ready' /tmp/vgpu-ioreqd.out 2>/dev/null && [ $i -lt 100 ]; do
		kill -0 $SUP 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	grep -q 'ready' /tmp/vgpu-ioreqd.out
}

scenario_xenstore_attach() {
	local g=/tmp/vgpu-e-serial.log d k why="" states
	if ! start_supervisor; then
		fail xenstore-attach "vgpu-ioreqd did not start: $(cat /tmp/vgpu-ioreqd.log)"
		return
	fi
	mkcfg vgpu-e 1 idle
	local attempt watcher
	for attempt in $(seq 1 $TRIES); do
		why=""
		rm -f $g
		xl create -p /tmp/vgpu-e.cfg >/dev/null 2>&1 || { fail xenstore-attach "xl create failed"; return; }
		d=$(xl domid vgpu-e)
		k=$ROOTKEY/$d
		# record every value the state key takes
		(xenstore-watch "$k/state" 2>/dev/null | while read -r _; do
			xenstore-read "$k/state" 2>/dev/null
		done) >/tmp/vgpu-e.states &
		watcher=$!
		sleep 0.5 # the watch is registered
		xenstore-write "$k/request" attach
		wait_key "$k/state" running 30 || why="$why [state $(xenstore-read "$k/state" 2>&1): $(xenstore-read "$k/error" 2>&1)]"
		info "xenstore-attach: pid=$(xenstore-read "$k/pid" 2>&1) ioservid=$(xenstore-read "$k/ioservid" 2>&1) sbdf=$(xenstore-read "$k/sbdf" 2>&1)"
		xenstore-ls -p "$ROOTKEY" | head -n 3 | sed 's/^/  /'
		xenstore-ls -p /local/domain/0 | grep -q 'vgpu-ioreq = "".*(n0)' || why="$why [$ROOTKEY is not dom0-only]"
		xl unpause vgpu-e
		wait_log vgpu-e GUEST-IDLE "$GUEST_TIMEOUT" && break
		# the guest died (nested TCG): start over with a new domain
		guest_retry vgpu-e "$attempt" "$d"
		xl destroy vgpu-e 2>/dev/null
		kill $watcher 2>/dev/null
		pkill -f "xenstore-watch $k/state"
	done
	grep -aq 'GUEST-DEVICE: present' $g || why="$why [guest does not see the device]"
	xenstore-write "$k/request" detach
	wait_key "$k/state" closed 20 || why="$why [no closed state after detach]"
	xl destroy vgpu-e
	local i=0
	while xenstore-exists "$k" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	xenstore-exists "$k" 2>/dev/null && why="$why [$k left after the domain's end]"
	kill $watcher 2>/dev/null
	pkill -f "xenstore-watch $k/state"
	states=$(tr '\n' ' ' </tmp/vgpu-e.states | sed 's/ $//')
	echo "  states seen: $states"
	echo "$states" | grep -q 'initialising.*running.*closed' || why="$why [states seen: $states]"
	show_guest vgpu-e
	if [ -z "$why" ]; then
		pass xenstore-attach "states: $states; keys removed with the domain"
	else
		fail xenstore-attach "$why"
	fi
}

# ---- xenstore-bad-input: malformed requests get state=error ----
scenario_xenstore_bad_input() {
	local d k why="" e
	# the supervisor xenstore-attach left running, or one of its own
	# (not "kill -0 0": that is this process group, always there)
	if ! { [ -n "${SUP:-}" ] && kill -0 "$SUP" 2>/dev/null; } && ! start_supervisor; then
		fail xenstore-bad-input "vgpu-ioreqd did not start"
		return
	fi
	mkcfg vgpu-f 1 idle
	xl create -p /tmp/vgpu-f.cfg >/dev/null 2>&1 || { fail xenstore-bad-input "xl create failed"; return; }
	d=$(xl domid vgpu-f)
	k=$ROOTKEY/$d
	bad() { # KEYDIR REQUEST WANTED-ERROR
		xenstore-write "$1/request" "$2"
		if wait_key "$1/state" error 30; then
			e=$(xenstore-read "$1/error")
			echo "  $1/request=$2 -> error: $e"
			echo "$e" | grep -q "$3" || why="$why [$1/request=$2: error '$e']"
		else
			why="$why [$1/request=$2: state $(xenstore-read "$1/state" 2>&1)]"
		fi
		xenstore-rm "$1/state" 2>/dev/null
	}
	bad "$k" frobnicate "unknown request 'frobnicate'"
	bad "$ROOTKEY/abc" attach "not a domain id"
	bad "$ROOTKEY/4242" attach "no domain with id 4242"
	xenstore-write "$k/bdf" 00:01.0
	bad "$k" attach "is used by QEMU's ISA bridge"
	xenstore-write "$k/bdf" zz
	bad "$k" attach "invalid --bdf 'zz'"
	xenstore-rm "$k/bdf"
	kill -0 "$SUP" 2>/dev/null || why="$why [vgpu-ioreqd died]"
	# a good request still works afterwards
	xenstore-write "$k/request" attach
	wait_key "$k/state" running 30 || why="$why [a good attach after the bad ones: $(xenstore-read "$k/state" 2>&1) $(xenstore-read "$k/error" 2>&1)]"
	[ "$(servers "$d")" = 2 ] || why="$why [$(servers "$d") ioreq servers]"
	xl destroy vgpu-f
	xenstore-rm "$ROOTKEY/abc" 2>/dev/null
	xenstore-rm "$ROOTKEY/4242" 2>/dev/null
	kill -TERM "$SUP"
	wait_exit "$SUP" 20
	echo "----- vgpu-ioreqd log -----"
	tail -n 30 /tmp/vgpu-ioreqd.log
	if [ -z "$why" ]; then
		pass xenstore-bad-input "unknown request, bad domid, missing domain, QEMU's slot, bad bdf: state=error with a reason; supervisor alive; good attach after"
	else
		fail xenstore-bad-input "$why"
	fi
}

for f in "$L"/scenarios-*.sh; do
	# shellcheck disable=SC1090
	[ -f "$f" ] && . "$f"
done
# the package's postinst creates the user --depriv drops to: not made here,
# so that a package that fails to is seen (the depriv scenarios fail)
id vgpu-ioreq >/dev/null 2>&1 || info "no user vgpu-ioreq in dom0: the vgpu-ioreq package's postinst did not create it"
info "installed: $(dpkg-query -W -f '${Package} ${Version} ${Status}' vgpu-ioreq 2>&1)"
shift
info "scenarios ($MODE) start at $(cut -d' ' -f1 /proc/uptime)s, vgpu-ioreq $(vgpu-ioreq --version 2>&1): $*"
for fn in "$@"; do
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo "LAB-SCENARIO-BEGIN: $fn at ${t0}s"
	if [ "$(type -t "$fn")" = function ]; then
		"$fn"
	else
		echo "LAB-INFO: no scenario function $fn in this dom0"
	fi
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "LAB-SCENARIO-END: $fn at ${t1}s ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s)"
done
info "scenarios done at $(cut -d' ' -f1 /proc/uptime)s"
