package org.l2l4j.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.LearningRateSchedule;
import org.l2l4j.meta.MetaOptimizer;
import org.l2l4j.meta.TrainingState;

/**
 * Local meta-training with periodic averaging: in rounds of k epochs, each of W tasks meta-trains
 * alone from the driver's phi and Adam state on its own training functions (the run's seed
 * derived with its index), with its own meta-batch; the driver then averages the W phis and
 * Adam moments (added in task order, divided by W), which the next round starts from.  With an
 * outer learning rate, the averaged change is not applied as it is but taken as a
 * pseudo-gradient, start minus average, for an outer Adam on phi (torch's arrangement, betas 0.9
 * and 0.999, at that constant rate; as DiLoCo's outer optimizer), whose state the driver keeps
 * and checkpoints ({@link #outerState()}).  An epoch
 * of the run is one epoch of every task: W trajectories.  For slow optimizees and many workers,
 * where a synchronization per unroll would cost more than the unroll
 * (see the README's cost model).
 */
final class AveragingEpochs implements EpochRunner {
    private static final System.Logger LOG = System.getLogger(AveragingEpochs.class.getName());
    private final JavaSparkContext sc;
    private final WorkerJob job;
    private final int workers;
    private final int period;
    /** The outer Adam, or null for plain averaging. */
    private final MetaOptimizer outer;
    private int outerEpochs;

    /**
     * The outer Adam's state after {@code epochs} epochs.
     *
     * @param epochs the epochs after which it was taken
     * @param first  its first moment
     * @param second its second moment
     * @param step   its step count
     */
    record OuterState(int epochs, double[] first, double[] second, long step) {
    }

    /**
     * @param workers           W
     * @param period            k, epochs between averagings
     * @param outerLearningRate the outer Adam's rate, 0 for plain averaging
     * @param phiSize           P
     */
    AveragingEpochs(JavaSparkContext sc, WorkerJob job, int workers, int period, double outerLearningRate,
                    int phiSize) {
        this.sc = Objects.requireNonNull(sc, "sc");
        this.job = Objects.requireNonNull(job, "job");
        if (workers < 1 || period < 1) {
            throw new IllegalArgumentException("workers and the averaging period must be >= 1, got " + workers + " and "
                    + period);
        }
        this.workers = workers;
        this.period = period;
        this.outer = outerLearningRate > 0
                ? new MetaOptimizer(phiSize, outerLearningRate, LearningRateSchedule.CONSTANT, 0) : null;
    }

    /** k: the meta-trainer's blocks end at each averaging, where the driver writes its checkpoint. */
    @Override
    public int period() {
        return period;
    }

    /** The outer Adam's state, or null for plain averaging. */
    OuterState outerState() {
        return outer == null ? null
                : new OuterState(outerEpochs, outer.firstMoment(), outer.secondMoment(), outer.step());
    }

    /** Continues with a saved outer Adam state (ignored for plain averaging). */
    void restoreOuter(OuterState s) {
        if (outer != null) {
            outer.restore(s.first(), s.second(), s.step());
            outerEpochs = s.epochs();
        }
    }

    @Override
    public Epochs run(TrainingState from, int until) {
        OuterState before = outerState();
        try {
            return rounds(from, until);
        } catch (RuntimeException | Error e) {
            if (before != null) {
                restoreOuter(before);
            }
            throw e;
        }
    }

    private Epochs rounds(TrainingState from, int until) {
        TrainingState state = from;
        double[] losses = new double[until - from.epochs()];
        while (state.epochs() < until) {
            int end = Math.min(until, state.epochs() + period);
            TrainingState start = state;
            WorkerJob j = job;
            sc.setJobGroup("l2l4j-averaging-" + start.epochs(), String.format(Locale.ROOT,
                    "l2l4j meta-training epochs %d-%d: %d workers alone, then averaged", start.epochs() + 1, end,
                    workers), true);
            long t0 = System.nanoTime();
            List<WorkerJob.Result> results;
            try {
                results = Stages.plain(sc, workers, rank -> j.alone(start, end, rank));
            } finally {
                sc.clearJobGroup();
            }
            List<Epochs> epochs = new ArrayList<>();
            results.forEach(r -> epochs.add(r.epochs()));
            state = average(start, epochs);
            if (outer != null) {
                state = outerStep(start, state);
            }
            for (int e = start.epochs(); e < end; e++) {
                double sum = 0;
                for (Epochs w : epochs) {
                    sum += w.metaLosses()[e - start.epochs()];
                }
                losses[e - from.epochs()] = sum / workers;
            }
            LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT, "epochs %d-%d on %d workers, averaged: %.1f s",
                    start.epochs() + 1, end, workers, (System.nanoTime() - t0) / 1e9));
        }
        return new Epochs(state, losses);
    }

    /** {@code averaged} with phi moved by the outer Adam on the pseudo-gradient start - average. */
    private TrainingState outerStep(TrainingState start, TrainingState averaged) {
        double[] phi = start.phi().clone();
        double[] g = new double[phi.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = start.phi()[i] - averaged.phi()[i];
        }
        outer.update(phi, g, averaged.epochs(), averaged.epochs());
        outerEpochs = averaged.epochs();
        return new TrainingState(averaged.epochs(), phi, averaged.adamFirst(), averaged.adamSecond(),
                averaged.adamStep(), averaged.bestPhi(), averaged.bestValidation(), averaged.bestEpoch(),
                averaged.skippedUpdates(), averaged.history(), averaged.candidates());
    }

    /**
     * The average of the workers' phis and Adam moments (added in worker order, divided by W); Adam's
     * step the largest of theirs; the skipped updates those of all workers added.
     */
    static TrainingState average(TrainingState start, List<Epochs> workers) {
        int n = start.phi().length;
        double[] phi = new double[n];
        double[] first = new double[n];
        double[] second = new double[n];
        long step = 0;
        long skipped = start.skippedUpdates();
        for (Epochs e : workers) {
            TrainingState s = e.state();
            for (int i = 0; i < n; i++) {
                phi[i] += s.phi()[i];
                first[i] += s.adamFirst()[i];
                second[i] += s.adamSecond()[i];
            }
            step = Math.max(step, s.adamStep());
            skipped += s.skippedUpdates() - start.skippedUpdates();
        }
        for (int i = 0; i < n; i++) {
            phi[i] /= workers.size();
            first[i] /= workers.size();
            second[i] /= workers.size();
        }
        TrainingState s = workers.get(0).state();
        return new TrainingState(s.epochs(), phi, first, second, step, start.bestPhi(), start.bestValidation(),
                start.bestEpoch(), skipped, start.history(), start.candidates());
    }
}
