package org.l2l4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

    @TempDir
    Path dir;

    /** A 2x3x4 unsigned-byte IDX file with values 0, 7, 14, ... (mod 256). */
    private static byte[] small() {
        byte[] data = new byte[24];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7 + 200);
        }
        return TestFiles.idx(0x08, new int[] {2, 3, 4}, data);
    }

    private IdxArray readBytes(String name, byte[] bytes) throws IOException {
        return IdxReader.read(Files.write(dir.resolve(name), bytes));
    }

    private IdxFormatException rejected(String name, byte[] bytes) {
        Path file = dir.resolve(name);
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> readBytes(name, bytes));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        return e;
    }

    private static void assertSmall(IdxArray a) {
        assertEquals(IdxType.UNSIGNED_BYTE, a.type());
        assertArrayEquals(new int[] {2, 3, 4}, a.dims());
        assertEquals(3, a.rank());
        assertEquals(3, a.dim(1));
        assertEquals(24, a.length());
        int[] ints = a.toInts(0, 24);
        float[] floats = a.toFloats(5, 9);
        for (int i = 0; i < 24; i++) {
            assertEquals((i * 7 + 200) & 0xFF, ints[i]);
            assertEquals((i * 7 + 200) & 0xFF, a.getInt(i));
            assertEquals((i * 7 + 200) & 0xFF, a.get(i));
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(ints[5 + i], floats[i]);
        }
    }

    @Test
    void readsRawAndGzippedFiles() throws IOException {
        assertSmall(readBytes("raw", small()));
        // compression is detected from the content: a gzipped file without .gz and the reverse
        assertSmall(readBytes("gzipped-without-suffix", TestFiles.gzip(small())));
        assertSmall(readBytes("raw.gz", small()));
    }

    @Test
    void readsEveryElementType() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(3 * 8);
        b.put((byte) -1).put((byte) 5).put((byte) -128);
        assertArrayEquals(new int[] {-1, 5, -128},
                readBytes("s8", TestFiles.idx(0x09, new int[] {3}, Arrays.copyOf(b.array(), 3))).toInts(0, 3));

        b.clear();
        b.putShort((short) -300).putShort((short) 32767).putShort((short) 0);
        IdxArray shorts = readBytes("s16", TestFiles.idx(0x0B, new int[] {3}, Arrays.copyOf(b.array(), 6)));
        assertEquals(IdxType.SHORT, shorts.type());
        assertArrayEquals(new int[] {-300, 32767, 0}, shorts.toInts(0, 3));

        b.clear();
        b.putInt(Integer.MIN_VALUE).putInt(123456789).putInt(-1);
        assertArrayEquals(new int[] {Integer.MIN_VALUE, 123456789, -1},
                readBytes("s32", TestFiles.idx(0x0C, new int[] {3}, Arrays.copyOf(b.array(), 12))).toInts(0, 3));

        b.clear();
        b.putFloat(1.5f).putFloat(-0.25f).putFloat(Float.NaN);
        IdxArray floats = readBytes("f32", TestFiles.idx(0x0D, new int[] {3, 1}, Arrays.copyOf(b.array(), 12)));
        assertArrayEquals(new float[] {1.5f, -0.25f, Float.NaN}, floats.toFloats(0, 3));
        assertThrows(UnsupportedOperationException.class, () -> floats.getInt(0));
        assertThrows(UnsupportedOperationException.class, () -> floats.toInts(0, 1));

        b.clear();
        b.putDouble(Math.PI).putDouble(-1e300).putDouble(0.1);
        IdxArray doubles = readBytes("f64", TestFiles.idx(0x0E, new int[] {1, 3}, b.array()));
        assertEquals(Math.PI, doubles.get(0));
        assertEquals(-1e300, doubles.get(1));
        assertEquals(0.1, doubles.get(2));
        assertEquals(IdxType.DOUBLE, doubles.type());
    }

    @Test
    void readsZeroSizedDimensions() throws IOException {
        IdxArray empty = readBytes("empty-set", TestFiles.idx(0x08, new int[] {0, 28, 28}, new byte[0]));
        assertEquals(0, empty.length());
        assertArrayEquals(new int[] {0, 28, 28}, empty.dims());
    }

    @Test
    void rejectsEveryTruncationOfARawFile() {
        byte[] full = small();
        for (int length = 0; length < full.length; length++) {
            IdxFormatException e = rejected("cut" + length, Arrays.copyOf(full, length));
            String expected = length == 0 ? "is empty" : "is truncated";
            assertTrue(e.getMessage().contains(expected), length + ": " + e.getMessage());
        }
    }

    @Test
    void rejectsEveryTruncationOfAGzippedFile() {
        byte[] full = TestFiles.gzip(small());
        for (int length = 0; length < full.length; length++) {
            IdxFormatException e = rejected("cut" + length + ".gz", Arrays.copyOf(full, length));
            assertTrue(e.getMessage().matches(".*(is empty|is truncated|corrupt or truncated).*"),
                    length + ": " + e.getMessage());
        }
    }

    /**
     * 1,000 random single-byte changes of the raw 2x3x4 file (every position, then random ones).
     * IDX files carry no checksum, so what is asserted is: a change in the 16 header bytes is
     * rejected (a wrong magic number, an unknown type, a dimension count or size that no longer
     * matches the 24 data bytes), except one that turns the type 0x08 into 0x09, the other type of
     * one byte, which reads with the same shape and bytes as signed bytes (MNIST loading then
     * rejects it: MnistData requires unsigned bytes); a change in the data reads with the same
     * type and shape and exactly that byte changed.  Such changes are caught where it matters by
     * the SHA-256 of each whole MNIST file, which MnistFetcher and MnistData.load verify.
     */
    @Test
    void byteFlipsOfARawFileAreRejectedOrReadWithTheSameShape() throws IOException {
        byte[] original = small();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        int header = 4 + 4 * 3;
        int rejectedHeader = 0;
        for (int trial = 0; trial < 1000; trial++) {
            int pos = trial < original.length ? trial : rnd.nextInt(original.length);
            byte[] bytes = original.clone();
            bytes[pos] ^= (byte) (1 + rnd.nextInt(255));
            String where = "byte " + pos + ": " + original[pos] + " -> " + bytes[pos];
            if (pos < header && !(pos == 2 && bytes[pos] == 0x09)) {
                rejected("flip", bytes);
                rejectedHeader++;
                continue;
            }
            IdxArray a = readBytes("flip", bytes);
            assertArrayEquals(new int[] {2, 3, 4}, a.dims(), where);
            assertEquals(pos == 2 ? IdxType.SIGNED_BYTE : IdxType.UNSIGNED_BYTE, a.type(), where);
            for (int i = 0; i < 24; i++) {
                assertEquals(bytes[header + i], (byte) a.get(i), where + ", element " + i);
            }
        }
        assertTrue(rejectedHeader > 300, "header changes rejected: " + rejectedHeader);
    }

    /**
     * 1,000 random single-byte changes of the gzipped file: gzip's CRC-32 and length of the
     * content catch every change of what the decoder produces, so each change is rejected with an
     * IdxFormatException or, where it touches nothing the content depends on (the gzip header's
     * time stamp, extra flags and OS bytes, the unused bits of the last deflate byte), reads
     * exactly as the original.
     */
    @Test
    void byteFlipsOfAGzippedFileAreRejectedOrHarmless() throws IOException {
        byte[] original = TestFiles.gzip(small());
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(8);
        int harmless = 0;
        for (int trial = 0; trial < 1000; trial++) {
            int pos = trial < original.length ? trial : rnd.nextInt(original.length);
            byte[] bytes = original.clone();
            bytes[pos] ^= (byte) (1 + rnd.nextInt(255));
            IdxArray a;
            try {
                a = readBytes("flip.gz", bytes);
            } catch (IdxFormatException e) {
                assertTrue(e.getMessage().startsWith(dir.resolve("flip.gz") + ": "), e.getMessage());
                continue;
            }
            assertSmall(a);
            harmless++;
        }
        assertTrue(harmless > 0 && harmless < 1000 / 2, "harmless: " + harmless);
    }

    @Test
    void rejectsTrailingGarbage() {
        byte[] full = small();
        IdxFormatException e = rejected("long", Arrays.copyOf(full, full.length + 3));
        assertTrue(e.getMessage().contains("3 bytes of trailing garbage after the 24 data bytes"),
                e.getMessage());
        e = rejected("long.gz", TestFiles.gzip(Arrays.copyOf(full, full.length + 1)));
        assertTrue(e.getMessage().contains("1 bytes of trailing garbage"), e.getMessage());
    }

    @Test
    void rejectsWrongMagicNumber() {
        byte[] bytes = small();
        bytes[1] = 0x01;
        IdxFormatException e = rejected("magic", bytes);
        assertTrue(e.getMessage().contains("wrong magic number 0x00010803"), e.getMessage());
        e = rejected("text", "hello world, not IDX".getBytes());
        assertTrue(e.getMessage().contains("wrong magic number"), e.getMessage());
    }

    @Test
    void rejectsUnsupportedTypeAndZeroDimensions() {
        IdxFormatException e = rejected("type", TestFiles.idx(0x0A, new int[] {1}, new byte[1]));
        assertTrue(e.getMessage().contains("unsupported element type 0x0A"), e.getMessage());
        e = rejected("rank0", new byte[] {0, 0, 8, 0, 42});
        assertTrue(e.getMessage().contains("declares 0 dimensions"), e.getMessage());
    }

    @Test
    void rejectsNegativeAndOverflowingDimensions() {
        IdxFormatException e = rejected("negative", TestFiles.idx(0x08, new int[] {2, -1}, new byte[0]));
        assertTrue(e.getMessage().contains("dimension 1 is 4294967295, more than 2^31 - 1"), e.getMessage());
        // 65536 x 65536 x 8 bytes: more than a Java array, though each dimension is fine
        e = rejected("huge", TestFiles.idx(0x0E, new int[] {65536, 65536}, new byte[16]));
        assertTrue(e.getMessage().contains("more than a Java array can hold"), e.getMessage());
        e = rejected("many", TestFiles.idx(0x08, new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE,
                Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}, new byte[0]));
        assertTrue(e.getMessage().contains("more than a Java array can hold"), e.getMessage());
    }

    @Test
    void rejectsCorruptGzip() {
        byte[] gz = TestFiles.gzip(small());
        gz[gz.length - 6] ^= 0x55; // the CRC-32 in the trailer
        IdxFormatException e = rejected("crc.gz", gz);
        assertTrue(e.getMessage().contains("gzip stream is corrupt or truncated"), e.getMessage());
    }

    @Test
    void reportsAMissingFileAsAnOrdinaryIOException() {
        IOException e = assertThrows(IOException.class, () -> IdxReader.read(dir.resolve("absent")));
        assertFalse(e instanceof IdxFormatException, e.toString());
        assertThrows(NullPointerException.class, () -> IdxReader.read(null));
    }

    @Test
    void checksIndexes() throws IOException {
        IdxArray a = readBytes("raw", small());
        assertThrows(IndexOutOfBoundsException.class, () -> a.get(24));
        assertThrows(IndexOutOfBoundsException.class, () -> a.get(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> a.toFloats(3, 25));
        assertThrows(IndexOutOfBoundsException.class, () -> a.toInts(4, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> a.dim(3));
    }
}
