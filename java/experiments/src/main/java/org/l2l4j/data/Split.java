package org.l2l4j.data;

/**
 * The three splits of a data set: meta-training draws from {@link #TRAIN}, early stopping and the
 * baselines' learning-rate tuning from {@link #VALIDATION}, final comparisons from {@link #TEST}
 * (data meta-training never saw).
 *
 * <table>
 *   <caption>The examples of each split</caption>
 *   <tr><th></th><th>MNIST ({@link MnistData})</th><th>CIFAR-10 ({@link Cifar10Data})</th></tr>
 *   <tr><td>{@link #TRAIN}</td><td>train[0:50000]</td><td>data_batch_1 to data_batch_4</td></tr>
 *   <tr><td>{@link #VALIDATION}</td><td>train[50000:60000]</td><td>data_batch_5</td></tr>
 *   <tr><td>{@link #TEST}</td><td>t10k</td><td>test_batch</td></tr>
 * </table>
 */
public enum Split {
    /** Meta-training data. */
    TRAIN,
    /** Validation data: early stopping, learning-rate tuning of the baselines. */
    VALIDATION,
    /** Final evaluation data, never seen in meta-training. */
    TEST
}
