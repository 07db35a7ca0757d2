package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;
import org.l2l4j.presets.L2l;

/**
 * Every bad input of the native core's API is rejected with an exception that names the
 * problem, before anything is written: Java checks shapes, nulls and object state before the
 * native call; the native value pre-pass rejects NaN and infinities; the C API itself returns
 * status codes for what reaches it.
 */
class BadInputTest {
    static final int N = 40;
    Backend backend;
    LstmConfig config = LstmConfig.paperMnist();
    CoordinatewiseLstm lstm;
    NativeBuffer phi;
    NativeBuffer theta;
    NativeBuffer grad;
    NativeBuffer state;
    UnrollRecord record;
    TensorList tensors;

    @BeforeEach
    void setUp() {
        backend = Backend.cpu(1);
        lstm = new CoordinatewiseLstm(config);
        SplittableRandom rnd = new SplittableRandom(5);
        phi = backend.allocateFloats(lstm.phiSize());
        phi.write(LstmFixtures.randomPhi(config, 1));
        theta = backend.allocateFloats(N);
        theta.write(LstmFixtures.uniform(N, 1, rnd));
        grad = backend.allocateFloats(N);
        grad.write(LstmFixtures.uniform(N, 1, rnd));
        state = backend.allocateFloats((long) config.stateRows() * N);
        state.write(LstmFixtures.uniform(config.stateRows() * N, 1, rnd));
        record = new UnrollRecord(backend, config, N, 2);
        record.buffer().write(LstmFixtures.uniform(2 * config.recordRows() * N, 1, rnd));
        tensors = TensorList.of(theta, grad);
    }

    @AfterEach
    void tearDown() {
        tensors.close();
        record.close();
        for (NativeBuffer b : new NativeBuffer[] {phi, theta, grad, state}) {
            b.close();
        }
        lstm.close();
        backend.close();
    }

