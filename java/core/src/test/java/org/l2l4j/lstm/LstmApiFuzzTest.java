package org.l2l4j.lstm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;
import org.l2l4j.fuzz.Fuzz;
import org.l2l4j.fuzz.FuzzBackends;
import org.l2l4j.reference.ReferenceLstm;

/**
 * Random calls of the LSTM API: {@link LstmConfig}, {@link UnrollRecord}, {@link TensorList}
 * and the three kernels of {@link CoordinatewiseLstm} (step, metaLossGradients, backward), on
 * small random configurations (0 to 3 layers of 1 to 4 units, both preprocessings, random p,
 * output scale and epsilon option), n = 1 to 9 coordinates in 1 to 3 tensors that are slices of
 * larger buffers, unrolls of 1 to 3 steps, every CPU instruction set, some calls from a second
 * thread.
 *
 * <p>Values: moderate magnitudes (1e-3 to 1e2), signed zeros and subnormals, and NaN and
 * infinities.  Arguments: valid ones, or one or two faults drawn from nulls, closed objects
 * (buffers, lists, records, the model), buffers of another backend instance, wrong lengths and
 * element types, phi and states of another configuration, records of another configuration or
 * coordinate count, slots and step counts out of range, sizes at the int and long extremes.
 *
 * <p>The property: a call with valid arguments succeeds and agrees with the float64
 * {@link ReferenceLstm} (max abs difference over max abs reference per tensor: 1e-5 for the step
 * and the meta-loss gradients as in {@link StepAccuracyTest}, 1e-4 for the backward pass as in
 * {@link BackwardAccuracyTest}; h and c, which are O(1) quantities, are measured against at
 * least 1, and delta against at least its bound at |h| <= 1, because sigmoid and tanh have an
 * absolute error of 3e-7 in the kernels; the backward pass's tensors likewise against at least
 * {@link ReferenceLstm.Gradients#magnitudes}, the same pass with the activations at their bound 1
 * and no term cancelling another, capped at {@link #FLOOR_CAP} times the tensor's largest
 * reference value), or, with {@code checkFinite} and a NaN or infinity
 * among the checked inputs, throws {@link L2lException} NON_FINITE; a call with a faulty argument
 * throws one of the exceptions documented for that fault.  Either way a rejected call leaves
 * every buffer bitwise as it was.
 *
 * <p>The reference reads the inputs as the CPU kernels do, with subnormal values (phi, gradients,
 * theta, states, the record, upstream gradients, the output and meta-loss scales) as zeros of
 * the same sign (denormals-are-zero, l2l.h "Floating-point mode"), so that a subnormal weight
 * times an infinite input is NaN (0 * Inf) in both; the results the kernels flush to zero, all
 * below 2^-126 in magnitude, are within the tolerances below (which accept absolute differences
 * up to 1e-30, for dx times the preprocessing's derivative, up to e^p, which scales the flushed
 * parts of dL/du, and for theta up to 2^-125 more).
 *
 * <p>Non-finite inputs without {@code checkFinite}: a NaN gradient gives NaN in that
 * coordinate's delta and state (l2l.h), exactly; other non-finite values give non-finite outputs
 * where the reference's are non-finite (NaN and infinity not told apart: a product of an
 * infinity with a value that underflows to 0 in float32 but not in float64 is NaN in one and
 * infinite in the other), and every coordinate whose own inputs are finite agrees with the
 * reference.  An infinite cell state is the one input no float32 kernel can follow the float64
 * reference on (sigmoid(z) c for z < -88 is 0 * Inf in float32, so tanh of NaN instead of tanh
 * of Inf): such a coordinate's outputs, and dphi when one takes part, are not compared.  Nor are
 * values computed with a non-finite phi, which meets every coordinate's values, some of them
 * below float32's range where float64 still has them (Inf times a tanh that is 0 in float32 and
 * 1e-41 in float64); {@link #anInfiniteWeightDoesNotPoisonThePartialTile} checks one such case
 * whose values stay in range.
 */
class LstmApiFuzzTest extends FuzzBackends {
    static final double STEP_TOLERANCE = StepAccuracyTest.TOLERANCE;
    static final double BACKWARD_TOLERANCE = BackwardAccuracyTest.TOLERANCE;

    @Test
    void configurations() {
        long calls = Fuzz.run("LstmConfig fuzz", 20_000, LstmApiFuzzTest::configCase);
        report("LstmConfig", calls, 20_000);
    }

    @Test
    void recordsAndTensorLists() {
        long calls = Fuzz.run("UnrollRecord and TensorList fuzz", 5_000, LstmApiFuzzTest::recordAndListCase);
        report("UnrollRecord and TensorList", calls, 20_000);
    }

    @Test
    void kernelCalls() {
        long calls = Fuzz.run("kernel fuzz", 4_500, fz -> new Scenario(fz).run());
        report("step, metaLossGradients and backward", calls, 40_000);
    }

    @Tag("large")
    @Test
    void tenTimesMoreConfigurationsRecordsAndTensorLists() {
        report("LstmConfig (large)", Fuzz.run("LstmConfig fuzz (large)", 200_000, LstmApiFuzzTest::configCase),
                200_000);
        report("UnrollRecord and TensorList (large)", Fuzz.run("UnrollRecord and TensorList fuzz (large)", 50_000,
                LstmApiFuzzTest::recordAndListCase), 200_000);
    }

    @Tag("large")
    @Test
    void tenTimesMoreKernelCalls() {
        long calls = Fuzz.run("kernel fuzz (large)", 45_000, fz -> new Scenario(fz).run());
        report("step, metaLossGradients and backward (large)", calls, 400_000);
    }

    private static void report(String what, long calls, long atLeast) {
        System.out.println(what + " fuzz: " + calls + " random calls");
        assertTrue(calls >= atLeast, what + ": only " + calls + " calls");
    }

