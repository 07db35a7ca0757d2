package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ParameterTensor;
import org.l2l4j.optimizees.Quadratic;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.reference.ReferenceLstm;

/**
 * The meta-gradient of whole unrolls as meta-training assembles it ({@link TruncatedBackprop}:
 * the native step and backward pass, the meta-loss gradients with the instance scaling 1/B or
 * the batch-mean input scaling, the imitation term, and a trajectory whose last unroll is
 * shorter) against central finite differences (step 1e-5) of the replayed meta-loss in float64,
 * computed with the test's float64 reference LSTM: for an unroll from theta_start and state
 * s_start with the recorded LSTM inputs x_t held fixed (the dropped second derivatives),
 * <pre>
 *     L~(phi) = (1/B) sum_b sum_{t=1..T} f_b(theta_{b,t}) + lambda (1/B) sum_b sum_s
 *               || delta_{b,s} - delta^teacher_{b,s} ||^2,    theta_{t+1} = theta_t + m(x_t, s_t; phi)
 * </pre>
 * whose true gradient is the estimator's.  With parameter groups, the quadratics' coordinates are
 * named as two tensors, {@code a} (coordinate 0) and {@code b} (coordinates 1, 2), and each
 * group's LSTM (of its own width and phi) steps its own coordinates of both instances: the
 * replay applies to each coordinate its group's reference LSTM, and phi is the concatenation.
 * The teacher's steps (NAG) are computed here from the raw gradients in float64.  With exact
 * second derivatives ({@link ExactBackprop}) the replay is the true meta-loss instead: x_t =
 * k grad f(theta_t) recomputed in float64 at every step of the replayed trajectory (k the input
 * scale), so that the finite differences see the Hessian terms (the dropped estimator misses
 * these by 1e-3 to 8e-3, measured); in two cases each evaluation of an optimizee computes its own
 * function (a weight that grows with the evaluation's index, as minibatches differ), so that each
 * step's Hessian must be taken at that step's evaluation, across both unrolls.  Per tensor of each group's phi, err = max |a - b| / max |b|
 * &lt; 2e-4 (the native forward runs in float32).
 */
class MetaGradientTest {
    static final double STEP = 1e-5;
    static final double TOLERANCE = 2e-4;
    static final int D = 3;
    static final int B = 2;
    static final int T = 3;
    /** The trajectory: an unroll of 3 steps, then a shorter one of 2. */
    static final int[] UNROLLS = {3, 2};

