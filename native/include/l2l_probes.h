/*
 * l2l_probes.h -- machine probes for benchmarks, not part of the library's API.
 *
 * libl2l exports these functions for its benchmarks only: they may change or disappear in any
 * version.  Status codes, contexts and errors are those of l2l.h.
 */
#ifndef L2L_PROBES_H
#define L2L_PROBES_H

#include "l2l.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Small kernels that measure the processor's limits, so that the step and backward pass can be
 * stated as fractions of a roofline: min(peak, bandwidth x arithmetic intensity).  They run on
 * the context's kernel set (l2l_context_cpu_isa) and split their work over its threads
 * (l2l_context_threads shares, taken dynamically by the worker pool); time them from outside.
 * Each returns WRONG_CONTEXT for a CUDA context and NULL_ARGUMENT for a NULL pointer. */

/* The float32 multiply-add peak: each of the context's threads runs at least flops_per_thread (in
 * [1, 2^50], 2^50 being about three hours at 100 GFLOP/s; else INVALID_ARGUMENT) floating-point
 * operations of independent multiply-add chains on full vector registers, enough chains to cover
 * the latency of every FMA port (16 chains of 16 floats for avx512, avx512bf16, amx and
 * amx-emulated, 12 of 8 for avx2, 12 of 4 for baseline, where a multiply and an add replace the
 * FMA).  A multiply-add counts as 2 operations per float.  flops_done receives the operations done
 * by all threads: threads x flops_per_thread rounded up to a whole number of rounds (exact when
 * flops_per_thread is a multiple of 3 x 2^9). */
L2L_API int32_t l2l_cpu_probe_fma(l2l_context* ctx, int64_t flops_per_thread, double* flops_done);

/* The bfloat16 dot-product peak, the roofline of the BF16_PRODUCTS kernels' products (l2l.h,
 * "Precision"): as l2l_cpu_probe_fma, with chains of bfloat16 pair products added to float32
 * (vdpbf16ps on the avx512bf16 and amx sets; the software arithmetic on the others, which is no
 * peak of the machine).  Each instruction does 2 multiply-adds per float32 lane, 4 operations; a
 * round is 16 chains of 16 lanes on avx512, avx512bf16, amx and amx-emulated (exact for
 * multiples of 3 x 2^10). */
L2L_API int32_t l2l_cpu_probe_bf16_dot(l2l_context* ctx, int64_t flops_per_thread, double* flops_done);

/* The AMX tile peak, the roofline of the amx kernel set's gate products (TDPBF16PS on the tiles):
 * as l2l_cpu_probe_fma, with rounds of 4 independent TDPBF16PS on 4 accumulator tiles (2 A
 * tiles x 2 B tiles, loaded once).  One TDPBF16PS does 16 rows x 16 columns x 16 words x 2
 * bfloat16 products, each a multiply and an add: 16,384 operations; a round 65,536 (exact for
 * multiples of 2^16; other counts rounded up to whole rounds, flops_per_thread in [1, 2^50] else
 * INVALID_ARGUMENT).  The A and B tiles are loaded once per piece of work the pool hands out
 * (64 per thread), not per round.  Runs on the amx set and on amx-emulated, where it measures the
 * tiles' software model, which is no peak of the machine; the other kernel sets have no tiles:
 * WRONG_CONTEXT (checked before flops_per_thread), l2l_last_error() naming the context's set.
 * On an error *flops_done is left as it was. */
L2L_API int32_t l2l_cpu_probe_amx(l2l_context* ctx, int64_t flops_per_thread, double* flops_done);

/* Memory bandwidth: STREAM's triad a[i] = b[i] + s c[i] for i < n (n >= 1, else
 * INVALID_ARGUMENT), split over the context's threads.  STREAM counts 12 bytes per element
 * (two floats read, one written); the write-allocate read of a is not counted.  Use arrays much
 * larger than the last-level cache. */
L2L_API int32_t l2l_cpu_probe_triad(l2l_context* ctx, float* a, const float* b, const float* c,
                                    float s, int64_t n);

/* The transcendental part of the step: the cell update of one layer of 20 units (3 sigmoids,
 * 2 tanh and the cell products per unit, the code the step runs) on tiles_per_thread (>= 1,
 * else INVALID_ARGUMENT) tiles of 128 coordinates held in the caches, per thread: 2,560
 * coordinate-units, 12,800 transcendentals per tile. */
L2L_API int32_t l2l_cpu_probe_cells(l2l_context* ctx, int64_t tiles_per_thread);

#ifdef __cplusplus
}
#endif

#endif /* L2L_PROBES_H */
