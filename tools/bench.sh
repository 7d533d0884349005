#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make bench: ioreqs/s through the fake Xen, and the daemon's instructions
# per request counted by callgrind (valgrind), side by side in one run.
#   tools/bench.sh BUILDDIR
set -eu
B=${1:-.}
BIN=$B/tests/bench/bench_ioreq
N=20000
"$BIN" both 200000
"$B/tests/bench/bench_ring"
command -v valgrind >/dev/null || { echo "bench: valgrind not installed: no instruction counts"; exit 0; }
for kind in cfg mmio; do
	out=$(mktemp)
	# Count only inside xen_host_handle_events(): from the event to the
	# completed slot, i.e. what the daemon does per request.
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		--toggle-collect=xen_host_handle_events "$BIN" "$kind" "$N" >/dev/null 2>&1
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		awk -v n="$N" -v kind="$kind" '
		function num(s) { gsub(",", "", s); return s + 0 }
		/xen_host_handle_events/ && !total { total = num($1) }
		/xenevtchn_pending/ && !pend { pend = num($1) }
		/xenevtchn_unmask/ && !unm { unm = num($1) }
		/xenevtchn_notify/ && !noti { noti = num($1) }
		END {
			own = total - pend - unm - noti
			printf "bench: %-4s instructions per request: %.0f from event to completion; %.0f without the event-channel calls (pending/unmask/notify: system calls in the real libxenevtchn, fake here); target <= 300\n", kind, total / n, own / n
		}'
	rm -f "$out"
done
