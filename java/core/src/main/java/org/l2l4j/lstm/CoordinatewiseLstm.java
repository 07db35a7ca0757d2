package org.l2l4j.lstm;

import java.util.Objects;
import org.bytedeco.javacpp.IntPointer;
import org.l2l4j.backend.Backend;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NativeCalls;
import org.l2l4j.presets.L2l;

/**
 * The coordinatewise deep LSTM optimizer m(x, s; phi) of Andrychowicz et al. 2016 (section 2.1,
 * eq. 1 and 3), computed by the fused native kernels: one step for all coordinates in one call
 * (one kernel launch on CUDA), and the backward pass over an unroll in one call.
 *
 * <p>This object holds the immutable native description of a {@link LstmConfig}; phi, the state
 * and the records are {@link NativeBuffer}s of a {@link Backend}, which decides where the work
 * runs.  It may be shared by threads; each call's buffers must not be used by another call at
 * the same time.
 *
 * <p>Every argument is checked here before the native call: nulls ({@link NullPointerException}),
 * closed objects ({@link IllegalStateException}), sizes and mismatched backends or configurations
 * ({@link IllegalArgumentException}).  With {@code checkFinite}, a native pre-pass rejects NaN and
 * infinite inputs ({@link org.l2l4j.backend.NonFiniteInputException}, status NON_FINITE, naming
 * the input and the element) before anything is written.
 */
public final class CoordinatewiseLstm implements AutoCloseable {
    private final LstmConfig config;
    private final long model;
    private final int phiSize;
    private volatile boolean closed;

    /**
     * The native description of {@code config}.
     *
     * @throws NullPointerException if config is null
     */
    public CoordinatewiseLstm(LstmConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        int[] widths = config.widths();
        try (IntPointer w = new IntPointer(Math.max(1, widths.length));
             IntPointer gac = new IntPointer(Math.max(1, widths.length))) {
            w.put(widths);
            gac.put(config.gacUnits());
            NativeCalls.check(L2l.l2l_model_create(w.address(), gac.address(), widths.length,
                    config.preprocessing() == Preprocessing.LOG_AND_SIGN ? L2l.L2L_PREPROCESS_LOG_AND_SIGN
                            : L2l.L2L_PREPROCESS_IDENTITY,
                    (float) config.p(), (float) config.outputScale(),
                    (config.logEpsilon() ? L2l.L2L_LOG_EPSILON : 0)
                            | (config.precision() == Precision.BF16_PRODUCTS ? L2l.L2L_BF16_PRODUCTS : 0),
                    NativeCalls.outCell()), "l2l_model_create");
        }
        this.model = NativeCalls.outValue();
        this.phiSize = Math.toIntExact(L2l.l2l_model_phi_size(model));
        if (phiSize != config.phiLayout().size() || L2l.l2l_model_state_rows(model) != config.stateRows()) {
            L2l.l2l_model_destroy(model);
            throw new IllegalStateException("the native library disagrees with the Java layout of phi or state");
        }
    }

    public LstmConfig config() {
        return config;
    }

    /** Number of values of phi. */
    public int phiSize() {
        return phiSize;
    }

    /**
     * One optimizer step for every coordinate of {@code tensors}: theta_k += delta and the state
     * advances in place (paper eq. 1, 3).
     *
     * @param phi         float32 [phiSize] on the tensors' backend or another whose memory it can
     *                    read ({@link Backend#sharesMemoryWith}); only read
     * @param tensors     the parameter tensors and their gradients (n coordinates in all)
     * @param state       float32 [S x n], state rows of this configuration (l2l.h layout); null
     *                    when the configuration has no LSTM layers (S = 0)
     * @param record      null, or the unroll record receiving this step in slot {@code slot} (of
     *                    as many instances as the tensors)
     * @param slot        the record slot (ignored when record is null)
     * @param checkFinite reject NaN/Inf in phi, gradients, theta and state before writing anything
     * @throws NullPointerException      if phi or tensors is null, or state is null with S > 0
     * @throws IllegalArgumentException  for a buffer of the wrong length or type or on another
     *                                   backend than the tensors, a state with S = 0, or a record
     *                                   of another configuration, coordinate or instance count
     * @throws IndexOutOfBoundsException if slot is outside [0, record.steps())
     * @throws IllegalStateException     if this object, the tensor list or a buffer is closed
     * @throws org.l2l4j.backend.NonFiniteInputException with checkFinite, for a NaN or infinity in an
     *                                   input (which, and where)
     * @throws org.l2l4j.backend.L2lException OUT_OF_MEMORY (the CPU kernels' scratch, allocated by
     *                                  the first step at a new size), or CUDA
     */
    public void step(NativeBuffer phi, TensorList tensors, NativeBuffer state, UnrollRecord record, int slot,
                     boolean checkFinite) {
        callStep(phi, tensors, state, record, slot, checkFinite ? L2l.L2L_CHECK_FINITE : 0);
    }

