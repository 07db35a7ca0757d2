package org.l2l4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Objects;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.EpochRunner;
import org.l2l4j.meta.MetaBatchShards;
import org.l2l4j.meta.MetaTrainer;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Seeds;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.optimizees.ProblemSetup;
import scala.Option;

/**
 * What every task of a distributed run does, shipped to the executors: load the problem, open the task's backend, build a {@link MetaTrainer} of the
 * run's architecture and options, continue from the driver's state and meta-train the epochs
 * asked for.  A task's result depends only on that state, its partition index and the run's
 * seed, never on the attempt or the time: a retried task computes what the failed one would
 * have, on executors of one kind (the CPU kernels are bitwise reproducible for a given
 * instruction set, which {@code L2L_CPU_ISA} pins; a GPU computes otherwise), which the
 * synchronous mode checks from each task's {@link Result#backend()}.
 *
 * <p>The backend: the GPU that Spark's resource scheduling assigned to the task
 * ({@code spark.task.resource.gpu.amount}; {@code TaskContext.resources()}) when there is one,
 * otherwise the CPU backend with {@code threads} threads (0: the task's {@code spark.task.cpus}).
 *
 * @param problem the optimizees
 * @param groups  the optimizer's parameter groups
 * @param options the meta-training options (synchronous mode: those of the whole meta-batch)
 * @param threads CPU threads per task, 0 for {@code spark.task.cpus}
 */
record WorkerJob(ProblemSource problem, ParameterGroups groups, MetaTrainingOptions options, int threads)
        implements Serializable {

    WorkerJob {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(options, "options");
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0: spark.task.cpus), got " + threads);
        }
    }

    /**
     * What a task returns: the epochs it ran, and its time.
     *
     * @param epochs       the state after them and their meta-losses
     * @param seconds      the task's wall time meta-training (after loading and setup)
     * @param waitSeconds  the time spent waiting for the gradient exchange's sums (synchronous mode)
     * @param exchanges    unrolls exchanged
     * @param backend      the backend it ran on, with the CPU's instruction set
     */
    record Result(EpochRunner.Epochs epochs, double seconds, double waitSeconds, long exchanges, String backend)
            implements Serializable {
    }

    /** Synchronous mode: shard {@code rank} of the meta-batch, the others' added by the exchange. */
    Result synchronous(TrainingState from, int until, ExchangeClient.Address address, int rank) {
        ProblemSetup setup = setup();
        try (Backend backend = backend();
             ExchangeClient exchange = new ExchangeClient(address, rank);
             MetaTrainer trainer = new MetaTrainer(backend, groups, setup.training(), setup.validation(), options,
                     MetaBatchShards.one(rank, address.workers(), exchange))) {
            return run(backend, trainer, from, until, exchange);
        }
    }

    /**
     * Periodic averaging: task {@code rank} meta-trains alone on its own functions (the run's seed
     * derived with the rank) from the driver's state.
     */
    Result alone(TrainingState from, int until, int rank) {
        ProblemSetup setup = setup();
        MetaTrainingOptions own = options.withSeed(Seeds.derive(options.seed(), Seeds.WORKER, rank));
        try (Backend backend = backend();
             MetaTrainer trainer = new MetaTrainer(backend, groups, setup.training(), setup.validation(), own)) {
            return run(backend, trainer, from, until, null);
        }
    }

    private static Result run(Backend backend, MetaTrainer trainer, TrainingState from, int until,
                              ExchangeClient exchange) {
        trainer.restore(from);
        long t0 = System.nanoTime();
        double[] losses = new double[until - from.epochs()];
        TaskContext task = TaskContext.get();
        for (int e = 0; e < losses.length; e++) {
            if (task != null) {
                task.killTaskIfInterrupted();
            }
            losses[e] = trainer.trainEpoch();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (exchange != null) {
            exchange.finish();
        }
        return new Result(new EpochRunner.Epochs(trainer.state(), losses), seconds,
                exchange == null ? 0 : exchange.waitNanos() / 1e9, exchange == null ? 0 : exchange.exchanges(),
                backend.toString());
    }

    private ProblemSetup setup() {
        try {
            return problem.load();
        } catch (IOException e) {
            throw new UncheckedIOException("the executor could not load the problem " + problem + ": "
                    + e.getMessage(), e);
        }
    }

    private Backend backend() {
        TaskContext task = TaskContext.get();
        if (task != null) {
            Option<ResourceInformation> gpu = task.resources().get("gpu");
            if (gpu.isDefined() && gpu.get().addresses().length > 0) {
                return Backend.cuda(Integer.parseInt(gpu.get().addresses()[0].strip()));
            }
        }
        return Backend.cpu(threads > 0 ? threads : task != null ? task.cpus() : 1);
    }
}
