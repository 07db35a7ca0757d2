package org.l2l4j.meta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.GroupedStepper;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.UnrollRecord;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ResidentBatch;
import org.l2l4j.optimizees.ResidentFamily;

/**
 * B optimizees of one dimension d driven by the learned optimizer together: their parameters
 * are one coordinate vector of B d coordinates (instance b at [b d, (b + 1) d)), so that one
 * native step per parameter group serves them all (the kernels never need to know where one
 * instance ends; a group's coordinates are its tensors' ranges in every instance,
 * {@link GroupLayout}).  The steps are those of {@link GroupedStepper}, the library's one path for
 * stepping the LSTM, with each group's backward record switched on for meta-training.
 *
 * <p>Two ways to evaluate them, chosen by the family: a {@link ResidentFamily} on this backend
 * ({@link PlacedFamily}) evaluates them in place on the backend's buffers (nothing is copied per
 * step; on CUDA nothing crosses to the host); any other family is evaluated on the host, in
 * parallel across instances, with theta copied out and the gradients copied in at every step.
 *
 * <p>After {@link #start} and every {@link #advance}, the gradient buffer holds x_t = grad
 * f_b(theta_t) of every instance (times the input scale), ready for the next step; the losses
 * f_b(theta_t) are kept in numbered slots and read together by {@link #losses(int)}.
 */
final class OptimizeeBatch implements AutoCloseable {
    private final int dimension;
    private final int instances;
    private final NativeBuffer theta;
    private final NativeBuffer grad;
    private final GroupLayout layout;
    private final List<TensorList> lists = new ArrayList<>();
    private final GroupedStepper stepper;
    /** Per group: its backward record, or null for none. */
    private final UnrollRecord[] records;
    /** Per group: its gradients gathered into one vector, or null when they are grad itself. */
    private final NativeBuffer[] gathered;
    private final Evaluation evaluation;
    private float inputScale = 1f;
    private long lastStepNanos;
    private int trajectoryStep;
    private long[] seeds = new long[0];

    /** How the instances are evaluated: writes the gradients and keeps the losses by slot. */
    private interface Evaluation extends AutoCloseable {
        /** Instance b becomes the optimizee of seeds[b]; writes theta_0. */
        void start(long[] seeds);

        /** f_b and scale * grad f_b at the current theta; the losses into slot {@code slot}. */
        void evaluate(float scale, int slot);

        /** losses[slot][b] for slots 0..slots-1. */
        double[][] losses(int slots);

        @Override
        void close();
    }

    /**
     * @param lstm        the optimizer's parameter groups and their phi, read at every step
     * @param family      the optimizees' family; a {@link ResidentFamily} must live on {@code backend}
     * @param recordSteps capacity of the backward record (0 for none: forward only)
     * @param lossSlots   how many evaluations' losses are kept (slots 0..lossSlots-1)
     */
    OptimizeeBatch(Backend backend, GroupedLstm lstm, OptimizeeFamily family, int instances, int recordSteps,
                   int lossSlots) {
        Objects.requireNonNull(lstm, "lstm");
        Objects.requireNonNull(family, "family");
        this.dimension = family.dimension();
        if (dimension < 1 || instances < 1 || lossSlots < 1) {
            throw new IllegalArgumentException("need >= 1 instance of dimension >= 1 and >= 1 loss slot, got "
                    + instances + " x " + dimension + " and " + lossSlots);
        }
        if (family instanceof ResidentFamily r && r.backend() != backend) {
            throw new IllegalArgumentException("the resident family " + family.name() + " lives on " + r.backend()
                    + ", not on " + backend);
        }
        this.instances = instances;
        this.layout = new GroupLayout(lstm.groups(), family, instances);
        int groups = lstm.groups().count();
        long n = (long) dimension * instances;
        records = new UnrollRecord[groups];
        gathered = new NativeBuffer[groups];
        theta = backend.allocateFloats(n);
        NativeBuffer gradient = null;
        GroupedStepper steps = null;
        try {
            gradient = backend.allocateFloats(n);
            allocateGroups(backend, lstm, gradient, recordSteps);
            steps = new GroupedStepper(lstm, lists, null);
        } catch (RuntimeException | Error e) {
            closeGroups();
            if (gradient != null) {
                gradient.close();
            }
            theta.close();
            throw e;
        }
        grad = gradient;
        stepper = steps;
        evaluation = family instanceof ResidentFamily r ? new Resident(r, backend, lossSlots)
                : new OnHost(family, lossSlots);
    }

