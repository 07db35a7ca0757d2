package org.l2l4j.meta;

import java.util.Arrays;
import java.util.Objects;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsConfig;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;

/**
 * Runs an NTM-BFGS optimizer (forward only) on many optimizees, {@link LearnedRollouts#GROUP} at
 * a time as the instances of one {@link NtmBfgs}: each function's trajectory is what a lone run
 * would give, since the instances share phi but no state.  theta is float32, as the optimizees
 * take it; the optimizer computes in float64.  A function whose loss or gradient stops being
 * finite keeps that evaluation's loss and NaN after it (the others run on).
 */
public final class NtmBfgsRollouts {

    private NtmBfgsRollouts() {
    }

    /**
     * Trajectories of {@code steps} steps.
     *
     * @param phi   the optimizer's phi, [config.phiSize()]
     * @param seeds the functions: {@code family.sample(seeds[j])}
     * @return losses[j][t] = f_j(theta_t), t = 0..steps, and each function's final parameters
     * @throws IllegalArgumentException if steps or the seed count is below 1, or the family's
     *                                  dimension exceeds {@link NtmBfgsConfig#MAX_DIMENSION}
     */
    public static LearnedRollouts.Result run(NtmBfgsConfig config, double[] phi, OptimizeeFamily family, long[] seeds,
                                             int steps) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(phi, "phi");
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(seeds, "seeds");
        if (steps < 1 || seeds.length < 1) {
            throw new IllegalArgumentException("need >= 1 step and >= 1 function, got " + steps + " and "
                    + seeds.length);
        }
        int d = family.dimension();
        NtmBfgs.requireDimension(d);
        double[][] losses = new double[seeds.length][steps + 1];
        float[][] finals = new float[seeds.length][];
        for (int first = 0; first < seeds.length; first += LearnedRollouts.GROUP) {
            int count = Math.min(LearnedRollouts.GROUP, seeds.length - first);
            NtmBfgs model = new NtmBfgs(config, count, d, 0);
            model.write(phi);
            Batch batch = new Batch(family, Arrays.copyOfRange(seeds, first, first + count));
            double[] delta = new double[count * d];
            for (int j = 0; j < count; j++) {
                losses[first + j][0] = batch.loss[j];
            }
            for (int t = 1; t <= steps; t++) {
                model.step(batch.gradient, delta);
                batch.advance(delta);
                for (int j = 0; j < count; j++) {
                    losses[first + j][t] = batch.loss[j];
                }
            }
            for (int j = 0; j < count; j++) {
                finals[first + j] = batch.theta[j].clone();
            }
        }
        return new LearnedRollouts.Result(losses, finals);
    }

    /** The mean over {@code seeds} of the loss at step {@code steps} (+infinity if one is not finite). */
    public static double meanFinalLoss(NtmBfgsConfig config, double[] phi, OptimizeeFamily family, long[] seeds,
                                       int steps) {
        double sum = 0;
        for (double[] l : run(config, phi, family, seeds, steps).losses()) {
            if (!Double.isFinite(l[steps])) {
                return Double.POSITIVE_INFINITY;
            }
            sum += l[steps];
        }
        return sum / seeds.length;
    }

    /**
     * B optimizees on the host: their parameters, their latest losses and their gradients as the
     * optimizer reads them (instance-major, float64; zero for a diverged instance, whose loss is
     * then NaN).
     */
    static final class Batch {
        final Optimizee[] optimizees;
        final float[][] theta;
        final double[] loss;
        final double[] gradient;
        private final boolean[] diverged;
        private final float[] scratch;
        private final int d;

        /** Samples the functions and evaluates them at theta_0. */
        Batch(OptimizeeFamily family, long[] seeds) {
            d = family.dimension();
            optimizees = new Optimizee[seeds.length];
            theta = new float[seeds.length][d];
            loss = new double[seeds.length];
            gradient = new double[seeds.length * d];
            diverged = new boolean[seeds.length];
            scratch = new float[d];
            for (int b = 0; b < seeds.length; b++) {
                optimizees[b] = family.sample(seeds[b]);
                optimizees[b].initialParameters(theta[b]);
                evaluate(b);
            }
        }

        /** theta_b += Delta_b for every instance, then evaluates them. */
        void advance(double[] delta) {
            for (int b = 0; b < theta.length; b++) {
                if (diverged[b]) {
                    loss[b] = Double.NaN;
                    continue;
                }
                for (int k = 0; k < d; k++) {
                    theta[b][k] += (float) delta[b * d + k];
                }
                evaluate(b);
            }
        }

        /** Whether some instance has diverged. */
        boolean anyDiverged() {
            for (boolean v : diverged) {
                if (v) {
                    return true;
                }
            }
            return false;
        }

        private void evaluate(int b) {
            loss[b] = optimizees[b].lossAndGradient(theta[b], scratch);
            boolean finite = Double.isFinite(loss[b]);
            for (int k = 0; k < d; k++) {
                finite &= Float.isFinite(scratch[k]);
            }
            diverged[b] = !finite;
            for (int k = 0; k < d; k++) {
                gradient[b * d + k] = finite ? scratch[k] : 0;
            }
        }
    }
}