    /**
     * The value check of {@link #step} alone: rejects NaN and infinite values in phi, the
     * gradients, theta and the state, and writes nothing (so that the steps of several parameter
     * groups can all be checked before any of them writes).
     *
     * @throws org.l2l4j.backend.NonFiniteInputException for a NaN or infinity (which input, where)
     * @throws NullPointerException     as {@link #step}
     * @throws IllegalArgumentException as {@link #step}
     * @throws IllegalStateException    as {@link #step}
     */
    public void check(NativeBuffer phi, TensorList tensors, NativeBuffer state) {
        callStep(phi, tensors, state, null, 0, L2l.L2L_CHECK_FINITE | L2l.L2L_CHECK_ONLY);
    }

    private void callStep(NativeBuffer phi, TensorList tensors, NativeBuffer state, UnrollRecord record, int slot,
                          int flags) {
        Objects.requireNonNull(tensors, "tensors");
        tensors.requireOpen();
        Backend backend = tensors.backend();
        long n = tensors.coordinates();
        requirePhi(phi, backend);
        long stateAddress = 0;
        if (config.stateRows() > 0) {
            requireFloats("state", state, backend, (long) config.stateRows() * n);
            stateAddress = state.address();
        } else if (state != null) {
            throw new IllegalArgumentException("a configuration without LSTM layers has no state: pass null");
        }
        long recordAddress = 0;
        if (record != null) {
            requireRecord(record, backend, n);
            if (record.instances() != tensors.instances()) {
                throw new IllegalArgumentException("the record holds " + record.instances()
                        + " instances, the tensors " + tensors.instances());
            }
            recordAddress = record.slotAddress(slot);
        }
        NativeCalls.check(L2l.l2l_step(backend.ctx(), model(), phi.address(), tensors.count(), tensors.thetaArray(),
                tensors.gradArray(), tensors.sizeArray(), stateAddress, recordAddress, n / tensors.instances(), flags),
                "l2l_step");
    }

    /**
     * dL/d delta_s for the truncated-BPTT meta-loss sum_{t=1..T} f(theta_t) with dropped second
     * derivatives (paper section 2: the gradient inputs are constants, d x_t / d phi = 0): out[s] = scale * sum_{t=s+1..T} x_t, with x_1..x_{T-1}
     * read from the record and x_T = {@code gradLast}.
     *
     * @param record   the unroll's record (steps 0..steps-1 written)
     * @param steps    T, in [1, record.steps()]
     * @param gradLast float32 [n], the gradient at theta_T
     * @param scale    finite in float32, to which it is rounded; 1/B for a meta-batch of B instances
     * @param out      float32 [steps x n]
     * @throws NullPointerException     if a buffer or the record is null
     * @throws IllegalArgumentException for steps outside [1, record.steps()], a scale that is not
     *                                  finite, a buffer of the wrong length or type or on another
     *                                  backend than the record, or a record of another configuration
     * @throws IllegalStateException    if this object, the record or a buffer is closed
     */
    public void metaLossGradients(UnrollRecord record, int steps, NativeBuffer gradLast, double scale,
                                  NativeBuffer out) {
        Objects.requireNonNull(record, "record");
        Backend backend = record.buffer().backend();
        long n = record.coordinates();
        requireRecord(record, backend, n);
        requireSteps(steps, record);
        requireFloats("gradLast", gradLast, backend, n);
        requireFloats("out", out, backend, (long) steps * n);
        if (!Float.isFinite((float) scale)) {
            throw new IllegalArgumentException("scale must be finite, got " + scale);
        }
        NativeCalls.check(L2l.l2l_meta_loss_grads(backend.ctx(), model(), n, steps, record.buffer().address(),
                gradLast.address(), (float) scale, out.address()), "l2l_meta_loss_grads");
    }

