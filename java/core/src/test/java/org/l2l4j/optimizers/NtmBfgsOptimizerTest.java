package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.l2l4j.ntm.NtmBfgs;
import org.l2l4j.ntm.NtmBfgsCheckpoint;

/** NtmBfgsOptimizer: the registered tensors as one instance of the NTM-BFGS model, and its limit. */
class NtmBfgsOptimizerTest {

    @Test
    void stepsAreTheModelsUpdatesOverAllTensorsAsOneInstance() {
        NtmBfgsCheckpoint checkpoint = ParameterOptimizerStateTest.ntmCheckpoint(3);
        Random random = new Random(4);
        float[] a = new float[5];
        float[] b = new float[7];
        float[] da = new float[5];
        float[] db = new float[7];
        NtmBfgs model = new NtmBfgs(checkpoint.config(), 1, 12, 0);
        model.write(checkpoint.phi());
        float[] theta = new float[12];
        double[] delta = new double[12];
        try (NtmBfgsOptimizer optimizer = NtmBfgsOptimizer.of(checkpoint)) {
            optimizer.register("a", a, da);
            optimizer.register("b", b, db);
            for (int t = 0; t < 6; t++) {
                double[] g = new double[12];
                for (int i = 0; i < 12; i++) {
                    g[i] = random.nextGaussian();
                    if (i < 5) {
                        da[i] = (float) g[i];
                    } else {
                        db[i - 5] = (float) g[i];
                    }
                    g[i] = (float) g[i];
                }
                optimizer.step();
                model.step(g, delta);
                for (int i = 0; i < 12; i++) {
                    theta[i] += (float) delta[i];
                }
                float[] both = new float[12];
                System.arraycopy(a, 0, both, 0, 5);
                System.arraycopy(b, 0, both, 5, 7);
                assertArrayEquals(theta, both, "step " + t);
            }
            assertTrue(java.util.Arrays.stream(delta).anyMatch(v -> Math.abs(v) > 1e-3), "the updates are not trivial");
        }
    }

    @Test
    void registrationsBeyondItsMemoryLimitAreRejected() {
        try (NtmBfgsOptimizer optimizer = NtmBfgsOptimizer.of(ParameterOptimizerStateTest.ntmCheckpoint(3))) {
            optimizer.register("w", new float[1000], new float[1000]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> optimizer.register("v", new float[25], new float[25]));
            assertTrue(e.getMessage().contains("'v' would make 1025 coordinates") && e.getMessage().contains("at most 1024"),
                    e.getMessage());
            optimizer.register("u", new float[24], new float[24]);
            assertEquals(1024, optimizer.coordinates());
            optimizer.step();
        }
    }
}
