/* The CPU kernels compiled for the avx2 instruction set (flags in native/CMakeLists.txt). */
#define L2L_ISA_NS isa_avx2
#define L2L_ISA_NAME "avx2"
#define L2L_ISA_TABLE kKernelsAvx2
#define L2L_ISA_FLOATS 8
#include "cpu_kernels.inc"
