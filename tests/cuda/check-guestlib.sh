#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the guest CUDA libraries as built, without a device:
# SONAMEs, the exported names (exactly NVIDIA's, each with the version
# node a program built against CUDA 13.0 asks for), what the project's
# test programs and NVIDIA's samples import being implemented rather
# than a stub, the stubs' answer, the registration path of nvcc's host
# code (over the fake session queue), and the README's API table. TAP.
b=${builddir:-.}
s=${srcdir:-.}
lib=$b/guest/lib
gen=$lib/gen
READELF=${READELF:-readelf}

[ -x "$lib/libcudart.so.13" ] || {
	echo "1..0 # SKIP no CUDA headers at configure time: the guest CUDA libraries are not built"
	exit 0
}
tmp=$(mktemp -d) || exit 1
. "$s/tests/cuda/run-prog.sh"
trap 'rm -rf "$tmp"' EXIT
n=0
result() { # ok?, description, [file with details]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' "$3" | head -40
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
names() { grep -v '^#' "$1" | LC_ALL=C sort -u; }
exported() { # lib -> "name version" per defined function
	"$READELF" --dyn-syms -W "$1" |
		awk '$4 == "FUNC" && $7 != "UND" { v = "-"; i = index($8, "@@");
			if (i) { v = substr($8, i + 2); $8 = substr($8, 1, i - 1) }
			print $8, v }' | LC_ALL=C sort -u
}
soname() { "$READELF" -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }

echo "1..9"
[ "$(soname "$lib/libcuda.so.1")" = libcuda.so.1 ] &&
	[ "$(soname "$lib/libcudart.so.13")" = libcudart.so.13 ]
result $? "SONAMEs libcuda.so.1 and libcudart.so.13"

exported "$lib/libcuda.so.1" >"$tmp/cu.exp"
awk '{ print $1 }' "$tmp/cu.exp" >"$tmp/cu.names"
names "$s/guest/lib/exports/libcuda.so.1.txt" >"$tmp/cu.want"
{ diff "$tmp/cu.want" "$tmp/cu.names" && ! grep -qv ' -$' "$tmp/cu.exp"; } >"$tmp/d1" 2>&1
result $? "libcuda.so.1 exports exactly NVIDIA's $(wc -l <"$tmp/cu.want") names, unversioned" "$tmp/d1"

exported "$lib/libcudart.so.13" >"$tmp/rt.exp"
awk '{ print $1 }' "$tmp/rt.exp" >"$tmp/rt.names"
names "$s/guest/lib/exports/libcudart.so.13.txt" >"$tmp/rt.want"
{ diff "$tmp/rt.want" "$tmp/rt.names" && ! grep -v ' libcudart.so.13$' "$tmp/rt.exp"; } >"$tmp/d2" 2>&1
result $? "libcudart.so.13 exports exactly NVIDIA's $(wc -l <"$tmp/rt.want") names, each @@libcudart.so.13" "$tmp/d2"

# name[@version] program: implemented, and exported with that version
check_imports() { # file of "import program" lines -> failures on stdout
	while read -r imp prog; do
		name=${imp%%@*}
		ver=-
		[ "$name" != "$imp" ] && ver=${imp#*@}
		case $name in
		cuda* | __cuda*) impl=$gen/libcudart.impl exp=$tmp/rt.exp ;;
		*) impl=$gen/libcuda.impl exp=$tmp/cu.exp ;;
		esac
		grep -qx "$name" "$impl" || echo "$prog imports $name: a not-supported stub"
		grep -qx "$name $ver" "$exp" || echo "$prog imports $imp: not exported so"
	done <"$1"
}
progs_built=yes
for p in rt_api drv_api fault; do
	[ -x "$b/tests/cuda/$p" ] || progs_built=
done
if [ -n "$progs_built" ]; then
	for p in rt_api drv_api fault; do
		"$READELF" --dyn-syms -W "$b/tests/cuda/$p" |
			awk -v p="$p" '$7 == "UND" && $8 ~ /^(cu|__cuda)/ { print $8, p }'
	done >"$tmp/imports"
	check_imports "$tmp/imports" >"$tmp/d3"
	[ ! -s "$tmp/d3" ]
	result $? "every CUDA name the test programs import is implemented, with its version ($(awk '{print $1}' "$tmp/imports" | sort -u | wc -l) names)" "$tmp/d3"
else
	skip "the test programs' imports" "no nvcc: the test programs are not built"
fi

grep -v '^#' "$s/tests/cuda/sample-imports.txt" >"$tmp/samples"
check_imports "$tmp/samples" >"$tmp/d4"
[ ! -s "$tmp/d4" ]
result $? "every name vectorAddDrv, matrixMulDrv, deviceQueryDrv and vectorAdd import is implemented" "$tmp/d4"

"$b/tests/cuda/stub_check" "$lib/libcuda.so.1" "$lib/libcudart.so.13" >"$tmp/d5" 2>"$tmp/stub.err"
rc=$?
[ $rc = 0 ] && [ "$(grep -c 'cuGraphCreate: not supported' "$tmp/stub.err")" = 1 ] &&
	[ "$(grep -c 'cudaGraphCreate: not supported' "$tmp/stub.err")" = 1 ]
result $? "a stub answers 801 each time and logs once" "$tmp/d5"

if [ -x "$b/tests/cuda/reg_check" ]; then
	rm -f "$tmp/fake.log"
	run_prog env FAKE_DEV_LOG="$tmp/fake.log" VGPU_SPIN_US=0 \
		LD_LIBRARY_PATH="$b/tests/cuda/fake:$lib" \
		timeout 60 "$b/tests/cuda/reg_check" >"$tmp/d6" 2>&1
	result $? "nvcc's registration path: lazy module load, mangled names, parameter layout" "$tmp/d6"
else
	skip "nvcc's registration path" "no nvcc: reg_check is not built"
fi

# README: the API table lists exactly what is implemented
readme=$s/README.md
for l in libcuda libcudart; do
	sed -n "/<!-- $l-implemented -->/,/<!-- end -->/p" "$readme" |
		grep -o '`[_a-zA-Z0-9]*`' | tr -d '`' | LC_ALL=C sort -u >"$tmp/readme.$l"
	LC_ALL=C sort -u "$gen/$l.impl" | diff - "$tmp/readme.$l"
done >"$tmp/d7" 2>&1
result $? "README's API table lists exactly the implemented names" "$tmp/d7"

# ldd: libcudart.so.13 finds its own libcuda.so.1 beside it
env -u LD_LIBRARY_PATH ldd "$lib/libcudart.so.13" 2>&1 |
	grep -q "libcuda.so.1 => .*guest/lib/libcuda.so.1"
result $? "libcudart.so.13 loads the libcuda.so.1 beside it (RUNPATH \$ORIGIN)"
