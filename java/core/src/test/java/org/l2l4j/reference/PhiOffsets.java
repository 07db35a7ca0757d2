package org.l2l4j.reference;

import org.l2l4j.lstm.LstmConfig;

/**
 * Where each tensor of phi lies (PyTorch order, l2l.h) and where each layer's rows lie in a
 * coordinate's state, worked out from the configuration alone, for the float64 references.
 */
final class PhiOffsets {
    final int layers;
    final int[] width;
    final int[] in;
    final int[] wih;
    final int[] whh;
    final int[] bih;
    final int[] bhh;
    final int[] hRow;
    final int outIn;
    final int wOut;
    final int bOut;
    final int stateRows;

    /** @throws IllegalArgumentException if phi does not have the configuration's size */
    PhiOffsets(LstmConfig cfg, int phiLength) {
        layers = cfg.layers();
        width = cfg.widths();
        in = new int[layers];
        wih = new int[layers];
        whh = new int[layers];
        bih = new int[layers];
        bhh = new int[layers];
        hRow = new int[layers];
        int off = 0;
        int row = 0;
        int input = cfg.preprocessing().inputs();
        for (int l = 0; l < layers; l++) {
            int h = width[l];
            in[l] = input;
            wih[l] = off;
            off += 4 * h * input;
            whh[l] = off;
            off += 4 * h * h;
            bih[l] = off;
            off += 4 * h;
            bhh[l] = off;
            off += 4 * h;
            hRow[l] = row;
            row += 2 * h;
            input = h;
        }
        outIn = input;
        wOut = off;
        bOut = off + input;
        if (bOut + 1 != phiLength) {
            throw new IllegalArgumentException("phi has " + phiLength + " values, expected " + (bOut + 1));
        }
        stateRows = row;
    }
}
