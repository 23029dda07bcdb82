/* fi_activation_kernels.h: the activation kernels (fi_activation.h), included once per SIMD path
 * by fi_activation_baseline.c and fi_activation_avx2.c with FI_PATH set to the path's suffix, so
 * every path runs the same source (see fi_vec.h for why that gives the same bits). The top part
 * (the kernel table type) is shared with the dispatcher fi_activation.c. */
#ifndef FI_ACTIVATION_KERNELS_TABLE_H
#define FI_ACTIVATION_KERNELS_TABLE_H

#include <stdint.h>

#include "fi_activation.h"

typedef void (*fi_act_fwd32_fn)(double p0, const float *z, float *h, int64_t n);
typedef void (*fi_act_fwd64_fn)(double p0, const double *z, double *h, int64_t n);
typedef void (*fi_act_bwd32_fn)(double p0, const float *z, const float *g, float *dz, int64_t n);
typedef void (*fi_act_bwd64_fn)(double p0, const double *z, const double *g, double *dz, int64_t n);
typedef void (*fi_act_fd32_fn)(double p0, const float *z, float *h, float *dphi, int64_t n);
typedef void (*fi_act_fd64_fn)(double p0, const double *z, double *h, double *dphi, int64_t n);

/* One path's kernels, indexed by fi_act. */
typedef struct {
    fi_act_fwd32_fn fwd32[FI_ACT_COUNT];
    fi_act_fwd64_fn fwd64[FI_ACT_COUNT];
    fi_act_bwd32_fn bwd32[FI_ACT_COUNT];
    fi_act_bwd64_fn bwd64[FI_ACT_COUNT];
    fi_act_fd32_fn fd32[FI_ACT_COUNT];
    fi_act_fd64_fn fd64[FI_ACT_COUNT];
} fi_act_table;

extern const fi_act_table fi_act_table_baseline;
#ifdef FI_BUILD_AVX2
extern const fi_act_table fi_act_table_avx2;
#endif

#endif /* FI_ACTIVATION_KERNELS_TABLE_H */

#ifdef FI_PATH
#include "fi_vmath.h"

#define FI_CAT_(a, b) a##_##b
#define FI_CAT(a, b) FI_CAT_(a, b)
#define FI_K(name) FI_CAT(name, FI_PATH)
#define FI_INLINE static inline __attribute__((always_inline))

#define FI_SELU_ALPHA 1.6732632423543772848170429916717
#define FI_SELU_SCALE 1.0507009873554804934193349852946
#define FI_SQRT_2_PI 0.79788456080286535588
#define FI_GELU_TANH_C 0.044715

/* Each evaluator gives f = phi(x) and d = phi'(x) for one vector; the loops below inline it and
 * the compiler drops whichever of the two a loop does not store. Clamps keep every intermediate
 * finite where the result has already reached its limit, so +-inf gives the limit. */

/* ---- float32 -------------------------------------------------------------------------------- */

FI_INLINE void ev_linear_8f(v8f x, double p0, v8f *f, v8f *d) {
    *f = x;
    *d = fi_nanpass8f(x, fi_splat8f(1.0f));
}
FI_INLINE void ev_relu_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8i neg = x <= 0.0f; /* false for NaN: NaN passes */
    *f = fi_sel8f(neg, fi_splat8f(0.0f), x);
    *d = fi_nanpass8f(x, fi_sel8f(neg, fi_splat8f(0.0f), fi_splat8f(1.0f)));
}
FI_INLINE void ev_leaky_relu_8f(v8f x, double p0, v8f *f, v8f *d) {
    float a = (float)p0;
    v8i pos = x > 0.0f;
    *f = fi_sel8f(pos, x, x * a);
    *d = fi_nanpass8f(x, fi_sel8f(pos, fi_splat8f(1.0f), fi_splat8f(a)));
}
/* e^x - 1 and e^x for x <= 0 (x > 0 lanes: garbage), one reduction. + 0 turns -0 into +0, as
 * in the float64 registry (np.minimum(-0.0, 0.0) is +0). */