    /** Runs a call on this thread or, once in ten, on another one. */
    private static void onSomeThread(Fuzz fz, Fuzz.ThrowingCall call) throws Exception {
        fz.count();
        if (!fz.oneIn(10)) {
            call.run();
            return;
        }
        try {
            otherThread.submit(() -> {
                call.run();
                return null;
            }).get();
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    /** The argument faults of one call and the exceptions they may raise. */
    static final class Faults {
        final Set<Class<? extends Throwable>> allowed = new HashSet<>();
        final List<String> names = new ArrayList<>();

        void add(boolean fault, Class<? extends Throwable> type, String name) {
            if (fault) {
                allowed.add(type);
                names.add(name);
            }
        }

        boolean any() {
            return !allowed.isEmpty();
        }
    }

    // ---- configurations --------------------------------------------------------------------

    /** phi's size written out from the layout of l2l.h. */
    static int phiSizeOf(int[] widths, Preprocessing pre) {
        int size = 0;
        int in = pre.inputs();
        for (int h : widths) {
            size += 4 * h * in + 4 * h * h + 8 * h;
            in = h;
        }
        return size + in + 1;
    }

    private static void configCase(Fuzz fz) {
        int[] widths = fz.oneIn(30) ? null : new int[fz.oneIn(10) ? fz.pick(9, 12) : fz.between(0, LstmConfig.MAX_LAYERS)];
        if (widths != null) {
            for (int l = 0; l < widths.length; l++) {
                widths[l] = fz.oneIn(12) ? fz.pick(0, -1, 257, Integer.MAX_VALUE, Integer.MIN_VALUE, 256)
                        : fz.between(1, 6);
            }
        }
        Preprocessing pre = fz.oneIn(30) ? null : fz.pick(Preprocessing.values());
        double p = fz.oneIn(4) ? fz.pick(Double.NaN, Double.POSITIVE_INFINITY, 0.0, -0.0, -1.0, 1e-50,
                Double.MIN_VALUE, 1e-3, 80.0, Math.nextUp(80.0), 81.0, 1e-39, 1e-30)
                : Math.exp(Math.log(1e-3) + (Math.log(80) - Math.log(1e-3)) * fz.random().nextDouble());
        double scale = fz.oneIn(4) ? fz.pick(Double.NaN, Double.NEGATIVE_INFINITY, 1e300, 3.5e38, -3.4e38, 0.0,
                -0.0, 1e-50, Double.MIN_VALUE) : fz.moderate();
        boolean eps = fz.random().nextBoolean();
        int[] given = widths == null ? null : widths.clone();

        Faults f = new Faults();
        f.add(widths == null, NullPointerException.class, "null widths");
        f.add(pre == null, NullPointerException.class, "null preprocessing");
        f.add(widths != null && widths.length > LstmConfig.MAX_LAYERS, IllegalArgumentException.class, "layers");
        f.add(widths != null && Arrays.stream(widths).anyMatch(w -> w < 1 || w > LstmConfig.MAX_WIDTH),
                IllegalArgumentException.class, "width");
        f.add(pre == Preprocessing.LOG_AND_SIGN && !(p >= LstmConfig.MIN_P && p <= LstmConfig.MAX_P),
                IllegalArgumentException.class, "p");
        f.add(!Float.isFinite((float) scale) || !Double.isFinite(scale), IllegalArgumentException.class, "scale");
        String what = "new LstmConfig(" + Arrays.toString(widths) + ", " + pre + ", " + p + ", " + scale + ")";
        fz.count();
        if (f.any()) {
            Fuzz.assertThrowsOneOf(f.allowed, what + " with " + f.names,
                    () -> new LstmConfig(widths, pre, p, scale, eps));
            assertArrayEquals(given, widths, what + " changed its widths");
            return;
        }
        LstmConfig c = new LstmConfig(widths, pre, p, scale, eps);
        assertArrayEquals(given, widths, what + " changed its widths");
        if (widths.length > 0) {
            widths[0] = -7;
            assertEquals(given[0], c.width(0), what + " shares the caller's array");
            c.widths()[0] = -8;
            assertEquals(given[0], c.width(0), what + " exposes its array");
        }
        assertEquals(new LstmConfig(given, pre, p, scale, eps), c);
        assertEquals(new LstmConfig(given, pre, p, scale, eps).hashCode(), c.hashCode());
        assertEquals(2 * Arrays.stream(given).sum(), c.stateRows(), what);
        assertEquals(1 + c.stateRows(), c.recordRows(), what);
        int size = phiSizeOf(given, pre);
        assertEquals(size, c.phiLayout().size(), what);
        fz.count();
        try (CoordinatewiseLstm lstm = new CoordinatewiseLstm(c)) {
            assertEquals(size, lstm.phiSize(), what);
        }
    }

    // ---- records and tensor lists ----------------------------------------------------------

    /** A small valid configuration. */
    static LstmConfig smallConfig(Fuzz fz) {
        int[] widths = new int[fz.between(0, 3)];
        for (int l = 0; l < widths.length; l++) {
            widths[l] = fz.between(1, 4);
        }
        double p = fz.oneIn(3) ? 10 : Math.exp(Math.log(0.5) + Math.log(100) * fz.random().nextDouble());
        double scale = fz.oneIn(8) ? 0.0 : fz.pick(0.1, 1.0, -0.5, 0.01, 3.0);
        return new LstmConfig(widths, fz.pick(Preprocessing.values()), p, scale, fz.oneIn(3));
    }

    /** Floats of a record, exactly. */
    private static BigInteger recordFloats(LstmConfig c, long coordinates, int steps) {
        return BigInteger.valueOf(steps).multiply(BigInteger.valueOf(c.recordRows()))
                .multiply(BigInteger.valueOf(coordinates));
    }

    private static void recordAndListCase(Fuzz fz) throws Exception {
        LstmConfig config = smallConfig(fz);
        for (int k = 0; k < 2; k++) {
            recordCall(fz, config);
        }
        listCalls(fz);
    }

    private static void recordCall(Fuzz fz, LstmConfig config) throws Exception {
        Backend on = fz.oneIn(20) ? null : fz.oneIn(10) ? closed : main;
        LstmConfig c = fz.oneIn(20) ? null : config;
        long coordinates = fz.oneIn(3) ? fz.pick(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 48, 1L << 56,
                Long.MAX_VALUE / 64) : fz.between(1, 5);
        int steps = fz.oneIn(4) ? fz.pick(0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE) : fz.between(1, 3);
        Faults f = new Faults();
        f.add(on == null, NullPointerException.class, "null backend");
        f.add(c == null, NullPointerException.class, "null config");
        f.add(coordinates < 1, IllegalArgumentException.class, "coordinates");
        f.add(steps < 1, IllegalArgumentException.class, "steps");
        f.add(on != null && on.isClosed(), IllegalStateException.class, "closed backend");
        BigInteger floats = recordFloats(config, Math.max(1, coordinates), Math.max(1, steps));
        boolean tooLarge = floats.compareTo(BigInteger.valueOf(Long.MAX_VALUE / 16)) > 0;
        f.add(tooLarge && coordinates >= 1 && steps >= 1, IllegalArgumentException.class, "size overflows");
        BigInteger bytes = floats.shiftLeft(2);
        boolean outOfMemory = !tooLarge && bytes.bitLength() > 50;
        if (!f.any() && !outOfMemory && bytes.bitLength() > 20) {
            return; // allocatable but large: not for a fuzz test
        }
        String what = "new UnrollRecord(" + on + ", " + c + ", " + coordinates + ", " + steps + ")";
        if (f.any()) {
            onSomeThread(fz, () -> Fuzz.assertThrowsOneOf(f.allowed, what + " with " + f.names,
                    () -> new UnrollRecord(on, c, coordinates, steps)));
        } else if (outOfMemory) {
            onSomeThread(fz, () -> {
                L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class), what,
                        () -> new UnrollRecord(on, c, coordinates, steps));
                assertEquals(Status.OUT_OF_MEMORY, e.status(), what);
            });
        } else {
            onSomeThread(fz, () -> {
                try (UnrollRecord r = new UnrollRecord(on, c, coordinates, steps)) {
                    assertEquals((long) steps * config.recordRows() * coordinates, r.buffer().length(), what);
                    assertEquals(coordinates, r.coordinates());
                    assertEquals(steps, r.steps());
                    assertSame(c, r.config());
                    r.close(); // idempotent
                }
            });
        }
    }

