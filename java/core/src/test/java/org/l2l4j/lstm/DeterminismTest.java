package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;

/**
 * Results are bitwise identical across runs and across thread counts 1, 2 and 4 on the same
 * code path: the step is coordinatewise, and dphi is reduced over chunks fixed by n alone.
 */
class DeterminismTest {

    private record Outputs(float[] theta, float[] state, double[] dphi, float[] dstate) {
    }

    private static Outputs run(int threads, int n, int steps) {
        LstmConfig config = LstmConfig.paperMnist();
        SplittableRandom rnd = new SplittableRandom(2024);
        float[] phi = LstmFixtures.randomPhi(config, 3);
        int rows = config.stateRows();
        try (Backend backend = Backend.cpu(threads)) {
            try (UnrollBuffers u = new UnrollBuffers(backend, config, n, steps)) {
                u.phi.write(phi);
                u.theta.write(LstmFixtures.uniform(n, 1, rnd));
                for (int s = 0; s < steps; s++) {
                    u.grad.write(LstmFixtures.spanningGradients(n, rnd));
                    u.lstm.step(u.phi, u.tensors, u.state, u.record, s, false);
                }
                u.grad.write(LstmFixtures.spanningGradients(n, rnd));
                u.lstm.metaLossGradients(u.record, steps, u.grad, 0.5, u.dloss);
                u.lstm.backward(u.phi, u.record, steps, u.dloss, null, u.dphi, u.dstate, null, false);
                return new Outputs(u.theta.toFloatArray(), u.state.toFloatArray(), u.dphi.toDoubleArray(),
                        u.dstate.toFloatArray());
            }
        }
    }

    @Test
    void identicalAcrossThreadCountsAndRuns() {
        int n = 50_001; // above the inline threshold: 25 reduction chunks
        Outputs one = run(1, n, 3);
        for (int threads : new int[] {1, 2, 4}) {
            Outputs other = run(threads, n, 3);
            assertArrayEquals(one.theta(), other.theta(), "theta, threads=" + threads);
            assertArrayEquals(one.state(), other.state(), "state, threads=" + threads);
            assertArrayEquals(one.dphi(), other.dphi(), "dphi, threads=" + threads);
            assertArrayEquals(one.dstate(), other.dstate(), "dstate, threads=" + threads);
        }
    }
}
