package org.l2l4j.optimizers;

import java.lang.ref.Cleaner;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;

/**
 * The parameters phi of a trained LSTM optimizer (paper section 2.1; every parameter group's), copied
 * once into native memory and only read afterwards, with the native description of its
 * architecture: shared by
 * any number of {@link LstmOptimizer}s (one per training loop or thread, each with its own
 * hidden state and backend), so that phi is stored once.  Optimizers on any CPU backend can use
 * phi held by a CPU backend; on CUDA, optimizers on the same device can
 * ({@link Backend#sharesMemoryWith}).
 *
 * <p>Thread-safe.  {@link #close()} frees phi and throws {@link IllegalStateException} while
 * optimizers built on it are open; a SharedPhi that becomes unreachable unclosed is freed by the
 * library's cleaner and logged.
 */
public final class SharedPhi implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SharedPhi.class.getName());

    private final ParameterGroups groups;
    private final float[] values;
    private final Owned owned;
    private final Cleaner.Cleanable cleanable;
    private int users;

    /** The native memory and model; closed once, by close or by the cleaner. */
    private static final class Owned implements Runnable {
        private final GroupedLstm lstm;
        private final Backend backend;
        private volatile boolean closedExplicitly;

        Owned(GroupedLstm lstm, Backend backend) {
            this.lstm = lstm;
            this.backend = backend;
        }

        @Override
        public void run() {
            if (!closedExplicitly) {
                LOG.log(System.Logger.Level.WARNING, "a SharedPhi was not closed; freed by the cleaner");
            }
            lstm.close();
        }
    }

    private SharedPhi(OptimizerCheckpoint checkpoint, Backend backend) {
        this.groups = checkpoint.groups();
        this.values = checkpoint.phi().clone();
        GroupedLstm lstm = new GroupedLstm(groups, backend);
        try {
            lstm.write(values);
        } catch (RuntimeException e) {
            lstm.close();
            throw e;
        }
        this.owned = new Owned(lstm, backend);
        this.cleanable = NativeCalls.cleaner().register(this, owned);
    }

    /**
     * Copies the checkpoint's phi (float32 [phiSize] per group, PyTorch order: {@link org.l2l4j.lstm.PhiLayout})
     * into {@code backend}'s memory.  The backend is used only here, to allocate and write; it
     * must stay open until this object is closed.
     *
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the backend is closed
     */
    public static SharedPhi create(OptimizerCheckpoint checkpoint, Backend backend) {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(backend, "backend");
        return new SharedPhi(checkpoint, backend);
    }

    /** The architecture: the parameter groups and their configurations. */
    public ParameterGroups groups() {
        return groups;
    }

    /** The backend whose memory holds phi. @throws IllegalStateException when closed */
    public synchronized Backend backend() {
        requireOpen();
        return owned.backend;
    }

    /** phi, float32 [phiSize], every group's concatenated: the array itself, not to be modified. */
    float[] values() {
        return values;
    }

    /** The groups' native descriptions and phi in native memory. */
    GroupedLstm lstm() {
        return owned.lstm;
    }

    /** Counts an optimizer that uses phi until {@link #release()}. */
    synchronized void acquire() {
        requireOpen();
        users++;
    }

    /** Ends a use counted by {@link #acquire()}. */
    synchronized void release() {
        users--;
    }

    /**
     * Frees phi; idempotent.
     *
     * @throws IllegalStateException if optimizers built on it are still open
     */
    @Override
    public synchronized void close() {
        if (owned.closedExplicitly) {
            return;
        }
        if (users > 0) {
            throw new IllegalStateException("close the " + users + " LstmOptimizers using this phi first");
        }
        owned.closedExplicitly = true;
        cleanable.clean();
    }

    private void requireOpen() {
        if (owned.closedExplicitly) {
            throw new IllegalStateException("the SharedPhi is closed");
        }
    }

    @Override
    public String toString() {
        return "SharedPhi" + groups;
    }
}
