/*
 * l2l.h -- the C API of L2L4J's native core.
 *
 * A coordinatewise deep LSTM optimizer (Andrychowicz et al. 2016, "Learning to learn by
 * gradient descent by gradient descent", arXiv 1606.04474, section 2.1): one small parameter
 * vector phi shared by every coordinate of the optimizee's parameters theta, and a separate
 * hidden state per coordinate.  For each coordinate i and step t (paper eq. 1 and 3):
 *
 *     x      = gradient of the optimizee loss f with respect to theta_i at theta_t
 *     u^0    = rho(x)                                  input preprocessing (paper appendix A)
 *     for l = 1..L:                                    gate order (i, f, g, o), as PyTorch nn.LSTM
 *         z        = W_ih^l u^{l-1} + b_ih^l + W_hh^l h^l + b_hh^l          z in R^{4 H_l}
 *         c^l'     = sigmoid(z_f) * c^l + sigmoid(z_i) * tanh(z_g)
 *         h^l'     = sigmoid(z_o) * tanh(c^l')
 *         u^l      = h^l'
 *     delta  = output_scale * (w_out . u^L + b_out)
 *     theta_{t+1} = theta_t + delta
 *
 * Global averaging cells (LSTM+GAC, paper appendix, "Global Averaging Cells"): a model may
 * declare the first G_l units of layer l (0 <= G_l <= H_l) averaging units.  Their outgoing
 * activation is replaced, at every step, by its mean over the coordinates of one segment (the
 * coordinates of one optimizee instance's parameter group: the `segment` argument of l2l_step
 * and l2l_backward):
 *         h^l'_j  <-  (1 / N) sum over the segment's coordinates of h^l'_j,   j < G_l
 * before it becomes the input of layer l + 1 (or the output layer) and the state of the next
 * step; the cell state c stays per coordinate.  The coordinates thus share information at no
 * extra state.  With every G_l = 0 (the default) the model is the plain coordinatewise LSTM.
 * The means are summed in float64, segment by segment in coordinate order, and rounded once:
 * bitwise identical whatever the thread count.  The step then runs layer by layer over all
 * coordinates (one pass per layer, a reduction after each) and the backward pass step by step
 * (the mean's gradient, (1 / N) times the sum of dL/dh'_j over the segment, is spread back to
 * every coordinate of it).  Both backends run these passes (CUDA: one launch per layer and
 * average).
 *
 * Preprocessing rho (p > 0, paper appendix A):
 *     IDENTITY:      u^0 = x                                                     (1 input)
 *     LOG_AND_SIGN:  u^0 = ( max(log(max(|x|, FLT_MIN)) / p, -1), clamp(x e^p, -1, 1) )   (2 inputs)
 *                    with L2L_LOG_EPSILON the first input is max(log(|x| + 2^-23) / p, -1), as
 *                    in the authors' reference code.
 * A NaN in x propagates to delta, theta and the state.
 *
 * ---------------------------------------------------------------------------------------------
 * Layouts (all float32 unless stated; every size and offset is int64_t)
 *
 *   phi     flat, in PyTorch order: for each layer l = 0..L-1: weight_ih_l{l} [4H_l x in_l]
 *           row-major, weight_hh_l{l} [4H_l x H_l], bias_ih_l{l} [4H_l], bias_hh_l{l} [4H_l];
 *           then the output layer (nn.Linear(H_{L-1}, 1)): weight [1 x H_{L-1}], bias [1].
 *           in_0 = 1 (identity) or 2 (log-and-sign), in_l = H_{l-1}.  With L = 0 the output
 *           layer reads u^0 directly (weight [1 x in_0]).  Size: l2l_model_phi_size().
 *   state   structure of arrays, coordinate fastest: S = l2l_model_state_rows() rows of n
 *           floats; for layer l its h rows (H_l of them) then its c rows (H_l), layers in order.
 *           Element (row r, coordinate i) is state[r * n + i].  A fresh trajectory starts at 0.
 *   record  what the backward pass needs of one step: R = l2l_model_record_rows() = 1 + S rows
 *           of n floats: row 0 holds the raw gradient input x of the step, rows 1..S the
 *           state *before* the step.  The backward pass recomputes the gates from it.  An unroll
 *           of T steps is T records back to back: record[(s * R + r) * n + i].
 *           Memory: (1 + 2 sum_l H_l) * 4 bytes per coordinate per step (324 bytes for 20, 20).
 *
 * Backends: a context is either a CPU context (buffers in host memory) or a CUDA context
 * (buffers in that device's memory, work queued on the context's stream).  Every entry point
 * has the same signature for both; the pointers must live where the context computes.
 *
 * Errors: every function that can fail returns an l2l_status; nothing aborts or throws across
 * this boundary.  Each function returning a status catches whatever escapes from within it
 * (L2L_ERR_OUT_OF_MEMORY for an allocation, L2L_ERR_INTERNAL for anything else, neither
 * expected), the functions returning values cannot fail (a NULL handle gives the documented
 * sentinel), and the CPU backend's worker threads neither allocate nor throw: a call cannot end
 * the process that hosts the library (a JVM, say).  A failed allocation is reported as
 * L2L_ERR_OUT_OF_MEMORY (l2l_testing.h can inject one).  l2l_last_error() gives a message for the
 * last failure on the calling thread.  On failure nothing has been written to the caller's
 * buffers, except for errors that only a running kernel can detect (L2L_ERR_CUDA), after which
 * the outputs' contents are unspecified.
 *
 * Threads: a model is immutable and may be shared.  A context may be used by one thread at a
 * time; different contexts may be used concurrently (the CPU contexts share one reentrant
 * worker pool).
 *
 * Floating-point mode: the CPU backend's kernels (the step, the backward pass, the meta-loss
 * gradients, the MLP optimizee kernels below) compute with flush-to-zero (FTZ) and
 * denormals-are-zero (DAZ) set, on every thread that works on a call (the calling thread and the
 * pool's workers), for each piece of work, and give each thread back the mode it had: the
 * caller's floating-point environment is the same after a call as before it (a JVM does not
 * restore it after a native call).  On x86-64 these are MXCSR's FTZ and DAZ bits; on other
 * architectures the library leaves the mode as the thread has it.  Why: subnormal float32 values
 * (magnitudes below 2^-126 = 1.18e-38) send processors down a slow path, on Intel a microcode
 * assist per instruction, and as phi trains the LSTM saturates and the backward pass produces
 * them in numbers (meta-training was measured 4.5 times slower on an Intel machine).  Effect:
 *   - a float32 or float64 result below the smallest normal number in magnitude becomes a zero of
 *     the same sign, and a subnormal operand is read as a zero of the same sign: a subnormal
 *     value in phi, a gradient, theta, the state, the record, dloss_ddelta or dstate_final is
 *     computed with as 0 (copies keep it: row 0 of the record holds x as given), so that a
 *     subnormal weight times an infinite input is NaN (0 x Inf), not infinite.  In particular
 *     a subnormal gradient x is preprocessed as x = 0 (log-and-sign's second input is then 0
 *     rather than x e^p, below 2^-126 e^p: 2.6e-34 at p = 10, but 6.6e-4 at p = 80), and dx at
 *     such a coordinate is the derivative at x = 0 (with L2L_LOG_EPSILON and p > 23 ln 2 = 15.9,
 *     0 instead of about +-2^23 / p).
 *   - otherwise every operation's result differs by less than 2^-126 from the unflushed one
 *     (beside its rounding), and outputs change only through such differences of intermediate
 *     values: an output that would be subnormal (a cell or hidden state of a saturated LSTM, say)
 *     is 0; larger ones change by amounts of that order, times the sensitivities downstream.
 *     Measured against the library without the mode (paper LSTM 20-20, p = 10, n = 20,000, an
 *     unroll of 20, every kernel set): on random inputs and on the shipped MNIST optimizer no
 *     output changed; on a saturated LSTM (86% of the gates within 1e-3 of 0 or 1) delta, theta
 *     and dphi did not change, and 0.03% of the state and 0.3% of dstate_initial did, by at most
 *     7.5e-37 (outputs up to 40 and 87 in magnitude); with 8% of the gradients subnormal,
 *     dloss_ddelta and dx changed in 0.6% and 1.7% of their elements, by at most 4.7e-38 and
 *     1.2e-32 (dx is scaled by the preprocessing's e^p).
 *   - results stay bitwise identical across thread counts (every chunk computes in the same
 *     mode), and for a given instruction set; they may differ from those of earlier versions of
 *     the library (which did not set the mode) in the cases above.
 * The CUDA backend keeps subnormals (nvcc's default -ftz=false; NVIDIA GPUs compute on them at
 * full speed in the FP32 pipelines): the two backends may differ in these cases, as they already
 * differ by rounding.
 */
