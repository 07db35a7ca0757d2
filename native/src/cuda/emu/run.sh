#!/bin/sh
# Builds the CUDA backend as C++ over the emulated runtime (cuda_runtime.h here) and runs
# emu_test.cpp: the kernels' logic checked on the CPU against a float64 reference.
#   sh native/src/cuda/emu/run.sh [--quick] [build-dir]
# Needs g++ with C++20 (std::barrier); no CUDA toolkit, driver or GPU.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
native=$(cd "$src/../.." && pwd)
quick=""
if [ "${1:-}" = "--quick" ]; then quick="--quick"; shift; fi
out=${1:-${TMPDIR:-/tmp}/l2l-cuda-emu}
mkdir -p "$out"
# kernel launches become emu::launch(kernel, grid, block, smem, stream)(args);
# extern shared memory becomes the emulator's per-block buffer, static shared memory a static.
sed -e 's/\([A-Za-z_:][A-Za-z_:0-9]*\)<<<\(.*\)>>>(/emu::launch(\1, \2)(/' \
    "$src/cuda_backend.cu" > "$out/cuda_backend.cu"
sed -e 's/extern __shared__ float4 \([A-Za-z_0-9]*\)\[\];/float4* \1 = reinterpret_cast<float4*>(emu::g_smem);/' \
    -e 's/__shared__/static/' \
    "$src/kernels.cuh" > "$out/kernels.cuh"
${CXX:-g++} -std=c++20 -O2 -g -pthread -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
    -DL2L_CUDA_TARGET_ROWS=2 \
    -I "$out" -I "$here" -I "$native/include" -I "$native/src/common" \
    -o "$out/emu_test" "$here/emu_test.cpp"
"$out/emu_test" $quick
