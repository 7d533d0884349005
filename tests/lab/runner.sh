# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The lab's shard runner, sourced by lab.sh: the shard table, which shards
# and functions a run selects, one boot per shard with its own watchdogs
# (a time limit derived from the shard's budgets, and a freeze detector on
# the serial output), at most one retry of a boot that froze or ran out of
# time, and the per-shard and per-suite report.
#
# Knobs (environment):
#   VGPU_LAB_SHARD       shards to run (names, space or comma separated)
#   VGPU_LAB_SCENARIOS   scenarios to run (their functions' shards boot)
#   VGPU_LAB_JOBS        boots at once (default 1: see README, "Speed")
#   VGPU_LAB_SLOWDOWN    how much slower than its budgets a boot may run (3)
#   VGPU_LAB_BOOT_S      the fixed cost of a boot where the budgets were
#                        measured (8): QEMU start to toolstack up
#   VGPU_LAB_FREEZE_S    seconds without serial output that mean a freeze (45)
#   VGPU_LAB_FREEZE      test hook: the named shard's first boot is frozen
#                        (SIGSTOP to its QEMU) once its first scenario runs

SLOWDOWN=${VGPU_LAB_SLOWDOWN:-3}
BOOT_S=${VGPU_LAB_BOOT_S:-8}
FREEZE_S=${VGPU_LAB_FREEZE_S:-45}
JOBS=${VGPU_LAB_JOBS:-1}

declare -A FN_SHARD FN_BUDGET FN_NAMES NAME_FN RUN_FNS SHARD_OPTS
SHARD_ORDER=() # shards in table order
FN_ORDER=()    # functions in table order

