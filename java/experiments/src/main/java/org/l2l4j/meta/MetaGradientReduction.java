package org.l2l4j.meta;

/**
 * Combines one process's part of an unroll's meta-gradient with the other processes' parts, for
 * meta-training over several machines: with the meta-batch split into S shards
 * ({@link MetaBatchShards}), each process computes the meta-loss and dL/dphi of its own shards,
 * and the reduction makes every process hold the whole meta-batch's, summed in shard order
 * (shard 0's, plus shard 1's, ...), so that every process applies the same meta-update and the
 * result does not depend on which process computed which shard, or when.
 */
public interface MetaGradientReduction {

    /**
     * Replaces {@code dphi} (float64 [phiSize], the sum of this process's shards' dL/dphi) with
     * the sum over all shards in shard order, and returns the summed meta-loss likewise.
     *
     * @param metaLoss this process's part of the unroll's meta-loss, (1/B) sum over its instances
     *                 of sum_t f_b(theta_t), B the whole meta-batch
     * @param dphi     in: this process's part; out: the whole meta-batch's dL/dphi
     * @return the whole meta-batch's meta-loss
     * @throws IllegalStateException if the other parts cannot be had (a peer failed, a timeout):
     *                               the epoch then fails as a whole (see {@link MetaTrainer#train})
     */
    double reduce(double metaLoss, double[] dphi);
}
