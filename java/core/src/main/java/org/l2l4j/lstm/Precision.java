package org.l2l4j.lstm;

/**
 * The arithmetic of the LSTM's matrix products, in the step and the backward pass (l2l.h,
 * "Precision"). Any phi runs in either mode: the precision belongs to the configuration the
 * kernels run, not to phi (a checkpoint records it and loads in it;
 * {@link OptimizerCheckpoint#withPrecision} chooses another).
 */
public enum Precision {
    /** Every operation in float32 (the default). */
    FLOAT32,
    /**
     * The gate products W [u; h], W^T dz and dz [u; h]^T with operands rounded to bfloat16 (8
     * significant bits, round to nearest even) and exact products accumulated in float32, two per
     * step; the preprocessing, biases, cell update, state, record and output layer stay float32.
     * These run on bfloat16 dot-product units (the "avx512bf16" and "amx" CPU kernel sets, x86's
     * vdpbf16ps and, for the gate products and W^T dz, AMX tiles); the other CPU kernel sets
     * compute the products with the same arithmetic in software (the avx512 set gives the same
     * bits); the CUDA backend runs them on the tensor cores (mma.sync m16n8k16, float32
     * accumulation in the instruction's own order). In the tests' cases each output (delta, h, c,
     * each dphi tensor, dstate_initial, dx) stays within 2e-2 of its largest reference magnitude;
     * over many random calls the median error is 0.3%, with a tail that l2l.h ("Precision")
     * measures: dx, which carries log-and-sign's derivative of up to e^p, reached 6.7%.
     */
    BF16_PRODUCTS
}
