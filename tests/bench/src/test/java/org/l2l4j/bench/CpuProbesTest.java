package org.l2l4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.Status;

/**
 * The machine probes: the triad computes a = b + s c on every instruction set (against a
 * float64 reference, to float32 rounding of the product and the sum), the multiply-add and
 * bfloat16 dot-product probes report the operations l2l_probes.h documents (chains x vector width
 * x 2, and x 4, per round, rounded up per thread), the AMX tile probe likewise on the kernel sets
 * with tiles (65,536 a round) and fails with WRONG_CONTEXT, naming the set, on the others, and
 * bad arguments are rejected before the native call.
 */
class CpuProbesTest {
    /** Operations per round of the multiply-add probe, as documented in l2l_probes.h. */
    private static final Map<String, Long> ROUND = Map.of("amx", 2L * 16 * 16, "amx-emulated", 2L * 16 * 16,
            "avx512bf16", 2L * 16 * 16, "avx512", 2L * 16 * 16, "avx2", 2L * 12 * 8, "baseline", 2L * 12 * 4);
    /** Operations per round of the AMX tile probe: 4 TDPBF16PS of 16 x 16 x 16 words x 2 products x 2. */
    private static final long TILE_ROUND = 4L * 16 * 16 * 16 * 2 * 2;
    /** The kernel sets with AMX tiles (the software model's on amx-emulated). */
    private static final Set<String> TILE_SETS = Set.of("amx", "amx-emulated");

    @Test
    void triadMatchesReferenceOnEveryIsa() {
        int n = 100_003; // not a multiple of a chunk or a vector
        SplittableRandom rnd = new SplittableRandom(5);
        float[] b = new float[n];
        float[] c = new float[n];
        for (int i = 0; i < n; i++) {
            b[i] = (float) (rnd.nextDouble() * 2 - 1);
            c[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        float s = 0.731f;
        try (Backend cpu = Backend.cpu(2);
             NativeBuffer a = cpu.allocateFloats(n);
             NativeBuffer bb = cpu.allocateFloats(n);
             NativeBuffer cb = cpu.allocateFloats(n)) {
            bb.write(b);
            cb.write(c);
            for (String isa : Backend.supportedCpuIsas()) {
                cpu.setCpuIsa(isa);
                a.zero();
                CpuProbes.triad(cpu, a, bb, cb, s);
                float[] out = a.toFloatArray();
                for (int i = 0; i < n; i++) {
                    double ref = b[i] + (double) s * c[i];
                    // a product rounded before the add (no FMA on the baseline) adds half an ulp
                    // of s c; the sum's rounding half an ulp of the result
                    double tolerance = Math.ulp((float) (s * c[i])) + Math.ulp((float) ref);
                    assertTrue(Math.abs(out[i] - ref) <= tolerance,
                            isa + ": a[" + i + "] = " + out[i] + ", expected " + ref);
                }
                assertArrayEquals(b, bb.toFloatArray(), isa + ": b changed");
                assertArrayEquals(c, cb.toFloatArray(), isa + ": c changed");
            }
        }
    }

    @Test
    void multiplyAddProbesReportTheOperationsDone() {
        for (int threads : new int[] {1, 2}) {
            try (Backend cpu = Backend.cpu(threads)) {
                for (String isa : Backend.supportedCpuIsas()) {
                    cpu.setCpuIsa(isa);
                    long round = ROUND.get(isa);
                    assertEquals(threads * round, CpuProbes.fmaPeak(cpu, 1), isa + ": one round per thread");
                    assertEquals(threads * 3L * 512 * 1000, CpuProbes.fmaPeak(cpu, 3L * 512 * 1000),
                            isa + ": a multiple of 1,536 is done exactly");
                    assertEquals(threads * 2 * round, CpuProbes.fmaPeak(cpu, round + 1), isa + ": rounded up");
                    long dotRound = 2 * round; // 4 operations per lane: two multiply-adds
                    assertEquals(threads * dotRound, CpuProbes.bf16DotPeak(cpu, 1), isa + ": one bf16 round per thread");
                    assertEquals(threads * 3L * 1024 * 1000, CpuProbes.bf16DotPeak(cpu, 3L * 1024 * 1000),
                            isa + ": a multiple of 3,072 is done exactly");
                    assertEquals(threads * 2 * dotRound, CpuProbes.bf16DotPeak(cpu, dotRound + 1), isa + ": rounded up");
                    CpuProbes.cells(cpu, 3);
                }
            }
        }
    }

    @Test
    void amxTileProbeReportsTheOperationsDoneOnTheSetsWithTiles() {
        assertEquals(TILE_ROUND, CpuProbes.AMX_ROUND_FLOPS);
        for (int threads : new int[] {1, 2}) {
            try (Backend cpu = Backend.cpu(threads)) {
                for (String isa : Backend.supportedCpuIsas()) {
                    cpu.setCpuIsa(isa);
                    if (TILE_SETS.contains(isa)) {
                        assertEquals(threads * TILE_ROUND, CpuProbes.amxTilePeak(cpu, 1), isa + ": one round per thread");
                        assertEquals(threads * TILE_ROUND * 1000, CpuProbes.amxTilePeak(cpu, TILE_ROUND * 1000),
                                isa + ": a multiple of 65,536 is done exactly");
                        assertEquals(threads * 2 * TILE_ROUND, CpuProbes.amxTilePeak(cpu, TILE_ROUND + 1),
                                isa + ": rounded up");
                    } else {
                        L2lException e = assertThrows(L2lException.class, () -> CpuProbes.amxTilePeak(cpu, 1), isa);
                        assertEquals(Status.WRONG_CONTEXT, e.status(), isa);
                        assertTrue(e.getMessage().contains("amx or amx-emulated") && e.getMessage().endsWith(
                                "this context runs " + isa), e.getMessage());
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsAreRejected() {
        try (Backend cpu = Backend.cpu(1);
             NativeBuffer a = cpu.allocateFloats(10);
             NativeBuffer b = cpu.allocateFloats(10);
             NativeBuffer shorter = cpu.allocateFloats(9);
             NativeBuffer doubles = cpu.allocateDoubles(10)) {
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.fmaPeak(cpu, 0));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.bf16DotPeak(cpu, 0));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.amxTilePeak(cpu, 0));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.amxTilePeak(cpu, -TILE_ROUND));
            long tooMany = CpuProbes.MAX_FLOPS_PER_THREAD + 1;
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.fmaPeak(cpu, tooMany));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.bf16DotPeak(cpu, Long.MAX_VALUE));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.amxTilePeak(cpu, tooMany));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.cells(cpu, 0));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.triad(cpu, a, b, shorter, 1f));
            assertThrows(IllegalArgumentException.class, () -> CpuProbes.triad(cpu, a, b, doubles, 1f));
            assertThrows(NullPointerException.class, () -> CpuProbes.triad(cpu, a, null, b, 1f));
            assertThrows(NullPointerException.class, () -> CpuProbes.fmaPeak(null, 1));
            assertThrows(NullPointerException.class, () -> CpuProbes.amxTilePeak(null, 1));
            try (Backend other = Backend.cpu(1); NativeBuffer elsewhere = other.allocateFloats(10)) {
                assertThrows(IllegalArgumentException.class, () -> CpuProbes.triad(cpu, a, b, elsewhere, 1f));
            }
        }
        Backend closed = Backend.cpu(1);
        closed.close();
        assertThrows(IllegalStateException.class, () -> CpuProbes.fmaPeak(closed, 1));
        assertThrows(IllegalStateException.class, () -> CpuProbes.amxTilePeak(closed, 1));
    }
}
