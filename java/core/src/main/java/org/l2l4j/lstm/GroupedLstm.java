package org.l2l4j.lstm;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;

/**
 * A learned optimizer's parameter groups made ready to run: for each group its native
 * {@link CoordinatewiseLstm} and its phi (float32, the group's {@link PhiLayout}) in one backend's
 * memory.  phi is written as the concatenation of every group's phi ({@link ParameterGroups}),
 * the one vector that meta-training updates; each group's kernels read their own part.
 *
 * <p>Owns its native memory; not thread-safe for writes (steps on other threads may read phi
 * while nobody writes it).
 */
public final class GroupedLstm implements AutoCloseable {
    private final ParameterGroups groups;
    private final List<CoordinatewiseLstm> lstms = new ArrayList<>();
    private final List<NativeBuffer> phis = new ArrayList<>();

    /**
     * Native descriptions of the groups and zero phi buffers on {@code backend}.
     *
     * @throws NullPointerException          if an argument is null
     * @throws IllegalStateException         if the backend is closed
     * @throws org.l2l4j.backend.L2lException OUT_OF_MEMORY
     */
    public GroupedLstm(ParameterGroups groups, Backend backend) {
        this.groups = Objects.requireNonNull(groups, "groups");
        Objects.requireNonNull(backend, "backend");
        try {
            for (ParameterGroup g : groups.list()) {
                lstms.add(new CoordinatewiseLstm(g.config()));
                phis.add(backend.allocateFloats(g.config().phiLayout().size()));
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    public ParameterGroups groups() {
        return groups;
    }

    /** Group g's native description. */
    public CoordinatewiseLstm lstm(int g) {
        return lstms.get(g);
    }

    /** Group g's phi, float32 [its phiSize]. */
    public NativeBuffer phi(int g) {
        return phis.get(g);
    }

    /**
     * Writes phi: every group's part of {@code phi}.
     *
     * @param phi float32 [{@link ParameterGroups#phiSize()}], the concatenation
     * @throws IllegalArgumentException if its length is not the groups' phi size
     */
    public void write(float[] phi) {
        if (phi.length != groups.phiSize()) {
            throw new IllegalArgumentException("phi has " + phi.length + " values, the groups need " + groups.phiSize());
        }
        for (int g = 0; g < phis.size(); g++) {
            NativeBuffer b = phis.get(g);
            b.write(0, phi, groups.phiOffset(g), (int) b.length());
        }
    }

    /** Writes phi given in float64, rounded to float32 ({@link PhiLayout#toFloat32}). */
    public void write(double[] phi) {
        write(PhiLayout.toFloat32(phi));
    }

    /** Frees the phi buffers and the native descriptions; idempotent. */
    @Override
    public void close() {
        phis.forEach(NativeBuffer::close);
        lstms.forEach(CoordinatewiseLstm::close);
    }
}
