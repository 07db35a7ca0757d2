package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizers.ParameterOptimizer;

/**
 * Truncated backpropagation through time with the optimizee's second derivatives dropped (paper
 * section 2, "d grad_t / d phi = 0"), the paper's gradient estimator.  An unroll of T steps runs
 * T fused steps forward, recording them, then forms
 * <pre>
 *     dL/d delta_s = c sum_{t=s+1..T} x_t        (c = 1/B, or 1 with batch-mean inputs, whose
 *                                               recorded x_t already carry the 1/B)
 * </pre>
 * with the native meta-loss gradients, adds the {@link Imitation} term 2 lambda_e / B
 * (delta_s - delta^teacher_s) when imitation is on, and runs the fused backward pass for dL/dphi
 * of the meta-loss (1/B) sum_b sum_{t=1..T} f_b(theta_t) [+ imitation].  With parameter groups
 * (DESIGN 3b) each group does this over its own coordinates, with its own record, and gives
 * dL/dphi_g, written at the group's place in the concatenated meta-gradient.
 *
 * <p>The imitation term needs the learned optimizer's steps delta_s and the gradients x_s on the
 * host: with imitation on, theta and the gradients are read at every step of the unroll
 * (B d floats each); without it nothing is copied.
 */
final class TruncatedBackprop extends TimedEstimator {
    private final GroupedLstm lstm;
    private final OptimizeeBatch batch;
    private final double gradScale;
    private final double inputScale;
    private final Imitation imitation;
    private final int instances;
    /** Per group, dL/d delta of an unroll, one buffer per unroll length in use. */
    private final List<Map<Integer, NativeBuffer>> dloss = new ArrayList<>();
    /** Per group, dL/d phi_g (float64). */
    private final List<NativeBuffer> dphi = new ArrayList<>();
    /** Per group, the batch coordinate of each of its coordinates (imitation only). */
    private final int[][] batchIndices;
    // Imitation, when on (host copies, B d floats each):
    private final float[] thetaBefore;
    private final float[] thetaAfter;
    private final float[] teacherTheta;
    private final float[] teacherGradient;
    private final float[][] offTeacher;
    /** dL/d delta of an unroll on the host, when imitation needs it: [steps][n_g] for the group at hand. */
    private final float[][] hostDloss;
    private ParameterOptimizer teacher;
    private double lambda;

