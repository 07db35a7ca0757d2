package org.l2l4j.ntm;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;

/**
 * The NTM-BFGS optimizer (Andrychowicz et al. 2016, appendix B) on a batch of B optimizee
 * instances of d coordinates each, in float64, with its backward pass for truncated BPTT.
 *
 * <p>BFGS keeps an inverse-Hessian estimate M, reads the step from it (g = -M grad f: a
 * matrix-vector product) and writes it with low-rank updates.  NTM-BFGS keeps that structure and
 * learns the vectors: a coordinatewise LSTM controller (phi shared by every coordinate) emits,
 * per coordinate k, an update u_k, a read key r_k and W pairs of write vectors (a_jk, b_jk);
 * across the d coordinates of one instance these form vectors, and the instance's memory
 * M (d x d, zero at the start of a trajectory) is written by their outer products and read by the
 * key.  Step t, for coordinate k of an instance:
 *
 * <pre>
 *   x_k          = pre(grad_k f(theta_t)) ++ i_{t-1,k}        (the previous read result; 0 at t = 0)
 *   h, c         = LSTM(x_k, h, c)                            (layers as nn.LSTM, gates i, f, g, o; in
 *                                                             layer l the first G_l units' h replaced
 *                                                             by its mean over the instance's
 *                                                             coordinates: averaging cells)
 *   o_k          = heads.weight h^L_k + heads.bias             = (u_k, r_k, a_1k..a_Wk, b_1k..b_Wk)
 *   M_{t+1}      = M_t + (1/d) sum_j a_j b_j^T                 (write: W outer products)
 *   i_t          = M_{t+1} r                                   (read)
 *   Delta_k      = outputScale * u_k + i_{t,k};   theta_{t+1} = theta_t + Delta
 * </pre>
 *
 * The read result enters the controller at the next step, as in the appendix's figure 9; the
 * direct update u lets it move theta before the memory holds anything useful.  The 1/d keeps a
 * write's effect on a read independent of d.  Memory: d^2 float64 per instance, plus one such
 * matrix per recorded step, hence {@link NtmBfgsConfig#MAX_DIMENSION}.
 *
 * <p><b>Backward pass</b> ({@link #backward}): dL/dphi of a loss of the recorded steps' results
 * theta_1..theta_T, given dL/dtheta_s, with the optimizee's second derivatives dropped as for the
 * LSTM (paper section 2): the gradients fed to the controller are constants.  It flows through the
 * hidden states, the read results and the memory back to the first recorded step; the state before
 * it (the previous unroll's) is a constant, which is the truncation.
 *
 * <p>Not thread-safe.
 */
public final class NtmBfgs {
    private final NtmBfgsConfig config;
    private final int instances;
    private final int dimension;
    private final int n;
    private final int capacity;
    private final int layers;
    private final int[] width;
    private final int[] in;
    private final int outputs;
    /** Offsets of each layer's weight_ih, weight_hh, bias_ih, bias_hh in phi, then heads.weight, heads.bias. */
    private final int[] offsets;
    private final double[] phi;

    private final double[][] h;
    private final double[][] c;
    private final double[] read;
    private final double[] memory;

    /** The record of step s: the controller's input, each layer's gates, state before and after, the heads, M_{s+1}. */
    private final double[][] inputs;
    private final double[][][] gates;
    private final double[][][] hBefore;
    private final double[][][] cBefore;
    private final double[][][] hAfter;
    private final double[][][] cAfter;
    private final double[][] heads;
    private final double[][] memoryAfter;
    private int recorded;

    /** Scratch of the step (the gates' pre-activations of one coordinate, [4 max H]). */
    private final double[] z;
    /**
     * Scratch of the backward pass, allocated with a record: the carried dL/dh and dL/dc per
     * layer, dL/dDelta, the carried dL/di, dL/dM, the heads' output gradients, dL/dh^L, and per
     * layer dL/dh' (averaged) and dL/d(its input).
     */
    private final double[][] dh;
    private final double[][] dc;
    private final double[] dDelta;
    private final double[] dRead;
    private final double[] dMemory;
    private final double[] dOut;
    private final double[] dTop;
    private final double[][] dOutput;
    private final double[][] dIn;