    private static <T extends Throwable> void assertRejected(Class<T> type, String fragment, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void configurationsOutOfRange() {
        assertRejected(IllegalArgumentException.class, "width of layer 0", () -> new LstmConfig(new int[] {0},
                Preprocessing.IDENTITY, 10, 1, false));
        assertRejected(IllegalArgumentException.class, "width of layer 1", () -> new LstmConfig(new int[] {2, 257},
                Preprocessing.IDENTITY, 10, 1, false));
        assertRejected(IllegalArgumentException.class, "at most 8", () -> new LstmConfig(new int[9],
                Preprocessing.IDENTITY, 10, 1, false));
        assertRejected(IllegalArgumentException.class, "p must be", () -> new LstmConfig(new int[] {2},
                Preprocessing.LOG_AND_SIGN, 0, 1, false));
        assertRejected(IllegalArgumentException.class, "outputScale", () -> new LstmConfig(new int[] {2},
                Preprocessing.LOG_AND_SIGN, 10, Double.NaN, false));
        assertRejected(NullPointerException.class, "widths", () -> new LstmConfig(null,
                Preprocessing.LOG_AND_SIGN, 10, 1, false));
    }

    @Test
    void buffersAndTensorLists() {
        assertRejected(IllegalArgumentException.class, "threads", () -> Backend.cpu(-1));
        assertRejected(IllegalArgumentException.class, "length must be >= 1", () -> backend.allocateFloats(0));
        assertRejected(IllegalStateException.class, "n = 0", () -> TensorList.builder().build());
        assertRejected(IllegalArgumentException.class, ">= 1 coordinate",
                () -> TensorList.builder().add(theta, 0, grad, 0, 0));
        assertRejected(IndexOutOfBoundsException.class, "", () -> TensorList.builder().add(theta, 30, grad, 0, 20));
        try (NativeBuffer d = backend.allocateDoubles(N)) {
            assertRejected(IllegalArgumentException.class, "float32", () -> TensorList.of(d, grad));
        }
        try (Backend other = Backend.cpu(1); NativeBuffer foreign = other.allocateFloats(N)) {
            assertRejected(IllegalArgumentException.class, "one backend", () -> TensorList.of(foreign, grad));
            assertRejected(IllegalArgumentException.class, "another backend",
                    () -> lstm.step(phi, TensorList.of(foreign, foreign), state, null, 0, false));
        }
        assertRejected(IllegalStateException.class, "close the", () -> backend.close());
    }

    @Test
    void rawAddressesAndCopiesBetweenBuffers() {
        assertRejected(IllegalStateException.class, "builder(Backend)",
                () -> TensorList.builder().addAddresses(theta.address(), grad.address(), N));
        assertRejected(IllegalArgumentException.class, "4-byte aligned",
                () -> TensorList.builder(backend).addAddresses(theta.address() + 2, grad.address(), N));
        assertRejected(IllegalArgumentException.class, "4-byte aligned",
                () -> TensorList.builder(backend).addAddresses(0, grad.address(), N));
        assertRejected(IllegalArgumentException.class, ">= 1 coordinate",
                () -> TensorList.builder(backend).addAddresses(theta.address(), grad.address(), 0));
        try (NativeBuffer d = backend.allocateDoubles(N)) {
            assertRejected(IllegalArgumentException.class, "cannot copy F64", () -> theta.copyFrom(d, 0, 0, 1));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> theta.copyFrom(grad, 30, 0, 11));
        assertThrows(IndexOutOfBoundsException.class, () -> theta.copyFrom(grad, 0, -1, 1));
        float[] before = theta.toFloatArray();
        float[] g = grad.toFloatArray();
        try (Backend other = Backend.cpu(1); NativeBuffer foreign = other.allocateFloats(N)) {
            foreign.copyFrom(grad, 5, 10, 20);
            float[] f = foreign.toFloatArray();
            for (int i = 0; i < N; i++) {
                assertEquals(i >= 10 && i < 30 ? g[i - 5] : 0f, f[i], "element " + i);
            }
            assertEquals(1, other.liveBuffers());
            assertTrue(other.sharesMemoryWith(backend), "two CPU backends share host memory");
            // phi is only read: a step may read it from another CPU backend's memory
            try (NativeBuffer foreignPhi = other.allocateFloats(lstm.phiSize());
                 NativeBuffer stateCopy = backend.allocateFloats(state.length())) {
                foreignPhi.copyFrom(phi, 0, 0, lstm.phiSize());
                stateCopy.copyFrom(state, 0, 0, state.length());
                try (NativeBuffer theta2 = backend.allocateFloats(N); TensorList list2 = TensorList.of(theta2, grad)) {
                    theta2.copyFrom(theta, 0, 0, N);
                    lstm.step(phi, tensors, state, null, 0, true);
                    lstm.step(foreignPhi, list2, stateCopy, null, 0, true);
                    assertArrayEquals(theta.toFloatArray(), theta2.toFloatArray());
                    assertTrue(theta2.toFloatArray()[0] != before[0], "the step must change theta");
                }
            }
        }
    }

    @Test
    void stepArgumentsAreCheckedBeforeTheNativeCall() {
        float[] before = theta.toFloatArray();
        assertRejected(NullPointerException.class, "phi", () -> lstm.step(null, tensors, state, null, 0, false));
        assertRejected(NullPointerException.class, "tensors", () -> lstm.step(phi, null, state, null, 0, false));
        assertRejected(NullPointerException.class, "state", () -> lstm.step(phi, tensors, null, null, 0, false));
        try (NativeBuffer shortPhi = backend.allocateFloats(100)) {
            assertRejected(IllegalArgumentException.class, "phi must be F32 x 5301",
                    () -> lstm.step(shortPhi, tensors, state, null, 0, false));
        }
        try (NativeBuffer shortState = backend.allocateFloats(N)) {
            assertRejected(IllegalArgumentException.class, "state must be",
                    () -> lstm.step(phi, tensors, shortState, null, 0, false));
        }
        assertRejected(IndexOutOfBoundsException.class, "", () -> lstm.step(phi, tensors, state, record, 2, false));
        LstmConfig other = config.withWidths(20);
        try (UnrollRecord wrong = new UnrollRecord(backend, other, N, 1)) {
            assertRejected(IllegalArgumentException.class, "the record was made for",
                    () -> lstm.step(phi, tensors, state, wrong, 0, false));
        }
        try (UnrollRecord wrongN = new UnrollRecord(backend, config, N + 1, 1)) {
            assertRejected(IllegalArgumentException.class, "coordinates",
                    () -> lstm.step(phi, tensors, state, wrongN, 0, false));
        }
        assertArrayEquals(before, theta.toFloatArray(), "a rejected call must not write theta");
    }

    @Test
    void closedObjectsAreRejected() {
        NativeBuffer extra = backend.allocateFloats(N);
        TensorList withClosed = TensorList.of(extra, grad);
        extra.close();
        extra.close(); // idempotent
        assertRejected(IllegalStateException.class, "closed", () -> extra.toFloatArray());
        assertRejected(IllegalStateException.class, "closed", () -> lstm.step(phi, withClosed, state, null, 0, false));
        withClosed.close();
        assertRejected(IllegalStateException.class, "closed", () -> lstm.step(phi, withClosed, state, null, 0, false));
        CoordinatewiseLstm closed = new CoordinatewiseLstm(config);
        closed.close();
        closed.close();
        assertRejected(IllegalStateException.class, "closed", () -> closed.step(phi, tensors, state, null, 0, false));
        Backend b = Backend.cpu(1);
        b.close();
        b.close();
        assertRejected(IllegalStateException.class, "closed", () -> b.allocateFloats(1));
    }

    @Test
    void aForgottenBufferIsFreedByTheCleanerAndReleasesItsBackend() throws InterruptedException {
        Backend b = Backend.cpu(1);
        b.allocateFloats(1000); // never closed
        assertRejected(IllegalStateException.class, "close the 1 native buffers", b::close);
        boolean closed = false;
        for (int attempt = 0; attempt < 200 && !closed; attempt++) {
            System.gc();
            Thread.sleep(10);
            try {
                b.close();
                closed = true;
            } catch (IllegalStateException stillOpen) {
                // the cleaner has not run yet
            }
        }
        assertTrue(closed, "the cleaner should free the forgotten buffer and let the backend close");
        assertTrue(b.isClosed());
    }

    @Test
    void nonFiniteInputsAreRejectedAndNothingIsWritten() {
        float[] theta0 = theta.toFloatArray();
        float[] state0 = state.toFloatArray();
        float[] record0 = record.buffer().toFloatArray();
        float[][] poisons = {{Float.NaN}, {Float.POSITIVE_INFINITY}, {Float.NEGATIVE_INFINITY}};
        NativeBuffer[] targets = {grad, theta, state, phi};
        String[] names = {"grad[0]", "theta[0]", "state", "phi"};
        for (int t = 0; t < targets.length; t++) {
            for (float[] poison : poisons) {
                NativeBuffer target = targets[t];
                float[] saved = target.toFloatArray();
                target.write(7, poison, 0, 1);
                L2lException e = assertThrows(L2lException.class,
                        () -> lstm.step(phi, tensors, state, record, 0, true));
                assertEquals(Status.NON_FINITE, e.status());
                assertTrue(e.getMessage().contains(names[t]) && e.getMessage().contains("index 7"), e.getMessage());
                target.write(saved);
                assertArrayEquals(theta0, theta.toFloatArray());
                assertArrayEquals(state0, state.toFloatArray());
                assertArrayEquals(record0, record.buffer().toFloatArray());
            }
        }
    }

    @Test
    void withoutThePrePassNaNPropagatesToThetaAndState() {
        grad.write(3, new float[] {Float.NaN}, 0, 1);
        lstm.step(phi, tensors, state, null, 0, false);
        assertTrue(Float.isNaN(theta.toFloatArray()[3]));
        assertTrue(Float.isNaN(state.toFloatArray()[3]));
        assertTrue(Float.isFinite(theta.toFloatArray()[4]));
    }

    @Test
    void backwardArguments() {
        try (NativeBuffer dloss = backend.allocateFloats(2L * N);
             NativeBuffer dphi = backend.allocateDoubles(lstm.phiSize());
             NativeBuffer dphiF = backend.allocateFloats(lstm.phiSize())) {
            assertRejected(IllegalArgumentException.class, "steps must be in [1, 2]",
                    () -> lstm.backward(phi, record, 3, dloss, null, dphi, null, null, false));
            assertRejected(IllegalArgumentException.class, "dphi must be F64",
                    () -> lstm.backward(phi, record, 2, dloss, null, dphiF, null, null, false));
            assertRejected(IllegalArgumentException.class, "dlossDdelta must be",
                    () -> lstm.backward(phi, record, 1, dloss, null, dphi, null, null, false));
            assertRejected(NullPointerException.class, "dphi",
                    () -> lstm.backward(phi, record, 2, dloss, null, null, null, null, false));
            assertRejected(IllegalArgumentException.class, "scale must be finite",
                    () -> lstm.metaLossGradients(record, 2, grad, Double.POSITIVE_INFINITY, dloss));
            dloss.write(LstmFixtures.uniform(2 * N, 1, new SplittableRandom(1)));
            dloss.write(11, new float[] {Float.NaN}, 0, 1);
            double[] dphi0 = dphi.toDoubleArray();
            L2lException e = assertThrows(L2lException.class,
                    () -> lstm.backward(phi, record, 2, dloss, null, dphi, null, null, true));
            assertEquals(Status.NON_FINITE, e.status());
            assertTrue(e.getMessage().contains("dloss_ddelta") && e.getMessage().contains("index 11"));
            assertArrayEquals(dphi0, dphi.toDoubleArray());
        }
    }

    @Test
    void backwardStepArguments() {
        try (NativeBuffer dloss = backend.allocateFloats(N); NativeBuffer dphi = backend.allocateDoubles(lstm.phiSize());
             NativeBuffer dstate = backend.allocateFloats((long) lstm.config().stateRows() * N)) {
            assertRejected(IllegalArgumentException.class, "step must be in [0, 2)",
                    () -> lstm.backwardStep(phi, record, 2, dloss, null, dphi, null, null, false));
            assertRejected(IllegalArgumentException.class, "step must be in [0, 2)",
                    () -> lstm.backwardStep(phi, record, -1, dloss, null, dphi, null, null, false));
            assertRejected(IllegalArgumentException.class, "must be different buffers",
                    () -> lstm.backwardStep(phi, record, 1, dloss, dstate, dphi, dstate, null, false));
            assertRejected(IllegalArgumentException.class, "dlossDdelta must be",
                    () -> lstm.backwardStep(phi, record, 0, dstate, null, dphi, null, null, false));
            assertRejected(NullPointerException.class, "record",
                    () -> lstm.backwardStep(phi, null, 0, dloss, null, dphi, null, null, false));
        }
    }

    @Test
    void theCApiReturnsStatusCodes() {
        assertEquals(L2l.L2L_ERR_NULL_ARGUMENT, L2l.l2l_step(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0));
        assertTrue(L2l.l2l_last_error().contains("context is NULL"));
        assertEquals(L2l.L2L_ERR_NULL_ARGUMENT, L2l.l2l_backward(backend.ctx(), 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
        assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_model_create(0, 0, -1, 0, 10, 1, 0, record.buffer().address()));
        assertEquals(L2l.L2L_ERR_INVALID_ARGUMENT, L2l.l2l_malloc(backend.ctx(), 0, record.buffer().address()));
        assertEquals("L2L_ERR_NON_FINITE", L2l.l2l_status_name(L2l.L2L_ERR_NON_FINITE));
        assertEquals("L2L_ERR_INTERNAL", L2l.l2l_status_name(L2l.L2L_ERR_INTERNAL));
        assertEquals("L2L_ERR_UNKNOWN", L2l.l2l_status_name(L2l.L2L_ERR_INTERNAL + 1));
        for (Status status : Status.values()) {
            if (status != Status.UNKNOWN) {
                assertEquals("L2L_" + (status == Status.OK ? "" : "ERR_") + status.name(),
                        L2l.l2l_status_name(status.code()), "the C name of " + status);
            }
        }
    }

    @Test
    void cudaWithoutADeviceSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Backend.cudaDeviceCount() == 0,
                "a CUDA device is present: the no-device path cannot be exercised here");
        L2lException e = assertThrows(L2lException.class, () -> Backend.cuda(0));
        assertEquals(Status.NO_CUDA, e.status());
        assertTrue(!Backend.cudaUnavailableReason().isEmpty());
        try (Backend best = Backend.best()) {
            assertEquals(org.l2l4j.backend.BackendKind.CPU, best.kind());
        }
    }
}