    /**
     * The backward pass over an unroll: dL/dphi summed over coordinates and steps, and
     * optionally dL/d(initial state) and dL/dx_s.  Bitwise reproducible for a given n and
     * backend, whatever the thread count.
     *
     * @param phi           float32 [phiSize]
     * @param record        the unroll's record
     * @param steps         T, in [1, record.steps()]
     * @param dlossDdelta   float32 [steps x n], dL/d delta_s
     * @param dstateFinal   null (zero) or float32 [S x n], dL/d(state after the last step)
     * @param dphi          float64 [phiSize], overwritten
     * @param dstateInitial null or float32 [S x n], receives dL/d(state before step 0)
     * @param dx            null or float32 [steps x n], receives dL/dx_s through the preprocessing
     * @param checkFinite   reject NaN/Inf in phi, record, dlossDdelta, dstateFinal first
     * @throws NullPointerException     if phi, record, dlossDdelta or dphi is null
     * @throws IllegalArgumentException for steps outside [1, record.steps()], a buffer of the
     *                                  wrong length or type or on another backend than the record
     *                                  (a state gradient with S = 0 included), or a record of
     *                                  another configuration
     * @throws IllegalStateException    if this object, the record or a buffer is closed
     * @throws org.l2l4j.backend.NonFiniteInputException with checkFinite, for a NaN or infinity in an
     *                                   input (which, and where)
     * @throws org.l2l4j.backend.L2lException OUT_OF_MEMORY (workspace), or CUDA
     */
    public void backward(NativeBuffer phi, UnrollRecord record, int steps, NativeBuffer dlossDdelta,
                         NativeBuffer dstateFinal, NativeBuffer dphi, NativeBuffer dstateInitial, NativeBuffer dx,
                         boolean checkFinite) {
        Objects.requireNonNull(record, "record");
        requireSteps(steps, record);
        backwardFrom(phi, record, 0, steps, dlossDdelta, dstateFinal, dphi, dstateInitial, dx, checkFinite);
    }

    /**
     * The backward pass of one recorded step s of an unroll, for estimators that act between
     * steps (exact second derivatives: {@code dx} feeds a Hessian-vector product of the optimizee
     * whose result flows into dL/d delta_{s-1}).  The same native call as {@link #backward} over
     * the one step (l2l_backward with the record of step s and steps = 1), so that calling it for
     * s = T-1, ..., 0 with each call's {@code dstateBefore} as the next call's
     * {@code dstateAfter} gives the whole unroll's results, dL/dphi as the per-step sum.
     *
     * @param step         s, in [0, record.steps())
     * @param dlossDdelta  float32 [n], dL/d delta_s
     * @param dstateAfter  null (zero) or float32 [S x n], dL/d(state after step s)
     * @param dphi         float64 [phiSize], overwritten with this step's dL/dphi
     * @param dstateBefore null or float32 [S x n], receives dL/d(state before step s); may not be
     *                     {@code dstateAfter}
     * @param dx           null or float32 [n], receives dL/dx_s through the preprocessing
     * @throws IllegalArgumentException for a step outside the record, or as {@link #backward}
     *                                  (the same for the other errors)
     */
    public void backwardStep(NativeBuffer phi, UnrollRecord record, int step, NativeBuffer dlossDdelta,
                             NativeBuffer dstateAfter, NativeBuffer dphi, NativeBuffer dstateBefore, NativeBuffer dx,
                             boolean checkFinite) {
        Objects.requireNonNull(record, "record");
        if (step < 0 || step >= record.steps()) {
            throw new IllegalArgumentException("step must be in [0, " + record.steps() + "), got " + step);
        }
        if (dstateAfter != null && dstateAfter == dstateBefore) {
            throw new IllegalArgumentException("dstateAfter and dstateBefore must be different buffers");
        }
        backwardFrom(phi, record, step, 1, dlossDdelta, dstateAfter, dphi, dstateBefore, dx, checkFinite);
    }

