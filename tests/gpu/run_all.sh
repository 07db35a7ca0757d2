#!/usr/bin/env bash
# Every GPU check and timing of L2L4J in one run, for a GPU machine without Maven or registry
# access: it runs what tests/gpu/package.sh packed (default target/gpu-package, or
# $L2L_GPU_PACKAGE), from the repository root, and writes as it goes to $OUT (default ./gpu-out):
#   run.log       everything printed, stage by stage
#   results.txt   the RESULT / SKIP / PASS / FAIL lines of every stage, prefixed by the stage
#   stages.tsv    stage, status (ok, failed, timed out, skipped), seconds
#   summary.txt   the closing table (tests/gpu/summary.py)
#   junit.tar.gz  the JUnit XML reports
# Stages, in priority order, each capped in time (a failing or timed-out stage does not stop
# the next; the caps fit the whole run in $L2L_GPU_BUDGET seconds, default 480):
#   env          GPU, driver, nvcc, compute-sanitizer, Java, Python/torch, where CUDA's libraries are
#   kernels      tests/cuda backend_test (CUDA kernels vs float64 references), prebuilt or built here
#   java-tests   CudaBackendTest, LstmOptimizerCudaTest, ResidentMlpCudaTest, ResidentConvNetCudaTest,
#                ResidentCudaTrainingTest, with
#                L2L_REQUIRE_CUDA=1 (a test skipped or aborted fails the stage)
#   sanitizer    compute-sanitizer memcheck and racecheck on small cases of backend_test
#   parity       our CUDA step and backward vs the PyTorch implementation (tests/gpu/torch_lstm.py)
#   groups       each parameter group of a two-group checkpoint loaded by name into nn.LSTM + nn.Linear,
#                stepping as our training-loop optimizer (CPU; needs Java and torch, no GPU)
#   gac          our CPU step and backward of LSTM+GAC (four instances) vs the PyTorch implementation
#                with the averaging written out (needs Java and torch, no GPU)
#   floors       copy bandwidth and float32 matrix-product rate (torch), copy bandwidth (ours)
#   ours         our step (n = 1e4..1e7) and backward over T = 20 (n = 1e4..1e7), CUDA events
#   bf16         the same with bfloat16 products on the tensor cores (impl ours-bf16; n = 1e5..1e7,
#                backward 1e5..1e6)
#   torch        PyTorch eager and torch.compile step (1e4..1e7) and backward (1e4..1e6)
#   epoch        MNIST meta-training epochs on the device, and one on the CPU host path
#   cifar_epoch  meta-training epochs of the paper's CIFAR-10 network on the device (cuDNN, two groups)
# Without a GPU every GPU stage reports "skipped (no device)"; the run still completes.
# L2L_GPU_FORCE=1 runs the GPU stages anyway (a dry run of the script and the package on a machine
# without a GPU: the Java tests then skip, the drivers say there is no device).
# L2L_USE_BUNDLED_JRE=1 uses the packed Java runtime even where java is installed.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
OUT=${OUT:-$root/gpu-out}
PKG=${L2L_GPU_PACKAGE:-$root/target/gpu-package}
BUDGET=${L2L_GPU_BUDGET:-480}
mkdir -p "$OUT"
: > "$OUT/run.log"
: > "$OUT/results.txt"
printf 'stage\tstatus\tseconds\n' > "$OUT/stages.tsv"
exec > >(tee -a "$OUT/run.log") 2>&1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/l2l4j-gpu.XXXXXX")
T0=$(date +%s)
echo "L2L4J GPU run: $(date -u +%Y-%m-%dT%H:%M:%SZ), package $PKG, logs in $OUT, work in $WORK"
[ -f "$PKG/package.txt" ] && head -3 "$PKG/package.txt"

# ---- environment (in this shell: the later stages use what it finds) ----------------------------
echo "=== env"
GPU=0
if command -v nvidia-smi > /dev/null 2>&1 && timeout 20 nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    GPU=1
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
else
    echo "no GPU: nvidia-smi is missing or lists none"
    [ "${L2L_GPU_FORCE:-0}" = 1 ] && GPU=1 && echo "L2L_GPU_FORCE=1: running the GPU stages anyway"
fi
NVCC=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; } || true)
[ -n "$NVCC" ] && "$NVCC" --version | tail -2 || echo "no nvcc"
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1 || true)
echo "compute-sanitizer: ${SANITIZER:-none}"
PYTHON=$(command -v python3 || true)
TORCH=0
if [ -n "$PYTHON" ] && timeout 60 "$PYTHON" -c 'import torch, numpy; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'; then
    TORCH=1
