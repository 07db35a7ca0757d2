package org.l2l4j.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.Exchanger;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.RandomData;
import org.l2l4j.optimizers.HandDesignedRule;

/**
 * A meta-batch cut into shards: two meta-trainers of one shard each, on two threads, their parts
 * added by an in-memory reduction, end with the phi, Adam state and losses of one trainer computing
 * both shards, bit for bit, on an MLP with two parameter groups and imitation on.
 */
class MetaBatchShardsTest {
    private static final MlpFamily MLP = new MlpFamily(RandomData.of(3, 200, 6, 3), MlpSpec.paper().withHiddenWidths(5));
    private static final ParameterGroups GROUPS = ParameterGroups.parse("weights=fc*.weight,biases=*",
            LstmConfig.paperMnist().withWidths(6, 6));
    private static final MetaTrainingOptions OPTIONS = MetaTrainingOptions.defaults().withHorizon(12).withUnroll(4)
            .withMetaLearningRate(3e-3).withInstances(4, InputScaling.PAPER).withEpochs(3).withSeed(9)
            .withImitation(new Imitation(HandDesignedRule.NAG, 0.1, 1, 3));

    /** Two processes' worth of shards: each adds the other's part after its own in shard order. */
    private static final class PairReduction implements MetaGradientReduction {
        private final Exchanger<double[]> exchanger;
        private final int shard;

        PairReduction(Exchanger<double[]> exchanger, int shard) {
            this.exchanger = exchanger;
            this.shard = shard;
        }

        @Override
        public double reduce(double metaLoss, double[] dphi) {
            double[] mine = Arrays.copyOf(dphi, dphi.length + 1);
            mine[dphi.length] = metaLoss;
            double[] other;
            try {
                other = exchanger.exchange(mine);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            double[] first = shard == 0 ? mine : other;
            double[] second = shard == 0 ? other : mine;
            for (int i = 0; i < dphi.length; i++) {
                dphi[i] = first[i] + second[i];
            }
            return first[dphi.length] + second[dphi.length];
        }
    }

    private static TrainingState alone(MetaBatchShards shards) {
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, MLP, MLP, OPTIONS, shards)) {
            for (int e = 0; e < OPTIONS.epochs(); e++) {
                t.trainEpoch();
            }
            return t.state();
        }
    }

    @Test
    void shardsOnTwoThreadsEqualOneTrainerWithBothShards() throws Exception {
        TrainingState both = alone(MetaBatchShards.all(2));
        Exchanger<double[]> exchanger = new Exchanger<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<TrainingState> s0 = pool.submit(() -> alone(MetaBatchShards.one(0, 2,
                    new PairReduction(exchanger, 0))));
            Future<TrainingState> s1 = pool.submit(() -> alone(MetaBatchShards.one(1, 2,
                    new PairReduction(exchanger, 1))));
            for (TrainingState s : new TrainingState[] {s0.get(), s1.get()}) {
                assertArrayEquals(both.phi(), s.phi(), "phi");
                assertArrayEquals(both.adamFirst(), s.adamFirst(), "Adam's first moment");
                assertArrayEquals(both.adamSecond(), s.adamSecond(), "Adam's second moment");
                assertEquals(both.adamStep(), s.adamStep());
            }
        } finally {
            pool.shutdownNow();
        }
        TrainingState initial;
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, MLP, MLP, OPTIONS)) {
            initial = t.state();
        }
        assertFalse(Arrays.equals(initial.phi(), both.phi()), "phi did not move");
    }

    @Test
    void oneShardOfAllIsThePlainTrainer() {
        TrainingState plain;
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, MLP, MLP, OPTIONS)) {
            for (int e = 0; e < OPTIONS.epochs(); e++) {
                t.trainEpoch();
            }
            plain = t.state();
        }
        assertArrayEquals(plain.phi(), alone(MetaBatchShards.single()).phi());
    }

    @Test
    void aTrainerOfNoShardOnlyValidatesAndSaysSoWhenAskedToTrain() {
        try (Backend backend = Backend.cpu(1);
             MetaTrainer t = new MetaTrainer(backend, GROUPS, MLP, MLP, OPTIONS, MetaBatchShards.none())) {
            double[] before = t.state().phi();
            IllegalStateException e = assertThrows(IllegalStateException.class, t::trainEpoch);
            assertTrue(e.getMessage().contains("computes no shard of the meta-batch"), e.getMessage());
            assertArrayEquals(before, t.state().phi());
            assertEquals(0, t.state().epochs());
        }
    }

    @Test
    void aShardCountThatDoesNotDivideTheMetaBatchIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> alone(MetaBatchShards.all(3)));
        assertTrue(e.getMessage().contains("4 instances cannot be cut into 3 equal shards"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MetaBatchShards.one(2, 2, (l, g) -> l));
    }
}
