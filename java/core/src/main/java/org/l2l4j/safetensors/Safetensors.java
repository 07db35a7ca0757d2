package org.l2l4j.safetensors;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reads and writes the safetensors format (https://github.com/huggingface/safetensors).
 *
 * <p>Layout: an 8-byte little-endian unsigned header length {@code N}; {@code N} bytes of UTF-8
 * JSON, beginning with <code>{</code> and possibly padded at the end with spaces; then the data
 * section. The JSON object maps each tensor name to
 * <code>{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}</code>, offsets in bytes
 * relative to the start of the data section, and may hold a {@code "__metadata__"} object of
 * string values. Tensor data are little-endian, row-major; the tensors' byte ranges are
 * contiguous, do not overlap and cover the data section exactly.
 *
 * <p><b>Integrity.</b> The writer adds to {@code __metadata__}, for every tensor {@code name}, an
 * entry {@code "sha256.<name>"}: the lowercase hex SHA-256 of the tensor's data bytes; and an
 * entry {@value #HEADER_DIGEST_KEY}: the hex SHA-256 of the header's compact JSON serialization
 * (no whitespace, keys in file order, this one entry left out). The reader checks every digest a
 * file carries, so that a changed byte anywhere in the data or in the parsed header is detected.
 * Digests are all or nothing: a file with any {@code sha256.*} entry must have one for every
 * tensor and one for the header. Files without digests (such as PyTorch's) are read unchecked.
 */
public final class Safetensors {

    private static final String METADATA_KEY = "__metadata__";
    private static final String HEADER_NAME = "__header__";

    /** Prefix of the metadata keys that hold digests; reserved, not allowed in user metadata. */
    public static final String DIGEST_PREFIX = "sha256.";

    /** Metadata key of the header's digest. */
    public static final String HEADER_DIGEST_KEY = DIGEST_PREFIX + HEADER_NAME;

    /**
     * Metadata key naming what an L2L4J file holds (a learned optimizer, an optimizer state, a
     * meta-training state), so that a reader rejects a file of another kind by name.
     */
    public static final String FORMAT_KEY = "l2l4j.format";

    /** Largest header the reader accepts, in bytes. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");
    private static final int ALIGNMENT = 8;
    private static final HexFormat HEX = HexFormat.of();
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Safetensors() {
    }

    /**
     * Writes tensors and metadata to {@code file} atomically: the bytes go to a temporary file in
     * the same folder, which is flushed to disk and then renamed over {@code file}, so that an
     * interrupted write leaves any existing file intact. Tensors are laid out in the map's
     * iteration order; the header is padded with spaces to a multiple of 8 bytes.
     *
     * @param file     target path; its folder must exist
     * @param tensors  tensors by name (any name but the reserved {@code "__metadata__"} and
     *                 {@code "__header__"})
     * @param metadata string entries for {@code __metadata__}; keys must not start with
     *                 {@value #DIGEST_PREFIX}, which the writer adds itself
     * @throws IllegalArgumentException if a name, key or value is invalid
     * @throws IOException              if writing or renaming fails
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject(METADATA_KEY);
        metadata.forEach((key, value) -> {
            Objects.requireNonNull(key, "metadata key");
            Objects.requireNonNull(value, () -> "metadata value of '" + key + "'");
            if (key.startsWith(DIGEST_PREFIX)) {
                throw new IllegalArgumentException("metadata key '" + key + "' uses the reserved "
                        + "prefix '" + DIGEST_PREFIX + "'");
            }
            meta.put(key, value);
        });
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = Objects.requireNonNull(e.getKey(), "tensor name");
            Tensor t = Objects.requireNonNull(e.getValue(), () -> "tensor '" + name + "'");
            if (name.equals(METADATA_KEY) || name.equals(HEADER_NAME)) {
                throw new IllegalArgumentException("'" + name + "' is reserved, not a tensor name");
            }
            meta.put(DIGEST_PREFIX + name, sha256(t.buffer()));
            ObjectNode info = header.putObject(name);
            info.put("dtype", t.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (long dim : t.shape()) {
                shape.add(dim);
            }
            info.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        meta.put(HEADER_DIGEST_KEY, sha256(ByteBuffer.wrap(JSON.writeValueAsBytes(header))));
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(padded).put(json);
        while (prefix.hasRemaining()) {
            prefix.put((byte) ' ');
        }
        prefix.flip();
        List<ByteBuffer> parts = new ArrayList<>();
        parts.add(prefix);
        tensors.values().forEach(t -> parts.add(t.buffer()));
        AtomicFile.write(file.toAbsolutePath(), out -> {
            for (ByteBuffer part : parts) {
                while (part.hasRemaining()) {
                    out.write(part);
                }
            }
        });
    }

    /**
     * The metadata entry {@code key} of a file's metadata.
     *
     * @param file     the file they were read from, for the message
     * @param metadata its metadata ({@link SafetensorsFile#metadata()})
     * @throws CheckpointFormatException if the entry is missing
     */
    public static String requireMetadata(Path file, Map<String, String> metadata, String key)
            throws CheckpointFormatException {
        String v = metadata.get(key);
        if (v == null) {
            throw new CheckpointFormatException(file, "metadata " + key + " is missing");
        }
        return v;
    }

    /**
     * Reads a safetensors file completely and checks it: its layout, every tensor's type, shape
     * and byte range, and the integrity digests when the file has them.
     *
     * @return the tensors and metadata, in header order
     * @throws CheckpointFormatException if the file is not well-formed (too short, a header
     *                                   length past the end of the file or above
     *                                   {@value #MAX_HEADER_BYTES} bytes, invalid UTF-8 or JSON,
     *                                   a duplicate name, a missing, unsupported or malformed
     *                                   field, a size that does not match the shape, byte ranges
     *                                   with gaps or overlaps, trailing bytes, metadata values that
     *                                   are not strings, a tensor larger than
     *                                   {@link Tensor#MAX_BYTES}) or a digest does not match
     * @throws IOException               if the file cannot be read
     */
    public static SafetensorsFile read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (Files.isDirectory(file)) {
            throw new IOException(file + " is a folder, not a safetensors file");
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            if (size < 8) {
                throw new CheckpointFormatException(file, "file is " + size
                        + " bytes long, shorter than the 8-byte header length");
            }
            long headerLength = readFully(file, in, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (Long.compareUnsigned(headerLength, MAX_HEADER_BYTES) > 0) {
                throw new CheckpointFormatException(file, "not a safetensors file: its header length "
                        + Long.toUnsignedString(headerLength) + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw new CheckpointFormatException(file, "header length " + headerLength
                        + " runs past the end of the file (" + size + " bytes)");
            }
            byte[] headerBytes = readFully(file, in, 8, (int) headerLength).array();
            ObjectNode header = parseJson(file, headerBytes);
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = parseEntries(file, header, metadata);
            long dataStart = 8 + headerLength;
            checkLayout(file, entries, size - dataStart);
            Map<String, String> digests = takeDigests(file, entries, metadata);
            if (!digests.isEmpty()) {
                ((ObjectNode) header.get(METADATA_KEY)).remove(HEADER_DIGEST_KEY);
                String actual = sha256(ByteBuffer.wrap(JSON.writeValueAsBytes(header)));
                if (!actual.equals(digests.get(HEADER_DIGEST_KEY))) {
                    throw new CheckpointFormatException(file, "the header does not match its "
                            + "SHA-256 digest: it was modified");
                }
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) {
                ByteBuffer data = readFully(file, in, dataStart + e.begin, (int) (e.end - e.begin));
                if (!digests.isEmpty() && !sha256(data).equals(digests.get(e.name))) {
                    throw new CheckpointFormatException(file, "the data of tensor '" + e.name
                            + "' do not match their SHA-256 digest: they are corrupted");
                }
                tensors.put(e.name, new Tensor(e.dtype, e.shape, data.array()));
            }
            return new SafetensorsFile(tensors, metadata, !digests.isEmpty());
        }
    }

    /** One tensor's header entry; {@code begin} and {@code end} relative to the data section. */
    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    }

    private static ObjectNode parseJson(Path file, byte[] bytes) throws CheckpointFormatException {
        if (bytes.length == 0 || bytes[0] != '{') {
            throw new CheckpointFormatException(file, "the header is not a JSON object (it does "
                    + "not begin with '{')");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointFormatException(file, "the header is not valid UTF-8", e);
        }
        try {
            return (ObjectNode) JSON.readTree(text);
        } catch (JacksonException e) {
            throw new CheckpointFormatException(file, "the header is not valid JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** Parses the tensor entries in header order and fills {@code metadata}. */
    private static List<Entry> parseEntries(Path file, ObjectNode header,
                                            Map<String, String> metadata)
            throws CheckpointFormatException {
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!node.isObject()) {
                    throw new CheckpointFormatException(file, "\"" + METADATA_KEY
                            + "\" is not a JSON object");
                }
                for (Map.Entry<String, JsonNode> m : node.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new CheckpointFormatException(file, "metadata value of '"
                                + m.getKey() + "' is not a string");
                    }
                    metadata.put(m.getKey(), m.getValue().textValue());
                }
            } else {
                entries.add(parseEntry(file, name, node));
            }
        }
        return entries;
    }

    private static Entry parseEntry(Path file, String name, JsonNode node)
            throws CheckpointFormatException {
        String what = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new CheckpointFormatException(file, what + " is not a JSON object");
        }
        for (String field : TENSOR_FIELDS) {
            if (!node.has(field)) {
                throw new CheckpointFormatException(file, what + " has no \"" + field + "\"");
            }
        }
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            if (!TENSOR_FIELDS.contains(f.getKey())) {
                throw new CheckpointFormatException(file, what + " has an unexpected field \""
                        + f.getKey() + "\"");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        DType dtype = Arrays.stream(DType.values())
                .filter(d -> dtypeNode.isTextual() && d.name().equals(dtypeNode.textValue()))
                .findFirst()
                .orElseThrow(() -> new CheckpointFormatException(file, what
                        + " has an unsupported dtype " + dtypeNode));
        long[] shape = longs(file, what + " shape", node.get("shape"));
        long[] offsets = longs(file, what + " data_offsets", node.get("data_offsets"));
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw new CheckpointFormatException(file, what + " has data_offsets "
                    + Arrays.toString(offsets) + ", not [begin, end] with begin <= end");
        }
        long bytes = offsets[1] - offsets[0];
        long needed;
        try {
            needed = Tensor.byteSizeOf(dtype, shape);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, what + ": " + e.getMessage(), e);
        }
        if (needed != bytes) {
            throw new CheckpointFormatException(file, what + " of " + dtype + " and shape "
                    + Arrays.toString(shape) + " needs " + needed + " bytes, but its data_offsets "
                    + Arrays.toString(offsets) + " span " + bytes);
        }
        if (bytes > Tensor.MAX_BYTES) {
            throw new CheckpointFormatException(file, what + " has " + bytes + " bytes, more "
                    + "than the reader's limit of " + Tensor.MAX_BYTES);
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** A JSON array of non-negative integers that fit a long. */
    private static long[] longs(Path file, String what, JsonNode node)
            throws CheckpointFormatException {
        if (node.isArray()) {
            long[] values = new long[node.size()];
            int i = 0;
            for (JsonNode v : node) {
                if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                    break;
                }
                values[i++] = v.longValue();
            }
            if (i == values.length) {
                return values;
            }
        }
        throw new CheckpointFormatException(file, what + " " + node
                + " is not an array of non-negative integers");
    }

    /** Checks that the byte ranges tile the data section exactly. */
    private static void checkLayout(Path file, List<Entry> entries, long dataLength)
            throws CheckpointFormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : sorted) {
            if (e.begin != expected) {
                throw new CheckpointFormatException(file, "tensor '" + e.name + "' begins at data "
                        + "offset " + e.begin + ", but the previous tensor ends at " + expected
                        + (e.begin < expected ? " (overlap)" : " (gap)"));
            }
            expected = e.end;
        }
        if (expected > dataLength) {
            throw new CheckpointFormatException(file, "the tensors need " + expected
                    + " data bytes, but the file holds only " + dataLength);
        }
        if (expected < dataLength) {
            throw new CheckpointFormatException(file, (dataLength - expected)
                    + " trailing bytes after the last tensor");
        }
    }

    /**
     * Removes the digest entries from {@code metadata} and returns them, checked to be complete
     * (one per tensor and the header's, or none at all) and well-formed.
     */
    private static Map<String, String> takeDigests(Path file, List<Entry> entries,
                                                   Map<String, String> metadata)
            throws CheckpointFormatException {
        Map<String, String> digests = new LinkedHashMap<>();
        for (var it = metadata.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, String> m = it.next();
            if (m.getKey().startsWith(DIGEST_PREFIX)) {
                if (!m.getValue().matches("[0-9a-f]{64}")) {
                    throw new CheckpointFormatException(file, "digest '" + m.getKey()
                            + "' is not 64 lowercase hex digits");
                }
                String key = m.getKey().equals(HEADER_DIGEST_KEY)
                        ? HEADER_DIGEST_KEY : m.getKey().substring(DIGEST_PREFIX.length());
                digests.put(key, m.getValue());
                it.remove();
            }
        }
        if (digests.isEmpty()) {
            return digests;
        }
        if (!digests.containsKey(HEADER_DIGEST_KEY)) {
            throw new CheckpointFormatException(file, "the file has SHA-256 digests but none for "
                    + "the header ('" + HEADER_DIGEST_KEY + "')");
        }
        for (Entry e : entries) {
            if (!digests.containsKey(e.name)) {
                throw new CheckpointFormatException(file, "the file has SHA-256 digests but none "
                        + "for tensor '" + e.name + "'");
            }
        }
        if (digests.size() != entries.size() + 1) {
            Set<String> names = new HashSet<>(digests.keySet());
            names.remove(HEADER_DIGEST_KEY);
            entries.forEach(e -> names.remove(e.name));
            throw new CheckpointFormatException(file, "SHA-256 digests for tensors that do not "
                    + "exist: " + names);
        }
        return digests;
    }

    private static ByteBuffer readFully(Path file, FileChannel in, long position, int length)
            throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (in.read(buffer, position + buffer.position()) < 0) {
                throw new EOFException(file + ": the file ended while reading " + length
                        + " bytes at offset " + position);
            }
        }
        return buffer.flip();
    }

    /** Lowercase hex SHA-256 of the buffer's remaining bytes (the buffer is not consumed). */
    static String sha256(ByteBuffer bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(bytes.duplicate());
            return HEX.formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }
}
