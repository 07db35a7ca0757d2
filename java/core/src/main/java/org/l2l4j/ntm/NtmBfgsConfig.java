package org.l2l4j.ntm;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;

/**
 * The architecture of an NTM-BFGS optimizer (Andrychowicz et al. 2016, appendix B): a
 * coordinatewise LSTM controller with one read head and {@code writeHeads} write heads on an
 * external memory M, one d x d matrix per optimizee instance of d coordinates ({@link NtmBfgs}
 * has the equations).
 *
 * <p><b>phi</b> is one flat vector, its tensors named and ordered as PyTorch's {@code nn.LSTM}
 * (prefix {@code lstm.}) followed by {@code nn.Linear(H_last, 2 + 2W)} (prefix {@code heads.}):
 * for each layer l, {@code lstm.weight_ih_l<l>} [4H_l x in_l] (gate blocks i, f, g, o;
 * in_0 = the preprocessing's inputs + 1, the read result), {@code lstm.weight_hh_l<l>}
 * [4H_l x H_l], {@code lstm.bias_ih_l<l>} [4H_l], {@code lstm.bias_hh_l<l>} [4H_l]; then
 * {@code heads.weight} [(2 + 2W) x H_last] and {@code heads.bias} [2 + 2W], whose rows are the
 * update, the read key, the W left write vectors and the W right write vectors.
 *
 * @param widths        H_l, the controller's LSTM widths (1 to {@value LstmConfig#MAX_LAYERS}
 *                      layers of 1 to {@value LstmConfig#MAX_WIDTH} units)
 * @param gacUnits      G_l, the global averaging cells of each controller layer (appendix B's
 *                      controller is an LSTM+GAC): the first G_l units of layer l pass on the
 *                      mean of their output over the instance's coordinates, as
 *                      {@link LstmConfig#withGacUnits} describes; one count per layer, in [0, H_l]
 * @param writeHeads    W, write heads (1 to {@value #MAX_WRITE_HEADS}); the appendix shows that
 *                      three can simulate BFGS's inverse-Hessian update
 * @param preprocessing how a gradient coordinate becomes the controller's input (paper appendix A)
 * @param p             log-and-sign's p (ignored for the identity)
 * @param outputScale   the factor on the controller's update output (finite)
 */
