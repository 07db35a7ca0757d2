package org.l2l4j.backend;

import java.lang.ref.Cleaner;
import org.bytedeco.javacpp.LongPointer;
import org.l2l4j.presets.L2l;

/**
 * Turns the status codes of {@link L2l} into exceptions, holds the one scratch cell per thread
 * that receives handles and addresses from the C API's out parameters, and the one
 * {@link Cleaner} that releases the native resources of forgotten objects (backends, buffers,
 * and the objects built on them).  Internal to the library's own packages.
 */
public final class NativeCalls {
    private static final ThreadLocal<LongPointer> OUT = ThreadLocal.withInitial(() -> new LongPointer(1));
    private static final Cleaner CLEANER = Cleaner.create();

    private NativeCalls() {
    }

    /** Throws {@link L2lException} unless {@code status} is OK; {@code what} names the call. */
    public static void check(int status, String what) {
        if (status != L2l.L2L_OK) {
            throw new L2lException(Status.of(status), what + " failed: " + L2l.l2l_last_error());
        }
    }

    /** The library's cleaner: one daemon thread for every native resource it releases. */
    public static Cleaner cleaner() {
        return CLEANER;
    }

    /** Address of a thread-local 8-byte out cell (zeroed). */
    public static long outCell() {
        LongPointer cell = OUT.get();
        cell.put(0, 0L);
        return cell.address();
    }

    /** The value the last call wrote into {@link #outCell()}. */
    public static long outValue() {
        return OUT.get().get(0);
    }
}
