package org.l2l4j.optimizers;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.BackendKind;
import org.l2l4j.backend.L2lException;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.backend.NonFiniteInputException;
import org.l2l4j.lstm.GroupedStepper;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroup;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.lstm.TensorList;
import org.l2l4j.lstm.TensorRule;
import org.l2l4j.safetensors.CheckpointFormatException;
import org.l2l4j.safetensors.Tensor;

/**
 * A trained learned optimizer as a drop-in replacement for Adam in a training loop: the
 * coordinatewise LSTM optimizer m of Andrychowicz et al. 2016 (section 2.1) behind the
 * {@link ParameterOptimizer} interface.  Each {@link #step()} updates every registered
 * parameter in place (paper eq. 1 and 3):
 *
 * <pre>
 *     theta_{t+1} = theta_t + g_t,      [g_t, h_{t+1}] = m(grad f(theta_t), h_t; phi)
 * </pre>
 *
 * per coordinate, with one hidden state h (float32 [S] per coordinate, S = 2 sum_l H_l; 80 for
 * LSTM 20-20) for every coordinate of every registered tensor, zero at creation.  phi comes
 * from a checkpoint ({@link OptimizerCheckpoint#load}, {@link OptimizerCheckpoint#shippedMnist()})
 * or is shared with other optimizers ({@link SharedPhi}).
 *
 * <pre>{@code
 * try (ParameterOptimizer optimizer = LstmOptimizer.builder(OptimizerCheckpoint.shippedMnist()).build()) {
 *     optimizer.register("fc1.weight", w1, dw1);
 *     ...
 *     optimizer.step();
 * }
 * }</pre>
 *
 * <p><b>Parameter groups</b> (paper section 3.3).  A learned optimizer may have several groups,
 * each with its own LSTM and phi ({@link ParameterGroups}; the CIFAR-10 optimizer has one for the
 * convolution kernels and one for the rest).  Each registered tensor joins the first group whose
 * rule matches its name, as {@code torch.optim}'s parameter groups hold their tensors; a
 * tensor that no rule takes is rejected when it is registered.  {@link Builder#rule} replaces a
 * group's rule (for example with explicit tensor names).  A group without tensors does nothing.
 *
 * <p><b>One native call per group and step.</b> All registered tensors of a group, of any sizes,
 * are stepped by one fused native call ({@link GroupedStepper}, the library's one path for
 * stepping the LSTM) over one state buffer of S x n floats (S and n of the group), its first
 * tensor's coordinates first.  Tensors in native memory that the kernels can
 * address (on a CPU backend: direct {@link FloatBuffer}s in native byte order and
 * {@link org.bytedeco.javacpp.FloatPointer}s; on CUDA: device memory, {@link #registerDevice})
 * are read and written in place; the others ({@code float[]}, heap and big-endian buffers, and
 * every host tensor on CUDA) are copied through one native staging buffer allocated at the
 * first step.  After the first step, a step allocates nothing, on the Java heap or natively.
 * On CUDA a step also copies the staged tensors to the device and back (one copy each way), or
 * waits for the kernel when nothing is staged: {@link #step()} returns with the parameters
 * updated on every backend.
 *
 * <p><b>Values.</b> With the finite check (on by default), NaN or infinite values in a gradient
 * or parameter are rejected before anything is written, in any group ({@link IllegalArgumentException}
 * naming the tensor and index); without it a NaN gradient propagates to its coordinate's parameter and
 * hidden state, as the paper's update does.
 *
 * <p><b>State file</b> ({@link #saveState}): {@link ParameterOptimizerState} with optimizer
 * {@code "LSTM"}, the architecture as settings ({@link OptimizerCheckpoint#groupsMetadata}, with
 * the rules in force), and the tensors {@code phi} (float32 [phiSize], every group's
 * concatenated) and {@code hidden_state} (float32 [S, n], the l2l.h state layout: row r,
 * coordinate i at r * n + i; absent when S = 0), or with several groups one
 * {@code hidden_state.NAME} [S_g, n_g] per group that owns tensors.  Loading requires
 * the same architecture, bitwise the same phi (a mismatch names the SHA-256 of both), the same
 * tensors, and a finite hidden state; training then resumes bit for bit.  A state tensor holds at most 2^31 - 9 bytes (n up to 6.7 million for S = 80).
 *
 * <p><b>Threads and resources.</b> As {@link ParameterOptimizer}: one thread at a time,
 * concurrent calls rejected.  By default each optimizer runs on a backend of its own, so
 * different optimizers (sharing one {@link SharedPhi} or not) may step concurrently; optimizers
 * given one backend through {@link Builder#backend} must not step at the same time.  Native
 * memory is released by {@link #close()}; an optimizer that becomes unreachable unclosed is
 * freed by the library's cleaner, which logs a warning naming its tensors.
 */
