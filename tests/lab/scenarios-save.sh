#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Save, restore and migration (README "Save, restore and migration").
# Sourced by scenarios.sh; runs in the lab's dom0 as root.

# physmap NAME DOMID: the XenStore directory libxl carries for the emulator
physmap_of() { echo "/local/domain/0/device-model/$1/physmap"; }

# ---- save-carrier: what libxl 4.17 does with physmap entries (the README
# calls it an internal format: this is its early warning) ----
scenario_save_carrier() {
	local n=vgpu-sc d d2 p big why="" out
	mkcfg $n 1 idle # qemu alone: libxl and its physmap, nothing of ours
	rm -f /tmp/$n-serial.log /tmp/$n.img
	if ! xl create /tmp/$n.cfg >/tmp/$n-xl.log 2>&1 || ! wait_log $n GUEST-IDLE "$GUEST_TIMEOUT"; then
		cat /tmp/$n-xl.log
		fail save-carrier "guest did not boot"
		xl destroy $n 2>/dev/null
		return
	fi
	d=$(xl domid $n)
	p=$(physmap_of "$d")
	info "save-carrier: device-model dir before: $(xenstore-ls -f /local/domain/0/device-model/$d 2>&1 | head -n 20 | tr '\n' ' ')"
	# an entry without its name: libxl should refuse the save
	xenstore-write "$p/vgpu-ioreq/start_addr" 0 "$p/vgpu-ioreq/size" 0
	out=$(timeout 120 xl save $n /tmp/$n.img 2>&1)
	info "save-carrier: save with an incomplete entry: rc=$? $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	info "save-carrier: domain after: $(xl list $n 2>&1 | tail -n 1)"
	[ -e /tmp/$n.img ] && info "save-carrier: an image was left: $(stat -c %s /tmp/$n.img)"
	rm -f /tmp/$n.img
	if ! alive $n; then
		fail save-carrier "the domain is gone after a refused save"
		return
	fi
	big=$(head -c 1536 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
	xenstore-write "$p/vgpu-ioreq/name" "$big" "$p/vgpu1/start_addr" 1 "$p/vgpu1/size" 2 "$p/vgpu1/name" abc
	out=$(timeout 180 xl save $n /tmp/$n.img 2>&1)
	info "save-carrier: save with complete entries: rc=$? $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	alive $n && why="$why [domain still there after xl save]"
	out=$(timeout 180 xl restore /tmp/$n.img 2>&1)
	info "save-carrier: restore: rc=$? $(echo "$out" | tail -n 6 | tr '\n' ' ')"
	d2=$(xl domid $n 2>/dev/null)
	info "save-carrier: restored domid ${d2:-none}; dm dir: $(xenstore-ls -f /local/domain/0/device-model/$d2 2>&1 | cut -c1-120 | head -n 20 | tr '\n' ' ')"
	[ "$(xenstore-read "$(physmap_of "$d2")/vgpu-ioreq/name" 2>/dev/null)" = "$big" ] ||
		why="$why [the 3072-character value did not come back under domid $d2]"
	[ "$(xenstore-read "$(physmap_of "$d2")/vgpu1/name" 2>/dev/null)" = abc ] ||
		why="$why [the second entry did not come back]"
	info "save-carrier: qemu-dm log: $(tail -n 5 /var/log/xen/qemu-dm-$n.log 2>&1 | tr '\n' ' ')"
	ps -eo pid,args | grep -a '[q]emu-system' | cut -c1-400
	echo "----- guest console -----"
	tr -d '\r' </tmp/$n-serial.log | tail -n 15
	xl destroy $n 2>/dev/null
	if [ -z "$why" ]; then
		pass save-carrier "physmap entries travel through xl save/restore; an incomplete one refuses the save"
	else
		fail save-carrier "$why"
	fi
}

# sr_boot NAME MODE [PATTERN]: a guest with the xl script (the device
# under --depriv), until PATTERN (SAVE-READY). Sets DOMID; non-zero if it
# never got there.
sr_boot() {
	local n=$1 attempt pat=${3:-SAVE-READY}
	mkdir -p "$SYSCONFDIR/vgpu-ioreq"
	printf 'VGPU_IOREQ_ARGS="--depriv --log stderr"\nVGPU_IOREQ_SAVE=yes\n' >"$SYSCONFDIR/vgpu-ioreq/$n.conf"
	mkcfg "$n" 1 "$2" "$DM_OVERRIDE"
	# the guest's test program maps BAR0 beside the driver (a busy region
	# is otherwise refused to sysfs mmap)
	sed -i 's/^cmdline = "\(.*\)"/cmdline = "\1 iomem=relaxed"/' "/tmp/$n.cfg"
	for attempt in $(seq 1 $TRIES); do
		rm -f "/tmp/$n-serial.log" "/tmp/$n-serial-before.log" "/var/log/xen/qemu-dm-$n.log"
		if ! xl create "/tmp/$n.cfg" >"/tmp/$n-xl.log" 2>&1; then
			cat "/tmp/$n-xl.log"
			return 1
		fi
		DOMID=$(xl domid "$n" 2>/dev/null)
		if wait_log "$n" "$pat\|GUEST-DONE" "$GUEST_TIMEOUT"; then
			# GUEST-DONE without PATTERN: it failed, no retry
			grep -aq "$pat" "/tmp/$n-serial.log"
			return
		fi
		guest_retry "$n" "$attempt" "$DOMID"
		xl destroy "$n" 2>/dev/null
	done
	return 1
}

# sr_show NAME: the guest's console and the device model logs
sr_show() {
	echo "----- guest console $1 -----"
	tr -d '\r' <"/tmp/$1-serial.log" 2>/dev/null | grep -a -v '^ok [0-9]' | tail -n 40
	echo "----- qemu-dm logs $1 (vgpu-ioreq's stderr) -----"
	cat /var/log/xen/qemu-dm-"$1"*.log* 2>/dev/null | grep -av '^$' | tail -n 30
	echo "----- end $1 -----"
}

# sr_keep_console NAME: a copy of the console so far (the device model of
# the restored domain truncates the file)
sr_keep_console() { cp "/tmp/$1-serial.log" "/tmp/$1-serial-before.log" 2>/dev/null; }

# sr_guest_checks NAME: what the guest says after its save/restore; echoes
# the reasons it failed ("" if none)
sr_guest_checks() {
	local g=/tmp/$1-serial.log w=""
	# the restored domain's device model starts its console file anew:
	# what came before the save is in the copy sr_keep_console made
	grep -aq 'BEFORE-RESULT: PASS' "/tmp/$1-serial-before.log" "$g" ||
		w="$w [traffic before the save failed: $(grep -aho 'BEFORE-RESULT.*' "/tmp/$1-serial-before.log" "$g" | tr -d '\r')]"
	grep -aq 'SAVE-RESULT: PASS' "$g" || w="$w [registers: $(grep -ao 'SAVE-RESULT.*\|SAVE-MISMATCH.*' "$g" | head -n 3 | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'AFTER-RESULT: PASS' "$g" || w="$w [traffic after the restore: $(grep -ao 'AFTER-RESULT.*\|not ok.*' "$g" | head -n 3 | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'AFTER-DEVICE: present' "$g" || w="$w [device absent after the restore]"
	grep -aq 'CONFIG-SPACE: same' "$g" || w="$w [config space changed: $(grep -a '^[<>]' "$g" | head -n 2 | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'AFTER-STATS: .* resets=0' "$g" || w="$w [the driver reset the device: $(grep -ao 'AFTER-STATS.*' "$g" | tr -d '\r')]"
	# the interrupt works in the new domain (Linux does not rebind an
	# MSI's pirq on resume: the driver's restore callback sets it up anew)
	# (each DRV-STATS line counts its own run: the file it opened)
	grep -aq 'AFTER-STATS: .* interrupts=[1-9]' "$g" ||
		w="$w [no interrupt after the restore: $(cat "/tmp/$1-serial-before.log" "$g" 2>/dev/null | grep -ao '\(BEFORE\|AFTER\)-STATS.*' | tr -d '\r' | tr '\n' ' ')]"
	grep -aq 'GUEST-DMESG: .*restored: completions by' "$g" || w="$w [the driver's restore callback did not run]"
	grep -aiE 'GUEST-DMESG: .*(lost|bug:|oops|warning:|call trace|error)' "$g" >/dev/null &&
		w="$w [guest dmesg: $(grep -aiE 'GUEST-DMESG: .*(lost|bug:|oops|warning:|call trace|error)' "$g" | head -n 2 | tr -d '\r' | tr '\n' ' ')]"
	echo "$w"
}

# ---- save-restore: xl save + xl restore of a guest using the device ----
scenario_save_restore() {
	local n=vgpu-sr d d2 why="" rc t0 ms_save ms_restore p
	if ! sr_boot $n saverestore; then
		sr_show $n
		fail save-restore "the guest did not get to its save point"
		xl destroy $n 2>/dev/null
		return
	fi
	d=$DOMID
	p=$(physmap_of "$d")/vgpu-00-05-0
	xenstore-read "$p/start_addr" >/dev/null 2>&1 || why="$why [the carrier was not armed: no $p]"
	xenstore-read "$p/name" >/dev/null 2>&1 && why="$why [the carrier was sealed while the guest ran]"
	rm -f /tmp/$n.img
	sr_keep_console $n
	t0=$(ms_now)
	timeout 300 xl save $n /tmp/$n.img >/tmp/$n-save.log 2>&1
	rc=$?
	ms_save=$(($(ms_now) - t0))
	[ $rc = 0 ] || why="$why [xl save failed ($rc): $(tail -n 3 /tmp/$n-save.log | tr '\n' ' ')]"
	alive $n && why="$why [the domain is still there after xl save]"
	t0=$(ms_now)
	timeout 300 xl -vvv restore /tmp/$n.img >/tmp/$n-restore.log 2>&1
	rc=$?
	ms_restore=$(($(ms_now) - t0))
	[ $rc = 0 ] || why="$why [xl restore failed ($rc): $(tail -n 3 /tmp/$n-restore.log | tr '\n' ' ')] [device model log: $(grep -ai 'vgpu' /var/log/xen/qemu-dm-$n.log* | tail -n 4 | tr '\n' ' ')]"
	if [ $rc != 0 ]; then
		echo "----- xl -vvv restore (libxl's view of the device model) -----"
		grep -av 'xc: progress\|xc: detail' /tmp/$n-restore.log | grep -a -A3 -B3 -i 'device.model\|spawn\|qmp\|error\|dm_' | tail -n 120
		echo "----- the restored domain's device model log -----"
		cat /var/log/xen/qemu-dm-$n.log 2>&1 | tail -n 40
	fi
	d2=$(xl domid $n 2>/dev/null)
	metric "save-restore: xl save ${ms_save} ms, xl restore ${ms_restore} ms (image $(stat -c %s /tmp/$n.img 2>/dev/null) bytes)"
	if [ -n "$d2" ]; then
		wait_log $n GUEST-DONE 180 || why="$why [the restored guest did not finish]"
		info "save-restore: domain $d restored as $d2; ioreq servers $(servers "$d2")"
		why="$why$(sr_guest_checks $n)"
		xenstore-read "$(physmap_of "$d2")/vgpu-00-05-0/name" >/dev/null 2>&1 &&
			why="$why [the restored domain's carrier is still sealed (a stale state would travel)]"
	fi
	sr_show $n
	xl destroy $n 2>/dev/null
	rm -f /tmp/$n.img
	if [ -z "$why" ]; then
		pass save-restore "domain $d saved and restored as $d2: $(grep -ao 'SAVE-RESULT: .*' /tmp/$n-serial.log | tr -d '\r'); $(grep -ao 'AFTER-RESULT: .*' /tmp/$n-serial.log | tr -d '\r')"
	else
		fail save-restore "$why"
	fi
}


# ---- save-refused, restore-fail-clean: the failure paths ----
scenario_save_fail() {
	local n=vgpu-sf d w why="" why2="" rc p reason
	if ! sr_boot $n saverestore; then
		sr_show $n
		fail save-refused "the guest did not get to its save point"
		fail restore-fail-clean "the guest did not get to its save point"
		xl destroy $n 2>/dev/null
		return
	fi
	d=$DOMID
	# no helper: nothing can seal the state, so the save must fail
	w=$(watchers_of "$d" | head -n 1)
	[ -n "$w" ] && kill "$w"
	timeout 300 xl save $n /tmp/$n.img >/tmp/$n-save.log 2>&1
	rc=$?
	info "save-refused: xl save without the helper: rc=$rc: $(tail -n 4 /tmp/$n-save.log | tr '\n' ' ')"
	[ $rc != 0 ] || why="$why [xl save succeeded without the device state]"
	[ "$(xl domid $n 2>/dev/null)" = "$d" ] || why="$why [the domain did not survive the refused save]"
	# xl leaves the refused image behind: it must not restore
	if [ -s /tmp/$n.img ]; then
		sed 's/^name = .*/name = "'$n'-x"/' /tmp/$n.cfg >/tmp/$n-x.cfg
		if timeout 300 xl restore -p /tmp/$n-x.cfg /tmp/$n.img >/tmp/$n-restore0.log 2>&1; then
			why="$why [the refused save's image restored]"
		fi
		alive $n-x && why="$why [a domain was left by restoring the refused image]"
		xl destroy $n-x 2>/dev/null
		info "save-refused: restoring the refused image: $(tail -n 2 /tmp/$n-restore0.log | tr '\n' ' ')"
		rm -f /tmp/$n.img
	fi
	# the source keeps serving: the guest's register reads go on
	wait_log $n GUEST-DONE 150 || why="$why [the guest did not finish after the refused save]"
	grep -aq 'SAVE-RESULT: PASS' /tmp/$n-serial.log || why="$why [$(grep -ao 'SAVE-RESULT.*' /tmp/$n-serial.log | tr -d '\r')]"
	grep -aq 'AFTER-RESULT: PASS' /tmp/$n-serial.log || why="$why [traffic after the refused save failed]"
	# the by-hand path: start the helper, save again
	vgpu-ioreq --domid "$d" --save-watch --log stderr 2>>/tmp/$n-watch.log &
	p=$(physmap_of "$d")/vgpu-00-05-0
	wait_key "$p/start_addr" 0 10 || why2="$why2 [the helper did not arm]"
	timeout 300 xl save $n /tmp/$n.img >/tmp/$n-save2.log 2>&1 ||
		why2="$why2 [xl save with the helper failed: $(tail -n 3 /tmp/$n-save2.log | tr '\n' ' ')]"
	# a restore whose vgpu-ioreq cannot start: another function than saved
	printf 'VGPU_IOREQ_ARGS="--depriv --log stderr --bdf 00:07.0"\nVGPU_IOREQ_SAVE=yes\n' >"$SYSCONFDIR/vgpu-ioreq/$n.conf"
	timeout 300 xl restore /tmp/$n.img >/tmp/$n-restore.log 2>&1
	rc=$?
	info "restore-fail-clean: rc=$rc: $(tail -n 4 /tmp/$n-restore.log | tr '\n' ' ')"
	[ $rc != 0 ] || why2="$why2 [xl restore succeeded]"
	xl list 2>/dev/null | grep -q "^$n" && why2="$why2 [a domain was left: $(xl list | grep "^$n" | tr -s ' ')]"
	reason=$(grep -aom1 'cannot restore the device state.*' /var/log/xen/qemu-dm-$n.log | cut -c1-160)
	[ -n "$reason" ] || why2="$why2 [no reason from vgpu-ioreq in qemu-dm-$n.log]"
	pgrep -af 'vgpu-ioreq --domid' | grep -v ' --domid '"$d"' ' | sed 's/^/  left: /'
	# the image is intact: with the right function it restores
	printf 'VGPU_IOREQ_ARGS="--depriv --log stderr"\nVGPU_IOREQ_SAVE=yes\n' >"$SYSCONFDIR/vgpu-ioreq/$n.conf"
	timeout 300 xl restore /tmp/$n.img >/tmp/$n-restore2.log 2>&1 ||
		why2="$why2 [the good restore after it failed: $(tail -n 3 /tmp/$n-restore2.log | tr '\n' ' ')]"
	sr_show $n
	xl destroy $n 2>/dev/null
	rm -f /tmp/$n.img
	if [ -z "$why" ]; then
		pass save-refused "xl save failed without the helper ($(grep -av 'xc: progress' /tmp/$n-save.log | grep -aim1 'error\|fail' | cut -c1-120)); the domain and its device kept serving"
	else
		fail save-refused "$why"
	fi
	if [ -z "$why2" ]; then
		pass restore-fail-clean "xl restore failed, no domain left; qemu-dm log: $reason; the same image then restored"
	else
		fail restore-fail-clean "$why2"
	fi
}

# ---- migrate-localhost: xl migrate to the same host ----
scenario_migrate_localhost() {
	local n=vgpu-mg d d2 why="" rc t0 ms
	if ! sr_boot $n saverestore; then
		sr_show $n
		fail migrate-localhost "the guest did not get to its save point"
		xl destroy $n 2>/dev/null
		return
	fi
	d=$DOMID
	sr_keep_console $n
	t0=$(ms_now)
	timeout 300 xl migrate -s "" $n "xl migrate-receive" >/tmp/$n-migrate.log 2>&1
	rc=$?
	ms=$(($(ms_now) - t0))
	[ $rc = 0 ] || why="$why [xl migrate failed ($rc): $(tail -n 4 /tmp/$n-migrate.log | tr '\n' ' ')]"
	d2=$(xl domid $n 2>/dev/null)
	metric "migrate-localhost: xl migrate ${ms} ms"
	[ -n "$d2" ] && [ "$d2" != "$d" ] || why="$why [no migrated domain (domid ${d2:-none}, was $d)]"
	if [ -n "$d2" ]; then
		wait_log $n GUEST-DONE 180 || why="$why [the migrated guest did not finish]"
		why="$why$(sr_guest_checks $n)"
	fi
	tail -n 8 /tmp/$n-migrate.log
	sr_show $n
	xl destroy $n 2>/dev/null
	if [ -z "$why" ]; then
		pass migrate-localhost "domain $d migrated as $d2 in $ms ms: $(grep -ao 'SAVE-RESULT: .*' /tmp/$n-serial.log | tr -d '\r'); $(grep -ao 'AFTER-RESULT: .*' /tmp/$n-serial.log | tr -d '\r')"
	else
		fail migrate-localhost "$why"
	fi
}

# ---- save-restore-device-memory: a process holds device memory across
# xl save + xl restore: it gets an error (device lost), the driver
# re-initialises the device, a new process works ----
scenario_save_devmem() {
	local n=vgpu-sd g=/tmp/vgpu-sd-serial.log d d2 why=""
	if ! sr_boot $n drvrestart LOOP-RUNNING; then
		sr_show $n
		fail save-restore-device-memory "the guest did not start its commands"
		xl destroy $n 2>/dev/null
		return
	fi
	d=$DOMID
	sr_keep_console $n
	timeout 300 xl save $n /tmp/$n.img >/tmp/$n-save.log 2>&1 ||
		why="$why [xl save failed: $(tail -n 3 /tmp/$n-save.log | tr '\n' ' ')]"
	timeout 300 xl restore /tmp/$n.img >/tmp/$n-restore.log 2>&1 ||
		why="$why [xl restore failed: $(tail -n 3 /tmp/$n-restore.log | tr '\n' ' ')]"
	d2=$(xl domid $n 2>/dev/null)
	if [ -n "$d2" ]; then
		wait_log $n GUEST-DONE 150 || why="$why [the guest did not finish]"
		grep -aq 'LOOP-RESULT: errno=E[A-Z]*' $g || why="$why [the process got no error: $(grep -a 'LOOP-' $g | tr -d '\r' | tr '\n' ' ')]"
		tr -d '\r' <$g | sed -n '/=== NEW PROCESS ===/,$p' | grep -q 'DRV-RESULT: PASS' ||
			why="$why [a new process: $(tr -d '\r' <$g | sed -n '/=== NEW PROCESS ===/,$p' | grep 'not ok\|DRV-RESULT\|NEW-' | head -n 3 | tr '\n' ' ')]"
		grep -aq 'device re-initialised' $g || why="$why [the driver did not say it re-initialised the device]"
		grep -aqi 'bug:\|oops\|call trace' $g && why="$why [kernel trouble in the guest]"
		# a process held a pool dom0 granted while the domain was saved
		grep -aq 'GRANT-HOLD: granted=1' "/tmp/$n-serial-before.log" $g &&
			grep -aq 'HOLD-ENDED' $g ||
			why="$why [the granted pool's holder: $(grep -ah 'GRANT-HOLD\|HOLD-ENDED' "/tmp/$n-serial-before.log" $g | tr -d '\r' | tr '\n' ' ')]"
	fi
	sr_show $n
	xl destroy $n 2>/dev/null
	rm -f /tmp/$n.img
	if [ -z "$why" ]; then
		pass save-restore-device-memory "domain $d restored as $d2: $(grep -ao 'LOOP-RESULT: .*' $g | tr -d '\r'); the driver re-initialised the device; a new process then passed; a granted pool held across the save$(grep -ao 'vgpu_stub.*grant unmaps.*' $g | head -n 1 | tr -d '\r' | sed 's/^/ (/;s/$/)/')"
	else
		fail save-restore-device-memory "$why"
	fi
}