#ifndef L2L_H
#define L2L_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define L2L_API __declspec(dllexport)
#else
#define L2L_API __attribute__((visibility("default")))
#endif

/* ---- status codes ------------------------------------------------------------------------ */
typedef enum l2l_status {
    L2L_OK = 0,
    L2L_ERR_NULL_ARGUMENT = 1,     /* a required pointer is NULL */
    L2L_ERR_INVALID_ARGUMENT = 2,  /* a size, count or option is out of range */
    L2L_ERR_NON_FINITE = 3,        /* L2L_CHECK_FINITE found NaN or +-Inf in an input */
    L2L_ERR_OUT_OF_MEMORY = 4,     /* host or device allocation failed */
    L2L_ERR_NO_CUDA = 5,           /* no CUDA device or driver, or CUDA support not built */
    L2L_ERR_CUDA = 6,              /* a CUDA runtime call or kernel failed */
    L2L_ERR_WRONG_CONTEXT = 7,     /* the call does not fit the context (e.g. CPU-only call) */
    L2L_ERR_INTERNAL = 8           /* a defect of the library: an unexpected C++ exception */
} l2l_status;

/* Static name of a status code ("L2L_OK", ...); never NULL. */
L2L_API const char* l2l_status_name(int32_t status);

/* Message describing the last failed call on this thread (empty if none).  Thread-local;
 * valid until the next call on the same thread. */
