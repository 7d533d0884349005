#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The real-Xen lab: Xen 4.17 + a Debian 12 dom0 + HVM guests, all under
# qemu-system-x86_64 (TCG, nested SVM), on an ordinary 2-core host.
#
#   lab.sh check  [--builddir DIR]   run the scenarios, shard by shard (one
#                                    boot each), print PASS:/FAIL: lines
#   lab.sh show   [--builddir DIR]   boot once and print the guest's lspci -v
#   lab.sh base                      only build (or reuse) the cached artefacts
#   lab.sh list                      the shards and their scenarios
#
# VGPU_LAB_SHARD=... / VGPU_LAB_SCENARIOS=... (make check-lab SHARD=...
# SCENARIOS=...) run a subset; the shard table is tests/lab/shards and the
# runner tests/lab/runner.sh (its other knobs are listed there).
#
# DIR is a configured and built vgpu-ioreq build tree (built, so that a
# broken build stops here). What dom0 runs is the Debian package built from
# the source tree (dpkg-buildpackage, once per tree: build_debs), installed
# with dpkg; the guest driver is built from the vgpu-stub-dkms package's
# sources. So the lab proves what an administrator installs.
#
# Cache: ${VGPU_LAB_CACHE:-~/.cache/vgpu-ioreq-lab}/<key>, where <key> hashes
# the Xen and kernel package versions and this script's package list.
# Every stage runs under a timeout and names itself when it fails.
set -u -o pipefail

LAB_SRC=$(cd "$(dirname "$0")" && pwd)
TOP_SRC=$(cd "$LAB_SRC/../.." && pwd)
CACHE_ROOT=${VGPU_LAB_CACHE:-$HOME/.cache/vgpu-ioreq-lab}
# dom0 packages beside minbase: the Xen toolstack and qemu-xen (the domain's
# default device model), pciutils + pci.ids for the guest's real lspci, and
# the daemon's own runtime libraries. adduser, which the vgpu-ioreq
# package's postinst needs, is in minbase already (apt depends on it):
# install_debs stops if dpkg finds a dependency missing. systemd: for the
# shard whose dom0 boots with it (shard option init=systemd, lab_systemd);
# the other shards' dom0 never starts it.
DOM0_PKGS=pciutils,pci.ids,kmod,procps,busybox,xen-utils-4.17,xen-utils-common,qemu-system-xen,seabios,libjson-c5,libsystemd0,libseccomp2,systemd
DOM0_MODULES="virtio_blk virtio_pci ext4 xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs"

die() { echo "lab: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }

# stage NAME TIMEOUT LOG CMD...: run CMD under a timeout, log to LOG; on
# failure say which stage failed and show the end of its log.
stage() {
	local name=$1 limit=$2 log=$3 t rc
	shift 3
	t=$(now)
	# shell functions run under timeout(1) through an exported bash
	export -f $(declare -F | awk '{print $3}')
	export B W KPKG LAB_SRC TOP_SRC DOM0_PKGS DOM0_MODULES LAB_MODE
	timeout -k 10 "$limit" bash -c '"$@"' stage "$@" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && echo "lab: stage '$name' timed out after ${limit}s" >&2
		echo "lab: stage '$name' failed (exit $rc); last lines of $log:" >&2
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		exit 1
	fi
	echo "lab: stage $name: $(elapsed "$t")s"
}

check_host() {
	local missing="" c
	for c in qemu-system-x86_64 mmdebstrap mke2fs cpio gzip gcc bc timeout \
		objcopy python3 depmod modprobe apt-get dpkg-deb dpkg-buildpackage git; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	[ -x /bin/busybox ] || missing="$missing busybox-static"
	[ -z "$missing" ] || die "this host cannot run the lab: missing$missing (run tools/vgpu-lab deps)"
	[ "$(id -u)" = 0 ] || die "this host cannot run the lab: it needs root (mmdebstrap, chroot)"
	mkdir -p "$CACHE_ROOT" || die "cannot create $CACHE_ROOT"
	local free_kb
	free_kb=$(df -Pk "$CACHE_ROOT" | awk 'NR==2{print $4}')
	[ "$free_kb" -ge 3000000 ] ||
		die "this host cannot run the lab: only $((free_kb / 1024)) MiB free under $CACHE_ROOT (3 GiB needed)"
}

# The host's own apt sources, handed to mmdebstrap, so the lab uses whatever
# mirror or proxy this machine is configured for.
host_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -qs bookworm "$f" && echo "$f"
	done
}

