package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.Preprocessing;

/**
 * Long runs of one optimizer at n = 1,000 over tensors of every kind: resident memory (VmRSS,
 * sampled 20 times) grows by at most 5% after warm-up, no native buffer or JavaCPP allocation is
 * made by the steps or left behind by close (counted by the backend and by JavaCPP), and after warm-up 20,000 steps allocate less than
 * one byte each on the Java heap (the calling thread's allocation counter; one allocated object
 * per step would be at least 16).  The default run takes 10^5 steps of a small LSTM (one layer of 4 units), so that it
 * lasts a few seconds; the large run takes 10^6 steps of the paper's LSTM 20-20.
 */
class LstmOptimizerSoakTest {
    static final int[] SIZES = {400, 100, 300, 150, 50};
    static final double RSS_GROWTH = 0.05;

    @Test
    void hundredThousandStepsOfASmallLstm() throws IOException {
        soak(new LstmConfig(new int[] {4}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false), 100_000);
    }

    @Test
    @Tag("large")
    void millionStepsOfThePaperLstm() throws IOException {
        soak(LstmConfig.paperMnist(), 1_000_000);
    }

    private static void soak(LstmConfig config, int steps) throws IOException {
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(config, 4);
        int warmUp = steps / 10;
        int samples = 20;
        long[] rss = new long[samples];
        float[] zero = new float[Arrays.stream(SIZES).sum()];
        try (Backend backend = Backend.cpu(1); MixedTensors tensors = new MixedTensors(8, SIZES)) {
            long pointersBefore = Pointer.totalCount();
            try (LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).backend(backend).build()) {
                tensors.register(optimizer);
                assertEquals(1000, optimizer.coordinates());
                tensors.computeGradients();
                for (int t = 0; t < warmUp; t++) {
                    optimizer.step();
                    keepBounded(tensors, t, zero);
                }
                int buffers = backend.liveBuffers();
                long pointers = Pointer.totalCount();
                int window = 20_000;
                long allocatedBefore = threadAllocatedBytes();
                for (int t = 0; t < window; t++) {
                    optimizer.step();
                }
                long allocated = threadAllocatedBytes() - allocatedBefore;
                assertTrue(allocated < window, "steps allocated " + allocated + " bytes on the Java heap over " + window
                        + " steps");
                long baseline = residentBytes();
                int every = (steps - warmUp - window) / samples;
                for (int s = 0; s < samples; s++) {
                    for (int t = 0; t < every; t++) {
                        optimizer.step();
                        keepBounded(tensors, t, zero);
                    }
                    rss[s] = residentBytes();
                }
                long measured = window + (long) every * samples;
                long peak = Arrays.stream(rss).max().orElseThrow();
                assertTrue(peak <= baseline * (1 + RSS_GROWTH), "VmRSS grew from " + baseline + " to " + peak
                        + " bytes: " + Arrays.toString(rss));
                System.out.printf("%d steps of %s at n = 1000: VmRSS %d kB after warm-up, at most %d kB after;"
                        + " %d bytes allocated by %d steps%n", steps, config, baseline / 1024, peak / 1024, allocated, window);
                assertEquals(buffers, backend.liveBuffers(), "native buffers were allocated during the steps");
                // other tests' forgotten JavaCPP pointers may be freed meanwhile: only growth is a leak
                assertTrue(Pointer.totalCount() <= pointers, "JavaCPP memory was allocated during the steps");
                assertEquals(warmUp + measured, optimizer.stepCount());
            }
            assertEquals(0, backend.liveBuffers(), "closing the optimizer must free every native buffer");
            assertTrue(Pointer.totalCount() <= pointersBefore, "JavaCPP memory was left allocated");
        }
    }

    /**
     * Resets the parameters now and then, so that a million steps on one gradient stay in the
     * range of a training run (the update moves each coordinate by at most about 0.1 per step).
     */
    private static void keepBounded(MixedTensors tensors, int t, float[] zero) {
        if (t % 10_000 == 9_999) {
            tensors.setParameters(zero);
        }
    }

    /** VmRSS of this process in bytes, from /proc/self/status. */
    static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.trim().split("\\s+");
                return Long.parseLong(parts[1]) * 1024;
            }
        }
        throw new IllegalStateException("/proc/self/status has no VmRSS line");
    }

    /** Bytes this thread has allocated on the Java heap so far (HotSpot's counter). */
    static long threadAllocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
