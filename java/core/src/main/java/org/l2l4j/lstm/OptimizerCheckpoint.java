package org.l2l4j.lstm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * A trained learned optimizer on disk: phi as float32 tensors named as PyTorch's
 * {@code nn.LSTM} ({@code lstm.weight_ih_l0}, ...) and {@code nn.Linear(H, 1)}
 * ({@code output.weight}, {@code output.bias}), so that a PyTorch model built from those two
 * modules loads them; the configuration in the safetensors {@code __metadata__} (keys
 * {@code l2l4j.format}, {@code widths}, {@code preprocessing}, {@code p}, {@code output_scale},
 * {@code log_epsilon}), plus free-form descriptive entries.
 *
 * @param config      the architecture
 * @param phi         phi in PyTorch order (l2l.h), float32
 * @param description descriptive metadata (training set, epochs, validation loss, ...)
 */
public record OptimizerCheckpoint(LstmConfig config, float[] phi, Map<String, String> description) {
    /** The value of the {@code l2l4j.format} metadata key. */
    public static final String FORMAT = "l2l4j-learned-optimizer-v1";

    public OptimizerCheckpoint {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(phi, "phi");
        description = Map.copyOf(description);
        if (phi.length != config.phiLayout().size()) {
            throw new IllegalArgumentException("phi has " + phi.length + " values, " + config + " needs "
                    + config.phiLayout().size());
        }
    }

    /** Writes the checkpoint atomically (a temporary file renamed into place). */
    public void save(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (PhiLayout.Entry e : config.phiLayout().entries()) {
            long[] shape = Arrays.stream(e.shape()).asLongStream().toArray();
            tensors.put(e.name(), Tensor.ofFloats(shape, Arrays.copyOfRange(phi, e.offset(), e.offset() + e.size())));
        }
        Map<String, String> meta = new LinkedHashMap<>(description);
        meta.putAll(configMetadata(config));
        meta.put(Safetensors.FORMAT_KEY, FORMAT);
        Safetensors.write(file, tensors, meta);
    }

    /**
     * Reads and validates a checkpoint.
     *
     * @throws CheckpointFormatException if the file is corrupt, is not a learned-optimizer
     *                                   checkpoint, or its tensors do not match its configuration
     */
    public static OptimizerCheckpoint load(Path file) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = f.metadata();
        if (!FORMAT.equals(meta.get(Safetensors.FORMAT_KEY))) {
            throw new CheckpointFormatException(file, "not a learned-optimizer checkpoint (metadata "
                    + Safetensors.FORMAT_KEY + " is " + meta.get(Safetensors.FORMAT_KEY) + ", expected " + FORMAT + ")");
        }
        LstmConfig config = configFrom(file, meta);
        PhiLayout layout = config.phiLayout();
        if (f.tensors().size() != layout.entries().size()) {
            throw new CheckpointFormatException(file, "holds " + f.tensors().size() + " tensors, " + config
                    + " has " + layout.entries().size());
        }
        float[] phi = new float[layout.size()];
        for (PhiLayout.Entry e : layout.entries()) {
            Tensor t = f.tensors().get(e.name());
            if (t == null) {
                throw new CheckpointFormatException(file, "tensor " + e.name() + " is missing");
            }
            long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
            if (t.dtype() != DType.F32 || !Arrays.equals(t.shape(), want)) {
                throw new CheckpointFormatException(file, "tensor " + e.name() + " is " + t.dtype()
                        + Arrays.toString(t.shape()) + ", expected F32" + Arrays.toString(want));
            }
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i])) {
                    throw new CheckpointFormatException(file, "tensor " + e.name() + " holds a non-finite value at "
                            + i);
                }
            }
            System.arraycopy(v, 0, phi, e.offset(), v.length);
        }
        Map<String, String> description = new LinkedHashMap<>(meta);
        description.keySet().removeAll(configMetadata(config).keySet());
        description.remove(Safetensors.FORMAT_KEY);
        return new OptimizerCheckpoint(config, phi, description);
    }

    /** Where the shipped MNIST optimizer lies on the class path. */
    static final String SHIPPED_MNIST = "/org/l2l4j/pretrained/mnist-mlp.safetensors";

    /**
     * The MNIST optimizer shipped with the library: LSTM 20-20 meta-trained by this project's
     * {@code train} command on MLPs 784-20-10 (sigmoid) over 100 steps; its metadata describe
     * the run.
     *
     * @throws CheckpointFormatException if the resource is missing from the class path or corrupt
     */
    public static OptimizerCheckpoint shippedMnist() throws IOException {
        Path temporary = Files.createTempFile("l2l4j-mnist", ".safetensors");
        try (InputStream in = OptimizerCheckpoint.class.getResourceAsStream(SHIPPED_MNIST)) {
            if (in == null) {
                throw new CheckpointFormatException(Path.of(SHIPPED_MNIST), "not on the class path");
            }
            Files.copy(in, temporary, StandardCopyOption.REPLACE_EXISTING);
            return load(temporary);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * The configuration as safetensors metadata entries: {@code widths} (comma-separated, empty
     * for none), {@code preprocessing}, {@code p}, {@code output_scale}, {@code log_epsilon}.
     */
    public static Map<String, String> configMetadata(LstmConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("widths", Arrays.toString(c.widths()).replaceAll("[\\[\\] ]", ""));
        m.put("preprocessing", c.preprocessing().name());
        m.put("p", Double.toString(c.p()));
        m.put("output_scale", Double.toString(c.outputScale()));
        m.put("log_epsilon", Boolean.toString(c.logEpsilon()));
        return m;
    }

    /**
     * The configuration from the entries of {@link #configMetadata}.
     *
     * @param file the file they were read from, for messages
     * @throws CheckpointFormatException if an entry is missing or invalid
     */
    public static LstmConfig configFrom(Path file, Map<String, String> meta) throws CheckpointFormatException {
        try {
            String w = Safetensors.requireMetadata(file, meta, "widths");
            int[] widths = w.isEmpty() ? new int[0] : Arrays.stream(w.split(",", -1)).mapToInt(Integer::parseInt).toArray();
            return new LstmConfig(widths, Preprocessing.valueOf(Safetensors.requireMetadata(file, meta, "preprocessing")),
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, "p")), Double.parseDouble(Safetensors.requireMetadata(file, meta, "output_scale")),
                    strictBoolean(Safetensors.requireMetadata(file, meta, "log_epsilon")));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "invalid configuration in metadata: " + e.getMessage());
        }
    }

    /** "true" or "false", nothing else: a corrupted flag must not read as false. */
    private static boolean strictBoolean(String v) {
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("log_epsilon must be true or false, got '" + v + "'");
        }
        return v.equals("true");
    }
}
