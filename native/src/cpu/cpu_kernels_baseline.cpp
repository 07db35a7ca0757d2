/* The CPU kernels compiled for the baseline instruction set (flags in native/CMakeLists.txt). */
#define L2L_ISA_NS isa_baseline
#define L2L_ISA_NAME "baseline"
#define L2L_ISA_TABLE kKernelsBaseline
#define L2L_ISA_FLOATS 4
#include "cpu_kernels.inc"
