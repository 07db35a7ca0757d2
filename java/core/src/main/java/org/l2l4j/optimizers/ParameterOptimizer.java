package org.l2l4j.optimizers;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;

/**
 * An optimizer for a training loop, in the manner of {@code torch.optim}: the loop registers its
 * parameter tensors, each with the tensor its gradient is written to (PyTorch's {@code param}
 * and {@code param.grad}), then after each backward pass calls {@link #step()}, which updates
 * every registered parameter in place from its gradient:
 * theta_{t+1} = theta_t + g_t (Andrychowicz et al. 2016, eq. 1), with g_t given by the
 * optimizer's rule: a learned LSTM ({@link LstmOptimizer}, eq. 3), a learned NTM-BFGS optimizer
 * for small models ({@link NtmBfgsOptimizer}, appendix B) or a hand-designed rule
 * ({@link HandDesignedRule.Factory#parameterOptimizer()}).  Switching between them changes only
 * the line that creates the optimizer.
 *
 * <pre>{@code
 * try (ParameterOptimizer optimizer = HandDesignedRule.ADAM.factory(1e-2).parameterOptimizer()) {
 *     optimizer.register("fc1.weight", w1, dw1);    // float[], FloatBuffer or FloatPointer
 *     optimizer.register("fc1.bias", b1, db1);
 *     for (...) {
 *         computeGradients();                      // writes dw1, db1
 *         optimizer.step();                        // updates w1, b1 in place
 *     }
 *     optimizer.saveState(path);
 * }
 * }</pre>
 *
 * <p><b>Tensors.</b> A tensor is a flat float32 vector of at least one value: a {@code float[]}
 * (all of it), a {@link FloatBuffer} (its values from position to limit at registration; heap or
 * direct, any byte order) or a JavaCPP {@link FloatPointer} (its values from position to
 * limit).  Parameter and gradient have the same length; the parameter must be writable.
 * Registration rejects a tensor that shares memory with itself (parameter and gradient) or with
 * a registered tensor: arrays are compared by identity and index range, native memory by
 * address range.  A heap buffer must therefore expose its array ({@link FloatBuffer#hasArray()},
 * as a writable {@link FloatBuffer#wrap(float[])} does); read-only heap buffers and views of
 * heap {@link java.nio.ByteBuffer}s hide it and are rejected (read-only direct buffers are
 * accepted as gradients).  A pointer that JavaCPP allocated must have
 * {@code 0 <= position <= limit <= capacity}; for a pointer to foreign memory (capacity 0) the
 * caller guarantees that {@code [position, limit)} is allocated.  The
 * optimizer keeps them referenced and reads and writes them at every step; the caller must not
 * free a pointer or direct buffer while it is registered.  Every coordinate has its own
 * optimizer state (moments, or LSTM hidden state), laid out over the tensors in registration
 * order.  The layout is fixed by the first successful {@link #step()}, {@link #saveState} or
 * {@link #loadState}; registering afterwards is rejected.
 *
 * <p><b>Errors.</b> Arguments are checked before anything is written: nulls
 * ({@link NullPointerException}), lengths, duplicate names, tensors that share memory with a
 * registered one, read-only parameters and non-finite values ({@link IllegalArgumentException}),
 * calls in the wrong order or on a closed optimizer ({@link IllegalStateException}), and
 * concurrent calls ({@link java.util.ConcurrentModificationException}).  A rejected call leaves
 * the caller's tensors and the optimizer's state unchanged.
 *
 * <p><b>Threads.</b> Not thread-safe: one thread at a time may use an optimizer, though it may
 * move between threads (as in an executor) when the hand-over is ordered by the caller.  A call
 * that starts while another call on the same optimizer is running throws
 * {@link java.util.ConcurrentModificationException} and does nothing.  Use one optimizer per
 * training loop.
 *
 * <p><b>Lifetime.</b> {@link #close()} releases the optimizer's resources and is idempotent;
 * afterwards every other method throws {@link IllegalStateException}.
 */
public interface ParameterOptimizer extends AutoCloseable {

