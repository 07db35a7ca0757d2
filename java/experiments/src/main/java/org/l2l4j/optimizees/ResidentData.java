package org.l2l4j.optimizees;

import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.data.Dataset;

/**
 * A copy of a {@link Dataset} on a backend, which resident optimizee families gather their
 * minibatches from ({@link MlpKernels#gather}): images float32 [examples x features], labels
 * int32 [examples]; {@link #bytes} in all.  {@link #close()} frees both.
 */
final class ResidentData implements AutoCloseable {
    private final NativeBuffer images;
    private final NativeBuffer labels;

    /**
     * Copies {@code data} to {@code backend}.
     *
     * @throws org.l2l4j.backend.L2lException out of memory on the backend (nothing is left allocated)
     */
    ResidentData(Dataset data, Backend backend) {
        NativeBuffer x = null;
        try {
            x = backend.allocateFloats(data.images().length);
            x.write(data.images());
            NativeBuffer y = backend.allocateInts(data.size());
            try {
                y.write(0, data.labels(), 0, data.size());
            } catch (RuntimeException e) {
                y.close();
                throw e;
            }
            this.images = x;
            this.labels = y;
        } catch (RuntimeException e) {
            if (x != null) {
                x.close();
            }
            throw e;
        }
    }

    /** Bytes of the copy of {@code data} on the backend: images as float32, labels as int32. */
    static long bytes(Dataset data) {
        return 4L * ((long) data.size() * data.features() + data.size());
    }

    /** The images, float32 [examples x features]. */
    NativeBuffer images() {
        return images;
    }

    /** The labels, int32 [examples]. */
    NativeBuffer labels() {
        return labels;
    }

    /** Whether {@link #close()} was called. */
    boolean isClosed() {
        return images.isClosed();
    }

    @Override
    public void close() {
        images.close();
        labels.close();
    }
}