    /** Each group's tensor list over theta and {@code gradient}, and with a record its record and gather buffer. */
    private void allocateGroups(Backend backend, GroupedLstm lstm, NativeBuffer gradient, int recordSteps) {
        for (int g = 0; g < records.length; g++) {
            long ng = layout.coordinates(g);
            if (ng == 0) {
                lists.add(null);
                continue;
            }
            // instance after instance: the segments global averaging cells average over
            TensorList.Builder b = TensorList.builder(backend).instances(instances);
            for (long[] r : layout.ranges(g)) {
                b.add(theta, r[0], gradient, r[0], r[1]);
            }
            lists.add(b.build());
            if (recordSteps > 0) {
                records[g] = new UnrollRecord(backend, lstm.groups().get(g).config(), ng, recordSteps, instances);
                gathered[g] = layout.whole(g) ? null : backend.allocateFloats(ng);
            }
        }
    }

    private void closeGroups() {
        lists.stream().filter(Objects::nonNull).forEach(TensorList::close);
        for (int g = 0; g < records.length; g++) {
            if (records[g] != null) {
                records[g].close();
            }
            if (gathered[g] != null) {
                gathered[g].close();
            }
        }
    }

    int instances() {
        return instances;
    }

    long coordinates() {
        return (long) dimension * instances;
    }

    /** Where each parameter group's coordinates lie in this batch's coordinate vector. */
    GroupLayout layout() {
        return layout;
    }

    /** Group g's backward record (n_g coordinates), or null when the batch records nothing or g owns no tensor. */
    UnrollRecord record(int g) {
        return records[g];
    }

    /**
     * Group g's part of the gradient buffer as one vector of n_g floats in the group's coordinate
     * order (gathered from its ranges, unless they are the whole buffer): x_t of its coordinates.
     * Only for a batch with a record.
     */
    NativeBuffer groupGradient(int g) {
        NativeBuffer out = gathered[g];
        if (out == null) {
            return grad;
        }
        long at = 0;
        for (long[] r : layout.ranges(g)) {
            out.copyFrom(grad, r[0], at, r[1]);
            at += r[1];
        }
        return out;
    }

    /**
     * Starts a trajectory: the optimizees of {@code seeds}, their theta_0, zero state, and the
     * first evaluation, whose losses go to slot 0.
     *
     * @param scale factor applied to the gradients fed to the LSTM (1, or 1/B for the
     *              reference code's mean-gradient input)
     */
    void start(long[] seeds, double scale) {
        if (seeds.length != instances) {
            throw new IllegalArgumentException("expected " + instances + " optimizees, got " + seeds.length);
        }
        this.inputScale = (float) scale;
        this.seeds = seeds.clone();
        trajectoryStep = 0;
        evaluation.start(seeds);
        stepper.resetState();
        evaluation.evaluate(inputScale, 0);
    }

    /**
     * One learned-optimizer step for all instances (recorded in {@code recordSlot}, or not when
     * it is negative), then the evaluation at the new parameters, its losses into
     * {@code lossSlot}.
     */
    void advance(int recordSlot, int lossSlot) {
        trajectoryStep++;
        long t0 = System.nanoTime();
        if (recordSlot >= 0) {
            stepper.step(records, recordSlot);
        } else {
            stepper.step(false);
        }
        lastStepNanos = System.nanoTime() - t0;
        evaluation.evaluate(inputScale, lossSlot);
    }

    /** The seeds of the trajectory's optimizees ({@link #start}), a copy; empty before the first. */
    long[] seeds() {
        return seeds.clone();
    }

    /** The trajectory step being taken or last taken: 0 at {@link #start}, t after the t-th {@link #advance}. */
    int trajectoryStep() {
        return trajectoryStep;
    }

    /** Wall time of the last native step's call (on CUDA: the launch, not the kernel). */
    long lastStepNanos() {
        return lastStepNanos;
    }

    /** losses[slot][b] = f_b at the evaluation stored in each slot 0..slots-1 (one read on a device). */
    double[][] losses(int slots) {
        return evaluation.losses(slots);
    }

    /** Copies every instance's current parameters into {@code out} (float32 [B d], instance after instance). */
    void readParameters(float[] out) {
        theta.read(0, out, 0, out.length);
    }

