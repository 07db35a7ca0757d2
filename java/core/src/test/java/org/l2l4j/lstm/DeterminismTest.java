package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.l2l4j.backend.Backend;

/**
 * Results are bitwise identical across runs and across thread counts 1, 2 and 4 on the same
 * code path, in both precisions: the step is coordinatewise, and dphi is reduced over chunks
 * fixed by n alone. The "avx512bf16" kernel set, whose bfloat16 products run vdpbf16ps, gives
 * the same bits as the "avx512" set, which computes them in software; the amx kernels (tested
 * through their tiles' software model) are identical across thread counts too.
 */
class DeterminismTest {

    private record Outputs(float[] theta, float[] state, double[] dphi, float[] dstate) {
    }

    private static Outputs run(Precision precision, String isa, int threads, int n, int steps) {
        LstmConfig config = LstmConfig.paperMnist().withPrecision(precision);
        SplittableRandom rnd = new SplittableRandom(2024);
        float[] phi = LstmFixtures.randomPhi(config, 3);
        try (Backend backend = Backend.cpu(threads)) {
            if (isa != null) {
                backend.setCpuIsa(isa);
            }
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

    private static void assertSame(Outputs a, Outputs b, String what) {
        assertArrayEquals(a.theta(), b.theta(), "theta, " + what);
        assertArrayEquals(a.state(), b.state(), "state, " + what);
        assertArrayEquals(a.dphi(), b.dphi(), "dphi, " + what);
        assertArrayEquals(a.dstate(), b.dstate(), "dstate, " + what);
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void identicalAcrossThreadCountsAndRuns(Precision precision) {
        int n = 50_001; // above the inline threshold: 25 reduction chunks
        Outputs one = run(precision, null, 1, n, 3);
        for (int threads : new int[] {1, 2, 4}) {
            assertSame(one, run(precision, null, threads, n, 3), "threads=" + threads);
        }
    }

    /**
     * The amx kernels' logic (here through the tiles' software model, the "amx-emulated" set):
     * the same bits on 1, 2 and 4 threads, and in float32 the same bits as the avx512 set (only
     * the bfloat16 gate products run on the tiles).
     */
    @ParameterizedTest
    @EnumSource(Precision.class)
    void amxKernelsAreIdenticalAcrossThreadCounts(Precision precision) {
        assumeTrue(Arrays.asList(Backend.supportedCpuIsas()).contains("amx-emulated"),
                "this processor lacks AVX-512, which the amx-emulated set needs (kernel sets: "
                        + String.join(",", Backend.supportedCpuIsas()) + ")");
        int n = 20_001;
        Outputs one = run(precision, "amx-emulated", 1, n, 3);
        for (int threads : new int[] {2, 4}) {
            assertSame(one, run(precision, "amx-emulated", threads, n, 3), "amx-emulated, threads=" + threads);
        }
        if (precision == Precision.FLOAT32) {
            assertSame(one, run(precision, "avx512", 2, n, 3), "amx-emulated against avx512 in float32");
        }
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void bf16UnitsGiveTheSoftwareResults(Precision precision) {
        assumeTrue(Arrays.asList(Backend.supportedCpuIsas()).contains("avx512bf16"),
                "this processor lacks AVX-512 BF16 (kernel sets: " + String.join(",", Backend.supportedCpuIsas()) + ")");
        int n = 5_003;
        assertSame(run(precision, "avx512", 2, n, 3), run(precision, "avx512bf16", 2, n, 3),
                "avx512bf16 against avx512");
    }
}