now_us() { echo "${EPOCHREALTIME/./}"; }
# secs FROM_US [TO_US]: elapsed seconds, one decimal
secs() {
	local d=$((${2:-$(now_us)} - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

# load_shards FILE: read and check the table (see tests/lab/shards).
load_shards() {
	local f=$1 shard budget fn names n ln=0 bad=0
	while read -r shard budget fn names; do
		ln=$((ln + 1))
		case $shard in '' | '#'*) continue ;; esac
		if [ "$shard" = option ]; then
			load_option "$f:$ln" "$budget" "$fn $names" || bad=1
			continue
		fi
		if ! [[ $shard =~ ^[a-z0-9-]+$ && $budget =~ ^[0-9]+$ &&
			$fn =~ ^scenario_[a-z0-9_]+$ && -n $names ]]; then
			echo "lab: $f:$ln: expected 'shard budget scenario_function scenario...'" >&2
			bad=1
			continue
		fi
		if [ -n "${FN_SHARD[$fn]:-}" ]; then
			echo "lab: $f:$ln: $fn is listed twice" >&2
			bad=1
			continue
		fi
		if ! grep -qs "^$fn() *{" "$LAB_SRC"/scenarios*.sh; then
			echo "lab: $f:$ln: no function $fn() in $LAB_SRC/scenarios*.sh" >&2
			bad=1
		fi
		for n in $names; do
			if [ -n "${NAME_FN[$n]:-}" ]; then
				echo "lab: $f:$ln: scenario $n is decided by ${NAME_FN[$n]} already" >&2
				bad=1
			fi
			NAME_FN[$n]=$fn
		done
		FN_SHARD[$fn]=$shard
		FN_BUDGET[$fn]=$budget
		FN_NAMES[$fn]=$names
		FN_ORDER+=("$fn")
		[[ " ${SHARD_ORDER[*]} " == *" $shard "* ]] || SHARD_ORDER+=("$shard")
	done <"$f"
	[ ${#FN_ORDER[@]} -gt 0 ] || { echo "lab: $f lists no scenario" >&2; bad=1; }
	for shard in "${!SHARD_OPTS[@]}"; do
		[[ " ${SHARD_ORDER[*]} " == *" $shard "* ]] && continue
		echo "lab: $f: options for shard '$shard', which has no scenario" >&2
		bad=1
	done
	return $bad
}

# Per-shard boot settings, general for any shard: a table line
# "option SHARD key=value..." (tests/lab/shards). Keys:
#   qemu_mem  MiB of the lab QEMU (-m; default 2048)
#   dom0_mem  MiB of dom0 (Xen's dom0_mem; default 1024)
#   smp       CPUs of the lab QEMU and dom0's vCPUs (1 or 2; default 2).
#             1 avoids QEMU 7.2 TCG's nested-SVM world-switch race that
#             sometimes triple-faults an HVM guest (shared/xen-lab: 3 of 39
#             guest boots with -smp 2, 0 of 17 with -smp 1), at a cost in
#             speed (QEMU uses ~1.25 cores of 2 on average)
#   default   "no": the shard runs only when SHARD= or SCENARIOS= names it
#             (a shard not yet stable on the lab; the full run says so)
#   init      "systemd": dom0 boots with systemd as PID 1 (init= on its
#             command line; /sbin/lab-init, dom0-init-select, follows it)
#             instead of the shell init dom0-init: Debian's xen init script
#             starts the toolstack, vgpu-lab.service runs the scenarios
#             (lab.sh, lab_systemd). For the package's systemd units.
# load_option WHERE SHARD "key=value...": check and keep them
load_option() {
	local kv
	if ! [[ $2 =~ ^[a-z0-9-]+$ ]] || [ -z "${3// /}" ]; then
		echo "lab: $1: expected 'option SHARD key=value...'" >&2
		return 1
	fi
	for kv in $3; do
		case $kv in
		qemu_mem=[0-9]* | dom0_mem=[0-9]*)
			[[ ${kv#*=} =~ ^[0-9]+$ ]] && continue ;;
		smp=1 | smp=2 | default=no | init=systemd) continue ;;
		esac
		echo "lab: $1: unknown shard option '$kv' (qemu_mem=MiB, dom0_mem=MiB, smp=1|2, default=no, init=systemd)" >&2
		return 1
	done
	SHARD_OPTS[$2]="${SHARD_OPTS[$2]:-} $3"
}

# shard_opt SHARD KEY DEFAULT: the shard's setting (the last one given)
shard_opt() {
	local kv v=$3
	for kv in ${SHARD_OPTS[$1]:-}; do
		[ "${kv%%=*}" = "$2" ] && v=${kv#*=}
	done
	echo "$v"
}

list_shards() {
	local s fn
	for s in "${SHARD_ORDER[@]}"; do
		for fn in "${FN_ORDER[@]}"; do
			[ "${FN_SHARD[$fn]}" = "$s" ] &&
				printf '%-10s %4s s  %-28s %s\n' "$s" "${FN_BUDGET[$fn]}" "$fn" "${FN_NAMES[$fn]}"
		done
		[ -z "${SHARD_OPTS[$s]:-}" ] || printf '%-10s options:%s\n' "$s" "${SHARD_OPTS[$s]}"
	done
}

# select_run SHARDS SCENARIOS: fill RUN_FNS[shard] (functions in table
# order) from the shard and scenario names asked for; everything if none.
select_run() {
	local shards=${1//,/ } names=${2//,/ } s n fn want bad=0
	declare -A pick=()
	for s in $shards; do
		if [[ " ${SHARD_ORDER[*]} " != *" $s "* ]]; then
			echo "lab: no shard '$s' (shards: ${SHARD_ORDER[*]})" >&2
			bad=1
		fi
		for fn in "${FN_ORDER[@]}"; do
			[ "${FN_SHARD[$fn]}" = "$s" ] && pick[$fn]=1
		done
	done
	for n in $names; do
		if [ -z "${NAME_FN[$n]:-}" ]; then
			echo "lab: no scenario '$n' (tests/lab/shards; lab.sh list shows them all)" >&2
			bad=1
		else
			pick[${NAME_FN[$n]}]=1
		fi
	done
	[ $bad = 0 ] || return 1
	RUN_SHARDS=()
	for s in "${SHARD_ORDER[@]}"; do
		want=""
		for fn in "${FN_ORDER[@]}"; do
			[ "${FN_SHARD[$fn]}" = "$s" ] || continue
			[ -z "$shards$names" ] || [ -n "${pick[$fn]:-}" ] || continue
			want="$want $fn"
		done
		[ -n "$want" ] || continue
		if [ -z "$shards$names" ] && [ "$(shard_opt "$s" default yes)" = no ]; then
			echo "lab: shard $s is not run by default (its table line says default=no): make check-lab SHARD=$s runs it"
			continue
		fi
		RUN_FNS[$s]=${want# }
		RUN_SHARDS+=("$s")
	done
}

# budget_sum FN...: the functions' budgets added up (s)
budget_sum() {
	local fn sum=0
	for fn in "$@"; do sum=$((sum + FN_BUDGET[$fn])); done
	echo $sum
}

# A boot's time limit: SLOWDOWN x (BOOT_S + the budgets) until the
# toolstack is up. Then the boot's own fixed cost is known, and with it
# how fast this machine runs now against the one that measured the budgets
# (other work on a 2-core host slows a boot several times over): the limit
# becomes that cost + SLOWDOWN x (BOOT_S + the budgets) x max(1, cost /
# BOOT_S) (BOOT_S again: the rest of the boot's own work, its teardown).
# Sets LIMIT (s) and SPEED (how many times slower, "1.0" at least).
set_limit() { # SUM_BUDGETS [UP_US]
	local up_ms
	if [ -z "${2:-}" ]; then
		LIMIT=$((SLOWDOWN * (BOOT_S + $1)))
		SPEED=""
		return
	fi
	up_ms=$(($2 / 1000))
	[ $up_ms -gt $((BOOT_S * 1000)) ] || up_ms=$((BOOT_S * 1000))
	LIMIT=$(($2 / 1000000 + SLOWDOWN * (BOOT_S + $1) * up_ms / (BOOT_S * 1000)))
	SPEED=$((up_ms * 10 / (BOOT_S * 1000)))
	SPEED="$((SPEED / 10)).$((SPEED % 10))"
}

# qemu_start LOG DOM0-ARGS SHARD: start QEMU in the background; QPID is
# QEMU's own pid (the watchdogs signal it directly). The shard's options
# may set QEMU's and dom0's memory, its CPUs and dom0's init.
qemu_start() {
	local mem dmem smp dargs=$2
	mem=$(shard_opt "$3" qemu_mem 2048)
	dmem=$(shard_opt "$3" dom0_mem 1024)
	smp=$(shard_opt "$3" smp 2)
	[ "$(shard_opt "$3" init shell)" = systemd ] &&
		dargs="$dargs init=/lib/systemd/systemd"
	# -cpu qemu64,+svm,+npt is the only model that runs Xen, a PV dom0 and
	# an HVM guest under TCG (max/EPYC: dom0 dies on SMAP, EPYC lacks
	# nRIP). bootscrub=false keeps QEMU's RSS near guest RAM. dom0's
	# kernel is the uncompressed ELF (Xen would spend ~2 s unpacking the
	# bzImage). The disk is a snapshot: every boot starts from the same
	# image, and boots can share it.
	qemu-system-x86_64 \
		-machine pc -accel tcg,thread=multi -cpu qemu64,+svm,+npt \
		-smp "$smp" -m "$mem" -display none -monitor none -no-reboot \
		-serial "file:$1" -net none \
		-kernel "$B/xen.elf" \
		-append "console=com1 com1=115200,8n1 dom0_mem=${dmem}M,max:${dmem}M dom0_max_vcpus=$smp loglvl=all guest_loglvl=all console_timestamps=boot bootscrub=false" \
		-initrd "$B/vmlinux-dom0 console=hvc0 earlyprintk=xen root=/dev/vda rdinit=/init $dargs,$B/dom0-initrd.gz" \
		-drive "file=$W/dom0.img,if=virtio,format=raw,cache=unsafe,snapshot=on" \
		>"${1%.log}.qemu" 2>&1 </dev/null &
	QPID=$!
}

# watch_boot SHARD LOG SUM_BUDGETS HOOK: wait for QEMU ($QPID) while
# watching its serial log. Kills it past its limit (set_limit), or after
# FREEZE_S seconds without new output. Sets END (done, freeze, limit,
# exit), the host times T_START/T_UP/T_DONE/T_EXIT (us; T_UP/T_DONE empty
# if never seen), GAP (longest silence, s), LIMIT and SPEED.
watch_boot() {
	local s=$1 log=$2 sum=$3 hook=$4 size=0 sz t t_change gap=0 stopped=""
	t_change=$T_START
	T_UP="" T_DONE="" END=""
	set_limit "$sum"
	CPU_TICKS=0
	while kill -0 "$QPID" 2>/dev/null; do
		sleep 0.25
		t=$(now_us)
		qemu_cpu
		sz=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$sz" != "$size" ]; then
			size=$sz
			[ $((t - t_change)) -gt $gap ] && gap=$((t - t_change))
			t_change=$t
			if [ -z "$T_UP" ] && grep -aq 'LAB-INFO: toolstack up' "$log"; then
				T_UP=$t
				set_limit "$sum" $((t - T_START))
			fi
			[ -n "$T_DONE" ] || ! grep -aq 'LAB-DOM0-DONE' "$log" || T_DONE=$t
			if [ -n "$hook" ] && [ -z "$stopped" ] && grep -aq 'LAB-SCENARIO-BEGIN' "$log"; then
				kill -STOP "$QPID"
				stopped=1
				echo "lab: shard $s: test hook VGPU_LAB_FREEZE: QEMU (pid $QPID) stopped with SIGSTOP at $(secs "$T_START") s, inside $(running_fn "$log")"
			fi
		fi
		if [ $((t - T_START)) -ge $((LIMIT * 1000000)) ]; then
			END=limit
		elif [ $((t - t_change)) -ge $((FREEZE_S * 1000000)) ]; then
			END=freeze
		fi
		if [ -n "$END" ]; then
			kill -KILL "$QPID" 2>/dev/null
			[ $((t - t_change)) -gt $gap ] && gap=$((t - t_change))
			break
		fi
	done
	wait "$QPID" 2>/dev/null
	T_EXIT=$(now_us)
	GAP=$(secs 0 $gap)
	if [ -z "$END" ]; then
		grep -aq 'LAB-DOM0-DONE' "$log" && END=done || END=exit
	fi
	[ -n "$T_DONE" ] || ! grep -aq 'LAB-DOM0-DONE' "$log" || T_DONE=$T_EXIT
}

# qemu_cpu: QEMU's CPU time so far (utime + stime, in clock ticks) in
# CPU_TICKS: how many of the host's cores a boot keeps busy tells whether
# two boots at once could gain anything.
qemu_cpu() {
	local st f
	read -r st 2>/dev/null <"/proc/$QPID/stat" || return 0
	st=${st##*) }
	read -ra f <<<"$st"
	CPU_TICKS=$((f[11] + f[12]))
}

# running_fn LOG: the function that began and did not end
running_fn() {
	local b
	b=$(grep -ao 'LAB-SCENARIO-\(BEGIN\|END\): scenario_[a-z0-9_]*' "$1" | tail -n 1)
	case $b in
	*BEGIN*) echo "${b##* }" ;;
	*) echo "no scenario (boot or teardown)" ;;
	esac
}

# collect LOG RESULTS FN...: append LOG's PASS:/FAIL:/SKIP: lines for the
# scenarios of FN... that RESULTS has no line for yet (a result, once
# printed, stands: a retry never replaces it); a name the table does not
# give to FN... is a failure of its own.
collect() {
	local log=$1 res=$2 line name fn ok
	shift 2
	while IFS= read -r line; do
		name=${line#*: }
		name=${name%%[ :]*}
		ok=""
		for fn in "$@"; do
			[[ " ${FN_NAMES[$fn]} " == *" $name "* ]] && ok=1
		done
		[ -n "$ok" ] || line="FAIL: $name: printed by the lab, but no line of tests/lab/shards gives it to ${*}"
		grep -q "^[A-Z]*: $name\([ :]\|\$\)" "$res" || echo "$line" >>"$res"
	done < <(tr -d '\r' <"$log" | grep -a '^\(PASS\|FAIL\|SKIP\): [a-z0-9-]*')
}

# boot_report SHARD ATTEMPT LOG: one line on this boot
boot_report() {
	local s=$1 a=$2 log=$3 up="" down="" gr tf
	[ -n "$T_UP" ] && up="QEMU start to toolstack up $(secs "$T_START" "$T_UP") s, "
	[ -n "$T_DONE" ] && down=", teardown $(secs "$T_DONE" "$T_EXIT") s"
	gr=$(grep -ac 'LAB-GUEST-RETRY:' "$log")
	tf=$(grep -ac 'Triple fault' "$log")
	[ -n "$SPEED" ] && up="$up$SPEED x the reference boot, so a ${LIMIT} s limit; "
	down="$down; QEMU used $(awk -v c="$CPU_TICKS" -v h="$(getconf CLK_TCK)" -v w="$((T_EXIT - T_START))" 'BEGIN{printf "%.0f CPU-s, %.2f cores on average", c / h, c / h / (w / 1e6)}')"
	case $END in
	done) echo "lab: shard $s: boot $a: done in $(secs "$T_START" "$T_EXIT") s (${up}scenarios $(secs "${T_UP:-$T_START}" "${T_DONE:-$T_EXIT}") s$down; longest serial silence $GAP s)" ;;
	freeze) echo "lab: shard $s: boot $a: FROZE: no serial output for ${FREEZE_S} s in $(running_fn "$log"), killed $(secs "$T_START" "$T_EXIT") s after QEMU start" ;;
	limit) echo "lab: shard $s: boot $a: LIMIT: still running after its ${LIMIT} s limit, in $(running_fn "$log"); killed" ;;
	*) echo "lab: shard $s: boot $a: QEMU exited before dom0 finished (in $(running_fn "$log")); $(tail -n 3 "${log%.log}.qemu" | tr '\n' ' ')" ;;
	esac
	[ "$gr" = 0 ] ||
		echo "lab: shard $s: boot $a: $gr guest boot(s) retried inside dom0 (Xen logged $tf triple fault(s)): $(grep -ao 'LAB-GUEST-RETRY: .*' "$log" | tr -d '\r' | sed 's/^LAB-GUEST-RETRY: //' | tr '\n' ';')"
}

# fn_times SHARD LOG: how long each function took (dom0's clock), and
# whether it overran its budget by more than this boot's slowness explains
fn_times() {
	local s=$1 fn t
	[ "$LAB_MODE" = check ] || return 0
	tr -d '\r' <"$2" | sed -n 's/^.*LAB-SCENARIO-END: \(scenario_[a-z0-9_]*\) .*(\([0-9.]*\) s).*/\1 \2/p' |
		while read -r fn t; do
			echo "lab: shard $s: $fn $t s (budget ${FN_BUDGET[$fn]} s)$(awk -v t="$t" -v b="${FN_BUDGET[$fn]}" -v x="${SPEED:-1}" 'BEGIN{if (t > b * x) print ": over budget (a guest retried? else update tests/lab/shards)"}')"
		done
}

# run_shard SHARD: boot it, retry once if the boot froze, ran out of time
# or QEMU died, and leave $W/shard-SHARD/{results,summary}.
run_shard() {
	local s=$1 d=$W/shard-$1 fns=${RUN_FNS[$1]} a=0 left fn n log t0 why=""
	local fixed="" boots=""
	rm -rf "$d" && mkdir -p "$d"
	: >"$d/results"
	t0=$(now_us)
	while :; do
		a=$((a + 1))
		log=$d/serial-$a.log
		T_START=$(now_us)
		qemu_start "$log" "lab_mode=$LAB_MODE lab_run=${fns// /:}" "$s"
		# shellcheck disable=SC2064
		trap "kill -KILL $QPID 2>/dev/null" EXIT
		local hook=""
		[ "${VGPU_LAB_FREEZE:-}" = "$s" ] && [ $a = 1 ] && hook=1
		# shellcheck disable=SC2086
		watch_boot "$s" "$log" "$(budget_sum $fns)" "$hook"
		trap - EXIT
		# shellcheck disable=SC2086
		collect "$log" "$d/results" $fns
		boot_report "$s" "$a" "$log"
		fn_times "$s" "$log"
		boots="$boots $(secs "$T_START" "$T_EXIT")"
		# fixed cost of a boot that went through: up + down / its wall
		[ -n "$T_UP" ] && [ -n "$T_DONE" ] &&
			fixed="$fixed $(secs "$T_START" "$T_UP")+$(secs "$T_DONE" "$T_EXIT")/$(secs "$T_START" "$T_EXIT")"
		[ "$END" = done ] && break
		left=""
		for fn in $fns; do
			grep -aq "LAB-SCENARIO-END: $fn " "$log" || left="$left $fn"
		done
		why="$why${why:+, }$END"
		[ -n "$left" ] || break # the scenarios ended; only the teardown did not
		if [ $a -ge 2 ]; then
			echo "lab: shard $s: FAILED: a second boot stopped too ($why); a shard gets one retry"
			break
		fi
		fns=${left# }
		echo "lab: shard $s: retrying (once) the scenarios without a result: $fns"
	done
	for fn in ${RUN_FNS[$s]}; do
		for n in ${FN_NAMES[$fn]}; do
			grep -q "^[A-Z]*: $n\([ :]\|\$\)" "$d/results" && continue
			echo "FAIL: $n: no result (shard $s, $a boot(s): ${why:-the run stopped early})" >>"$d/results"
		done
	done
	{
		echo "wall='$(secs "$t0")'"
		echo "boots='$a'"
		echo "retry_why='$why'"
		echo "boot_walls='${boots# }'"
		echo "fixed='${fixed# }'"
	} >"$d/summary"
	for ((n = 1; n <= a; n++)); do
		echo "===== lab: shard $s, boot $n of $a ====="
		cat "$d/serial-$n.log"
	done >"$d/serial.log"
}

# run_shards: every selected shard, JOBS at a time; the output of each
# shard comes out whole, in table order.
run_shards() {
	local s i=0
	if [ "$JOBS" -le 1 ]; then
		for s in "${RUN_SHARDS[@]}"; do run_shard "$s"; done
		return
	fi
	for s in "${RUN_SHARDS[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
		mkdir -p "$W/shard-$s"
		run_shard "$s" >"$W/shard-$s.out" 2>&1 &
		i=$((i + 1))
	done
	wait
	for s in "${RUN_SHARDS[@]}"; do cat "$W/shard-$s.out"; done
}

# suite_report T0: per-shard lines, the fixed cost per boot and its share
suite_report() {
	local s t0=$1 f x fixed=0 wall=0 nb=0 t
	echo "lab: shard      boots  wall      retried because"
	for s in "${RUN_SHARDS[@]}"; do
		f=$W/shard-$s/summary
		# shellcheck disable=SC1090
		(. "$f" && printf 'lab: %-10s %5s  %6s s  %s\n' "$s" "$boots" "$wall" "${retry_why:--}")
		for x in $(sed -n "s/^fixed='\(.*\)'/\1/p" "$f"); do
			fixed=$(echo "$fixed + ${x%/*}" | bc)
			wall=$(echo "$wall + ${x#*/}" | bc)
			nb=$((nb + 1))
		done
	done
	[ "$nb" -gt 0 ] &&
		echo "lab: fixed cost per boot (QEMU start to toolstack up, plus teardown): $(echo "scale=1; $fixed / $nb" | bc) s on average over $nb complete boot(s), $(echo "scale=1; $fixed * 100 / $wall" | bc)% of their $wall s"
	echo "lab: host load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine slows the boots)"
	t=$((($(now_us) - t0) / 1000000))
	echo "lab: suite wall time $(secs "$t0") s ($((t / 60)) min $((t % 60)) s) for ${#RUN_SHARDS[@]} shard(s), $JOBS boot(s) at a time"
}
