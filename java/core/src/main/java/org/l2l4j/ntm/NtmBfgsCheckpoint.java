package org.l2l4j.ntm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.lstm.Preprocessing;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * A meta-trained NTM-BFGS optimizer: its architecture and phi, in a safetensors file with the
 * tensors of {@link NtmBfgsConfig#phiLayout()} in float64 (the precision it runs in) and the
 * metadata {@code l2l4j.format} = {@value #FORMAT}, {@code widths}, {@code gac_units} (both
 * comma-separated, one per layer), {@code write_heads},
 * {@code preprocessing}, {@code p}, {@code output_scale}, and the description's entries.
 *
 * @param config      the architecture
 * @param phi         phi, float64 [config.phiSize()]
 * @param description free-form metadata (how it was trained)
 */
public record NtmBfgsCheckpoint(NtmBfgsConfig config, double[] phi, Map<String, String> description) {
    /** The value of the format metadata entry. */
    public static final String FORMAT = "l2l4j-ntm-bfgs-v1";

    /**
     * @throws IllegalArgumentException if phi's length does not match the configuration or a
     *                                  value is not finite
     */
    public NtmBfgsCheckpoint {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(phi, "phi");
        description = Map.copyOf(Objects.requireNonNull(description, "description"));
        if (phi.length != config.phiSize()) {
            throw new IllegalArgumentException("phi has " + phi.length + " values, " + config + " has "
                    + config.phiSize());
        }
        phi = phi.clone();
        for (int i = 0; i < phi.length; i++) {
            if (!Double.isFinite(phi[i])) {
                throw new IllegalArgumentException("phi holds " + phi[i] + " at index " + i);
            }
        }
    }

    @Override
    public double[] phi() {
        return phi.clone();
    }

    /** Whether {@code file} is a safetensors file of this format (false for any other or unreadable file). */
    public static boolean isOne(Path file) {
        try {
            return FORMAT.equals(Safetensors.read(file).metadata().get(Safetensors.FORMAT_KEY));
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes the checkpoint atomically. */
    public void save(Path file) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (PhiLayout.Entry e : config.phiLayout()) {
            tensors.put(e.name(), Tensor.ofDoubles(Arrays.stream(e.shape()).asLongStream().toArray(),
                    Arrays.copyOfRange(phi, e.offset(), e.offset() + e.size())));
        }
        Map<String, String> meta = new LinkedHashMap<>(description);
        meta.put("widths", Arrays.toString(config.widths()).replaceAll("[\\[\\] ]", ""));
        meta.put("gac_units", Arrays.toString(config.gacUnits()).replaceAll("[\\[\\] ]", ""));
        meta.put("write_heads", Integer.toString(config.writeHeads()));
        meta.put("preprocessing", config.preprocessing().name());
        meta.put("p", Double.toString(config.p()));
        meta.put("output_scale", Double.toString(config.outputScale()));
        meta.put(Safetensors.FORMAT_KEY, FORMAT);
        Safetensors.write(file, tensors, meta);
    }

    /**
     * Reads and validates a checkpoint.
     *
     * @throws CheckpointFormatException if the file is corrupt, not of this format, or its
     *                                   tensors do not match its configuration or hold
     *                                   non-finite values
     */
    public static NtmBfgsCheckpoint load(Path file) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = new LinkedHashMap<>(f.metadata());
        String format = meta.get(Safetensors.FORMAT_KEY);
        if (!FORMAT.equals(format)) {
            throw new CheckpointFormatException(file, "not an NTM-BFGS checkpoint (metadata " + Safetensors.FORMAT_KEY
                    + " is " + format + ", expected " + FORMAT + ")");
        }
        NtmBfgsConfig config;
        try {
            config = new NtmBfgsConfig(counts(Safetensors.requireMetadata(file, meta, "widths")),
                    counts(Safetensors.requireMetadata(file, meta, "gac_units")),
                    Integer.parseInt(Safetensors.requireMetadata(file, meta, "write_heads")),
                    Preprocessing.valueOf(Safetensors.requireMetadata(file, meta, "preprocessing")),
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, "p")),
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, "output_scale")));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "invalid NTM-BFGS configuration in metadata: " + e.getMessage());
        }
        List<PhiLayout.Entry> layout = config.phiLayout();
        if (f.tensors().size() != layout.size()) {
            throw new CheckpointFormatException(file, "holds " + f.tensors().size() + " tensors, " + config + " has "
                    + layout.size());
        }
        double[] phi = new double[config.phiSize()];
        for (PhiLayout.Entry e : layout) {
            Tensor t = f.tensors().get(e.name());
            if (t == null) {
                throw new CheckpointFormatException(file, "tensor " + e.name() + " is missing");
            }
            long[] want = Arrays.stream(e.shape()).asLongStream().toArray();
            if (t.dtype() != DType.F64 || !Arrays.equals(t.shape(), want)) {
                throw new CheckpointFormatException(file, "tensor " + e.name() + " is " + t.dtype()
                        + Arrays.toString(t.shape()) + ", expected F64" + Arrays.toString(want));
            }
            double[] v = t.toDoubleArray();
            for (int i = 0; i < v.length; i++) {
                if (!Double.isFinite(v[i])) {
                    throw new CheckpointFormatException(file, "tensor " + e.name() + " holds a non-finite value at "
                            + i);
                }
            }
            System.arraycopy(v, 0, phi, e.offset(), v.length);
        }
        for (String key : List.of("widths", "gac_units", "write_heads", "preprocessing", "p", "output_scale",
                Safetensors.FORMAT_KEY)) {
            meta.remove(key);
        }
        return new NtmBfgsCheckpoint(config, phi, meta);
    }

    /** Comma-separated integers. */
    private static int[] counts(String v) {
        return Arrays.stream(v.split(",", -1)).mapToInt(Integer::parseInt).toArray();
    }
}
