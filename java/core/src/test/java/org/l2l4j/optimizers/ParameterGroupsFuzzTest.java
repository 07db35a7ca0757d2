package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.l2l4j.fuzz.Fuzz;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiInit;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.reference.ReferenceLstm;

/**
 * Random learned optimizers of 1 to 3 parameter groups (each of its own small architecture and
 * random phi, rules drawn from globs and plain names, some of them invalid) stepping random
 * tensors of names a network would have, through {@link LstmOptimizer}.
 *
 * <p>The properties: invalid group lists and texts are rejected by {@link ParameterGroups} with
 * {@link IllegalArgumentException}; a tensor that no rule takes is rejected at registration,
 * registering nothing; a checkpoint of the groups round-trips exactly; a step with finite inputs
 * moves every coordinate by its group's float64 {@link ReferenceLstm} (per group, max abs
 * difference over the larger of max abs reference and the output's bound, within the step's
 * tolerance 1e-5), its hidden state carried to the next step; and a step with a NaN or infinity
 * in any group's gradient or parameter throws {@link IllegalArgumentException} naming that
 * tensor and writes nothing in any group.
 */
class ParameterGroupsFuzzTest {
    /** The step's tolerance, as the kernels' own accuracy test (StepAccuracyTest). */
    static final double TOLERANCE = 1e-5;
    static final String[] NAMES = {"conv1.weight", "conv2.weight", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias",
        "out.weight", "out.bias", "head"};
    static final String[] PATTERNS = {"*", "conv*.weight", "bn?.*", "fc.*", "*.bias", "out.weight", "head", "x*",
        "*.weight|head", "", "a b", "a||b"};

    @TempDir
    Path dir;

    @Test
    void randomGroupsOfRandomTensors() {
        long calls = Fuzz.run("parameter groups", 300, this::groupCase);
        System.out.println("parameter groups fuzz: " + calls + " random calls");
        assertTrue(calls >= 1000, "only " + calls + " calls");
    }

    static LstmConfig smallConfig(Fuzz fz) {
        int layers = fz.between(1, 2);
        int width = fz.between(1, 4);
        int[] widths = new int[layers];
        java.util.Arrays.fill(widths, width);
        return new LstmConfig(widths, fz.pick(Preprocessing.values()), fz.pick(5.0, 10.0), fz.pick(0.1, 1.0, -0.5),
                fz.oneIn(3));
    }

