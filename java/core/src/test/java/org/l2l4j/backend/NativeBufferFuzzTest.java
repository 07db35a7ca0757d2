package org.l2l4j.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.l2l4j.fuzz.Fuzz;
import org.l2l4j.fuzz.FuzzBackends;

/**
 * Random calls of {@link Backend} and {@link NativeBuffer}: writes, reads, copies, zeroing,
 * addresses, host views, allocations and closing, with offsets, counts and lengths drawn from
 * the edges (0, 1, -1, the int and long extremes, lengths whose byte counts overflow), null
 * arrays, NaN, infinities and subnormals, closed buffers and backends, buffers of another backend
 * instance, and calls made from a second thread (the API's only thread rule is one thread at a
 * time per backend, not a fixed thread).
 *
 * <p>Each call is checked against a model of the buffers' contents: a call whose arguments are
 * valid must succeed and give exactly the model's values; a call with an invalid argument must
 * throw one of the exceptions documented for that argument (with a message), and leave every
 * buffer and the caller's arrays as they were.
 */
class NativeBufferFuzzTest extends FuzzBackends {
    static final int OPS_PER_CASE = 40;
    /** Lengths whose allocation must fail with OUT_OF_MEMORY on any machine (2^58 bytes and more). */
    static final long[] UNALLOCATABLE = {Long.MAX_VALUE / 16, 1L << 56};

    /** A buffer and what it must hold. */
    static final class Model {
        final NativeBuffer buffer;
        final boolean f32;
        final int length;
        final float[] floats;
        final double[] doubles;
        boolean closed;

        Model(NativeBuffer buffer) {
            this.buffer = buffer;
            this.f32 = buffer.type() == NativeBuffer.ElementType.F32;
            this.length = Math.toIntExact(buffer.length());
            this.floats = f32 ? new float[length] : null;
            this.doubles = f32 ? null : new double[length];
        }

        void check(String when) {
            assertEquals(closed, buffer.isClosed(), when);
            if (closed) {
                return;
            }
            if (f32) {
                assertArrayEquals(floats, buffer.toFloatArray(), when + ": " + buffer);
            } else {
                assertArrayEquals(doubles, buffer.toDoubleArray(), when + ": " + buffer);
            }
        }
    }

    /** The argument problems of one call, and the exceptions each may raise. */
    static final class Faults {
        final Set<Class<? extends Throwable>> allowed = new HashSet<>();

        void add(boolean fault, Class<? extends Throwable> type) {
            if (fault) {
                allowed.add(type);
            }
        }

        boolean any() {
            return !allowed.isEmpty();
        }
    }

    @Test
    void randomCallsSucceedExactlyOrAreRejectedCleanly() {
        long calls = Fuzz.run("NativeBuffer fuzz", 1000, this::fuzzCase);
        System.out.println("NativeBuffer fuzz: " + calls + " random calls");
        assertTrue(calls >= 40_000, "calls: " + calls);
    }

    @Tag("large")
    @Test
    void tenTimesMoreRandomCalls() {
        long calls = Fuzz.run("NativeBuffer fuzz (large)", 10_000, this::fuzzCase);
        assertTrue(calls >= 400_000, "calls: " + calls);
    }

