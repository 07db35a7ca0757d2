package org.l2l4j.optimizees;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.MnistData;
import org.l2l4j.data.Split;

/**
 * The optimizee families of one problem, kept apart so that no function serves two purposes:
 * meta-training draws from {@code training}; early stopping and the baselines' learning-rate
 * tuning from {@code validation}; final comparisons from {@code test}.  Random streams are
 * kept apart by their seed kinds ({@link org.l2l4j.meta.Seeds}).
 *
 * @param problem     the problem
 * @param title       a human-readable description, for reports
 * @param training    meta-training functions (MNIST: train[0:50000])
 * @param validation  validation and tuning functions (MNIST: train[50000:60000])
 * @param test        held-out evaluation functions (MNIST: t10k)
 * @param data        where the functions' data set came from, for reports
 *                    ({@link MnistData.Source#description()}); null for a problem without one
 */
public record ProblemSetup(Problem problem, String title, OptimizeeFamily training, OptimizeeFamily validation,
                           OptimizeeFamily test, String data) {

    public ProblemSetup {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(title, "title");
    }

    /** A setup without a data set. */
    public ProblemSetup(Problem problem, String title, OptimizeeFamily training, OptimizeeFamily validation,
                        OptimizeeFamily test) {
        this(problem, title, training, validation, test, null);
    }

    /** The paper's quadratics (10x10 Gaussian W and y): one family, apart by seed kind. */
    public static ProblemSetup quadratic() {
        QuadraticFamily f = new QuadraticFamily();
        return new ProblemSetup(Problem.QUADRATIC, f.name(), f, f, f);
    }

    /**
     * MLPs of {@code spec} on the three splits of {@code data}, titled by the data's source:
     * "MNIST ..." only for verified MNIST.
     */
    public static ProblemSetup mnist(MnistData data, MlpSpec spec) {
        MlpFamily test = new MlpFamily(data.split(Split.TEST), spec);
        return new ProblemSetup(Problem.MNIST, data.source().title() + " " + test.name(),
                new MlpFamily(data.split(Split.TRAIN), spec), new MlpFamily(data.split(Split.VALIDATION), spec),
                test, data.source().description());
    }

    /**
     * Convolutional networks of {@code spec} on the three splits of {@code data} (batches 1-4,
     * batch 5, test_batch), titled "CIFAR-10" and the network.
     */
    public static ProblemSetup cifar10(Cifar10Data data, ConvNetSpec spec) {
        ConvNetFamily test = new ConvNetFamily(data.split(Split.TEST), spec);
        return new ProblemSetup(Problem.CIFAR10, "CIFAR-10 " + test.name(),
                new ConvNetFamily(data.split(Split.TRAIN), spec), new ConvNetFamily(data.split(Split.VALIDATION), spec),
                test, data.source().description());
    }

    /** The name of the training family (checkpoint metadata). */
    public String optimizee() {
        return training.name();
    }

    /**
     * What a checkpoint of an optimizer trained on this setup records of it: {@code problem}
     * ({@link Problem#key()}), {@code optimizee} ({@link #optimizee()}) and, for MLPs, the
     * architecture ({@link MlpSpec#metadata()}), from which an evaluation rebuilds the optimizee.
     */
    public Map<String, String> checkpointMetadata() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("problem", problem.key());
        metadata.put("optimizee", optimizee());
        if (training instanceof MlpFamily mlp) {
            metadata.putAll(mlp.spec().metadata());
        }
        return metadata;
    }
}
