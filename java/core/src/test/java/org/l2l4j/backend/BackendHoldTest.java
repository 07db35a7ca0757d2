package org.l2l4j.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.l2l4j.presets.L2l;

/**
 * {@link Backend#hold()}: a context held by an object bound to it outside the library's buffers
 * (a cuBLAS handle on a CUDA backend's stream) cannot be closed under it; and the CUDA version
 * queries.
 */
class BackendHoldTest {

    @Test
    void aHeldBackendRefusesToCloseUntilReleased() {
        Backend backend = Backend.cpu(1);
        Backend.Hold hold = backend.hold();
        IllegalStateException e = assertThrows(IllegalStateException.class, backend::close);
        assertTrue(e.getMessage().contains("close the 1 objects bound to this backend's context"), e.getMessage());
        assertTrue(!backend.isClosed(), "a refused close leaves the backend open");
        backend.ctx();
        hold.release();
        hold.release();
        backend.close();
        assertTrue(backend.isClosed());
        assertThrows(IllegalStateException.class, backend::hold, "a closed backend cannot be held");
    }

    @Test
    void aBufferAndAHoldAreCountedApart() {
        Backend backend = Backend.cpu(1);
        Backend.Hold hold = backend.hold();
        NativeBuffer buffer = backend.allocateFloats(4);
        assertTrue(assertThrows(IllegalStateException.class, backend::close).getMessage().contains("1 native buffers"));
        buffer.close();
        assertTrue(assertThrows(IllegalStateException.class, backend::close).getMessage().contains("1 objects"));
        hold.release();
        backend.close();
    }

    @Test
    void cudaVersionsAreReadOrZero() {
        int[] v = Backend.cudaVersions();
        assertEquals(2, v.length);
        assertTrue(v[0] == 0 || v[0] >= 12000, "the linked runtime: none, or CUDA 12 or later: " + v[0]);
        assertTrue(v[1] >= 0, "the driver: " + v[1]);
        assertEquals("13.0", Backend.cudaVersionName(13000));
        assertEquals("12.8", Backend.cudaVersionName(12080));
        assertEquals("unknown", Backend.cudaVersionName(0));
        assertEquals(L2l.L2L_ERR_NULL_ARGUMENT, L2l.l2l_cuda_versions(0, 0));
    }
}