pkg_version() { apt-cache policy "$1" | awk '/Candidate:/{print $2}'; }

cache_key() {
	printf '%s %s %s %s %s' "$(pkg_version xen-hypervisor-4.17-amd64)" \
		"$KPKG" "$(pkg_version "$KPKG")" "$DOM0_PKGS" \
		"$(sha1sum "$LAB_SRC/dom0-initramfs-init" | cut -c1-12)" |
		sha1sum | cut -c1-16
}

build_fetch() {
	rm -rf "$B/debs" && mkdir -p "$B/debs" && cd "$B/debs" || return 1
	apt-get download xen-hypervisor-4.17-amd64 "$KPKG" || return 1
	for f in *.deb; do dpkg-deb -x "$f" x || return 1; done
	zcat x/boot/xen-4.17-amd64.gz >"$B/xen.elf" || return 1
	cp x/boot/vmlinuz-* "$B/vmlinuz"
}

build_rootfs() {
	local srcs
	srcs=$(host_sources)
	[ -n "$srcs" ] || { echo "no bookworm apt sources on this host"; return 1; }
	rm -rf "$B/rootfs.tmp"
	# shellcheck disable=SC2086
	mmdebstrap --variant=minbase --include="$DOM0_PKGS" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		bookworm "$B/rootfs.tmp" $srcs || return 1
	mv "$B/rootfs.tmp" "$B/rootfs"
}

build_dom0_initramfs() {
	local K=$B/debs/x kv I m p order=""
	kv=$(ls "$K/lib/modules" | head -n 1)
	depmod -b "$K" "$kv" || return 1
	I=$B/initrd-dom0
	rm -rf "$I" && mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$I/bin/busybox"
	for a in sh mount umount insmod switch_root cat sleep; do
		ln -sf busybox "$I/bin/$a"
	done
	for m in $DOM0_MODULES; do
		for p in $(modprobe -d "$K" -S "$kv" --show-depends "$m" | awk '/^insmod/{print $2}'); do
			b=$(basename "$p")
			[ -f "$I/lib/modules/$b" ] && continue
			cp "$p" "$I/lib/modules/$b"
			order="$order $b"
		done
	done
	echo "$order" >"$I/lib/modules/order"
	install -m 755 "$LAB_SRC/dom0-initramfs-init" "$I/init"
	(cd "$I" && find . | cpio -R 0:0 -H newc -o --quiet | gzip -1) >"$B/dom0-initrd.gz"
}

# The Debian bzImage decompresses itself with xz inside the guest, which
# costs ~15 s under nested TCG. Booting the plain ELF through the PVH entry
# (qemu-xen's "xenfv-4.2" machine) skips that; qemu-system-i386 only loads
# ELF32, and objcopy keeps the physical addresses and the Xen notes.
build_vmlinux() {
	build_dom0_vmlinux || return 1
	objcopy -O elf32-i386 "$B/vmlinux-dom0" "$B/vmlinux"
}

# The same kernel's 64-bit ELF, for dom0: Xen loads it as it is, where a
# bzImage costs ~2 s of xz decompression inside Xen at every boot.
build_dom0_vmlinux() {
	python3 - "$B/vmlinuz" "$B/vmlinux-dom0" <<-'EOF'
		import lzma, sys
		d = open(sys.argv[1], 'rb').read()
		i = d.find(b'\xfd7zXZ\x00')
		out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:])
		open(sys.argv[2], 'wb').write(out)
	EOF
}

