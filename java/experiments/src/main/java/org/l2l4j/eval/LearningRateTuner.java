package org.l2l4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleFunction;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.ParameterOptimizer;

/**
 * Tunes the learning rate of an optimizer by validation, as the paper does for its baselines (section 3): a log
 * grid in half-decades, lr = 10^(k/2) (1, 0.316, 0.1, ..., 1e-5 by default), scored by the mean
 * over validation functions of the final loss f(theta_K) of a K-step {@link Trajectory}; a
 * non-finite final loss counts as +infinity.  If the best learning rate is at an edge of the
 * evaluated grid, the grid is extended past that edge one half-decade at a time until the best
 * is interior or the cap (1e-9 .. 1e3 by default) is reached.
 *
 * <p>Ties in the mean go to the smaller learning rate, so a grid where every rate diverges
 * extends downwards.  Each (lr, seed) run is independent: it samples its own optimizee from the
 * seed and makes a fresh optimizer, so results are identical whatever the number of threads,
 * provided the family's {@code sample} is thread-safe and deterministic by seed (the library's
 * families are).
 *
 * <p>Immutable and thread-safe; each {@code tune} call runs its own pool of threads.
 */
public final class LearningRateTuner {

    /** Largest learning rate of the default grid. */
    public static final double DEFAULT_LARGEST = 1;
    /** Smallest learning rate of the default grid. */
    public static final double DEFAULT_SMALLEST = 1e-5;
    /** Default upper bound of grid extension. */
    public static final double DEFAULT_CEILING = 1e3;
    /** Default lower bound of grid extension. */
    public static final double DEFAULT_FLOOR = 1e-9;

    /** One grid point: a learning rate and its mean final loss over the validation functions. */
    public record Entry(double learningRate, double meanFinalLoss) {
    }

    /**
     * The outcome of one tuning.
     *
     * @param bestLearningRate  the learning rate with the lowest mean final loss
     * @param bestMeanFinalLoss its mean final loss (+infinity if every rate diverged)
     * @param table             every evaluated grid point, by increasing learning rate
     * @param atCap             true if the best rate is still at an edge of the table because
     *                          extension reached the floor or ceiling
     */
    public record Result(double bestLearningRate, double bestMeanFinalLoss, List<Entry> table,
            boolean atCap) {

        /** Copies {@code table} into an unmodifiable list. */
        public Result {
            table = List.copyOf(table);
        }
    }

    private final int threads;
    private final int smallest;
    private final int largest;
    private final int floor;
    private final int ceiling;

    /** Default grid and cap, one thread per available processor. */
    public LearningRateTuner() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * Default grid (1e-5 .. 1) and cap (1e-9 .. 1e3).
     *
     * @param threads Java threads running trajectories at once, at least 1
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public LearningRateTuner(int threads) {
        this(threads, DEFAULT_SMALLEST, DEFAULT_LARGEST, DEFAULT_FLOOR, DEFAULT_CEILING);
    }

