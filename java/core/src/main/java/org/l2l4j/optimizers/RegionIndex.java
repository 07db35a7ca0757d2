package org.l2l4j.optimizers;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The memory of the registered tensors, to find the tensor a new region shares memory with in
 * O(log k) for k registered regions: per {@linkplain FloatRegion#domain() domain}, the regions
 * sorted by start.  The indexed regions are disjoint, so a new region overlaps one of them
 * exactly when it overlaps its neighbour that starts at or before its start, or the one that
 * starts next.
 */
final class RegionIndex {

    /** One indexed region: where it ends and which tensor it belongs to. */
    private record Occupied(long end, String owner) {
    }

    private final Map<Object, TreeMap<Long, Occupied>> domains = new IdentityHashMap<>();

    /**
     * The name of the tensor whose memory {@code region} overlaps, or null.
     *
     * @param region a region with {@link FloatRegion#aliasingKnown()}
     */
    String ownerOfOverlap(FloatRegion region) {
        TreeMap<Long, Occupied> sorted = domains.get(region.domain());
        if (sorted == null) {
            return null;
        }
        Map.Entry<Long, Occupied> before = sorted.floorEntry(region.start());
        if (before != null && before.getValue().end() > region.start()) {
            return before.getValue().owner();
        }
        Map.Entry<Long, Occupied> after = sorted.higherEntry(region.start());
        if (after != null && after.getKey() < region.end()) {
            return after.getValue().owner();
        }
        return null;
    }

    /** Indexes {@code region} as memory of {@code owner}; it must overlap no indexed region. */
    void add(FloatRegion region, String owner) {
        domains.computeIfAbsent(region.domain(), d -> new TreeMap<>())
                .put(region.start(), new Occupied(region.end(), owner));
    }
}
