package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.safetensors.Safetensors;

/**
 * A learned optimizer of two parameter groups (paper section 3.3) in a training loop: each group
 * steps its tensors exactly as a single-group optimizer of that group's phi would (bitwise, over
 * tensors of every holder kind), a value check in either group leaves both untouched, and the
 * state file holds and restores each group's hidden state.
 */
class GroupedLstmOptimizerTest {
    static final LstmConfig WIDE = new LstmConfig(new int[] {8, 8}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
    static final LstmConfig NARROW = new LstmConfig(new int[] {5}, Preprocessing.LOG_AND_SIGN, 5, 0.3, false);
    /** MixedTensors names its tensors t0.array, t1.heap_slice, ...: group "even" takes t0, t2, t4. */
    static final ParameterGroups GROUPS = new ParameterGroups(List.of(
            new ParameterGroup("even", TensorRule.parse("t0.*|t2.*|t4.*"), WIDE),
            new ParameterGroup("rest", TensorRule.ALL, NARROW)));
    static final int[] SIZES = {37, 5, 257, 3, 11, 1};
    static final Predicate<String> EVEN = name -> name.startsWith("t0.") || name.startsWith("t2.")
            || name.startsWith("t4.");

    @TempDir
    Path dir;

    static OptimizerCheckpoint grouped() {
        OptimizerCheckpoint even = MixedTensors.checkpoint(WIDE, 3);
        OptimizerCheckpoint rest = MixedTensors.checkpoint(NARROW, 4);
        float[] phi = Arrays.copyOf(even.phi(), GROUPS.phiSize());
        System.arraycopy(rest.phi(), 0, phi, GROUPS.phiOffset(1), rest.phi().length);
        return new OptimizerCheckpoint(GROUPS, phi, Map.of());
    }

    @Test
    void eachGroupStepsAsASingleGroupOptimizerOfItsTensors() {
        try (MixedTensors joint = new MixedTensors(7, SIZES);
             MixedTensors split = new MixedTensors(7, SIZES);
             LstmOptimizer both = LstmOptimizer.builder(grouped()).threads(1).build();
             LstmOptimizer even = LstmOptimizer.builder(MixedTensors.checkpoint(WIDE, 3)).threads(1).build();
             LstmOptimizer rest = LstmOptimizer.builder(MixedTensors.checkpoint(NARROW, 4)).threads(1).build()) {
            joint.register(both);
            split.register(even, EVEN);
            split.register(rest, EVEN.negate());
            for (int t = 0; t < 6; t++) {
                joint.computeGradients();
                split.computeGradients();
                float[] before = joint.parameters();
                both.step();
                even.step();
                rest.step();
                assertArrayEquals(split.parameters(), joint.parameters(), "step " + t);
                assertTrue(!Arrays.equals(before, joint.parameters()), "step " + t + " moved nothing");
            }
        }
    }

    @Test
    void aNonFiniteValueInOneGroupLeavesEveryGroupAsItWas() {
        try (MixedTensors tensors = new MixedTensors(7, SIZES);
             MixedTensors twin = new MixedTensors(7, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(grouped()).threads(1).build();
             LstmOptimizer reference = LstmOptimizer.builder(grouped()).threads(1).build()) {
            tensors.register(optimizer);
            twin.register(reference);
            tensors.computeGradients();
            twin.computeGradients();
            optimizer.step();
            reference.step();
            float[] before = tensors.parameters();
            int lastTensor = Arrays.stream(SIZES).sum() - 1; // t5.array, in group "rest"
            for (int bad : new int[] {lastTensor, 0}) {
                float[] g = tensors.gradients();
                g[bad] = Float.NaN;
                tensors.setGradients(g);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, optimizer::step);
                String expected = bad == 0 ? "'t0.array'" : "'t5.array'";
                assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("nothing was updated"),
                        e.getMessage());
                assertArrayEquals(before, tensors.parameters(), "a rejected step wrote parameters");
            }
            // the hidden states are untouched too: the next steps equal those of an optimizer that
            // never saw the rejected ones
            for (int t = 0; t < 3; t++) {
                tensors.computeGradients();
                twin.computeGradients();
                optimizer.step();
                reference.step();
                assertArrayEquals(twin.parameters(), tensors.parameters(), "step " + t + " after the rejection");
            }
        }
    }

    @Test
    void theStateFileHoldsEveryGroupsHiddenStateAndResumesBitForBit() throws IOException {
        Path file = dir.resolve("state.safetensors");
        try (MixedTensors tensors = new MixedTensors(7, SIZES);
             MixedTensors resumed = new MixedTensors(7, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(grouped()).threads(1).build();
             LstmOptimizer restored = LstmOptimizer.builder(grouped()).threads(1).build()) {
            tensors.register(optimizer);
            for (int t = 0; t < 3; t++) {
                tensors.computeGradients();
                optimizer.step();
            }
            optimizer.saveState(file);
            var saved = Safetensors.read(file);
            int evenCoordinates = SIZES[0] + SIZES[2] + SIZES[4];
            assertArrayEquals(new long[] {WIDE.stateRows(), evenCoordinates}, saved.tensor("hidden_state.even").shape());
            assertArrayEquals(new long[] {NARROW.stateRows(), Arrays.stream(SIZES).sum() - evenCoordinates},
                    saved.tensor("hidden_state.rest").shape());
            assertEquals("even,rest", saved.metadata().get("groups"));
            resumed.setParameters(tensors.parameters());
            resumed.register(restored);
            restored.loadState(file);
            for (int t = 0; t < 3; t++) {
                tensors.computeGradients();
                resumed.computeGradients();
                optimizer.step();
                restored.step();
                assertArrayEquals(tensors.parameters(), resumed.parameters(), "step " + t + " after resuming");
            }
        }
    }

    @Test
    void rulesDecideMembershipAndCanBeReplaced() {
        OptimizerCheckpoint onlyEven = new OptimizerCheckpoint(new ParameterGroups(List.of(
                new ParameterGroup("even", TensorRule.parse("t0.*|t2.*|t4.*"), WIDE))),
                MixedTensors.checkpoint(WIDE, 3).phi(), Map.of());
        try (MixedTensors tensors = new MixedTensors(7, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(onlyEven).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> tensors.register(optimizer));
            assertTrue(e.getMessage().contains("'t1.heap_slice' matches no parameter group"), e.getMessage());
            assertEquals(List.of("t0.array"), optimizer.tensorNames(), "the rejected tensor was not registered");
        }
        try (MixedTensors tensors = new MixedTensors(7, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(onlyEven).rule("even", TensorRule.ALL).build()) {
            tensors.register(optimizer);
            tensors.computeGradients();
            optimizer.step();
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> LstmOptimizer.builder(grouped()).rule("conv", TensorRule.ALL).build());
        assertTrue(unknown.getMessage().contains("no parameter group 'conv'"), unknown.getMessage());
        // a group that owns no tensor does nothing
        try (MixedTensors tensors = new MixedTensors(7, SIZES);
             LstmOptimizer optimizer = LstmOptimizer.builder(grouped()).rule("even", TensorRule.parse("none"))
                     .build()) {
            tensors.register(optimizer);
            tensors.computeGradients();
            optimizer.step();
        }
    }
}
