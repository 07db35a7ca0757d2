package org.l2l4j.meta;

import java.io.Serializable;
import java.util.Objects;

/**
 * Runs a meta-trainer's epochs elsewhere (on a cluster) while the meta-trainer itself validates
 * and selects ({@link MetaTrainer#train(MetaTrainer.Listener, EpochRunner)}): from the training
 * state after some epochs, it runs the epochs up to a given count (the next validation, or the
 * next multiple of its {@link #period()}) and returns the state after them.  The returned state's phi, Adam moments and step, epoch count and skipped-update count
 * are taken; its validation history, best phi and candidates are the meta-trainer's own.
 */
public interface EpochRunner {

    /**
     * Runs epochs {@code from.epochs() + 1 .. until}.
     *
     * @param from  the state to continue from (phi, Adam's state, epochs, skipped updates)
     * @param until the epoch count after the run, > from.epochs()
     * @return the state after them, and the mean meta-loss per step of each of the epochs
     * @throws RuntimeException if they could not be run: the meta-trainer's state is then as before
     */
    Epochs run(TrainingState from, int until);

    /**
     * The runner's synchronization period: the meta-trainer's blocks end at its multiples as well
     * as at each validation (the default: only at validations).
     */
    default int period() {
        return Integer.MAX_VALUE;
    }

    /**
     * Epochs run: the state after them and each one's mean meta-loss per step.
     *
     * @param state      the training state after the epochs
     * @param metaLosses the mean meta-loss per step of each epoch run, in order
     */
    record Epochs(TrainingState state, double[] metaLosses) implements Serializable {
        public Epochs {
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(metaLosses, "metaLosses");
        }
    }
}