FI_INLINE void expm1_exp_neg8f(v8f x, v8f *em1, v8f *e) {
    v8i n;
    v8f p = fi_expm1_red8f(fi_clamp8f(x, -110.0f, 0.0f) + 0.0f, &n);
    *em1 = fi_expm1_from8f(p, n);
    *e = fi_exp_from8f(p, n);
}
/* ELU family: s * (x > 0 ? x : a (e^x - 1)), derivative s * (x > 0 ? 1 : a e^x). */
FI_INLINE void elu_8f(v8f x, float s, float sa, v8f *f, v8f *d) {
    v8f em1, e;
    expm1_exp_neg8f(x, &em1, &e);
    v8i pos = x > 0.0f;
    *f = fi_nanpass8f(x, fi_sel8f(pos, x * s, em1 * sa));
    *d = fi_nanpass8f(x, fi_sel8f(pos, fi_splat8f(s), e * sa));
}
FI_INLINE void ev_elu_8f(v8f x, double p0, v8f *f, v8f *d) { elu_8f(x, 1.0f, (float)p0, f, d); }
FI_INLINE void ev_selu_8f(v8f x, double p0, v8f *f, v8f *d) {
    elu_8f(x, (float)FI_SELU_SCALE, (float)(FI_SELU_SCALE * FI_SELU_ALPHA), f, d);
}
/* Sigmoid pieces: t = e^-|x| = 2^n pm (pm = 1 + p), r = 1/(1+t); sigma(x) = r for x >= 0 and t r
 * below, sigma(-x) the other one. Products that end up subnormal are formed from pm and scaled by
 * 2^n last (fi_ldexp8f), so they are rounded once instead of inheriting t's rounding. |x| is
 * clamped at 150 (float64: 1400), where e^-|x| times any factor a caller applies is already 0. */
FI_INLINE void sigmoid_parts8f(v8f x, v8f *pm, v8i *n, v8f *r, v8f *t) {
    v8f ax = fi_abs8f(x);
    v8f p = fi_expm1_red8f(fi_sel8f(ax > 150.0f, fi_splat8f(-150.0f), -ax), n);
    *pm = 1.0f + p;
    *t = fi_ldexp8f(*pm, *n);
    *r = 1.0f / (1.0f + *t);
}
FI_INLINE void ev_sigmoid_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f pm, r, t;
    v8i n;
    sigmoid_parts8f(x, &pm, &n, &r, &t);
    *f = fi_nanpass8f(x, fi_sel8f(x >= 0.0f, r, fi_ldexp8f(pm * r, n)));
    *d = fi_nanpass8f(x, fi_ldexp8f(pm * r * r, n));
}
FI_INLINE void ev_softplus_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f pm, r, t;
    v8i n;
    sigmoid_parts8f(x, &pm, &n, &r, &t);
    v8f xp = fi_sel8f(x > 0.0f, x, fi_splat8f(0.0f));
    *f = fi_nanpass8f(x, xp + fi_log1p01_8f(t));
    *d = fi_nanpass8f(x, fi_sel8f(x >= 0.0f, r, fi_ldexp8f(pm * r, n)));
}
/* x sigma(x); derivative sigma(x) (1 + x sigma(-x)). xn: x where e^x has not yet underflowed
 * to 0, xc: x kept finite. */
FI_INLINE void ev_swish_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f pm, r, t;
    v8i n;
    sigmoid_parts8f(x, &pm, &n, &r, &t);
    v8i pos = x >= 0.0f;
    v8f xn = fi_sel8f(x < -200.0f, fi_splat8f(-200.0f), x);
    v8f xc = fi_sel8f(x > FLT_MAX, fi_splat8f(FLT_MAX), x);
    *f = fi_nanpass8f(x, fi_sel8f(pos, x * r, fi_ldexp8f(xn * pm * r, n)));
    *d = fi_nanpass8f(x, fi_sel8f(pos, r * (1.0f + xc * (t * r)),
                                  fi_ldexp8f((pm * r) * (1.0f + xn * r), n)));
}
/* tanh|x| = -m / (2 + m), m = e^(-2|x|) - 1; tanh' = 4 e / (1 + e)^2, e = e^(-2|x|), scaled by
 * 2^(n+2) in one step so that subnormal derivatives are rounded once. */