    @ParameterizedTest(name = "{0} inputs, imitation weight {1}, groups {2}, exact second derivatives {3}, "
            + "a function per evaluation {4}")
    @CsvSource({"PAPER, 0, false, false, false", "PAPER, 0.7, false, false, false", "BATCH_MEAN, 0, false, false, false",
        "BATCH_MEAN, 0.7, false, false, false", "PAPER, 0.7, true, false, false", "BATCH_MEAN, 0, true, false, false",
        "PAPER, 0, false, true, false", "BATCH_MEAN, 0, false, true, false", "PAPER, 0, true, true, false",
        "BATCH_MEAN, 0, true, true, false", "PAPER, 0, false, true, true", "BATCH_MEAN, 0, true, true, true"})
    void theAssembledMetaGradientMatchesFiniteDifferences(InputScaling scaling, double lambda, boolean grouped,
                                                          boolean exact, boolean varying) {
        LstmConfig config = new LstmConfig(new int[] {3}, Preprocessing.IDENTITY, 1, 0.3, false);
        ParameterGroups groups = grouped
                ? new ParameterGroups(List.of(new ParameterGroup("first", TensorRule.parse("a"), config),
                        new ParameterGroup("second", TensorRule.ALL, config.withWidths(2))))
                : ParameterGroups.single(config);
        double[] phi64 = new double[groups.phiSize()];
        for (int g = 0; g < groups.count(); g++) {
            double[] own = PhiInit.PYTORCH.initialize(groups.get(g).config(), 5 + g);
            System.arraycopy(own, 0, phi64, groups.phiOffset(g), own.length);
        }
        float[] phi32 = PhiLayout.toFloat32(phi64);
        double[] phi = new double[phi32.length];
        for (int i = 0; i < phi.length; i++) {
            phi[i] = phi32[i];
        }
        QuadraticFamily quadratics = new QuadraticFamily(D, QuadraticFamily.Distribution.GAUSSIAN);
        OptimizeeFamily family = grouped || varying ? new TestQuadratics(quadratics, grouped, varying) : quadratics;
        long[] seeds = {11, 12};
        Quadratic[] f = {quadratics.sample(seeds[0]), quadratics.sample(seeds[1])};
        boolean batchMean = scaling == InputScaling.BATCH_MEAN;
        double inputScale = batchMean ? 1.0 / B : 1.0;
        double teacherRate = 0.05;
        Imitation imitation = lambda > 0 ? new Imitation(HandDesignedRule.NAG, teacherRate, lambda, 10) : Imitation.NONE;
        try (Backend backend = Backend.cpu(1);
             GroupedLstm lstm = new GroupedLstm(groups, backend);
             OptimizeeBatch batch = new OptimizeeBatch(backend, lstm, family, B, T, T);
             GradientEstimator estimator = exact
                     ? new ExactBackprop(backend, lstm, batch, family, B, 3, batchMean ? 1.0 : 1.0 / B, inputScale)
                     : new TruncatedBackprop(backend, lstm, batch, B, List.of(3, 2), batchMean ? 1.0 : 1.0 / B,
                             inputScale, imitation)) {
            lstm.write(phi32);
            batch.start(seeds, inputScale);
            estimator.startTrajectory(0);
            double[] teacherMomentum = new double[B * D];
            int first = 0;
            for (int steps : UNROLLS) {
                // the point the unroll starts from: theta and every coordinate's state
                double[][] theta0 = new double[B][];
                for (int b = 0; b < B; b++) {
                    float[] p = batch.parameters(b);
                    theta0[b] = new double[D];
                    for (int i = 0; i < D; i++) {
                        theta0[b][i] = p[i];
                    }
                }
                double[] dphi = new double[phi.length];
                estimator.unroll(steps, dphi);
                // the recorded LSTM inputs x_t and the state before the unroll, from each group's
                // record, placed at the batch coordinates of the group's coordinates
                int n = B * D;
                double[][] x = new double[steps][n];
                double[][] state0 = new double[n][];
                int[] groupOf = new int[n];
                for (int g = 0; g < groups.count(); g++) {
                    int rows = groups.get(g).config().stateRows();
                    int recordRows = 1 + rows;
                    int[] index = batch.layout().batchIndices(g);
                    int ng = index.length;
                    float[] record = new float[steps * recordRows * ng];
                    batch.record(g).buffer().read(0, record, 0, record.length);
                    for (int j = 0; j < ng; j++) {
                        int i = index[j];
                        groupOf[i] = g;
                        for (int s = 0; s < steps; s++) {
                            x[s][i] = record[s * recordRows * ng + j];
                        }
                        state0[i] = new double[rows];
                        for (int r = 0; r < rows; r++) {
                            state0[i][r] = record[(1 + r) * ng + j];
                        }
                    }
                }
                // the teacher's steps from the raw gradients x_t / inputScale (NAG, float64)
                double[][] teacher = new double[steps][n];
                for (int s = 0; s < steps; s++) {
                    for (int i = 0; i < n; i++) {
                        double g = x[s][i] / inputScale;
                        teacherMomentum[i] = HandDesignedRule.MOMENTUM_COEFFICIENT * teacherMomentum[i] + g;
                        teacher[s][i] = -teacherRate * (g + HandDesignedRule.MOMENTUM_COEFFICIENT * teacherMomentum[i]);
                    }
                }
                Replay replay = new Replay(groups, groupOf, f, varying, first, theta0, state0, exact ? null : x, steps,
                        inputScale, teacher, lambda);
                first += steps;
                double[] fd = new double[phi.length];
                for (int k = 0; k < phi.length; k++) {
                    double[] plus = phi.clone();
                    double[] minus = phi.clone();
                    plus[k] += STEP;
                    minus[k] -= STEP;
                    fd[k] = (replay.loss(plus) - replay.loss(minus)) / (2 * STEP);
                }
                for (int g = 0; g < groups.count(); g++) {
                    int base = groups.phiOffset(g);
                    for (PhiLayout.Entry e : groups.get(g).config().phiLayout().entries()) {
                        double num = 0;
                        double den = 0;
                        for (int k = base + e.offset(); k < base + e.offset() + e.size(); k++) {
                            num = Math.max(num, Math.abs(dphi[k] - fd[k]));
                            den = Math.max(den, Math.abs(fd[k]));
                        }
                        String name = groups.get(g).name() + "." + e.name();
                        assertTrue(den > 0, name + " has a zero gradient: the test would not see an error");
                        assertTrue(num / den < TOLERANCE, scaling + ", lambda " + lambda + ", exact " + exact
                                + ", unroll of " + steps + " steps, " + name + ": err " + num / den);
                    }
                }
            }
        }
    }