    /** Random adds to a TensorList builder: a rejected add must leave the builder as it was. */
    private static void listCalls(Fuzz fz) throws Exception {
        List<NativeBuffer> open = new ArrayList<>();
        try {
            NativeBuffer[] pool = new NativeBuffer[5];
            pool[0] = main.allocateFloats(fz.between(1, 6));
            pool[1] = main.allocateFloats(fz.between(1, 6));
            pool[2] = main.allocateDoubles(fz.between(1, 6));
            pool[3] = foreign.allocateFloats(fz.between(1, 6));
            pool[4] = main.allocateFloats(fz.between(1, 6));
            open.addAll(Arrays.asList(pool));
            pool[4].close();
            TensorList.Builder builder = TensorList.builder();
            Backend builderBackend = null;
            long total = 0;
            int count = 0;
            int adds = fz.between(0, 5);
            for (int a = 0; a < adds; a++) {
                NativeBuffer theta = fz.oneIn(15) ? null : fz.pick(pool);
                NativeBuffer grad = fz.oneIn(15) ? null : fz.pick(pool);
                long length = fz.oneIn(5) ? fz.edgeLong(1) : fz.between(1, 6);
                long thetaOffset = fz.offset(theta == null ? 1 : theta.length());
                long gradOffset = fz.offset(grad == null ? 1 : grad.length());
                Faults f = new Faults();
                f.add(theta == null || grad == null, NullPointerException.class, "null buffer");
                f.add(length < 1, IllegalArgumentException.class, "length");
                boolean bothPresent = theta != null && grad != null;
                if (bothPresent) {
                    Backend first = builderBackend != null ? builderBackend : theta.backend();
                    f.add(theta.type() != NativeBuffer.ElementType.F32 || grad.type() != NativeBuffer.ElementType.F32,
                            IllegalArgumentException.class, "element type");
                    f.add(theta.backend() != first || grad.backend() != first, IllegalArgumentException.class,
                            "another backend");
                    f.add(Fuzz.outOfRange(thetaOffset, length, theta.length())
                            || Fuzz.outOfRange(gradOffset, length, grad.length()), IndexOutOfBoundsException.class,
                            "slice");
                    f.add(theta.isClosed() || grad.isClosed(), IllegalStateException.class, "closed buffer");
                }
                String what = "add(" + theta + ", " + thetaOffset + ", " + grad + ", " + gradOffset + ", " + length + ")";
                fz.count();
                if (f.any()) {
                    Fuzz.assertThrowsOneOf(f.allowed, what + " with " + f.names,
                            () -> builder.add(theta, thetaOffset, grad, gradOffset, length));
                } else {
                    builder.add(theta, thetaOffset, grad, gradOffset, length);
                    builderBackend = theta.backend();
                    total += length;
                    count++;
                }
            }
            fz.count();
            if (count == 0) {
                Fuzz.assertThrowsOneOf(Set.of(IllegalStateException.class), "build() of an empty list", builder::build);
                return;
            }
            try (TensorList list = builder.build()) {
                assertEquals(count, list.count());
                assertEquals(total, list.coordinates());
                assertSame(builderBackend, list.backend());
                list.close(); // idempotent
            }
        } finally {
            open.forEach(NativeBuffer::close);
        }
    }

    // ---- the kernels -----------------------------------------------------------------------

    /**
     * One unroll: random buffers for a small configuration, T steps recorded, the meta-loss
     * gradients and the backward pass, each valid call preceded by faulty ones, with a model of
     * every buffer's contents.
     */
    static final class Scenario {
        final Fuzz fz;
        final LstmConfig config;
        final int rows;
        final int steps;
        final int[] sizes;
        final int[] thetaOffsets;
        final int[] gradOffsets;
        final int n;
        final List<AutoCloseable> resources = new ArrayList<>();
        CoordinatewiseLstm lstm;
        NativeBuffer phi;
        NativeBuffer[] thetaBufs;
        NativeBuffer[] gradBufs;
        NativeBuffer state;
        UnrollRecord record;
        TensorList tensors;
        NativeBuffer gradLast;
        NativeBuffer dloss;
        NativeBuffer dphi;
        NativeBuffer dstateFinal;
        NativeBuffer dstateInitial;
        NativeBuffer dx;

        Scenario(Fuzz fz) {
            this.fz = fz;
            config = smallConfig(fz);
            rows = config.stateRows();
            steps = fz.between(1, 3);
            int k = fz.between(1, 3);
            sizes = new int[k];
            thetaOffsets = new int[k];
            gradOffsets = new int[k];
            int total = 0;
            for (int i = 0; i < k; i++) {
                sizes[i] = fz.between(1, 3);
                thetaOffsets[i] = fz.between(0, 2);
                gradOffsets[i] = fz.between(0, 2);
                total += sizes[i];
            }
            n = total;
        }

        <T extends AutoCloseable> T keep(T resource) {
            resources.add(resource);
            return resource;
        }

        NativeBuffer floats(Backend b, long length) {
            return keep(b.allocateFloats(length));
        }

        /** A kernel input value: moderate, tiny edge values, or (once in nonFiniteOneIn) NaN or an infinity. */
        float value(int nonFiniteOneIn) {
            if (nonFiniteOneIn > 0 && fz.oneIn(nonFiniteOneIn)) {
                return fz.nonFinite();
            }
            return fz.oneIn(10) ? fz.pick(0f, -0f, Float.MIN_VALUE, -1e-40f, Float.MIN_NORMAL, 1f) : fz.moderate();
        }

        float[] values(int length, int nonFiniteOneIn) {
            float[] v = new float[length];
            for (int i = 0; i < length; i++) {
                v[i] = value(nonFiniteOneIn);
            }
            return v;
        }

        /**
         * A state as the LSTM produces it (h = o tanh(c) in [-1, 1], the cell state moderate),
         * with tiny edge values and NaN or infinities once in nonFiniteOneIn.  Far outside this
         * range the gates saturate, where float32 loses the digits of 1 - sigmoid(z) and no
         * fixed relative tolerance holds.
         */
        float[] states(int nonFiniteOneIn) {
            float[] v = values(rows * n, nonFiniteOneIn);
            for (int l = 0, row = 0; l < config.layers(); l++) {
                int h = config.width(l);
                for (int j = 0; j < 2 * h; j++, row++) {
                    double bound = j < h ? 1 : 3;
                    for (int i = 0; i < n; i++) {
                        float x = v[row * n + i];
                        if (Float.isFinite(x) && Math.abs(x) > bound) {
                            v[row * n + i] = (float) (x / 100 * bound);
                        }
                    }
                }
            }
            return v;
        }

        /** Gradients; for identity preprocessing, which feeds x itself to the gates, scaled by 1e-2. */
        float[] inputs(int length, int nonFiniteOneIn) {
            float[] v = values(length, nonFiniteOneIn);
            if (config.preprocessing() == Preprocessing.IDENTITY) {
                for (int i = 0; i < length; i++) {
                    v[i] *= 1e-2f;
                }
            }
            return v;
        }

        /**
         * Upstream gradients (dL/d delta, dL/d(final state)): as {@link #values}, without
         * subnormals, whose products with the weights keep only a few bits in float32.
         */
        float[] upstream(int length, int nonFiniteOneIn) {
            float[] v = values(length, nonFiniteOneIn);
            for (int i = 0; i < length; i++) {
                if (v[i] != 0 && Math.abs(v[i]) < 1e-30f) {
                    v[i] = 0;
                }
            }
            return v;
        }

        /** How rarely a value of one scenario is NaN or infinite: mostly never, sometimes often. */
        int poison() {
            return fz.oneIn(3) ? 0 : fz.pick(200, 40, 8);
        }

        void run() throws Exception {
            main.setCpuIsa(fz.pick(Backend.supportedCpuIsas()));
            try {
                allocate();
                for (int t = 0; t < steps; t++) {
                    faultySteps(t);
                    validStep(t, record);
                    gradients(poison());
                }
                if (fz.oneIn(3)) {
                    validStep(0, null); // a step without a record leaves the record alone
                }
                int mlgSteps = fz.between(1, steps);
                faultyMetaLossGradients(mlgSteps);
                validMetaLossGradients(mlgSteps);
                int backSteps = fz.oneIn(2) ? mlgSteps : fz.between(1, steps);
                if (backSteps != mlgSteps || fz.oneIn(4)) {
                    dloss.write(upstream(steps * n, poison()));
                }
                faultyBackward(backSteps);
                validBackward(backSteps);
            } finally {
                for (int i = resources.size() - 1; i >= 0; i--) {
                    resources.get(i).close();
                }
            }
        }

