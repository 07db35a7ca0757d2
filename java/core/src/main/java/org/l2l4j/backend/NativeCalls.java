package org.l2l4j.backend;

import java.lang.ref.Cleaner;
import org.bytedeco.javacpp.BytePointer;
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

    /**
     * Throws {@link L2lException} unless {@code status} is OK; {@code what} names the call.  A
     * failed value check ({@link Status#NON_FINITE}) throws its subclass
     * {@link NonFiniteInputException}, with what the check found.
     */
    public static void check(int status, String what) {
        if (status == L2l.L2L_OK) {
            return;
        }
        String message = what + " failed: " + L2l.l2l_last_error();
        if (status == L2l.L2L_ERR_NON_FINITE) {
            try (BytePointer found = new BytePointer(16)) { // int32 input, int32 tensor, int64 index
                long address = found.address();
                if (L2l.l2l_last_non_finite(address, address + 4, address + 8) == 1) {
                    throw new NonFiniteInputException(message, NonFiniteInputException.Input.of(found.getInt(0)),
                            found.getInt(4), found.getLong(8));
                }
            }
        }
        throw new L2lException(Status.of(status), message);
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
