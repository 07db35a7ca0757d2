package org.l2l4j.lstm;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * The architecture of a coordinatewise deep LSTM optimizer (paper section 2.1): the LSTM layer
 * widths (empty: a learned coordinatewise linear rule, delta = scale (w u^0 + b)), the input
 * preprocessing and the output scale.  Immutable; validated on construction.
 *
 * <p>Defaults ({@link #paperMnist()}): two layers of 20 units, log-and-sign preprocessing with
 * p = 10, output scale 0.1 (paper section 3 and appendix A).
 *
 * <p>LSTM+GAC (paper appendix, "global averaging cells"): {@code gacUnits[l]} of layer l's units
 * (the first ones) are averaging units, whose outgoing activation h'_j is replaced at every step
 * by its mean over the coordinates of one optimizee instance's parameter group, so that the
 * coordinates share information (l2l.h, "Global averaging cells").  All zero: the plain
 * coordinatewise LSTM.  phi has the same layout either way.
 *
 * @param widths       LSTM widths H_l, each in [1, 256], at most 8 layers
 * @param preprocessing input preprocessing
 * @param p            log-and-sign's p, in [{@value #MIN_P}, {@value #MAX_P}] (ignored for identity): the
 *                     kernels compute in float32, and these bounds keep 1/p, e^p and log|x|/p well
 *                     inside its range (the paper uses 10, the reference code 5)
 * @param outputScale  the factor applied to the output layer, finite
 * @param logEpsilon   log-and-sign takes log(|x| + 2^-23) as the reference code does, instead of
 *                     the paper's exact map
 * @param precision    the arithmetic of the LSTM's gate products ({@link Precision#FLOAT32} unless
 *                     chosen)
 * @param gacUnits     G_l, the global averaging cells of each layer, in [0, H_l] (one per layer)
 */
public record LstmConfig(int[] widths, Preprocessing preprocessing, double p, double outputScale,
                         boolean logEpsilon, Precision precision, int[] gacUnits) implements Serializable {

    /** Maximum width of one layer (L2L_MAX_WIDTH). */
    public static final int MAX_WIDTH = 256;
    /** Maximum number of layers (L2L_MAX_LAYERS). */
    public static final int MAX_LAYERS = 8;
    /** Smallest log-and-sign p (L2L_MIN_P). */
    public static final double MIN_P = 1e-3;
    /** Largest log-and-sign p (L2L_MAX_P). */
    public static final double MAX_P = 80;

    /**
     * Validates and copies the arguments.
     *
     * @throws NullPointerException     if widths, preprocessing, precision or gacUnits is null
     * @throws IllegalArgumentException if there are more than {@value #MAX_LAYERS} layers, a width
     *                                  is outside [1, {@value #MAX_WIDTH}], gacUnits does not have
     *                                  one count per layer or a count is outside [0, H_l], p is
     *                                  outside [{@value #MIN_P}, {@value #MAX_P}] with log-and-sign,
     *                                  or the output scale is not finite in float32
     */
    public LstmConfig {
        Objects.requireNonNull(widths, "widths");
        Objects.requireNonNull(preprocessing, "preprocessing");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(gacUnits, "gacUnits");
        widths = widths.clone();
        gacUnits = gacUnits.clone();
        requireLayers(widths, gacUnits);
        if (preprocessing == Preprocessing.LOG_AND_SIGN && !(p >= MIN_P && p <= MAX_P)) {
            throw new IllegalArgumentException("log-and-sign p must be in [" + MIN_P + ", " + MAX_P + "], got " + p);
        }
        if (!Double.isFinite(outputScale) || !Float.isFinite((float) outputScale)) {
            throw new IllegalArgumentException("outputScale must be finite, got " + outputScale);
        }
    }

    /**
     * Checks an LSTM's layers, as this configuration and other controllers (NTM-BFGS's) need them:
     * at most {@value #MAX_LAYERS} widths in [1, {@value #MAX_WIDTH}], and one count of averaging
     * units per layer in [0, H_l].
     *
     * @throws IllegalArgumentException naming the first layer or count out of range
     */
    public static void requireLayers(int[] widths, int[] gacUnits) {
        if (widths.length > MAX_LAYERS) {
            throw new IllegalArgumentException("at most " + MAX_LAYERS + " LSTM layers, got " + widths.length);
        }
        for (int l = 0; l < widths.length; l++) {
            if (widths[l] < 1 || widths[l] > MAX_WIDTH) {
                throw new IllegalArgumentException("width of layer " + l + " must be in [1, " + MAX_WIDTH
                        + "], got " + widths[l]);
            }
        }
        if (gacUnits.length != widths.length) {
            throw new IllegalArgumentException("gacUnits needs one count per layer (" + widths.length + "), got "
                    + gacUnits.length);
        }
        for (int l = 0; l < widths.length; l++) {
            if (gacUnits[l] < 0 || gacUnits[l] > widths[l]) {
                throw new IllegalArgumentException("the averaging units of layer " + l + " must be in [0, " + widths[l]
                        + "] (its width), got " + gacUnits[l]);
            }
        }
    }

    /** A configuration without averaging units. */
    public LstmConfig(int[] widths, Preprocessing preprocessing, double p, double outputScale, boolean logEpsilon,
                      Precision precision) {
        this(widths, preprocessing, p, outputScale, logEpsilon, precision,
                new int[Objects.requireNonNull(widths, "widths").length]);
    }

    /** A configuration computing in float32 ({@link Precision#FLOAT32}), without averaging units. */
    public LstmConfig(int[] widths, Preprocessing preprocessing, double p, double outputScale, boolean logEpsilon) {
        this(widths, preprocessing, p, outputScale, logEpsilon, Precision.FLOAT32);
    }

    /** The paper's MNIST optimizer: LSTM 20-20, log-and-sign with p = 10, output x 0.1. */
    public static LstmConfig paperMnist() {
        return new LstmConfig(new int[] {20, 20}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    }

    /** The paper's quadratic optimizer: LSTM 20-20, no preprocessing, no output scaling. */
    public static LstmConfig paperQuadratic() {
        return new LstmConfig(new int[] {20, 20}, Preprocessing.IDENTITY, 10, 1.0, false);
    }

    /**
     * A copy with other widths, and no averaging units.
     *
     * @throws NullPointerException     if newWidths is null
     * @throws IllegalArgumentException as the constructor
     */
    public LstmConfig withWidths(int... newWidths) {
        return new LstmConfig(newWidths, preprocessing, p, outputScale, logEpsilon, precision);
    }

    /** A copy with another output scale. */
    public LstmConfig withOutputScale(double scale) {
        return new LstmConfig(widths, preprocessing, p, scale, logEpsilon, precision, gacUnits);
    }

    /** A copy with another preprocessing. */
    public LstmConfig withPreprocessing(Preprocessing pre) {
        return new LstmConfig(widths, pre, p, outputScale, logEpsilon, precision, gacUnits);
    }

    /** A copy computing its gate products in another precision. */
    public LstmConfig withPrecision(Precision newPrecision) {
        return new LstmConfig(widths, preprocessing, p, outputScale, logEpsilon, newPrecision, gacUnits);
    }

    /**
     * A copy with G_l global averaging cells in layer l (LSTM+GAC, paper appendix).
     *
     * @throws NullPointerException     if counts is null
     * @throws IllegalArgumentException unless there is one count per layer, each in [0, H_l]
     */
    public LstmConfig withGacUnits(int... counts) {
        return new LstmConfig(widths, preprocessing, p, outputScale, logEpsilon, precision, counts);
    }

    @Override
    public int[] widths() {
        return widths.clone();
    }

    @Override
    public int[] gacUnits() {
        return gacUnits.clone();
    }

    /** Whether some layer has global averaging cells. */
    public boolean averaging() {
        return Arrays.stream(gacUnits).anyMatch(g -> g > 0);
    }

    /** Number of LSTM layers L. */
    public int layers() {
        return widths.length;
    }

    /** Width of layer l. */
    public int width(int l) {
        return widths[l];
    }

    /** S, the state rows per coordinate: 2 sum_l H_l (h then c of each layer). */
    public int stateRows() {
        int sum = 0;
        for (int width : widths) {
            sum += width;
        }
        return 2 * sum;
    }

    /** R = 1 + S, the floats per coordinate per step of the backward record. */
    public int recordRows() {
        return 1 + stateRows();
    }

    /** The layout of phi. */
    public PhiLayout phiLayout() {
        return new PhiLayout(this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LstmConfig c && Arrays.equals(widths, c.widths) && preprocessing == c.preprocessing
                && Double.compare(p, c.p) == 0 && Double.compare(outputScale, c.outputScale) == 0
                && logEpsilon == c.logEpsilon && precision == c.precision && Arrays.equals(gacUnits, c.gacUnits);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(widths), preprocessing, p, outputScale, logEpsilon, precision,
                Arrays.hashCode(gacUnits));
    }

    @Override
    public String toString() {
        return "LstmConfig[widths=" + Arrays.toString(widths) + ", " + preprocessing
                + (preprocessing == Preprocessing.LOG_AND_SIGN ? "(p=" + p + (logEpsilon ? ", eps" : "") + ")" : "")
                + ", scale=" + outputScale + (precision == Precision.FLOAT32 ? "" : ", " + precision)
                + (averaging() ? ", gac=" + Arrays.toString(gacUnits) : "") + "]";
    }
}
