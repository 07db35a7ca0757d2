package org.l2l4j.meta;

import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ResidentFamily;

/**
 * An optimizee family as the learned optimizer on a backend evaluates it: in place, as the
 * family's {@link ResidentFamily} on that backend, wherever the family has one (MLPs on a CPU or
 * CUDA backend, quadratics on a CPU backend), else on the host.  Meta-training and evaluation
 * place their families through this class, once per run, so that the choice is made in one place
 * and the copy-free path is taken on every backend that supports it.  Closing it frees what the
 * resident form placed on the backend.
 */
public final class PlacedFamily implements AutoCloseable {
    private final OptimizeeFamily family;
    private final ResidentFamily resident;

    private PlacedFamily(OptimizeeFamily family, ResidentFamily resident) {
        this.family = family;
        this.resident = resident;
    }

    /**
     * {@code family} placed on {@code backend} ({@link OptimizeeFamily#residentOn}).  A family that
     * is already resident on this backend is used as it is (and not closed by this object).
     *
     * @throws NullPointerException if an argument is null
     */
    public static PlacedFamily on(Backend backend, OptimizeeFamily family) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(family, "family");
        if (family instanceof ResidentFamily r && r.backend() == backend) {
            return new PlacedFamily(r, null);
        }
        ResidentFamily resident = family.residentOn(backend).orElse(null);
        return new PlacedFamily(resident != null ? resident : family, resident);
    }

    /** The family to evaluate: the resident form, or the family itself on the host. */
    public OptimizeeFamily family() {
        return family;
    }

    /** Whether the optimizees are evaluated in place on the backend. */
    public boolean inPlace() {
        return family instanceof ResidentFamily;
    }

    /** Frees the resident form this object made, if any; idempotent. */
    @Override
    public void close() {
        if (resident != null) {
            resident.close();
        }
    }
}
