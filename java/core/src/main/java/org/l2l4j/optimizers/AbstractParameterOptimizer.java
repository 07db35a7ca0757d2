package org.l2l4j.optimizers;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.l2l4j.safetensors.Tensor;

/**
 * What every {@link ParameterOptimizer} shares: registration and its checks, the fixed layout,
 * the step count, state files, and the guard that rejects calls on a closed optimizer and
 * concurrent calls.  Subclasses supply the update and their state.
 */
abstract class AbstractParameterOptimizer implements ParameterOptimizer {

    /** One registered tensor: its name and where its parameter and gradient live. */
    record Registered(String name, FloatRegion parameter, FloatRegion gradient) {
        long length() {
            return parameter.length();
        }
    }

    private final List<Registered> registered = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final RegionIndex memory = new RegionIndex();
    private final AtomicReference<Thread> user = new AtomicReference<>();
    private volatile boolean closed;
    private boolean frozen;
    private Registered[] layout;
    private long coordinates;
    private long steps;

    @Override
    public final void register(String name, float[] parameter, float[] gradient) {
        register(name, () -> FloatRegion.of(parameter, "parameter"), () -> FloatRegion.of(gradient, "gradient"));
    }

    @Override
    public final void register(String name, FloatBuffer parameter, FloatBuffer gradient) {
        register(name, () -> FloatRegion.of(parameter, "parameter"), () -> FloatRegion.of(gradient, "gradient"));
    }

    @Override
    public final void register(String name, FloatPointer parameter, FloatPointer gradient) {
        register(name, () -> FloatRegion.of(parameter, "parameter"), () -> FloatRegion.of(gradient, "gradient"));
    }

    /** The registrations above: the name is checked before the regions are made. */
    private void register(String name, Supplier<FloatRegion> parameter, Supplier<FloatRegion> gradient) {
        enter();
        try {
            requireName(name);
            add(name, parameter.get(), gradient.get());
        } finally {
            exit();
        }
    }

    /** Registers a tensor of device memory (the LSTM optimizer on CUDA). */
    final void addDevice(String name, long parameterAddress, long gradientAddress, long length) {
        enter();
        try {
            requireName(name);
            if (length < 1) {
                throw new IllegalArgumentException("tensor '" + name + "' needs at least one value, got length "
                        + length);
            }
            add(name, FloatRegion.device(parameterAddress, length, "parameter"),
                    FloatRegion.device(gradientAddress, length, "gradient"));
        } finally {
            exit();
        }
    }

    @Override
    public final void step() {
        enter();
        try {
            freeze();
            for (Registered r : layout) {
                r.parameter().requireUsable(r.name(), "parameter");
                r.gradient().requireUsable(r.name(), "gradient");
            }
            update();
            steps++;
        } finally {
            exit();
        }
    }

    @Override
    public final long stepCount() {
        enter();
        try {
            return steps;
        } finally {
            exit();
        }
    }

    @Override
    public final List<String> tensorNames() {
        enter();
        try {
            return registered.stream().map(Registered::name).toList();
        } finally {
            exit();
        }
    }

    @Override
    public final long coordinates() {
        enter();
        try {
            return coordinates;
        } finally {
            exit();
        }
    }

    @Override
    public final void saveState(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        enter();
        try {
            requireTensors();
            new ParameterOptimizerState(kind(), steps, layout(), settings(), stateTensors(coordinates)).save(file);
            freeze();
        } finally {
            exit();
        }
    }

    @Override
    public final void loadState(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        enter();
        try {
            requireTensors();
            ParameterOptimizerState saved = ParameterOptimizerState.load(file);
            if (!saved.optimizer().equals(kind())) {
                throw new IllegalArgumentException(file + " holds the state of a " + saved.optimizer()
                        + " optimizer, this one is " + kind());
            }
            if (!saved.tensors().equals(layout())) {
                throw new IllegalArgumentException(file + " holds the state of the tensors " + saved.tensors()
                        + ", this optimizer registered " + layout());
            }
            Map<String, String> mine = settings();
            if (!saved.settings().equals(mine)) {
                throw new IllegalArgumentException(file + " was saved with the settings " + saved.settings()
                        + ", this optimizer has " + mine);
            }
            Runnable install = restore(file, saved, coordinates);
            freeze();
            install.run();
            steps = saved.steps();
        } finally {
            exit();
        }
    }

    /** Releases the resources; idempotent. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        Thread me = Thread.currentThread();
        if (!user.compareAndSet(null, me)) {
            throw concurrentUse();
        }
        try {
            if (!closed) {
                closed = true;
                release();
            }
        } finally {
            user.set(null);
        }
    }

    // ---- for subclasses --------------------------------------------------------------------

    /** The name saved as the state's optimizer, such as {@code "LSTM"} or {@code "Adam"}. */
    abstract String kind();

    /** The tensors registered so far, in order (for a subclass's state before its first step). */
    final List<Registered> registered() {
        return List.copyOf(registered);
    }

    /** Checks a tensor about to be registered against the subclass's own rules (none by default). */
    void accept(Registered tensor) {
    }

    /** Allocates what the steps need, once, for the registered tensors (fixed from now on). */
    abstract void allocate(List<Registered> tensors, long n);

