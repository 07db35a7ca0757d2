package org.l2l4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.NonFiniteInputException.Input;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.presets.L2l;

/**
 * What the native value check reports when it rejects a step or a backward pass: the C query
 * l2l_last_non_finite (input, tensor, element index of the first NaN or infinity, in the order
 * the inputs are checked), and the {@link NonFiniteInputException} built from it.  The query is
 * cleared by every step and backward call, whatever its outcome.
 */
class NonFiniteInputTest {
    /** Three tensors of the step, slices of one theta and one gradient buffer. */
    static final int[] SIZES = {5, 13, 9};
    static final int N = 27;
    static final int STEPS = 2;
    static final float[] POISONS = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};

    final LstmConfig config = new LstmConfig(new int[] {3}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    Backend backend;
    CoordinatewiseLstm lstm;
    NativeBuffer phi;
    NativeBuffer theta;
    NativeBuffer grad;
    NativeBuffer state;
    UnrollRecord record;
    NativeBuffer dloss;
    NativeBuffer dstateFinal;
    NativeBuffer dphi;
    TensorList tensors;

    @BeforeEach
    void setUp() {
        backend = Backend.cpu(1);
        lstm = new CoordinatewiseLstm(config);
        SplittableRandom rnd = new SplittableRandom(3);
        phi = filled(lstm.phiSize(), rnd);
        theta = filled(N, rnd);
        grad = filled(N, rnd);
        state = filled((long) config.stateRows() * N, rnd);
        record = new UnrollRecord(backend, config, N, STEPS);
        record.buffer().write(random((long) STEPS * config.recordRows() * N, rnd));
        dloss = filled((long) STEPS * N, rnd);
        dstateFinal = filled((long) config.stateRows() * N, rnd);
        dphi = backend.allocateDoubles(lstm.phiSize());
        TensorList.Builder b = TensorList.builder();
        long offset = 0;
        for (int size : SIZES) {
            b.add(theta, offset, grad, offset, size);
            offset += size;
        }
        tensors = b.build();
    }

    @AfterEach
    void tearDown() {
        tensors.close();
        record.close();
        for (NativeBuffer buffer : new NativeBuffer[] {phi, theta, grad, state, dloss, dstateFinal, dphi}) {
            buffer.close();
        }
        lstm.close();
        backend.close();
    }

    private NativeBuffer filled(long length, SplittableRandom rnd) {
        NativeBuffer buffer = backend.allocateFloats(length);
        buffer.write(random(length, rnd));
        return buffer;
    }

    private static float[] random(long length, SplittableRandom rnd) {
        float[] values = new float[(int) length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rnd.nextDouble(-0.5, 0.5);
        }
        return values;
    }

    /** The C query: {input, tensor, index}, after checking its return value against input. */
    private static long[] lastNonFinite() {
        try (BytePointer found = new BytePointer(16)) {
            long address = found.address();
            int returned = L2l.l2l_last_non_finite(address, address + 4, address + 8);
            long[] result = {found.getInt(0), found.getInt(4), found.getLong(8)};
            assertEquals(result[0] != L2l.L2L_INPUT_NONE ? 1 : 0, returned);
            return result;
        }
    }

    private static void assertNothingFound() {
        assertArrayEquals(new long[] {L2l.L2L_INPUT_NONE, -1, -1}, lastNonFinite());
    }

    /** Poisons target[index], runs the call, and checks what the exception and the query report. */
    private static void assertFound(NativeBuffer target, long index, Input input, int tensor, long reported,
                                    String name, Runnable call) {
        float[] saved = target.toFloatArray();
        for (float poison : POISONS) {
            target.write(index, new float[] {poison}, 0, 1);
            NonFiniteInputException e = assertThrows(NonFiniteInputException.class, call::run);
            assertEquals(Status.NON_FINITE, e.status());
            assertEquals(input, e.input());
            assertEquals(tensor, e.tensor());
            assertEquals(reported, e.index());
            assertTrue(e.getMessage().contains(name + " holds a NaN or infinite value at index " + reported),
                    e.getMessage());
            assertArrayEquals(new long[] {input.code(), tensor, reported}, lastNonFinite());
            target.write(saved);
        }
    }

    private void step() {
        lstm.step(phi, tensors, state, null, 0, true);
    }

    private void backward() {
        lstm.backward(phi, record, STEPS, dloss, dstateFinal, dphi, null, null, true);
    }

    @Test
    void theStepReportsEachInput() {
        assertFound(phi, 17, Input.PHI, -1, 17, "phi", this::step);
        // grad[1] and theta[1] start at coordinate 5: the index is within the tensor
        assertFound(grad, 5 + 4, Input.GRAD, 1, 4, "grad[1]", this::step);
        assertFound(theta, 5 + 12, Input.THETA, 1, 12, "theta[1]", this::step);
        assertFound(theta, 18 + 8, Input.THETA, 2, 8, "theta[2]", this::step);
        assertFound(state, 4L * N + 3, Input.STATE, -1, 4L * N + 3, "state", this::step);
        step();
        assertNothingFound();
    }

    @Test
    void theCheckAloneReportsAsTheStepAndWritesNothing() {
        Runnable check = () -> lstm.check(phi, tensors, state);
        assertFound(grad, 18 + 3, Input.GRAD, 2, 3, "grad[2]", check);
        assertFound(state, 7, Input.STATE, -1, 7, "state", check);
        float[] thetaBefore = theta.toFloatArray();
        float[] stateBefore = state.toFloatArray();
        check.run();
        assertNothingFound();
        assertArrayEquals(thetaBefore, theta.toFloatArray(), "a check wrote theta");
        assertArrayEquals(stateBefore, state.toFloatArray(), "a check wrote the state");
        step();
        assertTrue(!java.util.Arrays.equals(thetaBefore, theta.toFloatArray()), "the step itself moved nothing");
    }

    @Test
    void theStepReportsTheFirstInCheckingOrder() {
        // theta[0] is checked before grad[2] and the state, and index 1 before index 3
        state.write(0, new float[] {Float.NaN}, 0, 1);
        grad.write(18 + 2, new float[] {Float.NaN}, 0, 1);
        theta.write(3, new float[] {Float.NaN}, 0, 1);
        theta.write(1, new float[] {Float.POSITIVE_INFINITY}, 0, 1);
        NonFiniteInputException e = assertThrows(NonFiniteInputException.class, this::step);
        assertEquals(Input.THETA, e.input());
        assertEquals(0, e.tensor());
        assertEquals(1, e.index());
    }

    @Test
    void theBackwardPassReportsEachInput() {
        assertFound(phi, 0, Input.PHI, -1, 0, "phi", this::backward);
        long recordIndex = (long) config.recordRows() * N + 2L * N + 11;
        assertFound(record.buffer(), recordIndex, Input.RECORD, -1, recordIndex, "record", this::backward);
        assertFound(dloss, N + 6, Input.DLOSS_DDELTA, -1, N + 6, "dloss_ddelta", this::backward);
        assertFound(dstateFinal, 5L * N + 26, Input.DSTATE_FINAL, -1, 5L * N + 26, "dstate_final", this::backward);
        backward();
        assertNothingFound();
    }

    @Test
    void everyStepAndBackwardCallClearsTheFinding() {
        phi.write(2, new float[] {Float.NaN}, 0, 1);
        assertThrows(NonFiniteInputException.class, this::step);
        assertEquals(L2l.L2L_INPUT_PHI, lastNonFinite()[0]);
        // a step rejected for another reason (no model)
        assertEquals(L2l.L2L_ERR_NULL_ARGUMENT,
                L2l.l2l_step(backend.ctx(), 0, phi.address(), 1, 0, 0, 0, 0, 0, 0, L2l.L2L_CHECK_FINITE));
        assertNothingFound();
        assertThrows(NonFiniteInputException.class, this::backward);
        assertEquals(L2l.L2L_INPUT_PHI, lastNonFinite()[0]);
        // a backward pass without the value check
        lstm.backward(phi, record, STEPS, dloss, dstateFinal, dphi, null, null, false);
        assertNothingFound();
        // other calls leave it as it is
        assertThrows(NonFiniteInputException.class, this::step);
        try (NativeBuffer other = backend.allocateFloats(3)) {
            other.write(new float[] {1, 2, 3});
        }
        assertEquals(L2l.L2L_INPUT_PHI, lastNonFinite()[0]);
    }

    @Test
    void inputCodesMatchTheCApi() {
        int[] codes = {L2l.L2L_INPUT_PHI, L2l.L2L_INPUT_GRAD, L2l.L2L_INPUT_THETA, L2l.L2L_INPUT_STATE,
            L2l.L2L_INPUT_RECORD, L2l.L2L_INPUT_DLOSS_DDELTA, L2l.L2L_INPUT_DSTATE_FINAL};
        assertEquals(codes.length, Input.values().length);
        for (int k = 0; k < codes.length; k++) {
            assertEquals(Input.values()[k], Input.of(codes[k]));
        }
        assertThrows(IllegalArgumentException.class, () -> Input.of(L2l.L2L_INPUT_NONE));
    }
}
