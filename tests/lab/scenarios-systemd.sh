# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The package's systemd units where they run (sourced by scenarios.sh,
# whose helpers they use). Only in a dom0 booted with systemd as PID 1:
# shard option init=systemd (tests/lab/shards, runner.sh), where Debian's
# xen init script started the toolstack and vgpu-lab.service runs this.
#
# systemd-worker: vgpu-ioreq@NAME.service as its header says (xl create
# -p, systemctl start, xl unpause): the start returns with the unit
# active (Type=notify: the device is claimed), the guest sees its device.
# systemd-worker-restart: the worker killed with SIGKILL; Restart=on-abnormal
# starts it again, it takes over its ioreq server and the guest's register
# traffic passes through the kill. systemd-worker-stop: systemctl stop
# ends it cleanly (no process, Xen's count of the domain's ioreq servers
# back to QEMU's alone, its slot lock gone; its state file stays in the
# run directory, which the unit preserves, cleared: it names no server
# for a successor to take over). systemd-supervisor:
# vgpu-ioreqd.service (enabled by the package) serves a XenStore attach;
# systemctl stop ends its worker too.

# sd_prop UNIT PROPERTY: one property's value
sd_prop() { systemctl show -p "$2" --value "$1" 2>/dev/null; }

# sd_journal UNIT: the unit's log since this boot, one line each
sd_journal() { journalctl -b --no-pager -o cat -u "$1" 2>/dev/null; }

