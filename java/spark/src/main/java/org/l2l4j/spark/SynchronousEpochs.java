package org.l2l4j.spark;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.TrainingState;

/**
 * The synchronous mode: the epochs of a block run in one barrier stage of W tasks, task w
 * computing shard w (instances w B/W .. (w+1) B/W - 1 of the meta-batch of B) of every unroll;
 * at each unroll the W shards' meta-losses and dL/dphi are summed in shard order on the driver
 * ({@link GradientExchange}) and every task applies the same Adam update.  The result equals, bit
 * for bit, one machine meta-training the meta-batch in W shards
 * ({@code MetaBatchShards.all(W)}); every task ends with the same phi, which the driver checks.
 */
final class SynchronousEpochs implements EpochRunner {
    private static final System.Logger LOG = System.getLogger(SynchronousEpochs.class.getName());
    private final JavaSparkContext sc;
    private final WorkerJob job;
    private final int workers;
    private final GradientExchange exchange;
    private final String host;
    private final Duration timeout;
    private double taskSeconds;
    private double waitSeconds;
    private long exchanges;
    /** The backend the workers reported, for the check that they all run on one kind. */
    private String backend;

    /**
     * @param workers W, which must divide the meta-batch ({@code job.options().instances()})
     * @param host    the driver's address as the executors reach it
     */
    SynchronousEpochs(JavaSparkContext sc, WorkerJob job, int workers, GradientExchange exchange, String host,
                      Duration timeout) {
        this.sc = Objects.requireNonNull(sc, "sc");
        this.job = Objects.requireNonNull(job, "job");
        if (workers < 1 || job.options().instances() % workers != 0) {
            throw new IllegalArgumentException("the synchronous mode cuts the meta-batch of " + job.options().instances()
                    + " instances into one equal shard per worker: " + workers + " workers do not divide it");
        }
        this.workers = workers;
        this.exchange = Objects.requireNonNull(exchange, "exchange");
        this.host = Objects.requireNonNull(host, "host");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    @Override
    public Epochs run(TrainingState from, int until) {
        int phiSize = from.phi().length;
        long generation = exchange.open(workers, phiSize);
        ExchangeClient.Address address = new ExchangeClient.Address(host, exchange.port(), exchange.token(), generation,
                workers, phiSize, timeout);
        WorkerJob j = job;
        // a job group that interrupts its tasks when cancelled, so that a failed attempt's other tasks
        // stop before the next attempt needs their slots
        sc.setJobGroup("l2l4j-" + generation, String.format(Locale.ROOT,
                "l2l4j meta-training epochs %d-%d: synchronous, %d workers", from.epochs() + 1, until, workers), true);
        List<WorkerJob.Result> results;
        try {
            results = Stages.barrier(sc, workers, rank -> j.synchronous(from, until, address, rank));
        } finally {
            exchange.close(generation);
            sc.clearJobGroup();
        }
        for (WorkerJob.Result r : results) {
            if (!r.backend().equals(backend == null ? r.backend() : backend)) {
                LOG.log(System.Logger.Level.WARNING, "the workers ran on different backends (" + backend + ", "
                        + r.backend() + "): results are reproducible only on one kind (L2L_CPU_ISA pins the CPU "
                        + "kernels; spark.executorEnv.L2L_CPU_ISA sets it on every executor)");
            }
            backend = r.backend();
        }
        double[] phi = results.get(0).epochs().state().phi();
        for (int w = 1; w < workers; w++) {
            if (!Arrays.equals(phi, results.get(w).epochs().state().phi())) {
                throw new IllegalStateException("the synchronous workers 0 and " + w + " ended epochs "
                        + (from.epochs() + 1) + "-" + until + " with different phi: their meta-updates diverged");
            }
        }
        double seconds = 0;
        double wait = 0;
        for (WorkerJob.Result r : results) {
            seconds = Math.max(seconds, r.seconds());
            wait += r.waitSeconds() / workers;
        }
        taskSeconds += seconds;
        waitSeconds += wait;
        exchanges += results.get(0).exchanges();
        LOG.log(System.Logger.Level.INFO, String.format(Locale.ROOT,
                "epochs %d-%d on %d synchronous workers: %.1f s, of which %.1f s waiting for the exchange (%.1f ms per"
                        + " unroll)", from.epochs() + 1, until, workers, seconds, wait,
                1e3 * wait / Math.max(1, results.get(0).exchanges())));
        return results.get(0).epochs();
    }

    /** The tasks' meta-training time so far (the slowest task of each stage), seconds. */
    double taskSeconds() {
        return taskSeconds;
    }

    /** Mean time per unroll a task spent waiting for the exchange's sum (network, slower peers), seconds. */
    double waitPerUnroll() {
        return exchanges == 0 ? 0 : waitSeconds / exchanges;
    }
}
