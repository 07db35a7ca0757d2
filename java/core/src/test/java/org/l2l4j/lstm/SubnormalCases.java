package org.l2l4j.lstm;

import java.util.Arrays;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * Native calls whose exact float32 arithmetic meets subnormal numbers (magnitudes below
 * {@link Float#MIN_NORMAL} = 2^-126), for the tests of the CPU kernels' floating-point mode
 * (flush-to-zero and denormals-are-zero, l2l.h "Floating-point mode").
 *
 * <p>Most cases use a model without LSTM layers and with identity preprocessing and output scale
 * 1, where delta = w x + b for phi = (w, b): one product per coordinate, whose value the test can
 * state exactly.  {@link #TINY_W} x {@link #TINY_X} is about 1.43 x 2^-130, subnormal, and
 * inexact at subnormal precision (so that it is flushed whatever a processor's definition of
 * underflow: tiny before or after rounding, with or without loss of accuracy); {@link #HUGE_W} x
 * {@link #SUBNORMAL_X} is 1.5 x 2^-40, normal, so only reading the subnormal operand as zero
 * changes it.  The cases on the paper's LSTM 20-20 make every thread of a two-thread call work
 * for milliseconds, with outputs that are exactly zero when subnormal operands read as zero.
 */
final class SubnormalCases {
    /** 1.1 x 2^-30 rounded to float. */
    static final float TINY_W = Math.scalb(1.1f, -30);
    /** 1.3 x 2^-100 rounded to float. */
    static final float TINY_X = Math.scalb(1.3f, -100);
    /** 2^100. */
    static final float HUGE_W = Math.scalb(1f, 100);
    /** 1.5 x 2^-140, subnormal. */
    static final float SUBNORMAL_X = Math.scalb(1.5f, -140);

    /** No LSTM layers, identity preprocessing, output scale 1: delta = w x + b. */
    static final LstmConfig LINEAR = new LstmConfig(new int[0], Preprocessing.IDENTITY, 10, 1.0, false);
    /** The paper's LSTM 20-20 with log-and-sign preprocessing and output scale 1. */
    static final LstmConfig LSTM = new LstmConfig(new int[] {20, 20}, Preprocessing.LOG_AND_SIGN, 10, 1.0, false);

    private SubnormalCases() {
    }

    /** theta after one step of LINEAR from theta = 0 with phi = (w, 0) and every gradient x. */
    static float[] linearStep(Backend backend, int n, float w, float x) {
        try (UnrollBuffers u = new UnrollBuffers(backend, LINEAR, n, 1)) {
            u.phi.write(new float[] {w, 0f});
            u.theta.write(new float[n]);
            u.grad.write(filled(n, x));
            u.lstm.step(u.phi, u.tensors, null, u.record, 0, false);
            return u.theta.toFloatArray();
        }
    }

    /**
     * dphi of LINEAR's backward pass over one step recorded with gradients x, with phi = (w, 0)
     * and dL/d delta = d for every coordinate: dphi = (sum d x, sum d).
     */
    static double[] linearBackward(Backend backend, int n, float w, float x, float d) {
        try (UnrollBuffers u = new UnrollBuffers(backend, LINEAR, n, 1)) {
            u.phi.write(new float[] {w, 0f});
            u.theta.write(new float[n]);
            u.grad.write(filled(n, x));
            u.lstm.step(u.phi, u.tensors, null, u.record, 0, false);
            u.dloss.write(filled(n, d));
            u.lstm.backward(u.phi, u.record, 1, u.dloss, null, u.dphi, null, null, false);
            return u.dphi.toDoubleArray();
        }
    }

    /** LINEAR's meta-loss gradients over one step: scale x for every coordinate. */
    static float[] linearMetaLoss(Backend backend, int n, float x, float scale) {
        try (UnrollBuffers u = new UnrollBuffers(backend, LINEAR, n, 1)) {
            u.phi.write(new float[] {1f, 0f});
            u.theta.write(new float[n]);
            u.grad.write(filled(n, x));
            u.lstm.step(u.phi, u.tensors, null, u.record, 0, false);
            u.lstm.metaLossGradients(u.record, 1, u.grad, scale, u.dloss);
            return u.dloss.toFloatArray();
        }
    }

    /** The outputs of {@link #lstmUnroll}. */
    record LstmOutputs(float[] theta, double[] dphi, float[] dstateInitial) {
    }

    /**
     * The paper's LSTM (random phi whose output weights are all {@link #SUBNORMAL_X} and output
     * bias 0, random state) over a recorded step from theta = 0 with spanning gradients, then
     * the backward pass with dL/d delta = {@link #SUBNORMAL_X} everywhere.  Read as zero, the
     * output weights make delta, hence theta, exactly 0, and dL/d delta makes dphi and dL/d(initial
     * state) exactly 0; read as they are, every one of them is nonzero for almost every coordinate.
     */
    static LstmOutputs lstmUnroll(Backend backend, int n) {
        float[] phi = LstmFixtures.randomPhi(LSTM, 11);
        PhiLayout layout = LSTM.phiLayout();
        PhiLayout.Entry out = layout.entry("output.weight");
        Arrays.fill(phi, out.offset(), out.offset() + out.size(), SUBNORMAL_X);
        phi[layout.entry("output.bias").offset()] = 0f;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(12);
        try (UnrollBuffers u = new UnrollBuffers(backend, LSTM, n, 1)) {
            u.phi.write(phi);
            u.theta.write(new float[n]);
            u.state.write(LstmFixtures.uniform(LSTM.stateRows() * n, 1.0, rnd));
            u.grad.write(LstmFixtures.spanningGradients(n, rnd));
            u.lstm.step(u.phi, u.tensors, u.state, u.record, 0, false);
            u.dloss.write(filled(n, SUBNORMAL_X));
            u.lstm.backward(u.phi, u.record, 1, u.dloss, null, u.dphi, u.dstate, null, false);
            return new LstmOutputs(u.theta.toFloatArray(), u.dphi.toDoubleArray(), u.dstate.toFloatArray());
        }
    }

    static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    /** Whether the CPU kernels set the floating-point mode here (x86-64; l2l.h). */
    static boolean modeIsSet() {
        String arch = System.getProperty("os.arch", "");
        return arch.equals("amd64") || arch.equals("x86_64");
    }
}