        void allocate() {
            lstm = keep(new CoordinatewiseLstm(config));
            phi = floats(main, lstm.phiSize());
            float[] p = LstmFixtures.randomPhi(config, fz.random().nextLong());
            int poison = fz.oneIn(2) ? 0 : fz.pick(500, 50);
            for (int i = 0; i < p.length; i++) {
                if (fz.oneIn(40)) {
                    p[i] = fz.pick(0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL);
                }
                if (poison > 0 && fz.oneIn(poison)) {
                    p[i] = fz.nonFinite();
                }
            }
            phi.write(p);
            thetaBufs = new NativeBuffer[sizes.length];
            gradBufs = new NativeBuffer[sizes.length];
            TensorList.Builder b = TensorList.builder();
            int thetaPoison = poison();
            for (int k = 0; k < sizes.length; k++) {
                thetaBufs[k] = floats(main, thetaOffsets[k] + sizes[k] + fz.between(0, 2));
                gradBufs[k] = floats(main, gradOffsets[k] + sizes[k] + fz.between(0, 2));
                // the padding around the slices may hold anything: it is never read
                thetaBufs[k].write(values((int) thetaBufs[k].length(), fz.pick(0, 3)));
                thetaBufs[k].write(thetaOffsets[k], values(sizes[k], thetaPoison), 0, sizes[k]);
                gradBufs[k].write(values((int) gradBufs[k].length(), fz.pick(0, 3)));
                b.add(thetaBufs[k], thetaOffsets[k], gradBufs[k], gradOffsets[k], sizes[k]);
            }
            tensors = keep(b.build());
            gradients(poison());
            if (rows > 0) {
                state = floats(main, (long) rows * n);
                state.write(states(poison()));
            }
            record = keep(new UnrollRecord(main, config, n, steps));
            if (fz.oneIn(2)) {
                for (int t = 0; t < steps; t++) { // stale contents
                    record.buffer().write((long) t * config.recordRows() * n, inputs(n, 0), 0, n);
                    record.buffer().write(((long) t * config.recordRows() + 1) * n, states(0), 0, rows * n);
                }
            }
            gradLast = floats(main, n);
            gradLast.write(inputs(n, poison()));
            dloss = floats(main, (long) steps * n);
            dloss.write(upstream(steps * n, 0));
            dphi = keep(main.allocateDoubles(lstm.phiSize()));
            if (rows > 0) {
                dstateFinal = floats(main, (long) rows * n);
                dstateFinal.write(upstream(rows * n, poison()));
                dstateInitial = floats(main, (long) rows * n);
                dstateInitial.write(values(rows * n, 0));
            }
            dx = floats(main, (long) steps * n);
            dx.write(values(steps * n, 0));
        }

        void gradients(int poison) {
            for (int k = 0; k < sizes.length; k++) {
                gradBufs[k].write(gradOffsets[k], inputs(sizes[k], poison), 0, sizes[k]);
            }
        }

        /** Every buffer of the scenario, for before/after comparisons. */
        List<NativeBuffer> buffers() {
            List<NativeBuffer> all = new ArrayList<>(List.of(phi, record.buffer(), gradLast, dloss, dphi, dx));
            all.addAll(Arrays.asList(thetaBufs));
            all.addAll(Arrays.asList(gradBufs));
            for (NativeBuffer b : new NativeBuffer[] {state, dstateFinal, dstateInitial}) {
                if (b != null) {
                    all.add(b);
                }
            }
            return all;
        }

        /** Raw bits of every buffer. */
        List<long[]> snapshot() {
            List<long[]> s = new ArrayList<>();
            for (NativeBuffer b : buffers()) {
                if (b.type() == NativeBuffer.ElementType.F32) {
                    float[] v = b.toFloatArray();
                    long[] bits = new long[v.length];
                    for (int i = 0; i < v.length; i++) {
                        bits[i] = Float.floatToRawIntBits(v[i]);
                    }
                    s.add(bits);
                } else {
                    s.add(Arrays.stream(b.toDoubleArray()).mapToLong(Double::doubleToRawLongBits).toArray());
                }
            }
            return s;
        }

        void assertUnchanged(List<long[]> before, String what) {
            List<long[]> after = snapshot();
            for (int i = 0; i < before.size(); i++) {
                assertArrayEquals(before.get(i), after.get(i), what + " changed " + buffers().get(i));
            }
        }

        /** A call that must be rejected with one of the faults' exceptions, changing nothing. */
        void rejected(Faults f, String what, Fuzz.ThrowingCall call) throws Exception {
            List<long[]> before = snapshot();
            onSomeThread(fz, () -> Fuzz.assertThrowsOneOf(f.allowed, what + " with " + f.names, call));
            assertUnchanged(before, what);
        }

        // -- faulty arguments --

        /** One wrong float buffer for an argument of {@code length} floats, and the fault it is. */
        record Wrong(NativeBuffer buffer, Class<? extends Throwable> fault, String name) {
        }

        Wrong wrongFloats(long length) {
            switch (fz.between(0, 4)) {
                case 0:
                    return new Wrong(floats(main, length + 1), IllegalArgumentException.class, "length + 1");
                case 1:
                    return length > 1 ? new Wrong(floats(main, length - 1), IllegalArgumentException.class, "length - 1")
                            : new Wrong(keep(main.allocateDoubles(length)), IllegalArgumentException.class, "F64");
                case 2:
                    return new Wrong(keep(main.allocateDoubles(length)), IllegalArgumentException.class, "F64");
                case 3:
                    return new Wrong(floats(foreign, length), IllegalArgumentException.class, "foreign");
                default:
                    NativeBuffer c = main.allocateFloats(length);
                    c.close();
                    return new Wrong(c, IllegalStateException.class, "closed");
            }
        }

        /**
         * A wrong phi: as {@link #wrongFloats} but never a buffer of another CPU backend, since phi
         * is only read and may live in any memory the tensors' backend can read.
         */
        Wrong wrongPhi() {
            Wrong w;
            do {
                w = wrongFloats(lstm.phiSize());
            } while (w.name.equals("foreign"));
            return w;
        }

        /** Null (one call in four, a NullPointerException) or {@code w}'s buffer with its fault, recorded in f. */
        NativeBuffer orNull(Faults f, String name, Wrong w) {
            NativeBuffer b = fz.oneIn(4) ? null : w.buffer;
            f.add(true, b == null ? NullPointerException.class : w.fault, name + ": " + w.name);
            return b;
        }

        /** Null (one call in three, a NullPointerException) or a wrong record with its fault, recorded in f. */
        UnrollRecord recordOrNull(Faults f) {
            if (fz.oneIn(3)) {
                f.add(true, NullPointerException.class, "null record");
                return null;
            }
            return wrongRecord(f);
        }

        /** Another valid configuration with another phi size or state size. */
        LstmConfig otherConfig() {
            LstmConfig other;
            do {
                other = smallConfig(fz);
            } while (other.stateRows() == rows && other.phiLayout().size() == lstm.phiSize());
            return other;
        }

        UnrollRecord wrongRecord(Faults f) {
            switch (fz.between(0, 3)) {
                case 0:
                    f.add(true, IllegalArgumentException.class, "record of another configuration");
                    return keep(new UnrollRecord(main, otherConfig(), n, steps));
                case 1:
                    f.add(true, IllegalArgumentException.class, "record of another n");
                    return keep(new UnrollRecord(main, config, n + 2, steps)); // tensors of another n have n + 1
                case 2:
                    f.add(true, IllegalArgumentException.class, "foreign record");
                    return keep(new UnrollRecord(foreign, config, n, steps));
                default:
                    f.add(true, IllegalStateException.class, "closed record");
                    UnrollRecord r = new UnrollRecord(main, config, n, steps);
                    r.close();
                    return r;
            }
        }

        CoordinatewiseLstm closedModel(Faults f) {
            f.add(true, IllegalStateException.class, "closed model");
            CoordinatewiseLstm m = new CoordinatewiseLstm(config);
            m.close();
            return m;
        }

