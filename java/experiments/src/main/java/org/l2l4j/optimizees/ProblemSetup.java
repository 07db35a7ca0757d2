package org.l2l4j.optimizees;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.Dataset;
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
 * @param labels      the CIFAR-10 labels the data are restricted to, for a CIFAR problem; null
 *                    otherwise
 */
public record ProblemSetup(Problem problem, String title, OptimizeeFamily training, OptimizeeFamily validation,
                           OptimizeeFamily test, String data, int[] labels) {

    /** The metadata key of the labels an optimizer was trained on, when they are not its problem's. */
    public static final String LABELS_KEY = "labels";

    public ProblemSetup {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(title, "title");
    }

    /** A setup without a data set. */
    public ProblemSetup(Problem problem, String title, OptimizeeFamily training, OptimizeeFamily validation,
                        OptimizeeFamily test) {
        this(problem, title, training, validation, test, null, null);
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
                test, data.source().description(), null);
    }

    /**
     * Convolutional networks of {@code spec} on the three splits of {@code data} (batches 1-4,
     * batch 5, test_batch) restricted to {@code labels} ({@link Dataset#withLabels}: the
     * network has one output per label), titled "CIFAR-10", the labels when they are a subset, and
     * the network.
     *
     * @param problem a CIFAR problem ({@link Problem#isCifar()}), for reports and checkpoints
     * @param labels  the labels, at least 2, distinct, in [0, 10)
     * @throws IllegalArgumentException if the problem is not a CIFAR problem or the labels are
     *                                  invalid
     */
    public static ProblemSetup cifar(Problem problem, Cifar10Data data, ConvNetSpec spec, int[] labels) {
        if (!problem.isCifar()) {
            throw new IllegalArgumentException(problem.key() + " is not a CIFAR problem");
        }
        boolean all = Arrays.equals(labels, Problem.CIFAR10.labels());
        ConvNetFamily test = new ConvNetFamily(subset(data.split(Split.TEST), labels, all), spec);
        String title = "CIFAR-10 " + (all ? "" : "labels " + labelList(labels) + " ") + test.name();
        return new ProblemSetup(problem, title, new ConvNetFamily(subset(data.split(Split.TRAIN), labels, all), spec),
                new ConvNetFamily(subset(data.split(Split.VALIDATION), labels, all), spec), test,
                data.source().description(), labels.clone());
    }

    private static Dataset subset(Dataset split, int[] labels, boolean all) {
        return all ? split : split.withLabels(labels);
    }

    /** "5,6,7,8,9": labels as the {@code labels} metadata entry and the --labels option write them. */
    public static String labelList(int[] labels) {
        return Arrays.stream(labels).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** The name of the training family (checkpoint metadata). */
    public String optimizee() {
        return training.name();
    }

    /**
     * What a checkpoint of an optimizer trained on this setup records of it: {@code problem}
     * ({@link Problem#key()}), {@code optimizee} ({@link #optimizee()}) and, for MLPs, the
     * architecture ({@link MlpSpec#metadata()}), from which an evaluation rebuilds the optimizee, and
     * for CIFAR {@value #LABELS_KEY} when the labels are not the problem's own (LSTM-sub).
     */
    public Map<String, String> checkpointMetadata() {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("problem", problem.key());
        metadata.put("optimizee", optimizee());
        if (training instanceof MlpFamily mlp) {
            metadata.putAll(mlp.spec().metadata());
        }
        if (labels != null && !Arrays.equals(labels, problem.labels())) {
            metadata.put(LABELS_KEY, labelList(labels));
        }
        return metadata;
    }
}
