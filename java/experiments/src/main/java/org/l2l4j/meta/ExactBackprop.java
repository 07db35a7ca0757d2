package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;

/**
 * Truncated backpropagation through time with the optimizee's second derivatives kept (paper
 * section 2 without "d grad_t / d phi = 0"): the exact dL/dphi of an unroll's meta-loss
 * L = c sum_{t=1..T} sum_b f_b(theta_t) (c = 1/B, or 1 with batch-mean inputs).  With
 * theta_{t+1} = theta_t + delta_t, [delta_t, h_{t+1}] = m(x_t, h_t; phi) and x_t = k grad f(theta_t)
 * (k the input scale), the total derivative a_t = dL/d theta_t obeys
 * <pre>
 *     a_T = c x_T                                      (x as recorded: c x_t = dL/d theta_t of f's term)
 *     dL/d delta_s = a_{s+1}
 *     a_s = a_{s+1} + c x_s + k H(theta_s) dL/dx_s     (s = T-1, ..., 1)
 * </pre>
 * where dL/dx_s comes from the LSTM's backward pass of step s alone
 * ({@link org.l2l4j.lstm.CoordinatewiseLstm#backwardStep}, which also carries dL/dh from step
 * s + 1 down to step s and gives that step's part of dL/dphi).  Dropping the H term gives
 * {@link TruncatedBackprop}'s dL/d delta_s = c sum_{t>s} x_t.  With parameter groups, each group
 * runs its own backward step on its coordinates; the Hessian-vector product acts on the whole
 * theta of each instance.
 *
 * <p>Cost: T backward calls per group instead of one, and B Hessian-vector products per step
 * on the host ({@link Optimizee#hessianVectorProduct}, from optimizees sampled with the batch's
 * seeds, each on the minibatch of its evaluation at step s); theta_s and x_s of every step are
 * copied to the host (2 T B d floats per unroll).  For the optimizees with exact products
 * (quadratics, MLPs); imitation is not supported.
 */
final class ExactBackprop extends TimedEstimator {
    private final GroupedLstm lstm;
    private final OptimizeeBatch batch;
    private final OptimizeeFamily family;
    private final double gradScale;
    private final double inputScale;
    private final int instances;
    private final int dimension;
    /** Per group: dL/d delta_s, dL/dx_s, two state gradients used in turn, and one step's dL/dphi_g. */
    private final List<NativeBuffer> ddelta = new ArrayList<>();
    private final List<NativeBuffer> dx = new ArrayList<>();
    private final List<NativeBuffer[]> dstate = new ArrayList<>();
    private final List<NativeBuffer> dphiStep = new ArrayList<>();
    /** Per group, the batch coordinate of each of its coordinates. */
    private final int[][] batchIndices;
    /** theta_s [steps][B d] and x_s [steps + 1][B d] of the current unroll, on the host. */
    private final float[][] thetas;
    private final float[][] inputs;
    private final double[] total;
    private final float[] hostGroup;
    private final float[] v;
    private final float[] instanceTheta;
    private final float[] instanceV;
    private final float[] product;
    /** One step's dL/dphi_g on the host (the largest group's length). */
    private final double[] stepDphi;
    private Optimizee[] optimizees;

