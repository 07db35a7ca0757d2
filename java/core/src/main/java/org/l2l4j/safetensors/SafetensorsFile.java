package org.l2l4j.safetensors;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The content of a safetensors file as returned by {@link Safetensors#read}.
 *
 * @param tensors  tensors by name, in the order of the file's header (unmodifiable)
 * @param metadata the header's {@code __metadata__} entries, without the integrity digests
 *                 ({@code sha256.*} keys), in the order of the header (unmodifiable)
 * @param verified whether the file carried integrity digests, all of which matched; false for a
 *                 file without digests (for example one written by PyTorch's safetensors)
 */
public record SafetensorsFile(Map<String, Tensor> tensors, Map<String, String> metadata,
                              boolean verified) {

    /** Copies both maps, keeping their iteration order. */
    public SafetensorsFile {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(
                Objects.requireNonNull(tensors, "tensors")));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(
                Objects.requireNonNull(metadata, "metadata")));
    }

    /**
     * The tensor with this name.
     *
     * @throws IllegalArgumentException if the file has no such tensor
     */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "'; the file holds "
                    + tensors.keySet());
        }
        return t;
    }
}
