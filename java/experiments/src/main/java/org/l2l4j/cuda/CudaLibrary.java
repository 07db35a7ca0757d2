package org.l2l4j.cuda;

import static org.bytedeco.cuda.global.cudart.cudaDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaRuntimeGetVersion;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.Status;

/**
 * The one guard in front of a CUDA library bound by the JavaCPP CUDA presets (cuBLAS for the
 * matrix products, cuDNN for the convolutional optimizee).  The presets' JNI libraries link the
 * CUDA driver and CUDA's shared libraries, which the presets jars do not carry: a JVM that tries
 * to load them without those libraries gets an {@link UnsatisfiedLinkError}, and the presets'
 * classes stay unusable afterwards.  So each is loaded at most once, and only after libl2l has
 * reported a CUDA device; any failure becomes an {@link L2lException} with {@link Status#NO_CUDA}
 * that says why, the same on every later call.  Once one is loaded, the presets' CUDA runtime
 * (shared, beside the one libl2l links statically: two runtimes on one driver in one process) is
 * logged with libl2l's and the driver's versions, and refused when the driver is older.
 *
 * <p>Where CUDA's libraries live outside the system's library path (for example NVIDIA's
 * Python packages, {@code site-packages/nvidia/<library>/lib}), put those folders on
 * {@code LD_LIBRARY_PATH}.
 */
public enum CudaLibrary {
    /** cuBLAS: {@code libcublas.so.13} and {@code libcublasLt.so.13}. */
    CUBLAS("cuBLAS", org.bytedeco.cuda.global.cublas.class, "libcublas.so.13 and libcublasLt.so.13"),
    /** cuDNN 9: {@code libcudnn_ops.so.9}, {@code libcudnn_cnn.so.9} and the libraries they link. */
    CUDNN("cuDNN", org.bytedeco.cuda.global.cudnn.class,
            "cuDNN 9's libcudnn.so.9, libcudnn_ops.so.9, libcudnn_cnn.so.9, libcudnn_adv.so.9 and libcudnn_graph.so.9");

    private static final System.Logger LOG = System.getLogger(CudaLibrary.class.getName());
    /** Whether the presets' runtime was checked against the driver and logged. */
    private static boolean runtimeChecked;

    private final String displayName;
    private final Class<?> binding;
    private final String files;
    /** Null until loading was tried; then empty when it worked, else why it did not. */
    private String presetsFailure;

    CudaLibrary(String displayName, Class<?> binding, String files) {
        this.displayName = displayName;
        this.binding = binding;
        this.files = files;
    }

    /** The library's usual name, such as {@code "cuDNN"}. */
    public String displayName() {
        return displayName;
    }

    /**
     * Loads this library unless already done.
     *
     * @throws L2lException {@link Status#NO_CUDA}: no usable CUDA device, or the library cannot be loaded
     */
    public void require() {
        synchronized (CudaLibrary.class) {
            String reason = Backend.cudaUnavailableReason();
            if (!reason.isEmpty()) {
                throw new L2lException(Status.NO_CUDA, displayName + " needs a CUDA device: " + reason);
            }
            String failure = loadPresets();
            if (!failure.isEmpty()) {
                throw new L2lException(Status.NO_CUDA, failure);
            }
            checkRuntime();
        }
    }

    /**
     * Loads the presets' binding once, recording a failure instead of throwing it; never
     * retries.  Called by {@link #require()} after the device check; public for the test that
     * checks the failure is clean on machines without the library.
     *
     * @return empty when loaded, else why not
     */
    public String loadPresets() {
        synchronized (CudaLibrary.class) {
            if (presetsFailure == null) {
                try {
                    Loader.load(binding);
                    presetsFailure = "";
                } catch (LinkageError | RuntimeException e) {
                    presetsFailure = "cannot load " + displayName + " through the JavaCPP CUDA presets (" + e
                            + "); a CUDA driver, CUDA 13's libcudart.so.13 and " + files
                            + " must be on the library path (LD_LIBRARY_PATH); "
                            + "-Dorg.bytedeco.javacpp.logger.debug=true shows which one is missing";
                }
            }
            return presetsFailure;
        }
    }

    /**
     * Makes {@code device} current in the presets' CUDA runtime (where cuBLAS and cuDNN run; it
     * is not libl2l's, which keeps its own current device).
     *
     * @throws L2lException {@link Status#CUDA} if the runtime refuses
     */
    public static void makeCurrent(int device) {
        int error = cudaSetDevice(device);
        if (error != 0) {
            throw new L2lException(Status.CUDA, "cudaSetDevice(" + device + ") in the JavaCPP presets' CUDA runtime"
                    + " failed with CUDA error " + error);
        }
    }

    /** The raw stream of a CUDA backend ({@link Backend#cudaStream()}) as the presets' type, not owned. */
    public static CUstream_st stream(Backend backend) {
        long raw = backend.cudaStream();
        return new CUstream_st(new Pointer() {
            {
                address = raw;
            }
        });
    }

    /**
     * The presets' CUDA runtime (a shared library, besides the one libl2l links statically)
     * against the driver: logged once, refused when the driver is older.
     */
    private void checkRuntime() {
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
            throw new L2lException(Status.NO_CUDA, displayName + ": the CUDA driver supports CUDA "
                    + Backend.cudaVersionName(driver) + ", older than the JavaCPP presets' CUDA runtime "
                    + Backend.cudaVersionName(runtime) + ": install a newer driver");
        }
        runtimeChecked = true;
        LOG.log(System.Logger.Level.INFO, "CUDA libraries through the JavaCPP presets: their CUDA runtime {0} "
                + "(shared), libl2l''s {1} (static), driver {2}", Backend.cudaVersionName(runtime),
                Backend.cudaVersionName(libl2l[0]), Backend.cudaVersionName(driver));
    }
}