FI_INLINE void ev_tanh_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f ax = fi_abs8f(x);
    v8f y = fi_sel8f(ax > 55.0f, fi_splat8f(-110.0f), -2.0f * ax);
    v8i n;
    v8f p = fi_expm1_red8f(y, &n);
    /* m = 2^n p + (2^n - 1) with a single scaling: below n = -126, m is -1 anyway (and the sign of
     * a zero m does not matter: copysign restores x's) */
    v8f s = fi_pow2i8f(n + ((-126 - n) & (n < -126)));
    v8f m = p * s + (s - 1.0f);
    *f = fi_nanpass8f(x, fi_copysign8f(-m / (2.0f + m), x));
    v8f e = fi_exp_from8f(p, n), e1 = 1.0f + e;
    *d = fi_nanpass8f(x, fi_ldexp8f((1.0f + p) / (e1 * e1), n + 2));
}

FI_INLINE void ev_erf_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f fe, de;
    fi_erf8f(x, &fe, &de);
    *f = fi_nanpass8f(x, fe);
    *d = fi_nanpass8f(x, de);
}
/* x Phi(x); derivative Phi(x) + x phi(x) (as ev_gelu_4d). */
FI_INLINE void ev_gelu_8f(v8f x, double p0, v8f *f, v8f *d) {
    v8f xc = fi_clamp8f(x, -15.0f, 15.0f), cdf, pm, g;
    v8i n, lower;
    fi_ndtr_parts8f(xc, &cdf, &pm, &g, &n, &lower);
    v8f xn = fi_sel8f(x < -15.0f, xc, x);
    v8f pdfm = pm * (float)FI_1_SQRT2PI;
    *f = fi_nanpass8f(x, fi_sel8f(lower, fi_ldexp8f(xn * (pm * g), n), xn * cdf));
    *d = fi_nanpass8f(x, fi_sel8f(lower, fi_ldexp8f(pm * g + xc * pdfm, n),
                                  cdf + xc * fi_ldexp8f(pdfm, n)));
}

/* gelu_tanh in float32 is computed in float64 lanes: the rounding error of u, multiplied by |2u|
 * in the lower tail, stays far below a float32 ulp there. */
FI_INLINE void ev_gelu_tanh_f32_4d(v4d x, double p0, v4d *f, v4d *d);
#define FI_VIA_F64(NAME, F64)                                                                   \
    FI_INLINE void ev_##NAME##_8f(v8f x, double p0, v8f *f, v8f *d) {                           \
        v4d lo, hi, flo, fhi, dlo, dhi;                                                          \
        fi_8f_to_4d(x, &lo, &hi);                                                                \
        ev_##F64##_4d(lo, p0, &flo, &dlo);                                                       \
        ev_##F64##_4d(hi, p0, &fhi, &dhi);                                                      \
        *f = fi_4d_to_8f(flo, fhi);                                                              \
        *d = fi_4d_to_8f(dlo, dhi);                                                              \
    }

/* ---- float64 -------------------------------------------------------------------------------- */