# sd_wait_restart UNIT OLD_PID TIMEOUT: until the unit runs again, active,
# with a main process other than OLD_PID (Type=notify: active once ready)
sd_wait_restart() {
	local i=0 p
	while [ $i -lt $(($3 * 10)) ]; do
		p=$(sd_prop "$1" MainPID)
		[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$2" ] &&
			[ "$(sd_prop "$1" ActiveState)" = active ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# sd_runfiles DOMID: the run files of that domain's worker
sd_runfiles() {
	local f
	for f in "$RUNSTATEDIR/vgpu-ioreq/d$1-"*; do
		[ -e "$f" ] && printf '%s ' "${f##*/}"
	done
}

# sd_left DOMID: what is wrong with the run files a worker of that domain
# left behind: none but its state file, which a clean exit keeps with its
# magic (the first word) cleared, so that no successor takes over a
# server that is gone (vgpu-ioreqd removes it when the domain ends)
sd_left() {
	local f m
	for f in $(sd_runfiles "$1"); do
		case $f in
		*.state)
			m=$(od -An -tu4 -N4 "$RUNSTATEDIR/vgpu-ioreq/$f" | tr -d ' ')
			[ "$m" = 0 ] || echo " [$f left with magic $m: a successor would take over a server that is gone]"
			;;
		*) echo " [$f left in $RUNSTATEDIR/vgpu-ioreq]" ;;
		esac
	done
}

# sd_show UNIT: the unit's status and log, for the serial log
sd_show() {
	echo "----- systemctl status $1 -----"
	systemctl status --no-pager -n 0 "$1" 2>&1 | head -n 12
	echo "----- journal of $1 -----"
	sd_journal "$1" | tail -n 25
}

# sd_worker_up NAME UNIT: the guest created paused, its unit started,
# unpaused, until its traffic starts; a guest that does not come up is
# destroyed and tried again (nested SVM under TCG). Sets DOMID, SD_N0 (the
# domain's ioreq servers before the start: QEMU's), SD_PID, SD_START_MS,
# SD_WHY (why the start itself failed).
sd_worker_up() {
	local n=$1 u=$2 attempt t0 rc
	SD_WHY=""
	for attempt in $(seq 1 "$TRIES"); do
		rm -f "/tmp/$n-serial.log"
		xl create -p "/tmp/$n.cfg" >"/tmp/$n-xl.log" 2>&1 || {
			SD_WHY="xl create failed: $(tail -n 2 "/tmp/$n-xl.log" | tr '\n' ' ')"
			return 1
		}
		DOMID=$(xl domid "$n")
		SD_N0=$(servers "$DOMID")
		t0=$(ms_now)
		timeout 60 systemctl start "$u"
		rc=$?
		SD_START_MS=$(($(ms_now) - t0))
		SD_PID=$(sd_prop "$u" MainPID)
		info "systemd: systemctl start $u -> exit $rc in $SD_START_MS ms: $(sd_prop "$u" ActiveState), MainPID $SD_PID, $(servers "$DOMID") ioreq servers"
		if [ $rc -ne 0 ] || [ "$(sd_prop "$u" ActiveState)" != active ]; then
			SD_WHY="systemctl start $u: exit $rc, $(sd_prop "$u" ActiveState) ($(sd_prop "$u" Result)): $(sd_journal "$u" | tail -n 3 | tr '\n' ' ')"
			sd_show "$u"
			return 1
		fi
		xl unpause "$n"
		wait_log "$n" TRAFFIC-START "$GUEST_TIMEOUT" && return 0
		guest_retry "$n" "$attempt" "$DOMID"
		grep -a "GUEST-" "/tmp/$n-serial.log" 2>/dev/null | tail -n 3
		xl destroy "$n" 2>/dev/null
		systemctl stop "$u"
	done
	SD_WHY="the guest did not start its traffic in $TRIES tries"
	return 1
}

sd_worker() {
	local n=vgpu-sd u=vgpu-ioreq@vgpu-sd.service g=/tmp/vgpu-sd-serial.log
	local why="" n1 p st left
	systemctl reset-failed "$u" 2>/dev/null
	mkcfg $n 1 traffic
	if ! sd_worker_up $n $u; then
		fail systemd-worker "$SD_WHY"
		fail systemd-worker-restart "the worker did not come up"
		fail systemd-worker-stop "the worker did not come up"
		show_guest $n
		xl destroy $n 2>/dev/null
		systemctl stop "$u" 2>/dev/null
		return
	fi
	# 1. started by the unit: active when the start returned, serving
	n1=$(servers "$DOMID")
	st=$(grep -E '^(Uid|NoNewPrivs|Seccomp):' "/proc/$SD_PID/status" 2>/dev/null | tr -s '\t\n' '  ')
	echo "  worker $SD_PID: $st; $(tr '\0' ' ' <"/proc/$SD_PID/cmdline" 2>/dev/null)"
	metric "systemd_start_to_active_ms=$SD_START_MS (systemctl start vgpu-ioreq@, Type=notify)"
	[ "$n1" = 2 ] || why="$why [$n1 ioreq servers while serving, 2 expected: QEMU's and the worker's]"
	grep -q "^Uid:[[:space:]]*0[[:space:]]" "/proc/$SD_PID/status" && why="$why [the worker runs as root: --depriv did not drop]"
	if [ -z "$why" ]; then
		pass systemd-worker "systemctl start returned in $SD_START_MS ms with the unit active (Type=notify), $n1 ioreq servers, worker deprivileged; the guest's traffic started on its device"
	else
		fail systemd-worker "$why"
	fi

	# 2. SIGKILL: Restart=on-abnormal starts it again, it takes over
	why=""
	p=$SD_PID
	sleep 3 # the guest's traffic flows for a while
	systemctl kill -s KILL "$u"
	if sd_wait_restart "$u" "$p" 30; then
		SD_PID=$(sd_prop "$u" MainPID)
		info "systemd: worker $p killed with SIGKILL; the unit restarted it as $SD_PID (NRestarts=$(sd_prop "$u" NRestarts)), $(servers "$DOMID") ioreq servers"
	else
		why="$why [not restarted after SIGKILL: $(sd_prop "$u" ActiveState) ($(sd_prop "$u" Result)), MainPID $(sd_prop "$u" MainPID)]"
	fi
	n1=$(servers "$DOMID")
	[ "$n1" = 2 ] || why="$why [$n1 ioreq servers after the restart, 2 expected]"
	[ "$(sd_prop "$u" NRestarts)" = 1 ] || why="$why [NRestarts=$(sd_prop "$u" NRestarts), 1 expected]"
	sd_journal "$u" | grep -q 'reattaching to ioreq server' || why="$why [no reattach in the unit's journal]"
	wait_log $n TRAFFIC-DONE 90 || why="$why [the guest's traffic did not finish: vCPU hung?]"
	wait_log $n TRAFFIC-DEVICE 30 || why="$why [no device check after the traffic]"
	grep -aq 'TRAFFIC-RESULT: PASS' $g || why="$why [$(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r')$(triple_note "$DOMID")]"
	grep -aq 'TRAFFIC-DEVICE: present' $g || why="$why [the guest lost its device]"
	if [ -z "$why" ]; then
		pass systemd-worker-restart "SIGKILL -> restarted by Restart=on-abnormal (NRestarts=1), reattached to its ioreq server, $n1 ioreq servers; guest traffic intact: $(grep -ao 'TRAFFIC-RESULT.*' $g | tr -d '\r')"
	else
		fail systemd-worker-restart "$why"
	fi

	# 3. systemctl stop: nothing of the worker left, the domain lives on
	why=""
	p=$SD_PID
	timeout 60 systemctl stop "$u" || why="$why [systemctl stop: exit $?]"
	wait_exit "$p" 20 || why="$why [worker $p still runs after systemctl stop]"
	[ "$(sd_prop "$u" ActiveState)" = inactive ] || why="$why [unit $(sd_prop "$u" ActiveState) ($(sd_prop "$u" Result)) after stop]"
	n1=$(servers "$DOMID")
	[ "$n1" = "$SD_N0" ] || why="$why [$n1 ioreq servers after stop, $SD_N0 (QEMU's, before the start) expected]"
	left=$(sd_runfiles "$DOMID")
	why="$why$(sd_left "$DOMID")"
	pgrep -f "vgpu-ioreq.*(--domain $n|--domid $DOMID)( |\$)" >/dev/null &&
		why="$why [processes left: $(pgrep -af "vgpu-ioreq" | tr '\n' ';')]"
	alive $n || why="$why [the domain died with its worker]"
	echo "  after stop, in $RUNSTATEDIR/vgpu-ioreq:" "$RUNSTATEDIR"/vgpu-ioreq/*
	sd_show "$u"
	show_guest $n
	xl destroy $n 2>/dev/null
	SD_ENDED=$DOMID # its cleared state file: the next daemon sweeps it
	if [ -z "$why" ]; then
		pass systemd-worker-stop "worker gone, unit inactive, $n1 ioreq server (QEMU's, as before the start), run files of domain $DOMID: ${left:-none} (its state file cleared); the domain ran on"
	else
		fail systemd-worker-stop "$why"
	fi
}

sd_supervisor() {
	local n=vgpu-se u=vgpu-ioreqd.service g=/tmp/vgpu-se-serial.log
	local why="" d k pid en act0 attempt rc ok="" s0=""
	en=$(systemctl is-enabled "$u" 2>&1)
	act0=$(sd_prop "$u" ActiveState)
	timeout 60 systemctl start "$u"
	rc=$?
	info "systemd: $u is $en by the package, $act0 at boot; systemctl start -> exit $rc, $(sd_prop "$u" ActiveState), MainPID $(sd_prop "$u" MainPID)"
	if [ $rc -ne 0 ] || [ "$(sd_prop "$u" ActiveState)" != active ]; then
		sd_show "$u"
		fail systemd-supervisor "systemctl start $u: exit $rc, $(sd_prop "$u" ActiveState): $(sd_journal "$u" | tail -n 3 | tr '\n' ' ')"
		return
	fi
	mkcfg $n 1 idle
	for attempt in $(seq 1 "$TRIES"); do
		rm -f $g
		xl create -p /tmp/$n.cfg >/tmp/$n-xl.log 2>&1 || { why="$why [xl create failed]"; break; }
		d=$(xl domid $n)
		s0=$(servers "$d")
		k=$ROOTKEY/$d
		xenstore-write "$k/request" attach
		if ! wait_key "$k/state" running 30; then
			why="$why [state $(xenstore-read "$k/state" 2>&1): $(xenstore-read "$k/error" 2>&1)]"
			break
		fi
		pid=$(xenstore-read "$k/pid" 2>/dev/null)
		xl unpause $n
		wait_log $n GUEST-IDLE "$GUEST_TIMEOUT" && { ok=1; break; }
		guest_retry $n "$attempt" "$d"
		xl destroy $n 2>/dev/null
		[ -n "$pid" ] && wait_exit "$pid" 20
	done
	if [ -n "$ok" ]; then
		grep -aq 'GUEST-DEVICE: present' $g || why="$why [the guest does not see the device]"
		[ "$(servers "$d")" = 2 ] || why="$why [$(servers "$d") ioreq servers while serving, 2 expected]"
		# the worker runs in the supervisor's unit (its cgroup)
		grep -q "/system.slice/$u\$" "/proc/$pid/cgroup" 2>/dev/null ||
			why="$why [worker $pid not in $u's cgroup: $(cat "/proc/$pid/cgroup" 2>&1)]"
		info "systemd: $u attached domain $d: worker $pid, $(servers "$d") ioreq servers"
		# a daemon starting removes the state files of ended domains
		[ -n "${SD_ENDED:-}" ] && [ -n "$(sd_runfiles "$SD_ENDED")" ] &&
			why="$why [domain $SD_ENDED ended, its run files stay: $(sd_runfiles "$SD_ENDED")]"
	else
		[ -n "$why" ] || why=" [the guest did not come up in $TRIES tries]"
	fi
	timeout 60 systemctl stop "$u" || why="$why [systemctl stop $u: exit $?]"
	[ -n "$pid" ] && { wait_exit "$pid" 20 || why="$why [worker $pid still runs after systemctl stop $u]"; }
	[ "$(sd_prop "$u" ActiveState)" = inactive ] || why="$why [$u $(sd_prop "$u" ActiveState) after stop]"
	pgrep -x vgpu-ioreqd >/dev/null && why="$why [vgpu-ioreqd still runs]"
	[ -n "$d" ] && alive $n && [ "$(servers "$d")" != "$s0" ] && why="$why [$(servers "$d") ioreq servers after stop, $s0 (QEMU's, before the attach) expected]"
	[ -n "$d" ] && why="$why$(sd_left "$d")"
	info "systemd: after systemctl stop $u: state $(xenstore-read "$k/state" 2>&1), run files: $(sd_runfiles "$d")"
	sd_show "$u"
	show_guest $n
	xl destroy $n 2>/dev/null
	if [ -z "$why" ]; then
		pass systemd-supervisor "$u ($en by the package, $act0 at boot) attached domain $d on a XenStore request: state=running, the guest sees its device, the worker in the unit's cgroup; systemctl stop ended it and its worker: $s0 ioreq server (QEMU's), no slot lock left; the ended domain ${SD_ENDED:-?}'s state file swept by the worker's start"
	else
		fail systemd-supervisor "$why"
	fi
}

scenario_systemd_units() {
	local s
	if [ "$(readlink /proc/1/exe)" != /usr/lib/systemd/systemd ] &&
		[ "$(readlink /proc/1/exe)" != /lib/systemd/systemd ]; then
		for s in systemd-worker systemd-worker-restart systemd-worker-stop systemd-supervisor; do
			fail $s "dom0's PID 1 is $(readlink /proc/1/exe), not systemd (the shard needs option init=systemd)"
		done
		return
	fi
	info "systemd: $(systemctl --version | head -n 1); boot: $(systemd-analyze time 2>&1 | head -n 1)"
	info "systemd: system $(systemctl is-system-running 2>&1); failed units: $(systemctl list-units --failed --plain --no-legend 2>&1 | awk '{print $1}' | tr '\n' ' ')"
	sd_worker
	sd_supervisor
}