    /** {@link #backward} over steps [first, first + steps) of the record. */
    private void backwardFrom(NativeBuffer phi, UnrollRecord record, int first, int steps, NativeBuffer dlossDdelta,
                              NativeBuffer dstateFinal, NativeBuffer dphi, NativeBuffer dstateInitial, NativeBuffer dx,
                              boolean checkFinite) {
        Backend backend = record.buffer().backend();
        long n = record.coordinates();
        requirePhi(phi, backend);
        requireRecord(record, backend, n);
        requireFloats("dlossDdelta", dlossDdelta, backend, (long) steps * n);
        long stateFloats = (long) config.stateRows() * n;
        if (dstateFinal != null) {
            requireFloats("dstateFinal", dstateFinal, backend, stateFloats);
        }
        if (dstateInitial != null) {
            requireFloats("dstateInitial", dstateInitial, backend, stateFloats);
        }
        if (dx != null) {
            requireFloats("dx", dx, backend, (long) steps * n);
        }
        Objects.requireNonNull(dphi, "dphi");
        requireBackend("dphi", dphi, backend);
        if (dphi.type() != NativeBuffer.ElementType.F64 || dphi.length() != phiSize) {
            throw new IllegalArgumentException("dphi must be F64 x " + phiSize + ", got " + dphi);
        }
        NativeCalls.check(L2l.l2l_backward(backend.ctx(), model(), phi.address(), n, steps,
                record.slotAddress(first), dlossDdelta.address(), dstateFinal == null ? 0
                        : dstateFinal.address(), dphi.address(), dstateInitial == null ? 0 : dstateInitial.address(),
                dx == null ? 0 : dx.address(), n / record.instances(), checkFinite ? L2l.L2L_CHECK_FINITE : 0),
                "l2l_backward");
    }

    private long model() {
        if (closed) {
            throw new IllegalStateException("the CoordinatewiseLstm is closed");
        }
        return model;
    }

    /** phi is only read: it may live on any backend whose memory {@code backend} can read. */
    private void requirePhi(NativeBuffer phi, Backend backend) {
        Objects.requireNonNull(phi, "phi");
        if (phi.isClosed()) {
            throw new IllegalStateException("phi is closed");
        }
        if (!backend.sharesMemoryWith(phi.backend())) {
            throw new IllegalArgumentException("phi lives in the memory of a " + phi.backend().kind()
                    + " backend, which a " + backend.kind() + " backend cannot read");
        }
        backend.ctx();
        if (phi.type() != NativeBuffer.ElementType.F32 || phi.length() != phiSize) {
            throw new IllegalArgumentException("phi must be F32 x " + phiSize + ", got " + phi);
        }
    }

    private void requireRecord(UnrollRecord record, Backend backend, long n) {
        if (!record.config().equals(config)) {
            throw new IllegalArgumentException("the record was made for " + record.config() + ", not " + config);
        }
        if (record.coordinates() != n) {
            throw new IllegalArgumentException("the record holds " + record.coordinates()
                    + " coordinates, the call has " + n);
        }
        requireBackend("record", record.buffer(), backend);
    }

    private static void requireSteps(int steps, UnrollRecord record) {
        if (steps < 1 || steps > record.steps()) {
            throw new IllegalArgumentException("steps must be in [1, " + record.steps() + "], got " + steps);
        }
    }

    private static void requireFloats(String name, NativeBuffer b, Backend backend, long length) {
        Objects.requireNonNull(b, name);
        requireBackend(name, b, backend);
        if (b.type() != NativeBuffer.ElementType.F32 || b.length() != length) {
            throw new IllegalArgumentException(name + " must be F32 x " + length + ", got " + b);
        }
    }

    private static void requireBackend(String name, NativeBuffer b, Backend backend) {
        if (b.isClosed()) {
            throw new IllegalStateException(name + " is closed");
        }
        if (b.backend() != backend) {
            throw new IllegalArgumentException(name + " lives on another backend");
        }
        backend.ctx();
    }

    /** Frees the native description; idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            L2l.l2l_model_destroy(model);
        }
    }
}
