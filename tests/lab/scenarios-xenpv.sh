# shellcheck shell=bash
# The fast path for guests with Xen PV support (issue 13): the guest's
# event channel for doorbells and completions (ABI 1.3), pinned pools in
# dom0 memory the emulator grants (ABI 1.5), and the fallback.
# Sourced by scenarios.sh (its helpers: boot_guest, pass, fail, metric).

# ---- evtchn-doorbell, evtchn-fallback, evtchn-bench ----
# One guest (vgpu_mode=xenpv): the driver with xen_evtchn=0 (MMIO doorbells
# and MSI: the fallback), then with the event channel: the ring-nop and
# ring-copy traffic, a reload, the doorbell benchmark both ways, and a
# power-off with the port still bound (the daemon sees the domain die).
scenario_xenpv() {
	local g=/tmp/vgpu-x-serial.log v=/tmp/vgpu-x-vgpu.log rc fb ev why=""
	local unb bmm bev
	if ! boot_guest vgpu-x 1 xenpv GUEST-DONE; then
		show_guest vgpu-x
		for s in evtchn-doorbell evtchn-fallback evtchn-bench grant-pool; do
			fail $s "the xenpv guest did not finish"
		done
		return
	fi
	wait_exit "$DPID" 30
	wait "$DPID"
	rc=$?
	show_guest vgpu-x
	fb=$(tr -d '\r' <$g | sed -n '/=== FALLBACK RUN ===/,/=== EVTCHN RUN ===/p')
	ev=$(tr -d '\r' <$g | sed -n '/=== EVTCHN RUN ===/,$p')

	# the fallback: MMIO doorbells, MSI, no port named to the device
	if echo "$fb" | grep -q 'XENPV-DMESG: .*doorbells by MMIO, completions by MSI' &&
		echo "$fb" | grep -q 'ok [0-9]* - 1 MiB copied to the device and back intact' &&
		echo "$fb" | grep -q 'DRV-RESULT: PASS' &&
		echo "$fb" | grep -q 'DRV-STATS: msi=1 interrupts=[1-9].* evtchn=0$' &&
		echo "$fb" | grep 'INTERRUPTS-FALLBACK: ' | grep -i msi | grep -q ' [1-9][0-9]* .*vgpu_stub$' &&
		echo "$fb" | grep -q 'FALLBACK-UNLOADED'; then
		pass evtchn-fallback "xen_evtchn=0: $(echo "$fb" | grep -o 'DRV-STATS.*')"
	else
		fail evtchn-fallback "$(echo "$fb" | grep 'XENPV-\|DRV-\|not ok\|INTERRUPTS' | head -n 5 | tr '\n' ';')"
	fi

	# the event channel: traffic intact, completions as the event IRQ (no
	# MSI), and the daemon counted no MMIO doorbell while the port was bound
	unb=$(grep -a 'event channel: guest port [0-9]* unbound' $v)
	echo "$ev" | grep -q 'XENPV-DMESG: .*doorbells and completions by event channel [1-9]' ||
		why="$why no event-channel line in dmesg;"
	echo "$ev" | grep -q 'ok [0-9]* - 1 MiB copied to the device and back intact' &&
		echo "$ev" | grep -q 'ok [0-9]* - 2000 NOPs through /dev/vgpu_stub (0 failed)' &&
		echo "$ev" | grep -q 'DRV-RESULT: PASS' ||
		why="$why traffic failed: $(echo "$ev" | grep 'not ok\|DRV-RESULT' | head -n 3 | tr '\n' ' ');"
	echo "$ev" | grep -q 'DRV-STATS: msi=1 interrupts=[1-9].* doorbells=[1-9][0-9]* evtchn=[1-9]' ||
		why="$why $(echo "$ev" | grep -o 'DRV-STATS.*' | head -n 1);"
	echo "$ev" | grep -q 'RELOAD-EVTCHN: DRV-RESULT: PASS evtchn=[1-9]' ||
		why="$why $(echo "$ev" | grep 'RELOAD-EVTCHN');"
	echo "$ev" | grep 'INTERRUPTS-EVTCHN: ' | grep 'vgpu_stub_evtchn' | grep -q ' [1-9][0-9]* ' ||
		why="$why no vgpu_stub_evtchn interrupts in /proc/interrupts;"
	# the MSI vector of this binding stayed silent: every count 0
	echo "$ev" | grep 'INTERRUPTS-EVTCHN: ' | grep -v vgpu_stub_evtchn | grep -q ' [1-9][0-9]* ' &&
		why="$why MSI interrupts while the event channel was bound;"
	# one per binding: the reload's rmmod (a reset) and the domain's death
	[ "$(echo "$unb" | grep -c .)" -ge 2 ] ||
		why="$why $(echo "$unb" | grep -c .) unbind lines in the daemon log (2 expected: the reload's reset, the domain's death);"
	echo "$unb" | grep -v ' 0 MMIO doorbells while bound' | grep -q . &&
		why="$why MMIO doorbells while bound: $(echo "$unb" | grep -v ' 0 MMIO doorbells' | head -n 1);"
	echo "$unb" | grep -q ': [1-9][0-9]* doorbells by event channel' ||
		why="$why no doorbell came by event channel;"
	grep -aq 'cannot bind its event channel' $v && why="$why $(grep -a 'cannot bind' $v | head -n 1);"
	[ "$rc" = 0 ] || why="$why daemon exit $rc after the domain died with the port bound;"
	if [ -z "$why" ]; then
		pass evtchn-doorbell "$(echo "$ev" | grep -o 'DRV-STATS.*' | head -n 1); $(echo "$ev" | grep 'INTERRUPTS-EVTCHN: .*vgpu_stub_evtchn' | tr -s ' '); daemon: $(echo "$unb" | sed -n 1p | sed 's/.*unbound: //')"
	else
		fail evtchn-doorbell "$why"
	fi

	# the benchmark, side by side from one boot
	bmm=$(echo "$fb" | grep -o 'BENCH: path=mmio.*' | head -n 1)
	bev=$(echo "$ev" | grep -o 'BENCH: path=evtchn.*' | head -n 1)
	if [ -n "$bmm" ] && [ -n "$bev" ] &&
		echo "$fb$ev" | grep -c 'BENCH-RESULT: PASS' | grep -q 2; then
		val() { echo "$1" | grep -o "$2=[0-9.-]*" | cut -d= -f2; }
		metric "xenpv_doorbell_vcpu_us_mmio=$(val "$bmm" doorbell_us) xenpv_doorbell_vcpu_us_evtchn=$(val "$bev" doorbell_us) (VGPU_IOC_DOORBELL, syscall included)"
		metric "xenpv_doorbell_net_us_mmio=$(val "$bmm" doorbell_net_us) xenpv_doorbell_net_us_evtchn=$(val "$bev" doorbell_net_us) (minus a VGPU_IOC_STATS syscall)"
		metric "xenpv_nop_round_trip_us_mmio=$(val "$bmm" nop_round_trip_us) xenpv_nop_round_trip_us_evtchn=$(val "$bev" nop_round_trip_us) (a doorbell every NOP, then its completion)"
		metric "xenpv_nop_round_trips_slept_mmio=$(val "$bmm" round_trips_slept) xenpv_nop_round_trips_slept_evtchn=$(val "$bev" round_trips_slept) of $(val "$bmm" n) (waited for the completion's interrupt: an MMIO doorbell returns after the device answered)"
		pass evtchn-bench "$bmm | $bev"
	else
		fail evtchn-bench "$(echo "$fb$ev" | grep 'BENCH' | tr '\n' ';')"
	fi
	xenpv_grants "$fb" "$ev" "$v"
}

