package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.l2l4j.lstm.SubnormalCases.HUGE_W;
import static org.l2l4j.lstm.SubnormalCases.SUBNORMAL_X;
import static org.l2l4j.lstm.SubnormalCases.TINY_W;
import static org.l2l4j.lstm.SubnormalCases.TINY_X;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.l2l4j.backend.Backend;

/**
 * The CPU kernels compute with flush-to-zero and denormals-are-zero (l2l.h "Floating-point
 * mode"), on the calling thread (n = 1: one coordinate runs there alone) and on the pool's
 * workers (two threads, n = 100,003), on every instruction set this machine runs: a product whose
 * exact value is subnormal becomes 0 (the step's delta, the backward pass's dphi, the meta-loss
 * gradients), and a subnormal operand is read as 0 (the step's gradient input, the output
 * weights, dL/d delta).  Java's own float arithmetic, which does not flush, gives the nonzero
 * values the kernels would give without the mode; the previous library gave them.  x86-64 only:
 * elsewhere the library leaves the mode as it is.
 */
class DenormalFlushTest {
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @BeforeEach
    void onlyWhereTheModeIsSet() {
        assumeTrue(SubnormalCases.modeIsSet(), "the library sets the floating-point mode on x86-64 only");
    }

    @Test
    void theProductsAreSubnormalWithoutTheMode() {
        float product = TINY_W * TINY_X;
        assertNotEquals(0f, product);
        assertTrue(product < Float.MIN_NORMAL);
        assertNotEquals((double) TINY_W * TINY_X, (double) product, "inexact at subnormal precision");
        assertEquals(Math.scalb(1.5f, -40), HUGE_W * SUBNORMAL_X);
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 100_003})
    void aSubnormalResultOfTheStepIsFlushed(int n) {
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            float[] theta = SubnormalCases.linearStep(backend, n, TINY_W, TINY_X);
            for (int i = 0; i < n; i++) {
                assertEquals(0, Float.floatToRawIntBits(theta[i]), isa + " theta[" + i + "] = " + theta[i]);
            }
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 100_003})
    void aSubnormalInputOfTheStepIsReadAsZero(int n) {
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            float[] theta = SubnormalCases.linearStep(backend, n, HUGE_W, SUBNORMAL_X);
            for (int i = 0; i < n; i++) {
                assertEquals(0, Float.floatToRawIntBits(theta[i]), isa + " theta[" + i + "] = " + theta[i]);
            }
            // a normal input of the same call is not touched: 2^100 x 2^-99 = 2
            assertEquals(2f, SubnormalCases.linearStep(backend, n, HUGE_W, Math.scalb(1f, -99))[n - 1], isa);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 100_003})
    void subnormalProductsOfTheBackwardPassAreFlushed(int n) {
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            // dphi = (sum d x, sum d): each d x is subnormal, d is normal
            double[] dphi = SubnormalCases.linearBackward(backend, n, 1f, TINY_X, TINY_W);
            assertEquals(0L, Double.doubleToRawLongBits(dphi[0]), isa + " dL/dw = " + dphi[0]);
            assertEquals((double) n * TINY_W, dphi[1], 1e-4 * n * TINY_W, isa + " dL/db");
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 100_003})
    void subnormalMetaLossGradientsAreFlushed(int n) {
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            float[] d = SubnormalCases.linearMetaLoss(backend, n, TINY_X, TINY_W);
            for (int i = 0; i < n; i++) {
                assertEquals(0, Float.floatToRawIntBits(d[i]), isa + " dL/ddelta[" + i + "] = " + d[i]);
            }
        }
    }

    @Test
    void everyThreadOfTheLstmKernelsFlushes() {
        int n = 100_003; // 2 threads, each busy for milliseconds in either call
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            SubnormalCases.LstmOutputs out = SubnormalCases.lstmUnroll(backend, n);
            // zeros of either sign
            for (int i = 0; i < n; i++) {
                assertTrue(out.theta()[i] == 0, isa + " theta[" + i + "] = " + out.theta()[i]);
            }
            for (int p = 0; p < out.dphi().length; p++) {
                assertTrue(out.dphi()[p] == 0, isa + " dphi[" + p + "] = " + out.dphi()[p]);
            }
            for (int i = 0; i < out.dstateInitial().length; i++) {
                assertTrue(out.dstateInitial()[i] == 0, isa + " dstate_initial[" + i + "] = " + out.dstateInitial()[i]);
            }
        }
    }
}
