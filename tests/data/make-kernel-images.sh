#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Rebuild the module images of the project's own test kernels that the CPU
# backend's unit tests load (committed, so that make check needs no nvcc):
# a cubin, fatbins as nvcc 13 writes them (SASS; SASS compressed with
# -Xfatbin -compress-all; PTX, which nvcc compresses by default) and PTX.
set -eu
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "%s/../cuda/test_kernels.cuh"\n' "$here" >"$tmp/k.cu"
"$NVCC" -cubin -arch=sm_90 "$tmp/k.cu" -o "$here/kernels.cubin"
"$NVCC" -fatbin -arch=sm_90 "$tmp/k.cu" -o "$here/kernels.fatbin"
"$NVCC" -fatbin -arch=sm_90 -Xfatbin -compress-all "$tmp/k.cu" \
	-o "$here/kernels-compressed.fatbin"
"$NVCC" -fatbin -gencode arch=compute_90,code=compute_90 "$tmp/k.cu" \
	-o "$here/kernels-ptx.fatbin"
"$NVCC" -ptx -arch=sm_90 "$tmp/k.cu" -o "$here/kernels.ptx"
