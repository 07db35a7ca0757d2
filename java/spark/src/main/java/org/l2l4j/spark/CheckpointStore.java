package org.l2l4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.Options;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;

/**
 * The driver's checkpoints, in a folder of any Hadoop file system the driver can write (a local
 * path, {@code hdfs://}, {@code s3a://}, ...): {@value #TRAINING} (the whole training state, the
 * format of {@code train --resume}) and {@value #OPTIMIZER} (the best phi so far, loadable by
 * {@link OptimizerCheckpoint#load}).  Each is written to a temporary name in the folder and renamed
 * over the old one (atomic on HDFS and local file systems; object stores such as S3 copy, so a
 * crash there may leave the temporary file beside the old checkpoint, which stays readable).
 */
final class CheckpointStore {
    static final String TRAINING = "training.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    private final org.apache.hadoop.fs.Path folder;
    private final FileContext fs;

    /**
     * @param folder the folder's URI or path (created if needed)
     * @throws IOException if its file system is unavailable
     */
    CheckpointStore(String folder, Configuration conf) throws IOException {
        Objects.requireNonNull(folder, "folder");
        this.folder = new org.apache.hadoop.fs.Path(folder);
        this.fs = FileContext.getFileContext(this.folder.toUri(), conf);
        fs.mkdir(this.folder, null, true);
    }

    /** The training checkpoint's location. */
    org.apache.hadoop.fs.Path trainingFile() {
        return new org.apache.hadoop.fs.Path(folder, TRAINING);
    }

    /** Writes the training state and, when one was validated, the best optimizer. */
    void save(ParameterGroups groups, TrainingState state, Map<String, String> metadata) throws IOException {
        Path local = Files.createTempFile("l2l4j-checkpoint", ".safetensors");
        try {
            TrainingCheckpoint.save(local, groups, state, metadata);
            put(local, TRAINING);
            if (state.bestPhi() != null) {
                Map<String, String> description = new LinkedHashMap<>(metadata);
                description.put("epochs", Integer.toString(state.epochs()));
                description.put("best_epoch", Integer.toString(state.bestEpoch()));
                description.put("validation_loss", Double.toString(state.bestValidation()));
                new OptimizerCheckpoint(groups, PhiLayout.toFloat32(state.bestPhi()), description)
                        .save(local);
                put(local, OPTIMIZER);
            }
        } finally {
            Files.deleteIfExists(local);
        }
    }

    /** The saved training state, or null when the folder holds none. */
    TrainingCheckpoint.Saved load() throws IOException {
        if (!fs.util().exists(trainingFile())) {
            return null;
        }
        Path local = Files.createTempFile("l2l4j-checkpoint", ".safetensors");
        try {
            try (InputStream in = fs.open(trainingFile())) {
                Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
            }
            return TrainingCheckpoint.load(local);
        } finally {
            Files.deleteIfExists(local);
        }
    }

    private void put(Path local, String name) throws IOException {
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(folder, name);
        org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(folder, "." + name + ".tmp");
        try (FSDataOutputStream out = fs.create(tmp, EnumSet.of(CreateFlag.CREATE, CreateFlag.OVERWRITE),
                Options.CreateOpts.createParent())) {
            Files.copy(local, out);
        }
        fs.rename(tmp, target, Options.Rename.OVERWRITE);
    }
}
