/* The CPU kernels compiled for the avx512bf16 instruction set: the avx512 kernels, whose
 * bfloat16 products (L2L_BF16_PRODUCTS) run vdpbf16ps (flags in native/CMakeLists.txt). */
#define L2L_ISA_NS isa_avx512bf16
#define L2L_ISA_NAME "avx512bf16"
#define L2L_ISA_TABLE kKernelsAvx512Bf16
#define L2L_ISA_FLOATS 16
#define L2L_ISA_BF16 1
#include "cpu_kernels.inc"
