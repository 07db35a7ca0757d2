package org.l2l4j.bench;

import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.Preprocessing;

/**
 * The work per coordinate of the fused kernels, counted from the equations of l2l.h (paper eq. 3, appendix A)
 * as the CPU kernels compute them, for a configuration with layers of widths H_l, inputs in_l
 * (in_0 = 1 or 2, in_l = H_{l-1}), S = 2 sum_l H_l state rows and R = 1 + S record rows.  FLOPs
 * count the matrix parts only (a multiply-add is 2); the elementwise cell arithmetic is left out
 * and the transcendentals are counted apart.  Bytes are the compulsory memory traffic of a call
 * whose arrays do not fit in the caches.
 *
 * <p>For the paper's optimizer (LSTM 20-20, log-and-sign: in = 2, 20; S = 80; R = 81):
 *
 * <table>
 * <caption>Counts per coordinate</caption>
 * <tr><th></th><th>FLOPs</th><th>transcendentals</th><th>bytes</th><th>FLOP/byte</th></tr>
 * <tr><td>step</td><td>2 sum_l 4H(in_l + H) + 2H = 9,960</td><td>5 sum_l H = 200 exp-based
 *     (3 sigmoids, 2 tanh per unit) + 1 log</td><td>8S + 12 = 652 (state read and written, x read,
 *     theta read and written)</td><td>15.3</td></tr>
 * <tr><td>step writing its record</td><td>9,960</td><td>201</td><td>652 + 4R = 976</td><td>10.2</td></tr>
 * <tr><td>backward, per coordinate-step</td><td>29,540: the forward recomputed (9,960), the weight
 *     gradients dZ u^T, dZ h^T and G h^T (9,960), W_hh^T dZ for every layer, W_ih^T dZ for every
 *     layer above the first and w_out G (9,620)</td><td>201 (the recomputed forward)</td><td>4R + 4
 *     = 328 (the record and dL/d delta)</td><td>90.1</td></tr>
 * </table>
 *
 * <p>Both kernels are compute-bound on any machine with more than about 15 FLOP/byte of peak over
 * bandwidth to spare, so their roofline is usually the multiply-add peak itself.
 */
record CostModel(LstmConfig config) {

    /** The paper's optimizer. */
    static CostModel paper() {
        return new CostModel(LstmConfig.paperMnist());
    }

    private int input(int l) {
        return l == 0 ? config.preprocessing().inputs() : config.width(l - 1);
    }

    private int outputInputs() {
        return config.layers() == 0 ? config.preprocessing().inputs() : config.width(config.layers() - 1);
    }

    /** Matrix FLOPs of one step of one coordinate. */
    long stepFlops() {
        long f = 0;
        for (int l = 0; l < config.layers(); l++) {
            int h = config.width(l);
            f += 2L * 4 * h * (input(l) + h);
        }
        return f + 2L * outputInputs();
    }

    /** Matrix FLOPs of the backward pass per coordinate and step. */
    long backwardFlops() {
        long transposed = outputInputs();
        for (int l = 0; l < config.layers(); l++) {
            int h = config.width(l);
            transposed += 2L * 4 * h * h + (l > 0 ? 2L * 4 * h * input(l) : 0);
        }
        return 2 * stepFlops() + transposed;
    }

    /** Transcendental functions of one step of one coordinate (also the backward's per step). */
    long transcendentals() {
        long units = 0;
        for (int l = 0; l < config.layers(); l++) {
            units += config.width(l);
        }
        return 5 * units + (config.preprocessing() == Preprocessing.LOG_AND_SIGN ? 1 : 0);
    }

    /** LSTM units per coordinate (sum_l H_l): cell updates per step. */
    long units() {
        return config.stateRows() / 2;
    }

    /** Memory traffic of one step per coordinate, bytes. */
    long stepBytes() {
        return 8L * config.stateRows() + 12;
    }

    /** Memory traffic of one step writing its record, per coordinate, bytes. */
    long recordedStepBytes() {
        return stepBytes() + 4L * config.recordRows();
    }

    /** Memory traffic of the backward pass per coordinate and step, bytes. */
    long backwardBytes() {
        return 4L * config.recordRows() + 4;
    }
}
