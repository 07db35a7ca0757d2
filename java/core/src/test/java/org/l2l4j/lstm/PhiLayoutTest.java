package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The size and PyTorch order of phi ({@link PhiLayout}), and the initializations' rules. */
class PhiLayoutTest {

    @Test
    void paperOptimizerHas5301Values() {
        // 80*2 + 80*20 + 80 + 80 + 80*20 + 80*20 + 80 + 80 + 20 + 1 (PyTorch's two bias vectors per layer)
        assertEquals(5301, LstmConfig.paperMnist().phiLayout().size());
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(LstmConfig.paperMnist())) {
            assertEquals(5301, lstm.phiSize());
        }
    }

    @Test
    void entriesFollowPyTorchOrder() {
        LstmConfig c = new LstmConfig(new int[] {7, 33}, Preprocessing.IDENTITY, 10, 1, false);
        List<PhiLayout.Entry> e = c.phiLayout().entries();
        String[] names = {"lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1", "output.weight",
            "output.bias"};
        int[][] shapes = {{28, 1}, {28, 7}, {28}, {28}, {132, 7}, {132, 33}, {132}, {132}, {1, 33}, {1}};
        int offset = 0;
        for (int k = 0; k < names.length; k++) {
            assertEquals(names[k], e.get(k).name());
            assertEquals(java.util.Arrays.toString(shapes[k]), java.util.Arrays.toString(e.get(k).shape()));
            assertEquals(offset, e.get(k).offset());
            offset += e.get(k).size();
        }
        assertEquals(offset, c.phiLayout().size());
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(c)) {
            assertEquals(offset, lstm.phiSize());
        }
    }

    @Test
    void linearRuleHasOnlyTheOutputLayer() {
        LstmConfig c = new LstmConfig(new int[0], Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
        assertEquals(3, c.phiLayout().size());
        assertEquals(0, c.stateRows());
        double[] zeros = PhiInit.ZEROS.initialize(c, 1);
        assertEquals(3, zeros.length);
    }

    @Test
    void zeroInitializationIsRejectedWithLstmLayers() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PhiInit.ZEROS.initialize(LstmConfig.paperMnist(), 1));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("only without LSTM layers"));
    }

    @Test
    void defaultInitializationZeroesTheOutputLayerAndBoundsTheRest() {
        LstmConfig c = LstmConfig.paperMnist();
        double[] phi = PhiInit.PYTORCH_ZERO_OUTPUT.initialize(c, 5);
        double bound = 1 / Math.sqrt(20);
        for (PhiLayout.Entry e : c.phiLayout().entries()) {
            for (int i = e.offset(); i < e.offset() + e.size(); i++) {
                if (e.name().startsWith("output.")) {
                    assertEquals(0.0, phi[i]);
                } else {
                    org.junit.jupiter.api.Assertions.assertTrue(Math.abs(phi[i]) <= bound, e.name());
                }
            }
        }
        double[] sonnet = PhiInit.SONNET.initialize(c, 5);
        PhiLayout.Entry b = c.phiLayout().entry("lstm.bias_ih_l0");
        assertEquals(1.0, sonnet[b.offset() + 20]); // forget gate block starts at H
        assertEquals(0.0, sonnet[b.offset()]);
    }
}