        void faultySteps(int slot) throws Exception {
            int calls = fz.between(0, 2);
            for (int c = 0; c < calls; c++) {
                Faults f = new Faults();
                CoordinatewiseLstm model = lstm;
                NativeBuffer p = phi;
                TensorList list = tensors;
                NativeBuffer s = state;
                UnrollRecord r = fz.oneIn(4) ? null : record;
                int sl = slot;
                int faults = fz.oneIn(4) ? 2 : 1;
                for (int i = 0; i < faults; i++) {
                    switch (fz.between(0, 6)) {
                        case 0:
                            if (fz.oneIn(4)) {
                                p = null;
                                f.add(true, NullPointerException.class, "null phi");
                            } else {
                                Wrong w = fz.oneIn(4) ? new Wrong(floats(main, otherConfig().phiLayout().size()),
                                        IllegalArgumentException.class, "phi of another configuration")
                                        : wrongPhi();
                                if (w.buffer.length() == lstm.phiSize() && w.buffer.type() == NativeBuffer.ElementType.F32
                                        && w.buffer.backend() == main && !w.buffer.isClosed()) {
                                    break;
                                }
                                p = w.buffer;
                                f.add(true, w.fault, "phi: " + w.name);
                            }
                            break;
                        case 1:
                            list = wrongTensors(f);
                            if (r == null) {
                                r = record; // without layers and record, n is not checked against anything
                            }
                            break;
                        case 2:
                            if (rows == 0) {
                                s = floats(main, fz.between(1, 3));
                                f.add(true, IllegalArgumentException.class, "state without LSTM layers");
                            } else if (fz.oneIn(4)) {
                                s = null;
                                f.add(true, NullPointerException.class, "null state");
                            } else if (fz.oneIn(4)) {
                                LstmConfig other = otherConfig();
                                if (other.stateRows() == rows) {
                                    break;
                                }
                                s = floats(main, Math.max(1L, (long) other.stateRows() * n));
                                f.add(true, IllegalArgumentException.class, "state of another configuration");
                            } else {
                                Wrong w = wrongFloats((long) rows * n);
                                s = w.buffer;
                                f.add(true, w.fault, "state: " + w.name);
                            }
                            break;
                        case 3:
                            r = wrongRecord(f);
                            break;
                        case 4:
                            r = record;
                            sl = fz.pick(-1, steps, Integer.MAX_VALUE, Integer.MIN_VALUE);
                            f.add(true, IndexOutOfBoundsException.class, "slot " + sl);
                            break;
                        case 5:
                            model = closedModel(f);
                            break;
                        default:
                            list = null;
                            f.add(true, NullPointerException.class, "null tensors");
                            break;
                    }
                }
                if (!f.any()) {
                    continue;
                }
                CoordinatewiseLstm m = model;
                NativeBuffer pp = p;
                TensorList ll = list;
                NativeBuffer ss = s;
                UnrollRecord rr = r;
                int slot2 = sl;
                boolean check = fz.random().nextBoolean();
                rejected(f, "step", () -> m.step(pp, ll, ss, rr, slot2, check));
            }
        }

        TensorList wrongTensors(Faults f) {
            switch (fz.between(0, 3)) {
                case 0: {
                    f.add(true, IllegalStateException.class, "closed tensor list");
                    TensorList l = TensorList.of(floats(main, n), floats(main, n));
                    l.close();
                    return l;
                }
                case 1: {
                    f.add(true, IllegalStateException.class, "tensor list with a closed buffer");
                    NativeBuffer gone = floats(main, n);
                    TensorList l = keep(TensorList.of(gone, floats(main, n)));
                    gone.close();
                    return l;
                }
                case 2:
                    // A fault because the state lives on the main backend; without LSTM layers
                    // (no state) tensors of another CPU backend could be valid with a matching record.
                    if (rows > 0) {
                        f.add(true, IllegalArgumentException.class, "tensors on another backend");
                        return keep(TensorList.of(floats(foreign, n), floats(foreign, n)));
                    }
                    // fall through
                default:
                    f.add(true, IllegalArgumentException.class, "tensors of another n");
                    return keep(TensorList.of(floats(main, n + 1), floats(main, n + 1)));
            }
        }

        /** The tensors' coordinates in list order: the theta and gradient values the kernel sees. */
        float[] gather(NativeBuffer[] bufs, int[] offsets) {
            float[] out = new float[n];
            int at = 0;
            for (int k = 0; k < sizes.length; k++) {
                bufs[k].read(offsets[k], out, at, sizes[k]);
                at += sizes[k];
            }
            return out;
        }

        static boolean anyNonFinite(float[] v) {
            for (float x : v) {
                if (!Float.isFinite(x)) {
                    return true;
                }
            }
            return false;
        }

        void validStep(int slot, UnrollRecord r) throws Exception {
            boolean check = fz.random().nextBoolean();
            float[] p = phi.toFloatArray();
            float[] theta = gather(thetaBufs, thetaOffsets);
            float[] grad = gather(gradBufs, gradOffsets);
            float[] s = state == null ? new float[0] : state.toFloatArray();
            String what = "step(slot " + slot + ", record " + (r != null) + ", checkFinite " + check + ") of "
                    + config + " over " + Arrays.toString(sizes);
            if (check && (anyNonFinite(p) || anyNonFinite(theta) || anyNonFinite(grad) || anyNonFinite(s))) {
                List<long[]> before = snapshot();
                onSomeThread(fz, () -> {
                    L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class), what,
                            () -> lstm.step(phi, tensors, state, r, slot, true));
                    assertEquals(Status.NON_FINITE, e.status(), what);
                });
                assertUnchanged(before, what);
                check = false; // the same step without the check goes through
            }
            float[][] thetaPadding = paddings(thetaBufs);
            List<float[]> inputs = new ArrayList<>(List.of(phi.toFloatArray()));
            Arrays.stream(gradBufs).forEach(b -> inputs.add(b.toFloatArray()));
            float[] recordBefore = record.buffer().toFloatArray();
            boolean checkFinite = check;
            onSomeThread(fz, () -> lstm.step(phi, tensors, state, r, slot, checkFinite));