else
    echo "no python3 with torch and numpy"
fi
# CUDA's shared libraries for the JavaCPP presets (cuBLAS, cuDNN, CUDA events): NVIDIA's Python packages
# first (the set torch uses), then the system; the driver from the system.
search=""
if [ -n "$PYTHON" ]; then
    search=$(timeout 20 "$PYTHON" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)
fi
LIBDIRS=""
for name in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9 \
        libcudnn_adv.so.9 libcudnn_graph.so.9 libcuda.so.1; do
    found=""
    for d in $search; do
        [ -d "$d/nvidia" ] && found=$(find "$d/nvidia" -name "$name" 2>/dev/null | head -1)
        [ -n "$found" ] && break
    done
    [ -z "$found" ] && found=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF; exit }')
    [ -z "$found" ] && found=$(find /usr/local/nvidia /usr/local/cuda/lib64 /usr/local/cuda/targets /usr/lib/x86_64-linux-gnu \
        -name "$name" 2>/dev/null | head -1)
    echo "$name: ${found:-not found}"
    if [ -n "$found" ]; then
        dir=$(dirname "$found")
        case ":$LIBDIRS:" in *":$dir:"*) ;; *) LIBDIRS="${LIBDIRS:+$LIBDIRS:}$dir" ;; esac
    fi
done
export LD_LIBRARY_PATH="${LIBDIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
JAVA=""
if [ "${L2L_USE_BUNDLED_JRE:-0}" != 1 ] && command -v java > /dev/null 2>&1 &&
    java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    JAVA=$(command -v java)
elif [ -f "$PKG/jre.tar.xz" ]; then
    mkdir -p "$WORK/jre"
    tar -C "$WORK/jre" -xJf "$PKG/jre.tar.xz" 2>/dev/null ||
        "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$PKG/jre.tar.xz" "$WORK/jre"
    [ -x "$WORK/jre/jre/bin/java" ] && JAVA=$WORK/jre/jre/bin/java
fi
if [ -n "$JAVA" ]; then "$JAVA" -version 2>&1 | head -1; echo "java: $JAVA"; else echo "no Java 17+ and no usable jre.tar.xz"; fi
CP="$PKG/l2l4j.jar:$PKG/l2l4j-tests.jar"
CKPT=$root/java/core/src/main/resources/org/l2l4j/pretrained/mnist-mlp.safetensors
export GPU NVCC SANITIZER PYTHON TORCH JAVA CP CKPT PKG WORK root
printf 'env\tok\t%s\n' "$(( $(date +%s) - T0 ))" >> "$OUT/stages.tsv"

# ---- stages ---------------------------------------------------------------------------------------
# stage NAME CAP: runs the function stage_NAME under a time cap (shortened to what is left of the
# budget), its output in the log; a stage needing what is absent says "SKIP ..." and exits 3; one
# whose checks passed except some over their own time limit says "TIMEOUT ..." and exits 4.
stage() {
    local name=$1 cap=$2 left status start rc
    left=$(( BUDGET - ($(date +%s) - T0) ))
    [ "$cap" -gt "$left" ] && cap=$left
    echo "=== $name (cap ${cap} s) $(date -u +%H:%M:%S)"
    start=$(date +%s)
    if [ "$cap" -lt 10 ]; then
        echo "SKIP $name: the run's budget of $BUDGET s is spent"
        echo "$name SKIP budget spent" >> "$OUT/results.txt"
        printf '%s\tskipped (budget spent)\t0\n' "$name" >> "$OUT/stages.tsv"
        return
    fi
    timeout --kill-after=10 "$cap" bash -c "stage_$name" 2>&1 | tee "$WORK/$name.log"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) status=ok ;;
        3) status="skipped ($(grep -m1 '^SKIP' "$WORK/$name.log" | cut -c6-))" ;;
        4) status="timed out ($(grep -m1 '^TIMEOUT' "$WORK/$name.log" | cut -c9-))" ;;
        124|137) status="timed out after ${cap} s" ;;
        *) status="failed (exit $rc)" ;;
    esac
    grep -E '^(RESULT|SKIP|PASS|FAIL|TIMEOUT|JUNIT)' "$WORK/$name.log" | sed "s/^/$name /" >> "$OUT/results.txt"
    printf '%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - start ))" >> "$OUT/stages.tsv"
    echo "--- $name: $status"
}

