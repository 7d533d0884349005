# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The lab's host scenarios (sourced by scenarios.sh, whose helpers they
# use): a dom0 running several guests at once, as an administrator would.
#
# multi-guest: three HVM guests at once, each with its own vgpu-ioreq, each
# launched another way: vgpu-ma by hand (xl create -p, vgpu-ioreq
# --foreground, xl unpause), vgpu-mb through the xl script
# (device_model_override), vgpu-mc through the XenStore supervisor
# (vgpu-ioreqd, a request key). Every guest runs rounds of traffic until it
# is destroyed (guest-init, modes multiregs and multiring): vgpu-ma BAR0
# register traffic (what survives its emulator's SIGKILL: its queues would
# be failed with VGPU_QERR_RESTART, by design) and a timed MMIO benchmark,
# the other two a command queue from user space (NOPs, copies through
# device memory, compute). Each guest marks its own device's scratch RAM
# with a random tag and checks it every round.

# s for one round of one guest under the load of the others: 3 guests, 3
# daemons that busy-poll hot queues and dom0 on 2 emulated CPUs, on a
# 2-core host (a ring round's NOP took 0.5 to 80 ms here)
MG_ROUND_S=150

declare -A MG_DOM MG_PID MG_READY

# mg_rounds NAME: the rounds the guest's console shows so far
mg_rounds() {
	local n
	n=$(grep -ac 'MULTI-ROUND [0-9]*:' "/tmp/$1-serial.log" 2>/dev/null)
	echo "${n:-0}"
}

# mg_wait NAME N [TIMEOUT]: until the guest's console shows N rounds (the
# guest runs on its own clock: its console is dom0's only view of it). On
# failure, says why on stdout: the domain's end (and a triple fault Xen
# logged for it: nested SVM under TCG), or the guest's last step.
mg_wait() {
	local i=0 t=${3:-$MG_ROUND_S} d
	while [ "$(mg_rounds "$1")" -lt "$2" ] && [ $i -lt $((t * 4)) ]; do
		alive "$1" || break
		sleep 0.25
		i=$((i + 1))
	done
	[ "$(mg_rounds "$1")" -ge "$2" ] && return 0
	d=${MG_DOM[$1]:-}
	if ! alive "$1"; then
		echo "LAB-INFO: multi-guest: $1 (domid $d) is gone$(xl dmesg | grep -q "d${d}v[0-9]* Triple fault" && echo ": triple fault in Xen's log")"
	else
		echo "LAB-INFO: multi-guest: $1: $(mg_rounds "$1") rounds after ${t} s, $2 wanted; its last line: $(grep -a 'MULTI-' "/tmp/$1-serial.log" | tail -n 1 | tr -d '\r')"
	fi
	return 1
}

# The three ways of giving a guest its device. Each sets MG_DOM, MG_PID
# (the daemon) and MG_READY (launch to ready, ms) for the guest.
mg_launch_hand() {
	local n=$1
	xl create -p "/tmp/$n.cfg" >"/tmp/$n-xl.log" 2>&1 || return 1
	MG_DOM[$n]=$(xl domid "$n")
	start_fg "$n" "${MG_DOM[$n]}" || return 1
	MG_PID[$n]=$DPID
	MG_READY[$n]=$READY_MS
	xl unpause "$n"
}

# launch to ready as the daemon itself counts it (its log is the domain's
# qemu-dm log, which libxl rotates at every domain build)
mg_launch_xl() {
	local n=$1
	xl create "/tmp/$n.cfg" >"/tmp/$n-xl.log" 2>&1 || return 1
	mg_xl_found "$n"
}
mg_xl_found() {
	MG_DOM[$1]=$(xl domid "$1")
	MG_PID[$1]=$(daemon_of "${MG_DOM[$1]}")
	MG_READY[$1]=$(sed -n 's/.*ready \([0-9.]*\) ms after start.*/\1/p' \
		"/var/log/xen/qemu-dm-$1.log" 2>/dev/null | tail -n 1)
	[ -n "${MG_PID[$1]}" ]
}

# launch to ready: the request key written to state=running read back
mg_launch_xs() {
	local n=$1 k t0
	xl create -p "/tmp/$n.cfg" >"/tmp/$n-xl.log" 2>&1 || return 1
	MG_DOM[$n]=$(xl domid "$n")
	k=$ROOTKEY/${MG_DOM[$n]}
	t0=$(ms_now)
	xenstore-write "$k/request" attach
	wait_key "$k/state" running 30 || return 1
	MG_READY[$n]=$(($(ms_now) - t0))
	MG_PID[$n]=$(xenstore-read "$k/pid")
	xl unpause "$n"
}

