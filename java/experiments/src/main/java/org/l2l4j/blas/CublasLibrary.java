package org.l2l4j.blas;

import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaRuntimeGetVersion;

import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;

/**
 * The one guard in front of the JavaCPP CUDA presets' cuBLAS binding.  Their JNI libraries link
 * the CUDA driver and CUDA's shared runtime and cuBLAS libraries ({@code libcuda.so.1},
 * {@code libcudart.so.13}, {@code libcublas.so.13}, {@code libcublasLt.so.13}), which the
 * presets jars do not carry: a JVM that tries to load them without those libraries gets an
 * {@link UnsatisfiedLinkError}, and the presets' classes stay unusable afterwards.  So they are
 * loaded at most once, and only after libl2l has reported a CUDA device; any failure becomes an
 * {@link L2lException} with {@link Status#NO_CUDA} that says why, the same on every later call.
 * Once loaded, their CUDA runtime (shared, beside the one libl2l links statically: two runtimes
 * on one driver in one process) is logged with libl2l's and the driver's versions, and refused
 * when the driver is older.
 *
 * <p>Where CUDA's libraries live outside the system's library path (for example NVIDIA's
 * Python packages, {@code site-packages/nvidia/<library>/lib}), put those folders on
 * {@code LD_LIBRARY_PATH}.
 */
final class CublasLibrary {
    private static final System.Logger LOG = System.getLogger(CublasLibrary.class.getName());
    /** Null until loading was tried; then empty when it worked, else why it did not. */
    private static String presetsFailure;

    private CublasLibrary() {
    }

    /**
     * Loads cuBLAS unless already done.
     *
     * @throws L2lException {@link Status#NO_CUDA}: no usable CUDA device, or cuBLAS cannot be loaded
     */
    static synchronized void require() {
        String reason = Backend.cudaUnavailableReason();
        if (!reason.isEmpty()) {
            throw new L2lException(Status.NO_CUDA, "cuBLAS needs a CUDA device: " + reason);
        }
        String failure = loadPresets();
        if (!failure.isEmpty()) {
            throw new L2lException(Status.NO_CUDA, failure);
        }
        checkRuntime();
    }

    /** Whether the presets' runtime was checked against the driver and logged. */
    private static boolean runtimeChecked;

    /**
     * The presets' CUDA runtime (a shared library, besides the one libl2l links statically)
     * against the driver: logged once, refused when the driver is older.
     */
    private static void checkRuntime() {
        if (runtimeChecked) {
            return;
        }
        int runtime;
        int driver;
        try (IntPointer v = new IntPointer(1)) {
            runtime = cudaRuntimeGetVersion(v) == 0 ? v.get() : 0;
            driver = cudaDriverGetVersion(v) == 0 ? v.get() : 0;
        }
        int[] libl2l = Backend.cudaVersions();
        if (driver < runtime) {
            throw new L2lException(Status.NO_CUDA, "cuBLAS: the CUDA driver supports CUDA "
                    + Backend.cudaVersionName(driver) + ", older than the JavaCPP presets' CUDA runtime "
                    + Backend.cudaVersionName(runtime) + ": install a newer driver");
        }
        runtimeChecked = true;
        LOG.log(System.Logger.Level.INFO, "cuBLAS through the JavaCPP presets: their CUDA runtime {0} (shared), "
                + "libl2l''s {1} (static), driver {2}", Backend.cudaVersionName(runtime),
                Backend.cudaVersionName(libl2l[0]), Backend.cudaVersionName(driver));
    }

    /**
     * Loads the presets' cuBLAS binding once, recording a failure instead of throwing it; never
     * retries.  Called by {@link #require()} after the device check; visible for the test that
     * checks the failure is clean on machines without cuBLAS.
     *
     * @return empty when loaded, else why not
     */
    static synchronized String loadPresets() {
        if (presetsFailure == null) {
            try {
                Loader.load(org.bytedeco.cuda.global.cublas.class);
                presetsFailure = "";
            } catch (LinkageError | RuntimeException e) {
                presetsFailure = "cannot load cuBLAS through the JavaCPP CUDA presets (" + e
                        + "); a CUDA driver and CUDA 13's libcudart.so.13, libcublas.so.13 and "
                        + "libcublasLt.so.13 must be on the library path (LD_LIBRARY_PATH); "
                        + "-Dorg.bytedeco.javacpp.logger.debug=true shows which one is missing";
            }
        }
        return presetsFailure;
    }
}