L2L_API const char* l2l_last_error(void);

/* Library version as major * 10000 + minor * 100 + patch. */
L2L_API int32_t l2l_version(void);

/* ---- model configuration --------------------------------------------------------------- */
typedef enum l2l_preprocessing {
    L2L_PREPROCESS_IDENTITY = 0,
    L2L_PREPROCESS_LOG_AND_SIGN = 1
} l2l_preprocessing;

/* Model option bits. */
#define L2L_LOG_EPSILON 1   /* log-and-sign uses log(|x| + 2^-23) (reference code) */
#define L2L_BF16_PRODUCTS 2 /* the gate products with bfloat16 operands (see "Precision") */

/*
 * Precision.  By default (FLOAT32) every operation is float32.  With L2L_BF16_PRODUCTS the
 * LSTM's matrix products, the step's and the backward pass's, read their two operands rounded to
 * bfloat16 (round to nearest even; 8 bits of significand, float32's exponent range) and
 * accumulate the exact products in float32, two products per accumulation step:
 *     z    = b_ih + b_hh + W [u; h]          (the step, and its recomputation in the backward)
 *     d[u; h]  = W^T dz,   dW += dz [u; h]^T  (the backward pass; dz summed over coordinates)
 * with W = [W_ih W_hh] of each layer; bfloat16 keeps float32's exponent range and 8 significant
 * bits.  phi's weights are rounded on every call (4,960 words for 20, 20 with log-and-sign).
 * Everything else stays float32: the preprocessing, the biases, the cell update and its
 * derivatives, the state, the record, the output layer, dphi's float64 sums.  These are the
 * operations of bfloat16 dot-product units (x86's AVX-512 BF16 vdpbf16ps, which the "avx512bf16"
 * and "amx" kernel sets run; the other sets compute the products with the same arithmetic in
 * software, high halves first: "avx512" gives the same bits, the others differ by their float32
 * parts' rounding as in float32; "amx" computes the gate products of the step and of the backward
 * pass's recomputation, and W^T dz, on the AMX tiles, TDPBF16PS, in its own order).  The CUDA
 * backend runs such a model layer by layer, as a model with global averaging cells, with the
 * products on the tensor cores: mma.sync m16n8k16 (bfloat16 operands, float32 accumulation in the
 * instruction's own order, so its sums differ from the CPU's by their rounding), one warp per
 * 16 x 8 tile; the biases' sums stay float32.  The contract, per call, against a float64
 * evaluation of the same equations on the same inputs (the backward pass: on the record's
 * states), on phi as PyTorch initializes it, on that phi times 4 (most gates saturated) and on a
 * meta-trained phi, with states in [-1, 1] and gradients spanning 1e-12..1e3: each output tensor
 * (delta, h, c; dphi per phi tensor, dstate_initial, dx) is within 2e-2 of that tensor's largest
 * reference magnitude (measured: at most 0.39% for delta, 0.61% for h and c, 0.48% for dphi,
 * 0.86% for dstate_initial and dx; FLOAT32: 1e-5 for the step, 1e-4 for the backward pass).  That
 * is what the tests check, on their cases; over many random calls the errors have a tail.  In 320
 * backward calls against FLOAT32 (n = 129, one step; one and two layers of 7 and of 20 units,
 * both preprocessings, 40 calls each; phi, the states and dL/d delta uniform in [-0.3, 0.3], [-1,
 * 1] and [-1, 1], gradients u 10^(3v) with u, v uniform in [-1, 1]) the median error was 0.3% for
 * every tensor; dphi per tensor stayed within 2e-2 but once (2.6%: one layer of 7 units,
 * identity), dstate_initial within 0.4%.  dx did not: 5 calls exceeded 2e-2, all with
 * log-and-sign, at most 6.7% (5.8% for 20, 20).  Its coordinates carry the preprocessing's
 * derivative, e^p where |x| < e^-p (22,026 for p = 10) and 1/(p |x|) above it, so a coordinate of
 * small |x| carries dL/du's error with a gain that can far exceed that of the coordinate where dx
 * is largest.  Over many steps the rounding compounds through the recurrent state like any
 * perturbation of it.  Results are bitwise identical across thread counts for a given kernel set,
 * and bitwise reproducible on CUDA (its tensor-core path, measured through the emulated runtime
 * over unrolls of 2 and 3 steps: at most 0.21% for the state, 0.81% for dphi, 0.38% for dx).
 */

