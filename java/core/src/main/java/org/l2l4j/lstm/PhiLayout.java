package org.l2l4j.lstm;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Where each tensor of phi lies in the flat float vector, in the order of PyTorch's
 * {@code nn.LSTM} followed by {@code nn.Linear(H, 1)}, so that a PyTorch model built from those
 * two modules loads a checkpoint: for each layer l,
 * {@code lstm.weight_ih_l<l>} [4H x in] (row-major, gate blocks i, f, g, o),
 * {@code lstm.weight_hh_l<l>} [4H x H], {@code lstm.bias_ih_l<l>} [4H], {@code lstm.bias_hh_l<l>}
 * [4H]; then {@code output.weight} [1 x H_last] and {@code output.bias} [1].
 *
 * <p>For widths (20, 20) and log-and-sign input, phi has 5,301 values.
 */
public final class PhiLayout {

    /** One named tensor of phi: its PyTorch name, shape, and offset in the flat vector. */
    public record Entry(String name, int[] shape, int offset) {
        /** Number of values. */
        public int size() {
            int s = 1;
            for (int d : shape) {
                s *= d;
            }
            return s;
        }
    }

    private final List<Entry> entries;
    private final int size;

    PhiLayout(LstmConfig config) {
        List<Entry> list = new ArrayList<>();
        int offset = 0;
        int in = config.preprocessing().inputs();
        for (int l = 0; l < config.layers(); l++) {
            int h = config.width(l);
            int[][] shapes = {{4 * h, in}, {4 * h, h}, {4 * h}, {4 * h}};
            String[] names = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
            for (int k = 0; k < 4; k++) {
                Entry e = new Entry("lstm." + names[k] + "_l" + l, shapes[k], offset);
                list.add(e);
                offset += e.size();
            }
            in = h;
        }
        list.add(new Entry("output.weight", new int[] {1, in}, offset));
        offset += in;
        list.add(new Entry("output.bias", new int[] {1}, offset));
        offset += 1;
        this.entries = Collections.unmodifiableList(list);
        this.size = offset;
    }

    /** The tensors in order. */
    public List<Entry> entries() {
        return entries;
    }

    /** Total number of values of phi. */
    public int size() {
        return size;
    }

    /** The entry named {@code name}. @throws IllegalArgumentException if there is none */
    public Entry entry(String name) {
        for (Entry e : entries) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        throw new IllegalArgumentException("phi has no tensor named " + name);
    }

    /**
     * φ rounded to float32, the precision the kernels read, from a float64 copy such as the one
     * meta-training keeps (round to nearest).
     *
     * @throws NullPointerException if {@code phi} is null
     */
    public static float[] toFloat32(double[] phi) {
        float[] f = new float[phi.length];
        for (int i = 0; i < phi.length; i++) {
            f[i] = (float) phi[i];
        }
        return f;
    }
}
