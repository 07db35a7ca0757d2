package org.l2l4j.meta;

import java.util.Arrays;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.CoordinatewiseLstm;
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
     * @param seeds the functions: {@code family.sample(seeds[j])}
     * @return losses[j][t] = f_j(theta_t), t = 0..steps, and each function's final parameters
     */
    public static Result run(Backend backend, CoordinatewiseLstm lstm, NativeBuffer phi, OptimizeeFamily family,
                             long[] seeds, int steps) {
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
            try (OptimizeeBatch batch = new OptimizeeBatch(backend, lstm, phi, family, count, 0, steps + 1)) {
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

    /** Mean over the functions of the loss at step {@code steps} (non-finite counts as +infinity). */
    public static double meanFinalLoss(Backend backend, CoordinatewiseLstm lstm, NativeBuffer phi,
                                       OptimizeeFamily family, long[] seeds, int steps) {
        double[][] losses = run(backend, lstm, phi, family, seeds, steps).losses();
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
