package org.l2l4j.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.TrainingState;

/**
 * Local meta-training with periodic averaging: in rounds of k epochs, each of W tasks meta-trains
 * alone from the driver's phi and Adam state on its own training functions (the run's seed
 * derived with its index), with its own meta-batch; the driver then averages the W phis and
 * Adam moments (added in task order, divided by W), which the next round starts from.  An epoch
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

    /**
     * @param workers W
     * @param period  k, epochs between averagings
     */
    AveragingEpochs(JavaSparkContext sc, WorkerJob job, int workers, int period) {
        this.sc = Objects.requireNonNull(sc, "sc");
        this.job = Objects.requireNonNull(job, "job");
        if (workers < 1 || period < 1) {
            throw new IllegalArgumentException("workers and the averaging period must be >= 1, got " + workers + " and "
                    + period);
        }
        this.workers = workers;
        this.period = period;
    }

    @Override
    public Epochs run(TrainingState from, int until) {
        TrainingState state = from;
        double[] losses = new double[until - from.epochs()];
        while (state.epochs() < until) {
            int end = Math.min(until, state.epochs() + period);
            TrainingState start = state;
            WorkerJob j = job;
            sc.setJobDescription(String.format(Locale.ROOT,
                    "l2l4j meta-training epochs %d-%d: %d workers alone, then averaged", start.epochs() + 1, end, workers));
            long t0 = System.nanoTime();
            List<WorkerJob.Result> results = Stages.plain(sc, workers, rank -> j.alone(start, end, rank));
            List<Epochs> epochs = new ArrayList<>();
            results.forEach(r -> epochs.add(r.epochs()));
            state = average(start, epochs);
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