need() {  # need gpu|java|torch|sanitizer: exit 3 with the reason when absent
    for what in "$@"; do
        case $what in
            gpu) [ "$GPU" = 1 ] || { echo "SKIP no device"; exit 3; } ;;
            java) [ -n "$JAVA" ] || { echo "SKIP no Java"; exit 3; } ;;
            torch) [ "$TORCH" = 1 ] || { echo "SKIP no python3 with torch"; exit 3; } ;;
            sanitizer) [ -n "$SANITIZER" ] || { echo "SKIP no compute-sanitizer"; exit 3; } ;;
        esac
    done
}

# backend_test: the one packed (built with nvcc where the package was made), else built here
# with nvcc.  Prints its path; messages go to stderr.
backend_test() {
    local dir=$WORK/cuda-test
    if [ ! -x "$dir/backend_test" ]; then
        mkdir -p "$dir"
        cp "$PKG/cuda-test/backend_test" "$dir/" 2>/dev/null
        if [ ! -x "$dir/backend_test" ] || ! "$dir/backend_test" --only=none > /dev/null 2>&1; then
            [ -n "$NVCC" ] || { echo "SKIP no usable prebuilt backend_test and no nvcc" >&2; return 3; }
            echo "# building backend_test with $NVCC" >&2
            NVCC=$NVCC sh "$root/tests/cuda/run_gpu.sh" "$dir" --build-only >&2 || return 1
        fi
    fi
    echo "$dir/backend_test"
}

stage_kernels() {
    need gpu
    local bin
    bin=$(backend_test) || exit $?
    "$bin" || exit $?
    echo "# the larger cases (n up to 3e5)"
    "$bin" --long --only=fixed
}

stage_java_tests() {
    need gpu java
    # L2L_REQUIRE_CUDA=1: a CUDA test that finds no device, no nvcc-built library or no cuBLAS
    # fails instead of skipping; any test still skipped or aborted fails the stage
    L2L_REQUIRE_CUDA=1 "$JAVA" -Xmx16g -jar "$PKG"/junit-platform-console-standalone-*.jar execute \
        --class-path "$PKG/l2l4j.jar:$PKG/l2l4j-tests.jar" \
        --select-class org.l2l4j.lstm.CudaBackendTest --select-class org.l2l4j.optimizers.LstmOptimizerCudaTest \
        --select-class org.l2l4j.optimizees.ResidentMlpCudaTest --select-class org.l2l4j.meta.ResidentCudaTrainingTest \
        --select-class org.l2l4j.optimizees.ResidentConvNetCudaTest \
        --select-class org.l2l4j.blas.CublasProductsTest \
        --select-method org.l2l4j.lstm.LargeOffsetsTest#cudaUnrollPastTwoToTheThirtyFirstFloats \
        --details=tree --disable-banner --disable-ansi-colors --reports-dir "$WORK/junit" > "$WORK/junit.out" 2>&1
    local rc=$? skipped
    cat "$WORK/junit.out"
    grep -E '\[ +[0-9]+ tests (successful|failed|skipped|aborted)' "$WORK/junit.out" | tr -s ' []' ' ' | sed 's/^/JUNIT/'
    skipped=$(grep -E '\[ +[0-9]+ (tests|containers) (skipped|aborted)' "$WORK/junit.out" | awk '{ s += $2 } END { print s + 0 }')
    if [ "$skipped" -gt 0 ]; then
        echo "FAIL java-tests: $skipped tests or containers skipped or aborted with L2L_REQUIRE_CUDA=1"
        exit 1
    fi
    exit $rc
}

stage_sanitizer() {
    need gpu sanitizer
    local bin rc=0 timeouts=0
    bin=$(backend_test) || exit $?
    for run in "memcheck fixed" "memcheck mlp" "racecheck mlp" "racecheck fixed"; do
        set -- $run
        local tool=$1 part=$2
        echo "# compute-sanitizer --tool $tool: backend_test --quick --only=$part"
        timeout 14 "$SANITIZER" --tool "$tool" --error-exitcode 99 "$bin" --quick --only=$part > "$WORK/san.log" 2>&1
        local status=$?
        if [ $status = 0 ]; then
            tail -3 "$WORK/san.log"
            echo "PASS $tool $part"
        elif grep -q 'Device not supported' "$WORK/san.log"; then
            echo "SKIP compute-sanitizer does not support this device (this machine's runtime)"
            exit 3
        elif [ $status = 124 ]; then
            tail -5 "$WORK/san.log"
            echo "TIMEOUT $tool $part: not finished in 14 s (no error found before then)"
            timeouts=$((timeouts + 1))
        else
            tail -30 "$WORK/san.log"
            echo "FAIL $tool $part (exit $status)"
            rc=1
        fi
    done
    [ $rc = 0 ] && [ $timeouts -gt 0 ] && exit 4
    exit $rc
}