    /**
     * The quadratics, with their coordinates named as two tensors, a [1] and b [2] (for the
     * groups), and/or a function per evaluation: evaluation e of an optimizee computes
     * {@link #weight}(e) f(theta), as a minibatch optimizee's evaluations differ (so that the
     * exact estimator must take each step's Hessian at its own evaluation).
     */
    private record TestQuadratics(QuadraticFamily family, boolean twoTensors, boolean varying)
            implements OptimizeeFamily {
        @Override
        public String name() {
            return (twoTensors ? "two-tensor-" : "") + (varying ? "varying-" : "") + family.name();
        }

        @Override
        public int dimension() {
            return family.dimension();
        }

        @Override
        public Optimizee sample(long seed) {
            Quadratic q = family.sample(seed);
            return !varying ? q : new Optimizee() {
                private long evaluations;

                @Override
                public int dimension() {
                    return q.dimension();
                }

                @Override
                public void initialParameters(float[] theta) {
                    q.initialParameters(theta);
                }

                @Override
                public double lossAndGradient(float[] theta, float[] gradient) {
                    double w = weight(evaluations++);
                    double loss = q.lossAndGradient(theta, gradient);
                    for (int i = 0; i < gradient.length; i++) {
                        gradient[i] = (float) (w * gradient[i]);
                    }
                    return w * loss;
                }

                @Override
                public boolean hasHessianVectorProducts() {
                    return true;
                }

                @Override
                public void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
                    q.hessianVectorProduct(evaluation, theta, v, out);
                    for (int i = 0; i < out.length; i++) {
                        out[i] = (float) (weight(evaluation) * out[i]);
                    }
                }
            };
        }

        @Override
        public boolean hasHessianVectorProducts() {
            return true;
        }

        @Override
        public List<ParameterTensor> tensors() {
            return twoTensors ? List.of(new ParameterTensor("a", new int[] {1}, 0),
                    new ParameterTensor("b", new int[] {2}, 1)) : OptimizeeFamily.super.tensors();
        }
    }

    /** The factor on f of evaluation e of a varying optimizee. */
    static double weight(long e) {
        return 1 + e / 4.0;
    }

    /**
     * The replayed meta-loss of one unroll, in float64; coordinate i (b D + j) is stepped by its
     * group's LSTM.  x: the recorded inputs, or null for the true meta-loss (x_t = k grad f(theta_t)).
     */
    private record Replay(ParameterGroups groups, int[] groupOf, Quadratic[] f, boolean varying, int first,
                          double[][] theta0, double[][] state0, double[][] x, int steps, double inputScale,
                          double[][] teacher, double lambda) {
        double loss(double[] phi) {
            ReferenceLstm[] m = new ReferenceLstm[groups.count()];
            for (int g = 0; g < m.length; g++) {
                int base = groups.phiOffset(g);
                m[g] = new ReferenceLstm(groups.get(g).config(), Arrays.copyOfRange(phi, base,
                        base + groups.get(g).config().phiLayout().size()));
            }
            double loss = 0;
            for (int b = 0; b < B; b++) {
                double[] theta = theta0[b].clone();
                double[][] state = new double[D][];
                for (int i = 0; i < D; i++) {
                    state[i] = state0[b * D + i].clone();
                }
                for (int s = 0; s < steps; s++) {
                    // x_s is evaluation first + s of the trajectory; f(theta_{s+1}) is evaluation first + s + 1
                    double w = varying ? weight(first + s) : 1;
                    double[] input = x != null ? Arrays.copyOfRange(x[s], b * D, b * D + D) : gradient(f[b], theta);
                    for (int i = 0; i < D; i++) {
                        double xi = x != null ? input[i] : inputScale * w * input[i];
                        double delta = m[groupOf[b * D + i]].step(xi, state[i]);
                        theta[i] += delta;
                        double off = delta - teacher[s][b * D + i];
                        loss += lambda * off * off / B;
                    }
                    loss += (varying ? weight(first + s + 1) : 1) * quadratic(f[b], theta) / B;
                }
            }
            return loss;
        }

        /** grad f = 2 W^T (W theta - y), in float64. */
        private static double[] gradient(Quadratic q, double[] theta) {
            double[] w = q.matrix();
            double[] y = q.target();
            double[] g = new double[D];
            for (int i = 0; i < D; i++) {
                double r = -y[i];
                for (int j = 0; j < D; j++) {
                    r += w[i * D + j] * theta[j];
                }
                for (int j = 0; j < D; j++) {
                    g[j] += 2 * w[i * D + j] * r;
                }
            }
            return g;
        }

        private static double quadratic(Quadratic q, double[] theta) {
            double[] w = q.matrix();
            double[] y = q.target();
            double sum = 0;
            for (int i = 0; i < D; i++) {
                double r = -y[i];
                for (int j = 0; j < D; j++) {
                    r += w[i * D + j] * theta[j];
                }
                sum += r * r;
            }
            return sum;
        }
    }
}
