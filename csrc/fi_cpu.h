/* fi_cpu.h: which SIMD path the kernels take. Chosen once from the CPU and the environment
 * variable FASTINIT_SIMD ("auto" (default), "avx2", "baseline"); tests switch it at run time.
 * Sampling and elementwise kernels give the same bits on every path. */
#ifndef FI_CPU_H
#define FI_CPU_H

typedef enum { FI_SIMD_BASELINE = 0, FI_SIMD_AVX2 = 1 } fi_simd_path;

/* 1 if this CPU can run the AVX2+FMA kernels and they were compiled in. */
int fi_cpu_has_avx2(void);
/* The path in use now. */
fi_simd_path fi_simd_current(void);
/* Request a path; returns the path actually selected (AVX2 falls back to baseline when the CPU
 * or the build lacks it). */
fi_simd_path fi_simd_select(fi_simd_path wanted);
const char *fi_simd_name(fi_simd_path p);

#endif
