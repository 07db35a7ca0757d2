package org.l2l4j.backend;

/**
 * The native value check (the {@code checkFinite} option of the step and the backward pass)
 * found a NaN or an infinity in an input, before anything was written: which input, which
 * tensor of it, and the offending element's index (the first one, in the order the inputs are
 * checked; l2l.h, {@code l2l_last_non_finite}).  Its status is {@link Status#NON_FINITE}.
 */
public final class NonFiniteInputException extends L2lException {
    private static final long serialVersionUID = 1L;

    /** The inputs the value check examines ({@code l2l_input} in native/include/l2l.h). */
    public enum Input {
        /** phi. */
        PHI(1),
        /** The gradient of one tensor of the step. */
        GRAD(2),
        /** The parameters of one tensor of the step. */
        THETA(3),
        /** The state [S][n] of the step. */
        STATE(4),
        /** The unroll record [steps][R][n] of the backward pass. */
        RECORD(5),
        /** dL/d delta [steps][n] of the backward pass. */
        DLOSS_DDELTA(6),
        /** dL/d(state after the last step) [S][n] of the backward pass. */
        DSTATE_FINAL(7);

        private final int code;

        Input(int code) {
            this.code = code;
        }

        /** The C value. */
        public int code() {
            return code;
        }

        /** The input with C value {@code code}; @throws IllegalArgumentException if none has it. */
        public static Input of(int code) {
            for (Input input : values()) {
                if (input.code == code) {
                    return input;
                }
            }
            throw new IllegalArgumentException("no input has the code " + code);
        }
    }

    private final Input input;
    private final int tensor;
    private final long index;

    /**
     * @param message the native library's message
     * @param input   the input holding the value
     * @param tensor  the tensor's position in the step's tensor list for {@link Input#GRAD} and
     *                {@link Input#THETA}, else -1
     * @param index   the element's offset in that input (within the tensor for GRAD and THETA)
     */
    public NonFiniteInputException(String message, Input input, int tensor, long index) {
        super(Status.NON_FINITE, message);
        this.input = input;
        this.tensor = tensor;
        this.index = index;
    }

    /** The input holding the NaN or infinity. */
    public Input input() {
        return input;
    }

    /** The tensor's position in the step's tensor list for GRAD and THETA, else -1. */
    public int tensor() {
        return tensor;
    }

    /** The element's offset in the input, in its layout (within the tensor for GRAD and THETA). */
    public long index() {
        return index;
    }
}