/* The largest LSTM width and layer count a model may have. */
#define L2L_MAX_WIDTH 256
#define L2L_MAX_LAYERS 8
/* The range of log-and-sign's p: it keeps 1/p, e^p and log|x|/p well inside float32's range. */
#define L2L_MIN_P 1e-3f
#define L2L_MAX_P 80.0f

typedef struct l2l_model l2l_model;

/* Creates an immutable model description.
 * widths: num_layers LSTM widths H_l, each in [1, L2L_MAX_WIDTH] (may be NULL if num_layers is 0);
 * gac_units: NULL (no averaging units), or num_layers counts G_l in [0, H_l] of global averaging
 * cells, the first G_l units of layer l (see "Global averaging cells" above);
 * num_layers in [0, L2L_MAX_LAYERS]; preprocessing: an l2l_preprocessing; p: log-and-sign's p
 * (in [L2L_MIN_P, L2L_MAX_P]; ignored for identity); output_scale: finite; options: 0 or
 * L2L_LOG_EPSILON and L2L_BF16_PRODUCTS combined by |.
 * Errors: NULL_ARGUMENT (out, or widths with num_layers > 0), INVALID_ARGUMENT. */
L2L_API int32_t l2l_model_create(const int32_t* widths, const int32_t* gac_units, int32_t num_layers,
                                 int32_t preprocessing, float p, float output_scale, int32_t options,
                                 l2l_model** out);
L2L_API void l2l_model_destroy(l2l_model* model); /* NULL is ignored */

L2L_API int64_t l2l_model_phi_size(const l2l_model* model);    /* floats in phi (-1 if NULL) */
L2L_API int64_t l2l_model_state_rows(const l2l_model* model);  /* S = 2 sum_l H_l */
L2L_API int64_t l2l_model_record_rows(const l2l_model* model); /* R = 1 + S */
L2L_API int32_t l2l_model_input_width(const l2l_model* model); /* in_0: 1 or 2 */
/* G_l, the global averaging cells of layer l (-1 if model is NULL or l is not a layer). */
L2L_API int32_t l2l_model_gac_units(const l2l_model* model, int32_t layer);

/* ---- contexts (backends) --------------------------------------------------------------- */
typedef enum l2l_backend { L2L_BACKEND_CPU = 0, L2L_BACKEND_CUDA = 1 } l2l_backend;

typedef struct l2l_context l2l_context;

/* A CPU context.  num_threads: how many threads one call may use (>= 1), or 0 for all cores.
 * A call with less than 8192 coordinate-steps of work runs on the calling thread alone.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT, OUT_OF_MEMORY. */
L2L_API int32_t l2l_context_create_cpu(int32_t num_threads, l2l_context** out);
L2L_API int32_t l2l_context_set_threads(l2l_context* ctx, int32_t num_threads); /* CPU only */
L2L_API int32_t l2l_context_threads(const l2l_context* ctx); /* -1 for CUDA or NULL */