    void fuzzCase(Fuzz fz) throws Exception {
        List<Model> pool = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                pool.add(new Model(fz.oneIn(4) ? main.allocateDoubles(fz.between(1, 9))
                        : main.allocateFloats(fz.between(1, 9))));
            }
            pool.add(new Model(foreign.allocateFloats(fz.between(1, 9))));
            for (Model m : pool) {
                fill(fz, m);
            }
            for (int op = 0; op < OPS_PER_CASE; op++) {
                boolean elsewhere = fz.oneIn(10);
                Fuzz.ThrowingCall call = randomCall(fz, pool);
                fz.count();
                if (elsewhere) {
                    try {
                        otherThread.submit(() -> {
                            call.run();
                            return null;
                        }).get();
                    } catch (ExecutionException e) {
                        throw (Exception) e.getCause();
                    }
                } else {
                    call.run();
                }
                for (Model m : pool) {
                    m.check("after operation " + op);
                }
            }
        } finally {
            for (Model m : pool) {
                m.buffer.close();
            }
        }
    }

    private static void fill(Fuzz fz, Model m) {
        if (m.f32) {
            float[] v = fz.values(m.length, 4);
            m.buffer.write(v);
            System.arraycopy(v, 0, m.floats, 0, v.length);
        } else {
            double[] v = new double[m.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = fz.oneIn(5) ? Double.MIN_VALUE * fz.between(1, 9) : fz.value(4);
            }
            m.buffer.write(v);
            System.arraycopy(v, 0, m.doubles, 0, v.length);
        }
    }

    /** One random call with its own oracle; throws AssertionError when it misbehaves. */
    private Fuzz.ThrowingCall randomCall(Fuzz fz, List<Model> pool) {
        Model m = fz.pick(pool);
        switch (fz.between(0, 13)) {
            case 0:
                return writeRange(fz, m);
            case 1:
                return writeAll(fz, m);
            case 2:
                return writeDoubles(fz, m);
            case 3:
                return readRange(fz, m);
            case 4:
                return () -> wholeArray(m);
            case 5:
                return copy(fz, m, fz.oneIn(10) ? null : fz.pick(pool));
            case 6:
                return () -> zero(m);
            case 7:
                return address(fz, m);
            case 8:
                return hostView(fz, m);
            case 9:
                return allocate(fz, pool);
            case 10:
                return () -> {
                    m.buffer.close(); // idempotent
                    m.closed = true;
                };
            case 11:
                return () -> queries(m);
            case 12:
                return backendSettings(fz);
            default:
                return backendLifecycle(fz, pool);
        }
    }

    private static Fuzz.ThrowingCall writeRange(Fuzz fz, Model m) {
        float[] src = fz.oneIn(20) ? null : fz.values(fz.between(0, 12), 3);
        int srcLength = src == null ? 0 : src.length;
        int srcOffset = fz.oneIn(6) ? fz.edgeInt(srcLength) : fz.between(0, srcLength);
        int count = fz.oneIn(6) ? fz.edgeInt(srcLength - srcOffset) : fz.between(0, Math.max(0, srcLength - srcOffset));
        long offset = fz.offset(m.length);
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(!m.f32, IllegalArgumentException.class);
        f.add(src == null, NullPointerException.class);
        f.add(src != null && Fuzz.outOfRange(srcOffset, count, srcLength), IndexOutOfBoundsException.class);
        f.add(Fuzz.outOfRange(offset, count, m.length), IndexOutOfBoundsException.class);
        float[] copy = src == null ? null : src.clone();
        String what = "write(" + offset + ", float[" + srcLength + "], " + srcOffset + ", " + count + ") on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> m.buffer.write(offset, src, srcOffset, count));
            } else {
                m.buffer.write(offset, src, srcOffset, count);
                System.arraycopy(src, srcOffset, m.floats, (int) offset, count);
            }
            assertArrayEquals(copy, src, what + " changed its source");
        };
    }

    private static Fuzz.ThrowingCall writeAll(Fuzz fz, Model m) {
        float[] src = fz.oneIn(20) ? null : fz.values(fz.between(0, m.length + 1), 3);
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(!m.f32, IllegalArgumentException.class);
        f.add(src == null, NullPointerException.class);
        f.add(src != null && src.length > m.length, IndexOutOfBoundsException.class);
        float[] copy = src == null ? null : src.clone();
        String what = "write(float[" + (src == null ? "null" : src.length) + "]) on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> m.buffer.write(src));
            } else {
                m.buffer.write(src);
                System.arraycopy(src, 0, m.floats, 0, src.length);
            }
            assertArrayEquals(copy, src, what + " changed its source");
        };
    }

    private static Fuzz.ThrowingCall writeDoubles(Fuzz fz, Model m) {
        double[] src = fz.oneIn(20) ? null : new double[fz.between(0, m.length + 1)];
        if (src != null) {
            for (int i = 0; i < src.length; i++) {
                src[i] = fz.oneIn(6) ? fz.pick(Double.NaN, Double.MIN_VALUE, -0.0, Double.MAX_VALUE) : fz.value(0);
            }
        }
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(m.f32, IllegalArgumentException.class);
        f.add(src == null, NullPointerException.class);
        f.add(src != null && src.length > m.length, IndexOutOfBoundsException.class);
        double[] copy = src == null ? null : src.clone();
        String what = "write(double[" + (src == null ? "null" : src.length) + "]) on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> m.buffer.write(src));
            } else {
                m.buffer.write(src);
                System.arraycopy(src, 0, m.doubles, 0, src.length);
            }
            assertArrayEquals(copy, src, what + " changed its source");
        };
    }

    private static Fuzz.ThrowingCall readRange(Fuzz fz, Model m) {
        float[] dst = fz.oneIn(20) ? null : fz.values(fz.between(0, 12), 3);
        int dstLength = dst == null ? 0 : dst.length;
        int dstOffset = fz.oneIn(6) ? fz.edgeInt(dstLength) : fz.between(0, dstLength);
        int count = fz.oneIn(6) ? fz.edgeInt(m.length) : fz.between(0, Math.max(0, Math.min(m.length, dstLength - dstOffset)));
        long offset = fz.offset(m.length);
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(!m.f32, IllegalArgumentException.class);
        f.add(dst == null, NullPointerException.class);
        f.add(dst != null && Fuzz.outOfRange(dstOffset, count, dstLength), IndexOutOfBoundsException.class);
        f.add(Fuzz.outOfRange(offset, count, m.length), IndexOutOfBoundsException.class);
        float[] before = dst == null ? null : dst.clone();
        String what = "read(" + offset + ", float[" + dstLength + "], " + dstOffset + ", " + count + ") on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> m.buffer.read(offset, dst, dstOffset, count));
                assertArrayEquals(before, dst, what + " was rejected but changed its destination");
            } else {
                m.buffer.read(offset, dst, dstOffset, count);
                float[] expected = before.clone();
                System.arraycopy(m.floats, (int) offset, expected, dstOffset, count);
                assertArrayEquals(expected, dst, what);
            }
        };
    }

    private static void wholeArray(Model m) {
        boolean asFloats = m.f32 ^ (m.length % 3 == 0); // sometimes the accessor of the other type
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(asFloats != m.f32, IllegalArgumentException.class);
        String what = (asFloats ? "toFloatArray" : "toDoubleArray") + " on " + m.buffer;
        if (f.any()) {
            Fuzz.assertThrowsOneOf(f.allowed, what, asFloats ? m.buffer::toFloatArray : m.buffer::toDoubleArray);
        } else if (asFloats) {
            assertArrayEquals(m.floats, m.buffer.toFloatArray(), what);
        } else {
            assertArrayEquals(m.doubles, m.buffer.toDoubleArray(), what);
        }
    }

    private static Fuzz.ThrowingCall copy(Fuzz fz, Model dst, Model src) {
        int srcLength = src == null ? 0 : src.length;
        long srcOffset = fz.offset(srcLength);
        long count = fz.oneIn(6) ? fz.edgeLong(srcLength - srcOffset) : fz.offset(Math.max(0, srcLength - srcOffset));
        long offset = fz.offset(dst.length);
        Faults f = new Faults();
        f.add(src == null, NullPointerException.class);
        if (src != null) {
            f.add(src.closed || dst.closed, IllegalStateException.class);
            f.add(src.f32 != dst.f32, IllegalArgumentException.class);
            f.add(Fuzz.outOfRange(srcOffset, count, srcLength), IndexOutOfBoundsException.class);
        }
        f.add(Fuzz.outOfRange(offset, count, dst.length), IndexOutOfBoundsException.class);
        String what = "copyFrom(" + (src == null ? null : src.buffer) + ", " + srcOffset + ", " + offset + ", "
                + count + ") into " + dst.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what,
                        () -> dst.buffer.copyFrom(src == null ? null : src.buffer, srcOffset, offset, count));
            } else {
                // Buffers of two CPU backends share the host's memory, so copies between them are allowed;
                // a copy within one buffer behaves as System.arraycopy (overlap included).
                dst.buffer.copyFrom(src.buffer, srcOffset, offset, count);
                if (dst.f32) {
                    System.arraycopy(src.floats, (int) srcOffset, dst.floats, (int) offset, (int) count);
                } else {
                    System.arraycopy(src.doubles, (int) srcOffset, dst.doubles, (int) offset, (int) count);
                }
            }
        };
    }

    private static void zero(Model m) {
        if (m.closed) {
            Fuzz.assertThrowsOneOf(Set.of(IllegalStateException.class), "zero on " + m.buffer, m.buffer::zero);
            return;
        }
        m.buffer.zero();
        if (m.f32) {
            Arrays.fill(m.floats, 0f);
        } else {
            Arrays.fill(m.doubles, 0.0);
        }
    }

    private static Fuzz.ThrowingCall address(Fuzz fz, Model m) {
        long index = fz.oneIn(3) ? fz.edgeLong(m.length) : fz.random().nextLong(m.length);
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(index < 0 || index >= m.length, IndexOutOfBoundsException.class);
        String what = "address(" + index + ") on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> m.buffer.address(index));
            } else {
                assertEquals(m.buffer.address() + index * m.buffer.type().bytes(), m.buffer.address(index), what);
            }
        };
    }

    private static Fuzz.ThrowingCall hostView(Fuzz fz, Model m) {
        boolean asFloats = fz.oneIn(4) != m.f32;
        int index = fz.between(0, m.length - 1);
        float value = fz.value(3);
        Faults f = new Faults();
        f.add(m.closed, IllegalStateException.class);
        f.add(asFloats != m.f32, IllegalArgumentException.class);
        String what = (asFloats ? "hostFloats" : "hostDoubles") + " on " + m.buffer;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, asFloats ? m.buffer::hostFloats : m.buffer::hostDoubles);
            } else if (asFloats) {
                FloatBuffer view = m.buffer.hostFloats();
                assertEquals(m.length, view.remaining(), what);
                float[] seen = new float[m.length];
                view.duplicate().get(seen);
                assertArrayEquals(m.floats, seen, what);
                view.put(index, value); // the view aliases the buffer
                m.floats[index] = value;
            } else {
                DoubleBuffer view = m.buffer.hostDoubles();
                double[] seen = new double[m.length];
                view.duplicate().get(seen);
                assertArrayEquals(m.doubles, seen, what);
                view.put(index, value);
                m.doubles[index] = value;
            }
        };
    }

    private static Fuzz.ThrowingCall allocate(Fuzz fz, List<Model> pool) {
        Backend on = fz.oneIn(8) ? closed : fz.oneIn(5) ? foreign : main;
        boolean f32 = fz.random().nextBoolean();
        long length = fz.oneIn(2) ? fz.between(1, 9)
                : fz.oneIn(3) ? UNALLOCATABLE[fz.between(0, 1)]
                : fz.pick(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE / 16 + 1, Long.MAX_VALUE / 8);
        Faults f = new Faults();
        f.add(on.isClosed(), IllegalStateException.class);
        f.add(length < 1 || length > Long.MAX_VALUE / 16, IllegalArgumentException.class);
        boolean outOfMemory = length >= 1L << 50 && length <= Long.MAX_VALUE / 16;
        String what = (f32 ? "allocateFloats(" : "allocateDoubles(") + length + ") on " + on;
        return () -> {
            if (f.any()) {
                Fuzz.assertThrowsOneOf(f.allowed, what, () -> allocate(on, f32, length));
            } else if (outOfMemory) {
                L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class), what,
                        () -> allocate(on, f32, length));
                assertEquals(Status.OUT_OF_MEMORY, e.status(), what);
            } else {
                Model m = new Model(allocate(on, f32, length));
                pool.add(m);
                assertEquals(on, m.buffer.backend(), what);
                assertEquals(length, m.buffer.length(), what);
            }
        };
    }

    private static NativeBuffer allocate(Backend on, boolean f32, long length) {
        return f32 ? on.allocateFloats(length) : on.allocateDoubles(length);
    }

    private static void queries(Model m) {
        assertEquals(m.length, m.buffer.length());
        assertEquals(m.f32 ? NativeBuffer.ElementType.F32 : NativeBuffer.ElementType.F64, m.buffer.type());
        assertEquals(m.closed, m.buffer.isClosed());
        assertEquals(m.closed, m.buffer.toString().contains("closed"), m.buffer.toString());
        assertFalse(m.buffer.backend().isClosed());
        if (m.closed) {
            Fuzz.assertThrowsOneOf(Set.of(IllegalStateException.class), "address of " + m.buffer, m.buffer::address);
        }
    }

    private static Fuzz.ThrowingCall backendSettings(Fuzz fz) {
        Backend b = fz.oneIn(6) ? closed : main;
        int threads = fz.oneIn(2) ? fz.between(0, 4) : fz.edgeInt(2);
        String isa = fz.oneIn(8) ? null : fz.oneIn(3) ? fz.pick("bogus", "", "AVX2", "avx512 ")
                : fz.pick(Backend.supportedCpuIsas());
        return () -> {
            if (b.isClosed()) {
                Set<Class<? extends Throwable>> closedOnly = Set.of(IllegalStateException.class);
                Fuzz.assertThrowsOneOf(closedOnly, "threads of a closed backend", b::threads);
                Fuzz.assertThrowsOneOf(closedOnly, "setThreads on a closed backend", () -> b.setThreads(1));
                Fuzz.assertThrowsOneOf(closedOnly, "cpuIsa of a closed backend", b::cpuIsa);
                Fuzz.assertThrowsOneOf(closedOnly, "synchronize on a closed backend", b::synchronize);
                Fuzz.assertThrowsOneOf(closedOnly, "cudaStream of a closed backend", b::cudaStream);
                assertTrue(b.toString().contains("closed"));
                return;
            }
            if (threads < 0) {
                Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "setThreads(" + threads + ")",
                        () -> b.setThreads(threads));
            } else {
                b.setThreads(threads);
                assertTrue(threads == 0 ? b.threads() >= 1 : b.threads() == threads, "threads " + b.threads());
            }
            String before = b.cpuIsa();
            if (isa == null) {
                Fuzz.assertThrowsOneOf(Set.of(NullPointerException.class), "setCpuIsa(null)", () -> b.setCpuIsa(null));
            } else if (!Arrays.asList(Backend.supportedCpuIsas()).contains(isa)) {
                L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class),
                        "setCpuIsa(" + isa + ")", () -> b.setCpuIsa(isa));
                assertEquals(Status.INVALID_ARGUMENT, e.status());
                assertTrue(e.getMessage().contains("'" + isa + "'"), e.getMessage());
                assertEquals(before, b.cpuIsa(), "a rejected setCpuIsa changed the kernels");
            } else {
                b.setCpuIsa(isa);
                assertEquals(isa, b.cpuIsa());
            }
            assertEquals(0, b.cudaStream());
            b.synchronize();
            assertEquals(BackendKind.CPU, b.kind());
            b.setThreads(1);
        };
    }

    private static Fuzz.ThrowingCall backendLifecycle(Fuzz fz, List<Model> pool) {
        boolean mainInUse = pool.stream().anyMatch(m -> !m.closed && m.buffer.backend() == main);
        int threads = fz.edgeInt(1);
        int device = fz.oneIn(2) ? 0 : fz.edgeInt(0);
        int kind = fz.between(0, 2);
        return () -> {
            if (kind == 0 && mainInUse) {
                // closing a backend whose buffers are open is refused and leaves it usable
                Fuzz.assertThrowsOneOf(Set.of(IllegalStateException.class), "close with open buffers", main::close);
                assertFalse(main.isClosed());
                main.allocateFloats(1).close();
            } else if (kind == 1) {
                if (threads < 0) {
                    Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "cpu(" + threads + ")",
                            () -> Backend.cpu(threads));
                } else {
                    Backend b = Backend.cpu(threads);
                    assertFalse(b.isClosed());
                    b.close();
                    b.close();
                    assertTrue(b.isClosed());
                }
            } else if (device < 0) {
                Fuzz.assertThrowsOneOf(Set.of(IllegalArgumentException.class), "cuda(" + device + ")",
                        () -> Backend.cuda(device));
            } else if (device >= Backend.cudaDeviceCount()) {
                L2lException e = (L2lException) Fuzz.assertThrowsOneOf(Set.of(L2lException.class),
                        "cuda(" + device + ")", () -> Backend.cuda(device));
                assertTrue(e.status() == Status.NO_CUDA || e.status() == Status.CUDA, e.toString());
            } else {
                Backend.cuda(device).close();
            }
        };
    }
}
