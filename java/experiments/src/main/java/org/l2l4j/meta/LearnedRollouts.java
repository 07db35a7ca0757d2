package org.l2l4j.meta;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.meta.MemoryEstimate.Memory;
import org.l2l4j.meta.MemoryEstimate.Part;
import org.l2l4j.optimizees.OptimizeeFamily;

/**
 * Runs the learned optimizer (forward only) on many optimizees at once: groups of up to
 * {@link #GROUP} functions share one native step per time step.  Each function's trajectory is
 * exactly what a lone run would give: the LSTM is coordinatewise and each optimizee keeps its
 * own minibatch stream.  A {@link org.l2l4j.optimizees.ResidentFamily} on the backend (a family
 * placed by {@link PlacedFamily}) is evaluated in place there, its losses read once per group.
 */
public final class LearnedRollouts {
    /** Functions per native call. */
    public static final int GROUP = 32;

    private LearnedRollouts() {
    }

    /**
     * Trajectories of {@code steps} steps.
     *
     * @param lstm  the learned optimizer's parameter groups and their phi, on {@code backend}
     * @param seeds the functions: {@code family.sample(seeds[j])}
     * @return losses[j][t] = f_j(theta_t), t = 0..steps, and each function's final parameters
     * @throws IllegalArgumentException if a tensor of the family matches no group's rule (a group
     *                                  that owns none of them does nothing)
     */
    public static Result run(Backend backend, GroupedLstm lstm, OptimizeeFamily family, long[] seeds, int steps) {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(seeds, "seeds");
        if (steps < 1 || seeds.length < 1) {
            throw new IllegalArgumentException("need >= 1 step and >= 1 function, got " + steps + " and "
                    + seeds.length);
        }
        double[][] losses = new double[seeds.length][steps + 1];
        float[][] finals = new float[seeds.length][];
        for (int first = 0; first < seeds.length; first += GROUP) {
            int count = Math.min(GROUP, seeds.length - first);
            try (OptimizeeBatch batch = new OptimizeeBatch(backend, lstm, family, count, 0, steps + 1)) {
                batch.start(Arrays.copyOfRange(seeds, first, first + count), 1.0);
                for (int t = 1; t <= steps; t++) {
                    batch.advance(-1, t);
                }
                double[][] f = batch.losses(steps + 1);
                for (int j = 0; j < count; j++) {
                    for (int t = 0; t <= steps; t++) {
                        losses[first + j][t] = f[t][j];
                    }
                    finals[first + j] = batch.parameters(j);
                }
            }
        }
        return new Result(losses, finals);
    }

    /**
     * The memory of {@link #run} for {@code functions} functions of {@code family} and
     * {@code steps} steps, the family evaluated in place: one group's parameters, gradients,
     * LSTM state (at most the largest state of the parameter groups per coordinate), evaluation
     * buffers and losses where the backend computes; every function's losses and final parameters
     * in the Java heap.
     *
     * @param functionsDriver the setting that gives the number of functions, for messages
     * @throws NullPointerException if config or family is null
     */
    public static List<Part> memory(ParameterGroups groups, OptimizeeFamily family, int functions, int steps,
                                    Driver functionsDriver) {
        int group = Math.min(GROUP, functions);
        long d = family.dimension();
        long onBackend = MemoryEstimate.sum(MemoryEstimate.size(4L * (2 + maxStateRows(groups)), group, d),
                family.residentBatchBytes(group), MemoryEstimate.size(8, group, steps + 1L));
        long results = MemoryEstimate.sum(MemoryEstimate.size(8, functions, steps + 1L),
                MemoryEstimate.size(4, functions, d));
        return List.of(
                Part.of("learned-optimizer runs, " + group + " at once", Memory.NATIVE, onBackend, functionsDriver,
                        Driver.OPTIMIZEE, Driver.OPTIMIZER, Driver.STEPS),
                Part.of("losses and final parameters of " + functions + " learned-optimizer runs", Memory.JAVA_HEAP,
                        results, functionsDriver, Driver.STEPS, Driver.OPTIMIZEE));
    }

    /** The largest hidden state per coordinate (floats) of the groups: a bound for memory estimates. */
    static int maxStateRows(ParameterGroups groups) {
        return groups.list().stream().mapToInt(g -> g.config().stateRows()).max().orElse(0);
    }

    /** Mean over the functions of the loss at step {@code steps} (non-finite counts as +infinity). */
    public static double meanFinalLoss(Backend backend, GroupedLstm lstm, OptimizeeFamily family, long[] seeds,
                                       int steps) {
        double[][] losses = run(backend, lstm, family, seeds, steps).losses();
        double sum = 0;
        for (double[] l : losses) {
            double last = l[steps];
            if (!Double.isFinite(last)) {
                return Double.POSITIVE_INFINITY;
            }
            sum += last;
        }
        return sum / losses.length;
    }

    /** Loss curves [function][step] and final parameters [function][coordinate]. */
    public record Result(double[][] losses, float[][] finalParameters) {
    }
}
