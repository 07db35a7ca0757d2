#!/bin/sh
# Builds backend_test.cpp with nvcc against the CUDA runtime and runs it on GPU 0: the CUDA
# backend checked against the float64 reference (add --long for large n), or --bench for
# timings of the step and the backward.
#   sh tests/cuda/run_gpu.sh [build-dir] [--build-only] [test options: --long, --bench, --only=...]
# --build-only compiles and stops (no GPU needed); L2L_REUSE_BUILD=1 runs a backend_test already
# in build-dir without compiling (tests/gpu/package.sh ships one for machines without nvcc).
# build-dir defaults to target/cuda-gpu in the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
native=$(cd "$here/../../native" && pwd)
src="$native/src/cuda"
out="$(cd "$here/../.." && pwd)/target/cuda-gpu"
case "${1:-}" in -*|"") ;; *) out=$1; shift ;; esac
mkdir -p "$out"
build_only=0
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
if [ "${L2L_REUSE_BUILD:-0}" = 1 ] && [ -x "$out/backend_test" ]; then
    exec "$out/backend_test" "$@"
fi
${NVCC:-nvcc} -x cu -std=c++17 -O3 -lineinfo -Xptxas=-v \
    -gencode arch=compute_80,code=sm_80 -gencode 'arch=compute_90,code=[sm_90,compute_90]' \
    --expt-relaxed-constexpr -Xcompiler -pthread \
    -I "$src" -I "$native/include" -I "$native/src/common" \
    -o "$out/backend_test" "$here/backend_test.cpp" "$native/src/common/memory.cpp" -lcudart_static 2> "$out/ptxas.log" ||
    { cat "$out/ptxas.log"; exit 1; }
if grep -E '[1-9][0-9]* bytes spill (stores|loads)' "$out/ptxas.log"; then
    echo "ptxas reports register spills"
    exit 1
fi
[ "$build_only" = 1 ] && exit 0
"$out/backend_test" "$@"