    private void groupCase(Fuzz fz) throws Exception {
        int count = fz.between(1, 3);
        List<String> names = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        List<LstmConfig> configs = new ArrayList<>();
        for (int g = 0; g < count; g++) {
            names.add(fz.oneIn(15) ? fz.pick("1x", "", "a.b", names.isEmpty() ? "g0" : names.get(0)) : "g" + g);
            rules.add(fz.pick(PATTERNS) + (fz.oneIn(4) ? "|" + fz.pick(NAMES) : ""));
            configs.add(smallConfig(fz));
        }
        if (fz.oneIn(2)) {
            rules.set(count - 1, "*");
        }
        List<ParameterGroup> list = new ArrayList<>();
        boolean invalid = false;
        for (int g = 0; g < count; g++) {
            String name = names.get(g);
            String rule = rules.get(g);
            LstmConfig config = configs.get(g);
            boolean badName = !name.matches("[A-Za-z][A-Za-z0-9_]*");
            boolean badRule = rules.get(g).isEmpty() || rules.get(g).contains(" ") || rules.get(g).contains("||")
                    || rules.get(g).startsWith("|") || rules.get(g).endsWith("|");
            fz.count();
            if (badName || badRule) {
                Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "group " + name + " (" + rule + ")",
                        () -> new ParameterGroup(name, TensorRule.parse(rule), config));
                invalid = true;
                continue;
            }
            list.add(new ParameterGroup(name, TensorRule.parse(rules.get(g)), configs.get(g)));
        }
        if (invalid) {
            return;
        }
        boolean duplicate = list.stream().map(ParameterGroup::name).distinct().count() < list.size();
        boolean shadowed = false;
        for (int g = 1; g < list.size(); g++) {
            shadowed |= list.get(g - 1).rule().patterns().contains("*");
        }
        fz.count();
        if (duplicate || shadowed) {
            Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "groups " + list,
                    () -> new ParameterGroups(list));
            return;
        }
        ParameterGroups groups = new ParameterGroups(list);
        float[] phi = new float[groups.phiSize()];
        for (int g = 0; g < groups.count(); g++) {
            float[] own = PhiLayout.toFloat32(PhiInit.PYTORCH.initialize(groups.get(g).config(), fz.random().nextLong()));
            System.arraycopy(own, 0, phi, groups.phiOffset(g), own.length);
        }
        OptimizerCheckpoint checkpoint = new OptimizerCheckpoint(groups, phi, Map.of());
        Path file = Files.createTempFile(dir, "groups", ".safetensors");
        checkpoint.save(file);
        fz.count();
        OptimizerCheckpoint loaded = OptimizerCheckpoint.load(file);
        assertEquals(groups, loaded.groups());
        assertArrayEquals(phi, loaded.phi());
        stepCase(fz, loaded);
    }

    private static void stepCase(Fuzz fz, OptimizerCheckpoint checkpoint) {
        ParameterGroups groups = checkpoint.groups();
        int tensors = fz.between(1, 5);
        List<String> names = new ArrayList<>();
        List<float[]> theta = new ArrayList<>();
        List<float[]> grad = new ArrayList<>();
        List<Integer> groupOf = new ArrayList<>();
        try (LstmOptimizer optimizer = LstmOptimizer.builder(checkpoint).threads(1).build()) {
            for (int k = 0; k < tensors; k++) {
                String name = fz.pick(NAMES);
                if (names.contains(name)) {
                    continue;
                }
                int size = fz.between(1, 9);
                float[] p = fz.values(size, 0);
                float[] g = fz.values(size, 0);
                int owner = groups.groupOf(name);
                fz.count();
                if (owner < 0) {
                    List<String> before = optimizer.tensorNames();
                    Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "register " + name,
                            () -> optimizer.register(name, p, g));
                    assertEquals(before, optimizer.tensorNames(), "a rejected tensor was registered");
                    continue;
                }
                optimizer.register(name, p, g);
                names.add(name);
                theta.add(p);
                grad.add(g);
                groupOf.add(owner);
            }
            if (names.isEmpty()) {
                return;
            }
            ReferenceLstm[] reference = new ReferenceLstm[groups.count()];
            for (int g = 0; g < groups.count(); g++) {
                reference[g] = new ReferenceLstm(groups.get(g).config(), flushed(checkpoint.phi(g)));
            }
            List<double[][]> states = new ArrayList<>();
            for (int k = 0; k < names.size(); k++) {
                states.add(new double[theta.get(k).length][groups.get(groupOf.get(k)).config().stateRows()]);
            }
            for (int step = 0; step < 3; step++) {
                boolean poisoned = fz.oneIn(4);
                int bad = fz.between(0, names.size() - 1);
                for (int k = 0; k < names.size(); k++) {
                    float[] fresh = fz.values(grad.get(k).length, 0);
                    System.arraycopy(fresh, 0, grad.get(k), 0, fresh.length);
                }
                if (poisoned) {
                    float[] target = fz.random().nextBoolean() ? grad.get(bad) : theta.get(bad);
                    target[fz.between(0, target.length - 1)] = fz.nonFinite();
                }
                List<float[]> before = new ArrayList<>();
                theta.forEach(t -> before.add(t.clone()));
                fz.count();
                if (poisoned) {
                    Throwable t = Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "poisoned step",
                            optimizer::step);
                    assertTrue(t.getMessage().contains("'" + names.get(bad) + "'"), t.getMessage());
                    for (int k = 0; k < names.size(); k++) {
                        assertArrayEquals(before.get(k), theta.get(k), "a rejected step wrote " + names.get(k));
                    }
                    return;
                }
                optimizer.step();
                compare(groups, checkpoint, reference, groupOf, grad, before, theta, states);
            }
        }
    }

    /** Each group's deltas against its reference, the states carried along. */
    private static void compare(ParameterGroups groups, OptimizerCheckpoint checkpoint, ReferenceLstm[] reference,
                                List<Integer> groupOf, List<float[]> grad, List<float[]> before, List<float[]> after,
                                List<double[][]> states) {
        for (int g = 0; g < groups.count(); g++) {
            double num = 0;
            double den = outputBound(groups.get(g).config(), checkpoint.phi(g));
            boolean any = false;
            for (int k = 0; k < groupOf.size(); k++) {
                if (groupOf.get(k) != g) {
                    continue;
                }
                any = true;
                for (int i = 0; i < grad.get(k).length; i++) {
                    double expected = reference[g].step(flush(grad.get(k)[i]), states.get(k)[i]);
                    double actual = (double) after.get(k)[i] - before.get(k)[i];
                    double theta = flush(before.get(k)[i]);
                    // float32 theta + delta rounds at the scale of theta
                    num = Math.max(num, Math.abs(actual - expected) - Math.ulp((float) Math.abs(theta + expected)));
                    den = Math.max(den, Math.abs(expected));
                }
            }
            if (any) {
                assertTrue(num / den < TOLERANCE, "group " + groups.get(g).name() + ": err "
                        + num / den);
            }
        }
    }

    /** |output scale| (sum |W_out| + |b_out|): the largest |delta| with |h| <= 1. */
    private static double outputBound(LstmConfig config, float[] phi) {
        PhiLayout.Entry w = config.phiLayout().entry("output.weight");
        PhiLayout.Entry b = config.phiLayout().entry("output.bias");
        double sum = Math.abs(phi[b.offset()]);
        for (int i = w.offset(); i < w.offset() + w.size(); i++) {
            sum += Math.abs(phi[i]);
        }
        return Math.abs(config.outputScale()) * sum;
    }

    /** A float as the CPU kernels read it: subnormals as zeros of the same sign. */
    private static double flush(float v) {
        return Math.abs(v) < Float.MIN_NORMAL ? Math.copySign(0.0, v) : v;
    }

    private static double[] flushed(float[] phi) {
        double[] out = new double[phi.length];
        for (int i = 0; i < phi.length; i++) {
            out[i] = flush(phi[i]);
        }
        return out;
    }
}
