package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.l2l4j.data.Dataset;

/** An MLP's architecture goes into checkpoint metadata and comes back, also from older checkpoints' names. */
class MlpSpecMetadataTest {
    private static final Dataset DATA = RandomData.of(1, 5, 12, 4);

    @Test
    void metadataRoundTrip() {
        for (MlpSpec spec : List.of(MlpSpec.paper(), MlpSpec.paper().withHiddenWidths(40),
                MlpSpec.paper().withHiddenWidths(20, 20).withActivation(MlpSpec.Activation.RELU).withBatchSize(32),
                MlpSpec.paper().withHiddenWidths().withInitStd(0.1))) {
            assertEquals(Optional.of(spec), MlpSpec.fromMetadata(spec.metadata()), spec.toString());
        }
        assertEquals("20,20", MlpSpec.paper().withHiddenWidths(20, 20).metadata().get(MlpSpec.HIDDEN_KEY));
    }

    @Test
    void olderCheckpointsAreReadFromTheFamilyName() {
        for (MlpSpec spec : List.of(MlpSpec.paper(), MlpSpec.paper().withHiddenWidths(40, 7),
                MlpSpec.paper().withHiddenWidths().withActivation(MlpSpec.Activation.RELU))) {
            String name = new MlpFamily(DATA, spec).name();
            assertEquals(Optional.of(spec), MlpSpec.fromMetadata(Map.of(MlpSpec.NAME_KEY, name)), name);
        }
        assertEquals(Optional.of(MlpSpec.paper()), MlpSpec.fromMetadata(Map.of("optimizee", "mlp-784-20-10-sigmoid")));
    }

    @Test
    void otherOptimizeesDescribeNoMlp() {
        assertEquals(Optional.empty(), MlpSpec.fromMetadata(Map.of("optimizee", "quadratic-10-gaussian")));
        assertEquals(Optional.empty(), MlpSpec.fromMetadata(Map.of()));
    }

    @Test
    void malformedMetadataIsRejected() {
        Map<String, String> bad = new HashMap<>(MlpSpec.paper().metadata());
        bad.put(MlpSpec.HIDDEN_KEY, "20,x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MlpSpec.fromMetadata(bad));
        assertTrue(e.getMessage().contains("optimizee_hidden=20,x"), e.getMessage());
        bad.put(MlpSpec.HIDDEN_KEY, "20");
        bad.put(MlpSpec.ACTIVATION_KEY, "tanh");
        assertThrows(IllegalArgumentException.class, () -> MlpSpec.fromMetadata(bad));
    }
}
