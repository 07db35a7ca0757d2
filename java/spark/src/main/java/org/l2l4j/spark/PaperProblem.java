package org.l2l4j.spark;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.l2l4j.data.Cifar10Data;
import org.l2l4j.data.MnistData;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;

/**
 * One of the paper's problems with its data read from a folder that every executor sees at the
 * same path (a shared file system mounted on every node, or a folder copied to each): MNIST from
 * the IDX files of {@code fetch-data} (MNIST's MLP of the paper, section 3.2), CIFAR-10 from its
 * binary batches (the paper's convolutional network, section 3.3, on {@code labels}), quadratics
 * without data.
 *
 * <p>A JVM keeps the last problem it loaded, so that an executor reads the data once for all the
 * tasks of a run; the families are thread-safe, shared by concurrent tasks.
 *
 * @param problem the problem
 * @param data    the data folder (MNIST's IDX files, or {@code cifar-10-batches-bin}); null for
 *                quadratics
 * @param labels  the CIFAR-10 labels to train on, null for the problem's own
 */
public record PaperProblem(Problem problem, String data, List<Integer> labels) implements ProblemSource {

    public PaperProblem {
        Objects.requireNonNull(problem, "problem");
        if (problem != Problem.QUADRATIC && data == null) {
            throw new IllegalArgumentException("problem " + problem + " needs a data folder that every executor can read");
        }
        labels = labels == null ? null : List.copyOf(labels);
    }

    /** Guards the last problem loaded in this JVM. */
    private static final Object LOCK = new Object();
    private static PaperProblem lastLoaded;
    private static ProblemSetup last;

    @Override
    public ProblemSetup load() throws IOException {
        synchronized (LOCK) {
            if (!equals(lastLoaded)) {
                last = read();
                lastLoaded = this;
            }
            return last;
        }
    }

    private ProblemSetup read() throws IOException {
        return switch (problem) {
            case QUADRATIC -> ProblemSetup.quadratic();
            case MNIST -> ProblemSetup.mnist(MnistData.loadUnverified(Path.of(data)), MlpSpec.paper());
            case CIFAR10, CIFAR5, CIFAR2 -> ProblemSetup.cifar(problem, Cifar10Data.load(Path.of(data)),
                    ConvNetSpec.paper(), labels != null ? labels.stream().mapToInt(Integer::intValue).toArray() : problem.labels());
        };
    }
}
