package org.l2l4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.presets.L2lTesting;

/**
 * Every allocation the native library makes can fail without harm: with the fault-injection
 * switch of l2l_testing.h failing each allocation of a call in turn, the call throws
 * {@link L2lException} with {@link Status#OUT_OF_MEMORY} naming what could not be allocated, the
 * JVM carries on, the caller's buffers are bitwise untouched, and the same call on the same
 * objects then succeeds with the result of a run without failures.  The step and the backward
 * pass allocate their scratch and workspace at their first call at a new size, which is the call
 * tested here.
 */
class AllocationFailureTest {
    static final LstmConfig CONFIG = LstmConfig.paperMnist();
    /** Enough coordinates that a call runs on both threads of the backend (two scratch slots). */
    static final int N = 20_000;
    static final int STEPS = 3;

    @AfterEach
    void disarm() {
        L2lTesting.l2l_testing_fail_allocation(0);
    }

    /**
     * For k = 1, 2, ...: makes a fresh fixture, arms the switch to fail the k-th allocation of
     * {@code call} on it, and runs the call.  While k is within the call's allocations, the call
     * must throw OUT_OF_MEMORY naming {@code expected[k - 1]}, and {@code untouched} then checks
     * the fixture; the first k past them must let the call succeed, after which {@code succeeded}
     * checks the fixture.  So the call makes exactly expected.length allocations.
     */
    private static <F extends AutoCloseable> void failEachAllocation(Supplier<F> fixture, Consumer<F> call,
            Consumer<F> untouched, Consumer<F> succeeded, String... expected) throws Exception {
        for (int k = 1; k <= expected.length + 1; k++) {
            try (F f = fixture.get()) {
                L2lException thrown = null;
                long left;
                L2lTesting.l2l_testing_fail_allocation(k);
                try {
                    call.accept(f);
                } catch (L2lException e) {
                    thrown = e;
                } finally {
                    left = L2lTesting.l2l_testing_fail_allocation(0);
                }
                if (k <= expected.length) {
                    assertNotNull(thrown, "the call succeeded with its allocation " + k + " failing");
                    assertEquals(0, left, "the call failed before its allocation " + k + ": " + thrown);
                    assertEquals(Status.OUT_OF_MEMORY, thrown.status(), thrown.getMessage());
                    assertTrue(thrown.getMessage().contains(expected[k - 1]),
                            "allocation " + k + ": '" + thrown.getMessage() + "' should name " + expected[k - 1]);
                    untouched.accept(f);
                } else {
                    assertNull(thrown, "the call failed with no allocation failing");
                    assertEquals(1, left, "the call made more than " + expected.length + " allocations");
                    succeeded.accept(f);
                }
            }
        }
    }

    /** A CPU backend of 2 threads and the buffers of one unroll, with fixed random contents. */
    static final class Unroll implements AutoCloseable {
        final Backend backend = Backend.cpu(2);
        final CoordinatewiseLstm lstm = new CoordinatewiseLstm(CONFIG);
        final NativeBuffer phi;
        final NativeBuffer theta;
        final NativeBuffer grad;
        final NativeBuffer state;
        final UnrollRecord record;
        final NativeBuffer dloss;
        final NativeBuffer dphi;
        final NativeBuffer dstateInitial;
        final NativeBuffer dx;
        final TensorList tensors;

        Unroll() {
            SplittableRandom rnd = new SplittableRandom(11);
            int rows = CONFIG.stateRows();
            phi = floats(lstm.phiSize(), 0.3, rnd);
            theta = floats(N, 1, rnd);
            grad = floats(N, 1e-2, rnd);
            state = floats((long) rows * N, 0.9, rnd);
            record = new UnrollRecord(backend, CONFIG, N, STEPS);
            record.buffer().write(random((long) STEPS * CONFIG.recordRows() * N, 0.9, rnd));
            dloss = floats((long) STEPS * N, 1e-2, rnd);
            dphi = backend.allocateDoubles(lstm.phiSize());
            dphi.write(rnd.doubles(lstm.phiSize(), -1, 1).toArray());
            dstateInitial = floats((long) rows * N, 1, rnd);
            dx = floats((long) STEPS * N, 1, rnd);
            tensors = TensorList.of(theta, grad);
        }

