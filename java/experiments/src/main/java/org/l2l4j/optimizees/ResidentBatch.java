package org.l2l4j.optimizees;

import org.l2l4j.backend.NativeBuffer;

/**
 * B optimizees of a {@link ResidentFamily} evaluated together on its backend's buffers: the
 * parameters of instance b are elements [b d, (b + 1) d) of one float32 buffer (d = the
 * family's dimension), their gradients likewise, and the losses go to a float64 buffer, so that
 * nothing is copied to the host per evaluation.  On a CUDA backend the work is queued on the
 * backend's stream: results are ready for the next native call on that backend and visible to
 * the host after a read or {@link org.l2l4j.backend.Backend#synchronize()}.
 *
 * <p>Not thread-safe (the minibatch streams).  {@link #close()} frees its native buffers.
 */
public interface ResidentBatch extends AutoCloseable {

    /** B. */
    int instances();

    /** d, the dimension of each instance. */
    int dimension();

    /**
     * Starts B trajectories: instance b becomes the optimizee of {@code seeds[b]} (as
     * {@link ResidentFamily#sample(long)} gives it) and its theta_0 is written to {@code theta}.
     *
     * @param seeds B seeds
     * @param theta float32 [B d] on the backend
     */
    void start(long[] seeds, NativeBuffer theta);

    /**
     * Evaluates every instance at {@code theta} on its next minibatch (advancing its stream):
     * writes {@code gradientScale} times the gradient of f_b into {@code gradient} and f_b into
     * {@code losses[lossOffset + b]}.
     *
     * @param theta         float32 [B d]; not modified
     * @param gradient      float32 [B d], overwritten
     * @param gradientScale finite factor on the gradients (1, or 1/B for the reference code's
     *                      mean-gradient input)
     * @param losses        float64, elements [lossOffset, lossOffset + B) overwritten
     */
    void evaluate(NativeBuffer theta, NativeBuffer gradient, double gradientScale, NativeBuffer losses,
                  long lossOffset);

    @Override
    void close();
}
