/* fi_math.h: fastinit's own vector elementary functions. The same operations in the same order
 * on every SIMD path (and replayed operation by operation by the NumPy reference in
 * tests/reference.py), so results are bitwise reproducible. Inputs are documented per function;
 * none of these handle NaN/inf or subnormal arguments, which the samplers never produce.
 * Polynomials are Taylor/atanh series truncated below half an ulp on the reduced range. */
#ifndef FI_MATH_H
#define FI_MATH_H

#include "fi_vec.h"

#define FI_SQRT2F 1.41421356237309504880f
#define FI_SQRT2 1.41421356237309504880
#define FI_LN2_HI_F 0.693145751953125f          /* 0x3f317200: e * LN2_HI exact for |e| < 2^9 */
#define FI_LN2_LO_F 1.428606765330187045e-06f
#define FI_LN2_HI 6.93147180369123816490e-01    /* fdlibm split */
#define FI_LN2_LO 1.90821492927058770002e-10
#define FI_PIO2F 1.57079632679489661923f
#define FI_PIO2 1.57079632679489661923
/* Bits of FI_SQRT2F / 2 and FI_SQRT2 / 2, plus one: the logarithms' reduction threshold. */
#define FI_LOG_OFF_F 0x3f3504f4
#define FI_LOG_OFF 0x3fe6a09e667f3bceull

/* ln(x) for normal x > 0 (float32): x = m 2^e with m in (sqrt(1/2), sqrt(2)],
 * ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, series to s^9.
 * The _n variants work on n independent vectors in place, every step applied to all n before the
 * next (the same operations per lane, so the same bits): n interleaved dependency chains keep the
 * pipelined units busy where one chain would wait on latencies. n is a compile-time constant at
 * every call (the loops unroll fully). */
#define FI_NMAX 8
#define FI_EACH(k, n) _Pragma("GCC unroll 8") for (int k = 0; k < (n); k++)
static inline __attribute__((always_inline)) void fi_log8f_n(v8f *x, int n) {
    v8f s[FI_NMAX], s2[FI_NMAX], p[FI_NMAX];
    v8i e[FI_NMAX];
    FI_EACH(k, n) {
        /* x = m 2^e, m in (sqrt(1/2), sqrt(2)] (FI_SQRT2F: m 2^-1 above sqrt(1/2) in float32 is
         * halved), by integer subtraction: t's top bits are e, x - t's exponent field is m. */
        v8i bits = (v8i)x[k], t = bits - FI_LOG_OFF_F;
        e[k] = t >> 23;
        v8f m = (v8f)(bits - (t & (int32_t)0xff800000));
        s[k] = (m - 1.0f) / (m + 1.0f);
    }
    FI_EACH(k, n) s2[k] = s[k] * s[k];
    FI_EACH(k, n) p[k] = s2[k] * (float)(1.0 / 9.0) + (float)(1.0 / 7.0);
    FI_EACH(k, n) p[k] = p[k] * s2[k] + (float)(1.0 / 5.0);
    FI_EACH(k, n) p[k] = p[k] * s2[k] + (float)(1.0 / 3.0);
    FI_EACH(k, n) p[k] = p[k] * s2[k] + 1.0f;
    FI_EACH(k, n) {
        v8f lnm = (s[k] + s[k]) * p[k];
        v8f ef = fi_i32_to_f32(e[k]);
        x[k] = ef * FI_LN2_HI_F + (ef * FI_LN2_LO_F + lnm);
    }
}
static inline v8f fi_log8f(v8f x) {
    fi_log8f_n(&x, 1);
    return x;
}

/* ln(x) for normal x > 0 (float64), series to s^21; n vectors in place as fi_log8f_n. */
static inline __attribute__((always_inline)) void fi_log4d_n(v4d *x, int n) {
    static const double c[10] = {1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0,
                                 1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,  1.0 / 3.0,  1.0};
    v4d s[FI_NMAX], s2[FI_NMAX], p[FI_NMAX];
    v4q e[FI_NMAX]; /* e + 2048 */
    FI_EACH(k, n) {
        /* as fi_log8f_n; AVX2 has no 64-bit arithmetic shift, so the exponent comes biased */
        v4q bits = (v4q)x[k], t = bits - FI_LOG_OFF;
        e[k] = (t ^ 0x8000000000000000ull) >> 52;
        v4d m = (v4d)(bits - (t & 0xfff0000000000000ull));
        s[k] = (m - 1.0) / (m + 1.0);
    }
    FI_EACH(k, n) s2[k] = s[k] * s[k];
    FI_EACH(k, n) p[k] = s2[k] * (1.0 / 21.0) + c[0];
#pragma GCC unroll 10
    for (int i = 1; i < 10; i++) FI_EACH(k, n) p[k] = p[k] * s2[k] + c[i];
    FI_EACH(k, n) {
        v4d lnm = (s[k] + s[k]) * p[k];
        v4d ef = (v4d)(e[k] + (0x4338000000000000ull - 2048)) - 6755399441055744.0; /* exact */
        x[k] = ef * FI_LN2_HI + (ef * FI_LN2_LO + lnm);
    }
}
static inline v4d fi_log4d(v4d x) {
    fi_log4d_n(&x, 1);
    return x;
}