stage_parity() {
    need gpu java torch
    "$JAVA" -Xmx8g -cp "$CP" org.l2l4j.bench.GpuTimings parity "$WORK/parity.safetensors" 65536 20 || exit $?
    "$PYTHON" "$root/tests/gpu/torch_lstm.py" parity "$WORK/parity.safetensors"
}

stage_groups() {
    need java torch
    "$JAVA" -Xmx2g -cp "$CP" org.l2l4j.bench.GpuTimings groups "$WORK/groups-optimizer.safetensors" \
        "$WORK/groups-steps.safetensors" || exit $?
    "$PYTHON" "$root/tests/gpu/torch_lstm.py" groups "$WORK/groups-optimizer.safetensors" \
        "$WORK/groups-steps.safetensors"
}

stage_gac() {
    need java torch
    "$JAVA" -Xmx2g -cp "$CP" org.l2l4j.bench.GpuTimings gac "$WORK/gac.safetensors" 4096 20 4 || exit $?
    "$PYTHON" "$root/tests/gpu/torch_lstm.py" parity "$WORK/gac.safetensors"
}

stage_floors() {
    need gpu
    local a=3 b=3
    if [ "$TORCH" = 1 ]; then "$PYTHON" "$root/tests/gpu/torch_lstm.py" floors; a=$?; fi
    if [ -n "$JAVA" ]; then "$JAVA" -Xmx4g -cp "$CP" org.l2l4j.bench.GpuTimings bandwidth; b=$?; fi
    [ $a = 3 ] && [ $b = 3 ] && exit 3     # neither could measure: skipped
    for rc in $a $b; do [ $rc = 0 ] || [ $rc = 3 ] || exit 1; done
}

stage_ours() {
    need gpu java
    "$JAVA" -Xmx24g -cp "$CP" org.l2l4j.bench.GpuTimings step 1e4,1e5,1e6,1e7 &&
        "$JAVA" -Xmx24g -cp "$CP" org.l2l4j.bench.GpuTimings backward 1e4,1e5,1e6,1e7
}

stage_bf16() {
    need gpu java
    "$JAVA" -Xmx24g -cp "$CP" org.l2l4j.bench.GpuTimings step 1e5,1e6,1e7 BF16_PRODUCTS &&
        "$JAVA" -Xmx24g -cp "$CP" org.l2l4j.bench.GpuTimings backward 1e5,1e6 BF16_PRODUCTS
}

stage_torch() {
    need gpu torch
    PYTHONUNBUFFERED=1 "$PYTHON" "$root/tests/gpu/torch_lstm.py" time "$CKPT" --sizes 1e4,1e5,1e6,1e7 \
        --backward-sizes 1e4,1e5,1e6 --compile-cap 45
}

stage_epoch() {
    need gpu java
    "$JAVA" -Xmx16g -cp "$CP" org.l2l4j.bench.GpuTimings epoch 5
}

stage_cifar_epoch() {
    need gpu java
    "$JAVA" -Xmx16g -cp "$CP" org.l2l4j.bench.GpuTimings cifar-epoch 3
}

export -f need backend_test stage_kernels stage_java_tests stage_sanitizer stage_parity stage_groups stage_gac stage_floors \
    stage_ours stage_bf16 stage_torch stage_epoch stage_cifar_epoch
export OUT BUDGET T0

stage kernels 60
stage java_tests 90
stage sanitizer 60
stage parity 45
stage groups 20
stage gac 20
stage floors 25
stage ours 60
stage bf16 30
stage torch 110
stage epoch 45
stage cifar_epoch 40

[ -d "$WORK/junit" ] && tar -C "$WORK" -czf "$OUT/junit.tar.gz" junit
echo "=== summary ($(( $(date +%s) - T0 )) s in all)"
{
    column -t -s "$(printf '\t')" "$OUT/stages.tsv" 2>/dev/null || cat "$OUT/stages.tsv"
    echo
    if [ -n "$PYTHON" ]; then
        "$PYTHON" "$root/tests/gpu/summary.py" "$OUT/results.txt"
    else
        cat "$OUT/results.txt"
    fi
} | tee "$OUT/summary.txt"
rm -rf "$WORK"