public final class LstmOptimizer extends AbstractParameterOptimizer {
    private static final System.Logger LOG = System.getLogger(LstmOptimizer.class.getName());
    /** The optimizer name saved in state files. */
    public static final String KIND = "LSTM";

    private final SharedPhi phi;
    /** The groups with the rules in force (the builder's replacements applied). */
    private final ParameterGroups groups;
    private final Backend backend;
    private final boolean checkFinite;
    private final Resources resources;
    private final Cleaner.Cleanable cleanable;

    // Fixed at the first step (allocate).
    private Registered[] tensors;
    private int[] parameterSlots;
    private int[] gradientSlots;
    private int stagedParameters;
    private NativeBuffer staged;
    private NativeBuffer hostMirror;
    private FloatBuffer stagingView;
    private GroupedStepper stepper;
    private boolean synchronizeAfterStep;

    /**
     * The native resources of one optimizer, closed last-acquired first, once: by
     * {@link #close()} or, for a forgotten optimizer, by the cleaner (which logs it).  Holds no
     * reference to the optimizer.
     */
    private static final class Resources implements Runnable {
        private final Deque<AutoCloseable> owned = new ArrayDeque<>();
        private volatile boolean closedExplicitly;
        private volatile String description = "an LstmOptimizer without tensors";

        synchronized <T extends AutoCloseable> T own(T resource) {
            owned.push(resource);
            return resource;
        }