FI_INLINE void ev_linear_4d(v4d x, double p0, v4d *f, v4d *d) {
    *f = x;
    *d = fi_nanpass4d(x, fi_splat4d(1.0));
}
FI_INLINE void ev_relu_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4l neg = x <= 0.0;
    *f = fi_sel4d(neg, fi_splat4d(0.0), x);
    *d = fi_nanpass4d(x, fi_sel4d(neg, fi_splat4d(0.0), fi_splat4d(1.0)));
}
FI_INLINE void ev_leaky_relu_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4l pos = x > 0.0;
    *f = fi_sel4d(pos, x, x * p0);
    *d = fi_nanpass4d(x, fi_sel4d(pos, fi_splat4d(1.0), fi_splat4d(p0)));
}
FI_INLINE void expm1_exp_neg4d(v4d x, v4d *em1, v4d *e) {
    v4l n;
    v4d p = fi_expm1_red4d(fi_clamp4d(x, -760.0, 0.0) + 0.0, fi_splat4d(0.0), &n);
    *em1 = fi_expm1_from4d(p, n);
    *e = fi_exp_from4d(p, n);
}
FI_INLINE void ev_elu_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d em1, e;
    expm1_exp_neg4d(x, &em1, &e);
    v4l pos = x > 0.0;
    *f = fi_nanpass4d(x, fi_sel4d(pos, x, em1 * p0));
    *d = fi_nanpass4d(x, fi_sel4d(pos, fi_splat4d(1.0), e * p0));
}
FI_INLINE void ev_selu_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d em1, e;
    expm1_exp_neg4d(x, &em1, &e);
    v4l pos = x > 0.0;
    *f = fi_nanpass4d(x, fi_sel4d(pos, x, em1 * FI_SELU_ALPHA) * FI_SELU_SCALE);
    *d = fi_nanpass4d(x, fi_sel4d(pos, fi_splat4d(FI_SELU_SCALE),
                                   (e * FI_SELU_ALPHA) * FI_SELU_SCALE));
}
/* Same as sigmoid_parts8f; the argument may carry a low part (y = -|x| - sign(x) xlo). */
FI_INLINE void sigmoid_parts4d(v4d x, v4d xlo, v4d *pm, v4l *n, v4d *r, v4d *t) {
    v4d ax = fi_abs4d(x);
    v4l far = ax > 1400.0;
    v4d ylo = fi_sel4d(far, fi_splat4d(0.0), fi_sel4d(x >= 0.0, -xlo, xlo));
    v4d p = fi_expm1_red4d(fi_sel4d(far, fi_splat4d(-1400.0), -ax), ylo, n);
    *pm = 1.0 + p;
    *t = fi_ldexp4d(*pm, *n);
    *r = 1.0 / (1.0 + *t);
}
FI_INLINE void ev_sigmoid_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d pm, r, t;
    v4l n;
    sigmoid_parts4d(x, fi_splat4d(0.0), &pm, &n, &r, &t);
    *f = fi_nanpass4d(x, fi_sel4d(x >= 0.0, r, fi_ldexp4d(pm * r, n)));
    *d = fi_nanpass4d(x, fi_ldexp4d(pm * r * r, n));
}
FI_INLINE void ev_softplus_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d pm, r, t;
    v4l n;
    sigmoid_parts4d(x, fi_splat4d(0.0), &pm, &n, &r, &t);
    v4d xp = fi_sel4d(x > 0.0, x, fi_splat4d(0.0));
    *f = fi_nanpass4d(x, xp + fi_log1p01_4d(t));
    *d = fi_nanpass4d(x, fi_sel4d(x >= 0.0, r, fi_ldexp4d(pm * r, n)));
}
FI_INLINE void ev_swish_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d pm, r, t;
    v4l n;
    sigmoid_parts4d(x, fi_splat4d(0.0), &pm, &n, &r, &t);
    v4l pos = x >= 0.0;
    v4d xn = fi_sel4d(x < -1000.0, fi_splat4d(-1000.0), x);
    v4d xc = fi_sel4d(x > DBL_MAX, fi_splat4d(DBL_MAX), x);
    *f = fi_nanpass4d(x, fi_sel4d(pos, x * r, fi_ldexp4d(xn * pm * r, n)));
    *d = fi_nanpass4d(x, fi_sel4d(pos, r * (1.0 + xc * (t * r)),
                                   fi_ldexp4d((pm * r) * (1.0 + xn * r), n)));
}
FI_INLINE void ev_tanh_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d ax = fi_abs4d(x);
    v4d y = fi_sel4d(ax > 380.0, fi_splat4d(-760.0), -2.0 * ax);
    v4l n;
    v4d p = fi_expm1_red4d(y, fi_splat4d(0.0), &n);
    v4d s = fi_pow2i4d(n + ((-1022 - n) & (n < -1022)));
    v4d m = p * s + (s - 1.0);
    *f = fi_nanpass4d(x, fi_copysign4d(-m / (2.0 + m), x));
    v4d e = fi_exp_from4d(p, n), e1 = 1.0 + e;
    *d = fi_nanpass4d(x, fi_ldexp4d((1.0 + p) / (e1 * e1), n + 2));
}
FI_INLINE void ev_erf_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d fe, de;
    fi_erf4d(x, &fe, &de);
    *f = fi_nanpass4d(x, fe);
    *d = fi_nanpass4d(x, de);
}
/* x Phi(x); derivative Phi(x) + x phi(x). In the lower tail both are subnormal near x = -38,
 * so they are formed from the mantissa of e^(-x^2/2) and scaled last. */
