package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.l2l4j.optimizers.ParameterOptimizerStateTest.assertRejected;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.optimizers.ParameterOptimizerStateTest.Kind;

/**
 * What every ParameterOptimizer promises about bad input and its lifetime: clear exceptions for
 * nulls, lengths, duplicates, aliasing, read-only parameters, calls out of order and NaN/Inf
 * values, with the caller's tensors and the optimizer's state unchanged after a rejected call;
 * every method of a closed optimizer throws IllegalStateException, close is idempotent.
 */
class ParameterOptimizerContractTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Kind.class)
    void badRegistrationsAreRejected(Kind kind) {
        try (ParameterOptimizer optimizer = kind.create()) {
            float[] p = {1, 2, 3};
            float[] g = {0.1f, 0.2f, 0.3f};
            assertRejected(NullPointerException.class, "name", () -> optimizer.register(null, p, g));
            assertRejected(NullPointerException.class, "parameter", () -> optimizer.register("w", (float[]) null, g));
            assertRejected(NullPointerException.class, "gradient", () -> optimizer.register("w", p, (float[]) null));
            assertRejected(NullPointerException.class, "parameter",
                    () -> optimizer.register("w", (FloatBuffer) null, FloatBuffer.wrap(g)));
            try (FloatPointer three = new FloatPointer(3)) {
                assertRejected(NullPointerException.class, "parameter",
                        () -> optimizer.register("w", (FloatPointer) null, three));
                assertRejected(IllegalArgumentException.class, "NULL FloatPointer",
                        () -> optimizer.register("w", new FloatPointer(), three));
            }
            assertRejected(IllegalArgumentException.class, "empty", () -> optimizer.register("", p, g));
            assertRejected(IllegalArgumentException.class, "the parameter has 3 values, the gradient 2",
                    () -> optimizer.register("w", p, new float[2]));
            assertRejected(IllegalArgumentException.class, "at least one value",
                    () -> optimizer.register("w", new float[0], new float[0]));
            assertRejected(IllegalArgumentException.class, "share memory", () -> optimizer.register("w", p, p));
            assertRejected(IllegalArgumentException.class, "read-only",
                    () -> optimizer.register("w", FloatBuffer.wrap(p).asReadOnlyBuffer(), FloatBuffer.wrap(g)));
            assertRejected(IllegalStateException.class, "register at least one tensor", optimizer::step);
            assertRejected(IllegalStateException.class, "register at least one tensor",
                    () -> optimizer.saveState(dir.resolve("s")));
            optimizer.register("w", p, g);
            assertRejected(IllegalArgumentException.class, "already registered",
                    () -> optimizer.register("w", new float[3], new float[3]));
            assertRejected(IllegalArgumentException.class, "shares memory with the registered tensor 'w'",
                    () -> optimizer.register("v", new float[3], p));
            assertRejected(IllegalArgumentException.class, "shares memory with the registered tensor 'w'",
                    () -> optimizer.register("v", FloatBuffer.wrap(g, 1, 2), FloatBuffer.wrap(new float[2])));
            FloatBuffer direct = ByteBuffer.allocateDirect(64).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            optimizer.register("d", direct.duplicate().position(0).limit(8), direct.duplicate().position(8).limit(16));
            assertRejected(IllegalArgumentException.class, "shares memory with the registered tensor 'd'",
                    () -> optimizer.register("e", direct.duplicate().position(4).limit(6), FloatBuffer.allocate(2)));
            assertEquals(List.of("w", "d"), optimizer.tensorNames());
            assertEquals(11, optimizer.coordinates());
            optimizer.step();
            assertRejected(IllegalStateException.class, "before the first step",
                    () -> optimizer.register("late", new float[1], new float[1]));
            assertEquals(List.of("w", "d"), optimizer.tensorNames());
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void nonFiniteValuesAreRejectedAndChangeNothing(Kind kind) {
        try (MixedTensors control = new MixedTensors(5, ParameterOptimizerStateTest.SIZES);
             ParameterOptimizer reference = kind.create();
             MixedTensors tensors = new MixedTensors(5, ParameterOptimizerStateTest.SIZES);
             ParameterOptimizer optimizer = kind.create()) {
            control.register(reference);
            tensors.register(optimizer);
            control.computeGradients();
            reference.step();
            tensors.computeGradients();
            optimizer.step();
            int offset = ParameterOptimizerStateTest.SIZES[0] + ParameterOptimizerStateTest.SIZES[1];
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                tensors.computeGradients();
                float[] g = tensors.gradients();
                g[offset + 7] = bad;
                tensors.setGradients(g);
                float[] theta = tensors.parameters();
                assertRejected(IllegalArgumentException.class, "the gradient of '" + tensors.names().get(2)
                        + "' holds", optimizer::step);
                assertArrayEquals(theta, tensors.parameters(), "a rejected step changed the parameters");
                assertArrayEquals(g, tensors.gradients(), "a rejected step changed the gradients");
                tensors.computeGradients();
                float[] badTheta = theta.clone();
                badTheta[3] = bad;
                tensors.setParameters(badTheta);
                assertRejected(IllegalArgumentException.class, "the parameter of '" + tensors.names().get(0)
                        + "' holds", optimizer::step);
                assertArrayEquals(badTheta, tensors.parameters());
                tensors.setParameters(theta);
            }
            assertEquals(1, optimizer.stepCount());
            for (int t = 0; t < 2; t++) {
                control.computeGradients();
                reference.step();
                tensors.computeGradients();
                optimizer.step();
            }
            assertArrayEquals(control.parameters(), tensors.parameters(), "a rejected step changed the state");
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyMethodOfAClosedOptimizerThrows(Kind kind) {
        ParameterOptimizer optimizer = kind.create();
        float[] p = new float[4];
        optimizer.register("w", p, new float[4]);
        optimizer.step();
        optimizer.close();
        optimizer.close();
        Path file = dir.resolve("closed.safetensors");
        FloatPointer one = new FloatPointer(1);
        FloatPointer other = new FloatPointer(1);
        List<ParameterOptimizerStateTest.Call> calls = List.of(
                () -> optimizer.register("v", new float[1], new float[1]),
                () -> optimizer.register("v", FloatBuffer.allocate(1), FloatBuffer.allocate(1)),
                () -> optimizer.register("v", one, other),
                optimizer::step, optimizer::stepCount, optimizer::tensorNames, optimizer::coordinates,
                () -> optimizer.saveState(file), () -> optimizer.loadState(file));
        String closed = "the " + switch (kind) {
            case LSTM -> "LSTM";
            case ADAM -> "Adam";
            case NTM_BFGS -> "NTM-BFGS";
        } + " optimizer is closed";
        for (ParameterOptimizerStateTest.Call call : calls) {
            assertRejected(IllegalStateException.class, closed, call);
        }
        if (optimizer instanceof LstmOptimizer lstm) {
            assertRejected(IllegalStateException.class, closed, () -> lstm.registerDevice("v", 64, 128, 1));
        }
        one.close();
        other.close();
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void pointersBeyondTheirAllocationAreRejected(Kind kind) {
        try (ParameterOptimizer optimizer = kind.create(); FloatPointer big = new FloatPointer(1000);
             FloatPointer small = new FloatPointer(10); FloatPointer other = new FloatPointer(10)) {
            small.limit(1000);
            assertRejected(IllegalArgumentException.class, "[position 0, limit 1000) outside its allocation of"
                    + " capacity 10", () -> optimizer.register("p", small, big));
            small.limit(10);
            small.position(11);
            assertRejected(IllegalArgumentException.class, "position 11", () -> optimizer.register("p", small, other));
            small.position(-1);
            assertRejected(IllegalArgumentException.class, "position -1", () -> optimizer.register("p", small, other));
            small.position(0);
            other.limit(11);
            assertRejected(IllegalArgumentException.class, "gradient spans", () -> optimizer.register("p", small, other));
            other.limit(10);
            assertEquals(List.of(), optimizer.tensorNames());
            // JavaCPP does not zero what it allocates; the step below reads these values.
            big.fill(0);
            small.fill(0);
            other.fill(0);
            // Foreign memory: JavaCPP does not know the capacity, the caller vouches for the range.
            FloatPointer foreign = new FloatPointer(big).capacity(0).position(100).limit(110);
            optimizer.register("p", small, other);
            optimizer.register("q", foreign, new FloatPointer(big).capacity(0).position(200).limit(210));
            assertEquals(20, optimizer.coordinates());
            optimizer.step();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void heapBuffersThatHideTheirArrayAreRejected(Kind kind) {
        try (ParameterOptimizer optimizer = kind.create()) {
            float[] a = new float[20];
            String hidden = "does not expose its array";
            assertRejected(IllegalArgumentException.class, "the gradient is a heap buffer that " + hidden,
                    () -> optimizer.register("x", FloatBuffer.wrap(a), FloatBuffer.wrap(a).asReadOnlyBuffer()));
            FloatBuffer view = ByteBuffer.allocate(80).asFloatBuffer();
            assertRejected(IllegalArgumentException.class, "the parameter is a heap buffer that " + hidden,
                    () -> optimizer.register("y", view, view));
            ByteBuffer bytes = ByteBuffer.allocate(80);
            assertRejected(IllegalArgumentException.class, hidden, () -> optimizer.register("z",
                    bytes.slice(0, 40).asFloatBuffer(), bytes.slice(20, 40).asFloatBuffer()));
            optimizer.register("p", a, new float[20]);
            assertRejected(IllegalArgumentException.class, "the gradient is a heap buffer that " + hidden,
                    () -> optimizer.register("q", FloatBuffer.allocate(20), FloatBuffer.wrap(a).asReadOnlyBuffer()));
            // A read-only direct buffer has an address: accepted as a gradient.
            FloatBuffer direct = ByteBuffer.allocateDirect(80).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            optimizer.register("r", FloatBuffer.allocate(20), direct.asReadOnlyBuffer());
            assertRejected(IllegalArgumentException.class, "shares memory with the registered tensor 'r'",
                    () -> optimizer.register("s", direct.slice(19, 1), FloatBuffer.allocate(1)));
            assertEquals(List.of("p", "r"), optimizer.tensorNames());
            optimizer.step();
        }
    }

    /**
     * Many tensors slicing one array and one direct buffer, registered in random order; random
     * probes are rejected exactly when they overlap a registered slice (by a brute-force check
     * over every registered range), naming a tensor they overlap, and registered otherwise.
     */
    @Test
    void sharedMemoryIsFoundAmongManyTensors() {
        java.util.Random random = new java.util.Random(20261129);
        int tensors = 300;
        float[] parameters = new float[tensors * 4];
        FloatBuffer gradients = ByteBuffer.allocateDirect(tensors * 4 * Float.BYTES)
                .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        List<Integer> order = new java.util.ArrayList<>(java.util.stream.IntStream.range(0, tensors).boxed().toList());
        java.util.Collections.shuffle(order, random);
        // Registered ranges [start, end) of the array and of the direct buffer, with their tensor.
        List<Object[]> onHeap = new java.util.ArrayList<>();
        List<Object[]> direct = new java.util.ArrayList<>();
        int rejected = 0;
        try (ParameterOptimizer optimizer = Kind.ADAM.create()) {
            for (int k : order) {
                int length = 1 + random.nextInt(3);   // leaves a gap of 1 to 3 values before tensor k + 1
                optimizer.register("t" + k, FloatBuffer.wrap(parameters, 4 * k, length),
                        gradients.slice(4 * k, length));
                onHeap.add(new Object[] {4 * k, 4 * k + length, "t" + k});
                direct.add(new Object[] {4 * k, 4 * k + length, "t" + k});
            }
            for (int probe = 0; probe < 2000; probe++) {
                int start = random.nextInt(parameters.length);
                int length = 1 + random.nextInt(Math.min(6, parameters.length - start));
                boolean heap = random.nextBoolean();
                List<Object[]> taken = heap ? onHeap : direct;
                List<String> owners = new java.util.ArrayList<>();
                for (Object[] range : taken) {
                    if ((int) range[0] < start + length && start < (int) range[1]) {
                        owners.add("shares memory with the registered tensor '" + range[2] + "'");
                    }
                }
                FloatBuffer p = heap ? FloatBuffer.wrap(parameters, start, length) : FloatBuffer.allocate(length);
                FloatBuffer g = heap ? FloatBuffer.allocate(length) : gradients.slice(start, length);
                if (owners.isEmpty()) {
                    optimizer.register("probe" + probe, p, g);
                    taken.add(new Object[] {start, start + length, "probe" + probe});
                } else {
                    rejected++;
                    String message = assertThrows(IllegalArgumentException.class,
                            () -> optimizer.register("probe", p, g)).getMessage();
                    assertTrue(owners.stream().anyMatch(message::contains), owners + ": " + message);
                }
            }
            assertEquals(tensors + 2000 - rejected, optimizer.tensorNames().size());
            assertTrue(rejected > 1000 && rejected < 2000, "probes rejected: " + rejected);
        }
    }

    @Test
    void aDeallocatedPointerIsDetected() {
        try (LstmOptimizer optimizer = (LstmOptimizer) Kind.LSTM.create()) {
            FloatPointer p = new FloatPointer(new float[] {0.5f, -1f, 2f, 0.25f, 3f});
            FloatPointer g = new FloatPointer(new float[] {0.1f, -0.2f, 0.3f, -0.4f, 0.5f});
            optimizer.register("w", p, g);
            optimizer.step();
            g.close();
            assertRejected(IllegalStateException.class, "the gradient of 'w' is a FloatPointer that has been deallocated",
                    optimizer::step);
            p.close();
        }
    }

    @Test
    void devicePointersNeedCuda() {
        try (LstmOptimizer optimizer = (LstmOptimizer) Kind.LSTM.create()) {
            assertRejected(IllegalStateException.class, "needs an LstmOptimizer on a CUDA backend",
                    () -> optimizer.registerDevice("w", 1024, 2048, 4));
            assertRejected(IllegalArgumentException.class, "4-byte aligned",
                    () -> optimizer.registerDevice("w", 0, 2048, 4));
            assertRejected(IllegalArgumentException.class, "at least one value",
                    () -> optimizer.registerDevice("w", 1024, 2048, 0));
            assertThrows(IllegalStateException.class, optimizer::step);
        }
    }

    @Test
    void builderOptionsAreValidated() {
        var checkpoint = MixedTensors.checkpoint(ParameterOptimizerStateTest.CONFIG, 1);
        assertRejected(NullPointerException.class, "checkpoint",
                () -> LstmOptimizer.builder((org.l2l4j.lstm.OptimizerCheckpoint) null));
        assertRejected(NullPointerException.class, "phi", () -> LstmOptimizer.builder((SharedPhi) null));
        assertRejected(IllegalArgumentException.class, "threads", () -> LstmOptimizer.builder(checkpoint).threads(-1));
        assertRejected(NullPointerException.class, "backend", () -> LstmOptimizer.builder(checkpoint).backend(null));
        try (org.l2l4j.backend.Backend backend = org.l2l4j.backend.Backend.cpu(1)) {
            assertRejected(IllegalStateException.class, "threads apply",
                    () -> LstmOptimizer.builder(checkpoint).backend(backend).threads(2).build());
            backend.close();
            assertRejected(IllegalStateException.class, "closed",
                    () -> LstmOptimizer.builder(checkpoint).backend(backend).build());
        }
    }
}
