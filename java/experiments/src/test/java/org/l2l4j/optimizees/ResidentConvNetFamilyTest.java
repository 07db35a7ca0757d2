package org.l2l4j.optimizees;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.Dataset;

/**
 * The host side of the convolutional optimizee's CUDA form, which runs everywhere: a CPU backend
 * keeps the host evaluation (no resident form), the cuDNN form refuses a CPU backend with a
 * message, and the memory it reports for the paper's network is the count of its buffers done by
 * hand.  Its numerics on a device: {@link ResidentConvNetCudaTest}.
 */
class ResidentConvNetFamilyTest {

    @Test
    void aCpuBackendKeepsTheHostEvaluation() {
        ConvNetSpec spec = new ConvNetSpec(2, 8, java.util.List.of(3, 2), 3, 4, 5);
        ConvNetFamily family = new ConvNetFamily(RandomData.of(3, 9, spec.features(), 3), spec);
        try (Backend cpu = Backend.cpu(1)) {
            assertTrue(family.residentOn(cpu).isEmpty(), "the host evaluation is the CPU backend's");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new ResidentConvNetFamily(family, cpu));
            assertTrue(e.getMessage().contains("CUDA backend"), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> family.residentOn(null));
    }

    @Test
    void thePaperNetworksBuffersAreCountedAsListed() {
        Dataset data = RandomData.of(1, 50, 3 * 32 * 32, 10);
        ConvNetFamily family = new ConvNetFamily(data, ConvNetSpec.paper());
        long m = 128;
        long floats = m * 3072                                     // gathered images
                + 2 * m * 16 * (32 * 32 + 16 * 16 + 8 * 8)        // each convolution's output and activation
                + m * 16 * (16 * 16 + 8 * 8 + 4 * 4)              // each pooling's output
                + 2 * m * 32                                      // the hidden layer before and after batch norm
                + m * 10                                          // logits
                + 2 * m * 16 * 32 * 32                            // two gradient buffers of the widest activation
                + 2 * (16 + 16 + 16 + 32);                        // batch norm's saved means and inverse deviations
        long perInstance = 4 * (floats + m) + 4 * MinibatchIndices.CHUNK * m;
        assertEquals(43_194_496, perInstance);
        assertEquals(perInstance, family.residentBatchBytes(1));
        assertEquals(3 * perInstance, family.residentBatchBytes(3));
        assertEquals(4L * 50 * (3072 + 1), family.residentBytes(), "images as float32 and labels as int32");
        assertThrows(IllegalArgumentException.class, () -> family.residentBatchBytes(0));
    }
}