FI_INLINE void ev_gelu_4d(v4d x, double p0, v4d *f, v4d *d) {
    v4d xc = fi_clamp4d(x, -40.0, 40.0), cdf, pm, g;
    v4l n, lower;
    fi_ndtr_parts4d(xc, &cdf, &pm, &g, &n, &lower);
    v4d xn = fi_sel4d(x < -40.0, xc, x);
    v4d pdfm = pm * FI_1_SQRT2PI;
    *f = fi_nanpass4d(x, fi_sel4d(lower, fi_ldexp4d(xn * (pm * g), n), xn * cdf));
    *d = fi_nanpass4d(x, fi_sel4d(lower, fi_ldexp4d(pm * g + xc * pdfm, n),
                                   cdf + xc * fi_ldexp4d(pdfm, n)));
}
/* x sigma(2u), u = sqrt(2/pi) (x + 0.044715 x^3) with the float64 constants, derivative
 * sigma(2u) + 2 x sigma(2u) sigma(-2u) u'. In float64 lanes 2u is carried as hi + lo (exact
 * products, Dekker): its rounding error would otherwise be multiplied by |2u| (hundreds of ulps
 * in the lower tail). |x| is clamped at 1e4, where sigma(2u) is exactly 0 or 1. */
FI_INLINE void gelu_tanh_4d(v4d x, int exact_u, v4d *f, v4d *d) {
    v4d xc = fi_clamp4d(x, -1e4, 1e4);
    v4d uh, ul = fi_splat4d(0.0);
    if (exact_u) {
        v4d h2, l2, h3, l3, h4, l4, h5, l5;
        fi_sqr_dd4d(xc, &h2, &l2);
        fi_mul_dd4d(xc, h2, &h3, &l3);
        l3 = l3 + xc * l2;
        fi_mul_dd4d(fi_splat4d(FI_GELU_TANH_C), h3, &h4, &l4);
        l4 = l4 + FI_GELU_TANH_C * l3;
        v4d s = xc + h4, bb = s - xc; /* two-sum: s + e = xc + h4 exactly */
        v4d e = (xc - (s - bb)) + (h4 - bb);
        e = e + l4;
        fi_mul_dd4d(fi_splat4d(FI_SQRT_2_PI), s, &h5, &l5);
        l5 = l5 + FI_SQRT_2_PI * e;
        uh = h5 + l5;                   /* renormalize */
        ul = l5 - (uh - h5);
        uh = 2.0 * uh;
        ul = 2.0 * ul;
    } else {
        uh = 2.0 * (FI_SQRT_2_PI * (xc + FI_GELU_TANH_C * xc * xc * xc));
    }
    v4d pm, r, t;
    v4l n;
    sigmoid_parts4d(uh, ul, &pm, &n, &r, &t);
    v4l pos = uh >= 0.0;
    v4d du = FI_SQRT_2_PI * (1.0 + 3.0 * FI_GELU_TANH_C * xc * xc);
    v4d xn = fi_sel4d(x < -1e4, xc, x);
    *f = fi_nanpass4d(x, fi_sel4d(pos, x * r, fi_ldexp4d(xn * pm * r, n)));
    v4d prn = pm * r;
    *d = fi_nanpass4d(x, fi_sel4d(pos, r + 2.0 * xc * (r * (t * r)) * du,
                                   fi_ldexp4d(prn + 2.0 * xc * (prn * r) * du, n)));
}
FI_INLINE void ev_gelu_tanh_4d(v4d x, double p0, v4d *f, v4d *d) { gelu_tanh_4d(x, 1, f, d); }
FI_INLINE void ev_gelu_tanh_f32_4d(v4d x, double p0, v4d *f, v4d *d) { gelu_tanh_4d(x, 0, f, d); }
FI_VIA_F64(gelu_tanh, gelu_tanh_f32)

/* ---- loops: whole vectors, then the tail through a zero-padded buffer ----------------------- */

