package org.l2l4j.data;

/**
 * The three MNIST splits: meta-training draws from {@link #TRAIN}, early stopping and the
 * baselines' learning-rate tuning from {@link #VALIDATION}, final comparisons from {@link #TEST}
 * (data meta-training never saw).  With the original files:
 * {@link #TRAIN} is train[0:50000], {@link #VALIDATION} is train[50000:60000], {@link #TEST} is
 * t10k[0:10000].
 */
public enum MnistSplit {
    /** Meta-training data: the training file without its last {@value MnistData#VALIDATION_SIZE} examples. */
    TRAIN,
    /**
     * Validation data (early stopping, learning-rate tuning of the baselines): the last
     * {@value MnistData#VALIDATION_SIZE} examples of the training file.
     */
    VALIDATION,
    /** Final evaluation data, never seen in meta-training: the whole t10k file. */
    TEST
}
