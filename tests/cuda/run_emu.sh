#!/bin/sh
# Builds the CUDA backend as C++ over the emulated runtime (emu/cuda_runtime.h) and runs
# backend_test.cpp: the kernels' logic checked on the CPU against a float64 reference.
#   sh tests/cuda/run_emu.sh [--sanitize] [build-dir] [test options: --quick, --only=...]
# --sanitize builds with AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the
# run; the emulator sizes each block's shared memory exactly, so an overrun is caught), in
# target/cuda-emu-san.  The build folder defaults to target/cuda-emu in the repository, so runs
# from different clones never share one.
# Needs g++ with C++20 (std::barrier); no CUDA toolkit, driver or GPU.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
native=$(cd "$here/../../native" && pwd)
src="$native/src/cuda"
out="$(cd "$here/../.." && pwd)/target/cuda-emu"
sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
    sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    out="$out-san"
    shift
fi
case "${1:-}" in -*|"") ;; *) out=$1; shift ;; esac
mkdir -p "$out"
# kernel launches become emu::launch(kernel, grid, block, smem, stream)(args);
# extern shared memory becomes the emulator's per-block buffer, static shared memory a static.
sed -e 's/\([A-Za-z_:][A-Za-z_:0-9]*\)<<<\(.*\)>>>(/emu::launch(\1, \2)(/' \
    "$src/cuda_backend.cu" > "$out/cuda_backend.cu"
# A kernel's __launch_bounds__(...) becomes EMU_LAUNCH_BOUNDS(...) at the start of its body, so
# that a launch of more threads than it declares fails as on a device.
for cuh in "$src"/*.cuh; do
    sed -e 's/extern __shared__ float4 \([A-Za-z_0-9]*\)\[\];/float4* \1 = reinterpret_cast<float4*>(emu::g_smem);/' \
        -e 's/__shared__/static/' \
        "$cuh" |
        perl -0pe 's/__launch_bounds__\(((?:[^()]|\([^()]*\))*)\)(\s*\w+\s*\([^{;]*\)\s*\{)/$2 EMU_LAUNCH_BOUNDS($1);/g' \
        > "$out/$(basename "$cuh")"
    if grep -q '__launch_bounds__' "$out/$(basename "$cuh")"; then
        echo "run_emu.sh: a __launch_bounds__ in $(basename "$cuh") was not rewritten" >&2
        exit 1
    fi
done
# L2L_CUDA_TARGET_ROWS=2: several tiles per partial row already at small n
${CXX:-g++} -std=c++20 -O2 -g -pthread -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
    $sanitize ${EMU_CXXFLAGS:-} -DL2L_EMU=1 -DL2L_CUDA_TARGET_ROWS=2 \
    -I "$out" -I "$here/emu" -I "$native/include" -I "$native/src/common" \
    -o "$out/backend_test" "$here/backend_test.cpp" "$native/src/common/memory.cpp"
"$out/backend_test" "$@"
