package org.l2l4j.bench;

import static org.bytedeco.cuda.global.cudart.cudaEventCreate;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.l2l4j.backend.Backend;

/**
 * A pair of CUDA events on a CUDA backend's stream (through the JavaCPP CUDA presets' cudart),
 * timing the device work queued between {@link #start()} and {@link #stopMillis()}.  Where the
 * presets cannot load, {@link #open(Backend)} returns null and callers time with the host clock
 * around {@link Backend#synchronize()}.
 */
final class CudaEvents implements AutoCloseable {
    private final CUstream_st stream;
    private final CUevent_st start = new CUevent_st();
    private final CUevent_st stop = new CUevent_st();
    private final float[] elapsed = new float[1];

    private CudaEvents(Backend backend) {
        long raw = backend.cudaStream();
        stream = new CUstream_st(new Pointer() {
            {
                address = raw;
            }
        });
        check(cudaEventCreate(start), "cudaEventCreate");
        check(cudaEventCreate(stop), "cudaEventCreate");
    }

    /** Events on {@code backend}'s stream, or null (with the reason printed) where cudart cannot load. */
    static CudaEvents open(Backend backend) {
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            return new CudaEvents(backend);
        } catch (LinkageError | RuntimeException e) {
            System.out.println("# no CUDA events (" + e + "): timing with the host clock after synchronize");
            return null;
        }
    }

    void start() {
        check(cudaEventRecord(start, stream), "cudaEventRecord");
    }

    /** Milliseconds of device time since {@link #start()}; waits for the work. */
    float stopMillis() {
        check(cudaEventRecord(stop, stream), "cudaEventRecord");
        check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        check(cudaEventElapsedTime(elapsed, start, stop), "cudaEventElapsedTime");
        return elapsed[0];
    }

    private static void check(int status, String what) {
        if (status != 0) {
            throw new IllegalStateException(what + " failed with CUDA error " + status);
        }
    }

    @Override
    public void close() {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
    }
}