    /**
     * @param family     the batch's family (the optimizees it evaluates), with Hessian-vector products
     * @param metaBatch  B, the instances of the whole meta-batch (see {@link TruncatedBackprop})
     * @param longest    the longest unroll the trainer will ask for
     * @param gradScale  c above: 1/B, or 1 with batch-mean inputs
     * @param inputScale k above: the factor on the gradients the LSTM sees (1, or 1/B)
     * @throws IllegalArgumentException if the family has no Hessian-vector products, or a group owns
     *                                  no coordinate of the batch
     */
    ExactBackprop(Backend backend, GroupedLstm lstm, OptimizeeBatch batch, OptimizeeFamily family, int metaBatch,
                  int longest, double gradScale, double inputScale) {
        this.lstm = Objects.requireNonNull(lstm, "lstm");
        this.batch = Objects.requireNonNull(batch, "batch");
        this.family = Objects.requireNonNull(family, "family");
        if (!family.hasHessianVectorProducts()) {
            throw new IllegalArgumentException("exact second derivatives need Hessian-vector products, which the"
                    + " optimizees of " + family.name() + " do not offer (quadratics and MLPs do): use dropped second"
                    + " derivatives");
        }
        this.gradScale = gradScale;
        this.inputScale = inputScale;
        this.instances = metaBatch;
        this.dimension = family.dimension();
        ParameterGroups groups = lstm.groups();
        batchIndices = new int[groups.count()][];
        int widest = 0;
        for (int g = 0; g < groups.count(); g++) {
            batchIndices[g] = batch.layout().batchIndices(g);
            if (batchIndices[g].length == 0) {
                throw new IllegalArgumentException("parameter group '" + groups.get(g).name()
                        + "' owns no coordinate of the batch: its phi cannot be trained");
            }
            widest = Math.max(widest, batchIndices[g].length);
        }
        try {
            for (int g = 0; g < groups.count(); g++) {
                long ng = batchIndices[g].length;
                long state = (long) groups.get(g).config().stateRows() * ng;
                ddelta.add(backend.allocateFloats(ng));
                dx.add(backend.allocateFloats(ng));
                // a stateless optimizer (the learned linear rule) carries no state gradient between steps
                dstate.add(state == 0 ? new NativeBuffer[2]
                        : new NativeBuffer[] {backend.allocateFloats(state), backend.allocateFloats(state)});
                dphiStep.add(backend.allocateDoubles(lstm.lstm(g).phiSize()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        int n = Math.toIntExact(batch.coordinates());
        thetas = new float[longest][n];
        inputs = new float[longest + 1][n];
        total = new double[n];
        hostGroup = new float[widest];
        v = new float[n];
        instanceTheta = new float[dimension];
        instanceV = new float[dimension];
        product = new float[dimension];
        stepDphi = new double[dphiStep.stream().mapToInt(b -> (int) b.length()).max().orElse(0)];
    }

    @Override
    public void startTrajectory(int epoch) {
        long[] seeds = batch.seeds();
        optimizees = new Optimizee[seeds.length];
        for (int b = 0; b < seeds.length; b++) {
            optimizees[b] = family.sample(seeds[b]);
        }
    }

    @Override
    public double unroll(int steps, double[] out) {
        if (steps < 1 || steps > thetas.length) {
            throw new IllegalArgumentException("unrolls of 1 to " + thetas.length + " steps were planned, got " + steps);
        }
        // x_s of this unroll is evaluation (first + s) of each optimizee's trajectory (its minibatch)
        int first = batch.trajectoryStep();
        for (int s = 0; s < steps; s++) {
            batch.readParameters(thetas[s]);
            advance(batch, s);
            batch.readGradient(inputs[s + 1]);
        }
        double loss = metaLoss(batch, steps, instances);
        ParameterGroups groups = lstm.groups();
        Arrays.fill(out, 0);
        float[] last = inputs[steps];
        for (int i = 0; i < total.length; i++) {
            total[i] = gradScale * last[i];
        }
        for (int s = steps - 1; s >= 0; s--) {
            long t0 = System.nanoTime();
            for (int g = 0; g < groups.count(); g++) {
                int[] index = batchIndices[g];
                for (int j = 0; j < index.length; j++) {
                    hostGroup[j] = (float) total[index[j]];
                }
                ddelta.get(g).write(0, hostGroup, 0, index.length);
                NativeBuffer[] states = dstate.get(g);
                // the state gradient after step s sits in states[(s + 1) % 2], the one before it goes to states[s % 2]
                lstm.lstm(g).backwardStep(lstm.phi(g), batch.record(g), s, ddelta.get(g),
                        s == steps - 1 ? null : states[(s + 1) % 2], dphiStep.get(g), states[s % 2], dx.get(g), false);
                NativeBuffer part = dphiStep.get(g);
                part.read(0, stepDphi, 0, (int) part.length());
                int base = groups.phiOffset(g);
                for (int k = 0; k < part.length(); k++) {
                    out[base + k] += stepDphi[k];
                }
                dx.get(g).read(0, hostGroup, 0, index.length);
                for (int j = 0; j < index.length; j++) {
                    v[index[j]] = hostGroup[j];
                }
            }
            kernelNanos += System.nanoTime() - t0;
            if (s > 0) {
                long t1 = System.nanoTime();
                float[] x = inputs[s];
                for (int b = 0; b < optimizees.length; b++) {
                    int at = b * dimension;
                    System.arraycopy(thetas[s], at, instanceTheta, 0, dimension);
                    System.arraycopy(v, at, instanceV, 0, dimension);
                    optimizees[b].hessianVectorProduct(first + s, instanceTheta, instanceV, product);
                    for (int i = 0; i < dimension; i++) {
                        total[at + i] += gradScale * x[at + i] + inputScale * product[i];
                    }
                }
                optimizeeNanos += System.nanoTime() - t1;
            }
        }
        return loss;
    }

    @Override
    public void close() {
        ddelta.forEach(NativeBuffer::close);
        ddelta.clear();
        dx.forEach(NativeBuffer::close);
        dx.clear();
        dstate.forEach(pair -> {
            for (NativeBuffer b : pair) {
                if (b != null) {
                    b.close();
                }
            }
        });
        dstate.clear();
        dphiStep.forEach(NativeBuffer::close);
        dphiStep.clear();
    }
}