            float[] pr = asRead(p);
            float[] gradr = asRead(grad);
            float[] thetar = asRead(theta);
            float[] sr = asRead(s);
            ReferenceLstm ref = new ReferenceLstm(asRead(config), LstmFixtures.toDouble(pr));
            double[] expectedTheta = new double[n];
            double[] deltas = new double[n];
            double[] expectedState = new double[rows * n];
            for (int i = 0; i < n; i++) {
                double[] si = new double[rows];
                for (int row = 0; row < rows; row++) {
                    si[row] = sr[row * n + i];
                }
                deltas[i] = ref.step(gradr[i], si);
                expectedTheta[i] = (double) thetar[i] + deltas[i];
                for (int row = 0; row < rows; row++) {
                    expectedState[row * n + i] = si[row];
                }
            }
            boolean[] compared = finiteCells(s, 1);
            if (anyNonFinite(p)) {
                Arrays.fill(compared, false);
            }
            float[] thetaAfter = gather(thetaBufs, thetaOffsets);
            float[] stateAfter = state == null ? new float[0] : state.toFloatArray();
            for (int i = 0; i < n; i++) {
                if (Float.isNaN(grad[i])) { // l2l.h: a NaN in x propagates to delta, theta and the state
                    assertTrue(Float.isNaN(thetaAfter[i]), what + ": NaN gradient, theta[" + i + "] " + thetaAfter[i]);
                    for (int row = 0; row < rows; row++) {
                        assertTrue(Float.isNaN(stateAfter[row * n + i]), what + ": NaN gradient, state row " + row);
                    }
                }
            }
            assertThetaClose(select(thetaAfter, compared, 1), selectDoubles(expectedTheta, compared, 1),
                    selectDoubles(deltas, compared, 1), deltaBound(ref, pr, gradr), what);
            assertArrayEquals(thetaPadding, paddings(thetaBufs), what + " wrote outside the tensors' slices");
            List<float[]> inputsAfter = new ArrayList<>(List.of(phi.toFloatArray()));
            Arrays.stream(gradBufs).forEach(b -> inputsAfter.add(b.toFloatArray()));
            for (int i = 0; i < inputs.size(); i++) {
                assertArrayEquals(inputs.get(i), inputsAfter.get(i), what + " changed phi or a gradient");
            }
            if (state != null) {
                assertClose(LstmFixtures.toDouble(select(stateAfter, compared, rows)),
                        selectDoubles(expectedState, compared, rows), STEP_TOLERANCE, 1.0, false, what + ": state");
            }
            float[] expectedRecord = recordBefore.clone();
            if (r != null) {
                int base = slot * config.recordRows() * n;
                System.arraycopy(grad, 0, expectedRecord, base, n);
                System.arraycopy(s, 0, expectedRecord, base + n, rows * n);
            }
            assertArrayEquals(expectedRecord, record.buffer().toFloatArray(), what + ": record");
        }

        /**
         * For each coordinate, whether none of its cell states (the c rows of {@code states},
         * blocks of S rows of n, {@code blocks} of them) is infinite.
         */
        boolean[] finiteCells(float[] states, int blocks) {
            boolean[] ok = new boolean[n];
            Arrays.fill(ok, true);
            for (int b = 0; b < blocks; b++) {
                for (int l = 0, row = 0; l < config.layers(); row += 2 * config.width(l), l++) {
                    for (int j = config.width(l); j < 2 * config.width(l); j++) {
                        for (int i = 0; i < n; i++) {
                            ok[i] &= !Float.isInfinite(states[(b * rows + row + j) * n + i]);
                        }
                    }
                }
            }
            return ok;
        }

        /** The columns i with keep[i] of a [rowCount][n] array. */
        float[] select(float[] v, boolean[] keep, int rowCount) {
            return LstmFixtures.toFloat(selectDoubles(LstmFixtures.toDouble(v), keep, rowCount));
        }

        double[] selectDoubles(double[] v, boolean[] keep, int rowCount) {
            double[] out = new double[v.length];
            int k = 0;
            for (int row = 0; row < rowCount; row++) {
                for (int i = 0; i < n; i++) {
                    if (keep[i]) {
                        out[k++] = v[row * n + i];
                    }
                }
            }
            return Arrays.copyOf(out, k);
        }

        /**
         * The largest |delta| the output layer can give for inputs within [-1, 1] (h), or within
         * the largest finite preprocessed gradient without LSTM layers: the magnitude against
         * which delta's error is measured.
         */
        double deltaBound(ReferenceLstm ref, float[] p, float[] grad) {
            double u = 1;
            if (config.layers() == 0) {
                for (float x : grad) {
                    for (double v : ref.preprocess(x)) {
                        if (Double.isFinite(v)) {
                            u = Math.max(u, Math.abs(v));
                        }
                    }
                }
            }
            int wOut = p.length - 1 - (config.layers() == 0 ? config.preprocessing().inputs() : config.width(config.layers() - 1));
            double sum = Math.abs(p[p.length - 1]);
            for (int k = wOut; k < p.length - 1; k++) {
                sum += Math.abs(p[k]) * u;
            }
            return Double.isFinite(sum) ? Math.abs(asRead(config).outputScale()) * sum : 0;
        }

        /** The values of each theta buffer outside its slice. */
        float[][] paddings(NativeBuffer[] bufs) {
            float[][] out = new float[bufs.length][];
            for (int k = 0; k < bufs.length; k++) {
                float[] all = bufs[k].toFloatArray();
                float[] pad = new float[all.length - sizes[k]];
                System.arraycopy(all, 0, pad, 0, thetaOffsets[k]);
                System.arraycopy(all, thetaOffsets[k] + sizes[k], pad, thetaOffsets[k], pad.length - thetaOffsets[k]);
                out[k] = pad;
            }
            return out;
        }

        void faultyMetaLossGradients(int mlgSteps) throws Exception {
            int calls = fz.between(0, 2);
            for (int c = 0; c < calls; c++) {
                Faults f = new Faults();
                CoordinatewiseLstm model = lstm;
                UnrollRecord r = record;
                int st = mlgSteps;
                NativeBuffer last = gradLast;
                double scale = fz.moderate();
                NativeBuffer out = dloss;
                long outLength = (long) mlgSteps * n;
                NativeBuffer exact = outLength == dloss.length() ? null : floats(main, outLength);
                if (exact != null) {
                    out = exact;
                }
                switch (fz.between(0, 6)) {
                    case 0:
                        r = recordOrNull(f);
                        break;
                    case 1:
                        st = fz.pick(0, -1, steps + 1, Integer.MAX_VALUE, Integer.MIN_VALUE);
                        f.add(true, IllegalArgumentException.class, "steps " + st);
                        break;
                    case 2:
                        last = orNull(f, "gradLast", wrongFloats(n));
                        break;
                    case 3:
                        scale = fz.pick(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e39, -Double.MAX_VALUE);
                        f.add(true, IllegalArgumentException.class, "scale " + scale);
                        break;
                    case 4:
                        out = orNull(f, "out", wrongFloats(outLength));
                        break;
                    case 5:
                        model = closedModel(f);
                        break;
                    default:
                        r = fz.oneIn(2) ? record : null;
                        st = fz.pick(0, steps + 1);
                        f.add(true, r == null ? NullPointerException.class : IllegalArgumentException.class, "steps");
                        break;
                }
                CoordinatewiseLstm m = model;
                UnrollRecord rr = r;
                int ss = st;
                NativeBuffer ll = last;
                double sc = scale;
                NativeBuffer oo = out;
                rejected(f, "metaLossGradients", () -> m.metaLossGradients(rr, ss, ll, sc, oo));
            }
        }

        void validMetaLossGradients(int mlgSteps) throws Exception {
            double scale = fz.oneIn(6) ? fz.pick(0.0, -1.0, 1.0 / 3) : fz.moderate();
            NativeBuffer out = mlgSteps == steps ? dloss : floats(main, (long) mlgSteps * n);
            float[] rec = asRead(record.buffer().toFloatArray());
            float[] last = asRead(gradLast.toFloatArray());
            int rr = config.recordRows();
            onSomeThread(fz, () -> lstm.metaLossGradients(record, mlgSteps, gradLast, scale, out));
            double fscale = asRead((float) scale); // the kernels compute in float32
            double[] expected = new double[mlgSteps * n];
            for (int i = 0; i < n; i++) {
                double sum = last[i];
                expected[(mlgSteps - 1) * n + i] = fscale * sum;
                for (int s = mlgSteps - 2; s >= 0; s--) {
                    sum += rec[(s + 1) * rr * n + i];
                    expected[s * n + i] = fscale * sum;
                }
            }
            assertClose(out.toFloatArray(), expected, STEP_TOLERANCE, "metaLossGradients(" + mlgSteps + ", scale "
                    + scale + ")");
            if (out != dloss) {
                dloss.write(0, out.toFloatArray(), 0, mlgSteps * n);
            }
        }

        void faultyBackward(int backSteps) throws Exception {
            int calls = fz.between(0, 3);
            for (int c = 0; c < calls; c++) {
                Faults f = new Faults();
                CoordinatewiseLstm model = lstm;
                NativeBuffer p = phi;
                UnrollRecord r = record;
                int st = backSteps;
                long dlossLength = (long) backSteps * n;
                NativeBuffer dl = dlossLength == dloss.length() ? dloss : floats(main, dlossLength);
                NativeBuffer dsf = null;
                NativeBuffer dp = dphi;
                NativeBuffer dsi = null;
                NativeBuffer dxx = null;
                switch (fz.between(0, 8)) {
                    case 0:
                        p = orNull(f, "phi", wrongPhi());
                        break;
                    case 1:
                        r = recordOrNull(f);
                        break;
                    case 2:
                        st = fz.pick(0, -1, steps + 1, Integer.MAX_VALUE, Integer.MIN_VALUE);
                        f.add(true, IllegalArgumentException.class, "steps " + st);
                        break;
                    case 3:
                        dl = orNull(f, "dlossDdelta", wrongFloats(dlossLength));
                        break;
                    case 4: {
                        Wrong w = rows == 0 ? new Wrong(floats(main, n), IllegalArgumentException.class, "S = 0")
                                : wrongFloats((long) rows * n);
                        if (fz.oneIn(2)) {
                            dsf = w.buffer;
                            f.add(true, w.fault, "dstateFinal: " + w.name);
                        } else {
                            dsi = w.buffer;
                            f.add(true, w.fault, "dstateInitial: " + w.name);
                        }
                        break;
                    }
                    case 5:
                        if (fz.oneIn(4)) {
                            dp = null;
                            f.add(true, NullPointerException.class, "null dphi");
                        } else if (fz.oneIn(2)) {
                            dp = floats(main, lstm.phiSize());
                            f.add(true, IllegalArgumentException.class, "F32 dphi");
                        } else {
                            dp = keep(fz.oneIn(2) ? main.allocateDoubles(lstm.phiSize() + 1)
                                    : foreign.allocateDoubles(lstm.phiSize()));
                            f.add(true, IllegalArgumentException.class, "dphi of another length or backend");
                        }
                        break;
                    case 6: {
                        Wrong w = wrongFloats(dlossLength);
                        dxx = w.buffer;
                        f.add(true, w.fault, "dx: " + w.name);
                        break;
                    }
                    case 7:
                        model = closedModel(f);
                        break;
                    default: {
                        NativeBuffer c2 = main.allocateDoubles(lstm.phiSize());
                        c2.close();
                        dp = c2;
                        f.add(true, IllegalStateException.class, "closed dphi");
                        break;
                    }
                }
                CoordinatewiseLstm m = model;
                NativeBuffer pp = p;
                UnrollRecord rr = r;
                int ss = st;
                NativeBuffer a = dl;
                NativeBuffer b = dsf;
                NativeBuffer d = dp;
                NativeBuffer e = dsi;
                NativeBuffer g = dxx;
                boolean check = fz.random().nextBoolean();
                rejected(f, "backward", () -> m.backward(pp, rr, ss, a, b, d, e, g, check));
            }
        }

        void validBackward(int backSteps) throws Exception {
            boolean check = fz.random().nextBoolean();
            NativeBuffer dl = backSteps == steps ? dloss : floats(main, (long) backSteps * n);
            if (dl != dloss) {
                dl.write(Arrays.copyOf(dloss.toFloatArray(), backSteps * n));
            }
            NativeBuffer dsf = fz.oneIn(2) ? null : dstateFinal;
            NativeBuffer dsi = fz.oneIn(3) ? null : dstateInitial;
            NativeBuffer dxx = fz.oneIn(3) ? null : backSteps == steps ? dx : floats(main, (long) backSteps * n);
            float[] p = phi.toFloatArray();
            int rr = config.recordRows();
            float[] rec = Arrays.copyOf(record.buffer().toFloatArray(), backSteps * rr * n);
            float[] d = dl.toFloatArray();
            float[] sf = dsf == null ? null : dsf.toFloatArray();
            String what = "backward(" + backSteps + " of " + steps + ", dstateFinal " + (dsf != null) + ", checkFinite "
                    + check + ") of " + config + " over n = " + n;
            if (check && (anyNonFinite(p) || anyNonFinite(rec) || anyNonFinite(d) || (sf != null && anyNonFinite(sf)))) {
                List<long[]> before = snapshot();
                onSomeThread(fz, () -> {
                    L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class), what,
                            () -> lstm.backward(phi, record, backSteps, dl, dsf, dphi, dsi, dxx, true));
                    assertEquals(Status.NON_FINITE, e.status(), what);
                });
                assertUnchanged(before, what);
                return;
            }
            onSomeThread(fz, () -> lstm.backward(phi, record, backSteps, dl, dsf, dphi, dsi, dxx, check));

            double[][][] before = new double[backSteps][rows][n];
            double[][] x = new double[backSteps][n];
            double[][] dDelta = new double[backSteps][n];
            for (int t = 0; t < backSteps; t++) {
                for (int i = 0; i < n; i++) {
                    x[t][i] = asRead(rec[t * rr * n + i]);
                    dDelta[t][i] = asRead(d[t * n + i]);
                    for (int row = 0; row < rows; row++) {
                        before[t][row][i] = asRead(rec[(t * rr + 1 + row) * n + i]);
                    }
                }
            }
            double[][] finalGrad = null;
            if (sf != null) {
                finalGrad = new double[rows][n];
                for (int row = 0; row < rows; row++) {
                    for (int i = 0; i < n; i++) {
                        finalGrad[row][i] = asRead(sf[row * n + i]);
                    }
                }
            }
            ReferenceLstm reference = new ReferenceLstm(asRead(config), LstmFixtures.toDouble(asRead(p)));
            ReferenceLstm.Gradients g = reference.backward(null, before, x, dDelta, finalGrad);
            float[] recordStates = new float[backSteps * rows * n];
            for (int t = 0; t < backSteps; t++) {
                System.arraycopy(rec, (t * rr + 1) * n, recordStates, t * rows * n, rows * n);
            }
            boolean[] compared = finiteCells(recordStates, backSteps);
            if (anyNonFinite(p)) {
                Arrays.fill(compared, false);
            }
            boolean all = true;
            for (boolean c : compared) {
                all &= c;
            }
            if (all) {
                double[] got = dphi.toDoubleArray();
                for (PhiLayout.Entry e : config.phiLayout().entries()) {
                    assertClose(Arrays.copyOfRange(got, e.offset(), e.offset() + e.size()),
                            Arrays.copyOfRange(g.dphi, e.offset(), e.offset() + e.size()), BACKWARD_TOLERANCE,
                            floor(Arrays.copyOfRange(g.magnitudes.dphi, e.offset(), e.offset() + e.size()),
                                    Arrays.copyOfRange(g.dphi, e.offset(), e.offset() + e.size())),
                            false, what + ": d" + e.name());
                }
            }
            if (dsi != null) {
                assertClose(selectDoubles(LstmFixtures.toDouble(dsi.toFloatArray()), compared, rows),
                        selectDoubles(BackwardAccuracyTest.flatten(g.dstateInitial), compared, rows), BACKWARD_TOLERANCE,
                        floor(selectDoubles(BackwardAccuracyTest.flatten(g.magnitudes.dstateInitial), compared, rows),
                                selectDoubles(BackwardAccuracyTest.flatten(g.dstateInitial), compared, rows)),
                        false, what + ": dstateInitial");
            }
            if (dxx != null) {
                // dx = du/dx . dL/du: the flushed parts of dL/du, scaled by du/dx (up to e^p)
                double[] absolute = new double[backSteps * n];
                for (int t = 0; t < backSteps; t++) {
                    for (int i = 0; i < n; i++) {
                        double slope = 0;
                        for (double v : reference.preprocessDerivative(x[t][i])) {
                            slope += Double.isFinite(v) ? Math.abs(v) : 0;
                        }
                        absolute[t * n + i] = FLUSHED * Math.max(1, slope);
                    }
                }
                assertClose(selectDoubles(LstmFixtures.toDouble(dxx.toFloatArray()), compared, backSteps),
                        selectDoubles(BackwardAccuracyTest.flatten(g.dx), compared, backSteps), BACKWARD_TOLERANCE,
                        floor(selectDoubles(BackwardAccuracyTest.flatten(g.magnitudes.dx), compared, backSteps),
                                selectDoubles(BackwardAccuracyTest.flatten(g.dx), compared, backSteps)),
                        false, what + ": dx", selectDoubles(absolute, compared, backSteps));
            }
        }
    }

    // ---- comparisons -----------------------------------------------------------------------

    /**
     * How far the backward pass's scale may rise above the tensor's largest reference value:
     * float32 error follows the terms that cancel into a gradient, so the scale is the largest
     * term, {@link ReferenceLstm.Gradients#magnitudes}; but that bound replaces every activation
     * derivative by 1, and with saturated gates it exceeds the true terms by orders of magnitude,
     * so it is capped at this multiple of the largest reference value.
     */
    static final double FLOOR_CAP = 10;

    /** The scale floor of a backward tensor: its magnitudes' largest finite value, capped ({@link #FLOOR_CAP}). */
    static double floor(double[] magnitudes, double[] reference) {
        return Math.min(finiteMax(magnitudes), FLOOR_CAP * finiteMax(reference));
    }

    static void assertClose(float[] got, double[] expected, double tolerance, String what) {
        assertClose(LstmFixtures.toDouble(got), expected, tolerance, 0, true, what);
    }

    /**
     * The absolute difference below which values are not compared: far below what the tests
     * measure, and above what the kernels' flushing of subnormal intermediate values (each below
     * 2^-126 = 1.2e-38) can add up to.
     */
    static final double FLUSHED = 1e-30;

    static void assertClose(double[] got, double[] expected, double tolerance, double floor, boolean strict,
                            String what) {
        assertClose(got, expected, tolerance, floor, strict, what, null);
    }

    /**
     * The tensor agrees with the reference rounded to float32: max |got - want| <= tolerance
     * max |want| over the finite values, or |got - want| within the absolute allowance of that
     * element ({@link #FLUSHED} when {@code absolute} is null), and non-finite values in the same
     * places: the same NaN or infinity when {@code strict}, else any of them (the backward pass's
     * products of infinities with values that underflow in float32 but not in float64 give NaN
     * for +-Inf).  The scale is at least {@code floor}.
     */
    static void assertClose(double[] got, double[] expected, double tolerance, double floor, boolean strict,
                            String what, double[] absolute) {
        double scale = floor;
        for (double w : expected) {
            if (Float.isFinite((float) w)) {
                scale = Math.max(scale, Math.abs(w));
            }
        }
        for (int i = 0; i < got.length; i++) {
            float want = (float) expected[i];
            String at = what + " [" + i + "]: got " + got[i] + ", reference " + expected[i];
            if (!Float.isFinite(want)) {
                if (strict) {
                    assertEquals(Double.doubleToLongBits(want), Double.doubleToLongBits(got[i]), at);
                } else {
                    assertTrue(!Double.isFinite(got[i]), at);
                }
            } else {
                assertTrue(Math.abs(got[i] - expected[i]) <= tolerance * scale
                        || Math.abs(got[i] - expected[i]) <= (absolute == null ? FLUSHED : absolute[i]),
                        at + " (scale " + scale + ")");
            }
        }
    }

    /**
     * x as the CPU kernels read it: a subnormal value as a zero of the same sign where the
     * library sets denormals-are-zero (x86-64), else x.
     */
    static float asRead(float x) {
        return SubnormalCases.modeIsSet() && x != 0 && Math.abs(x) < Float.MIN_NORMAL ? Math.copySign(0f, x) : x;
    }

    static float[] asRead(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = asRead(out[i]);
        }
        return out;
    }

    /** The configuration as the CPU kernels read it: its output scale, in float32, by {@link #asRead(float)}. */
    static LstmConfig asRead(LstmConfig c) {
        float scale = (float) c.outputScale();
        return asRead(scale) == scale ? c
                : new LstmConfig(c.widths(), c.preprocessing(), c.p(), asRead(scale), c.logEpsilon());
    }

    /** The largest finite value, or 0. */
    static double finiteMax(double[] v) {
        return Arrays.stream(v).filter(Double::isFinite).map(Math::abs).max().orElse(0);
    }

    /**
     * theta_{t+1} agrees with float(theta_t + delta_ref): within the step tolerance of the
     * largest delta, plus the rounding of theta itself, plus 2^-125 for a delta and a sum the
     * kernels flush to zero (each below 2^-126).
     */
    static void assertThetaClose(float[] got, double[] expected, double[] deltas, double floor, String what) {
        double scale = floor;
        for (double d : deltas) {
            if (Double.isFinite(d)) {
                scale = Math.max(scale, Math.abs(d));
            }
        }
        for (int i = 0; i < got.length; i++) {
            float want = (float) expected[i];
            String at = what + ": theta[" + i + "] got " + got[i] + ", reference " + expected[i];
            if (Float.isNaN(want)) {
                assertTrue(Float.isNaN(got[i]), at);
            } else if (Float.isInfinite(want)) {
                assertEquals(want, got[i], 0.0f, at);
            } else {
                assertTrue(Math.abs(got[i] - expected[i]) <= STEP_TOLERANCE * scale + Math.ulp(want)
                        + 2.0 * Float.MIN_NORMAL, at);
            }
        }
    }

    /**
     * The CPU backward pass runs tiles of coordinates; the lanes of a partial tile past n compute
     * on zeros, which an infinite weight turns into NaN (0 * Inf).  They must not reach dphi: with
     * phi's W_hh entry of the g gate's unit 0 infinite, z_g = -Inf h_1 saturates g to +-1 and every
     * term of dphi stays finite for the real coordinates, h in [0.2, 0.9] keeping all values in
     * float32's range (a regression the kernel fuzz found).
     */
    @Test
    void anInfiniteWeightDoesNotPoisonThePartialTile() {
        LstmConfig config = new LstmConfig(new int[] {2}, Preprocessing.LOG_AND_SIGN, 10, 0.1, false);
        int n = 5;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(15);
        float[] phi = LstmFixtures.randomPhi(config, 15);
        PhiLayout.Entry whh = config.phiLayout().entries().stream()
                .filter(e -> e.name().equals("lstm.weight_hh_l0")).findFirst().orElseThrow();
        phi[whh.offset() + 2 * 2 * 2 + 1] = Float.NEGATIVE_INFINITY; // row 2H + 0 (g, unit 0), column 1
        float[] record = new float[config.recordRows() * n];
        for (int i = 0; i < n; i++) {
            record[i] = (float) (rnd.nextBoolean() ? 1 : -1) * (float) Math.pow(10, -3 + 3 * rnd.nextDouble());
            for (int row = 0; row < config.stateRows(); row++) {
                record[(1 + row) * n + i] = (float) ((rnd.nextBoolean() ? 1 : -1) * (0.2 + 0.7 * rnd.nextDouble()));
            }
        }
        float[] dloss = LstmFixtures.uniform(n, 1, rnd);
        double[][][] before = new double[1][config.stateRows()][n];
        double[][] x = new double[1][n];
        double[][] dDelta = new double[1][n];
        for (int i = 0; i < n; i++) {
            x[0][i] = record[i];
            dDelta[0][i] = dloss[i];
            for (int row = 0; row < config.stateRows(); row++) {
                before[0][row][i] = record[(1 + row) * n + i];
            }
        }
        double[] expected = new ReferenceLstm(config, LstmFixtures.toDouble(phi)).backward(null, before, x, dDelta, null).dphi;
        assertTrue(Arrays.stream(expected).allMatch(Double::isFinite), "the case is meant to give a finite dphi");
        for (String isa : Backend.supportedCpuIsas()) {
            main.setCpuIsa(isa);
            try (UnrollBuffers u = new UnrollBuffers(main, config, n, 1)) {
                u.phi.write(phi);
                u.record.buffer().write(record);
                u.dloss.write(dloss);
                u.lstm.backward(u.phi, u.record, 1, u.dloss, null, u.dphi, null, null, false);
                assertClose(u.dphi.toDoubleArray(), expected, BACKWARD_TOLERANCE, 0, false, isa + ": dphi");
            }
        }
        main.setCpuIsa(Backend.supportedCpuIsas()[0]);
    }

    @Test
    void theComparisonsCanFail() {
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> assertClose(new double[] {1.0, 2.0}, new double[] {1.0, 2.001}, 1e-4, 0, false, "off"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> assertClose(new double[] {1.0, 2.0}, new double[] {1.0, Double.NaN}, 1e-4, 0, false, "NaN"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> assertClose(new double[] {Double.NaN}, new double[] {Double.POSITIVE_INFINITY}, 1e-4, 0, true, "Inf"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                () -> assertThetaClose(new float[] {1f}, new double[] {1.1}, new double[] {0.1}, 0, "theta"));
    }
}
