package org.l2l4j.meta;

import java.util.Objects;

/**
 * How a meta-trainer's meta-batch of B instances is cut into S shards of B / S instances, and
 * which of them this process computes.  Shard s holds instances s B/S .. (s+1) B/S - 1 (their
 * training functions drawn from the seeds of those instance indices), its own optimizee batch and
 * backward record, and gives its part of each unroll's meta-loss and dL/dphi (with the whole
 * meta-batch's 1/B).  The parts are added in shard order: in one process by the meta-trainer
 * itself, across processes by a {@link MetaGradientReduction}.  So a run on S workers of one shard
 * each equals, bit for bit, the run of one process with all S shards.
 *
 * <p>Against a run with one shard of all B instances ({@link #single()}, the default), S shards
 * change only the order in which the float64 partial sums of dL/dphi are added (the fused
 * backward pass adds fixed chunks of coordinates in order, see l2l_backward): the meta-gradients
 * differ in their last bits, and the trajectories of phi by the growth of such differences.
 */
public final class MetaBatchShards {
    private static final MetaGradientReduction LOCAL = (loss, dphi) -> loss;
    private final int count;
    private final int first;
    private final int local;
    private final MetaGradientReduction reduction;

    private MetaBatchShards(int count, int first, int local, MetaGradientReduction reduction) {
        if (count < 1) {
            throw new IllegalArgumentException("the shard count must be >= 1, got " + count);
        }
        if (first < 0 || local < 0 || first + local > count) {
            throw new IllegalArgumentException("shards " + first + ".." + (first + local - 1) + " are not among the "
                    + count + " shards");
        }
        this.count = count;
        this.first = first;
        this.local = local;
        this.reduction = Objects.requireNonNull(reduction, "reduction");
    }

    /** One shard of every instance, computed here: the plain meta-trainer. */
    public static MetaBatchShards single() {
        return all(1);
    }

    /** {@code count} shards, all computed in this process, in shard order. */
    public static MetaBatchShards all(int count) {
        return new MetaBatchShards(count, 0, count, LOCAL);
    }

    /**
     * No shard computed here: a meta-trainer that only validates and selects, its epochs all run
     * by an {@link EpochRunner} ({@link MetaTrainer#train(MetaTrainer.Listener, EpochRunner)}),
     * which allocates no optimizee batch or backward record of its own.
     */
    public static MetaBatchShards none() {
        return new MetaBatchShards(1, 0, 0, LOCAL);
    }

    /**
     * Shard {@code index} of {@code count}, computed here; {@code reduction} adds the others.
     *
     * @throws IllegalArgumentException if index is not in [0, count)
     */
    public static MetaBatchShards one(int index, int count, MetaGradientReduction reduction) {
        return new MetaBatchShards(count, index, 1, reduction);
    }

    /** S, the shards of the meta-batch. */
    public int count() {
        return count;
    }

    /** The first shard computed here. */
    public int first() {
        return first;
    }

    /** How many consecutive shards, from {@link #first()}, are computed here (0 for {@link #none()}). */
    public int local() {
        return local;
    }

    /** What adds the other processes' shards (nothing, when every shard is local). */
    public MetaGradientReduction reduction() {
        return reduction;
    }

    /**
     * The instances of a shard of a meta-batch of {@code instances}.
     *
     * @throws IllegalArgumentException if S does not divide B
     */
    int instancesPerShard(int instances) {
        if (instances % count != 0) {
            throw new IllegalArgumentException("a meta-batch of " + instances + " instances cannot be cut into "
                    + count + " equal shards");
        }
        return instances / count;
    }
}
