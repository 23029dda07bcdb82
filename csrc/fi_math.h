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

/* ln(x) for normal x > 0 (float32): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
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
        v8i bits = (v8i)x[k];
        e[k] = ((bits >> 23) & 0xff) - 127;
        v8f m = (v8f)((bits & 0x7fffff) | 0x3f800000);
        v8i big = m > FI_SQRT2F;
        m = fi_sel8f(big, m * 0.5f, m);
        e[k] = e[k] - big; /* big is -1 where true */
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
    v4l e[FI_NMAX];
    FI_EACH(k, n) {
        v4l bits = (v4l)x[k];
        e[k] = ((bits >> 52) & 0x7ff) - 1023;
        v4d m = (v4d)((bits & 0xfffffffffffffll) | 0x3ff0000000000000ll);
        v4l big = m > FI_SQRT2;
        m = fi_sel4d(big, m * 0.5, m);
        e[k] = e[k] - big;
        s[k] = (m - 1.0) / (m + 1.0);
    }
    FI_EACH(k, n) s2[k] = s[k] * s[k];
    FI_EACH(k, n) p[k] = s2[k] * (1.0 / 21.0) + c[0];
#pragma GCC unroll 10
    for (int i = 1; i < 10; i++) FI_EACH(k, n) p[k] = p[k] * s2[k] + c[i];
    FI_EACH(k, n) {
        v4d lnm = (s[k] + s[k]) * p[k];
        v4d ef = fi_i51_to_f64(e[k]);
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

/* Inverse of the standard normal CDF for 0 < p <= 1/2 (and a little above), float64:
 * Wichura's AS241 (PPND16), relative accuracy about 1e-16. Both branches are evaluated and
 * selected per lane; p must be a normal number. */
static inline v4d fi_ndtri_lower4d(v4d p) {
    v4d q = p - 0.5;
    /* central region |q| <= 0.425 */
    v4d r = 0.180625 - q * q;
    v4d num = r * 2.5090809287301226727e+3 + 3.3430575583588128105e+4;
    num = num * r + 6.7265770927008700853e+4;
    num = num * r + 4.5921953931549871457e+4;
    num = num * r + 1.3731693765509461125e+4;
    num = num * r + 1.9715909503065514427e+3;
    num = num * r + 1.3314166789178437745e+2;
    num = num * r + 3.3871328727963666080e0;
    v4d den = r * 5.2264952788528545610e+3 + 2.8729085735721942674e+4;
    den = den * r + 3.9307895800092710610e+4;
    den = den * r + 2.1213794301586595867e+4;
    den = den * r + 5.3941960214247511077e+3;
    den = den * r + 6.8718700749205790830e+2;
    den = den * r + 4.2313330701600911252e+1;
    den = den * r + 1.0;
    v4d x_central = q * num / den;
    /* tails: r = sqrt(-ln p) (p <= 1/2 here, or clamped to it for central lanes) */
    v4d pt = fi_sel4d(p < 0.5, p, (v4d){0.5, 0.5, 0.5, 0.5});
    v4d rt = fi_sqrt4d(-fi_log4d(pt));
    v4d r1 = rt - 1.6;
    v4d n1 = r1 * 7.74545014278341407640e-4 + 2.27238449892691845833e-2;
    n1 = n1 * r1 + 2.41780725177450611770e-1;
    n1 = n1 * r1 + 1.27045825245236838258e0;
    n1 = n1 * r1 + 3.64784832476320460504e0;
    n1 = n1 * r1 + 5.76949722146069140550e0;
    n1 = n1 * r1 + 4.63033784615654529590e0;
    n1 = n1 * r1 + 1.42343711074968357734e0;
    v4d d1 = r1 * 1.05075007164441684324e-9 + 5.47593808499534494600e-4;
    d1 = d1 * r1 + 1.51986665636164571966e-2;
    d1 = d1 * r1 + 1.48103976427480074590e-1;
    d1 = d1 * r1 + 6.89767334985100004550e-1;
    d1 = d1 * r1 + 1.67638483018380384940e0;
    d1 = d1 * r1 + 2.05319162663775882187e0;
    d1 = d1 * r1 + 1.0;
    v4d r2 = rt - 5.0;
    v4d n2 = r2 * 2.01033439929228813265e-7 + 2.71155556874348757815e-5;
    n2 = n2 * r2 + 1.24266094738807843860e-3;
    n2 = n2 * r2 + 2.65321895265761230930e-2;
    n2 = n2 * r2 + 2.96560571828504891230e-1;
    n2 = n2 * r2 + 1.78482653991729133580e0;
    n2 = n2 * r2 + 5.46378491116411436990e0;
    n2 = n2 * r2 + 6.65790464350110377720e0;
    v4d d2 = r2 * 2.04426310338993978564e-15 + 1.42151175831644588870e-7;
    d2 = d2 * r2 + 1.84631831751005468180e-5;
    d2 = d2 * r2 + 7.86869131145613259100e-4;
    d2 = d2 * r2 + 1.48753612908506148525e-2;
    d2 = d2 * r2 + 1.36929880922735805310e-1;
    d2 = d2 * r2 + 5.99832206555887937690e-1;
    d2 = d2 * r2 + 1.0;
    v4d x_tail = -fi_sel4d(rt <= 5.0, n1 / d1, n2 / d2);
    v4l central = (q >= -0.425) & (q <= 0.425);
    return fi_sel4d(central, x_central, x_tail);
}

#endif
