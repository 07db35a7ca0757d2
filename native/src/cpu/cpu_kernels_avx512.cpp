/* The CPU kernels compiled for the avx512 instruction set (flags in native/CMakeLists.txt). */
#define L2L_ISA_NS isa_avx512
#define L2L_ISA_NAME "avx512"
#define L2L_ISA_TABLE kKernelsAvx512
#define L2L_ISA_FLOATS 16
#include "cpu_kernels.inc"
