package org.l2l4j.lstm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * A trained learned optimizer on disk: each parameter group's phi as float32 tensors named as
 * PyTorch's {@code nn.LSTM} ({@code lstm.weight_ih_l0}, ...) and {@code nn.Linear(H, 1)}
 * ({@code output.weight}, {@code output.bias}), so that a PyTorch model built from those two
 * modules loads them, and the architecture in the safetensors {@code __metadata__}, plus
 * free-form descriptive entries.  Two forms:
 *
 * <ul>
 *   <li><b>one group of every tensor</b> ({@link ParameterGroups#isSingle()}, the paper's
 *       optimizer): format {@value #FORMAT}, tensors named as above, the configuration in the
 *       keys {@code widths}, {@code preprocessing}, {@code p}, {@code output_scale},
 *       {@code log_epsilon} ({@link #configMetadata}; LSTM+GAC adds {@code gac_units}, and a
 *       PyTorch script must then write the averaging itself: {@code nn.LSTM} has none);</li>
 *   <li><b>several groups</b> (or one group of another name or rule; paper section 3.3): format
 *       {@value #FORMAT_GROUPED}, each group's tensors under its name as prefix
 *       ({@code conv.lstm.weight_ih_l0}, {@code fc.output.bias}, ...), so that each group loads on
 *       its own into {@code nn.LSTM} + {@code nn.Linear} after the prefix is stripped; the key
 *       {@code groups} lists the names in order, and each group has {@code NAME.rule} (its
 *       {@link TensorRule}) and its configuration's keys under the same prefix.</li>
 * </ul>
 *
 * @param groups      the parameter groups and their architectures
 * @param phi         every group's phi, concatenated (group 0 first, each in PyTorch order:
 *                    l2l.h), float32 [{@link ParameterGroups#phiSize()}]
 * @param description descriptive metadata (training set, epochs, validation loss, ...)
 */
public record OptimizerCheckpoint(ParameterGroups groups, float[] phi, Map<String, String> description) {
    /** The value of the {@code l2l4j.format} metadata key of a single-group checkpoint. */
    public static final String FORMAT = "l2l4j-learned-optimizer-v1";
    /** The value of the {@code l2l4j.format} metadata key of a checkpoint with parameter groups. */
    public static final String FORMAT_GROUPED = "l2l4j-learned-optimizer-v2";
    /** The metadata key listing the groups of a grouped checkpoint. */
    public static final String GROUPS_KEY = "groups";

    /**
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if phi's length is not the groups' phi size
     */
    public OptimizerCheckpoint {
        Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(phi, "phi");
        description = Map.copyOf(description);
        if (phi.length != groups.phiSize()) {
            throw new IllegalArgumentException("phi has " + phi.length + " values, the groups " + groups + " need "
                    + groups.phiSize());
        }
    }

    /** A single-group checkpoint: {@code config}'s optimizer for every tensor. */
    public OptimizerCheckpoint(LstmConfig config, float[] phi, Map<String, String> description) {
        this(ParameterGroups.single(Objects.requireNonNull(config, "config")), phi, description);
    }

    /**
     * This optimizer computing its gate products in {@code precision} (for example
     * {@link Precision#BF16_PRODUCTS} to run a float32-trained optimizer on bfloat16 units):
     * the same phi and description, every group's configuration in that precision.
     *
     * @throws NullPointerException if precision is null
     */
    public OptimizerCheckpoint withPrecision(Precision precision) {
        return new OptimizerCheckpoint(groups.withPrecision(precision), phi, description);
    }

    /**
     * The architecture of a checkpoint with one group.
     *
     * @throws IllegalStateException if it has several groups (see {@link #groups()})
     */
    public LstmConfig config() {
        if (groups.count() != 1) {
            throw new IllegalStateException("this learned optimizer has the parameter groups " + groups.names()
                    + ", each with its own configuration");
        }
        return groups.get(0).config();
    }

    /** Group g's phi (a copy), float32 [its phiSize]. */
    public float[] phi(int g) {
        int offset = groups.phiOffset(g);
        return Arrays.copyOfRange(phi, offset, offset + groups.get(g).config().phiLayout().size());
    }

    /** Writes the checkpoint atomically (a temporary file renamed into place). */
    public void save(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (int g = 0; g < groups.count(); g++) {
            int base = groups.phiOffset(g);
            for (PhiLayout.Entry e : groups.get(g).config().phiLayout().entries()) {
                long[] shape = Arrays.stream(e.shape()).asLongStream().toArray();
                tensors.put(tensorName(g, e), Tensor.ofFloats(shape,
                        Arrays.copyOfRange(phi, base + e.offset(), base + e.offset() + e.size())));
            }
        }
        Map<String, String> meta = new LinkedHashMap<>(description);
        meta.putAll(groupsMetadata(groups));
        meta.put(Safetensors.FORMAT_KEY, groups.isSingle() ? FORMAT : FORMAT_GROUPED);
        Safetensors.write(file, tensors, meta);
    }

    /** The name of a phi tensor of group g in the file: its layout name, prefixed by the group's unless single. */
    private String tensorName(int g, PhiLayout.Entry e) {
        return groups.isSingle() ? e.name() : groups.get(g).name() + "." + e.name();
    }

    /**
     * Reads and validates a checkpoint of either form.
     *
     * @throws CheckpointFormatException if the file is corrupt, is not a learned-optimizer
     *                                   checkpoint, or its tensors do not match its configuration
     */
    public static OptimizerCheckpoint load(Path file) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = f.metadata();
        String format = meta.get(Safetensors.FORMAT_KEY);
        if (!FORMAT.equals(format) && !FORMAT_GROUPED.equals(format)) {
            throw new CheckpointFormatException(file, "not a learned-optimizer checkpoint (metadata "
                    + Safetensors.FORMAT_KEY + " is " + format + ", expected " + FORMAT + " or " + FORMAT_GROUPED + ")");
        }
        if (FORMAT.equals(format) == meta.containsKey(GROUPS_KEY)) {
            throw new CheckpointFormatException(file, "format " + format + (FORMAT.equals(format) ? " has no"
                    : " needs a") + " metadata key '" + GROUPS_KEY + "'");
        }
        ParameterGroups groups = groupsFrom(file, meta);
        if (FORMAT_GROUPED.equals(format) && groups.isSingle()) {
            throw new CheckpointFormatException(file, "a single group of every tensor is written in format " + FORMAT);
        }
        int expected = groups.list().stream().mapToInt(g -> g.config().phiLayout().entries().size()).sum();
        if (f.tensors().size() != expected) {
            throw new CheckpointFormatException(file, "holds " + f.tensors().size() + " tensors, the groups "
                    + groups + " have " + expected);
        }
        float[] phi = new float[groups.phiSize()];
        OptimizerCheckpoint shape = new OptimizerCheckpoint(groups, phi, Map.of());
        for (int g = 0; g < groups.count(); g++) {
            int base = groups.phiOffset(g);
            for (PhiLayout.Entry e : groups.get(g).config().phiLayout().entries()) {
                String name = shape.tensorName(g, e);
                Tensor t = f.tensors().get(name);
                if (t == null) {
                    throw new CheckpointFormatException(file, "tensor " + name + " is missing");
                }
                long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
                if (t.dtype() != DType.F32 || !Arrays.equals(t.shape(), want)) {
                    throw new CheckpointFormatException(file, "tensor " + name + " is " + t.dtype()
                            + Arrays.toString(t.shape()) + ", expected F32" + Arrays.toString(want));
                }
                float[] v = t.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    if (!Float.isFinite(v[i])) {
                        throw new CheckpointFormatException(file, "tensor " + name + " holds a non-finite value at "
                                + i);
                    }
                }
                System.arraycopy(v, 0, phi, base + e.offset(), v.length);
            }
        }
        Map<String, String> description = new LinkedHashMap<>(meta);
        description.keySet().removeAll(groupsMetadata(groups).keySet());
        description.remove(Safetensors.FORMAT_KEY);
        return new OptimizerCheckpoint(groups, phi, description);
    }

    /** Where the shipped MNIST optimizer lies on the class path. */
    static final String SHIPPED_MNIST = "/org/l2l4j/pretrained/mnist-mlp.safetensors";
    /** Where the shipped CIFAR-10 optimizer lies on the class path. */
    static final String SHIPPED_CIFAR10 = "/org/l2l4j/pretrained/cifar10-convnet.safetensors";
    static final String SHIPPED_CIFAR_SUB = "/org/l2l4j/pretrained/cifar-sub-convnet.safetensors";

    /**
     * The MNIST optimizer shipped with the library: LSTM 20-20 meta-trained by this project's
     * {@code train} command on MLPs 784-20-10 (sigmoid) over 100 steps; its metadata describe
     * the run.
     *
     * @throws CheckpointFormatException if the resource is missing from the class path or corrupt
     */
    public static OptimizerCheckpoint shippedMnist() throws IOException {
        return shipped(SHIPPED_MNIST);
    }

    /**
     * The CIFAR-10 optimizer shipped with the library (paper section 3.3): two parameter groups,
     * {@code conv} (the convolution kernels) and {@code fc} (every other tensor), each an LSTM
     * 20-20 with its own phi, meta-trained by this project's {@code train --problem cifar10} on the
     * paper's convolutional network (three 5x5 convolutions of 16 channels with batch norm, a
     * fully connected layer of 32 units) over 100 steps; its metadata describe the run.
     *
     * @throws CheckpointFormatException if the resource is missing from the class path or corrupt
     */
    public static OptimizerCheckpoint shippedCifar10() throws IOException {
        return shipped(SHIPPED_CIFAR10);
    }

    /**
     * LSTM-sub, shipped with the library (paper section 3.3, Figure 6): the CIFAR-10 optimizer's
     * architecture (groups {@code conv} and {@code fc}) meta-trained by {@code train --problem
     * cifar10 --labels 5,6,7,8,9} on CIFAR-10's labels 5-9 only (dog, frog, horse, ship, truck),
     * so that CIFAR-5 and CIFAR-2 (labels 0-4 and 0-1) test it on classes it never saw; its
     * metadata describe the run (labels among them).
     *
     * @throws CheckpointFormatException if the resource is missing from the class path or corrupt
     */
    public static OptimizerCheckpoint shippedCifarSub() throws IOException {
        return shipped(SHIPPED_CIFAR_SUB);
    }

    private static OptimizerCheckpoint shipped(String resource) throws IOException {
        Path temporary = Files.createTempFile("l2l4j-shipped", ".safetensors");
        try (InputStream in = OptimizerCheckpoint.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new CheckpointFormatException(Path.of(resource), "not on the class path");
            }
            Files.copy(in, temporary, StandardCopyOption.REPLACE_EXISTING);
            return load(temporary);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * The architecture as safetensors metadata entries: for a single group of every tensor, its
     * configuration's entries ({@link #configMetadata}); otherwise {@code groups} (the names,
     * comma-separated) and, for each group, {@code NAME.rule} and its configuration's entries
     * prefixed by {@code NAME.}.
     */
    public static Map<String, String> groupsMetadata(ParameterGroups groups) {
        if (groups.isSingle()) {
            return configMetadata(groups.get(0).config());
        }
        Map<String, String> m = new LinkedHashMap<>();
        m.put(GROUPS_KEY, String.join(",", groups.names()));
        for (ParameterGroup g : groups.list()) {
            m.put(g.name() + ".rule", g.rule().toString());
            configMetadata(g.config()).forEach((k, v) -> m.put(g.name() + "." + k, v));
        }
        return m;
    }

    /**
     * The groups from the entries of {@link #groupsMetadata}.
     *
     * @param file the file they were read from, for messages
     * @throws CheckpointFormatException if an entry is missing or invalid
     */
    public static ParameterGroups groupsFrom(Path file, Map<String, String> meta) throws CheckpointFormatException {
        String listed = meta.get(GROUPS_KEY);
        if (listed == null) {
            return ParameterGroups.single(configFrom(file, meta));
        }
        List<ParameterGroup> groups = new ArrayList<>();
        try {
            for (String name : listed.split(",", -1)) {
                groups.add(new ParameterGroup(name, TensorRule.parse(Safetensors.requireMetadata(file, meta,
                        name + ".rule")), configFrom(file, meta, name + ".")));
            }
            return new ParameterGroups(groups);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "invalid parameter groups in metadata: " + e.getMessage());
        }
    }

    /**
     * The configuration as safetensors metadata entries: {@code widths} (comma-separated, empty
     * for none), {@code preprocessing}, {@code p}, {@code output_scale}, {@code log_epsilon},
     * {@code precision} when it is not float32 (the configuration loads in it; any phi runs in
     * either, see {@link #withPrecision}), and {@code gac_units} (comma-separated, one per layer)
     * when some layer has global averaging cells.
     */
    public static Map<String, String> configMetadata(LstmConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("widths", Arrays.toString(c.widths()).replaceAll("[\\[\\] ]", ""));
        m.put("preprocessing", c.preprocessing().name());
        m.put("p", Double.toString(c.p()));
        m.put("output_scale", Double.toString(c.outputScale()));
        m.put("log_epsilon", Boolean.toString(c.logEpsilon()));
        if (c.precision() != Precision.FLOAT32) {
            m.put("precision", c.precision().name());
        }
        if (c.averaging()) {
            m.put("gac_units", Arrays.toString(c.gacUnits()).replaceAll("[\\[\\] ]", ""));
        }
        return m;
    }

    /**
     * The configuration from the entries of {@link #configMetadata}.
     *
     * @param file the file they were read from, for messages
     * @throws CheckpointFormatException if an entry is missing or invalid
     */
    public static LstmConfig configFrom(Path file, Map<String, String> meta) throws CheckpointFormatException {
        return configFrom(file, meta, "");
    }

    /** {@link #configFrom(Path, Map)} from the entries whose keys start with {@code prefix}. */
    private static LstmConfig configFrom(Path file, Map<String, String> meta, String prefix)
            throws CheckpointFormatException {
        try {
            String w = Safetensors.requireMetadata(file, meta, prefix + "widths");
            int[] widths = counts(w);
            String gac = meta.get(prefix + "gac_units");
            return new LstmConfig(widths,
                    Preprocessing.valueOf(Safetensors.requireMetadata(file, meta, prefix + "preprocessing")),
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, prefix + "p")),
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, prefix + "output_scale")),
                    strictBoolean(Safetensors.requireMetadata(file, meta, prefix + "log_epsilon")),
                    precision(meta.getOrDefault(prefix + "precision", Precision.FLOAT32.name())),
                    gac == null ? new int[widths.length] : counts(gac));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "invalid configuration in metadata" + (prefix.isEmpty() ? ""
                    : " of group " + prefix.substring(0, prefix.length() - 1)) + ": " + e.getMessage());
        }
    }

    /** Comma-separated integers (none for the empty string). */
    private static int[] counts(String v) {
        return v.isEmpty() ? new int[0] : Arrays.stream(v.split(",", -1)).mapToInt(Integer::parseInt).toArray();
    }

    /** A {@link Precision}'s name, nothing else. */
    private static Precision precision(String v) {
        for (Precision p : Precision.values()) {
            if (p.name().equals(v)) {
                return p;
            }
        }
        throw new IllegalArgumentException("precision must be one of " + Arrays.toString(Precision.values()) + ", got '"
                + v + "'");
    }

    /** "true" or "false", nothing else: a corrupted flag must not read as false. */
    private static boolean strictBoolean(String v) {
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("log_epsilon must be true or false, got '" + v + "'");
        }
        return v.equals("true");
    }
}