    /**
     * @param metaBatch  B, the instances of the whole meta-batch (batch's, or more when the batch
     *                   is one shard of it: {@link MetaBatchShards})
     * @param lengths    every unroll length the trainer will ask for
     * @param gradScale  c above: 1/B, or 1 with batch-mean inputs
     * @param inputScale the factor on the gradients the LSTM sees (1, or 1/B with batch-mean inputs)
     */
    TruncatedBackprop(Backend backend, GroupedLstm lstm, OptimizeeBatch batch, int metaBatch, Iterable<Integer> lengths,
                      double gradScale, double inputScale, Imitation imitation) {
        this.lstm = Objects.requireNonNull(lstm, "lstm");
        this.batch = Objects.requireNonNull(batch, "batch");
        this.gradScale = gradScale;
        this.inputScale = inputScale;
        this.imitation = Objects.requireNonNull(imitation, "imitation");
        this.instances = metaBatch;
        long n = batch.coordinates();
        int longest = 0;
        ParameterGroups groups = lstm.groups();
        for (int g = 0; g < groups.count(); g++) {
            if (batch.layout().coordinates(g) == 0) {
                throw new IllegalArgumentException("parameter group '" + groups.get(g).name()
                        + "' owns no coordinate of the batch: its phi cannot be trained");
            }
        }
        try {
            for (int g = 0; g < groups.count(); g++) {
                Map<Integer, NativeBuffer> own = new HashMap<>();
                dloss.add(own);
                for (int steps : lengths) {
                    if (!own.containsKey(steps)) {
                        own.put(steps, backend.allocateFloats(steps * batch.layout().coordinates(g)));
                    }
                    longest = Math.max(longest, steps);
                }
                dphi.add(backend.allocateDoubles(lstm.lstm(g).phiSize()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        batchIndices = new int[groups.count()][];
        int widest = 0;
        for (int g = 0; g < groups.count() && imitation.active(); g++) {
            batchIndices[g] = batch.layout().batchIndices(g);
            widest = Math.max(widest, batchIndices[g].length);
        }
        int hostLength = imitation.active() ? Math.toIntExact(n) : 0;
        thetaBefore = new float[hostLength];
        thetaAfter = new float[hostLength];
        teacherTheta = new float[hostLength];
        teacherGradient = new float[hostLength];
        offTeacher = new float[imitation.active() ? longest : 0][hostLength];
        hostDloss = new float[imitation.active() ? longest : 0][widest];
    }

    @Override
    public void startTrajectory(int epoch) {
        if (teacher != null) {
            teacher.close();
            teacher = null;
        }
        lambda = imitation.weight(epoch);
        if (lambda > 0) {
            teacher = imitation.rule().factory(imitation.learningRate()).parameterOptimizer(false);
            teacher.register("theta", teacherTheta, teacherGradient);
        }
    }

    @Override
    public double unroll(int steps, double[] out) {
        if (!dloss.get(0).containsKey(steps)) {
            throw new IllegalArgumentException("no unroll of " + steps + " steps was planned; planned: "
                    + dloss.get(0).keySet());
        }
        if (teacher != null) {
            batch.readParameters(thetaBefore);
        }
        for (int s = 0; s < steps; s++) {
            if (teacher != null) {
                teacherStep();
            }
            advance(batch, s);
            if (teacher != null) {
                recordOffTeacher(s);
            }
        }
        double loss = metaLoss(batch, steps, instances);
        long t0 = System.nanoTime();
        ParameterGroups groups = lstm.groups();
        for (int g = 0; g < groups.count(); g++) {
            NativeBuffer d = dloss.get(g).get(steps);
            lstm.lstm(g).metaLossGradients(batch.record(g), steps, batch.groupGradient(g), gradScale, d);
            if (teacher != null) {
                addImitation(g, steps, d);
            }
            NativeBuffer dphiG = dphi.get(g);
            lstm.lstm(g).backward(lstm.phi(g), batch.record(g), steps, d, null, dphiG, null, null, false);
            dphiG.read(0, out, groups.phiOffset(g), (int) dphiG.length());
        }
        kernelNanos += System.nanoTime() - t0;
        return loss;
    }

    /** The teacher's step from theta_s (in thetaBefore) with the raw gradient x_s: delta^teacher_s in teacherTheta. */
    private void teacherStep() {
        batch.readGradient(teacherGradient);
        if (inputScale != 1) {
            float unscale = (float) (1 / inputScale);
            for (int i = 0; i < teacherGradient.length; i++) {
                teacherGradient[i] *= unscale;
            }
        }
        System.arraycopy(thetaBefore, 0, teacherTheta, 0, teacherTheta.length);
        teacher.step();
    }

    /**
     * offTeacher[s] = delta_s - delta^teacher_s = theta_{s+1} - theta^teacher_{s+1} (both steps
     * start from theta_s); then thetaBefore := theta_{s+1}.
     */
    private void recordOffTeacher(int s) {
        batch.readParameters(thetaAfter);
        float[] off = offTeacher[s];
        for (int i = 0; i < off.length; i++) {
            off[i] = (float) ((double) thetaAfter[i] - teacherTheta[i]);
        }
        System.arraycopy(thetaAfter, 0, thetaBefore, 0, thetaAfter.length);
    }

    /**
     * Adds to group g's meta-loss gradients {@code d} of each step s the imitation term
     * 2 lambda / B (delta_s - delta^teacher_s) of its coordinates (through the host).
     */
    private void addImitation(int g, int steps, NativeBuffer d) {
        int[] index = batchIndices[g];
        int n = index.length;
        double factor = 2 * lambda / instances;
        for (int s = 0; s < steps; s++) {
            float[] row = hostDloss[s];
            d.read((long) s * n, row, 0, n);
            float[] off = offTeacher[s];
            for (int j = 0; j < n; j++) {
                row[j] = (float) (row[j] + factor * off[index[j]]);
            }
            d.write((long) s * n, row, 0, n);
        }
    }

    @Override
    public void close() {
        if (teacher != null) {
            teacher.close();
            teacher = null;
        }
        dloss.forEach(own -> own.values().forEach(NativeBuffer::close));
        dloss.clear();
        dphi.forEach(NativeBuffer::close);
        dphi.clear();
    }
}