build_base() {
	check_host
	local key
	W=$CACHE_ROOT/work LAB_MODE=${LAB_MODE:-}
	kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
	KPKG=$(kernel_pkg)
	if [ -z "$KPKG" ]; then
		# no package lists yet on this machine
		apt-get update -q >/dev/null 2>&1
		KPKG=$(kernel_pkg)
	fi
	[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64 through apt (no Debian package lists?)"
	key=$(cache_key)
	B=$CACHE_ROOT/$key
	mkdir -p "$B"
	echo "lab: cache $B"
	[ -s "$B/xen.elf" ] && [ -s "$B/vmlinuz" ] ||
		stage fetch 600 "$B/fetch.log" build_fetch
	[ -x "$B/rootfs/usr/lib/xen-4.17/bin/xl" ] ||
		stage rootfs 1200 "$B/rootfs.log" build_rootfs
	[ -s "$B/dom0-initrd.gz" ] ||
		stage dom0-initramfs 120 "$B/initramfs.log" build_dom0_initramfs
	[ -s "$B/vmlinux" ] ||
		stage guest-vmlinux 120 "$B/vmlinux.log" build_vmlinux
	[ -s "$B/vmlinux-dom0" ] ||
		stage dom0-vmlinux 120 "$B/vmlinux-dom0.log" build_dom0_vmlinux
	[ -d "$B/kheaders/usr/src" ] ||
		stage kernel-headers 600 "$B/kheaders.log" build_kheaders
	return 0
}

# The guest kernel's headers and kbuild, for the guest driver. The Debian
# package's Makefile includes its -common sibling by absolute path: point
# it at the extracted copy.
build_kheaders() {
	local v=${KPKG#linux-image-} d
	rm -rf "$B/kheaders" "$B/kdebs" && mkdir -p "$B/kdebs" && cd "$B/kdebs" || return 1
	apt-get download "linux-headers-$v" "linux-headers-${v%-amd64}-common" \
		linux-kbuild-6.1 || return 1
	for d in *.deb; do dpkg-deb -x "$d" "$B/kheaders" || return 1; done
	sed -i "s|include /usr/src/|include $B/kheaders/usr/src/|" \
		"$B/kheaders/usr/src/linux-headers-$v/Makefile"
	rm -rf "$B/kdebs"
}

# Guest initramfs: static busybox, the real lspci from dom0's Debian tree
# (with its libraries and pci.ids), the static guest test program.
build_guest_initramfs() {
	local G=$W/initrd-guest R=$B/rootfs lib
	rm -rf "$G" && mkdir -p "$G"/{bin,sbin,dev,proc,sys,usr/bin,usr/share/misc}
	cp /bin/busybox "$G/bin/busybox"
	for a in sh mount cat echo grep sed awk head tail dmesg poweroff reboot sleep insmod rmmod \
		seq wc cut tr ls; do
		ln -sf busybox "$G/bin/$a"
	done
	cp "$R/usr/bin/lspci" "$G/usr/bin/lspci"
	cp "$R/usr/share/misc/pci.ids" "$G/usr/share/misc/pci.ids"
	# the libraries at the paths the loader looks for them
	for lib in $(chroot "$R" /usr/bin/ldd /usr/bin/lspci | grep -o '/[^ ]*'); do
		mkdir -p "$G$(dirname "$lib")"
		cp -L "$R$lib" "$G$lib"
	done
	# the kernel's module indexes, so that lspci -v can look drivers up
	# (no modules: the guest runs from its initramfs)
	local kv
	kv=$(ls "$B/debs/x/lib/modules" | head -n 1)
	mkdir -p "$G/lib/modules/$kv"
	cp "$B/debs/x/lib/modules/$kv"/modules.*.bin "$G/lib/modules/$kv/"
	install -m 644 "$W/guest-module/vgpu_stub.ko" "$G/lib/modules/vgpu_stub.ko"
	install -m 755 "$W/vgpu-guest-test" "$G/usr/bin/vgpu-guest-test"
	install -m 755 "$W/vgpu-drv-test" "$G/usr/bin/vgpu-drv-test"
	install -m 755 "$LAB_SRC/guest-init" "$G/init"
	guest_cuda "$G" || return 1
	(cd "$G" && find . | cpio -R 0:0 -H newc -o --quiet | gzip -1) >"$W/guest-initrd.gz"
	echo "guest initramfs: $(stat -c %s "$W/guest-initrd.gz") bytes"
}

# The CUDA part of the guest image (issue 9), where build_cuda made it:
# what a dynamically linked CUDA program needs from dom0's Debian tree
# (loader, libc, libm, libstdc++, libgcc_s), the project's libcuda.so.1
# and libcudart.so.13 in the private directory the vgpu-cuda-guest package
# uses, with its vgpu-cuda-run wrapper, and the programs, all stripped.
guest_cuda() {
	[ -f "$W/cuda/skip" ] && return 0
	local G=$1 R=$B/rootfs C=$W/cuda lib n d=usr/lib/x86_64-linux-gnu/vgpu-cuda
	mkdir -p "$G/$d" "$G/usr/libexec/vgpu-cuda" "$G/lib/x86_64-linux-gnu"
	for lib in libc.so.6 libm.so.6 libstdc++.so.6 libgcc_s.so.1; do
		cp -L "$R/usr/lib/x86_64-linux-gnu/$lib" "$G/lib/x86_64-linux-gnu/$lib" || return 1
	done
	strip --strip-unneeded -o "$G/$d/libcuda.so.1" "$C/libcuda.so.1" &&
		strip --strip-unneeded -o "$G/$d/libcudart.so.13" "$C/libcudart.so.13" || return 1
	sed "s|@CUDA_LIBDIR@|/$d|" "$TOP_SRC/debian/vgpu-cuda-run.in" >"$G/usr/bin/vgpu-cuda-run"
	chmod 755 "$G/usr/bin/vgpu-cuda-run"
	for p in "$C"/bin/*; do
		case $p in
		*.fatbin | *.ptx) cp "$p" "$G/usr/libexec/vgpu-cuda/" ;;
		*) strip -o "$G/usr/libexec/vgpu-cuda/${p##*/}" "$p" || return 1 ;;
		esac
	done
	# every library a program or our libraries need is in the image
	for p in "$G/usr/libexec/vgpu-cuda"/* "$G/$d"/*; do
		for n in $(objdump -p "$p" 2>/dev/null | awk '/NEEDED/{print $2}'); do
			[ -e "$G/lib/x86_64-linux-gnu/$n" ] || [ -e "$G/lib64/$n" ] ||
				[ -e "$G/$d/$n" ] ||
				{ echo "guest image: $p needs $n, which is not in it"; return 1; }
		done
	done
}

# The CUDA programs for the guest, from the build tree: nvcc's test
# programs (rt_api, drv_api, fault) with their fatbin and PTX, the guest
# libraries, the lab's driver-API benchmark. Without nvcc or the CUDA
# headers at configure time, $W/cuda/skip says why (the scenarios SKIP).
build_cuda() {
	local bd=$1 C=$W/cuda progs imgs cpp libs
	rm -rf "$C" && mkdir -p "$C/bin"
	# shellcheck disable=SC2016
	printf 'lab-cuda:\n\t@echo "$(CUDA_TEST_PROGS)|$(CUDA_TEST_IMAGES)|$(CUDA_CPPFLAGS)|$(CUDA_LIBS)"\n' |
		make -s --no-print-directory -C "$bd" -f Makefile -f - lab-cuda >"$C/vars" || return 1
	IFS='|' read -r progs imgs cpp libs <"$C/vars"
	if [ ! -x "$bd/guest/lib/libcudart.so.13" ]; then
		echo "no CUDA headers at configure time: the guest libraries were not built" >"$C/skip"
	elif [ -z "$progs" ]; then
		echo "no nvcc at configure time: the CUDA test programs were not built" >"$C/skip"
	fi
	[ -f "$C/skip" ] && { cat "$C/skip"; return 0; }
	# shellcheck disable=SC2086
	make -C "$bd" -j2 $progs $imgs >/dev/null || return 1
	cp "$bd/guest/lib/libcuda.so.1" "$bd/guest/lib/libcudart.so.13" "$C/" || return 1
	for p in rt_api drv_api fault cuda_kernels.fatbin cuda_kernels.ptx; do
		cp "$bd/tests/cuda/$p" "$C/bin/" || return 1
	done
	# shellcheck disable=SC2086
	cc -O2 -Wall $cpp -I"$TOP_SRC/include" -o "$C/bin/vgpu-cuda-bench" \
		"$LAB_SRC/guest/vgpu-cuda-bench.c" $libs || return 1
	cc -O2 -Wall -I"$TOP_SRC/include" -o "$C/bin/vgpu-cuda-lab" \
		"$LAB_SRC/guest/vgpu-cuda-lab.c" "$LAB_SRC/guest/vgpu-cuda-evil.c" || return 1
}

# The driver's static checks: sparse with endianness (the device ABI is
# __le-typed in the kernel) must be silent, and memory shared with the
# device is never ordered with smp_*() barriers (compiler barriers only
# on CONFIG_SMP=n; the device is another processor even there).
check_guest_module() {
	local k=$B/kheaders/usr/src/linux-headers-${KPKG#linux-image-} w
	if grep -n 'smp_[rw]*mb\b\|smp_mb__' "$W"/guest-module/*.[ch]; then
		echo "guest driver: smp_*() barriers on device-shared memory"
		return 1
	fi
	command -v sparse >/dev/null || { echo "no sparse: static check skipped"; return 0; }
	rm -rf "$W/guest-sparse" && cp -r "$TOP_SRC/guest/linux" "$W/guest-sparse"
	w=$(make -C "$k" M="$W/guest-sparse" VGPU_INCLUDE="$TOP_SRC/include/vgpu" \
		C=2 CF=-D__CHECK_ENDIAN__ modules 2>&1 | grep "guest-sparse/.*warning")
	rm -rf "$W/guest-sparse"
	[ -z "$w" ] || { echo "guest driver: sparse warnings:"; echo "$w"; return 1; }
}

build_payload() {
	local bd=$1
	[ -f "$bd/Makefile" ] || { echo "$bd is not a configured build tree"; return 1; }
	make -C "$bd" -j2 >/dev/null || return 1
	cc -O2 -Wall -static -I"$TOP_SRC/include" -o "$W/vgpu-guest-test" \
		"$LAB_SRC/guest/vgpu-guest-test.c" || return 1
	cc -O2 -Wall -static -I"$TOP_SRC/include" -o "$W/vgpu-drv-test" \
		"$LAB_SRC/guest/vgpu-drv-test.c" "$LAB_SRC/guest/vgpu-drv-session.c" || return 1
	cc -O2 -Wall -o "$W/lab-fd-check" "$LAB_SRC/lab-fd-check.c" || return 1
	cc -O2 -Wall -o "$W/lab-ioreq-servers" "$LAB_SRC/lab-ioreq-servers.c" \
		-lxendevicemodel || return 1
	build_debs || return 1
	build_guest_module_dkms || return 1
	check_guest_module || return 1
	build_cuda "$bd" || return 1
	build_guest_initramfs || return 1
	# A hard-linked copy of the cached tree: dpkg and the files below
	# replace paths rather than write into them (install_debs breaks the
	# links of the few files written in place), so the cache stays clean.
	rm -rf "$W/rootfs"
	cp -al "$B/rootfs" "$W/rootfs" || return 1
	install_debs "$W/rootfs" vgpu-ioreq || return 1
	local L=$W/rootfs/root/lab
	mkdir -p "$L"
	# the paths the package installs to (the scenarios read them)
	cp "$DEBS/paths" "$L/paths" || return 1
	# /sbin/lab-init (the initramfs's switch_root target) picks the init:
	# dom0-init, or the one a shard's init= names (lab_systemd)
	install -m 755 "$LAB_SRC/dom0-init-select" "$W/rootfs/sbin/lab-init"
	install -m 755 "$LAB_SRC/dom0-init" "$W/rootfs/sbin/lab-init-sh"
	lab_systemd "$W/rootfs" || return 1
	install -m 755 "$LAB_SRC"/scenarios*.sh "$LAB_SRC/dom0-init-systemd" "$L/"
	install -m 755 "$W/lab-ioreq-servers" "$L/lab-ioreq-servers"
	install -m 755 "$W/lab-fd-check" "$L/lab-fd-check"
	cp "$B/vmlinux" "$W/guest-initrd.gz" "$L/"
	rm -f "$L/cuda-skip"
	[ -f "$W/cuda/skip" ] && cp "$W/cuda/skip" "$L/cuda-skip"
	rm -f "$W/dom0.img"
	truncate -s 1200M "$W/dom0.img"
	mke2fs -q -t ext4 -F -L dom0root -d "$W/rootfs" "$W/dom0.img"
}

# lab_systemd ROOT: the dom0 tree's setup for a boot with systemd as PID 1
# (shard option init=systemd; the shell init never reads any of it): the
# lab's unit, vgpu-lab.service, enabled; multi-user.target as the default;
# a fixed machine-id (no first boot: no presets applied, no
# systemd-firstboot asking on the console). Masked: what the lab's dom0
# does not need and what would wait on its console or on devices under
# TCG: gettys (the lab's unit has the console), udev (dom0-init runs
# without it: devtmpfs has the Xen nodes, nothing waits on a device
# unit), logind (no D-Bus here), Debian's xendomains script (no saved or
# auto-started domains), and timers.
lab_systemd() {
	local r=$1 e=$1/etc/systemd/system u
	[ -x "$r/lib/systemd/systemd" ] || { echo "no systemd in the dom0 tree"; return 1; }
	mkdir -p "$e/multi-user.target.wants" || return 1
	install -m 644 "$LAB_SRC/vgpu-lab.service" "$e/vgpu-lab.service" || return 1
	ln -sf ../vgpu-lab.service "$e/multi-user.target.wants/vgpu-lab.service"
	ln -sf /lib/systemd/system/multi-user.target "$e/default.target"
	# (rm first: the tree's files are hard links into the cache)
	rm -f "$r/etc/machine-id" && echo 766770752d696f726571642d6c616230 >"$r/etc/machine-id"
	for u in getty.target getty@.service serial-getty@.service \
		systemd-udevd.service systemd-udevd-control.socket \
		systemd-udevd-kernel.socket systemd-udev-trigger.service \
		systemd-udev-settle.service systemd-logind.service \
		systemd-firstboot.service xendomains.service timers.target; do
		ln -sf /dev/null "$e/$u" || return 1
	done
}

# build_debs: the packages of the source tree (its tracked files as
# modified, as CI builds them: dpkg-buildpackage -b, nocheck) in
# $W/debs-TREE, TREE the hash of that tree: built once per tree, so
# another lab run of the same sources reuses them. Sets DEBS. Also keeps
# the paths the package's build installs to (SYSCONFDIR, XENSCRIPTDIR,
# RUNSTATEDIR) in $DEBS/paths.
build_debs() {
	local rev tree t0 src
	rev=$(git -C "$TOP_SRC" stash create) || return 1
	tree=$(git -C "$TOP_SRC" rev-parse "${rev:-HEAD}^{tree}") || return 1
	DEBS=$W/debs-${tree:0:12}
	if [ -s "$DEBS/paths" ] && ls "$DEBS"/vgpu-ioreq_*.deb >/dev/null 2>&1; then
		echo "packages of tree ${tree:0:12} reused: $(cd "$DEBS" && echo *.deb)"
		return 0
	fi
	rm -rf "$W"/debs-* && mkdir -p "$DEBS/src" || return 1
	t0=$(now)
	src=$DEBS/src/vgpu-ioreq
	mkdir -p "$src" && git -C "$TOP_SRC" archive "${rev:-HEAD}" | tar -x -C "$src" || return 1
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
		>"$DEBS/build.log" 2>&1 || {
		tail -n 30 "$DEBS/build.log"
		return 1
	}
	printf 'lab-paths:\n\t@echo "SYSCONFDIR=$(sysconfdir) XENSCRIPTDIR=$(xenscriptdir) RUNSTATEDIR=$(runstatedir)"\n' |
		make -s --no-print-directory -C "$src/debian/build" -f Makefile -f - lab-paths >"$DEBS/paths" || return 1
	mv "$DEBS"/src/*.deb "$DEBS/" && rm -rf "$DEBS/src" || return 1
	echo "packages built in $(elapsed "$t0") s: $(cd "$DEBS" && echo *.deb); $(cat "$DEBS/paths")"
}

# install_debs ROOT PACKAGE...: dpkg -i those packages of $DEBS into ROOT
# (a hard-linked copy of the cache: the files dpkg, adduser and their logs
# write in place are copied first)
install_debs() {
	local root=$1 f p debs=""
	shift
	for f in etc/passwd etc/group etc/shadow etc/gshadow etc/subuid etc/subgid \
		var/lib/dpkg/status var/lib/dpkg/available var/log/dpkg.log \
		var/log/alternatives.log; do
		[ -f "$root/$f" ] || continue
		cp -p "$root/$f" "$root/$f.lab" && mv "$root/$f.lab" "$root/$f" || return 1
	done
	mkdir -p "$root/tmp/debs"
	for p in "$@"; do
		cp "$DEBS/${p}_"*.deb "$root/tmp/debs/" || return 1
		debs="$debs /tmp/debs/$(basename "$DEBS/${p}_"*.deb)"
	done
	# shellcheck disable=SC2086
	chroot "$root" dpkg -i $debs || return 1
	rm -rf "$root/tmp/debs"
	chroot "$root" dpkg -s "$@" | grep -q '^Status: install ok installed' || return 1
	echo "installed with dpkg:$(chroot "$root" dpkg-query -W -f ' ${Package} ${Version}' "$@")"
}

# build_guest_module_dkms: the guest driver as DKMS builds it, from the
# vgpu-stub-dkms package's own files: its dkms.conf's MAKE[0] against the
# guest kernel's headers, in the tree the package unpacks (kbuild writes
# beside the sources, so in $W).
build_guest_module_dkms() {
	local x=$W/dkms-pkg k=$B/kheaders/usr/src/linux-headers-${KPKG#linux-image-} d ver
	rm -rf "$x" "$W/guest-module"
	dpkg-deb -x "$DEBS"/vgpu-stub-dkms_*.deb "$x" || return 1
	d=$(echo "$x"/usr/src/vgpu-stub-*)
	ver=${d##*/vgpu-stub-}
	[ -f "$d/dkms.conf" ] && [ -f "$d/guest/linux/Kbuild" ] || {
		echo "vgpu-stub-dkms: no dkms.conf or guest/linux/Kbuild under $d"
		return 1
	}
	grep -q "^PACKAGE_VERSION=\"$ver\"" "$d/dkms.conf" || {
		echo "vgpu-stub-dkms: dkms.conf does not say version $ver"
		return 1
	}
	make -C "$k" M="$d/guest/linux" modules >"$W/guest-module.log" 2>&1 || {
		tail -n 20 "$W/guest-module.log"
		return 1
	}
	mkdir -p "$W/guest-module"
	cp "$d"/guest/linux/*.ko "$d"/guest/linux/*.[ch] "$W/guest-module/" &&
		rm -f "$W"/guest-module/*.mod.c || return 1
	echo "guest driver built from vgpu-stub-dkms $ver's sources: $(cd "$W/guest-module" && echo *.ko)"
}

# shellcheck source=runner.sh
. "$LAB_SRC/runner.sh"

# run_lab BUILDDIR: the payload, then every selected shard's boot
run_lab() {
	local bd=$1 s
	W=$CACHE_ROOT/work
	mkdir -p "$W"
	rm -rf "$W/results" "$W"/serial*.log "$W"/shard-*
	stage payload 900 "$W/payload.log" build_payload "$bd"
	run_shards
	for s in "${RUN_SHARDS[@]}"; do cat "$W/shard-$s/serial.log"; done >"$W/serial.log"
	for s in "${RUN_SHARDS[@]}"; do cat "$W/shard-$s/results"; done >"$W/results"
}

main() {
	local cmd=${1:-check} bd=""
	shift || true
	while [ $# -gt 0 ]; do
		case $1 in
		--builddir) bd=$2; shift 2 ;;
		--builddir=*) bd=${1#*=}; shift ;;
		*) die "unknown argument: $1" ;;
		esac
	done
	[ -n "$bd" ] || bd=$TOP_SRC
	bd=$(cd "$bd" && pwd) || die "no build directory"
	case $cmd in
	base) build_base ;;
	list)
		load_shards "$LAB_SRC/shards" || exit 1
		list_shards
		;;
	check)
		local t0 p f
		t0=$(now_us)
		load_shards "$LAB_SRC/shards" || exit 1
		select_run "${VGPU_LAB_SHARD:-}" "${VGPU_LAB_SCENARIOS:-}" || exit 1
		echo "lab: shards: $(for s in "${RUN_SHARDS[@]}"; do printf '%s (%s) ' "$s" "${RUN_FNS[$s]//scenario_/}"; done)"
		echo "lab: host load average at the start: $(cut -d" " -f1-3 /proc/loadavg)"
		build_base
		LAB_MODE=check
		run_lab "$bd"
		sed -n 's/\r$//; s/^.*\(LAB-[A-Z]*:\)/\1/p' "$W/serial.log" |
			sed -n 's/^LAB-METRIC: /metric: /p; s/^LAB-INFO: /info: /p'
		cat "$W/results"
		suite_report "$t0"
		p=$(grep -c '^PASS:' "$W/results")
		f=$(grep -c '^FAIL:' "$W/results")
		echo "lab: $p passed, $f failed, $(grep -c '^SKIP:' "$W/results") skipped (serial logs: $W/serial.log, per shard $W/shard-*/)"
		[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
		;;
	show)
		load_shards "$LAB_SRC/shards" || exit 1
		# one boot, the first scenario only, in its short form
		RUN_SHARDS=(show)
		RUN_FNS[show]=scenario_step1
		FN_NAMES[scenario_step1]=step1-lspci
		build_base
		LAB_MODE=show
		run_lab "$bd"
		tr -d '\r' <"$W/serial.log" | sed -n '/^=== guest: /,/^=== end guest/p'
		grep -q '^PASS: step1-lspci' "$W/results"
		;;
	*) die "usage: lab.sh check|show|base|list [--builddir DIR]" ;;
	esac
}

main "$@"
