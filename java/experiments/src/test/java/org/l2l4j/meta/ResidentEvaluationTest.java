package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizees.ResidentMlpFamily;

/**
 * Rollouts and meta-training on a resident MLP family (evaluated in place on the backend's
 * buffers) against the same runs on the host family it wraps: the same functions, theta_0 and
 * minibatches, so losses and meta-losses agree to float rounding (1e-4 relative after tens of
 * learned steps).
 */
class ResidentEvaluationTest {
    static final LstmConfig CONFIG = LstmConfig.paperMnist().withWidths(6, 6);
    static Backend backend;
    static MlpFamily host;
    static ResidentMlpFamily resident;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(1);
        host = new MlpFamily(RandomData.of(3, 60, 12, 4), MlpSpec.paper().withHiddenWidths(8).withBatchSize(16)
                .withInitStd(0.3));
        resident = new ResidentMlpFamily(host, backend);
    }

    @AfterAll
    static void close() {
        resident.close();
        backend.close();
    }

    private static double relativeError(double a, double b) {
        return Math.abs(a - b) / Math.abs(b);
    }

    @Test
    void rolloutsMatchTheHostFamilys() {
        double[] phi = PhiInit.PYTORCH.initialize(CONFIG, 4);
        float[] f = new float[phi.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) phi[i];
        }
        long[] seeds = {31, 32, 33};
        int steps = 25;
        LearnedRollouts.Result onHost;
        LearnedRollouts.Result inPlace;
        try (GroupedLstm lstm = new GroupedLstm(ParameterGroups.single(CONFIG), backend)) {
            lstm.write(f);
            onHost = LearnedRollouts.run(backend, lstm, host, seeds, steps);
            inPlace = LearnedRollouts.run(backend, lstm, resident, seeds, steps);
        }
        for (int j = 0; j < seeds.length; j++) {
            for (int t = 0; t <= steps; t++) {
                double e = relativeError(inPlace.losses()[j][t], onHost.losses()[j][t]);
                assertTrue(e < 1e-4, "function " + j + ", step " + t + ": relative error " + e);
            }
            float[] a = inPlace.finalParameters()[j];
            float[] b = onHost.finalParameters()[j];
            double num = 0;
            double den = 0;
            for (int i = 0; i < a.length; i++) {
                num = Math.max(num, Math.abs(a[i] - b[i]));
                den = Math.max(den, Math.abs(b[i]));
            }
            assertTrue(num / den < 1e-4, "final parameters of function " + j + ": relative error " + num / den);
        }
    }

    @Test
    void metaTrainingEpochsMatchTheHostFamilys() {
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withHorizon(12).withUnroll(4)
                .withInstances(2, InputScaling.PAPER).withEvaluation(100, 2).withSeed(5);
        double[] onHost = new double[2];
        double[] inPlace = new double[2];
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, host, host, options)) {
            onHost[0] = t.runEpoch();
            onHost[1] = t.runEpoch();
        }
        try (MetaTrainer t = new MetaTrainer(backend, CONFIG, resident, resident, options)) {
            inPlace[0] = t.runEpoch();
            inPlace[1] = t.runEpoch();
        }
        for (int e = 0; e < 2; e++) {
            double err = relativeError(inPlace[e], onHost[e]);
            assertTrue(Double.isFinite(inPlace[e]) && err < 1e-4, "epoch " + e + ": meta-loss " + inPlace[e]
                    + " vs " + onHost[e]);
        }
    }

    @Test
    void aResidentFamilyOnAnotherBackendIsRejected() {
        try (Backend other = Backend.cpu(1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MetaTrainer(other, CONFIG, resident, resident, MetaTrainingOptions.defaults()));
            assertTrue(e.getMessage().contains("resident"), e.getMessage());
        }
        assertEquals(host.dimension(), resident.dimension());
    }
}
