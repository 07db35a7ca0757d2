package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.optimizees.ConvNetFamily;
import org.l2l4j.optimizees.ConvNetSpec;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.QuadraticFamily;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizers.HandDesignedRule;

/**
 * Exact second derivatives ({@link ExactBackprop}) where the answer is known without them: on
 * linear optimizees (zero Hessian) the exact meta-gradient is the dropped one
 * ({@link TruncatedBackprop}) to 1e-6 relative (measured 2e-9: dL/d delta is summed in float64
 * here and in float32 by the meta-loss kernel, and dL/dphi step by step); and the mode refuses, with a message, optimizees without Hessian-vector
 * products and imitation.  Its agreement with finite differences of the true meta-loss:
 * {@link MetaGradientTest}.
 */
class ExactBackpropTest {
    static final int D = 5;
    static final int B = 3;

    /** f(theta) = a^T theta + c: gradient a, Hessian 0. */
    private record Linear(double[] a, float[] theta0) implements Optimizee {
        @Override
        public int dimension() {
            return a.length;
        }

        @Override
        public void initialParameters(float[] theta) {
            System.arraycopy(theta0, 0, theta, 0, theta0.length);
        }

        @Override
        public double lossAndGradient(float[] theta, float[] gradient) {
            double f = 1;
            for (int i = 0; i < a.length; i++) {
                f += a[i] * theta[i];
                gradient[i] = (float) a[i];
            }
            return f;
        }

        @Override
        public boolean hasHessianVectorProducts() {
            return true;
        }

        @Override
        public void hessianVectorProduct(long evaluation, float[] theta, float[] v, float[] out) {
            java.util.Arrays.fill(out, 0f);
        }
    }

    private record LinearFamily() implements OptimizeeFamily {
        @Override
        public String name() {
            return "linear";
        }

        @Override
        public int dimension() {
            return D;
        }

        @Override
        public Optimizee sample(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            double[] a = new double[D];
            float[] theta0 = new float[D];
            for (int i = 0; i < D; i++) {
                a[i] = r.nextDouble() - 0.5;
                theta0[i] = (float) r.nextGaussian();
            }
            return new Linear(a, theta0);
        }

        @Override
        public boolean hasHessianVectorProducts() {
            return true;
        }
    }

    @Test
    void onLinearOptimizeesTheExactMetaGradientIsTheDroppedOne() {
        LstmConfig config = LstmConfig.paperMnist();
        ParameterGroups groups = ParameterGroups.single(config);
        float[] phi = PhiLayout.toFloat32(PhiInit.PYTORCH.initialize(config, 3));
        OptimizeeFamily family = new LinearFamily();
        long[] seeds = {1, 2, 3};
        double[][] exact = unrolls(groups, phi, family, seeds, true);
        double[][] dropped = unrolls(groups, phi, family, seeds, false);
        for (int u = 0; u < exact.length; u++) {
            double largest = 0;
            double worst = 0;
            for (int k = 0; k < exact[u].length; k++) {
                largest = Math.max(largest, Math.abs(dropped[u][k]));
                worst = Math.max(worst, Math.abs(exact[u][k] - dropped[u][k]));
            }
            assertTrue(largest > 0, "a zero meta-gradient checks nothing");
            assertTrue(worst <= 1e-6 * largest, "unroll " + u + ": exact vs dropped " + worst / largest);
        }
    }

    @Test
    void aStatelessOptimizerToo() {
        LstmConfig linear = LstmConfig.paperMnist().withWidths();
        ParameterGroups groups = ParameterGroups.single(linear);
        float[] phi = PhiLayout.toFloat32(PhiInit.PYTORCH.initialize(linear, 4));
        OptimizeeFamily family = new LinearFamily();
        double[][] exact = unrolls(groups, phi, family, new long[] {4, 5, 6}, true);
        double[][] dropped = unrolls(groups, phi, family, new long[] {4, 5, 6}, false);
        for (int u = 0; u < exact.length; u++) {
            for (int k = 0; k < exact[u].length; k++) {
                assertEquals(dropped[u][k], exact[u][k], 1e-6 * Math.abs(dropped[u][k]) + 1e-12, "unroll " + u);
            }
        }
    }

    /** dL/dphi of two unrolls (4 steps, then 3) of one trajectory, and the unrolls' meta-losses appended. */
    private static double[][] unrolls(ParameterGroups groups, float[] phi, OptimizeeFamily family, long[] seeds,
                                      boolean exact) {
        try (Backend backend = Backend.cpu(1); GroupedLstm lstm = new GroupedLstm(groups, backend);
             OptimizeeBatch batch = new OptimizeeBatch(backend, lstm, family, B, 4, 4);
             GradientEstimator estimator = exact
                     ? new ExactBackprop(backend, lstm, batch, family, B, 4, 1.0 / B, 1)
                     : new TruncatedBackprop(backend, lstm, batch, B, List.of(4, 3), 1.0 / B, 1, Imitation.NONE)) {
            lstm.write(phi);
            batch.start(seeds, 1);
            estimator.startTrajectory(0);
            double[][] out = new double[2][];
            int[] lengths = {4, 3};
            for (int u = 0; u < 2; u++) {
                double[] g = new double[groups.phiSize() + 1];
                double[] dphi = new double[groups.phiSize()];
                g[groups.phiSize()] = estimator.unroll(lengths[u], dphi);
                System.arraycopy(dphi, 0, g, 0, dphi.length);
                out[u] = g;
            }
            return out;
        }
    }

    @Test
    void optimizeesWithoutHessianVectorProductsAreRefused() {
        ConvNetSpec spec = new ConvNetSpec(2, 8, List.of(3, 2), 3, 4, 5);
        ConvNetFamily networks = new ConvNetFamily(RandomData.of(1, 20, spec.features(), 3), spec);
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withSecondDerivatives(SecondDerivatives.EXACT);
        try (Backend backend = Backend.cpu(1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MetaTrainer(backend, LstmConfig.paperMnist(), networks, networks, options));
            assertTrue(e.getMessage().contains("Hessian-vector products") && e.getMessage().contains(networks.name()),
                    e.getMessage());
            QuadraticFamily quadratics = new QuadraticFamily(4, QuadraticFamily.Distribution.GAUSSIAN);
            try (MetaTrainer trainer = new MetaTrainer(backend, LstmConfig.paperMnist(), quadratics, quadratics,
                    options.withHorizon(6).withUnroll(3))) {
                assertTrue(Double.isFinite(trainer.runEpoch()), "quadratics have exact products");
            }
        }
    }

    @Test
    void imitationIsRefusedWithExactSecondDerivatives() {
        MetaTrainingOptions options = MetaTrainingOptions.defaults()
                .withImitation(new Imitation(HandDesignedRule.NAG, 0.05, 1, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> options.withSecondDerivatives(SecondDerivatives.EXACT));
        assertTrue(e.getMessage().contains("imitation"), e.getMessage());
        assertEquals(SecondDerivatives.DROPPED, MetaTrainingOptions.defaults().secondDerivatives());
        assertArrayEquals(new SecondDerivatives[] {SecondDerivatives.DROPPED, SecondDerivatives.EXACT},
                SecondDerivatives.values());
    }
}
