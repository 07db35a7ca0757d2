package org.l2l4j.lstm;

import java.util.Objects;
import org.l2l4j.backend.NativeBuffer;

/**
 * The learned optimizer applied to a fixed set of tensors, step after step (Andrychowicz et al.
 * 2016, eq. 1 and 3): it holds every coordinate's hidden state and advances it, with every
 * parameter, by one fused native call per step,
 *
 * <pre>
 *     theta_{t+1} = theta_t + g_t,      [g_t, h_{t+1}] = m(grad f(theta_t), h_t; phi)
 * </pre>
 *
 * <p>This is the one path by which the library steps the coordinatewise LSTM, one per parameter
 * group ({@link GroupedStepper}): the training-loop optimizer
 * ({@code org.l2l4j.optimizers.LstmOptimizer}) steps the tensors a training loop registered,
 * evaluation steps the parameters of many optimizees at once, and meta-training makes the same
 * call with the backward record switched on ({@link #step(UnrollRecord, int)}).
 *
 * <p>The hidden state is float32 [S x n] on the tensors' backend (S = {@link LstmConfig#stateRows()},
 * n = {@link TensorList#coordinates()}; the l2l.h layout: row r, coordinate i at r n + i), zero at
 * creation and after {@link #resetState()}; null when the optimizer has no LSTM layers.  phi is
 * read at every step, so writing new values into its buffer (as meta-training does after each
 * meta-update) takes effect at the next step.
 *
 * <p>The stepper owns only its state: the model, phi and the tensor list stay the caller's and must
 * stay open while it is used.  Not thread-safe.
 */
public final class LstmStepper implements AutoCloseable {
    private final CoordinatewiseLstm lstm;
    private final NativeBuffer phi;
    private final TensorList tensors;
    private final NativeBuffer state;

    /**
     * A stepper of {@code tensors} with a zero hidden state allocated on their backend.
     *
     * @param lstm    the optimizer's architecture (native description)
     * @param phi     float32 [phiSize], on the tensors' backend or one whose memory it can read
     * @param tensors the parameters and gradients it steps
     * @throws NullPointerException          if an argument is null
     * @throws IllegalStateException         if an argument is closed
     * @throws org.l2l4j.backend.L2lException OUT_OF_MEMORY if the state cannot be allocated
     */
    public LstmStepper(CoordinatewiseLstm lstm, NativeBuffer phi, TensorList tensors) {
        this.lstm = Objects.requireNonNull(lstm, "lstm");
        this.phi = Objects.requireNonNull(phi, "phi");
        this.tensors = Objects.requireNonNull(tensors, "tensors");
        tensors.requireOpen();
        int rows = lstm.config().stateRows();
        this.state = rows > 0 ? tensors.backend().allocateFloats(rows * tensors.coordinates()) : null;
    }

    /**
     * One step of every coordinate: each parameter updated in place from its gradient, the hidden
     * state advanced.
     *
     * @param checkFinite reject NaN and infinite values in phi, the gradients, the parameters and
     *                    the state before anything is written
     * @throws org.l2l4j.backend.NonFiniteInputException with {@code checkFinite}, naming the input,
     *                                  tensor and index; nothing was written
     * @throws IllegalStateException    if this stepper, phi or a tensor is closed
     * @throws org.l2l4j.backend.L2lException CUDA, for a failed kernel
     */
    public void step(boolean checkFinite) {
        lstm.step(phi, tensors, state, null, 0, checkFinite);
    }

    /**
     * The value check of {@link #step(boolean)} alone: nothing is written.
     *
     * @throws org.l2l4j.backend.NonFiniteInputException naming the input, tensor and index
     * @throws IllegalStateException    if this stepper, phi or a tensor is closed
     */
    public void check() {
        lstm.check(phi, tensors, state);
    }

    /**
     * One step, as {@link #step(boolean)} without the value check, that also writes into slot
     * {@code slot} of {@code record} what the backward pass needs (the gradient input and the
     * state before the step): meta-training's step.
     *
     * @throws IllegalArgumentException  if the record was made for another configuration, coordinate
     *                                   count or backend
     * @throws IndexOutOfBoundsException if slot is outside [0, record.steps())
     */
    public void step(UnrollRecord record, int slot) {
        lstm.step(phi, tensors, state, Objects.requireNonNull(record, "record"), slot, false);
    }

    /** Zeroes every coordinate's hidden state: the start of a new trajectory. */
    public void resetState() {
        if (state != null) {
            state.zero();
        }
    }

    /** The hidden state, float32 [S x n] (for saving and restoring it); null when S = 0. */
    public NativeBuffer state() {
        return state;
    }

    /** The tensors it steps. */
    public TensorList tensors() {
        return tensors;
    }

    /** Frees the hidden state; idempotent. */
    @Override
    public void close() {
        if (state != null) {
            state.close();
        }
    }
}
