#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate exports/*.txt: the names (and nothing else) that NVIDIA's
# libraries export, which ours must export too. Run by hand against a
# CUDA toolkit; the lists are committed data.
#   gen-exports.sh [CUDA_DIR]      (default /usr/local/cuda)
set -eu
cuda=${1:-/usr/local/cuda}
here=$(dirname "$0")
names() { # library -> its defined function names, sorted
	readelf --dyn-syms -W "$1" |
		awk '$4 == "FUNC" && $5 != "LOCAL" && $7 != "UND" {
			sub(/@.*/, "", $8); print $8 }' | LC_ALL=C sort -u
}
ver=$("$cuda/bin/nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p')
{
	echo "# libcudart.so.13 exports, from $cuda/lib64/libcudart.so.13 (CUDA $ver) by gen-exports.sh"
	names "$cuda/lib64/libcudart.so.13"
} >"$here/exports/libcudart.so.13.txt"
{
	echo "# libcuda.so.1 exports, from $cuda/lib64/stubs/libcuda.so (CUDA $ver) by gen-exports.sh"
	names "$cuda/lib64/stubs/libcuda.so"
} >"$here/exports/libcuda.so.1.txt"