/* The CPU kernels are compiled for several instruction sets ("amx", "avx512bf16", "avx512",
 * "avx2", "baseline" on x86-64; "avx512bf16" is "avx512" with the bfloat16 products of
 * L2L_BF16_PRODUCTS on the AVX-512 BF16 unit; "amx" is "avx512bf16" with the step's gate
 * products, their recomputation in the backward pass and W^T dz on the AMX-BF16 tiles
 * (TDPBF16PS on blocks of 16 rows x 16 coordinates, the operands padded to 16 pairs), offered
 * where the processor has them and Linux grants the tiles' state; "amx-emulated" is "amx" with a
 * software model of the tiles on AVX-512, to test its logic anywhere, never chosen by default)
 * and the best one the processor supports is chosen when the library loads (the environment
 * variable L2L_CPU_ISA may name another).  These read and override the choice for one CPU
 * context.  set: INVALID_ARGUMENT if the name is unknown or the processor lacks it;
 * WRONG_CONTEXT for a CUDA context.  get: NULL for CUDA or NULL. */
L2L_API const char* l2l_context_cpu_isa(const l2l_context* ctx);
L2L_API int32_t l2l_context_set_cpu_isa(l2l_context* ctx, const char* isa);
/* Every instruction set this processor can run, best first, as a comma-separated list; the
 * last, "amx-emulated", runs only when named. */
L2L_API const char* l2l_cpu_isas(void);
/* Why a kernel set the processor has is not offered, or "": the amx set needs the process's
 * permission for the tiles' state, which Linux may refuse (the set is then left out). */
L2L_API const char* l2l_cpu_isa_note(void);

/* Number of usable CUDA devices.  Returns NO_CUDA (count set to 0) when CUDA support was not
 * built, no driver is installed or no device is present; l2l_last_error() says which. */
L2L_API int32_t l2l_cuda_device_count(int32_t* count);

/* The version of the CUDA runtime linked into this library and of the installed driver, each
 * as CUDA encodes them (1000 * major + 10 * minor: 13000 is CUDA 13.0); 0 where unknown.  A
 * context is refused (NO_CUDA) when the driver is older than the runtime.  Returns NO_CUDA when
 * CUDA support was not built (both 0), NULL_ARGUMENT for a NULL pointer. */
L2L_API int32_t l2l_cuda_versions(int32_t* runtime, int32_t* driver);

/* A CUDA context on a device, with its own non-blocking stream.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (no such device), NO_CUDA, OUT_OF_MEMORY, CUDA. */
L2L_API int32_t l2l_context_create_cuda(int32_t device, l2l_context** out);

/* The raw cudaStream_t of a CUDA context (NULL for CPU), to hand to cuBLAS/cuDNN. */
L2L_API void* l2l_context_stream(const l2l_context* ctx);

L2L_API int32_t l2l_context_backend(const l2l_context* ctx); /* an l2l_backend, -1 if NULL */
L2L_API void l2l_context_destroy(l2l_context* ctx);          /* NULL is ignored */

/* ---- memory where the context computes -------------------------------------------------- */
/* Allocates bytes (> 0) of 64-byte aligned memory (host for CPU, device for CUDA). */
L2L_API int32_t l2l_malloc(l2l_context* ctx, int64_t bytes, void** out);
L2L_API int32_t l2l_free(l2l_context* ctx, void* ptr); /* NULL is ignored */

typedef enum l2l_copy_kind {
    L2L_COPY_HOST_TO_CONTEXT = 0,
    L2L_COPY_CONTEXT_TO_HOST = 1,
    L2L_COPY_CONTEXT_TO_CONTEXT = 2
} l2l_copy_kind;
/* Copies bytes (>= 0); completes before returning (the CUDA stream is synchronized). */
L2L_API int32_t l2l_memcpy(l2l_context* ctx, void* dst, const void* src, int64_t bytes, int32_t kind);
L2L_API int32_t l2l_memset_zero(l2l_context* ctx, void* ptr, int64_t bytes);
/* Waits for all work queued on the context (no-op on the CPU). */
L2L_API int32_t l2l_synchronize(l2l_context* ctx);

/* ---- the fused step --------------------------------------------------------------------- */
/* Call option bits. */
#define L2L_CHECK_FINITE 1 /* reject NaN/+-Inf in the inputs before anything is written */
#define L2L_CHECK_ONLY 4   /* l2l_step with L2L_CHECK_FINITE: run the value check only, write nothing */

