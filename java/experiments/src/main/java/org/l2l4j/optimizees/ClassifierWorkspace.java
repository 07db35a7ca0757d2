package org.l2l4j.optimizees;

/**
 * Work buffers and passes of one classifier network for minibatches of up to a fixed size
 * ({@link MlpWorkspace}, {@link ConvNetWorkspace}): load theta, gather examples, forward, backward.
 * One evaluation at a time.
 */
interface ClassifierWorkspace {

    /** Copies theta (length n) into the workspace. */
    void loadParameters(float[] theta);

    /** Gathers examples {@code examples[0..count)} of a data set as the minibatch. */
    void gather(float[] images, int[] labels, int[] examples, int count);

    /**
     * Forward pass over the first {@code m} gathered examples with the loaded parameters.
     *
     * @return the sum over the m examples of the cross-entropy (not the mean)
     */
    double forward(int m);

    /** Number of correct argmax predictions of the last {@link #forward}. */
    int correct();

    /** After {@link #forward}{@code (m)}: df/dtheta of the mean loss into {@code gradient}. */
    void backward(int m, float[] gradient);
}
