package org.l2l4j.backend;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * How a CUDA test treats what it needs and cannot find (a device, a library built with nvcc,
 * cuBLAS): it is skipped, saying why, unless the environment variable {@value #REQUIRE} is 1, as
 * on a GPU machine, where the same absence fails the test, so that a GPU run cannot pass by
 * skipping.
 */
public final class CudaTests {
    /** The environment variable that turns every CUDA skip into a failure. */
    public static final String REQUIRE = "L2L_REQUIRE_CUDA";

    private CudaTests() {
    }

    /** Whether {@value #REQUIRE}=1. */
    public static boolean required() {
        return "1".equals(System.getenv(REQUIRE));
    }

    /**
     * Skips the test (or fails it, with {@value #REQUIRE}=1) unless CUDA device 0 is usable: the
     * message gives the reason, such as a library built without nvcc or no driver.
     */
    public static void requireDevice() {
        if (Backend.cudaDeviceCount() == 0) {
            absent("no CUDA device: " + Backend.cudaUnavailableReason());
        }
    }

    /**
     * Skips the test (or fails it, with {@value #REQUIRE}=1) when {@code e} says that a CUDA
     * library could not be loaded ({@link Status#NO_CUDA}, as cuBLAS without its shared library);
     * otherwise returns it, for the caller to throw ({@code throw CudaTests.requireLibrary(...)}).
     */
    public static L2lException requireLibrary(String library, L2lException e) {
        if (e.status() == Status.NO_CUDA) {
            absent("no " + library + ": " + e.getMessage());
        }
        return e;
    }

    private static void absent(String why) {
        if (required()) {
            fail(why + " (" + REQUIRE + "=1: a CUDA test must run here)");
        }
        assumeTrue(false, why);
    }
}
