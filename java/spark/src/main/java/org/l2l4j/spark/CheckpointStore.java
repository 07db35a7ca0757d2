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
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Options;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.PhiLayout;
import org.l2l4j.meta.TrainingCheckpoint;
import org.l2l4j.meta.TrainingState;
import org.l2l4j.safetensors.Safetensors;
import org.l2l4j.safetensors.SafetensorsFile;
import org.l2l4j.safetensors.Tensor;

/**
 * The driver's checkpoints, in a folder of any Hadoop file system the driver can write (a local
 * path, {@code hdfs://}, {@code s3a://}, ...): {@value #TRAINING} (the whole training state, the
 * format of {@code train --resume}) and {@value #OPTIMIZER} (the best phi so far, loadable by
 * {@link OptimizerCheckpoint#load}), and in the averaging mode with an outer Adam its state
 * ({@code outer-adam-E.safetensors}, E the epochs of the training state it belongs to, written
 * before it; the older ones removed after it).  A file is replaced by writing a temporary file,
 * renaming the old version aside, renaming the new one into place and deleting the old one, each
 * rename without overwriting: on HDFS and local file systems a crash at any point leaves the new
 * version or the old one, which is then read; on object stores such as S3 a rename is a copy,
 * and a crash during it may leave only the temporary file and the old version.
 */
final class CheckpointStore {
    static final String TRAINING = "training.safetensors";
    static final String OPTIMIZER = "optimizer.safetensors";
    /** The value of the outer Adam file's {@code l2l4j.format} metadata key. */
    static final String OUTER_FORMAT = "l2l4j-outer-adam-v1";
    private static final String OUTER_PREFIX = "outer-adam-";
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

    /**
     * Writes the training state, the outer Adam's state when there is one (null: none) and, when
     * one was validated, the best optimizer.
     */
    void save(ParameterGroups groups, TrainingState state, Map<String, String> metadata,
              AveragingEpochs.OuterState outer) throws IOException {
        Path local = Files.createTempFile("l2l4j-checkpoint", ".safetensors");
        try {
            if (outer != null) {
                long[] shape = {outer.first().length};
                Map<String, Tensor> t = new LinkedHashMap<>();
                t.put("adam.first_moment", Tensor.ofDoubles(shape, outer.first()));
                t.put("adam.second_moment", Tensor.ofDoubles(shape, outer.second()));
                Safetensors.write(local, t, Map.of("epochs", Integer.toString(outer.epochs()), "adam_step",
                        Long.toString(outer.step()), Safetensors.FORMAT_KEY, OUTER_FORMAT));
                put(local, outerName(outer.epochs()));
            }
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
            if (outer != null) {
                for (FileStatus f : fs.util().listStatus(folder)) {
                    String name = f.getPath().getName();
                    if (name.startsWith(OUTER_PREFIX) && !name.equals(outerName(outer.epochs()))) {
                        fs.delete(f.getPath(), false);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(local);
        }
    }

    /**
     * The saved training state, or null when the folder holds none.
     *
     * @throws IOException              if it cannot be read or is not a training checkpoint
     *                                  (the message names its URI)
     * @throws IllegalArgumentException if the folder holds an earlier run's other files but no
     *                                  training state (a fresh run would overwrite its optimizer)
     */
    TrainingCheckpoint.Saved load() throws IOException {
        Path local = fetch(TRAINING);
        if (local == null) {
            for (FileStatus f : fs.util().listStatus(folder)) {
                String name = f.getPath().getName();
                if (name.equals(OPTIMIZER) || name.startsWith(OUTER_PREFIX) || name.startsWith("." + TRAINING)) {
                    throw new IllegalArgumentException("the checkpoint folder " + folder + " holds " + name
                            + " of an earlier run but no training state to continue from: give another folder, or "
                            + "remove its files to start again there");
                }
            }
            return null;
        }
        try {
            return TrainingCheckpoint.load(local);
        } catch (IOException e) {
            throw new IOException("the training checkpoint in " + folder + " cannot be read: " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(local);
        }
    }

    /**
     * The outer Adam's state saved with the training state of {@code epochs} epochs, or null when
     * the folder holds none.
     *
     * @param phiSize P, the length its moments must have
     * @throws IOException if it cannot be read or is not such a file (the message names its URI)
     */
    AveragingEpochs.OuterState loadOuter(int epochs, int phiSize) throws IOException {
        String name = outerName(epochs);
        Path local = fetch(name);
        if (local == null) {
            return null;
        }
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(folder, name);
        try {
            SafetensorsFile f = Safetensors.read(local);
            if (!OUTER_FORMAT.equals(f.metadata().get(Safetensors.FORMAT_KEY))) {
                throw new IOException(Safetensors.FORMAT_KEY + " is " + f.metadata().get(Safetensors.FORMAT_KEY)
                        + ", not " + OUTER_FORMAT);
            }
            double[] first = f.tensor("adam.first_moment").toDoubleArray();
            double[] second = f.tensor("adam.second_moment").toDoubleArray();
            long step = Long.parseLong(Safetensors.requireMetadata(local, f.metadata(), "adam_step"));
            if (first.length != phiSize || second.length != phiSize || step < 0) {
                throw new IOException("moments of " + first.length + " and " + second.length + " values and step "
                        + step + ", expected " + phiSize + " values each and a step >= 0");
            }
            for (int i = 0; i < phiSize; i++) {
                if (!Double.isFinite(first[i]) || !(second[i] >= 0) || Double.isInfinite(second[i])) {
                    throw new IOException("moment " + i + " is not finite or the second moment is negative");
                }
            }
            return new AveragingEpochs.OuterState(epochs, first, second, step);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException(file + " is not a valid outer Adam state: " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(local);
        }
    }

    private static String outerName(int epochs) {
        return OUTER_PREFIX + epochs + ".safetensors";
    }

    /**
     * A local copy of file {@code name} (the caller deletes it), or of its previous version when a
     * replacement was interrupted between its two renames ({@link #put}); null when neither exists.
     */
    private Path fetch(String name) throws IOException {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(folder, name);
        if (!fs.util().exists(file)) {
            file = previous(name);
            if (!fs.util().exists(file)) {
                return null;
            }
        }
        Path local = Files.createTempFile("l2l4j-checkpoint", ".safetensors");
        try (InputStream in = fs.open(file)) {
            Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
            return local;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(local);
            throw new IOException("reading " + file + " failed: " + e.getMessage(), e);
        }
    }

    private org.apache.hadoop.fs.Path previous(String name) {
        return new org.apache.hadoop.fs.Path(folder, "." + name + ".prev");
    }

    /**
     * Replaces file {@code name} by the local file: written to a temporary name, then the old
     * version renamed aside, the new one renamed into place and the old one deleted.  Each rename
     * is one without overwriting (atomic on HDFS and local file systems), so that after a crash
     * at any point the folder holds the new version or the old one, which {@link #fetch} finds.
     */
    private void put(Path local, String name) throws IOException {
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(folder, name);
        org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(folder, "." + name + ".tmp");
        org.apache.hadoop.fs.Path prev = previous(name);
        try (FSDataOutputStream out = fs.create(tmp, EnumSet.of(CreateFlag.CREATE, CreateFlag.OVERWRITE),
                Options.CreateOpts.createParent())) {
            Files.copy(local, out);
        }
        if (fs.util().exists(target)) {
            if (fs.util().exists(prev)) {
                fs.delete(prev, false);
            }
            fs.rename(target, prev);
        }
        fs.rename(tmp, target);
        fs.delete(prev, false);
    }
}
