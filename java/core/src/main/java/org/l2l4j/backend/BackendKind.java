package org.l2l4j.backend;

/** Where a {@link Backend} computes. */
public enum BackendKind {
    /** Host memory, the multi-threaded C++ kernels. */
    CPU,
    /** Device memory of one CUDA device, the CUDA kernels on the backend's stream. */
    CUDA
}
