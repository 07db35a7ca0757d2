#!/bin/sh
# Assembles what tests/gpu/run_all.sh needs on a GPU machine that has no Maven, no registry
# access and perhaps no Java, into one folder (default target/gpu-package, at most 60 MiB):
#
#   l2l4j.jar                 the command-line tool's self-contained jar: the library with libl2l.so
#                             (CPU + CUDA kernels) and its JNI binding, and every runtime dependency
#                             (JavaCPP, OpenBLAS, the CUDA presets, ...)
#   l2l4j-tests.jar           the compiled tests of core and experiments, and the benchmarks
#   junit-platform-console-standalone-*.jar   the JUnit console launcher of the project's JUnit
#   jre.tar.xz                a Java runtime made by jlink from this JDK (used where java is absent)
#   cuda-test/backend_test    tests/cuda/backend_test.cpp built with nvcc (when nvcc is here)
#   package.txt               what was packed, from which commit
#
#   sh tests/gpu/package.sh [--no-build] [folder]
# Run from anywhere; builds with Maven first unless --no-build (then target/ must hold a build).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
pkg=${1:-target/gpu-package}
case "$pkg" in /*) ;; *) pkg=$root/$pkg ;; esac
limit_mib=60

if [ "$build" = 1 ]; then
    mvn -B -q -DskipTests package
fi
classes="java/core/target/test-classes java/experiments/target/test-classes tests/bench/target/classes"
for f in java/cli/target/l2l4j.jar $classes; do
    [ -e "$f" ] || { echo "package.sh: $f is missing: build first (mvn -B -DskipTests package)"; exit 1; }
done

rm -rf "$pkg"
mkdir -p "$pkg"
cp java/cli/target/l2l4j.jar "$pkg/"
tests=$(mktemp -d)
for c in $classes; do cp -r "$c/." "$tests/"; done
(cd "$tests" && jar cf "$pkg/l2l4j-tests.jar" .)
rm -rf "$tests"

# The console launcher of the JUnit Platform release that pairs with the project's JUnit.
platform=$(sed -n 's:.*<junit.platform.version>\(.*\)</junit.platform.version>.*:\1:p' pom.xml)
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
    -DoutputDirectory="$pkg"

# A Java runtime with the modules the tests and the timing driver use (no java.desktop: the
# plots are not drawn there), xz-compressed: about 12 MB.
jre=$(mktemp -d)
jlink --add-modules java.base,java.logging,java.management,java.sql,java.xml,jdk.unsupported \
    --strip-debug --no-man-pages --no-header-files --compress=0 --output "$jre/jre"
tar -C "$jre" -cf - jre | xz -T0 -6 > "$pkg/jre.tar.xz"
rm -rf "$jre"

if command -v nvcc > /dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    PATH=$PATH:/usr/local/cuda/bin sh tests/cuda/run_gpu.sh "$pkg/cuda-test" --build-only
else
    echo "package.sh: no nvcc here: run_all.sh will build backend_test with the GPU machine's nvcc"
fi

{
    echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
    echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) by $(java -version 2>&1 | head -1)"
    echo "junit-platform $platform"
    (cd "$pkg" && find . -type f -exec ls -l {} + | awk '{printf "%10d %s\n", $5, $9}' | sort -k2)
} > "$pkg/package.txt"

bytes=$(du -sb "$pkg" | cut -f1)
mib=$(( (bytes + 1048575) / 1048576 ))
cat "$pkg/package.txt"
echo "package.sh: $pkg holds $mib MiB ($bytes bytes)"
if [ "$mib" -gt "$limit_mib" ]; then
    echo "package.sh: over the $limit_mib MiB that may travel with the working tree"
    exit 1
fi