    /** One update of every registered tensor; writes nothing when it throws. */
    abstract void update();

    /** The settings saved with the state and required equal on load. */
    abstract Map<String, String> settings();

    /**
     * The state tensors to save: the live state once allocated, before that the initial state of
     * {@code n} coordinates.
     */
    abstract Map<String, Tensor> stateTensors(long n);

    /**
     * Checks the saved state tensors (of matching kind, settings and layout of {@code n}
     * coordinates; values as {@link ParameterOptimizerState} documents them) and returns what
     * writes them into the allocated state, run once the layout is fixed; writes nothing.
     *
     * @throws IllegalArgumentException  if the state belongs to another optimizer of this kind
     * @throws org.l2l4j.safetensors.CheckpointFormatException if a state tensor is missing, of
     *                                   another type or shape, or holds an invalid value
     */
    abstract Runnable restore(Path file, ParameterOptimizerState saved, long n) throws IOException;

    /** Frees the resources (called once, by the first {@link #close()}). */
    abstract void release();

    /** The registered tensors as saved in a state file. */
    final List<ParameterOptimizerState.Registered> layout() {
        return registered.stream().map(r -> new ParameterOptimizerState.Registered(r.name(), r.length())).toList();
    }

    // ---- internals -------------------------------------------------------------------------

    private void add(String name, FloatRegion parameter, FloatRegion gradient) {
        if (frozen) {
            throw new IllegalStateException("register every tensor before the first step (the layout of the state"
                    + " is fixed): cannot add '" + name + "'");
        }
        if (parameter.length() != gradient.length()) {
            throw new IllegalArgumentException("tensor '" + name + "': the parameter has " + parameter.length()
                    + " values, the gradient " + gradient.length());
        }
        if (parameter.length() < 1) {
            throw new IllegalArgumentException("tensor '" + name + "' needs at least one value");
        }
        if (!parameter.writable()) {
            throw new IllegalArgumentException("tensor '" + name + "': the parameter is read-only");
        }
        requireAliasingKnown(name, "parameter", parameter);
        requireAliasingKnown(name, "gradient", gradient);
        if (parameter.kind() != gradient.kind() && (parameter.kind() == FloatRegion.Kind.DEVICE
                || gradient.kind() == FloatRegion.Kind.DEVICE)) {
            throw new IllegalArgumentException("tensor '" + name + "': parameter and gradient must both be device "
                    + "memory or both host memory");
        }
        if (parameter.overlaps(gradient)) {
            throw new IllegalArgumentException("tensor '" + name + "': the parameter and the gradient share memory");
        }
        if (names.contains(name)) {
            throw new IllegalArgumentException("a tensor named '" + name + "' is already registered");
        }
        for (FloatRegion mine : new FloatRegion[] {parameter, gradient}) {
            String owner = memory.ownerOfOverlap(mine);
            if (owner != null) {
                throw new IllegalArgumentException("tensor '" + name + "' shares memory with the registered"
                        + " tensor '" + owner + "'");
            }
        }
        if (parameter.length() > Long.MAX_VALUE / 64 - coordinates) {
            throw new IllegalArgumentException("the registered tensors hold too many coordinates");
        }
        Registered tensor = new Registered(name, parameter, gradient);
        accept(tensor);
        registered.add(tensor);
        names.add(name);
        memory.add(parameter, name);
        memory.add(gradient, name);
        coordinates += parameter.length();
    }

    private static void requireAliasingKnown(String name, String role, FloatRegion region) {
        if (!region.aliasingKnown()) {
            throw new IllegalArgumentException("tensor '" + name + "': the " + role + " is a heap buffer that does"
                    + " not expose its array (a read-only heap buffer, or a view of a heap ByteBuffer), so whether"
                    + " it shares memory with another tensor cannot be checked; pass the float[], a writable"
                    + " FloatBuffer.wrap of it, or a direct buffer");
        }
    }

    private void requireTensors() {
        if (registered.isEmpty()) {
            throw new IllegalStateException("register at least one tensor first (n = 0)");
        }
    }

    /** Allocates the state for the registered tensors and fixes the layout, once. */
    private void freeze() {
        requireTensors();
        if (!frozen) {
            allocate(List.copyOf(registered), coordinates);
            layout = registered.toArray(new Registered[0]);
            frozen = true;
        }
    }

    private static void requireName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a tensor name must not be empty");
        }
    }

    /**
     * Claims the optimizer for the calling thread.
     *
     * @throws IllegalStateException              when closed
     * @throws ConcurrentModificationException if another call is running
     */
    private void enter() {
        if (closed) {
            throw closedError();
        }
        if (!user.compareAndSet(null, Thread.currentThread())) {
            throw concurrentUse();
        }
        if (closed) {
            user.set(null);
            throw closedError();
        }
    }

    private IllegalStateException closedError() {
        return new IllegalStateException("the " + kind() + " optimizer is closed");
    }

    private void exit() {
        user.set(null);
    }

    private ConcurrentModificationException concurrentUse() {
        Thread other = user.get();
        return new ConcurrentModificationException("thread '" + Thread.currentThread().getName() + "' called the "
                + kind() + " optimizer while thread '" + (other == null ? "?" : other.getName())
                + "' was using it; one thread at a time may use an optimizer");
    }
}