/* One optimizer step for every coordinate of num_tensors parameter tensors (paper eq. 1, 3).
 * Tensor k has sizes[k] >= 0 coordinates, parameters theta[k] and gradients grad[k] (the
 * pointer arrays themselves are host memory; their elements live where ctx computes).  The
 * tensors share one state buffer of S rows over n = sum_k sizes[k] coordinates (n >= 1),
 * coordinate order: tensor 0 first (state may be NULL when S = 0).  Writes theta[k] += delta
 * and the new state in place.
 * record: NULL, or R rows of n floats receiving x and the state before the step (for the
 * backward pass).  phi: l2l_model_phi_size() floats where ctx computes.
 * flags: L2L_CHECK_FINITE validates phi, every grad, theta and the state first; with
 * L2L_CHECK_ONLY as well, the call returns after that check and writes nothing (so that the
 * steps of several parameter groups are all checked before any of them writes; record is then
 * ignored).
 * segment: the coordinates each average of a model with global averaging cells covers, the
 * call's coordinates being n / segment optimizee instances of segment coordinates each, instance
 * after instance; 0 means n (one instance).  n must be a multiple of it.  Models without
 * averaging units only check it.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (num_tensors < 1, a negative size, n = 0, unknown flag
 * bits, L2L_CHECK_ONLY without L2L_CHECK_FINITE, a negative segment or one that does not divide
 * n),
 * NON_FINITE (the offending input and index in l2l_last_non_finite() and l2l_last_error()),
 * OUT_OF_MEMORY (a CPU context's scratch, or its bfloat16 copy of phi's weights), CUDA.
 * Work: one pass over the coordinates (one kernel launch per 32 tensors on CUDA).
 * Memory: a CPU context allocates its kernels' scratch (for 20, 20 about 650 KB per thread, 900 KB
 * with L2L_BF16_PRODUCTS) at its first step or backward pass with a larger model or more threads,
 * and keeps it: the calls after it allocate nothing. */
L2L_API int32_t l2l_step(l2l_context* ctx, const l2l_model* model, const float* phi,
                         int32_t num_tensors, float* const* theta, const float* const* grad,
                         const int64_t* sizes, float* state, float* record, int64_t segment,
                         int32_t flags);

/* ---- the fused backward pass ------------------------------------------------------------ */
/* Forms dloss_ddelta for the truncated-BPTT meta-loss with dropped second derivatives
 * (paper section 2): with x_t the gradient at theta_t, the meta-loss sum_{t=1..T} f(theta_t)
 * has dL/d delta_s = scale * sum_{t=s+1..T} x_t.  x_1..x_{T-1} are read from the records of
 * steps 1..T-1 (row 0), x_T from grad_last [n].  out: [steps][n].  scale: finite (1/B for a
 * meta-batch of B instances).  Errors: NULL_ARGUMENT, INVALID_ARGUMENT, CUDA. */
L2L_API int32_t l2l_meta_loss_grads(l2l_context* ctx, const l2l_model* model, int64_t n,
                                    int32_t steps, const float* record, const float* grad_last,
                                    float scale, float* out);

/* Backpropagates through an unroll of `steps` >= 1 recorded steps over n >= 1 coordinates.
 * record:        [steps][R][n] as written by l2l_step.
 * dloss_ddelta:  [steps][n], dL/d delta_s for each step s.
 * dstate_final:  NULL (zero) or [S][n], dL/d state after the last step.
 * dphi:          [phi_size] float64, overwritten with dL/d phi summed over coordinates and
 *                steps.  Partial sums are formed over fixed chunks of coordinates and added in
 *                a fixed order in float64: the result is bitwise reproducible for a given n,
 *                whatever the thread count.
 * dstate_initial: NULL or [S][n], receives dL/d state before step 0.
 * dx:            NULL or [steps][n], receives dL/dx_s through the preprocessing (x held as the
 *                LSTM input only; for second-derivative modes).
 * segment: as for l2l_step (the step's averages are recomputed from the record).
 * flags: L2L_CHECK_FINITE validates phi, record, dloss_ddelta and dstate_final first.
 * One step at a time: record + s R n (the record of step s) with steps = 1 is the backward pass
 * of step s alone, given dL/d delta_s and dL/d state after the step (dstate_final); its
 * dstate_initial is the next call's dstate_final (for step s - 1), its dphi that step's part of
 * the sum.  Estimators that act between steps use it: with exact second derivatives, dx of step
 * s feeds a Hessian-vector product of the optimizee, dL/d theta_s += H(theta_s) dL/dx_s, which
 * flows into dL/d delta_{s-1} (paper section 2 with the second derivatives kept).
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT, NON_FINITE (see l2l_last_non_finite()),
 * OUT_OF_MEMORY (workspace, or a CPU context's scratch or bfloat16 copy of phi's weights), CUDA.
 * Memory: the context allocates a workspace for the partial sums of dphi (on the CPU,
 * ceil(n / 2048) x phi_size doubles) when a call needs a larger one than it has, and keeps it;
 * with averaging units also (2 S + 2 max_l H_l) x n floats (800 bytes per coordinate for 20, 20)
 * for the state after each step and the gradients between the layer passes (on CUDA in the
 * same workspace, after the partial sums). */
