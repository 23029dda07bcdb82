/* fi_activation.h: elementwise activation functions phi and their derivatives, float32 and
 * float64, forward and backward. The interface is fixed (the deep-stack engine, fi_stack.c, and
 * src/fastinit/_activation.pyx code against it); the enum values are those of
 * fastinit.activations.get_activation(...).code.
 *
 * Every path (baseline, AVX2) gives the same bits: the kernels use fastinit's own polynomials
 * (fi_vmath.h), never libm, FMA or approximate reciprocals. Every function is finite and correct
 * over the whole float range (subnormals, +-0, huge values); NaN in gives NaN out and +-inf gives
 * the limit. Kernels run single-threaded; callers parallelize. */
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
