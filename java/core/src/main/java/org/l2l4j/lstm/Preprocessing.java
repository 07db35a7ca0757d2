package org.l2l4j.lstm;

/**
 * How a gradient coordinate x becomes the LSTM's input u^0 (paper appendix A; l2l.h).
 */
public enum Preprocessing {
    /** u^0 = x: one input.  The paper's choice for the quadratics. */
    IDENTITY(1),
    /**
     * u^0 = (max(log(max(|x|, FLT_MIN)) / p, -1), clamp(x e^p, -1, 1)): two inputs; the paper's
     * map for neural networks (appendix A), p = 10 by default.
     */
    LOG_AND_SIGN(2);

    private final int inputs;

    Preprocessing(int inputs) {
        this.inputs = inputs;
    }

    /** in_0, the number of LSTM inputs per coordinate. */
    public int inputs() {
        return inputs;
    }
}
