package org.l2l4j.optimizers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.PhiInit;

/**
 * Parameter tensors of every kind a training loop may register, of different sizes, with a
 * deterministic optimizee: f(theta) = sum_i a_i (theta_i - b_i)^2 / 2 over all coordinates in
 * registration order, gradient a_i (theta_i - b_i), with a_i log-uniform in [1e-3, 1e1] and
 * b_i, theta_0 uniform in [-1, 1].  Closes its JavaCPP pointers.
 */
final class MixedTensors implements AutoCloseable {

    /** How one tensor's parameter and gradient are held. */
    enum Holder {
        /** float[] */
        ARRAY,
        /** a heap FloatBuffer over the middle of a larger array */
        HEAP_SLICE,
        /** a direct FloatBuffer in native order */
        DIRECT,
        /** a direct FloatBuffer in big-endian order (not usable in place) */
        DIRECT_BIG_ENDIAN,
        /** a JavaCPP FloatPointer with a non-zero position */
        POINTER
    }

    private record Entry(String name, Holder holder, int size, Object parameter, Object gradient,
                         FloatBuffer parameterView, FloatBuffer gradientView) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final List<FloatPointer> pointers = new ArrayList<>();
    private final double[] a;
    private final double[] b;
    private final int n;

    /** One tensor per holder, of the given sizes, in holder order; random targets from seed. */
    MixedTensors(long seed, int... sizes) {
        this(seed, Holder.values(), sizes);
    }

    MixedTensors(long seed, Holder[] holders, int... sizes) {
        int total = 0;
        for (int k = 0; k < sizes.length; k++) {
            entries.add(entry("t" + k + "." + holders[k % holders.length].name().toLowerCase(),
                    holders[k % holders.length], sizes[k]));
            total += sizes[k];
        }
        n = total;
        SplittableRandom rnd = new SplittableRandom(seed);
        a = new double[n];
        b = new double[n];
        float[] theta0 = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = Math.pow(10, -3 + 4 * rnd.nextDouble());
            b[i] = 2 * rnd.nextDouble() - 1;
            theta0[i] = (float) (2 * rnd.nextDouble() - 1);
        }
        setParameters(theta0);
        setGradients(new float[n]); // a FloatPointer's memory starts undefined
    }

    private Entry entry(String name, Holder holder, int size) {
        return switch (holder) {
            case ARRAY -> {
                float[] p = new float[size];
                float[] g = new float[size];
                yield new Entry(name, holder, size, p, g, FloatBuffer.wrap(p), FloatBuffer.wrap(g));
            }
            case HEAP_SLICE -> {
                FloatBuffer p = FloatBuffer.wrap(new float[size + 7], 3, size);
                FloatBuffer g = FloatBuffer.wrap(new float[size + 5], 5, size);
                yield new Entry(name, holder, size, p, g, p.slice(), g.slice());
            }
            case DIRECT, DIRECT_BIG_ENDIAN -> {
                ByteOrder order = holder == Holder.DIRECT ? ByteOrder.nativeOrder() : ByteOrder.BIG_ENDIAN;
                FloatBuffer p = ByteBuffer.allocateDirect(4 * size).order(order).asFloatBuffer();
                FloatBuffer g = ByteBuffer.allocateDirect(4 * size).order(order).asFloatBuffer();
                yield new Entry(name, holder, size, p, g, p.duplicate(), g.duplicate());
            }
            case POINTER -> {
                FloatPointer p = new FloatPointer(size + 2).position(2);
                FloatPointer g = new FloatPointer(size + 1).position(1);
                pointers.add(p);
                pointers.add(g);
                yield new Entry(name, holder, size, p, g, p.asBuffer(), g.asBuffer());
            }
        };
    }

    /** n, all tensors' coordinates. */
    int coordinates() {
        return n;
    }

    /** The tensor names, in order. */
    List<String> names() {
        return entries.stream().map(Entry::name).toList();
    }

    /** The sizes, in order. */
    int[] sizes() {
        return entries.stream().mapToInt(Entry::size).toArray();
    }

    /** Registers the tensors whose names {@code which} accepts, in order. */
    void register(ParameterOptimizer optimizer, java.util.function.Predicate<String> which) {
        for (Entry e : entries) {
            if (which.test(e.name)) {
                switch (e.holder) {
                    case ARRAY -> optimizer.register(e.name, (float[]) e.parameter, (float[]) e.gradient);
                    case POINTER -> optimizer.register(e.name, (FloatPointer) e.parameter, (FloatPointer) e.gradient);
                    default -> optimizer.register(e.name, (FloatBuffer) e.parameter, (FloatBuffer) e.gradient);
                }
            }
        }
    }

    /** Registers every tensor, in order. */
    void register(ParameterOptimizer optimizer) {
        register(optimizer, name -> true);
    }

    /** The parameters of every tensor, concatenated in order. */
    float[] parameters() {
        return gather(true);
    }

    /** The gradients of every tensor, concatenated in order. */
    float[] gradients() {
        return gather(false);
    }

    private float[] gather(boolean parameters) {
        float[] out = new float[n];
        int at = 0;
        for (Entry e : entries) {
            (parameters ? e.parameterView : e.gradientView).get(0, out, at, e.size);
            at += e.size;
        }
        return out;
    }

    void setParameters(float[] values) {
        scatter(values, true);
    }

    void setGradients(float[] values) {
        scatter(values, false);
    }

    private void scatter(float[] values, boolean parameters) {
        int at = 0;
        for (Entry e : entries) {
            (parameters ? e.parameterView : e.gradientView).put(0, values, at, e.size);
            at += e.size;
        }
    }

    /** Writes the optimizee's gradient at the current parameters into the gradient tensors; returns f. */
    double computeGradients() {
        float[] theta = parameters();
        float[] g = new float[n];
        double f = 0;
        for (int i = 0; i < n; i++) {
            double d = theta[i] - b[i];
            g[i] = (float) (a[i] * d);
            f += a[i] * d * d / 2;
        }
        setGradients(g);
        return f;
    }

    @Override
    public void close() {
        pointers.forEach(FloatPointer::close);
    }

    /** A checkpoint of {@code config} with every tensor of phi random (output layer included). */
    static OptimizerCheckpoint checkpoint(LstmConfig config, long seed) {
        double[] d = PhiInit.PYTORCH.initialize(config, seed);
        float[] phi = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            phi[i] = (float) d[i];
        }
        return new OptimizerCheckpoint(config, phi, java.util.Map.of());
    }
}
