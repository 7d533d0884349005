#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make check: tools/vgpu-ioreq-dm, the xl script, with a fake vgpu-ioreq
# and a fake qemu that record their arguments and open descriptors. The
# restore case is the one that failed on real Xen: libxl passes
# "-incoming fd:K" with K above 9, which must stay open for qemu alone.
# TAP.
dm=${builddir:-.}/tools/vgpu-ioreq-dm
t=$(mktemp -d /tmp/vgpu-dm-test.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1 [$(cat "$t"/*.rec 2>/dev/null | tr '\n' ' ')]"; fi; }

# fake programs: one line per run, "args: ... | fds: ..."
cat >"$t/fake" <<'EOF'
#!/bin/bash
me=${0##*/}
case " $* " in *" --save-watch"*) me=watch ;; esac
fds=$(ls /proc/$$/fd | sort -n | tr '\n' ' ')
echo "args: $* | fds: $fds" >"$REC/$me.rec.tmp" && mv "$REC/$me.rec.tmp" "$REC/$me.rec"
[ "$me" = vgpu-ioreq ] && exit "${FAKE_RC:-0}"
exit 0
EOF
chmod +x "$t/fake"
ln -s fake "$t/vgpu-ioreq"
ln -s fake "$t/qemu"
mkdir -p "$t/conf"
echo "VGPU_QEMU=$t/qemu" >"$t/conf/dm.conf"
export VGPU_IOREQ=$t/vgpu-ioreq VGPU_IOREQ_DM_CONF=$t/conf REC=$t

# wait_rec NAME: the background save watcher writes its record a moment
# after the script exec'd qemu: poll for the file, for at most 10 s
wait_rec() {
	local i
	for i in $(seq 1 200); do
		[ -e "$t/$1.rec" ] && return 0
		sleep 0.05
	done
	return 1
}
run() { rm -f "$t"/*.rec; "$dm" "$@" 2>"$t/stderr"; echo $? >"$t/rc"; }

echo "1..12"
[ -x "$dm" ] || { notok "no $dm (built by make)"; exit 0; }

# 1: a plain xl create
run -xen-domid 5 -name guest=g1,debug-threads=on -machine xenfv -m 256
check "create: vgpu-ioreq for the domain" 'grep -q "^args: --domid 5 |" "$t/vgpu-ioreq.rec"'
check "create: qemu gets libxl's arguments unchanged" 'grep -q "^args: -xen-domid 5 -name guest=g1,debug-threads=on -machine xenfv -m 256 |" "$t/qemu.rec"'
wait_rec watch
check "create: a save watcher that seals the state on a save" 'grep -q "^args: --domid 5 --save-watch |" "$t/watch.rec"'

# 2: xl restore, the saved stream on fd 17
run -xen-domid 7 -name guest=g1 -incoming fd:17 -machine xenfv 17<"$t/fake"
check "restore: vgpu-ioreq restores the device state, no stray argument" 'grep -q "^args: --domid 7 --restore-state xenstore |" "$t/vgpu-ioreq.rec"'
check "restore: fd 17 closed for vgpu-ioreq" '! grep -q "fds: .* 17 " "$t/vgpu-ioreq.rec"'
check "restore: fd 17 open for qemu with -incoming fd:17" 'grep -q "^args: -xen-domid 7 -name guest=g1 -incoming fd:17 -machine xenfv | fds: .* 17 " "$t/qemu.rec"'
wait_rec watch
check "restore: fd 17 closed for the save watcher" 'grep -q "^args: --domid 7 --save-watch |" "$t/watch.rec" && ! grep -q "fds: .* 17 " "$t/watch.rec"'

# 3: the receiving side of xl migrate: "<name>--incoming", per-guest settings
printf 'VGPU_IOREQ_ARGS="--bdf 00:07.0"\nVGPU_IOREQ_SAVE=no\n' >"$t/conf/g2.conf"
run -xen-domid 9 -name guest=g2--incoming -incoming fd:12 12<"$t/fake"
check "migrate: the guest's own settings are read" 'grep -q "^args: --domid 9 --restore-state xenstore --bdf 00:07.0 |" "$t/vgpu-ioreq.rec"'
wait_rec watch
check "migrate: VGPU_IOREQ_SAVE=no refuses saves" 'grep -q "^args: --domid 9 --save-watch=refuse --bdf 00:07.0 |" "$t/watch.rec"'

# 4: vgpu-ioreq fails: the domain's creation fails with a reason, no qemu
FAKE_RC=1 run -xen-domid 11 -name guest=g1
check "failure: exit 1, the reason on stderr, no qemu" '[ "$(cat "$t/rc")" = 1 ] && grep -q "vgpu-ioreq failed for domain 11" "$t/stderr" && [ ! -e "$t/qemu.rec" ]'
echo 'VGPU_REQUIRED=no' >>"$t/conf/dm.conf"
FAKE_RC=1 run -xen-domid 12 -name guest=g1
check "failure with VGPU_REQUIRED=no: qemu runs without the device" '[ "$(cat "$t/rc")" = 0 ] && [ -e "$t/qemu.rec" ]'

# 5: a name that could leave the settings directory is not used
printf 'VGPU_IOREQ_ARGS="--evil"\n' >"$t/evil.conf"
run -xen-domid 13 -name guest=../evil
check "a guest name with a / reads no settings file" 'grep -q "^args: --domid 13 |" "$t/vgpu-ioreq.rec"'
