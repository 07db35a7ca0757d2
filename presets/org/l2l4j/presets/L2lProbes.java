package org.l2l4j.presets;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * The JNI binding of {@code native/include/l2l_probes.h}: the machine probes that libl2l exports
 * for benchmarks, not part of its API (they may change or disappear in any version).  Built like
 * {@link L2l}, whose properties it inherits (the same library); see l2l_probes.h for the
 * arguments and status codes.
 */
@Properties(inherit = L2l.class, value = @Platform(include = "l2l_probes.h"))
public final class L2lProbes {
    static {
        Loader.load();
    }

    private L2lProbes() {
    }

    public static native int l2l_cpu_probe_fma(@Cast("l2l_context*") long ctx, @Cast("int64_t") long flopsPerThread,
            @Cast("double*") long flopsDone);

    public static native int l2l_cpu_probe_bf16_dot(@Cast("l2l_context*") long ctx,
            @Cast("int64_t") long flopsPerThread, @Cast("double*") long flopsDone);

    public static native int l2l_cpu_probe_amx(@Cast("l2l_context*") long ctx, @Cast("int64_t") long flopsPerThread,
            @Cast("double*") long flopsDone);

    public static native int l2l_cpu_probe_triad(@Cast("l2l_context*") long ctx, @Cast("float*") long a,
            @Cast("const float*") long b, @Cast("const float*") long c, float s, @Cast("int64_t") long n);

    public static native int l2l_cpu_probe_cells(@Cast("l2l_context*") long ctx, @Cast("int64_t") long tilesPerThread);
}