/* sin and cos of a = t * pi/2 for t in [-1/2, 1/2] (|a| <= pi/4), float32; n vectors (t is
 * overwritten with sin, c receives cos), interleaved as fi_log8f_n. */
static inline __attribute__((always_inline)) void fi_sincos_halfpi8f_n(v8f *t, v8f *c, int n) {
    v8f a[FI_NMAX], a2[FI_NMAX], ps[FI_NMAX], pc[FI_NMAX];
    FI_EACH(k, n) a[k] = t[k] * FI_PIO2F;
    FI_EACH(k, n) a2[k] = a[k] * a[k];
    FI_EACH(k, n) {
        ps[k] = a2[k] * (float)(1.0 / 362880.0) + (float)(-1.0 / 5040.0);
        pc[k] = a2[k] * (float)(-1.0 / 3628800.0) + (float)(1.0 / 40320.0);
    }
    FI_EACH(k, n) {
        ps[k] = ps[k] * a2[k] + (float)(1.0 / 120.0);
        pc[k] = pc[k] * a2[k] + (float)(-1.0 / 720.0);
    }
    FI_EACH(k, n) {
        ps[k] = ps[k] * a2[k] + (float)(-1.0 / 6.0);
        pc[k] = pc[k] * a2[k] + (float)(1.0 / 24.0);
    }
    FI_EACH(k, n) {
        ps[k] = ps[k] * a2[k] + 1.0f;
        pc[k] = pc[k] * a2[k] + -0.5f;
    }
    FI_EACH(k, n) {
        t[k] = a[k] * ps[k];
        c[k] = pc[k] * a2[k] + 1.0f;
    }
}
static inline void fi_sincos_halfpi8f(v8f t, v8f *s, v8f *c) {
    fi_sincos_halfpi8f_n(&t, c, 1);
    *s = t;
}

/* Same in float64 (series to a^17 and a^18). */
static inline __attribute__((always_inline)) void fi_sincos_halfpi4d_n(v4d *t, v4d *c, int n) {
    static const double cs[8] = {1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0,
                                 -1.0 / 5040.0,      1.0 / 120.0,       -1.0 / 6.0,
                                 1.0,                0.0};
    static const double cc[8] = {-1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0,
                                 1.0 / 40320.0,        -1.0 / 720.0,       1.0 / 24.0,
                                 -0.5,                 1.0};
    v4d a[FI_NMAX], a2[FI_NMAX], ps[FI_NMAX], pc[FI_NMAX];
    FI_EACH(k, n) a[k] = t[k] * FI_PIO2;
    FI_EACH(k, n) a2[k] = a[k] * a[k];
    FI_EACH(k, n) {
        ps[k] = a2[k] * (1.0 / 355687428096000.0) + (-1.0 / 1307674368000.0);
        pc[k] = a2[k] * (-1.0 / 6402373705728000.0) + (1.0 / 20922789888000.0);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 7; i++) FI_EACH(k, n) {
        ps[k] = ps[k] * a2[k] + cs[i];
        pc[k] = pc[k] * a2[k] + cc[i];
    }
    FI_EACH(k, n) {
        t[k] = a[k] * ps[k];
        c[k] = pc[k] * a2[k] + cc[7];
    }
}
static inline void fi_sincos_halfpi4d(v4d t, v4d *s, v4d *c) {
    fi_sincos_halfpi4d_n(&t, c, 1);
    *s = t;
}

/* Inverse of the standard normal CDF, Wichura's AS241 (PPND16), relative accuracy about 1e-16,
 * in its pieces. Horner steps in the order of the published algorithm; each polynomial starts
 * with r * c[0] + c[1]. */
static const double fi_as241_a[8] = {2.5090809287301226727e+3, 3.3430575583588128105e+4,
                                     6.7265770927008700853e+4, 4.5921953931549871457e+4,
                                     1.3731693765509461125e+4, 1.9715909503065514427e+3,
                                     1.3314166789178437745e+2, 3.3871328727963666080e0};
static const double fi_as241_b[8] = {5.2264952788528545610e+3, 2.8729085735721942674e+4,
                                     3.9307895800092710610e+4, 2.1213794301586595867e+4,
                                     5.3941960214247511077e+3, 6.8718700749205790830e+2,
                                     4.2313330701600911252e+1, 1.0};
