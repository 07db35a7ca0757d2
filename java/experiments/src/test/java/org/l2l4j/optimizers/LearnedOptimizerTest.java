package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.eval.Trajectory;
import org.l2l4j.lstm.CoordinatewiseLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.meta.LearnedRollouts;
import org.l2l4j.optimizees.QuadraticFamily;

/**
 * The learned optimizer behind the Optimizer interface takes exactly the trajectory of the
 * batched rollouts used in evaluation, and rejects misuse.
 */
class LearnedOptimizerTest {

    private static float[] phi(LstmConfig c) {
        double[] d = PhiInit.PYTORCH.initialize(c, 9);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Test
    void sameTrajectoryAsTheBatchedRollout() {
        LstmConfig c = LstmConfig.paperQuadratic().withWidths(8, 8).withOutputScale(0.05);
        float[] p = phi(c);
        QuadraticFamily family = new QuadraticFamily();
        long[] seeds = {3, 4, 5};
        try (Backend backend = Backend.cpu(1); CoordinatewiseLstm lstm = new CoordinatewiseLstm(c);
             NativeBuffer phiBuf = backend.allocateFloats(p.length)) {
            phiBuf.write(p);
            double[][] batched = LearnedRollouts.run(backend, lstm, phiBuf, family, seeds, 30).losses();
            OptimizerFactory factory = LearnedOptimizer.factory(backend, new OptimizerCheckpoint(c, p, Map.of()));
            for (int j = 0; j < seeds.length; j++) {
                try (Optimizer opt = factory.create(family.dimension())) {
                    assertArrayEquals(batched[j], Trajectory.run(family.sample(seeds[j]), opt, 30));
                }
            }
        }
    }

    @Test
    void misuseIsRejected() {
        LstmConfig c = LstmConfig.paperQuadratic().withWidths(4);
        try (Backend backend = Backend.cpu(1)) {
            LearnedOptimizer opt = new LearnedOptimizer(backend, c, phi(c), 10);
            assertThrows(IllegalArgumentException.class, () -> opt.step(new float[9], new float[10]));
            assertThrows(NullPointerException.class, () -> opt.step(null, new float[10]));
            opt.close();
            opt.close();
            assertThrows(IllegalStateException.class, () -> opt.step(new float[10], new float[10]));
            assertThrows(IllegalArgumentException.class, () -> new LearnedOptimizer(backend, c, new float[3], 10));
            assertThrows(IllegalArgumentException.class, () -> new LearnedOptimizer(backend, c, phi(c), 0));
        }
    }
}
