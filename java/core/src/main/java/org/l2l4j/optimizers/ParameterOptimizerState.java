package org.l2l4j.optimizers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * The whole state of a {@code ParameterOptimizer} on disk, to stop a training loop and resume it
 * bit for bit (the counterpart of PyTorch's optimizer {@code state_dict}): which optimizer wrote
 * it, its step count, the registered tensors' names and sizes in registration order, its
 * settings and its state tensors.  A safetensors file with SHA-256 digests ({@link Safetensors}),
 * written atomically; metadata keys {@code l2l4j.format} = {@value #FORMAT}, {@code optimizer},
 * {@code steps}, {@code tensors} (a JSON list of <code>{"name": ..., "size": ...}</code>), then
 * the settings.
 *
 * @param optimizer which optimizer wrote it ({@code "LSTM"}, or a hand-designed rule's name)
 * @param steps     steps taken, 0 to {@link #MAX_STEPS}
 * @param tensors   the registered tensors in registration order (unmodifiable)
 * @param settings  the optimizer's settings as string entries (architecture, learning rate),
 *                  in insertion order (unmodifiable)
 * @param values    state tensors by name, in insertion order (unmodifiable)
 */
public record ParameterOptimizerState(String optimizer, long steps, List<Registered> tensors,
                                      Map<String, String> settings, Map<String, Tensor> values) {
    /** The value of the {@code l2l4j.format} metadata key. */
    public static final String FORMAT = "l2l4j-optimizer-state-v1";
    /**
     * The largest step count, 2^53: every count up to it is exact as a double (the bias
     * corrections of Adam, Kingma and Ba 2015, alg. 1, use beta^t), and a step count can be
     * incremented without overflow.
     */
    public static final long MAX_STEPS = 1L << 53;
    private static final String OPTIMIZER_KEY = "optimizer";
    private static final String STEPS_KEY = "steps";
    private static final String TENSORS_KEY = "tensors";
    private static final Set<String> RESERVED = Set.of(Safetensors.FORMAT_KEY, OPTIMIZER_KEY, STEPS_KEY,
            TENSORS_KEY);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One registered tensor.
     *
     * @param name its name, as registered
     * @param size its number of values (coordinates), at least 1
     */
    public record Registered(String name, long size) {
        /** @throws IllegalArgumentException if name is null or empty, or size < 1 */
        public Registered {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("a registered tensor needs a non-empty name");
            }
            if (size < 1) {
                throw new IllegalArgumentException("tensor '" + name + "' has size " + size + ", expected >= 1");
            }
        }

        @Override
        public String toString() {
            return name + "[" + size + "]";
        }
    }

    /**
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if steps is negative or above {@link #MAX_STEPS}, or a
     *                                  settings key is reserved
     *                                  ({@code l2l4j.format}, {@code optimizer}, {@code steps},
     *                                  {@code tensors})
     */
    public ParameterOptimizerState {
        Objects.requireNonNull(optimizer, "optimizer");
        if (steps < 0 || steps > MAX_STEPS) {
            throw new IllegalArgumentException("steps must be in [0, 2^53], got " + steps);
        }
        tensors = List.copyOf(tensors);
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        for (String key : settings.keySet()) {
            if (RESERVED.contains(key)) {
                throw new IllegalArgumentException("settings key '" + key + "' is reserved");
            }
        }
    }

    /** Writes the state atomically (a temporary file renamed into place). */
    public void save(Path file) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(Safetensors.FORMAT_KEY, FORMAT);
        meta.put(OPTIMIZER_KEY, optimizer);
        meta.put(STEPS_KEY, Long.toString(steps));
        meta.put(TENSORS_KEY, JSON.writeValueAsString(tensors));
        meta.putAll(settings);
        Safetensors.write(file, values, meta);
    }

    /**
     * Reads a state file.
     *
     * @throws CheckpointFormatException if the file is corrupt (a digest does not match), is not an
     *                                   optimizer state, or its metadata are invalid (a step count
     *                                   outside [0, {@link #MAX_STEPS}], ...)
     * @throws IOException               if the file cannot be read (the message names it)
     */
    public static ParameterOptimizerState load(Path file) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = new LinkedHashMap<>(f.metadata());
        if (!FORMAT.equals(meta.get(Safetensors.FORMAT_KEY))) {
            throw new CheckpointFormatException(file, "not an optimizer state (metadata " + Safetensors.FORMAT_KEY
                    + " is " + meta.get(Safetensors.FORMAT_KEY) + ", expected " + FORMAT + ")");
        }
        try {
            String optimizer = Objects.requireNonNull(meta.get(OPTIMIZER_KEY), "metadata optimizer is missing");
            long steps = Long.parseLong(Objects.requireNonNull(meta.get(STEPS_KEY), "metadata steps is missing"));
            List<Registered> tensors = JSON.readValue(Objects.requireNonNull(meta.get(TENSORS_KEY),
                    "metadata tensors is missing"), new TypeReference<List<Registered>>() { });
            meta.keySet().removeAll(RESERVED);
            return new ParameterOptimizerState(optimizer, steps, tensors, meta, f.tensors());
        } catch (NullPointerException | IllegalArgumentException | JsonProcessingException e) {
            throw new CheckpointFormatException(file, "invalid optimizer-state metadata: " + e.getMessage(), e);
        }
    }

    /**
     * The state tensor {@code name}, checked against the type and shape the reader expects.
     *
     * @param file the file the state was read from, for messages
     * @throws CheckpointFormatException if the tensor is missing or has another type or shape
     */
    public Tensor value(Path file, String name, DType dtype, long... shape) throws CheckpointFormatException {
        Tensor t = values.get(name);
        if (t == null) {
            throw new CheckpointFormatException(file, "state tensor '" + name + "' is missing");
        }
        if (t.dtype() != dtype || !Arrays.equals(t.shape(), shape)) {
            throw new CheckpointFormatException(file, "state tensor '" + name + "' is " + t.dtype()
                    + Arrays.toString(t.shape()) + ", expected " + dtype + Arrays.toString(shape));
        }
        return t;
    }

    /**
     * The float32 state tensor {@code name}, checked as by {@link #value}, with every value
     * finite.
     *
     * @param file the file the state was read from, for messages
     * @throws CheckpointFormatException if the tensor is missing, has another type or shape, or
     *                                   holds NaN or an infinite value (the message names the
     *                                   tensor and index)
     */
    public float[] finiteFloats(Path file, String name, long... shape) throws CheckpointFormatException {
        float[] v = value(file, name, DType.F32, shape).toFloatArray();
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new CheckpointFormatException(file, "state tensor '" + name + "' holds " + v[i] + " at index "
                        + i + ", expected a finite value");
            }
        }
        return v;
    }

    /**
     * The float64 state tensor {@code name}, checked as by {@link #value}, with every value
     * finite and at least {@code min}.
     *
     * @param file the file the state was read from, for messages
     * @param min  the smallest valid value ({@code Double.NEGATIVE_INFINITY} for any finite one)
     * @throws CheckpointFormatException if the tensor is missing, has another type or shape, or
     *                                   holds NaN, an infinite value or one below {@code min}
     *                                   (the message names the tensor and index)
     */
    public double[] finiteDoubles(Path file, String name, double min, long... shape)
            throws CheckpointFormatException {
        double[] v = value(file, name, DType.F64, shape).toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i]) || v[i] < min) {
                throw new CheckpointFormatException(file, "state tensor '" + name + "' holds " + v[i] + " at index "
                        + i + ", expected a finite value" + (min > Double.NEGATIVE_INFINITY ? " >= " + min : ""));
            }
        }
        return v;
    }
}
