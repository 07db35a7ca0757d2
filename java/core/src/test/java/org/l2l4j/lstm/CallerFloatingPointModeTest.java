package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.l2l4j.lstm.SubnormalCases.HUGE_W;
import static org.l2l4j.lstm.SubnormalCases.SUBNORMAL_X;
import static org.l2l4j.lstm.SubnormalCases.TINY_W;
import static org.l2l4j.lstm.SubnormalCases.TINY_X;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.l2l4j.backend.Backend;

/**
 * The CPU kernels set flush-to-zero and denormals-are-zero only while they compute, and give the
 * calling thread back its floating-point mode: after native steps, backward passes and meta-loss
 * gradients that meet subnormal numbers ({@link SubnormalCases}), on one thread and on two, on
 * every instruction set, Java arithmetic on the calling thread still produces subnormal results
 * and reads subnormal operands.  HotSpot does not restore the SSE control register (MXCSR) after
 * a native call, so a mode left set by the library would show here.
 */
class CallerFloatingPointModeTest {
    // read at run time, so that neither javac nor the JIT can fold the arithmetic below
    static volatile float floatHalf = 0.5f;
    static volatile float floatMinNormal = Float.MIN_NORMAL;
    static volatile float floatMinValue = Float.MIN_VALUE;
    static volatile float float2pow30 = 0x1p30f;
    static volatile double doubleHalf = 0.5;
    static volatile double doubleMinNormal = Double.MIN_NORMAL;
    static volatile double doubleMinValue = Double.MIN_VALUE;
    static volatile double double2pow30 = 0x1p30;

    static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backend.cpu(2);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    /** Java float and double arithmetic on this thread neither flushes results nor reads subnormals as 0. */
    static void assertSubnormalsSurvive(String after) {
        // flush-to-zero would make these results 0
        assertEquals(Float.intBitsToFloat(0x0040_0000), floatMinNormal * floatHalf, after + ": a float result flushed");
        assertEquals(Double.longBitsToDouble(0x0008_0000_0000_0000L), doubleMinNormal * doubleHalf,
                after + ": a double result flushed");
        // denormals-are-zero would read these operands as 0 (the results are normal)
        assertEquals(0x1p-119f, floatMinValue * float2pow30, after + ": a float operand read as zero");
        assertEquals(0x1p-1044, doubleMinValue * double2pow30, after + ": a double operand read as zero");
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 100_003})
    void theCallersModeIsUnchangedByTheKernels(int n) {
        assertSubnormalsSurvive("before the calls");
        for (String isa : Backend.supportedCpuIsas()) {
            backend.setCpuIsa(isa);
            SubnormalCases.linearStep(backend, n, TINY_W, TINY_X);
            assertSubnormalsSurvive(isa + " step with a subnormal result, n = " + n);
            SubnormalCases.linearStep(backend, n, HUGE_W, SUBNORMAL_X);
            assertSubnormalsSurvive(isa + " step with a subnormal input, n = " + n);
            SubnormalCases.linearBackward(backend, n, 1f, TINY_X, TINY_W);
            assertSubnormalsSurvive(isa + " backward, n = " + n);
            SubnormalCases.linearMetaLoss(backend, n, TINY_X, TINY_W);
            assertSubnormalsSurvive(isa + " meta-loss gradients, n = " + n);
            SubnormalCases.lstmUnroll(backend, n);
            assertSubnormalsSurvive(isa + " LSTM step and backward, n = " + n);
        }
    }
}