        @Override
        public synchronized void run() {
            if (!closedExplicitly) {
                LOG.log(System.Logger.Level.WARNING, "{0} was not closed; its native memory was freed by the cleaner",
                        description);
            }
            while (!owned.isEmpty()) {
                try {
                    owned.pop().close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.WARNING, "releasing a resource of " + description + " failed", e);
                }
            }
        }
    }

    private LstmOptimizer(Builder b) {
        this.checkFinite = b.checkFinite;
        this.resources = new Resources();
        this.cleanable = NativeCalls.cleaner().register(this, resources);
        try {
            Backend home = b.shared == null ? null : b.shared.backend();
            if (b.backend != null) {
                backend = b.backend;
                backend.ctx();
            } else if (home != null && home.kind() == BackendKind.CUDA) {
                backend = resources.own(Backend.cuda(home.device()));
            } else {
                backend = resources.own(Backend.cpu(b.threads));
            }
            if (b.shared != null) {
                if (!backend.sharesMemoryWith(home)) {
                    throw new IllegalArgumentException("the shared phi lives in the memory of a " + home.kind()
                            + " backend, which this optimizer's " + backend.kind() + " backend cannot read");
                }
                b.shared.acquire();
                phi = b.shared;
                resources.own(phi::release);
            } else {
                phi = resources.own(SharedPhi.create(b.checkpoint, backend));
            }
            groups = b.groupsWithRules(phi.groups());
        } catch (RuntimeException e) {
            resources.closedExplicitly = true;
            cleanable.clean();
            throw e;
        }
    }

    /**
     * A builder of an optimizer with the checkpoint's architecture and phi (copied into the
     * optimizer's native memory).
     *
     * @throws NullPointerException if {@code checkpoint} is null
     */
    public static Builder builder(OptimizerCheckpoint checkpoint) {
        return new Builder(Objects.requireNonNull(checkpoint, "checkpoint"), null);
    }

    /**
     * A builder of an optimizer that reads {@code phi}, shared with others (stored once).  The
     * SharedPhi must stay open until the optimizer is closed.
     *
     * @throws NullPointerException if {@code phi} is null
     */
    public static Builder builder(SharedPhi phi) {
        return new Builder(null, Objects.requireNonNull(phi, "phi"));
    }

    /** Options of an {@link LstmOptimizer}, checked by {@link #build()}. */
    public static final class Builder {
        private final OptimizerCheckpoint checkpoint;
        private final SharedPhi shared;
        private Backend backend;
        private int threads;
        private boolean threadsSet;
        private boolean checkFinite = true;
        private final Map<String, TensorRule> rules = new LinkedHashMap<>();

        private Builder(OptimizerCheckpoint checkpoint, SharedPhi shared) {
            this.checkpoint = checkpoint;
            this.shared = shared;
        }

        /**
         * Runs on {@code backend} (for example a CUDA backend), which the caller keeps open until
         * the optimizer is closed and uses from one thread at a time.  Default: a backend owned
         * by the optimizer, a CPU backend of {@link #threads} threads, or for a SharedPhi on
         * CUDA, a new CUDA backend on its device.
         *
         * @throws NullPointerException if {@code backend} is null
         */
        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * Threads one step of the optimizer's own CPU backend may use (>= 1), or 0 (default) for
         * all hardware threads.  Steps of fewer than 8192 coordinates run on the caller's thread.
         *
         * @throws IllegalArgumentException if {@code threads} is negative
         */
        public Builder threads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("threads must be >= 0, got " + threads);
            }
            this.threads = threads;
            this.threadsSet = true;
            return this;
        }

        /**
         * Whether each step first rejects NaN and infinite values in the gradients and
         * parameters (default true; one extra read of them).
         */
        public Builder checkFinite(boolean check) {
            this.checkFinite = check;
            return this;
        }

        /**
         * Which tensors the parameter group {@code group} owns, replacing the rule it was trained
         * with (for example explicit names, {@code "stem.weight|head.weight"}).  Tensors still
         * join the first group, in the optimizer's order, whose rule matches.
         *
         * @throws NullPointerException if an argument is null
         */
        public Builder rule(String group, TensorRule rule) {
            rules.put(Objects.requireNonNull(group, "group"), Objects.requireNonNull(rule, "rule"));
            return this;
        }

        /** The groups with the replaced rules. @throws IllegalArgumentException for an unknown group */
        private ParameterGroups groupsWithRules(ParameterGroups trained) {
            List<ParameterGroup> out = new ArrayList<>();
            for (ParameterGroup g : trained.list()) {
                TensorRule r = rules.getOrDefault(g.name(), g.rule());
                out.add(new ParameterGroup(g.name(), r, g.config()));
            }
            for (String name : rules.keySet()) {
                if (!trained.names().contains(name)) {
                    throw new IllegalArgumentException("rule(" + name + ", ...): the optimizer has no parameter group '"
                            + name + "'; its groups are " + trained.names());
                }
            }
            return new ParameterGroups(out);
        }

        /**
         * The optimizer, with no tensors registered.
         *
         * @throws IllegalStateException    if threads were set together with a backend, or for a
         *                                  SharedPhi on CUDA; if the backend or SharedPhi is closed
         * @throws IllegalArgumentException if the backend cannot read the SharedPhi's memory, or a
         *                                  {@link #rule} names a group the optimizer lacks
         * @throws L2lException             if native memory or a backend cannot be allocated
         */
        public LstmOptimizer build() {
            if (threadsSet && backend != null) {
                throw new IllegalStateException("threads apply to the optimizer's own CPU backend; set them on the"
                        + " backend passed to backend()");
            }
            if (threadsSet && shared != null && shared.backend().kind() == BackendKind.CUDA) {
                throw new IllegalStateException("threads apply to a CPU backend; this phi lives on CUDA");
            }
            return new LstmOptimizer(this);
        }
    }

    /**
     * Registers a parameter tensor and its gradient of {@code length} float32 values each in CUDA
     * device memory (raw addresses, for example from the JavaCPP CUDA presets' {@code cudaMalloc}
     * or another library), updated in place on the device.  The memory must be on this
     * optimizer's device and stay allocated while registered; it cannot be checked.
     *
     * @param length number of values, at least 1
     * @throws IllegalStateException    if this optimizer runs on the CPU (device pointers need a
     *                                  CUDA backend), after the first step, or when closed
     * @throws IllegalArgumentException if an address is 0 or not 4-byte aligned, length < 1, the
     *                                  name is taken, or the memory overlaps a registered tensor's
     * @see #register(String, float[], float[])
     */
    public void registerDevice(String name, long parameterAddress, long gradientAddress, long length) {
        addDevice(name, parameterAddress, gradientAddress, length);
    }

    @Override
    String kind() {
        return KIND;
    }

    @Override
    void accept(Registered tensor) {
        if (groups.groupOf(tensor.name()) < 0) {
            groups.assign(List.of(tensor.name()));
        }
        if (tensor.parameter().kind() == FloatRegion.Kind.DEVICE && backend.kind() != BackendKind.CUDA) {
            throw new IllegalStateException("tensor '" + tensor.name() + "': device memory needs an LstmOptimizer on"
                    + " a CUDA backend; this one runs on the " + backend.kind());
        }
    }

    /** Whether the kernels use the region in place rather than through the staging buffer. */
    private boolean inPlace(FloatRegion region) {
        return backend.kind() == BackendKind.CUDA ? region.kind() == FloatRegion.Kind.DEVICE
                : region.kind() == FloatRegion.Kind.HOST && region.nativeInPlace();
    }

    @Override
    void allocate(List<Registered> registered, long n) {
        tensors = registered.toArray(new Registered[0]);
        long stagedLength = 0;
        for (Registered t : tensors) {
            stagedLength += (inPlace(t.parameter()) ? 0 : t.length()) + (inPlace(t.gradient()) ? 0 : t.length());
        }
        if (stagedLength > Integer.MAX_VALUE / Float.BYTES) {
            throw new IllegalArgumentException("the tensors copied through native memory hold " + stagedLength
                    + " values (parameters and gradients); at most " + Integer.MAX_VALUE / Float.BYTES
                    + ": register larger tensors as native memory");
        }
        parameterSlots = new int[tensors.length];
        gradientSlots = new int[tensors.length];
        int slot = 0;
        for (int k = 0; k < tensors.length; k++) {
            parameterSlots[k] = inPlace(tensors[k].parameter()) ? -1 : slot;
            slot += parameterSlots[k] < 0 ? 0 : (int) tensors[k].length();
        }
        stagedParameters = slot;
        for (int k = 0; k < tensors.length; k++) {
            gradientSlots[k] = inPlace(tensors[k].gradient()) ? -1 : slot;
            slot += gradientSlots[k] < 0 ? 0 : (int) tensors[k].length();
        }
        boolean cuda = backend.kind() == BackendKind.CUDA;
        if (stagedLength > 0) {
            staged = resources.own(backend.allocateFloats(stagedLength));
            if (cuda) {
                Backend host = resources.own(Backend.cpu(1));
                hostMirror = resources.own(host.allocateFloats(stagedLength));
                stagingView = hostMirror.hostFloats();
            } else {
                stagingView = staged.hostFloats();
            }
        }
        int[] groupOf = groups.assign(registered.stream().map(Registered::name).toList());
        List<TensorList> lists = new ArrayList<>();
        List<int[]> ids = new ArrayList<>();
        for (int g = 0; g < groups.count(); g++) {
            TensorList.Builder b = TensorList.builder(backend);
            List<Integer> members = new ArrayList<>();
            for (int k = 0; k < tensors.length; k++) {
                if (groupOf[k] == g) {
                    b.addAddresses(address(tensors[k].parameter(), parameterSlots[k]),
                            address(tensors[k].gradient(), gradientSlots[k]), tensors[k].length());
                    members.add(k);
                }
            }
            lists.add(members.isEmpty() ? null : resources.own(b.build()));
            ids.add(members.stream().mapToInt(Integer::intValue).toArray());
        }
        stepper = resources.own(new GroupedStepper(phi.lstm(), lists, ids));
        synchronizeAfterStep = cuda && stagedParameters == 0;
        resources.description = "an LstmOptimizer of the tensors "
                + registered.stream().map(Registered::name).toList();
    }

    private long address(FloatRegion region, int slot) {
        return slot < 0 ? region.address() : staged.address(slot);
    }

    @Override
    void update() {
        for (int k = 0; k < tensors.length; k++) {
            if (parameterSlots[k] >= 0) {
                tensors[k].parameter().copyTo(stagingView, parameterSlots[k]);
            }
            if (gradientSlots[k] >= 0) {
                tensors[k].gradient().copyTo(stagingView, gradientSlots[k]);
            }
        }
        if (hostMirror != null) {
            staged.copyFrom(hostMirror, 0, 0, staged.length());
        }
        try {
            stepper.step(checkFinite);
        } catch (NonFiniteInputException e) {
            throw nonFinite(e);
        }
        if (hostMirror != null && stagedParameters > 0) {
            hostMirror.copyFrom(staged, 0, 0, stagedParameters);
        } else if (synchronizeAfterStep) {
            backend.synchronize();
        }
        for (int k = 0; k < tensors.length; k++) {
            if (parameterSlots[k] >= 0) {
                tensors[k].parameter().copyFrom(stagingView, parameterSlots[k]);
            }
        }
    }

    /** The native value check's finding, with the tensor's name for a gradient or a parameter. */
    private IllegalArgumentException nonFinite(NonFiniteInputException e) {
        if (e.input() == NonFiniteInputException.Input.GRAD || e.input() == NonFiniteInputException.Input.THETA) {
            String role = e.input() == NonFiniteInputException.Input.GRAD ? "gradient" : "parameter";
            return new IllegalArgumentException("the " + role + " of '" + tensors[e.tensor()].name()
                    + "' holds a NaN or infinite value at index " + e.index() + "; nothing was updated", e);
        }
        return new IllegalArgumentException(e.getMessage() + "; nothing was updated", e);
    }

    @Override
    Map<String, String> settings() {
        return OptimizerCheckpoint.groupsMetadata(groups);
    }

    /** The name of group g's hidden state in a state file. */
    private String stateName(int g) {
        return groups.count() == 1 ? "hidden_state" : "hidden_state." + groups.get(g).name();
    }

    /** Per group: its state rows S_g and coordinates n_g, {S_g, n_g}; n_g = 0 for a group without tensors. */
    private long[][] stateShapes() {
        List<Registered> all = registered();
        int[] groupOf = groups.assign(all.stream().map(Registered::name).toList());
        long[][] shapes = new long[groups.count()][];
        for (int g = 0; g < shapes.length; g++) {
            long n = 0;
            for (int k = 0; k < groupOf.length; k++) {
                n += groupOf[k] == g ? all.get(k).length() : 0;
            }
            shapes[g] = new long[] {groups.get(g).config().stateRows(), n};
        }
        return shapes;
    }

    @Override
    Map<String, Tensor> stateTensors(long n) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("phi", phiTensor(phi.values()));
        long[][] shapes = stateShapes();
        for (int g = 0; g < shapes.length; g++) {
            long size = shapes[g][0] * shapes[g][1];
            if (size == 0) {
                continue;
            }
            if (size > Tensor.MAX_BYTES / Float.BYTES) {
                throw new IllegalStateException("the hidden state of " + size + " values exceeds a state"
                        + " file's tensor limit of " + Tensor.MAX_BYTES + " bytes");
            }
            out.put(stateName(g), Tensor.ofFloats(shapes[g],
                    stepper != null ? stepper.state(g).toFloatArray() : new float[(int) size]));
        }
        return out;
    }

    private static Tensor phiTensor(float[] values) {
        return Tensor.ofFloats(new long[] {values.length}, values);
    }

    @Override
    Runnable restore(Path file, ParameterOptimizerState saved, long n) throws IOException {
        long[][] shapes = stateShapes();
        List<String> expected = new ArrayList<>(List.of("phi"));
        for (int g = 0; g < shapes.length; g++) {
            if (shapes[g][0] * shapes[g][1] > 0) {
                expected.add(stateName(g));
            }
        }
        if (!saved.values().keySet().equals(new HashSet<>(expected))) {
            throw new CheckpointFormatException(file, "holds the state tensors " + saved.values().keySet()
                    + ", expected " + expected);
        }
        float[] savedPhi = saved.finiteFloats(file, "phi", phi.values().length);
        if (!Arrays.equals(savedPhi, phi.values())) {
            throw new IllegalArgumentException(file + " was saved by an LSTM optimizer with another phi (trained"
                    + " parameters; SHA-256 " + phiTensor(savedPhi).sha256().substring(0, 12) + "...) than this"
                    + " one's (SHA-256 " + phiTensor(phi.values()).sha256().substring(0, 12) + "...)");
        }
        float[][] hidden = new float[shapes.length][];
        for (int g = 0; g < shapes.length; g++) {
            if (shapes[g][0] * shapes[g][1] > 0) {
                hidden[g] = saved.finiteFloats(file, stateName(g), shapes[g]);
            }
        }
        return () -> {
            for (int g = 0; g < hidden.length; g++) {
                if (hidden[g] != null) {
                    stepper.state(g).write(hidden[g]);
                }
            }
        };
    }

    @Override
    void release() {
        resources.closedExplicitly = true;
        cleanable.clean();
    }
}