# grant-pool: with grant_pool=0 (the fallback run) no pool is granted and
# every pool is intact; with the default, every session's pool is dom0
# memory the emulator granted (the guest's data reached the device through
# the emulator's own mapping of it, and came back), and the daemon ended
# every grant it made: three when their sessions closed, the fourth (a
# process holding its pool while the guest powers off) when the domain
# died: as many "ended" lines as "granted" (the earlier benchmark's pool
# counts too), the last one "0 left".
xenpv_grants() {
	local fb=$1 ev=$2 v=$3 why="" ng ne
	echo "$fb" | grep -q 'FALLBACK-GRANT-POOL: sessions=3 granted=0 intact=3' ||
		why="$why fallback: $(echo "$fb" | grep 'FALLBACK-GRANT\|FALLBACK-not ok' | head -n 2 | tr '\n' ' ');"
	echo "$ev" | grep -q 'GRANTED-GRANT-POOL: sessions=3 granted=3 intact=3' &&
		echo "$ev" | grep -q 'GRANTED-GRANT-HOLD: granted=1' ||
		why="$why granted: $(echo "$ev" | grep 'GRANTED-\|GRANT-DMESG' | head -n 3 | tr '\n' ' ');"
	# the benchmark's session before them has a granted pool too (4 MiB)
	ng=$(grep -ac 'pages granted to the guest' "$v")
	ne=$(grep -ac 'granted pages ended' "$v")
	[ "$ng" = "$ne" ] && [ "$(grep -ac ': 64 pages granted to the guest' "$v")" = 4 ] ||
		why="$why daemon: $ng grants, $ne ended (as many, four of 64 pages, expected);"
	grep -a 'granted pages ended' "$v" | tail -n 1 | grep -q ', 0 left' ||
		why="$why daemon: grants left: $(grep -a 'granted pages ended' "$v" | tail -n 1);"
	if [ -z "$why" ]; then
		pass grant-pool "$(echo "$ev" | grep -o 'GRANT-POOL: .*' | head -n 1); daemon: $(grep -a 'pages granted to the guest' "$v" | head -n 1 | sed 's/.*vgpu-ioreq[^:]*: //'), $ne ended, 0 left; fallback: $(echo "$fb" | grep -o 'GRANT-POOL: .*' | head -n 1)"
	else
		fail grant-pool "$why"
	fi
}
