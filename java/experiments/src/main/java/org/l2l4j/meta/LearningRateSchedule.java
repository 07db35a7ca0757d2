package org.l2l4j.meta;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;

/**
 * How meta-training's learning rate on phi changes over the epochs of a run: a linear warm-up
 * over the first {@code warmupEpochs} epochs, then, by {@link Kind}, a constant rate (the paper),
 * a cosine decay to {@code floor} times the base rate at the last epoch, or a step decay.  The
 * rate of epoch e (0-based, e &lt; E = the run's epochs) is the base rate times
 * {@link #factor(int, int)}; it is constant within an epoch, so that a resumed run takes the
 * same steps as an uninterrupted one.
 *
 * @param kind         the decay
 * @param warmupEpochs W &gt;= 0: the factor ramps linearly as (e + 1) / W over the first W epochs
 * @param floor        the cosine's final fraction of the base rate, in [0, 1]
 */
public record LearningRateSchedule(Kind kind, int warmupEpochs, double floor) implements Serializable {

    /** The decay after the warm-up. */
    public enum Kind {
        /** The base rate throughout (the paper). */
        CONSTANT,
        /** floor + (1 - floor) (1 + cos(pi e / E)) / 2: from the base rate down to floor times it. */
        COSINE,
        /** The base rate, a tenth of it from E / 2 on, a hundredth from 3 E / 4 on. */
        STEP
    }

    /** The paper's: a constant rate, no warm-up. */
    public static final LearningRateSchedule CONSTANT = new LearningRateSchedule(Kind.CONSTANT, 0, 1);

    /**
     * @throws NullPointerException     if kind is null
     * @throws IllegalArgumentException if warmupEpochs is negative or floor outside [0, 1]
     */
    public LearningRateSchedule {
        Objects.requireNonNull(kind, "kind");
        if (warmupEpochs < 0) {
            throw new IllegalArgumentException("warmupEpochs must be >= 0, got " + warmupEpochs);
        }
        if (!(floor >= 0 && floor <= 1)) {
            throw new IllegalArgumentException("floor must be in [0, 1], got " + floor);
        }
    }

    /**
     * The factor on the base rate for epoch {@code epoch} (0-based) of a run of {@code epochs}
     * epochs; epochs past the run keep the last epoch's factor.
     *
     * @throws IllegalArgumentException if epoch is negative or epochs &lt; 1
     */
    public double factor(int epoch, int epochs) {
        if (epoch < 0 || epochs < 1) {
            throw new IllegalArgumentException("need epoch >= 0 and epochs >= 1, got " + epoch + " and " + epochs);
        }
        int e = Math.min(epoch, epochs - 1);
        double warm = warmupEpochs == 0 ? 1 : Math.min(1.0, (e + 1.0) / warmupEpochs);
        double decay = switch (kind) {
            case CONSTANT -> 1;
            case COSINE -> floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * e / epochs));
            case STEP -> 2 * e < epochs ? 1 : 4 * e < 3 * epochs ? 0.1 : 0.01;
        };
        return warm * decay;
    }

    /**
     * The form {@link #parse} reads: {@code constant}, {@code cosine}, {@code step}, with
     * {@code ,warmup=W} and (cosine) {@code ,floor=F} when not 0.
     */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(kind.name().toLowerCase(Locale.ROOT));
        if (warmupEpochs > 0) {
            s.append(",warmup=").append(warmupEpochs);
        }
        if (kind == Kind.COSINE && floor > 0) {
            s.append(",floor=").append(floor);
        }
        return s.toString();
    }

    /**
     * A schedule from the form of {@link #toString()}: a kind, then optional {@code warmup=W}
     * and {@code floor=F} separated by commas (cosine: floor 0 by default).
     *
     * @throws IllegalArgumentException if the text is not of that form
     */
    public static LearningRateSchedule parse(String text) {
        String[] parts = text.strip().split(",");
        Kind kind;
        try {
            kind = Kind.valueOf(parts[0].strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown schedule '" + parts[0].strip()
                    + "': expected constant, cosine or step");
        }
        int warmup = 0;
        double floor = kind == Kind.COSINE ? 0 : 1;
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].strip().split("=", 2);
            try {
                switch (kv.length == 2 ? kv[0].strip() : "") {
                    case "warmup" -> warmup = Integer.parseInt(kv[1].strip());
                    case "floor" -> floor = Double.parseDouble(kv[1].strip());
                    default -> throw new IllegalArgumentException("unknown setting '" + parts[i].strip()
                            + "': expected warmup=EPOCHS or floor=FRACTION");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a number in '" + parts[i].strip() + "'");
            }
        }
        if (kind != Kind.COSINE && floor != 1) {
            throw new IllegalArgumentException("floor applies to the cosine schedule only");
        }
        return new LearningRateSchedule(kind, warmup, floor);
    }
}