# mg_up NAME HOW: launch the guest and wait for its first round; one that
# does not come up (nested SVM under TCG triple-faults guests, most often
# while they boot) is destroyed and launched again. The guests boot one
# after another: three at once triple-faulted two of them here.
mg_up() {
	local n=$1 a
	for a in $(seq 1 "$TRIES"); do
		rm -f "/tmp/$n-serial.log"
		"mg_launch_$2" "$n" || return 1
		mg_wait "$n" 1 "$GUEST_TIMEOUT" && return 0
		guest_retry "$n" "$a" "${MG_DOM[$n]}"
		xl destroy "$n" 2>/dev/null
		[ -n "${MG_PID[$n]}" ] && wait_exit "${MG_PID[$n]}" 20
	done
	return 1
}

# mg_all_up: the three guests up and running rounds at the same time (a
# guest that died while the next one booted is launched again, twice at
# most); MG_WHY says which one did not come up. (Not in a subshell: the
# daemon started by hand is this shell's child.)
mg_all_up() {
	local n how pass
	for pass in 1 2 3; do
		for n in vgpu-ma:hand vgpu-mb:xl vgpu-mc:xs; do
			how=${n#*:}
			n=${n%:*}
			alive "$n" && [ "$(mg_rounds "$n")" -ge 1 ] && continue
			xl destroy "$n" 2>/dev/null
			[ -n "${MG_PID[$n]:-}" ] && wait_exit "${MG_PID[$n]}" 20
			[ "$pass" -gt 1 ] && guest_retry "$n" "$pass" "${MG_DOM[$n]:-}"
			mg_up "$n" "$how" || { MG_WHY="$n (launched by $how) did not come up"; return 1; }
		done
		alive vgpu-ma && alive vgpu-mb && alive vgpu-mc && return 0
	done
	MG_WHY="the three guests were never up at once"
	return 1
}

# mg_bench NAME ROUND: the guest's MMIO figures of that round
mg_bench() {
	grep -a "MULTI-BENCH $2: " "/tmp/$1-serial.log" | tr -d '\r' | sed 's/.*: //; s/ *$//'
}

# mg_clean: every guest and daemon of this scenario gone
mg_clean() {
	local n
	for n in vgpu-ma vgpu-mb vgpu-mc; do xl destroy "$n" 2>/dev/null; done
	for n in vgpu-ma vgpu-mb vgpu-mc; do
		[ -n "${MG_PID[$n]:-}" ] && wait_exit "${MG_PID[$n]}" 20
	done
	[ -n "${SUP:-}" ] && kill -TERM "$SUP" 2>/dev/null && wait_exit "$SUP" 20
}

# mg_leftovers: what of the scenario is still there (processes, domains)
mg_leftovers() {
	local i=0 p d
	while [ $i -lt 40 ]; do
		p=$(pgrep -f 'vgpu-ioreq|xen-domid [0-9]' | tr '\n' ' ')
		d=$(xl list | tail -n +3 | awk '{print $1 "(" $2 ")"}' | tr '\n' ' ')
		[ -z "$p$d" ] && return 0
		sleep 0.25
		i=$((i + 1))
	done
	[ -n "$p" ] && echo " [processes left: $(for x in $p; do tr '\0' ' ' <"/proc/$x/cmdline" 2>/dev/null | cut -c1-60; echo ";"; done | tr -d '\n')]"
	[ -n "$d" ] && echo " [domains left: $d]"
}

# mg_lines FILE: a console's complete lines (one read while the guest
# wrote, or cut by the domain's end, may end in half a line)
mg_lines() {
	if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi | tr -d '\r'
}

# mg_errors FILE: every round line that is not a pass with its own tag, and
# kernel trouble, in a guest's console
mg_errors() {
	mg_lines "$1" | grep -a 'MULTI-ROUND [0-9]*:' | grep -v 'RESULT: PASS.*TAG: ok' | head -n 2
	mg_lines "$1" | grep -ai 'bug:\|oops\|MULTI-DEVICE: absent' | head -n 2
}

scenario_multi_guest() {
	local a=vgpu-ma b=vgpu-mb c=vgpu-mc n why="" na nb nc d k old busy alone e
	mkcfg $a 1 multiregs
	mkcfg $b 1 multiring "$DM_OVERRIDE" 'on_reboot = "restart"'
	sed -i '/^on_reboot = "destroy"$/d' /tmp/$b.cfg
	mkcfg $c 1 multiring
	mkdir -p "$SYSCONFDIR/vgpu-ioreq"
	echo 'VGPU_IOREQ_ARGS="--depriv --log stderr"' >"$SYSCONFDIR/vgpu-ioreq/$b.conf"
	if ! { [ -n "${SUP:-}" ] && kill -0 "$SUP" 2>/dev/null; } && ! start_supervisor; then
		fail multi-guest "vgpu-ioreqd did not start: $(cat /tmp/vgpu-ioreqd.log)"
		return
	fi
	rm -f /tmp/$a-serial.log /tmp/$b-serial.log /tmp/$c-serial.log
	MG_PID=() MG_DOM=() MG_READY=()
	mg_all_up || why="[$MG_WHY: $(cat /tmp/$a-xl.log /tmp/$b-xl.log /tmp/$c-xl.log 2>/dev/null | tail -n 3 | tr '\n' ' ') $(xenstore-read "$ROOTKEY/${MG_DOM[$c]:-x}/error" 2>/dev/null)]"
	if [ -n "$why" ]; then
		for n in $a $b $c; do show_guest $n; done
		mg_clean
		fail multi-guest "$why"
		return
	fi
	mg_xl_found $b # its figures from its log, now written
	for n in $a $b $c; do
		e=$(servers "${MG_DOM[$n]}")
		[ "$e" = 2 ] || why="$why [$n: $e ioreq servers]"
		info "multi-guest: $n domid ${MG_DOM[$n]}, vgpu-ioreq pid ${MG_PID[$n]}, ready ${MG_READY[$n]} ms, $e ioreq servers, $(grep -a 'MULTI-TAG' /tmp/$n-serial.log | tr -d '\r')"
	done
	metric "multi_guest_launch_to_ready_ms by_hand=${MG_READY[$a]} xl_script=${MG_READY[$b]} (its own count) xenstore=${MG_READY[$c]} (request to state=running)"
	metric "multi_guest_rss_kb by_hand=$(rss_kb "${MG_PID[$a]}") xl_script=$(rss_kb "${MG_PID[$b]}") xenstore=$(rss_kb "${MG_PID[$c]}") supervisor=$(rss_kb "$SUP")"
	# the MMIO figures of a round of vgpu-ma that began with all three up
	na=$(mg_rounds $a)
	mg_wait $a $((na + 2)) || why="$why [$a: no round with all three running]"
	busy=$(mg_bench $a $((na + 2)))

	# 1. vgpu-ma's daemon killed: it reattaches, its guest carries on
	na=$(mg_rounds $a) nb=$(mg_rounds $b) nc=$(mg_rounds $c)
	kill -9 "${MG_PID[$a]}"
	wait "${MG_PID[$a]}" 2>/dev/null
	mv /tmp/$a-vgpu.log /tmp/$a-vgpu.log.1
	if start_fg $a "${MG_DOM[$a]}"; then
		MG_PID[$a]=$DPID
		grep -q 'reattaching to ioreq server' /tmp/$a-vgpu.log || why="$why [$a: no reattach in the new daemon's log]"
		e=$(servers "${MG_DOM[$a]}")
		[ "$e" = 2 ] || why="$why [$a after the kill: $e ioreq servers]"
		info "multi-guest: $a's vgpu-ioreq killed with SIGKILL, the new one ready in $READY_MS ms, $e ioreq servers"
	else
		why="$why [$a: the restarted vgpu-ioreq never became ready]"
	fi
	mg_wait $a $((na + 2)) || why="$why [$a: no round after its daemon's restart]"
	mg_wait $b $((nb + 1)) && mg_wait $c $((nc + 1)) || why="$why [$b or $c stopped while $a's daemon restarted]"

	# 2. vgpu-mb rebooted: a new domain, a new daemon, its device back
	old=${MG_DOM[$b]}
	na=$(mg_rounds $a) nc=$(mg_rounds $c)
	cp /tmp/$b-serial.log /tmp/$b-serial.boot1
	# -F: an ACPI reset where the guest's kernel has no PV control
	xl reboot -F $b >/tmp/$b-reboot.log 2>&1 || why="$why [xl reboot -F $b: $(cat /tmp/$b-reboot.log)]"
	wait_exit "${MG_PID[$b]}" 60 || why="$why [$b's first vgpu-ioreq still runs after the reboot]"
	local i=0 tag1 back=""
	tag1=$(grep -a 'MULTI-TAG' /tmp/$b-serial.boot1 | tr -d '\r')
	while [ $i -lt $((GUEST_TIMEOUT * 4)) ]; do
		d=$(xl domid $b 2>/dev/null)
		[ -n "$d" ] && [ "$d" != "$old" ] && [ "$(mg_rounds $b)" -ge 1 ] &&
			grep -a 'MULTI-TAG' /tmp/$b-serial.log | tr -d '\r' | grep -vqx "$tag1" && back=1 && break
		sleep 0.25
		i=$((i + 1))
	done
	if [ -n "$back" ]; then
		mg_xl_found $b
		e=$(servers "$d")
		[ "$e" = 2 ] || why="$why [$b after its reboot: $e ioreq servers]"
		info "multi-guest: $b rebooted: domid $old -> $d, its new vgpu-ioreq (pid ${MG_PID[$b]}) ready in ${MG_READY[$b]} ms, $e ioreq servers"
	else
		why="$why [$b did not come back from its reboot (domid ${d:-none}): $(grep -a 'GUEST-\|MULTI-' /tmp/$b-serial.log 2>/dev/null | tail -n 2 | tr -d '\r' | tr '\n' ' ')]"
	fi
	mg_wait $a $((na + 1)) && mg_wait $c $((nc + 1)) || why="$why [$a or $c stopped while $b rebooted]"

	# 3. vgpu-mc destroyed: its worker ends, its keys go, the others run on
	k=$ROOTKEY/${MG_DOM[$c]}
	na=$(mg_rounds $a) nb=$(mg_rounds $b)
	xl destroy $c
	wait_exit "${MG_PID[$c]}" 20 || why="$why [$c's worker still runs after xl destroy]"
	i=0
	while xenstore-exists "$k" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	xenstore-exists "$k" 2>/dev/null && why="$why [$k left after $c's end]"
	kill -0 "$SUP" 2>/dev/null || why="$why [vgpu-ioreqd died]"
	mg_wait $a $((na + 1)) && mg_wait $b $((nb + 1)) || why="$why [$a or $b stopped after $c's end]"

	# vgpu-ma alone: a round that began after vgpu-mb's end
	xl destroy $b
	wait_exit "${MG_PID[$b]}" 20 || why="$why [$b's vgpu-ioreq still runs after xl destroy]"
	na=$(mg_rounds $a)
	mg_wait $a $((na + 2)) || why="$why [$a: no round alone]"
	alone=$(mg_bench $a $((na + 2)))
	metric "multi_guest_mmio_round_trip_us three_daemons_busy: $busy; one_guest_alone: $alone"
	xl destroy $a
	wait_exit "${MG_PID[$a]}" 20 || why="$why [$a's vgpu-ioreq still runs after xl destroy]"
	wait "${MG_PID[$a]}" 2>/dev/null
	kill -TERM "$SUP"
	wait_exit "$SUP" 20 || why="$why [vgpu-ioreqd did not end on SIGTERM]"
	SUP=""
	why="$why$(mg_leftovers)"
	for n in /tmp/$a-serial.log /tmp/$b-serial.boot1 /tmp/$b-serial.log /tmp/$c-serial.log; do
		e=$(mg_errors "$n")
		[ -z "$e" ] || why="$why [${n#/tmp/}: $(echo "$e" | tr '\n' ';')]"
	done
	info "multi-guest: rounds $a $(mg_rounds $a), $b $(grep -ac 'MULTI-ROUND' /tmp/$b-serial.boot1)+$(mg_rounds $b), $c $(mg_rounds $c)"
	for n in $a $b $c; do show_guest $n; done
	echo "----- vgpu-ioreq log $a, before its SIGKILL -----"
	tail -n 20 /tmp/$a-vgpu.log.1 2>/dev/null
	echo "----- vgpu-ioreqd log -----"
	tail -n 20 /tmp/vgpu-ioreqd.log
	if [ -z "$why" ]; then
		pass multi-guest "3 guests by hand, xl script, XenStore; SIGKILL+reattach, reboot, destroy: every round of every guest passed with its own tag; nothing left"
	else
		fail multi-guest "$why"
	fi
}