static const double fi_as241_c[8] = {7.74545014278341407640e-4, 2.27238449892691845833e-2,
                                     2.41780725177450611770e-1, 1.27045825245236838258e0,
                                     3.64784832476320460504e0,  5.76949722146069140550e0,
                                     4.63033784615654529590e0,  1.42343711074968357734e0};
static const double fi_as241_d[8] = {1.05075007164441684324e-9, 5.47593808499534494600e-4,
                                     1.51986665636164571966e-2, 1.48103976427480074590e-1,
                                     6.89767334985100004550e-1, 1.67638483018380384940e0,
                                     2.05319162663775882187e0,  1.0};
static const double fi_as241_e[8] = {2.01033439929228813265e-7, 2.71155556874348757815e-5,
                                     1.24266094738807843860e-3, 2.65321895265761230930e-2,
                                     2.96560571828504891230e-1, 1.78482653991729133580e0,
                                     5.46378491116411436990e0,  6.65790464350110377720e0};
static const double fi_as241_f[8] = {2.04426310338993978564e-15, 1.42151175831644588870e-7,
                                     1.84631831751005468180e-5,  7.86869131145613259100e-4,
                                     1.48753612908506148525e-2,  1.36929880922735805310e-1,
                                     5.99832206555887937690e-1,  1.0};

/* num(r) and den(r), two degree-7 polynomials, n vectors interleaved. */
static inline __attribute__((always_inline)) void fi_poly7pair_4d_n(const v4d *r, const double *cn,
                                                                   const double *cd, v4d *num,
                                                                   v4d *den, int n) {
    FI_EACH(k, n) {
        num[k] = r[k] * cn[0] + cn[1];
        den[k] = r[k] * cd[0] + cd[1];
    }
#pragma GCC unroll 6
    for (int i = 2; i < 8; i++) FI_EACH(k, n) {
        num[k] = num[k] * r[k] + cn[i];
        den[k] = den[k] * r[k] + cd[i];
    }
}

/* Central region |q| <= 0.425, q = p - 1/2: x = q num(r) / den(r), r = 0.180625 - q^2. */
static inline __attribute__((always_inline)) void fi_ndtri_central4d_n(const v4d *q, v4d *x, int n) {
    v4d r[FI_NMAX], num[FI_NMAX], den[FI_NMAX];
    FI_EACH(k, n) r[k] = 0.180625 - q[k] * q[k];
    fi_poly7pair_4d_n(r, fi_as241_a, fi_as241_b, num, den, n);
    FI_EACH(k, n) x[k] = q[k] * num[k] / den[k];
}

/* Tails, for 0 < p < 1/2 (normal numbers): r = sqrt(-ln p), x = -c(r - 1.6)/d(r - 1.6) for
 * r <= 5, -e(r - 5)/f(r - 5) beyond (evaluated only when a lane needs it; selection per lane, so
 * the bits do not depend on which other lanes are present). */
static inline __attribute__((always_inline)) void fi_ndtri_tail4d_n(const v4d *p, v4d *x, int n) {
    v4d rt[FI_NMAX], r1[FI_NMAX], x1[FI_NMAX], num[FI_NMAX], den[FI_NMAX];
    FI_EACH(k, n) rt[k] = p[k];
    fi_log4d_n(rt, n);
    FI_EACH(k, n) rt[k] = fi_sqrt4d(-rt[k]);
    FI_EACH(k, n) r1[k] = rt[k] - 1.6;
    fi_poly7pair_4d_n(r1, fi_as241_c, fi_as241_d, num, den, n);
    FI_EACH(k, n) x1[k] = num[k] / den[k];
    v4l far = (v4l){0};
    FI_EACH(k, n) far |= rt[k] > 5.0;
    if (__builtin_expect(!fi_all4(far == 0), 0)) {
        v4d r2[FI_NMAX];
        FI_EACH(k, n) r2[k] = rt[k] - 5.0;
        fi_poly7pair_4d_n(r2, fi_as241_e, fi_as241_f, num, den, n);
        FI_EACH(k, n) x1[k] = fi_sel4d(rt[k] <= 5.0, x1[k], num[k] / den[k]);
    }
    FI_EACH(k, n) x[k] = -x1[k];
}

/* Both regions for 0 < p <= 1/2 (and a little above), selected per lane; a region no lane is in
 * is skipped. p must be a normal number. */
static inline v4d fi_ndtri_lower4d(v4d p) {
    v4d q = p - 0.5, xc = p, xt = p;
    v4l central = (q >= -0.425) & (q <= 0.425);
    if (!fi_all4(central == 0)) fi_ndtri_central4d_n(&q, &xc, 1);
    if (fi_all4(central)) return xc;
    v4d pt = fi_sel4d(p < 0.5, p, (v4d){0.5, 0.5, 0.5, 0.5});
    fi_ndtri_tail4d_n(&pt, &xt, 1);
    return fi_sel4d(central, xc, xt);
}

#endif
