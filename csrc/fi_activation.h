/* fi_activation.h: elementwise activation functions phi and their derivatives, float32 and
 * float64, forward and backward. The interface is fixed (the deep-stack engine, fi_stack.c, and
 * src/fastinit/_activation.pyx code against it); the enum values are those of
 * fastinit.activations.get_activation(...).code.
 *
 * Every path (baseline, AVX2) gives the same bits: the kernels use fastinit's own polynomials
 * (fi_vmath.h), never libm, FMA or approximate reciprocals. Every function is finite and correct
 * over the whole float range (subnormals, +-0, huge values); NaN in gives NaN out and +-inf gives
 * the limit. Kernels run single-threaded; callers parallelize.
 *
 * Implementation: fi_activation_kernels.h, compiled once per path (fi_activation_baseline.c,
 * fi_activation_avx2.c); fi_activation.c picks the path with fi_simd_current() (FASTINIT_SIMD,
 * fastinit.set_simd_path). Accuracy against an extended-precision reference, over dense grids,
 * tails and every binade (tests/test_activation_kernels.py): phi and phi' within 3.6 ulps of the
 * dtype for every activation in float64 and float32 (float64 gelu checked against mpmath, as
 * SciPy's erfcx is itself off by up to 5 ulps), except float32 gelu (4.2 ulps). Where phi'
 * crosses zero (swish, gelu, gelu_tanh) the error is relative to the size of its terms.
 * erf, gelu and gelu_tanh have no rounding of x^2 or u: e^(-x^2) is taken from the exact square,
 * float64 gelu_tanh carries u in double-double, float32 gelu_tanh runs in float64 lanes. */
#ifndef FI_ACTIVATION_H
#define FI_ACTIVATION_H

#include <stdint.h>

typedef enum { FI_ACT_LINEAR = 0, FI_ACT_SIGMOID = 1, FI_ACT_TANH = 2, FI_ACT_ERF = 3, FI_ACT_RELU = 4,
               FI_ACT_LEAKY_RELU = 5, FI_ACT_ELU = 6, FI_ACT_SELU = 7, FI_ACT_SOFTPLUS = 8,
               FI_ACT_SWISH = 9, FI_ACT_GELU = 10, FI_ACT_GELU_TANH = 11, FI_ACT_COUNT = 12 } fi_act;
/* h[i] = phi(z[i]); p0 = slope (leaky_relu) or alpha (elu), ignored otherwise. Single-threaded,
   callers parallelize; z and h may alias. Cannot fail. */
void fi_act_forward_f32(fi_act act, double p0, const float *z, float *h, int64_t n);
void fi_act_forward_f64(fi_act act, double p0, const double *z, double *h, int64_t n);
/* dz[i] = g[i] * phi'(z[i]); dz may alias g. */
void fi_act_backward_f32(fi_act act, double p0, const float *z, const float *g, float *dz, int64_t n);
void fi_act_backward_f64(fi_act act, double p0, const double *z, const double *g, double *dz, int64_t n);
/* Both at once (the engine's forward pass keeps phi'(z) for the backward pass when memory allows). */
void fi_act_forward_deriv_f32(fi_act act, double p0, const float *z, float *h, float *dphi, int64_t n);
void fi_act_forward_deriv_f64(fi_act act, double p0, const double *z, double *h, double *dphi, int64_t n);

#endif
