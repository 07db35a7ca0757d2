package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.l2l4j.optimizers.ParameterOptimizerStateTest.assertRejected;

import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;

/**
 * Threads: eight optimizers, one per thread, sharing one read-only phi, give bitwise the results
 * of the same work done serially; a call made while another thread is inside a call on the same
 * optimizer is rejected with ConcurrentModificationException; a SharedPhi cannot be closed
 * while optimizers use it.
 */
class LstmOptimizerConcurrencyTest {
    static final int THREADS = 8;
    static final int STEPS = 40;
    static final int[] SIZES = {300, 20, 600, 7, 73};

    /** One training loop: its own tensors (seeded) and optimizer on the shared phi. */
    private static float[] trainingLoop(SharedPhi phi, long seed) {
        try (MixedTensors tensors = new MixedTensors(seed, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(phi).threads(1).build()) {
            tensors.register(optimizer);
            for (int t = 0; t < STEPS; t++) {
                tensors.computeGradients();
                optimizer.step();
            }
            return tensors.parameters();
        }
    }

    @Test
    void eightThreadsSharingPhiMatchTheSerialRunBitwise() throws Exception {
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(LstmConfig.paperMnist(), 3);
        try (Backend home = Backend.cpu(1); SharedPhi phi = SharedPhi.create(checkpoint, home)) {
            List<float[]> serial = new ArrayList<>();
            for (int j = 0; j < THREADS; j++) {
                serial.add(trainingLoop(phi, 100 + j));
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<float[]>> parallel = new ArrayList<>();
                for (int j = 0; j < THREADS; j++) {
                    long seed = 100 + j;
                    parallel.add(pool.submit(() -> trainingLoop(phi, seed)));
                }
                for (int j = 0; j < THREADS; j++) {
                    assertArrayEquals(serial.get(j), parallel.get(j).get(60, TimeUnit.SECONDS), "loop " + j);
                }
            } finally {
                pool.shutdownNow();
            }
            for (int j = 1; j < THREADS; j++) {
                assertTrue(serial.get(j)[0] != serial.get(0)[0], "the loops must differ for the check to mean anything");
            }
        }
    }

    @Test
    void aSharedPhiOutlivesItsOptimizers() {
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(ParameterOptimizerStateTest.CONFIG, 3);
        try (Backend home = Backend.cpu(1); SharedPhi phi = SharedPhi.create(checkpoint, home)) {
            LstmOptimizer a = LstmOptimizer.builder(phi).build();
            LstmOptimizer b = LstmOptimizer.builder(phi).build();
            assertRejected(IllegalStateException.class, "close the 2 LstmOptimizers", phi::close);
            a.close();
            b.close();
            phi.close();
            assertRejected(IllegalStateException.class, "closed", () -> LstmOptimizer.builder(phi).build());
        }
    }

    @Test
    void concurrentCallsOnOneOptimizerAreRejected() throws Exception {
        OptimizerCheckpoint checkpoint = MixedTensors.checkpoint(LstmConfig.paperMnist(), 3);
        try (MixedTensors tensors = new MixedTensors(1, 50_000);
             LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).threads(1).build()) {
            tensors.register(optimizer);
            tensors.computeGradients();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Integer> stepper = pool.submit(() -> {
                    int steps = 0;
                    while (!stop.get()) {
                        try {
                            optimizer.step();
                            steps++;
                        } catch (ConcurrentModificationException e) {
                            // this thread's step started while the test thread held the optimizer
                        }
                    }
                    return steps;
                });
                ConcurrentModificationException seen = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (seen == null && System.nanoTime() < deadline) {
                    try {
                        optimizer.stepCount();
                    } catch (ConcurrentModificationException e) {
                        seen = e;
                    }
                }
                stop.set(true);
                assertTrue(stepper.get(30, TimeUnit.SECONDS) > 0);
                assertTrue(seen != null, "no concurrent call was detected within 20 s");
                assertTrue(seen.getMessage().contains("one thread at a time"), seen.getMessage());
            } finally {
                pool.shutdownNow();
            }
            assertEquals(50_000, optimizer.coordinates());
        }
    }
}
