package org.l2l4j.meta;

import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;
import org.l2l4j.lstm.PhiInit;

/**
 * Settings of meta-training by truncated backpropagation through time (paper sections 2
 * and 3), each with the paper's value as default ({@link #defaults()}).
 *
 * @param unroll              T, steps per truncation (20)
 * @param horizon             K, steps per trajectory (100); the last unroll is shorter if T does
 *                            not divide K
 * @param metaLearningRate    Adam's learning rate on phi (1e-3)
 * @param clipNorm            global L2-norm clipping of the meta-gradient, 0 for none (0)
 * @param phiInit             initialization of phi (zero output layer)
 * @param instances           B, optimizee instances per meta-update, run in one kernel call (1)
 * @param inputScaling        what the LSTM sees of a meta-batch's gradients (the paper's)
 * @param evaluationPeriod    E: validate every E epochs (10)
 * @param validationFunctions held-out functions per validation (8)
 * @param epochs              maximum number of epochs (trajectories) (10,000)
 * @param timeBudget          stop at the first epoch boundary past this wall time; null for none
 * @param seed                base seed of every random stream
 * @param schedule            the meta-learning rate's change over the epochs (constant)
 * @param batchScaling        how the meta-learning rate grows with B (not at all)
 * @param curriculum          the trajectory lengths of the first epochs (none: every epoch K)
 * @param imitation           imitation of a hand-designed optimizer in the first epochs (none)
 * @param parameterScaling    kappa of the training optimizees' random parameter scaling
 *                            ({@link org.l2l4j.optimizees.ScaledFamily}), 0 for none (0)
 * @param confirmationFunctions held-out functions on which the best candidates of the cheap
 *                            validations are evaluated again at the end, the best of them kept;
 *                            0 to keep the best validation as it is (0)
 * @param secondDerivatives   the optimizee's second derivatives in the meta-gradient: dropped (the
 *                            paper's) or exact ({@link SecondDerivatives}) (dropped)
 */