        private NativeBuffer floats(long length, double scale, SplittableRandom rnd) {
            NativeBuffer b = backend.allocateFloats(length);
            b.write(random(length, scale, rnd));
            return b;
        }

        private static float[] random(long length, double scale, SplittableRandom rnd) {
            float[] v = new float[(int) length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) rnd.nextDouble(-scale, scale);
            }
            return v;
        }

        void step() {
            lstm.step(phi, tensors, state, record, 1, true);
        }

        void backward() {
            lstm.backward(phi, record, STEPS, dloss, null, dphi, dstateInitial, dx, true);
        }

        /** Every buffer's contents, in a fixed order. */
        Object[] contents() {
            return new Object[] {phi.toFloatArray(), theta.toFloatArray(), grad.toFloatArray(), state.toFloatArray(),
                record.buffer().toFloatArray(), dloss.toFloatArray(), dphi.toDoubleArray(),
                dstateInitial.toFloatArray(), dx.toFloatArray()};
        }

        @Override
        public void close() {
            tensors.close();
            record.close();
            for (NativeBuffer b : new NativeBuffer[] {phi, theta, grad, state, dloss, dphi, dstateInitial, dx}) {
                b.close();
            }
            lstm.close();
            backend.close();
        }
    }

    private static void assertSameContents(Object[] expected, Object[] actual) {
        assertEquals(expected.length, actual.length);
        for (int k = 0; k < expected.length; k++) {
            if (expected[k] instanceof float[] e) {
                assertArrayEquals(e, (float[]) actual[k], "buffer " + k);
            } else {
                assertArrayEquals((double[]) expected[k], (double[]) actual[k], "buffer " + k);
            }
        }
    }

    /** The buffers of a fresh unroll after run, without failures. */
    private static Object[] reference(Consumer<Unroll> run) {
        try (Unroll u = new Unroll()) {
            run.accept(u);
            return u.contents();
        }
    }

    @Test
    void theFirstStepAtANewSize() throws Exception {
        Object[] before = reference(u -> { });
        Object[] after = reference(Unroll::step);
        failEachAllocation(Unroll::new, Unroll::step, u -> assertSameContents(before, u.contents()),
                u -> assertSameContents(after, u.contents()), "scratch");
    }

    @Test
    void theFirstBackwardPassAtANewSize() throws Exception {
        Object[] before = reference(u -> { });
        Object[] after = reference(Unroll::backward);
        failEachAllocation(Unroll::new, Unroll::backward, u -> assertSameContents(before, u.contents()),
                u -> assertSameContents(after, u.contents()), "workspace", "scratch");
    }

    @Test
    void aBackwardPassAfterAStepNeedsOnlyItsWorkspace() throws Exception {
        Object[] stepped = reference(Unroll::step);
        Object[] after = reference(u -> {
            u.step();
            u.backward();
        });
        Supplier<Unroll> afterAStep = () -> {
            Unroll u = new Unroll();
            u.step();
            return u;
        };
        failEachAllocation(afterAStep, Unroll::backward, u -> assertSameContents(stepped, u.contents()),
                u -> assertSameContents(after, u.contents()), "workspace");
    }

    /** A backend (or none) for the calls that make one. */
    static final class Holder implements AutoCloseable {
        Backend backend;

        @Override
        public void close() {
            if (backend != null) {
                backend.close();
            }
        }
    }

    @Test
    void creatingACpuBackend() throws Exception {
        failEachAllocation(Holder::new, h -> h.backend = Backend.cpu(2), h -> assertNull(h.backend),
                h -> assertEquals(2, h.backend.threads()), "cannot allocate the context",
                "cannot allocate the CPU context");
    }

    @Test
    void allocatingABuffer() throws Exception {
        Supplier<Holder> cpu = () -> {
            Holder h = new Holder();
            h.backend = Backend.cpu(1);
            return h;
        };
        failEachAllocation(cpu, h -> h.backend.allocateFloats(1000).close(),
                h -> assertEquals(0, h.backend.liveBuffers()), h -> assertEquals(0, h.backend.liveBuffers()),
                "cannot allocate 4000 bytes");
    }

    @Test
    void creatingAModel() throws Exception {
        failEachAllocation(Holder::new, h -> new CoordinatewiseLstm(CONFIG).close(), h -> { }, h -> { },
                "cannot allocate the model");
    }
}
