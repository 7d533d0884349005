#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate sample-imports.txt: the CUDA names that NVIDIA's samples
# vectorAddDrv, matrixMulDrv, deviceQueryDrv (driver API, -lcuda) and
# vectorAdd (runtime API, nvcc -cudart shared) import when built against
# the CUDA toolkit here. Run by hand; the list is committed data (names
# only), the samples' code is not.
#   gen-sample-imports.sh CUDA_SAMPLES_CHECKOUT [CUDA_DIR]
set -eu
src=$1
cuda=${2:-/usr/local/cuda}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc="-I$src/Common -I$cuda/include"
for s in 0_Introduction/vectorAddDrv/vectorAddDrv 0_Introduction/matrixMulDrv/matrixMulDrv \
	1_Utilities/deviceQueryDrv/deviceQueryDrv; do
	g++ $inc "$src/Samples/$s.cpp" -o "$tmp/$(basename "$s")" \
		-L"$cuda/lib64/stubs" -lcuda
done
"$cuda/bin/nvcc" -cudart shared -arch=sm_90 $inc \
	"$src/Samples/0_Introduction/vectorAdd/vectorAdd.cu" -o "$tmp/vectorAdd"
echo "# CUDA names NVIDIA's samples import (program name), by gen-sample-imports.sh"
for p in vectorAddDrv matrixMulDrv deviceQueryDrv vectorAdd; do
	readelf --dyn-syms -W "$tmp/$p" |
		awk -v p="$p" '$7 == "UND" && $8 ~ /^(cu|__cuda)/ { print $8, p }'
done | LC_ALL=C sort
