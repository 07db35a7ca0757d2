package org.l2l4j.meta;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.DType;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * A meta-training run on disk, to stop and resume it exactly: phi, Adam's moments and the best
 * phi as float64 tensors ({@code phi}, {@code adam.first_moment}, {@code adam.second_moment},
 * {@code best_phi}, and the candidates kept for confirmation, {@code candidate.EPOCH}), the counters,
 * the validation history and the candidates' losses (JSON) and the architecture in the metadata
 * (the parameter groups as {@link OptimizerCheckpoint#groupsMetadata} writes them; phi is every
 * group's, concatenated).
 * Written atomically.
 */
public final class TrainingCheckpoint {
    /** The value of the {@code l2l4j.format} metadata key. */
    public static final String FORMAT = "l2l4j-meta-training-v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Name prefix of a candidate's tensor, followed by its epoch. */
    private static final String CANDIDATE = "candidate.";

    private TrainingCheckpoint() {
    }

    /** Writes {@code state} of a run of {@code groups}, with descriptive {@code extra} metadata. */
    public static void save(Path file, ParameterGroups groups, TrainingState state, Map<String, String> extra)
            throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        long[] shape = {state.phi().length};
        t.put("phi", Tensor.ofDoubles(shape, state.phi()));
        t.put("adam.first_moment", Tensor.ofDoubles(shape, state.adamFirst()));
        t.put("adam.second_moment", Tensor.ofDoubles(shape, state.adamSecond()));
        if (state.bestPhi() != null) {
            t.put("best_phi", Tensor.ofDoubles(shape, state.bestPhi()));
        }
        List<Map<String, Object>> candidates = new ArrayList<>();
        for (TrainingState.Candidate c : state.candidates()) {
            t.put(CANDIDATE + c.epoch(), Tensor.ofDoubles(shape, c.phi()));
            candidates.add(Map.of("epoch", c.epoch(), "validationLoss", c.validationLoss()));
        }
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.putAll(OptimizerCheckpoint.groupsMetadata(groups));
        meta.put("epochs", Integer.toString(state.epochs()));
        meta.put("adam_step", Long.toString(state.adamStep()));
        meta.put("best_validation", Double.toString(state.bestValidation()));
        meta.put("best_epoch", Integer.toString(state.bestEpoch()));
        meta.put("skipped_updates", Long.toString(state.skippedUpdates()));
        meta.put("history", JSON.writeValueAsString(state.history()));
        meta.put("candidates", JSON.writeValueAsString(candidates));
        meta.put(Safetensors.FORMAT_KEY, FORMAT);
        Safetensors.write(file, t, meta);
    }

    /** A saved run: its architecture, state and descriptive metadata. */
    public record Saved(ParameterGroups groups, TrainingState state, Map<String, String> metadata) {
    }

    /**
     * Reads a saved run.
     *
     * @throws CheckpointFormatException if the file is corrupt, is not a meta-training checkpoint,
     *                                   or holds a state that breaks {@link TrainingState}'s
     *                                   invariants (missing or malformed counters or history,
     *                                   NaN or infinite vectors, negative counters, ...)
     * @throws IOException               if the file cannot be read
     */
    public static Saved load(Path file) throws IOException {
        SafetensorsFile f = Safetensors.read(file);
        Map<String, String> meta = f.metadata();
        if (!FORMAT.equals(meta.get(Safetensors.FORMAT_KEY))) {
            throw new CheckpointFormatException(file, "not a meta-training checkpoint (metadata "
                    + Safetensors.FORMAT_KEY + " is " + meta.get(Safetensors.FORMAT_KEY) + ")");
        }
        ParameterGroups groups = OptimizerCheckpoint.groupsFrom(file, meta);
        int size = groups.phiSize();
        try {
            TrainingState s = new TrainingState(Integer.parseInt(Safetensors.requireMetadata(file, meta, "epochs")),
                    vector(file, f, "phi", size), vector(file, f, "adam.first_moment", size),
                    vector(file, f, "adam.second_moment", size), Long.parseLong(Safetensors.requireMetadata(file, meta, "adam_step")),
                    f.tensors().containsKey("best_phi") ? vector(file, f, "best_phi", size) : null,
                    Double.parseDouble(Safetensors.requireMetadata(file, meta, "best_validation")),
                    Integer.parseInt(Safetensors.requireMetadata(file, meta, "best_epoch")),
                    Long.parseLong(Safetensors.requireMetadata(file, meta, "skipped_updates")),
                    JSON.readValue(Safetensors.requireMetadata(file, meta, "history"), new TypeReference<List<TrainingState.Validation>>() { }),
                    candidates(file, f, meta.get("candidates"), size));
            return new Saved(groups, s, meta);
        } catch (IllegalArgumentException | NullPointerException | JsonProcessingException e) {
            // NumberFormatException is an IllegalArgumentException; TrainingState throws both
            throw new CheckpointFormatException(file, "invalid training state: " + e.getMessage(), e);
        }
    }

    /**
     * The candidates listed in the metadata entry {@code candidates} (absent in files written
     * before candidates were kept: none), each with its tensor.
     */
    private static List<TrainingState.Candidate> candidates(Path file, SafetensorsFile f, String listed, int size)
            throws CheckpointFormatException, JsonProcessingException {
        if (listed == null) {
            return List.of();
        }
        List<TrainingState.Candidate> out = new ArrayList<>();
        for (JsonNode c : JSON.readTree(listed)) {
            if (!c.path("epoch").canConvertToInt() || !c.path("validationLoss").isNumber()) {
                throw new CheckpointFormatException(file, "a candidate entry lacks its epoch or loss: " + c);
            }
            int epoch = c.get("epoch").intValue();
            out.add(new TrainingState.Candidate(epoch, c.get("validationLoss").doubleValue(),
                    vector(file, f, CANDIDATE + epoch, size)));
        }
        return out;
    }

    private static double[] vector(Path file, SafetensorsFile f, String name, int size) throws CheckpointFormatException {
        Tensor t = f.tensors().get(name);
        if (t == null || t.dtype() != DType.F64 || t.elementCount() != size) {
            throw new CheckpointFormatException(file, "tensor " + name + " must be F64 x " + size + ", got " + t);
        }
        return t.toDoubleArray();
    }
}
