#!/bin/sh
# SPDX-License-Identifier: MIT
# Print the README's API table from a build: what each library
# implements (its .impl list) against what it exports. check-guestlib.sh
# checks the README against the build; paste this output when they part.
#   gen-api-table.sh BUILDDIR [SRCDIR]
set -eu
b=$1
s=${2:-$(dirname "$0")/../..}
count() { grep -vc '^#' "$1"; }
list() {
	echo "<!-- $1-implemented -->"
	sed 's/.*/`&`/' "$b/guest/lib/gen/$1.impl" | paste -sd' ' | sed 's/ /, /g' | fold -s -w 76 | sed 's/ *$//'
	echo "<!-- end -->"
}
cu=$(wc -l <"$b/guest/lib/gen/libcuda.impl")
rt=$(wc -l <"$b/guest/lib/gen/libcudart.impl")
cue=$(count "$s/guest/lib/exports/libcuda.so.1.txt")
rte=$(count "$s/guest/lib/exports/libcudart.so.13.txt")
echo "| library | exports | implemented | present, not supported |"
echo "|---|---|---|---|"
echo "| \`libcuda.so.1\` | $cue | $cu | $((cue - cu)): \`CUDA_ERROR_NOT_SUPPORTED\` |"
echo "| \`libcudart.so.13\` | $rte | $rt | $((rte - rt)): \`cudaErrorNotSupported\` |"
echo
echo "Implemented in \`libcuda.so.1\`:"
echo
list libcuda
echo
echo "Implemented in \`libcudart.so.13\`:"
echo
list libcudart
