package org.l2l4j.presets;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * The JNI binding of {@code native/include/l2l_testing.h}: libl2l's fault-injection switch, for
 * tests only, not part of its API.  Built like {@link L2l}, whose properties it inherits (the
 * same library).
 */
@Properties(inherit = L2l.class, value = @Platform(include = "l2l_testing.h"))
public final class L2lTesting {
    static {
        Loader.load();
    }

    private L2lTesting() {
    }

    /**
     * Makes the k-th allocation of libl2l from now on fail (k <= 0: none); returns how many
     * allocations were still to come before the previously armed failure (0: none armed, or it
     * happened).  See l2l_testing.h.
     */
    public static native @Cast("int64_t") long l2l_testing_fail_allocation(@Cast("int64_t") long k);
}