L2L_API int32_t l2l_backward(l2l_context* ctx, const l2l_model* model, const float* phi,
                             int64_t n, int32_t steps, const float* record,
                             const float* dloss_ddelta, const float* dstate_final, double* dphi,
                             float* dstate_initial, float* dx, int64_t segment, int32_t flags);

/* ---- what a value check found ---------------------------------------------------------- */
/* The inputs that L2L_CHECK_FINITE validates, in the order they are checked (l2l_step: phi, then
 * grad[k] and theta[k] for k = 0, 1, ..., then state; l2l_backward: phi, record, dloss_ddelta,
 * dstate_final). */
typedef enum l2l_input {
    L2L_INPUT_NONE = 0,         /* no value check failed */
    L2L_INPUT_PHI = 1,          /* phi [phi_size] */
    L2L_INPUT_GRAD = 2,         /* grad[k] [sizes[k]] */
    L2L_INPUT_THETA = 3,        /* theta[k] [sizes[k]] */
    L2L_INPUT_STATE = 4,        /* state [S][n] */
    L2L_INPUT_RECORD = 5,       /* record [steps][R][n] */
    L2L_INPUT_DLOSS_DDELTA = 6, /* dloss_ddelta [steps][n] */
    L2L_INPUT_DSTATE_FINAL = 7  /* dstate_final [S][n] */
} l2l_input;

/* What the value check of the last l2l_step or l2l_backward on this thread found, when that
 * call returned L2L_ERR_NON_FINITE: *input receives the l2l_input holding the first NaN or +-Inf
 * (in the order above), *tensor the tensor k for grad and theta (-1 for the other inputs), and
 * *index the element's offset in that input (in elements, in the layout given above; for grad
 * and theta within tensor k).  Returns 1 then.  Otherwise (the call succeeded or failed for
 * another reason, or no such call was made on this thread) returns 0 and writes L2L_INPUT_NONE,
 * -1 and -1.  l2l_step and l2l_backward clear it when they start; nothing else changes it.
 * Thread-local, like l2l_last_error().  Each pointer may be NULL. */
L2L_API int32_t l2l_last_non_finite(int32_t* input, int32_t* tensor, int64_t* index);

/* ---- optimizee kernels: MLP classifiers ------------------------------------------------- */
/*
 * The element-wise parts of a multilayer-perceptron optimizee (the paper's MNIST optimizee,
 * Andrychowicz et al. 2016 section 3.2), so that its loss and gradient can be
 * computed where the context computes, next to the LSTM: the matrix products themselves are
 * left to a BLAS (OpenBLAS on the CPU, cuBLAS on CUDA, on l2l_context_stream()).
 *
 * Layout: a meta-batch of `batch` MLPs (instances) evaluated on `rows` examples each; every
 * activation matrix is float32 [batch][rows][cols], row-major, instance after instance.  A
 * per-instance vector (a bias, a bias gradient) of instance b starts at b * stride floats, so
 * that it can sit inside that instance's parameter vector theta_b (stride = the dimension).
 * Hidden layer: Z = A_prev W^T + b, A = act(Z); output layer: logits Z, loss the mean over the
 * rows of the softmax cross-entropy log sum_j exp(z_j) - z_label.  Backward (chain rule):
 * dZ_out = scale (softmax(Z) - onehot(label)) / rows, db = column sums of dZ,
 * dA_prev = dZ W, dZ_prev = dA_prev * act'(Z_prev).
 *
 * NaN propagates through every kernel (ReLU is written so that it does not swallow NaN).  An
 * index or label out of range is never dereferenced: the row it would produce is NaN (and its
 * label -1), so that it shows in the loss.  Like the step, these calls are queued on a CUDA
 * context's stream and do not synchronize (except the L2L_CHECK_INDICES pre-pass).
 */
