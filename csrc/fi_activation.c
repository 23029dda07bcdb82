/* fi_activation.c: activation kernels (fi_activation.h). First version: scalar float64 libm
 * formulas for both dtypes (correct, not yet vectorized). */
#include "fi_activation.h"

#include <math.h>

#define FI_SELU_ALPHA 1.6732632423543772848170429916717
#define FI_SELU_SCALE 1.0507009873554804934193349852946
#define FI_SQRT1_2 0.70710678118654752440
#define FI_2_SQRTPI 1.12837916709551257390
#define FI_1_SQRT2PI 0.39894228040143267794
#define FI_SQRT_2_PI 0.79788456080286535588

static double fi_sig(double x) {
    double t = exp(-fabs(x));
    double r = 1.0 / (1.0 + t);
    return x >= 0 ? r : t * r;
}

static double fi_ndtr(double x) {
    double a = x * FI_SQRT1_2;
    if (fabs(a) < FI_SQRT1_2) return 0.5 + 0.5 * erf(a);
    double y = 0.5 * erfc(fabs(a));
    return a > 0 ? 1.0 - y : y;
}

static void fi_act_scalar(fi_act act, double p0, double x, double *f, double *d) {
    double s, e, xc, u, t;
    if (x != x) { *f = x; *d = x; return; }
    switch (act) {
    case FI_ACT_LINEAR: *f = x; *d = 1.0; break;
    case FI_ACT_SIGMOID: s = fi_sig(x); *f = s; *d = s * fi_sig(-x); break;
    case FI_ACT_TANH:
        *f = tanh(x);
        e = exp(-2.0 * fmin(fabs(x), 400.0));
        *d = 4.0 * e / ((1.0 + e) * (1.0 + e));
        break;
    case FI_ACT_ERF:
        *f = erf(x);
        xc = fmin(fabs(x), 30.0);
        *d = FI_2_SQRTPI * exp(-xc * xc);
        break;
    case FI_ACT_RELU: *f = x > 0 ? x : 0.0; *d = x > 0 ? 1.0 : 0.0; break;
    case FI_ACT_LEAKY_RELU: *f = x > 0 ? x : p0 * x; *d = x > 0 ? 1.0 : p0; break;
    case FI_ACT_ELU:
        *f = x > 0 ? x : p0 * expm1(x);
        *d = x > 0 ? 1.0 : p0 * exp(x);
        break;
    case FI_ACT_SELU:
        *f = FI_SELU_SCALE * (x > 0 ? x : FI_SELU_ALPHA * expm1(x));
        *d = FI_SELU_SCALE * (x > 0 ? 1.0 : FI_SELU_ALPHA * exp(x));
        break;
    case FI_ACT_SOFTPLUS:
        *f = fmax(x, 0.0) + log1p(exp(-fabs(x)));
        *d = fi_sig(x);
        break;
    case FI_ACT_SWISH:
        xc = fmax(x, -1e300);
        s = fi_sig(x);
        *f = xc * s;
        *d = s * (1.0 + xc * fi_sig(-x));
        break;
    case FI_ACT_GELU:
        xc = fmax(fmin(x, 40.0), -40.0);
        s = fi_ndtr(x);
        *f = fmax(x, -1e300) * s;
        *d = s + xc * (exp(-0.5 * xc * xc) * FI_1_SQRT2PI);
        break;
    case FI_ACT_GELU_TANH:
        xc = fmax(fmin(x, 1e4), -1e4);
        u = FI_SQRT_2_PI * (xc + 0.044715 * xc * xc * xc);
        s = fi_sig(2.0 * u);
        *f = fmax(x, -1e300) * s;
        t = FI_SQRT_2_PI * (1.0 + 3.0 * 0.044715 * xc * xc);
        *d = s + 2.0 * xc * (s * fi_sig(-2.0 * u)) * t;
        break;
    default: *f = x; *d = 1.0; break;
    }
}

void fi_act_forward_f32(fi_act act, double p0, const float *z, float *h, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) { fi_act_scalar(act, p0, z[i], &f, &d); h[i] = (float)f; }
}
void fi_act_forward_f64(fi_act act, double p0, const double *z, double *h, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) { fi_act_scalar(act, p0, z[i], &f, &d); h[i] = f; }
}
void fi_act_backward_f32(fi_act act, double p0, const float *z, const float *g, float *dz, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) { fi_act_scalar(act, p0, z[i], &f, &d); dz[i] = g[i] * (float)d; }
}
void fi_act_backward_f64(fi_act act, double p0, const double *z, const double *g, double *dz, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) { fi_act_scalar(act, p0, z[i], &f, &d); dz[i] = g[i] * d; }
}
void fi_act_forward_deriv_f32(fi_act act, double p0, const float *z, float *h, float *dphi, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) {
        fi_act_scalar(act, p0, z[i], &f, &d);
        h[i] = (float)f;
        dphi[i] = (float)d;
    }
}
void fi_act_forward_deriv_f64(fi_act act, double p0, const double *z, double *h, double *dphi, int64_t n) {
    double f, d;
    for (int64_t i = 0; i < n; i++) {
        fi_act_scalar(act, p0, z[i], &f, &d);
        h[i] = f;
        dphi[i] = d;
    }
}
