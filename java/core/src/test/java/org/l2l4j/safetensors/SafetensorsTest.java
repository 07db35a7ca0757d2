package org.l2l4j.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsTest {

    @TempDir
    Path dir;

    /** Little-endian u64 header length, the header text, then the data bytes. */
    private static byte[] fileBytes(String header, byte[] data) {
        return fileBytes(header.getBytes(StandardCharsets.UTF_8), data);
    }

    private static byte[] fileBytes(byte[] header, byte[] data) {
        return ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(header.length).put(header).put(data).array();
    }

    private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private Path save(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static Map<String, Tensor> sampleTensors(Random rnd) {
        float[] f = new float[12];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) rnd.nextGaussian();
        }
        f[3] = Float.NaN;
        f[4] = -0.0f;
        double[] d = rnd.doubles(5).toArray();
        long[] l = rnd.longs(6).toArray();
        int[] n = rnd.ints(7).toArray();
        byte[] u8 = new byte[5];
        rnd.nextBytes(u8);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("lstm.weight_ih_l0", Tensor.ofFloats(new long[]{3, 4}, f));
        t.put("d", Tensor.ofDoubles(new long[]{5}, d));
        t.put("step", Tensor.ofLongs(new long[]{2, 1, 3}, l));
        t.put("ints", Tensor.ofInts(new long[]{7}, n));
        t.put("scalar", Tensor.ofDoubles(new long[]{}, new double[]{rnd.nextDouble()}));
        t.put("empty", Tensor.ofFloats(new long[]{0, 3}, new float[0]));
        t.put("bytes", Tensor.ofBytes(DType.U8, new long[]{5}, u8));
        t.put("a", Tensor.ofFloats(new long[]{1}, new float[]{(float) rnd.nextGaussian()}));
        return t;
    }

    @Test
    void roundTripKeepsValuesOrderAndMetadata() throws IOException {
        Random rnd = new Random(1);
        Map<String, Tensor> tensors = sampleTensors(rnd);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("epoch", "12");
        metadata.put("note", "ünïcödé, \"quoted\"\n\ttabbed");
        Path file = dir.resolve("rt.safetensors");
        Safetensors.write(file, tensors, metadata);

        SafetensorsFile read = Safetensors.read(file);
        assertEquals(List.copyOf(tensors.keySet()), List.copyOf(read.tensors().keySet()));
        assertEquals(tensors, read.tensors());
        assertEquals(List.copyOf(metadata.entrySet()), List.copyOf(read.metadata().entrySet()));
        assertTrue(read.verified());

        Tensor f = read.tensor("lstm.weight_ih_l0");
        assertArrayEquals(new long[]{3, 4}, f.shape());
        assertArrayEquals(tensors.get("lstm.weight_ih_l0").toFloatArray(), f.toFloatArray());
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(f.toFloatArray()[4]));
        assertArrayEquals(tensors.get("step").toLongArray(), read.tensor("step").toLongArray());
        assertArrayEquals(tensors.get("ints").toIntArray(), read.tensor("ints").toIntArray());
        assertArrayEquals(new long[0], read.tensor("scalar").shape());
        assertEquals(1, read.tensor("scalar").elementCount());
        assertEquals(0, read.tensor("empty").byteSize());
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8)
                .order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");
    }

    @Test
    void overwritesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("w.safetensors");
        Safetensors.write(file, Map.of("x", Tensor.ofDoubles(new long[]{2}, new double[]{1, 2})),
                Map.of());
        Safetensors.write(file, Map.of("y", Tensor.ofLongs(new long[]{}, new long[]{5})),
                Map.of("k", "v"));
        SafetensorsFile read = Safetensors.read(file);
        assertEquals(List.of("y"), List.copyOf(read.tensors().keySet()));
        assertEquals(Map.of("k", "v"), read.metadata());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void failedRenameRemovesTemporaryFile() throws IOException {
        Path target = Files.createDirectory(dir.resolve("target"));
        Files.writeString(target.resolve("inside"), "keep");
        assertThrows(IOException.class, () -> Safetensors.write(target,
                Map.of("x", Tensor.ofInts(new long[]{1}, new int[]{1})), Map.of()));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList());
        }
        assertEquals("keep", Files.readString(target.resolve("inside")));
    }

    /** The spec's layout, written out by hand: two tensors, one of them a scalar, and metadata. */
    @Test
    void writesTheExactBytesOfAHandBuiltFile() throws Exception {
        byte[] data = {
                0, 0, (byte) 0x80, 0x3f,            // 1.0f
                0, 0, 0, (byte) 0xc0,               // -2.0f
                7, 0, 0, 0, 0, 0, 0, 0,             // 7L
        };
        String shaA = sha256(Arrays.copyOfRange(data, 0, 8));
        String shaB = sha256(Arrays.copyOfRange(data, 8, 16));
        String meta = "\"k\":\"v\",\"sha256.a\":\"" + shaA + "\",\"sha256.b\":\"" + shaB + "\"";
        String entries = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}";
        String unsigned = "{\"__metadata__\":{" + meta + "}," + entries + "}";
        String shaHeader = sha256(unsigned.getBytes(StandardCharsets.UTF_8));
        String header = "{\"__metadata__\":{" + meta + ",\"sha256.__header__\":\"" + shaHeader
                + "\"}," + entries + "}";
        header += " ".repeat((8 - header.length() % 8) % 8);
        byte[] expected = fileBytes(header, data);

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.ofFloats(new long[]{2}, new float[]{1f, -2f}));
        tensors.put("b", Tensor.ofLongs(new long[]{}, new long[]{7}));
        Path file = dir.resolve("hand.safetensors");
        Safetensors.write(file, tensors, Map.of("k", "v"));
        assertArrayEquals(expected, Files.readAllBytes(file));
    }

    /** A file as PyTorch's safetensors writes it: no digests, entries not in data order. */
    @Test
    void readsAFileWithoutDigests() throws IOException {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]},"
                + " \"i\" : {\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ";
        byte[] data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(-3).putInt(40).putDouble(0.25).array();
        SafetensorsFile read = Safetensors.read(save("pt.safetensors", fileBytes(header, data)));
        assertFalse(read.verified());
        assertEquals(Map.of("format", "pt"), read.metadata());
        assertEquals(List.of("w", "i"), List.copyOf(read.tensors().keySet()));
        assertArrayEquals(new double[]{0.25}, read.tensor("w").toDoubleArray());
        assertArrayEquals(new int[]{-3, 40}, read.tensor("i").toIntArray());
    }

    @Test
    void everyTruncationIsRejected() throws IOException {
        Path file = dir.resolve("full.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", Tensor.ofFloats(new long[]{2, 2}, new float[]{1, 2, 3, 4}));
        tensors.put("n", Tensor.ofLongs(new long[]{}, new long[]{9}));
        Safetensors.write(file, tensors, Map.of("epoch", "3"));
        byte[] full = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.safetensors");
        for (int length = 0; length < full.length; length++) {
            Files.write(cut, Arrays.copyOf(full, length));
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> Safetensors.read(cut), "length " + length);
            assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        }
    }

    /**
     * Random single-byte changes: each is rejected, data changes by the digest; a change may
     * pass only inside the header's JSON (whitespace) and only if the parsed content is the same.
     */
    @Test
    void singleByteFlipsAreRejectedOrHarmless() throws IOException {
        Path file = dir.resolve("orig.safetensors");
        Safetensors.write(file, sampleTensors(new Random(2)), Map.of("epoch", "7", "lr", "1e-3"));
        byte[] original = Files.readAllBytes(file);
        SafetensorsFile expected = Safetensors.read(file);
        long headerEnd = 8 + ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN)
                .getLong();
        Path flipped = dir.resolve("flipped.safetensors");
        Random rnd = new Random(3);
        int byDigest = 0;
        int inHeader = 0;
        int harmless = 0;
        for (int trial = 0; trial < 1500; trial++) {
            int pos = trial < original.length ? trial : rnd.nextInt(original.length);
            byte[] bytes = original.clone();
            bytes[pos] ^= (byte) (1 + rnd.nextInt(255));
            Files.write(flipped, bytes);
            String where = "byte " + pos + " " + original[pos] + " -> " + bytes[pos];
            SafetensorsFile read;
            try {
                read = Safetensors.read(flipped);
            } catch (CheckpointFormatException e) {
                assertTrue(e.getMessage().startsWith(flipped.toString()), e.getMessage());
                if (pos >= headerEnd) {
                    assertTrue(e.getMessage().contains("SHA-256"), where + ": " + e.getMessage());
                    byDigest++;
                } else {
                    inHeader++;
                }
                continue;
            }
            assertTrue(pos >= 8 && pos < headerEnd, where + " was accepted outside the header");
            assertEquals(expected, read, where + " changed the content");
            harmless++;
        }
        assertTrue(byDigest > 100 && inHeader > 100, byDigest + " / " + inHeader);
        assertEquals(1500, byDigest + inHeader + harmless);
    }

    @Test
    void whitespacePaddingIsHarmlessAndOtherPaddingIsRejected() throws IOException {
        // Grow a metadata value until the header needs padding.
        Path file = dir.resolve("pad.safetensors");
        long headerLength;
        int jsonEnd;
        String value = "";
        do {
            value += "x";
            Safetensors.write(file, Map.of("t", Tensor.ofInts(new long[]{1}, new int[]{1})),
                    Map.of("m", value));
            byte[] bytes = Files.readAllBytes(file);
            headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            jsonEnd = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8)
                    .lastIndexOf('}') + 9;
        } while (jsonEnd == 8 + headerLength);
        byte[] original = Files.readAllBytes(file);
        SafetensorsFile expected = Safetensors.read(file);
        for (int pos = jsonEnd; pos < 8 + headerLength; pos++) {
            assertEquals(' ', original[pos]);
            for (byte b : new byte[]{'\n', '\t', '\r'}) {
                byte[] bytes = original.clone();
                bytes[pos] = b;
                assertEquals(expected, Safetensors.read(save("ws.safetensors", bytes)));
            }
            byte[] bytes = original.clone();
            bytes[pos] = 'x';
            Path bad = save("bad.safetensors", bytes);
            assertTrue(assertThrows(CheckpointFormatException.class, () -> Safetensors.read(bad))
                    .getMessage().contains("not valid JSON"));
        }
    }

    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    static Stream<Arguments> malformed() {
        byte[] eight = new byte[8];
        byte[] absurd = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        byte[] beyond = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array();
        byte[] badUtf8 = fileBytes(new byte[]{'{', '"', (byte) 0xff, '"', ':', '1', '}'}, eight);
        return Stream.of(
                Arguments.of("short", new byte[5], "shorter than the 8-byte header length"),
                Arguments.of("absurd", absurd, "exceeds the limit"),
                Arguments.of("beyond", beyond, "runs past the end of the file"),
                Arguments.of("utf8", badUtf8, "not valid UTF-8"),
                Arguments.of("json", fileBytes("{\"a\":", eight), "not valid JSON"),
                Arguments.of("empty-header", fileBytes("", eight), "not a JSON object"),
                Arguments.of("array", fileBytes("[1]", eight), "not a JSON object"),
                Arguments.of("trailing-json", fileBytes("{" + A + "}{}", eight), "not valid JSON"),
                Arguments.of("entry", fileBytes("{\"a\":3}", eight), "tensor 'a' is not a JSON"),
                Arguments.of("no-dtype", fileBytes(
                        "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight), "no \"dtype\""),
                Arguments.of("no-shape", fileBytes(
                        "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight),
                        "no \"shape\""),
                Arguments.of("extra-field", fileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                        + "\"data_offsets\":[0,8],\"x\":1}}", eight), "unexpected field \"x\""),
                Arguments.of("dtype", fileBytes("{" + A.replace("F32", "F33") + "}", eight),
                        "unsupported dtype \"F33\""),
                Arguments.of("dtype-type", fileBytes("{" + A.replace("\"F32\"", "32") + "}", eight),
                        "unsupported dtype 32"),
                Arguments.of("shape", fileBytes("{" + A.replace("[2]", "[3]") + "}", eight),
                        "needs 12 bytes, but its data_offsets [0, 8] span 8"),
                Arguments.of("shape-negative", fileBytes("{" + A.replace("[2]", "[-2]") + "}",
                        eight), "shape [-2] is not an array of non-negative integers"),
                Arguments.of("shape-fraction", fileBytes("{" + A.replace("[2]", "[2.0]") + "}",
                        eight), "is not an array of non-negative integers"),
                Arguments.of("offsets-negative", fileBytes("{" + A.replace("[0,8]", "[-1,7]")
                        + "}", eight), "data_offsets [-1,7] is not an array"),
                Arguments.of("offsets-three", fileBytes("{" + A.replace("[0,8]", "[0,8,8]")
                        + "}", eight), "not [begin, end]"),
                Arguments.of("offsets-reversed", fileBytes("{" + A.replace("[0,8]", "[8,0]")
                        + "}", eight), "not [begin, end]"),
                Arguments.of("overlap", fileBytes("{" + A + "," + A.replace("\"a\"", "\"b\"")
                        .replace("[0,8]", "[4,12]") + "}", new byte[12]), "(overlap)"),
                Arguments.of("gap", fileBytes("{" + A + "," + A.replace("\"a\"", "\"b\"")
                        .replace("[0,8]", "[12,20]") + "}", new byte[20]), "(gap)"),
                Arguments.of("not-at-zero", fileBytes("{" + A.replace("[0,8]", "[4,12]") + "}",
                        new byte[12]), "begins at data offset 4"),
                Arguments.of("data-short", fileBytes("{" + A + "}", new byte[5]),
                        "need 8 data bytes, but the file holds only 5"),
                Arguments.of("trailing", fileBytes("{" + A + "}", new byte[11]),
                        "3 trailing bytes"),
                Arguments.of("duplicate", fileBytes("{" + A + "," + A + "}", new byte[16]),
                        "Duplicate"),
                Arguments.of("metadata-type", fileBytes("{\"__metadata__\":[]}", new byte[0]),
                        "\"__metadata__\" is not a JSON object"),
                Arguments.of("metadata-value", fileBytes("{\"__metadata__\":{\"k\":1}}",
                        new byte[0]), "metadata value of 'k' is not a string"),
                Arguments.of("metadata-null", fileBytes("{\"__metadata__\":{\"k\":null}}",
                        new byte[0]), "metadata value of 'k' is not a string"),
                Arguments.of("digest-format", fileBytes("{\"__metadata__\":{\"sha256.a\":\"AB\"},"
                        + A + "}", eight), "digest 'sha256.a' is not 64 lowercase hex digits"),
                Arguments.of("digest-no-header", fileBytes("{\"__metadata__\":{\"sha256.a\":\""
                        + "0".repeat(64) + "\"}," + A + "}", eight), "none for the header"),
                Arguments.of("digest-missing", fileBytes("{\"__metadata__\":{\"sha256.__header__"
                        + "\":\"" + "0".repeat(64) + "\"}," + A + "}", eight),
                        "none for tensor 'a'"),
                Arguments.of("digest-unknown", fileBytes("{\"__metadata__\":{\"sha256.__header__"
                        + "\":\"" + "0".repeat(64) + "\",\"sha256.a\":\"" + "0".repeat(64)
                        + "\",\"sha256.q\":\"" + "0".repeat(64) + "\"}," + A + "}", eight),
                        "digests for tensors that do not exist: [q]"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void rejectsMalformedFiles(String label, byte[] bytes, String problem) throws IOException {
        Path file = save(label + ".safetensors", bytes);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> Safetensors.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

    @Test
    void digestsCatchChangedDataAndChangedMetadata() throws IOException {
        Path file = dir.resolve("d.safetensors");
        Safetensors.write(file, Map.of("t", Tensor.ofDoubles(new long[]{3}, new double[]{1, 2, 3})),
                Map.of("epoch", "12"));
        byte[] original = Files.readAllBytes(file);

        byte[] data = original.clone();
        data[data.length - 1] ^= 1;
        Path corrupted = save("data.safetensors", data);
        assertTrue(assertThrows(CheckpointFormatException.class, () -> Safetensors.read(corrupted))
                .getMessage().contains("the data of tensor 't' do not match their SHA-256 digest"));

        String text = new String(original, StandardCharsets.ISO_8859_1).replace("\"12\"", "\"13\"");
        Path edited = save("meta.safetensors", text.getBytes(StandardCharsets.ISO_8859_1));
        assertTrue(assertThrows(CheckpointFormatException.class, () -> Safetensors.read(edited))
                .getMessage().contains("the header does not match its SHA-256 digest"));
    }

    @Test
    void writerRejectsReservedNamesAndKeys() {
        Path file = dir.resolve("x.safetensors");
        Tensor t = Tensor.ofInts(new long[]{1}, new int[]{1});
        assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(file, Map.of("__metadata__", t), Map.of()));
        assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(file, Map.of("__header__", t), Map.of()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(file, Map.of("t", t), Map.of("sha256.t", "0")));
        assertTrue(e.getMessage().contains("reserved"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void tensorFactoriesCheckShapesAndTypes() {
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.ofFloats(new long[]{2, 2}, new float[3]));
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.ofDoubles(new long[]{-1}, new double[0]));
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.ofBytes(DType.F16, new long[]{3}, new byte[5]));
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.elementCountOf(new long[]{1L << 32, 1L << 32}));
        Tensor t = Tensor.ofLongs(new long[]{2}, new long[]{1, 2});
        assertThrows(IllegalStateException.class, t::toDoubleArray);
        long[] shape = t.shape();
        shape[0] = 9;
        assertArrayEquals(new long[]{2}, t.shape());
        assertArrayEquals(new byte[]{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0},
                t.toByteArray());
    }
}