    /**
     * Registers a parameter tensor and its gradient, both {@code float[]} of one length.
     *
     * @param name a name unique within this optimizer (as PyTorch's {@code named_parameters()},
     *             e.g. {@code "fc1.weight"}); saved with the state
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the name is empty or taken, the lengths differ or are
     *                                  0, or an array is already registered (as either role)
     * @throws IllegalStateException    after the first step (the layout is fixed), or when closed
     */
    void register(String name, float[] parameter, float[] gradient);

    /**
     * Registers a parameter tensor and its gradient, each the remaining values
     * {@code [position, limit)} of a buffer at the time of the call (later changes of position
     * or limit are ignored).  Direct buffers in native byte order are updated in place by the
     * CPU kernels; other buffers are copied through native memory allocated once.
     *
     * @throws IllegalArgumentException also if {@code parameter} is read-only, a heap buffer
     *                                  does not expose its array (read-only, or a view of a heap
     *                                  ByteBuffer), or the values overlap those of a registered
     *                                  tensor or each other
     * @see #register(String, float[], float[])
     */
    void register(String name, FloatBuffer parameter, FloatBuffer gradient);

    /**
     * Registers a parameter tensor and its gradient in native host memory, each the values
     * {@code [position, limit)} of a JavaCPP pointer at the time of the call.  The pointers must
     * stay allocated while registered; a step after one was deallocated throws
     * {@link IllegalStateException}.
     *
     * @throws IllegalArgumentException also if a pointer is NULL, its position or limit lies
     *                                  outside {@code [0, capacity]} (when JavaCPP knows the
     *                                  capacity, {@code capacity() > 0}), or the values overlap
     *                                  those of a registered tensor or each other
     * @see #register(String, float[], float[])
     */
    void register(String name, FloatPointer parameter, FloatPointer gradient);

    /**
     * One optimizer step for every registered tensor: reads every gradient and updates every
     * parameter in place, theta_{t+1} = theta_t + g_t (paper eq. 1).
     *
     * @throws IllegalStateException    if no tensor is registered, a registered pointer was
     *                                  deallocated, or the optimizer is closed
     * @throws IllegalArgumentException if a gradient or parameter holds NaN or an infinite value
     *                                  (when the optimizer checks values; the message names the
     *                                  tensor and index); nothing was written
     */
    void step();

    /** Steps taken since creation (or as restored by {@link #loadState}). */
    long stepCount();

    /** The registered tensors' names, in registration order. */
    List<String> tensorNames();

    /** n, the number of coordinates: the registered tensors' total length. */
    long coordinates();

    /**
     * Writes the whole state (step count, every coordinate's state, the registered tensors'
     * names and sizes, and the optimizer's settings) to a safetensors file with SHA-256
     * digests ({@link org.l2l4j.optimizers.ParameterOptimizerState}), atomically.  The
     * parameters themselves are the caller's to save.
     *
     * @throws IllegalStateException if no tensor is registered, or when closed
     * @throws IOException           if writing fails
     */
    void saveState(Path file) throws IOException;

    /**
     * Replaces the state with one saved by {@link #saveState}, from an optimizer of the same
     * kind and settings with the same tensors registered in the same order; steps then continue
     * exactly as the saved optimizer's would have.
     *
     * @throws IllegalArgumentException if the file was saved by another kind of optimizer or
     *                                  with other settings or tensors (the message shows both);
     *                                  the state is then unchanged
     * @throws org.l2l4j.safetensors.CheckpointFormatException if the file is corrupt or not an
     *                                  optimizer state, or holds invalid values (NaN or infinite
     *                                  state, negative second moments, a step count above
     *                                  {@link org.l2l4j.optimizers.ParameterOptimizerState#MAX_STEPS});
     *                                  the message names the tensor and index
     * @throws IllegalStateException    if no tensor is registered, or when closed
     * @throws IOException              if reading fails
     */
    void loadState(Path file) throws IOException;

    /** Releases the optimizer's resources; idempotent. */
    @Override
    void close();
}
