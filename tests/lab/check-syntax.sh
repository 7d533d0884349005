#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make check: the lab's shell scripts parse (a syntax error in the guest's
# /init only shows as every guest boot failing, minutes into a lab run).
# TAP, one line per script.
s=${srcdir:-.}/tests/lab
n=0
echo "1..10"
for f in guest-init:sh dom0-init:sh dom0-initramfs-init:sh lab.sh:bash \
	runner.sh:bash scenarios.sh:bash dom0-init-select:sh dom0-init-systemd:sh; do
	n=$((n + 1))
	if ${f#*:} -n "$s/${f%%:*}" 2>/tmp/vgpu-syntax.$$; then
		echo "ok $n - ${f%%:*} parses (${f#*:} -n)"
	else
		echo "not ok $n - ${f%%:*}: $(head -n 1 /tmp/vgpu-syntax.$$)"
	fi
done
bad=""
for f in "$s"/scenarios-*.sh; do
	bash -n "$f" 2>>/tmp/vgpu-syntax.$$ || bad="$bad ${f##*/}"
done
n=$((n + 1))
if [ -z "$bad" ]; then echo "ok $n - every scenarios-*.sh parses"; else echo "not ok $n - do not parse:$bad"; fi
n=$((n + 1))
if awk '/^[a-z0-9 |]*\) *(#.*)?$/ && open { bad = 1 } /^[a-z0-9 |]*\) *(#.*)?$/ { open = 1 } /^\t;;$/ { open = 0 } END { exit bad }' "$s/guest-init"; then
	echo "ok $n - every guest-init mode ends with ;; before the next"
else
	echo "not ok $n - a guest-init mode runs into the next without ;;"
fi
rm -f /tmp/vgpu-syntax.$$