#define FI_ACT_LOOPS(NAME, SFX, T, V, W, LD, ST)                                                \
    static void fwd_##NAME##_##SFX(double p0, const T *z, T *h, int64_t n) {                    \
        int64_t i = 0;                                                                           \
        V f, d;                                                                                  \
        for (; i + W <= n; i += W) {                                                             \
            ev_##NAME##_##SFX(LD(z + i), p0, &f, &d);                                            \
            ST(h + i, f);                                                                        \
        }                                                                                        \
        if (i < n) {                                                                             \
            T bz[W] = {0};                                                                       \
            memcpy(bz, z + i, (size_t)(n - i) * sizeof(T));                                      \
            ev_##NAME##_##SFX(LD(bz), p0, &f, &d);                                               \
            ST(bz, f);                                                                           \
            memcpy(h + i, bz, (size_t)(n - i) * sizeof(T));                                      \
        }                                                                                        \
    }                                                                                            \
    static void bwd_##NAME##_##SFX(double p0, const T *z, const T *g, T *dz, int64_t n) {       \
        int64_t i = 0;                                                                           \
        V f, d;                                                                                  \
        for (; i + W <= n; i += W) {                                                             \
            ev_##NAME##_##SFX(LD(z + i), p0, &f, &d);                                            \
            ST(dz + i, LD(g + i) * d);                                                           \
        }                                                                                        \
        if (i < n) {                                                                             \
            T bz[W] = {0}, bg[W] = {0};                                                          \
            memcpy(bz, z + i, (size_t)(n - i) * sizeof(T));                                      \
            memcpy(bg, g + i, (size_t)(n - i) * sizeof(T));                                      \
            ev_##NAME##_##SFX(LD(bz), p0, &f, &d);                                               \
            ST(bz, LD(bg) * d);                                                                  \
            memcpy(dz + i, bz, (size_t)(n - i) * sizeof(T));                                     \
        }                                                                                        \
    }                                                                                            \
    static void fd_##NAME##_##SFX(double p0, const T *z, T *h, T *dphi, int64_t n) {            \
        int64_t i = 0;                                                                           \
        V f, d;                                                                                  \
        for (; i + W <= n; i += W) {                                                             \
            ev_##NAME##_##SFX(LD(z + i), p0, &f, &d);                                            \
            ST(h + i, f);                                                                        \
            ST(dphi + i, d);                                                                     \
        }                                                                                        \
        if (i < n) {                                                                             \
            T bz[W] = {0};                                                                       \
            memcpy(bz, z + i, (size_t)(n - i) * sizeof(T));                                      \
            ev_##NAME##_##SFX(LD(bz), p0, &f, &d);                                               \
            ST(bz, f);                                                                           \
            memcpy(h + i, bz, (size_t)(n - i) * sizeof(T));                                      \
            ST(bz, d);                                                                           \
            memcpy(dphi + i, bz, (size_t)(n - i) * sizeof(T));                                   \
        }                                                                                        \
    }

#define FI_ACT_BOTH(NAME)                                                                       \
    FI_ACT_LOOPS(NAME, 8f, float, v8f, 8, fi_load8f, fi_store8f)                                \
    FI_ACT_LOOPS(NAME, 4d, double, v4d, 4, fi_load4d, fi_store4d)

FI_ACT_BOTH(linear)
FI_ACT_BOTH(sigmoid)
FI_ACT_BOTH(tanh)
FI_ACT_BOTH(erf)
FI_ACT_BOTH(relu)
FI_ACT_BOTH(leaky_relu)
FI_ACT_BOTH(elu)
FI_ACT_BOTH(selu)
FI_ACT_BOTH(softplus)
FI_ACT_BOTH(swish)
FI_ACT_BOTH(gelu)
FI_ACT_BOTH(gelu_tanh)

/* In fi_act order. */
#define FI_ACT_ROW(P, S)                                                                        \
    {P##_linear_##S, P##_sigmoid_##S, P##_tanh_##S, P##_erf_##S, P##_relu_##S,                  \
     P##_leaky_relu_##S, P##_elu_##S, P##_selu_##S, P##_softplus_##S, P##_swish_##S,            \
     P##_gelu_##S, P##_gelu_tanh_##S}

const fi_act_table FI_K(fi_act_table) = {
    FI_ACT_ROW(fwd, 8f), FI_ACT_ROW(fwd, 4d), FI_ACT_ROW(bwd, 8f),
    FI_ACT_ROW(bwd, 4d), FI_ACT_ROW(fd, 8f),  FI_ACT_ROW(fd, 4d),
};

#endif /* FI_PATH */