public record NtmBfgsConfig(int[] widths, int[] gacUnits, int writeHeads, Preprocessing preprocessing, double p,
                            double outputScale) implements Serializable {

    /** The largest number of write heads. */
    public static final int MAX_WRITE_HEADS = 16;
    /**
     * The largest optimizee instance, in coordinates: the memory is d x d float64 per instance and
     * the backward record keeps one per step, so 1,024 coordinates already take 8.4 MB per matrix.
     * Problems such as the paper's MNIST network (15,910 coordinates: 2.0 GB per matrix) are out of
     * reach; that is the appendix's point of O(n^2) memory.
     */
    public static final int MAX_DIMENSION = 1024;

    /**
     * Validates and copies the arguments.
     *
     * @throws NullPointerException     if widths, gacUnits or preprocessing is null
     * @throws IllegalArgumentException if there are no layers or too many, a width, an averaging
     *                                  count or the head count is out of range, p is outside
     *                                  LstmConfig's range with log-and-sign, or the output scale
     *                                  is not finite
     */
    public NtmBfgsConfig {
        Objects.requireNonNull(widths, "widths");
        Objects.requireNonNull(gacUnits, "gacUnits");
        Objects.requireNonNull(preprocessing, "preprocessing");
        widths = widths.clone();
        gacUnits = gacUnits.clone();
        if (widths.length < 1) {
            throw new IllegalArgumentException("the controller needs 1 to " + LstmConfig.MAX_LAYERS
                    + " LSTM layers, got 0");
        }
        LstmConfig.requireLayers(widths, gacUnits);
        if (writeHeads < 1 || writeHeads > MAX_WRITE_HEADS) {
            throw new IllegalArgumentException("write heads must be in [1, " + MAX_WRITE_HEADS + "], got "
                    + writeHeads);
        }
        if (preprocessing == Preprocessing.LOG_AND_SIGN && !(p >= LstmConfig.MIN_P && p <= LstmConfig.MAX_P)) {
            throw new IllegalArgumentException("log-and-sign p must be in [" + LstmConfig.MIN_P + ", "
                    + LstmConfig.MAX_P + "], got " + p);
        }
        if (!Double.isFinite(outputScale)) {
            throw new IllegalArgumentException("outputScale must be finite, got " + outputScale);
        }
    }

    /**
     * The setting of this library's quadratic comparison: the LSTM+GAC's controller (two layers of
     * 20 units with two averaging units each, the raw gradient as input, output scale 1) with
     * three write heads.
     */
    public static NtmBfgsConfig paperQuadratic() {
        return new NtmBfgsConfig(new int[] {20, 20}, new int[] {2, 2}, 3, Preprocessing.IDENTITY, 10, 1.0);
    }

    @Override
    public int[] widths() {
        return widths.clone();
    }

    @Override
    public int[] gacUnits() {
        return gacUnits.clone();
    }

    /** G_l. */
    public int gacUnits(int l) {
        return gacUnits[l];
    }

    /** L, the controller's layers. */
    public int layers() {
        return widths.length;
    }

    /** H_l. */
    public int width(int l) {
        return widths[l];
    }

    /** in_0: the preprocessed gradient's values and the previous read result. */
    public int controllerInputs() {
        return preprocessing.inputs() + 1;
    }

    /** 2 + 2W: the update, the read key, and the left and right write vectors. */
    public int headOutputs() {
        return 2 + 2 * writeHeads;
    }

    /** The tensors of phi, in order (see the class comment). */
    public List<PhiLayout.Entry> phiLayout() {
        List<PhiLayout.Entry> list = new ArrayList<>();
        int offset = 0;
        int in = controllerInputs();
        String[] names = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        for (int l = 0; l < widths.length; l++) {
            int h = widths[l];
            int[][] shapes = {{4 * h, in}, {4 * h, h}, {4 * h}, {4 * h}};
            for (int k = 0; k < 4; k++) {
                PhiLayout.Entry e = new PhiLayout.Entry("lstm." + names[k] + "_l" + l, shapes[k], offset);
                list.add(e);
                offset += e.size();
            }
            in = h;
        }
        PhiLayout.Entry w = new PhiLayout.Entry("heads.weight", new int[] {headOutputs(), in}, offset);
        list.add(w);
        list.add(new PhiLayout.Entry("heads.bias", new int[] {headOutputs()}, offset + w.size()));
        return Collections.unmodifiableList(list);
    }

    /** The number of values of phi. */
    public int phiSize() {
        List<PhiLayout.Entry> layout = phiLayout();
        PhiLayout.Entry last = layout.get(layout.size() - 1);
        return last.offset() + last.size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NtmBfgsConfig c && Arrays.equals(widths, c.widths) && Arrays.equals(gacUnits, c.gacUnits)
                && writeHeads == c.writeHeads
                && preprocessing == c.preprocessing && Double.compare(p, c.p) == 0
                && Double.compare(outputScale, c.outputScale) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(widths), Arrays.hashCode(gacUnits), writeHeads, preprocessing, p,
                outputScale);
    }

    @Override
    public String toString() {
        return "NTM-BFGS(controller " + Arrays.toString(widths) + (Arrays.stream(gacUnits).anyMatch(g -> g > 0)
                ? " with averaging units " + Arrays.toString(gacUnits) : "") + ", " + writeHeads + " write heads, "
                + preprocessing + (preprocessing == Preprocessing.LOG_AND_SIGN ? " p=" + p : "") + ", scale="
                + outputScale + ")";
    }
}
