package org.l2l4j.optimizees;

import java.util.List;
import org.l2l4j.data.Dataset;
import org.l2l4j.optimizees.MlpSpec.Activation;

/**
 * A plain double-precision MLP written from the documented layout (per layer: W [out x in]
 * row-major, then b [out]), as the independent reference for {@link MlpFamily}'s BLAS
 * implementation.
 */
final class ReferenceMlp {

    private final int[] widths;
    private final Activation activation;

    ReferenceMlp(int features, List<Integer> hidden, int classes, Activation activation) {
        widths = new int[hidden.size() + 2];
        widths[0] = features;
        for (int i = 0; i < hidden.size(); i++) {
            widths[i + 1] = hidden.get(i);
        }
        widths[widths.length - 1] = classes;
        this.activation = activation;
    }

    int parameterCount() {
        int count = 0;
        for (int l = 0; l + 1 < widths.length; l++) {
            count += widths[l + 1] * widths[l] + widths[l + 1];
        }
        return count;
    }

    /** Logits of one example. */
    double[] logits(double[] theta, Dataset data, int example) {
        double[] a = new double[widths[0]];
        for (int j = 0; j < a.length; j++) {
            a[j] = data.images()[example * widths[0] + j];
        }
        int offset = 0;
        for (int l = 0; l + 1 < widths.length; l++) {
            int in = widths[l];
            int out = widths[l + 1];
            double[] z = new double[out];
            for (int o = 0; o < out; o++) {
                double sum = theta[offset + in * out + o];
                for (int i = 0; i < in; i++) {
                    sum += theta[offset + o * in + i] * a[i];
                }
                boolean hidden = l + 2 < widths.length;
                z[o] = !hidden ? sum
                        : activation == Activation.SIGMOID ? 1 / (1 + Math.exp(-sum)) : Math.max(sum, 0);
            }
            offset += in * out + out;
            a = z;
        }
        return a;
    }

    /** Cross-entropy of one example: log sum exp(z) - z_label. */
    double loss(double[] theta, Dataset data, int example) {
        double[] z = logits(theta, data, example);
        double sum = 0;
        for (double v : z) {
            sum += Math.exp(v);
        }
        return Math.log(sum) - z[data.labels()[example]];
    }

    /** Mean cross-entropy over {@code batch}. */
    double meanLoss(double[] theta, Dataset data, int[] batch) {
        double total = 0;
        for (int e : batch) {
            total += loss(theta, data, e);
        }
        return total / batch.length;
    }
}