public record MetaTrainingOptions(int unroll, int horizon, double metaLearningRate, double clipNorm,
                                  PhiInit phiInit, int instances, InputScaling inputScaling,
                                  int evaluationPeriod, int validationFunctions, int epochs,
                                  Duration timeBudget, long seed, LearningRateSchedule schedule,
                                  MetaBatchScaling batchScaling, Curriculum curriculum, Imitation imitation,
                                  double parameterScaling, int confirmationFunctions,
                                  SecondDerivatives secondDerivatives) implements Serializable {

    /** How many of the best-validated phis a confirmation evaluates on its functions. */
    public static final int CONFIRMED_CANDIDATES = 3;

    public MetaTrainingOptions {
        Objects.requireNonNull(phiInit, "phiInit");
        Objects.requireNonNull(inputScaling, "inputScaling");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(batchScaling, "batchScaling");
        Objects.requireNonNull(curriculum, "curriculum");
        Objects.requireNonNull(imitation, "imitation");
        Objects.requireNonNull(secondDerivatives, "secondDerivatives");
        if (secondDerivatives == SecondDerivatives.EXACT && imitation.active()) {
            throw new IllegalArgumentException("imitation is not available with exact second derivatives (the"
                    + " teacher's step would need its own second derivatives): choose one");
        }
        if (!(parameterScaling >= 0) || Double.isInfinite(parameterScaling)) {
            throw new IllegalArgumentException("parameterScaling must be finite and >= 0 (0: off), got "
                    + parameterScaling);
        }
        if (confirmationFunctions < 0) {
            throw new IllegalArgumentException("confirmationFunctions must be >= 0 (0: off), got "
                    + confirmationFunctions);
        }
        positive("unroll", unroll);
        positive("horizon", horizon);
        positive("instances", instances);
        positive("evaluationPeriod", evaluationPeriod);
        positive("validationFunctions", validationFunctions);
        positive("epochs", epochs);
        if (!(metaLearningRate > 0) || !Double.isFinite(metaLearningRate)) {
            throw new IllegalArgumentException("metaLearningRate must be > 0 and finite, got " + metaLearningRate);
        }
        if (!(clipNorm >= 0) || !Double.isFinite(clipNorm)) {
            throw new IllegalArgumentException("clipNorm must be >= 0 and finite (0: off), got " + clipNorm);
        }
        if (timeBudget != null && (timeBudget.isNegative() || timeBudget.isZero())) {
            throw new IllegalArgumentException("timeBudget must be positive, got " + timeBudget);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
    }

    /** The paper's settings. */
    public static MetaTrainingOptions defaults() {
        return new MetaTrainingOptions(20, 100, 1e-3, 0, PhiInit.PYTORCH_ZERO_OUTPUT, 1, InputScaling.PAPER, 10, 8,
                10_000, null, 0, LearningRateSchedule.CONSTANT, MetaBatchScaling.NONE, Curriculum.NONE, Imitation.NONE,
                0, 0, SecondDerivatives.DROPPED);
    }

    public MetaTrainingOptions withUnroll(int t) {
        return with(b -> b.unroll = t);
    }

    public MetaTrainingOptions withHorizon(int k) {
        return with(b -> b.horizon = k);
    }

    public MetaTrainingOptions withMetaLearningRate(double lr) {
        return with(b -> b.metaLearningRate = lr);
    }

    public MetaTrainingOptions withClipNorm(double c) {
        return with(b -> b.clipNorm = c);
    }

    public MetaTrainingOptions withPhiInit(PhiInit init) {
        return with(b -> b.phiInit = init);
    }

    public MetaTrainingOptions withInstances(int count, InputScaling scaling) {
        return with(b -> {
            b.instances = count;
            b.inputScaling = scaling;
        });
    }

    public MetaTrainingOptions withEvaluation(int period, int functions) {
        return with(b -> {
            b.evaluationPeriod = period;
            b.validationFunctions = functions;
        });
    }

    public MetaTrainingOptions withEpochs(int e) {
        return with(b -> b.epochs = e);
    }

    public MetaTrainingOptions withTimeBudget(Duration budget) {
        return with(b -> b.timeBudget = budget);
    }

    public MetaTrainingOptions withSeed(long s) {
        return with(b -> b.seed = s);
    }

    public MetaTrainingOptions withSchedule(LearningRateSchedule s) {
        return with(b -> b.schedule = s);
    }

    public MetaTrainingOptions withBatchScaling(MetaBatchScaling s) {
        return with(b -> b.batchScaling = s);
    }

    public MetaTrainingOptions withCurriculum(Curriculum c) {
        return with(b -> b.curriculum = c);
    }

    public MetaTrainingOptions withImitation(Imitation i) {
        return with(b -> b.imitation = i);
    }

    public MetaTrainingOptions withParameterScaling(double kappa) {
        return with(b -> b.parameterScaling = kappa);
    }

    public MetaTrainingOptions withConfirmation(int functions) {
        return with(b -> b.confirmationFunctions = functions);
    }

    public MetaTrainingOptions withSecondDerivatives(SecondDerivatives mode) {
        return with(b -> b.secondDerivatives = mode);
    }

    /** The base meta-learning rate with the batch scaling applied: lr, or lr sqrt(B). */
    public double scaledMetaLearningRate() {
        return batchScaling == MetaBatchScaling.SQRT ? metaLearningRate * Math.sqrt(instances) : metaLearningRate;
    }

    /** A copy with one change, validated like any new instance. */
    private MetaTrainingOptions with(Consumer<Fields> change) {
        Fields f = new Fields(this);
        change.accept(f);
        return new MetaTrainingOptions(f.unroll, f.horizon, f.metaLearningRate, f.clipNorm, f.phiInit, f.instances,
                f.inputScaling, f.evaluationPeriod, f.validationFunctions, f.epochs, f.timeBudget, f.seed, f.schedule,
                f.batchScaling, f.curriculum, f.imitation, f.parameterScaling,
                f.confirmationFunctions, f.secondDerivatives);
    }

    /** The components, mutable, for {@link #with}. */
    private static final class Fields {
        int unroll;
        int horizon;
        double metaLearningRate;
        double clipNorm;
        PhiInit phiInit;
        int instances;
        InputScaling inputScaling;
        int evaluationPeriod;
        int validationFunctions;
        int epochs;
        Duration timeBudget;
        long seed;
        LearningRateSchedule schedule;
        MetaBatchScaling batchScaling;
        Curriculum curriculum;
        Imitation imitation;
        double parameterScaling;
        int confirmationFunctions;
        SecondDerivatives secondDerivatives;

        Fields(MetaTrainingOptions o) {
            unroll = o.unroll;
            horizon = o.horizon;
            metaLearningRate = o.metaLearningRate;
            clipNorm = o.clipNorm;
            phiInit = o.phiInit;
            instances = o.instances;
            inputScaling = o.inputScaling;
            evaluationPeriod = o.evaluationPeriod;
            validationFunctions = o.validationFunctions;
            epochs = o.epochs;
            timeBudget = o.timeBudget;
            seed = o.seed;
            schedule = o.schedule;
            batchScaling = o.batchScaling;
            curriculum = o.curriculum;
            imitation = o.imitation;
            parameterScaling = o.parameterScaling;
            confirmationFunctions = o.confirmationFunctions;
            secondDerivatives = o.secondDerivatives;
        }
    }
}