    /**
     * @param threads  Java threads running trajectories at once, at least 1
     * @param smallest smallest learning rate of the initial grid
     * @param largest  largest learning rate of the initial grid
     * @param floor    the grid is never extended below this
     * @param ceiling  the grid is never extended above this
     * @throws IllegalArgumentException if {@code threads < 1}, a rate is not a power of 10 by a
     *                                  multiple of 1/2 (1e-3, 3.16e-3, ...; relative tolerance
     *                                  1e-9), or not {@code floor <= smallest <= largest <= ceiling}
     */
    public LearningRateTuner(int threads, double smallest, double largest, double floor,
            double ceiling) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.smallest = halfDecades(smallest, "smallest");
        this.largest = halfDecades(largest, "largest");
        this.floor = halfDecades(floor, "floor");
        this.ceiling = halfDecades(ceiling, "ceiling");
        if (!(this.floor <= this.smallest && this.smallest <= this.largest
                && this.largest <= this.ceiling)) {
            throw new IllegalArgumentException("need floor <= smallest <= largest <= ceiling, got "
                    + floor + ", " + smallest + ", " + largest + ", " + ceiling);
        }
    }

    /**
     * Tunes a hand-designed rule's learning rate (its optimizers do not check values, so that a
     * diverging rate scores +infinity); see {@link #tune(DoubleFunction, OptimizeeFamily, long[], int)}.
     */
    public Result tune(HandDesignedRule rule, OptimizeeFamily family, long[] seeds, int steps) {
        Objects.requireNonNull(rule, "rule");
        return tune(lr -> rule.factory(lr).parameterOptimizer(false), family, seeds, steps);
    }

    /**
     * Tunes the learning rate of the optimizers made by {@code optimizers}.
     *
     * @param optimizers a fresh optimizer for a learning rate, with no tensor registered, for each
     *                   trajectory (called from the tuner's threads; closed after the trajectory)
     * @param family     the validation functions' family
     * @param seeds      the validation functions: one optimizee per seed, at least one
     * @param steps      K, the trajectory length, at least 1
     * @return the best rate and the table of every evaluated rate
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code seeds} is empty or {@code steps < 1}
     * @throws CancellationException    if the calling thread is interrupted
     */
    public Result tune(DoubleFunction<? extends ParameterOptimizer> optimizers,
            OptimizeeFamily family, long[] seeds, int steps) {
        Objects.requireNonNull(optimizers, "optimizers");
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(seeds, "seeds");
        if (seeds.length == 0) {
            throw new IllegalArgumentException(
                    "seeds is empty: need at least one validation function");
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        long[] validation = seeds.clone();
        TreeMap<Integer, Double> means = new TreeMap<>();
        AtomicInteger threadCount = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread thread = new Thread(r, "lr-tuner-" + threadCount.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        try {
            List<Integer> pending = new ArrayList<>();
            for (int k = smallest; k <= largest; k++) {
                pending.add(k);
            }
            while (!pending.isEmpty()) {
                score(pending, optimizers, family, validation, steps, pool, means);
                int best = best(means);
                pending.clear();
                if (best == means.firstKey() && best > floor) {
                    pending.add(best - 1);
                }
                if (best == means.lastKey() && best < ceiling) {
                    pending.add(best + 1);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        int best = best(means);
        List<Entry> table = new ArrayList<>();
        means.forEach((k, mean) -> table.add(new Entry(learningRate(k), mean)));
        boolean atEdge = best == means.firstKey() || best == means.lastKey();
        return new Result(learningRate(best), means.get(best), table, atEdge);
    }

    /** lr = 10^(k/2) for grid index k (in half-decades). */
    private static double learningRate(int k) {
        return Math.pow(10, k / 2.0);
    }

    /** k such that 10^(k/2) = lr within a relative 1e-9. */
    private static int halfDecades(double lr, String what) {
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(what + " must be finite and > 0, got " + lr);
        }
        int k = (int) Math.round(2 * Math.log10(lr));
        if (Math.abs(learningRate(k) - lr) > 1e-9 * lr) {
            throw new IllegalArgumentException(what + " = " + lr
                    + " is not a power of 10 by a multiple of 1/2 (such as 1e-3 or 10^-2.5)");
        }
        return k;
    }

    /** The grid index with the lowest mean; ties go to the smaller rate. */
    private static int best(TreeMap<Integer, Double> means) {
        int best = means.firstKey();
        for (var e : means.entrySet()) {
            if (e.getValue() < means.get(best)) {
                best = e.getKey();
            }
        }
        return best;
    }

    /** Runs every (rate, seed) of {@code grid} on the pool; records each rate's mean final loss. */
    private static void score(List<Integer> grid,
            DoubleFunction<? extends ParameterOptimizer> optimizers, OptimizeeFamily family, long[] seeds, int steps,
            ExecutorService pool, TreeMap<Integer, Double> means) {
        List<Future<Double>> finals = new ArrayList<>();
        for (int k : grid) {
            double lr = learningRate(k);
            for (long seed : seeds) {
                finals.add(pool.submit(() -> finalLoss(optimizers, lr, family.sample(seed), steps)));
            }
        }
        for (int i = 0; i < grid.size(); i++) {
            double sum = 0;
            for (int j = 0; j < seeds.length; j++) {
                sum += get(finals.get(i * seeds.length + j));
            }
            means.put(grid.get(i), sum / seeds.length);
        }
    }

    /** f(theta_K) of one trajectory, +infinity if not finite. */
    private static double finalLoss(DoubleFunction<? extends ParameterOptimizer> optimizers, double lr, Optimizee f,
                                    int steps) {
        try (ParameterOptimizer optimizer = Objects.requireNonNull(optimizers.apply(lr),
                "optimizer for learning rate " + lr)) {
            double last = Trajectory.run(f, optimizer, steps)[steps];
            return Double.isFinite(last) ? last : Double.POSITIVE_INFINITY;
        }
    }

    private static double get(Future<Double> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CancellationException cancelled = new CancellationException("interrupted while tuning");
            cancelled.initCause(e);
            throw cancelled;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("trajectory failed", cause);
        }
    }
}