typedef enum l2l_activation {
    L2L_ACTIVATION_IDENTITY = 0, /* act(z) = z */
    L2L_ACTIVATION_SIGMOID = 1,  /* act(z) = 1 / (1 + e^-z);  act' = a (1 - a) with a = act(z) */
    L2L_ACTIVATION_RELU = 2      /* act(z) = max(z, 0);        act' = 1 where a > 0, else 0 */
} l2l_activation;

/* Call option bit of l2l_mlp_gather. */
#define L2L_CHECK_INDICES 2 /* reject an index outside [0, examples) before anything is written */

/* Gathers a minibatch from a data set resident where ctx computes:
 *   x[r][f] = images[indices[r]][f],  y[r] = labels[indices[r]]   for r < rows, f < features.
 * images: float32 [examples][features]; labels: int32 [examples]; indices: int32 [rows] (for a
 * meta-batch, rows = batch * examples per instance, instance after instance); x: float32
 * [rows][features]; y: int32 [rows].  An index outside [0, examples) gives a NaN row and label
 * -1, or with flags = L2L_CHECK_INDICES the error INVALID_ARGUMENT (naming the first such index)
 * before anything is written.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (examples, features or rows < 1, unknown flags, an
 * index out of range with L2L_CHECK_INDICES), CUDA. */
L2L_API int32_t l2l_mlp_gather(l2l_context* ctx, int64_t examples, int32_t features,
                               const float* images, const int32_t* labels, int64_t rows,
                               const int32_t* indices, float* x, int32_t* y, int32_t flags);

/* Bias and activation of a layer, in place:  z[b][r][j] = act(z[b][r][j] + bias[b * bias_stride + j])
 * for b < batch, r < rows, j < cols.  act: an l2l_activation (IDENTITY for the output layer).
 * bias_stride >= 0 (0: every instance shares one bias).
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (batch, rows or cols < 1, bias_stride < 0, unknown
 * activation), CUDA. */
L2L_API int32_t l2l_mlp_bias_activation(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                                        float* z, const float* bias, int64_t bias_stride,
                                        int32_t activation);

/* Through the activation, in place:  delta[k] *= act'(z_k), with the derivative written in terms
 * of the layer's output a[k] = act(z_k) (see l2l_activation), for k < count.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (count < 1, unknown activation), CUDA. */
L2L_API int32_t l2l_mlp_activation_backward(l2l_context* ctx, int64_t count, const float* a,
                                            float* delta, int32_t activation);

/* Bias gradient:  db[b * db_stride + j] = sum_r delta[b][r][j], summed in float64 over the rows
 * in order (deterministic), for b < batch, j < cols.  db_stride >= cols when batch > 1.
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (batch, rows or cols < 1, db_stride too small), CUDA. */
L2L_API int32_t l2l_mlp_bias_gradient(l2l_context* ctx, int32_t batch, int64_t rows, int32_t cols,
                                      const float* delta, float* db, int64_t db_stride);

/* Softmax cross-entropy of `batch` instances, forward and backward at once:
 *   loss[b]          = (1 / rows) sum_r ( log sum_j exp(z[b][r][j]) - z[b][r][labels[b][r]] )
 *   dlogits[b][r][j] = scale * (softmax(z[b][r])_j - [j = labels[b][r]]) / rows
 * logits, dlogits: float32 [batch][rows][classes] (dlogits may alias logits); labels: int32
 * [batch][rows]; loss: float64 [batch].  Each row is computed in float64 (log-sum-exp with the
 * row maximum subtracted); loss[b] sums the rows in a fixed order (bitwise reproducible on one
 * device).  A label outside [0, classes) makes its row's loss and gradient NaN.  scale: finite
 * (1 for the gradient of the mean loss; 1/B for the reference code's mean-gradient input).
 * Errors: NULL_ARGUMENT, INVALID_ARGUMENT (batch, rows < 1, classes < 2, scale not finite), CUDA. */
L2L_API int32_t l2l_mlp_softmax_cross_entropy(l2l_context* ctx, int32_t batch, int64_t rows,
                                              int32_t classes, const float* logits,
                                              const int32_t* labels, float scale, float* dlogits,
                                              double* loss);

#ifdef __cplusplus
}
#endif

#endif /* L2L_H */
