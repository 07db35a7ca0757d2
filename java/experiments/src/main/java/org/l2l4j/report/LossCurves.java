package org.l2l4j.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * Loss curves of several optimizers evaluated on the same runs, and their statistics.
 *
 * <p>For each optimizer (in the order added) a matrix {@code losses[run][step]} of
 * {@code runs} rows and {@code steps + 1} columns: column 0 is the loss at the initial
 * parameters θ_0, column {@code t} the loss after {@code t} steps. All optimizers have the same
 * numbers of runs and steps, and row {@code r} of every optimizer is the same run (same function,
 * initial parameters and minibatch sequence), so that runs can be compared pairwise. Standard
 * errors are over runs; at least 2 runs are needed.
 *
 * <p>Instances are immutable; build one with {@link #builder()}.
 */
public final class LossCurves {

    private final Map<String, double[][]> losses;
    private final Map<String, Double> learningRates;
    private final int runs;
    private final int steps;

    private LossCurves(Builder b) {
        if (b.losses.isEmpty()) {
            throw new IllegalArgumentException("no optimizer was added");
        }
        this.losses = Collections.unmodifiableMap(new LinkedHashMap<>(b.losses));
        this.learningRates = Map.copyOf(b.learningRates);
        double[][] first = b.losses.values().iterator().next();
        this.runs = first.length;
        this.steps = first[0].length - 1;
    }

    /** A builder with no optimizers yet. */
    public static Builder builder() {
        return new Builder();
    }

    /** Collects each optimizer's losses; {@link #build()} makes the immutable curves. */
    public static final class Builder {
        private final Map<String, double[][]> losses = new LinkedHashMap<>();
        private final Map<String, Double> learningRates = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Adds an optimizer's losses.
         *
         * @param optimizer name, unique among those added
         * @param losses    {@code [runs][steps + 1]} finite losses; copied
         * @return this builder
         * @throws IllegalArgumentException if the name was added before, the matrix is ragged,
         *                                  has fewer than 2 runs or no step, differs in shape from
         *                                  the optimizers added before, or holds a non-finite
         *                                  value
         */
        public Builder add(String optimizer, double[][] losses) {
            Objects.requireNonNull(optimizer, "optimizer");
            Objects.requireNonNull(losses, "losses");
            if (this.losses.containsKey(optimizer)) {
                throw new IllegalArgumentException("optimizer '" + optimizer + "' added twice");
            }
            if (losses.length < 2) {
                throw new IllegalArgumentException("optimizer '" + optimizer + "' has "
                        + losses.length + " runs; standard errors need at least 2");
            }
            double[][] copy = new double[losses.length][];
            for (int r = 0; r < losses.length; r++) {
                Objects.requireNonNull(losses[r], "losses of '" + optimizer + "' run " + r);
                copy[r] = losses[r].clone();
                if (copy[r].length != copy[0].length) {
                    throw new IllegalArgumentException("optimizer '" + optimizer + "': run " + r
                            + " has " + copy[r].length + " losses, run 0 has " + copy[0].length);
                }
                for (int t = 0; t < copy[r].length; t++) {
                    if (!Double.isFinite(copy[r][t])) {
                        throw new IllegalArgumentException("optimizer '" + optimizer + "': loss "
                                + "of run " + r + " at step " + t + " is " + copy[r][t]);
                    }
                }
            }
            if (copy[0].length < 2) {
                throw new IllegalArgumentException("optimizer '" + optimizer + "' has "
                        + copy[0].length + " losses per run; at least 2 (steps 0 and 1) needed");
            }
            if (!this.losses.isEmpty()) {
                double[][] first = this.losses.values().iterator().next();
                if (first.length != copy.length || first[0].length != copy[0].length) {
                    throw new IllegalArgumentException("optimizer '" + optimizer + "' has "
                            + copy.length + " runs x " + copy[0].length + " losses, but the first "
                            + "optimizer has " + first.length + " x " + first[0].length);
                }
            }
            this.losses.put(optimizer, copy);
            return this;
        }

        /**
         * Adds an optimizer's losses together with its (tuned) learning rate, which the summary
         * shows beside its name.
         *
         * @param learningRate positive and finite
         * @see #add(String, double[][])
         */
        public Builder add(String optimizer, double[][] losses, double learningRate) {
            if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
                throw new IllegalArgumentException("learning rate of '" + optimizer
                        + "' must be positive and finite, got " + learningRate);
            }
            add(optimizer, losses);
            learningRates.put(optimizer, learningRate);
            return this;
        }

        /**
         * The curves of the optimizers added so far.
         *
         * @throws IllegalArgumentException if none was added
         */
        public LossCurves build() {
            return new LossCurves(this);
        }
    }

    /** Optimizer names, in the order added. */
    public List<String> optimizers() {
        return List.copyOf(losses.keySet());
    }

    /** Number of runs per optimizer (at least 2). */
    public int runs() {
        return runs;
    }

    /** Number of steps (at least 1); each run has {@code steps + 1} losses. */
    public int steps() {
        return steps;
    }

    /** The learning rate given for this optimizer, if any. */
    public OptionalDouble learningRate(String optimizer) {
        matrix(optimizer);
        Double lr = learningRates.get(optimizer);
        return lr == null ? OptionalDouble.empty() : OptionalDouble.of(lr);
    }

    /** A copy of the optimizer's {@code [runs][steps + 1]} losses. */
    public double[][] losses(String optimizer) {
        double[][] m = matrix(optimizer);
        double[][] copy = new double[m.length][];
        for (int r = 0; r < m.length; r++) {
            copy[r] = m[r].clone();
        }
        return copy;
    }

    /**
     * Mean and standard error over runs of the loss at each step.
     *
     * @return {@code steps + 1} estimates, index = step
     */
    public List<Estimate> curve(String optimizer) {
        double[][] m = matrix(optimizer);
        List<Estimate> curve = new ArrayList<>(steps + 1);
        for (int t = 0; t <= steps; t++) {
            int step = t;
            curve.add(Estimate.of(perRun(m, row -> row[step])));
        }
        return curve;
    }

    /** Each run's loss after the last step, index = run. */
    public double[] finalLosses(String optimizer) {
        return perRun(matrix(optimizer), row -> row[steps]);
    }

    /**
     * Each run's sum of losses over steps 1..{@code steps} (the meta-loss with unit weights;
     * the loss at θ_0 is left out, as in the meta-loss), index = run.
     */
    public double[] lossSums(String optimizer) {
        return perRun(matrix(optimizer), row -> {
            double sum = 0;
            for (int t = 1; t <= steps; t++) {
                sum += row[t];
            }
            return sum;
        });
    }

    /** Mean and standard error over runs of the loss after the last step. */
    public Estimate finalLoss(String optimizer) {
        return Estimate.of(finalLosses(optimizer));
    }

    /** Mean and standard error over runs of the sum of losses over steps 1..{@code steps}. */
    public Estimate lossSum(String optimizer) {
        return Estimate.of(lossSums(optimizer));
    }

    /**
     * Paired comparison of final losses: mean and standard error of
     * {@code finalLoss(a) - finalLoss(b)} over runs.
     *
     * @throws IllegalArgumentException if either name is unknown or both are the same
     */
    public PairedComparison compareFinal(String a, String b) {
        if (Objects.equals(a, b)) {
            throw new IllegalArgumentException("cannot compare '" + a + "' with itself");
        }
        double[] la = finalLosses(a);
        double[] lb = finalLosses(b);
        double[] diff = new double[runs];
        for (int r = 0; r < runs; r++) {
            diff[r] = la[r] - lb[r];
        }
        return new PairedComparison(a, b, Estimate.of(diff));
    }

    /**
     * The optimizer with the lowest value of a statistic (the first one on ties), for example
     * {@code best(curves::finalLoss)}.
     */
    public String best(Function<String, Estimate> statistic) {
        String best = null;
        double lowest = Double.POSITIVE_INFINITY;
        for (String name : losses.keySet()) {
            double mean = statistic.apply(name).mean();
            if (best == null || mean < lowest) {
                best = name;
                lowest = mean;
            }
        }
        return best;
    }

    private double[][] matrix(String optimizer) {
        double[][] m = losses.get(optimizer);
        if (m == null) {
            throw new IllegalArgumentException("unknown optimizer '" + optimizer + "'; known: "
                    + losses.keySet());
        }
        return m;
    }

    private static double[] perRun(double[][] m, ToDoubleFunction<double[]> f) {
        double[] out = new double[m.length];
        for (int r = 0; r < m.length; r++) {
            out[r] = f.applyAsDouble(m[r]);
        }
        return out;
    }
}