    /**
     * Copies the gradient the next step will take (x_t of every instance, times the input scale)
     * into {@code out} (float32 [B d]).
     */
    void readGradient(float[] out) {
        grad.read(0, out, 0, out.length);
    }

    /** The current parameters of instance b (a copy). */
    float[] parameters(int b) {
        Objects.checkIndex(b, instances);
        float[] out = new float[dimension];
        theta.read((long) b * dimension, out, 0, dimension);
        return out;
    }

    @Override
    public void close() {
        evaluation.close();
        stepper.close();
        closeGroups();
        theta.close();
        grad.close();
    }

    /** Host evaluation: theta copied out, the optimizees evaluated in parallel, gradients copied in. */
    private final class OnHost implements Evaluation {
        private final OptimizeeFamily family;
        private final float[][] hostTheta;
        private final float[][] hostGrad;
        private final double[][] losses;
        private List<Optimizee> optimizees = List.of();

        OnHost(OptimizeeFamily family, int lossSlots) {
            this.family = family;
            hostTheta = new float[instances][dimension];
            hostGrad = new float[instances][dimension];
            losses = new double[lossSlots][instances];
        }

        @Override
        public void start(long[] seeds) {
            List<Optimizee> fs = new ArrayList<>(instances);
            for (int b = 0; b < instances; b++) {
                Optimizee f = family.sample(seeds[b]);
                if (f.dimension() != dimension) {
                    throw new IllegalArgumentException("optimizee of dimension " + f.dimension() + ", expected "
                            + dimension);
                }
                fs.add(f);
                f.initialParameters(hostTheta[b]);
                theta.write((long) b * dimension, hostTheta[b], 0, dimension);
            }
            optimizees = fs;
        }

        @Override
        public void evaluate(float scale, int slot) {
            for (int b = 0; b < instances; b++) {
                theta.read((long) b * dimension, hostTheta[b], 0, dimension);
            }
            double[] f = losses[slot];
            // Every instance finishes before the first failure (by instance) is rethrown with the
            // others suppressed, so no evaluation is left running on this batch's arrays.
            RuntimeException[] failures = new RuntimeException[instances];
            IntStream stream = IntStream.range(0, instances);
            (instances > 1 ? stream.parallel() : stream).forEach(b -> {
                try {
                    f[b] = optimizees.get(b).lossAndGradient(hostTheta[b], hostGrad[b]);
                } catch (RuntimeException e) {
                    failures[b] = e;
                    return;
                }
                if (scale != 1f) {
                    for (int i = 0; i < dimension; i++) {
                        hostGrad[b][i] *= scale;
                    }
                }
            });
            RuntimeException first = null;
            for (RuntimeException e : failures) {
                if (first == null) {
                    first = e;
                } else if (e != null) {
                    first.addSuppressed(e);
                }
            }
            if (first != null) {
                throw first;
            }
            for (int b = 0; b < instances; b++) {
                grad.write((long) b * dimension, hostGrad[b], 0, dimension);
            }
        }

        @Override
        public double[][] losses(int slots) {
            double[][] out = new double[slots][];
            for (int s = 0; s < slots; s++) {
                out[s] = losses[s].clone();
            }
            return out;
        }

        @Override
        public void close() {
        }
    }

    /** Evaluation in place on the backend: gradients and losses written there, losses read on demand. */
    private final class Resident implements Evaluation {
        private final ResidentBatch batch;
        private final NativeBuffer losses;

        Resident(ResidentFamily family, Backend backend, int lossSlots) {
            batch = family.batch(instances);
            try {
                losses = backend.allocateDoubles((long) lossSlots * instances);
            } catch (RuntimeException e) {
                batch.close();
                throw e;
            }
        }

        @Override
        public void start(long[] seeds) {
            batch.start(seeds, theta);
        }

        @Override
        public void evaluate(float scale, int slot) {
            batch.evaluate(theta, grad, scale, losses, (long) slot * instances);
        }

        @Override
        public double[][] losses(int slots) {
            double[] all = new double[slots * instances];
            losses.read(0, all, 0, all.length);
            double[][] out = new double[slots][];
            for (int s = 0; s < slots; s++) {
                out[s] = Arrays.copyOfRange(all, s * instances, (s + 1) * instances);
            }
            return out;
        }

        @Override
        public void close() {
            losses.close();
            batch.close();
        }
    }
}
