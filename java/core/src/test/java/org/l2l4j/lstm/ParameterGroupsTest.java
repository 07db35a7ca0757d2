package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tensor rules, group assignment, the layout of the concatenated phi, and the text forms. */
class ParameterGroupsTest {
    static final LstmConfig SMALL = new LstmConfig(new int[] {3}, Preprocessing.IDENTITY, 1, 1, false);
    static final List<String> CONV_NET = List.of("conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
            "fc.weight", "bn_fc.bias", "out.weight", "out.bias");

    @Test
    void globsMatchWholeNames() {
        TensorRule kernels = TensorRule.parse("conv*.weight");
        assertTrue(kernels.matches("conv1.weight"));
        assertTrue(kernels.matches("conv.weight"));
        assertFalse(kernels.matches("conv1.weight2"));
        assertFalse(kernels.matches("xconv1.weight"));
        assertFalse(kernels.matches("conv1xweight"), "'.' is literal");
        assertTrue(TensorRule.parse("fc?.bias").matches("fc1.bias"));
        assertFalse(TensorRule.parse("fc?.bias").matches("fc12.bias"));
        assertTrue(TensorRule.parse("a+b|(x)").matches("(x)"), "regex characters are literal");
        assertFalse(TensorRule.parse("a+b").matches("aab"));
        assertTrue(TensorRule.ALL.matches("anything.at.all"));
        assertEquals("conv*.weight|fc.bias", TensorRule.parse("conv*.weight|fc.bias").toString());
        for (String bad : new String[] {"", "a||b", "|a", "a b", " a"}) {
            assertThrows(IllegalArgumentException.class, () -> TensorRule.parse(bad), "'" + bad + "'");
        }
    }

    @Test
    void aTensorJoinsTheFirstGroupThatMatches() {
        ParameterGroups groups = ParameterGroups.convolutionAndRest(SMALL);
        assertArrayEquals(new int[] {0, 1, 1, 0, 1, 1, 1, 1}, groups.assign(CONV_NET));
        ParameterGroups strict = ParameterGroups.parse("kernels=conv*.weight,head=out.*", SMALL);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> strict.assign(CONV_NET));
        assertTrue(e.getMessage().contains("'bn1.weight'") && e.getMessage().contains("head: out.*"), e.getMessage());
        assertEquals(-1, strict.groupOf("fc.weight"));
    }

    @Test
    void phiIsTheConcatenationOfTheGroups() {
        LstmConfig wide = SMALL.withWidths(5, 4);
        ParameterGroups groups = new ParameterGroups(List.of(new ParameterGroup("a", TensorRule.parse("x"), SMALL),
                new ParameterGroup("b", TensorRule.ALL, wide)));
        assertEquals(0, groups.phiOffset(0));
        assertEquals(SMALL.phiLayout().size(), groups.phiOffset(1));
        assertEquals(SMALL.phiLayout().size() + wide.phiLayout().size(), groups.phiSize());
        assertFalse(groups.isSingle());
        assertTrue(ParameterGroups.single(SMALL).isSingle());
        assertFalse(new ParameterGroups(List.of(new ParameterGroup("all", TensorRule.parse("a*"), SMALL))).isSingle());
    }

    @Test
    void textFormsAndTheirErrors() {
        assertEquals(ParameterGroups.single(SMALL), ParameterGroups.parse("single", SMALL));
        assertEquals(List.of("conv", "fc"), ParameterGroups.parse(" conv,fc ", SMALL).names());
        ParameterGroups custom = ParameterGroups.parse("w=fc*.weight, rest=*", SMALL);
        assertEquals(List.of("w", "rest"), custom.names());
        assertEquals(TensorRule.parse("fc*.weight"), custom.get(0).rule());
        for (String bad : new String[] {"", "conv", "a=x,a=y", "1a=x", "a=", "a=x,,b=y", "a b=x", "rest=*,w=x",
            "rest=x|*,w=y"}) {
            assertThrows(IllegalArgumentException.class, () -> ParameterGroups.parse(bad, SMALL), "'" + bad + "'");
        }
        assertThrows(IllegalArgumentException.class, () -> new ParameterGroups(List.of()));
    }
}