    /**
     * An optimizer of {@code instances} instances of {@code dimension} coordinates, phi zero
     * (write one with {@link #write}), the state zero, recording up to {@code recordSteps} steps.
     *
     * @param recordSteps the steps a backward pass may cover (0: stepping only)
     * @throws IllegalArgumentException if instances or dimension is below 1, dimension exceeds
     *                                  {@link NtmBfgsConfig#MAX_DIMENSION}, recordSteps is
     *                                  negative, or the arrays would exceed 2^31 values
     */
    public NtmBfgs(NtmBfgsConfig config, int instances, int dimension, int recordSteps) {
        this.config = Objects.requireNonNull(config, "config");
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, got " + instances);
        }
        requireDimension(dimension);
        if (recordSteps < 0) {
            throw new IllegalArgumentException("recordSteps must be >= 0, got " + recordSteps);
        }
        long coordinates = (long) instances * dimension;
        long memoryValues = coordinates * dimension;
        if (memoryValues * Math.max(1, recordSteps) > Integer.MAX_VALUE - 8
                || coordinates * 4 * Arrays.stream(config.widths()).max().orElseThrow() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(instances + " instances of " + dimension + " coordinates recording "
                    + recordSteps + " steps are too many for NTM-BFGS's memory (d^2 values per instance and step)");
        }
        this.instances = instances;
        this.dimension = dimension;
        this.n = (int) coordinates;
        this.capacity = recordSteps;
        this.layers = config.layers();
        this.width = config.widths();
        this.in = new int[layers];
        this.outputs = config.headOutputs();
        List<PhiLayout.Entry> layout = config.phiLayout();
        this.offsets = layout.stream().mapToInt(PhiLayout.Entry::offset).toArray();
        this.phi = new double[config.phiSize()];
        for (int l = 0; l < layers; l++) {
            in[l] = l == 0 ? config.controllerInputs() : width[l - 1];
        }
        h = new double[layers][];
        c = new double[layers][];
        for (int l = 0; l < layers; l++) {
            h[l] = new double[n * width[l]];
            c[l] = new double[n * width[l]];
        }
        read = new double[n];
        memory = new double[(int) memoryValues];
        int slots = Math.max(1, capacity);
        inputs = new double[slots][];
        gates = new double[slots][layers][];
        hBefore = new double[slots][layers][];
        cBefore = new double[slots][layers][];
        hAfter = new double[slots][layers][];
        cAfter = new double[slots][layers][];
        heads = new double[slots][];
        memoryAfter = new double[slots][];
        z = new double[4 * Arrays.stream(width).max().orElseThrow()];
        boolean backward = capacity > 0;
        dh = new double[layers][];
        dc = new double[layers][];
        dOutput = new double[layers][];
        dIn = new double[layers][];
        for (int l = 0; l < layers && backward; l++) {
            dh[l] = new double[n * width[l]];
            dc[l] = new double[n * width[l]];
            dOutput[l] = new double[n * width[l]];
            dIn[l] = new double[n * in[l]];
        }
        dDelta = backward ? new double[n] : null;
        dRead = backward ? new double[n] : null;
        dMemory = backward ? new double[memory.length] : null;
        dOut = backward ? new double[n * outputs] : null;
        dTop = backward ? new double[n * width[layers - 1]] : null;
    }

    /**
     * @throws IllegalArgumentException if d is below 1 or above {@link NtmBfgsConfig#MAX_DIMENSION}
     */
    public static void requireDimension(long dimension) {
        if (dimension < 1 || dimension > NtmBfgsConfig.MAX_DIMENSION) {
            throw new IllegalArgumentException("NTM-BFGS keeps a d x d memory per optimizee instance, so it takes"
                    + " 1 to " + NtmBfgsConfig.MAX_DIMENSION + " coordinates per instance; got " + dimension
                    + (dimension > NtmBfgsConfig.MAX_DIMENSION ? " (" + Math.round(dimension * (double) dimension
                    * 8 / 1e6) + " MB per memory matrix): use the coordinatewise LSTM for problems of this size"
                    : ""));
        }
    }

    /**
     * Initial phi: PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every LSTM tensor of a layer of width
     * H; for the heads, zeros for the update row (an untrained optimizer leaves theta unchanged,
     * as the LSTM's default) and U(-0.1/sqrt(H_last), 0.1/sqrt(H_last)) for the key and write rows
     * (their products a b^T would have zero gradient if both started at zero); head biases zero.
     */
    public static double[] initialPhi(NtmBfgsConfig config, long seed) {
        Objects.requireNonNull(config, "config");
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] p = new double[config.phiSize()];
        List<PhiLayout.Entry> layout = config.phiLayout();
        for (int l = 0; l < config.layers(); l++) {
            double bound = 1 / Math.sqrt(config.width(l));
            for (int k = 0; k < 4; k++) {
                PhiLayout.Entry e = layout.get(4 * l + k);
                for (int i = 0; i < e.size(); i++) {
                    p[e.offset() + i] = (2 * rnd.nextDouble() - 1) * bound;
                }
            }
        }
        PhiLayout.Entry w = layout.get(4 * config.layers());
        int top = config.width(config.layers() - 1);
        double bound = 0.1 / Math.sqrt(top);
        for (int i = top; i < w.size(); i++) {
            p[w.offset() + i] = (2 * rnd.nextDouble() - 1) * bound;
        }
        return p;
    }

    public NtmBfgsConfig config() {
        return config;
    }

    /** B. */
    public int instances() {
        return instances;
    }

    /** d, coordinates per instance. */
    public int dimension() {
        return dimension;
    }

    /** Steps recorded since the last {@link #reset} or {@link #truncate}. */
    public int recorded() {
        return recorded;
    }

    /**
     * Sets phi (copied).
     *
     * @throws IllegalArgumentException if its length is not {@link NtmBfgsConfig#phiSize()} or a
     *                                  value is not finite; phi is then unchanged
     */
    public void write(double[] newPhi) {
        Objects.requireNonNull(newPhi, "phi");
        if (newPhi.length != phi.length) {
            throw new IllegalArgumentException("phi has " + newPhi.length + " values, " + config + " has "
                    + phi.length);
        }
        requireFinite(newPhi, "phi");
        System.arraycopy(newPhi, 0, phi, 0, phi.length);
    }

    /** The start of a trajectory: hidden state, read results and memory zero, the record empty. */
    public void reset() {
        for (int l = 0; l < layers; l++) {
            Arrays.fill(h[l], 0);
            Arrays.fill(c[l], 0);
        }
        Arrays.fill(read, 0);
        Arrays.fill(memory, 0);
        recorded = 0;
    }

    /**
     * A copy of the state a trajectory carries from step to step, by name: for each layer l
     * {@code lstm.h_l<l>} and {@code lstm.c_l<l>} (float64 [B d x H_l], coordinate-major; h after
     * averaging), {@code read} (the last read result, [B d]) and {@code memory} ([B x d x d],
     * row-major per instance).
     */
    public Map<String, double[]> state() {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            out.put("lstm.h_l" + l, h[l].clone());
            out.put("lstm.c_l" + l, c[l].clone());
        }
        out.put("read", read.clone());
        out.put("memory", memory.clone());
        return out;
    }

    /** The shapes of {@link #state()}'s tensors for B instances of d coordinates, by name. */
    public static Map<String, long[]> stateShapes(NtmBfgsConfig config, int instances, int dimension) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long n = (long) instances * dimension;
        for (int l = 0; l < config.layers(); l++) {
            out.put("lstm.h_l" + l, new long[] {n, config.width(l)});
            out.put("lstm.c_l" + l, new long[] {n, config.width(l)});
        }
        out.put("read", new long[] {n});
        out.put("memory", new long[] {instances, dimension, dimension});
        return out;
    }

    /**
     * Continues a trajectory from a {@link #state()} (copied); the record is emptied.
     *
     * @throws IllegalArgumentException if a tensor is missing or extra, of another length, or
     *                                  holds a non-finite value; the state is then unchanged
     */
    public void restoreState(Map<String, double[]> saved) {
        Objects.requireNonNull(saved, "state");
        Map<String, double[]> live = state();
        if (!saved.keySet().equals(live.keySet())) {
            throw new IllegalArgumentException("the state holds " + saved.keySet() + ", expected " + live.keySet());
        }
        for (Map.Entry<String, double[]> e : saved.entrySet()) {
            if (e.getValue().length != live.get(e.getKey()).length) {
                throw new IllegalArgumentException("state tensor " + e.getKey() + " has " + e.getValue().length
                        + " values, expected " + live.get(e.getKey()).length);
            }
            requireFinite(e.getValue(), "state tensor " + e.getKey());
        }
        for (int l = 0; l < layers; l++) {
            System.arraycopy(saved.get("lstm.h_l" + l), 0, h[l], 0, h[l].length);
            System.arraycopy(saved.get("lstm.c_l" + l), 0, c[l], 0, c[l].length);
        }
        System.arraycopy(saved.get("read"), 0, read, 0, read.length);
        System.arraycopy(saved.get("memory"), 0, memory, 0, memory.length);
        recorded = 0;
    }

    /**
     * Empties the record: the state carries on, but the next backward pass stops at the next
     * step (a truncation).
     */
    public void truncate() {
        recorded = 0;
    }

    /**
     * One step over every coordinate (see the class comment), recording it when the record has
     * room for it.
     *
     * @param gradient grad f(theta_t) of every instance, instance-major, float64 [B d]; not modified
     * @param delta    receives Delta, [B d]
     * @throws IllegalArgumentException if a length is wrong or a gradient value is not finite;
     *                                  nothing is then written and the state is unchanged
     * @throws IllegalStateException    if the optimizer records and its record is full
     */
    public void step(double[] gradient, double[] delta) {
        Objects.requireNonNull(gradient, "gradient");
        Objects.requireNonNull(delta, "delta");
        requireLength(gradient, "gradient");
        requireLength(delta, "delta");
        requireFinite(gradient, "gradient");
        if (capacity > 0 && recorded == capacity) {
            throw new IllegalStateException("the record holds " + capacity + " steps: run the backward pass and"
                    + " truncate() first");
        }
        // Without a record (capacity 0) the step runs in slot 0, overwritten by the next one.
        int s = capacity > 0 ? recorded : 0;
        int in0 = in[0];
        double[] u0 = buffer(inputs, s, n * in0);
        int pre = config.preprocessing().inputs();
        for (int k = 0; k < n; k++) {
            preprocess(gradient[k], u0, k * in0);
            u0[k * in0 + pre] = read[k];
        }
        double[] below = u0;
        for (int l = 0; l < layers; l++) {
            int hl = width[l];
            System.arraycopy(h[l], 0, buffer(hBefore[s], l, n * hl), 0, n * hl);
            System.arraycopy(c[l], 0, buffer(cBefore[s], l, n * hl), 0, n * hl);
            layerForward(l, below, buffer(gates[s], l, n * 4 * hl));
            averageUnits(h[l], l);
            System.arraycopy(h[l], 0, buffer(hAfter[s], l, n * hl), 0, n * hl);
            System.arraycopy(c[l], 0, buffer(cAfter[s], l, n * hl), 0, n * hl);
            below = h[l];
        }
        double[] o = buffer(heads, s, n * outputs);
        headsForward(below, o);
        writeAndRead(o);
        for (int k = 0; k < n; k++) {
            delta[k] = config.outputScale() * o[k * outputs] + read[k];
        }
        if (capacity > 0) {
            System.arraycopy(memory, 0, buffer(memoryAfter, s, memory.length), 0, memory.length);
            recorded++;
        }
    }

    /** The array at {@code a[i]}, allocated on first use. */
    private static double[] buffer(double[][] a, int i, int size) {
        if (a[i] == null) {
            a[i] = new double[size];
        }
        return a[i];
    }

    private void preprocess(double x, double[] out, int at) {
        if (config.preprocessing() == Preprocessing.IDENTITY) {
            out[at] = x;
        } else {
            double p = config.p();
            out[at] = Math.max(Math.log(Math.max(Math.abs(x), Float.MIN_NORMAL)) / p, -1);
            out[at + 1] = Math.max(-1, Math.min(1, x * Math.exp(p)));
        }
    }

    /** Layer l over every coordinate: reads its input {@code below}, updates h[l] and c[l], writes the gates. */
    private void layerForward(int l, double[] below, double[] g) {
        int hl = width[l];
        int il = in[l];
        int wih = offsets[4 * l];
        int whh = offsets[4 * l + 1];
        int bih = offsets[4 * l + 2];
        int bhh = offsets[4 * l + 3];
        for (int k = 0; k < n; k++) {
            for (int r = 0; r < 4 * hl; r++) {
                double sum = phi[bih + r] + phi[bhh + r];
                int wi = wih + r * il;
                for (int j = 0; j < il; j++) {
                    sum += phi[wi + j] * below[k * il + j];
                }
                int wh = whh + r * hl;
                for (int j = 0; j < hl; j++) {
                    sum += phi[wh + j] * h[l][k * hl + j];
                }
                z[r] = sum;
            }
            for (int j = 0; j < hl; j++) {
                double ig = sigmoid(z[j]);
                double fg = sigmoid(z[hl + j]);
                double gg = Math.tanh(z[2 * hl + j]);
                double og = sigmoid(z[3 * hl + j]);
                int at = k * 4 * hl;
                g[at + j] = ig;
                g[at + hl + j] = fg;
                g[at + 2 * hl + j] = gg;
                g[at + 3 * hl + j] = og;
                double cNew = fg * c[l][k * hl + j] + ig * gg;
                c[l][k * hl + j] = cNew;
                h[l][k * hl + j] = og * Math.tanh(cNew);
            }
        }
    }

    /**
     * Replaces the first G_l units of {@code v} (layer l's [n x H_l] values) by their means over
     * each instance's coordinates: the averaging cells' outputs in the step, and in the backward
     * pass the gradient that reaches each coordinate's own output through the mean.
     */
    private void averageUnits(double[] v, int l) {
        int hl = width[l];
        for (int b = 0; b < instances; b++) {
            for (int j = 0; j < config.gacUnits(l); j++) {
                double sum = 0;
                for (int k = b * dimension; k < (b + 1) * dimension; k++) {
                    sum += v[k * hl + j];
                }
                double mean = sum / dimension;
                for (int k = b * dimension; k < (b + 1) * dimension; k++) {
                    v[k * hl + j] = mean;
                }
            }
        }
    }

    private void headsForward(double[] top, double[] o) {
        int hl = width[layers - 1];
        int w = offsets[4 * layers];
        int b = offsets[4 * layers + 1];
        for (int k = 0; k < n; k++) {
            for (int r = 0; r < outputs; r++) {
                double sum = phi[b + r];
                for (int j = 0; j < hl; j++) {
                    sum += phi[w + r * hl + j] * top[k * hl + j];
                }
                o[k * outputs + r] = sum;
            }
        }
    }

    /** M += (1/d) sum_j a_j b_j^T, then read = M r, per instance. */
    private void writeAndRead(double[] o) {
        int d = dimension;
        int heads = config.writeHeads();
        double scale = 1.0 / d;
        for (int b = 0; b < instances; b++) {
            int base = b * d;
            int m0 = b * d * d;
            for (int p = 0; p < d; p++) {
                for (int q = 0; q < d; q++) {
                    double sum = 0;
                    for (int j = 0; j < heads; j++) {
                        sum += o[(base + p) * outputs + 2 + j] * o[(base + q) * outputs + 2 + heads + j];
                    }
                    memory[m0 + p * d + q] += scale * sum;
                }
            }
            for (int p = 0; p < d; p++) {
                double sum = 0;
                for (int q = 0; q < d; q++) {
                    sum += memory[m0 + p * d + q] * o[(base + q) * outputs + 1];
                }
                read[base + p] = sum;
            }
        }
    }

    /**
     * dL/dphi of a loss L(theta_1..theta_T) of the recorded steps' results, the optimizee's second
     * derivatives dropped (see the class comment); the record is kept.
     *
     * @param dTheta dTheta[s] = dL/dtheta_{s+1}, the gradient at the parameters that recorded
     *               step s produced, float64 [B d] each; {@link #recorded()} of them
     * @param dphi   receives dL/dphi, [phiSize] (overwritten)
     * @throws IllegalArgumentException if the counts or lengths are wrong or a value is not finite
     * @throws IllegalStateException    if nothing is recorded
     */
    public void backward(double[][] dTheta, double[] dphi) {
        Objects.requireNonNull(dTheta, "dTheta");
        Objects.requireNonNull(dphi, "dphi");
        if (recorded == 0) {
            throw new IllegalStateException("no step is recorded" + (capacity == 0 ? " (this optimizer was made"
                    + " with recordSteps 0)" : ""));
        }
        if (dTheta.length != recorded) {
            throw new IllegalArgumentException("dTheta has " + dTheta.length + " steps, " + recorded
                    + " are recorded");
        }
        for (double[] v : dTheta) {
            Objects.requireNonNull(v, "dTheta[s]");
            requireLength(v, "dTheta[s]");
            requireFinite(v, "dTheta");
        }
        if (dphi.length != phi.length) {
            throw new IllegalArgumentException("dphi has " + dphi.length + " values, phi " + phi.length);
        }
        Arrays.fill(dphi, 0);
        for (int l = 0; l < layers; l++) {
            Arrays.fill(dh[l], 0);
            Arrays.fill(dc[l], 0);
        }
        Arrays.fill(dDelta, 0);
        Arrays.fill(dRead, 0);
        Arrays.fill(dMemory, 0);
        for (int s = recorded - 1; s >= 0; s--) {
            for (int k = 0; k < n; k++) {
                dDelta[k] += dTheta[s][k];
            }
            headsAndMemoryBackward(s);
            double[] dAbove = headsBackward(s, dphi);
            for (int l = layers - 1; l >= 0; l--) {
                dAbove = layerBackward(s, l, dAbove, dphi);
            }
            int in0 = in[0];
            int pre = config.preprocessing().inputs();
            for (int k = 0; k < n; k++) {
                dRead[k] = dAbove[k * in0 + pre];
            }
        }
    }

    /**
     * Step s's read and write backward: from dL/dDelta_s, dL/di_s carried from step s + 1's input
     * ({@code dRead}, replaced) and dL/dM_{s+1} of later reads ({@code dMemory}, updated to
     * dL/dM_s), the heads' output gradients {@code dOut}.
     */
    private void headsAndMemoryBackward(int s) {
        int d = dimension;
        int hw = config.writeHeads();
        double scale = 1.0 / d;
        double[] o = heads[s];
        double[] m = memoryAfter[s];
        for (int k = 0; k < n; k++) {
            dRead[k] += dDelta[k];
        }
        for (int b = 0; b < instances; b++) {
            int base = b * d;
            int m0 = b * d * d;
            for (int p = 0; p < d; p++) {
                double di = dRead[base + p];
                for (int q = 0; q < d; q++) {
                    dMemory[m0 + p * d + q] += di * o[(base + q) * outputs + 1];
                }
            }
            for (int q = 0; q < d; q++) {
                double sum = 0;
                for (int p = 0; p < d; p++) {
                    sum += m[m0 + p * d + q] * dRead[base + p];
                }
                dOut[(base + q) * outputs + 1] = sum;
            }
            for (int j = 0; j < hw; j++) {
                for (int p = 0; p < d; p++) {
                    double da = 0;
                    double db = 0;
                    for (int q = 0; q < d; q++) {
                        da += dMemory[m0 + p * d + q] * o[(base + q) * outputs + 2 + hw + j];
                        db += dMemory[m0 + q * d + p] * o[(base + q) * outputs + 2 + j];
                    }
                    dOut[(base + p) * outputs + 2 + j] = scale * da;
                    dOut[(base + p) * outputs + 2 + hw + j] = scale * db;
                }
            }
        }
        for (int k = 0; k < n; k++) {
            dOut[k * outputs] = config.outputScale() * dDelta[k];
        }
    }

    /** The heads' backward for step s, from {@code dOut}: adds into dphi and returns dL/dh^L. */
    private double[] headsBackward(int s, double[] dphi) {
        int hl = width[layers - 1];
        int w = offsets[4 * layers];
        int b = offsets[4 * layers + 1];
        double[] top = hAfter[s][layers - 1];
        Arrays.fill(dTop, 0);
        for (int k = 0; k < n; k++) {
            for (int r = 0; r < outputs; r++) {
                double g = dOut[k * outputs + r];
                dphi[b + r] += g;
                for (int j = 0; j < hl; j++) {
                    dphi[w + r * hl + j] += g * top[k * hl + j];
                    dTop[k * hl + j] += g * phi[w + r * hl + j];
                }
            }
        }
        return dTop;
    }

    /**
     * Layer l's backward at step s: dL/dh' is {@code dAbove} plus the carried dL/dh of the layer
     * (from step s + 1), its averaging units' parts replaced by their instance means; dL/dc' is
     * the carried dL/dc; both are replaced by their values for step s - 1.  Adds into dphi and
     * returns dL/d(the layer's input).
     */
    private double[] layerBackward(int s, int l, double[] dAbove, double[] dphi) {
        double[] dh = this.dh[l];
        double[] dc = this.dc[l];
        int hl = width[l];
        int il = in[l];
        int wih = offsets[4 * l];
        int whh = offsets[4 * l + 1];
        int bih = offsets[4 * l + 2];
        int bhh = offsets[4 * l + 3];
        double[] g = gates[s][l];
        double[] cPrev = cBefore[s][l];
        double[] hPrev = hBefore[s][l];
        double[] cNew = cAfter[s][l];
        double[] below = l == 0 ? inputs[s] : hAfter[s][l - 1];
        double[] dIn = this.dIn[l];
        double[] dz = z;
        double[] dOutput = this.dOutput[l];
        Arrays.fill(dIn, 0);
        for (int i = 0; i < dOutput.length; i++) {
            dOutput[i] = dAbove[i] + dh[i];
        }
        averageUnits(dOutput, l);
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < hl; j++) {
                int at = k * 4 * hl;
                double ig = g[at + j];
                double fg = g[at + hl + j];
                double gg = g[at + 2 * hl + j];
                double og = g[at + 3 * hl + j];
                double tc = Math.tanh(cNew[k * hl + j]);
                double dhj = dOutput[k * hl + j];
                double dcj = dc[k * hl + j] + dhj * og * (1 - tc * tc);
                dz[j] = dcj * gg * ig * (1 - ig);
                dz[hl + j] = dcj * cPrev[k * hl + j] * fg * (1 - fg);
                dz[2 * hl + j] = dcj * ig * (1 - gg * gg);
                dz[3 * hl + j] = dhj * tc * og * (1 - og);
                dc[k * hl + j] = dcj * fg;
            }
            for (int j = 0; j < hl; j++) {
                dh[k * hl + j] = 0;
            }
            for (int r = 0; r < 4 * hl; r++) {
                double z = dz[r];
                dphi[bih + r] += z;
                dphi[bhh + r] += z;
                int wi = wih + r * il;
                for (int j = 0; j < il; j++) {
                    dphi[wi + j] += z * below[k * il + j];
                    dIn[k * il + j] += z * phi[wi + j];
                }
                int wh = whh + r * hl;
                for (int j = 0; j < hl; j++) {
                    dphi[wh + j] += z * hPrev[k * hl + j];
                    dh[k * hl + j] += z * phi[wh + j];
                }
            }
        }
        return dIn;
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    private void requireLength(double[] v, String name) {
        if (v.length != n) {
            throw new IllegalArgumentException(name + " has " + v.length + " values, expected B d = " + instances
                    + " x " + dimension + " = " + n);
        }
    }

    private static void requireFinite(double[] v, String name) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new IllegalArgumentException(name + " holds " + v[i] + " at index " + i + "; nothing was written");
            }
        }
    }
}
