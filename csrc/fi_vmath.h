/* fi_vmath.h: fastinit's own vector exp/expm1/log1p/erf/normal-CDF over the whole float range,
 * for the activation kernels (fi_activation_kernels.h). Like fi_math.h, every function is the same
 * IEEE operations in the same order on every SIMD path (no libm, no FMA, no approximate
 * reciprocals), so every path gives the same bits. Unlike fi_math.h, arguments may be subnormal,
 * huge, infinite or NaN where a function says so; NaN lanes give garbage that callers replace by
 * the input (fi_nanpass*), never a trap.
 *
 * Polynomials: exp/expm1 and the small-argument erf/Phi are Taylor series truncated far below half
 * an ulp on the reduced range; ln(1+t) is the atanh series of fi_math.h; erfc(a) e^(a^2) is, in
 * float32, one minimax fit in q = (a-3)/(a+3) on [0.7, 11] and, in float64, a minimax fit in
 * q = (a-5/2)/(a+5/2) on [0.7, 5] and a Chebyshev fit in 1/a^2 on [5, 28] (fitted in 120-bit
 * arithmetic, relative error 0.02 float32 ulp, 0.03 and 0.3 float64 ulp before rounding). */
#ifndef FI_VMATH_H
#define FI_VMATH_H

#include <float.h>

#include "fi_math.h"

#define FI_LOG2E_F 1.44269504088896340736f
#define FI_LOG2E 1.44269504088896340736
#define FI_RND_F 12582912.0f            /* 1.5 * 2^23: x + it rounds x to an integer */
#define FI_RND_F_BITS 0x4B400000
#define FI_RND 6755399441055744.0       /* 1.5 * 2^52 */
#define FI_RND_BITS 0x4338000000000000ll
#define FI_2_SQRTPI 1.12837916709551257390
#define FI_1_SQRT2PI 0.39894228040143267794
#define FI_SQRT1_2 0.70710678118654752440

/* ---- float32 lanes -------------------------------------------------------------------------- */

static inline v8f fi_splat8f(float c) { return (v8f){0} + c; }
static inline v8f fi_abs8f(v8f x) { return (v8f)((v8u)x & 0x7fffffffu); }
/* |mag| with the sign bit of s */
static inline v8f fi_copysign8f(v8f mag, v8f s) {
    return (v8f)(((v8u)mag & 0x7fffffffu) | ((v8u)s & 0x80000000u));
}
/* x clamped to [lo, hi]; NaN stays NaN (both comparisons are false). */
static inline v8f fi_clamp8f(v8f x, float lo, float hi) {
    x = fi_sel8f(x < lo, fi_splat8f(lo), x);
    return fi_sel8f(x > hi, fi_splat8f(hi), x);
}
/* r, except the input itself where x is NaN. */
static inline v8f fi_nanpass8f(v8f x, v8f r) { return fi_sel8f(x != x, x, r); }

/* 2^k for integer k in [-126, 127]. */
static inline v8f fi_pow2i8f(v8i k) { return (v8f)(((v8u)k + 127u) << 23); }
/* x 2^n for n in [-252, 254] and x near 1: two exact scalings, the second one rounds once (so a
 * subnormal result is correctly rounded from x 2^n). */
static inline v8f fi_ldexp8f(v8f x, v8i n) {
    v8i h = n >> 1;
    return x * fi_pow2i8f(h) * fi_pow2i8f(n - h);
}

/* Reduction y (+ ylo where use_lo) = n ln2 + r, |r| <= ln2/2, for |y| < 2^21, |ylo| below half an
 * ulp of y; returns p = e^r - 1 (Taylor to r^8: truncation 6e-10 relative) and n. p keeps the
 * sign of a zero r. */
static inline v8f fi_expm1_redlo8f(v8f y, v8f ylo, int use_lo, v8i *n) {
    v8f t = y * FI_LOG2E_F + FI_RND_F;
    v8f nf = t - FI_RND_F;
    *n = (v8i)t - FI_RND_F_BITS;
    v8f r = y - nf * FI_LN2_HI_F;
    if (use_lo) r = r + ylo;
    r = r - nf * FI_LN2_LO_F;
    /* q = sum_k r^k / (k+2)!, k <= 6, by Estrin's scheme (short dependency chains) */
    v8f r2 = r * r, r4 = r2 * r2;
    v8f q01 = r * (float)(1.0 / 6) + 0.5f;
    v8f q23 = r * (float)(1.0 / 120) + (float)(1.0 / 24);
    v8f q45 = r * (float)(1.0 / 5040) + (float)(1.0 / 720);
    v8f q = (q01 + q23 * r2) + (q45 + r2 * (float)(1.0 / 40320)) * r4;
    return r * (q * r + 1.0f);
}
static inline v8f fi_expm1_red8f(v8f y, v8i *n) { return fi_expm1_redlo8f(y, y, 0, n); }
/* e^y = 2^n (1 + p) from the reduction; y in [-150, 88.7] (below: 0). */
static inline v8f fi_exp_from8f(v8f p, v8i n) { return fi_ldexp8f(1.0f + p, n); }
/* e^y - 1 = 2^n p + (2^n - 1) from the reduction, for y <= 0 (n = 0 gives p, keeping -0). */
static inline v8f fi_expm1_from8f(v8f p, v8i n) {
    v8f big = fi_ldexp8f(p, n) + (fi_ldexp8f(fi_splat8f(1.0f), n) - 1.0f);
    return fi_sel8f(n == 0, p, big);
}
/* e^y for y in [-150, 88.7]. */
static inline v8f fi_exp8f(v8f y) {
    v8i n;
    v8f p = fi_expm1_red8f(y, &n);
    return fi_exp_from8f(p, n);
}

/* ln(1 + t) for t in [0, 1] (subnormal t included), without rounding 1 + t:
 * t <= sqrt2 - 1: 2 atanh(t / (2 + t)); above: ln2 + 2 atanh((t - 1) / (t + 3)) (t - 1 exact).
 * |s| <= 0.1716 either way; series to s^9 as in fi_log8f. */
static inline v8f fi_log1p01_8f(v8f t) {
    v8i big = t > 0.41421356237309504880f;
    v8f s = fi_sel8f(big, t - 1.0f, t) / fi_sel8f(big, t + 3.0f, t + 2.0f);
    v8f s2 = s * s;
    v8f p = s2 * (float)(1.0 / 9.0) + (float)(1.0 / 7.0);
    p = p * s2 + (float)(1.0 / 5.0);
    p = p * s2 + (float)(1.0 / 3.0);
    v8f l = (s + s) * (p * s2 + 1.0f);
    return fi_sel8f(big, FI_LN2_HI_F + (FI_LN2_LO_F + l), l);
}

/* c[0] + z c[1] + ... + z^(n-1) c[n-1] by Horner's rule, float32 (Estrin's scheme, as in
 * fi_estrin4d, costs float32 erf/gelu about one ulp for no measurable gain here). */
static inline v8f fi_horner8f(v8f z, const float *c, int n) {
    v8f p = fi_splat8f(c[n - 1]);
    for (int i = n - 2; i >= 0; i--) p = p * z + c[i];
    return p;
}
/* x*x = hi + lo exactly in float32 (Veltkamp split at 12 bits); |x| < 2^60. */
static inline void fi_sqr_ff8f(v8f x, v8f *hi, v8f *lo) {
    v8f c = x * 4097.0f;
    v8f xh = c - (c - x);
    v8f xl = x - xh;
    *hi = x * x;
    *lo = ((xh * xh - *hi) + (xh * xl + xh * xl)) + xl * xl;
}
/* e^(-k x^2) = 2^n pm for k = 1 or 1/2 from the exact square, |x| <= 15. */
static inline v8f fi_gauss8f(v8f x, float k, v8i *n) {
    v8f hi, lo;
    fi_sqr_ff8f(x, &hi, &lo);
    return 1.0f + fi_expm1_redlo8f(hi * -k, lo * -k, 1, n);
}
/* erf(x) = x P(x^2), |x| < 1, and Phi(x) - 1/2 = x P(x^2), |x| < 1: the float64 Taylor
 * coefficients below, truncated where the next term is under 0.1 float32 ulp. */
static const float fi_erf_taylor_f[12] = {
    (float)1.1283791670955125739, (float)-0.37612638903183752463,
    (float)0.11283791670955125739, (float)-0.026866170645131251759,
    (float)0.0052239776254421878421, (float)-0.00085483270234508528325,
    (float)0.00012055332981789664251, (float)-0.000014925650358406250977,
    (float)1.6462114365889247402e-6, (float)-1.6365844691234924317e-7,
    (float)1.480719281587921724e-8, (float)-1.2290555301717927353e-9};
static const float fi_phi_taylor_f[9] = {
    (float)0.39894228040143267794, (float)-0.066490380066905446323,
    (float)0.0099735570100358169485, (float)-0.0011873282154804543986,
    (float)0.00011543468761615528876, (float)-9.4446562595036145346e-6,
    (float)6.6596935163166512744e-7, (float)-4.1226674148626888841e-8,
    (float)2.2735298243728063699e-9};
/* (1 + 2a) erfc(a) e^(a^2) in q = (a - 3) / (a + 3), a in [0.7, 11]: minimax, relative error
 * 1e-9 before rounding to float32. */
#define FI_ERFCX_F32_K 3.0f
#define FI_ERFCX_F32_N 10
static const float fi_erfcx_f32[FI_ERFCX_F32_N] = {
    1.2530080576358682f, -0.13562108653194085f, -0.047562199926539116f, 0.12964418039666856f,
    -0.11927598728387871f, 0.06832145102062312f, -0.023749849785431258f, 0.002456663167298989f,
    0.001811342877791356f, -0.0006166186400160379f};
/* erfcx(a) = erfc(a) e^(a^2) for a in [0.7, 11], float32. */
static inline v8f fi_erfcx8f(v8f a) {
    v8f q = (a - FI_ERFCX_F32_K) / (a + FI_ERFCX_F32_K);
    return fi_horner8f(q, fi_erfcx_f32, FI_ERFCX_F32_N) / (a * 2.0f + 1.0f);
}
/* erf(x) and erf'(x), float32 (as fi_erf4d). */
static inline void fi_erf8f(v8f x, v8f *f, v8f *d) {
    v8f ax = fi_abs8f(x);
    v8f xc = fi_sel8f(ax > 11.0f, fi_splat8f(11.0f), ax);
    v8i n;
    v8f pm = fi_gauss8f(xc, 1.0f, &n);
    v8i small = ax < 1.0f;
    v8f fs = x * fi_horner8f(x * x, fi_erf_taylor_f, 12);
    v8f fl = fi_copysign8f(1.0f - fi_ldexp8f(pm, n) * fi_erfcx8f(xc), x);
    *f = fi_sel8f(small, fs, fl);
    *d = fi_ldexp8f(pm * (float)FI_2_SQRTPI, n);
}
/* Phi(x) in the parts of fi_ndtr_parts4d, float32, x in [-15, 15]. */
static inline void fi_ndtr_parts8f(v8f x, v8f *cdf, v8f *pm, v8f *g, v8i *n, v8i *lower) {
    *pm = fi_gauss8f(x, 0.5f, n);
    v8f ax = fi_abs8f(x);
    v8i small = ax < 1.0f;
    v8f cs = 0.5f + x * fi_horner8f(x * x, fi_phi_taylor_f, 9);
    *g = 0.5f * fi_erfcx8f(ax * (float)FI_SQRT1_2);
    v8f cl = 1.0f - fi_ldexp8f(*pm, *n) * *g;
    *lower = ~small & (x < 0.0f);
    *cdf = fi_sel8f(small, cs, cl);
}

/* ---- float64 lanes -------------------------------------------------------------------------- */

static inline v4d fi_splat4d(double c) { return (v4d){0} + c; }
static inline v4d fi_abs4d(v4d x) { return (v4d)((v4q)x & 0x7fffffffffffffffull); }
static inline v4d fi_copysign4d(v4d mag, v4d s) {
    return (v4d)(((v4q)mag & 0x7fffffffffffffffull) | ((v4q)s & 0x8000000000000000ull));
}
static inline v4d fi_clamp4d(v4d x, double lo, double hi) {
    x = fi_sel4d(x < lo, fi_splat4d(lo), x);
    return fi_sel4d(x > hi, fi_splat4d(hi), x);
}
static inline v4d fi_nanpass4d(v4d x, v4d r) { return fi_sel4d(x != x, x, r); }
static inline int fi_any4(v4l m) { return !fi_all4(~m); }

/* 2^k for integer k in [-1022, 1023]. */
static inline v4d fi_pow2i4d(v4l k) { return (v4d)(((v4q)k + 1023u) << 52); }
/* x 2^n for n in [-2044, 2046] and x near 1; one rounding. */
static inline v4d fi_ldexp4d(v4d x, v4l n) {
    v4l h = n >> 1;
    return x * fi_pow2i4d(h) * fi_pow2i4d(n - h);
}

/* Reduction of y + ylo (|ylo| below half an ulp of y, |y| < 2^20): y + ylo = n ln2 + r,
 * p = e^r - 1 (Taylor to r^14: truncation 3e-19 relative). y - n LN2_HI is exact (Cody-Waite). */
static inline v4d fi_expm1_red4d(v4d y, v4d ylo, v4l *n) {
    v4d t = y * FI_LOG2E + FI_RND;
    v4d nf = t - FI_RND;
    *n = (v4l)t - FI_RND_BITS;
    v4d r = ((y - nf * FI_LN2_HI) + ylo) - nf * FI_LN2_LO;
    /* q = sum_k r^k / (k+2)!, k <= 12, by Estrin's scheme */
    v4d r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    v4d q01 = r * (1.0 / 6.0) + 0.5;
    v4d q23 = r * (1.0 / 120.0) + (1.0 / 24.0);
    v4d q45 = r * (1.0 / 5040.0) + (1.0 / 720.0);
    v4d q67 = r * (1.0 / 362880.0) + (1.0 / 40320.0);
    v4d q89 = r * (1.0 / 39916800.0) + (1.0 / 3628800.0);
    v4d qab = r * (1.0 / 6227020800.0) + (1.0 / 479001600.0);
    v4d q03 = q01 + q23 * r2, q47 = q45 + q67 * r2;
    v4d q8b = q89 + qab * r2, q8c = q8b + r4 * (1.0 / 87178291200.0);
    v4d q = (q03 + q47 * r4) + q8c * r8;
    return r * (q * r + 1.0);
}
/* e^y = 2^n (1 + p); y in [-1100, 709.7] (below about -745: 0). */
static inline v4d fi_exp_from4d(v4d p, v4l n) { return fi_ldexp4d(1.0 + p, n); }
/* e^y - 1 for y <= 0. */
static inline v4d fi_expm1_from4d(v4d p, v4l n) {
    v4d big = fi_ldexp4d(p, n) + (fi_ldexp4d(fi_splat4d(1.0), n) - 1.0);
    return fi_sel4d(n == 0, p, big);
}
static inline v4d fi_exp4d(v4d y) {
    v4l n;
    v4d p = fi_expm1_red4d(y, fi_splat4d(0.0), &n);
    return fi_exp_from4d(p, n);
}

/* ln(1 + t) for t in [0, 1]; series to s^21 as in fi_log4d. */
static inline v4d fi_log1p01_4d(v4d t) {
    v4l big = t > 0.41421356237309504880;
    v4d s = fi_sel4d(big, t - 1.0, t) / fi_sel4d(big, t + 3.0, t + 2.0);
    v4d s2 = s * s;
    v4d p = s2 * (1.0 / 21.0) + (1.0 / 19.0);
    p = p * s2 + (1.0 / 17.0);
    p = p * s2 + (1.0 / 15.0);
    p = p * s2 + (1.0 / 13.0);
    p = p * s2 + (1.0 / 11.0);
    p = p * s2 + (1.0 / 9.0);
    p = p * s2 + (1.0 / 7.0);
    p = p * s2 + (1.0 / 5.0);
    p = p * s2 + (1.0 / 3.0);
    v4d l = (s + s) * (p * s2 + 1.0);
    return fi_sel4d(big, FI_LN2_HI + (FI_LN2_LO + l), l);
}

/* Veltkamp's split: x = xh + xl, each half 26 bits, exactly (|x| < 2^995). */
static inline void fi_split4d(v4d x, v4d *xh, v4d *xl) {
    v4d c = x * 134217729.0; /* 2^27 + 1 */
    *xh = c - (c - x);
    *xl = x - *xh;
}
/* a*b = hi + lo exactly (Dekker's product, no FMA); |a|, |b| < 2^995, no underflow. */
static inline void fi_mul_dd4d(v4d a, v4d b, v4d *hi, v4d *lo) {
    v4d ah, al, bh, bl;
    fi_split4d(a, &ah, &al);
    fi_split4d(b, &bh, &bl);
    *hi = a * b;
    *lo = (((ah * bh - *hi) + ah * bl) + al * bh) + al * bl;
}
static inline void fi_sqr_dd4d(v4d x, v4d *hi, v4d *lo) {
    v4d xh, xl;
    fi_split4d(x, &xh, &xl);
    *hi = x * x;
    *lo = ((xh * xh - *hi) + (xh * xl + xh * xl)) + xl * xl;
}

/* c[0] + z c[1] + ... + z^(n-1) c[n-1] by Horner's rule. */
static inline v4d fi_horner4d(v4d z, const double *c, int n) {
    v4d p = fi_splat4d(c[n - 1]);
    for (int i = n - 2; i >= 0; i--) p = p * z + c[i];
    return p;
}
/* The same, n <= 32, by Estrin's scheme: pairs c[2i] + c[2i+1] z,
 * then pairs of those with z^2, z^4, ...: a dependency chain of about 2 log2(n) operations instead
 * of Horner's 2n, which is what limits the float64 erf/gelu kernels (1.3x faster). */
static inline v4d fi_estrin4d(v4d z, const double *c, int n) {
    v4d t[16], zz = z * z;
    int m = (n + 1) / 2;
    for (int i = 0; i < m; i++) t[i] = 2 * i + 1 < n ? z * c[2 * i + 1] + c[2 * i] : fi_splat4d(c[2 * i]);
    while (m > 1) {
        for (int i = 0; i < m / 2; i++) t[i] = t[2 * i] + t[2 * i + 1] * zz;
        if (m & 1) t[m / 2] = t[m - 1];
        m = (m + 1) / 2;
        zz = zz * zz;
    }
    return t[0];
}

/* erf(x) = x P(x^2) for |x| < 1: Taylor series, 2/sqrt(pi) (-1)^k / (k! (2k+1)). */
static const double fi_erf_taylor[19] = {
    1.1283791670955125739, -0.37612638903183752463, 0.11283791670955125739,
    -0.026866170645131251759, 0.0052239776254421878421, -0.00085483270234508528325,
    0.00012055332981789664251, -0.000014925650358406250977, 1.6462114365889247402e-6,
    -1.6365844691234924317e-7, 1.480719281587921724e-8, -1.2290555301717927353e-9,
    9.4227590646504109706e-11, -6.7113668551641103779e-12, 4.4632242632864773449e-13,
    -2.7835162072109213549e-14, 1.6342614095367151894e-15, -9.0639708428086724792e-17,
    4.7633480405150681197e-18};
/* Phi(x) - 1/2 = x P(x^2) for |x| < 1: (-1)^k / (sqrt(2 pi) 2^k k! (2k+1)). */
static const double fi_phi_taylor[16] = {
    0.39894228040143267794, -0.066490380066905446323, 0.0099735570100358169485,
    -0.0011873282154804543986, 0.00011543468761615528876, -9.4446562595036145346e-6,
    6.6596935163166512744e-7, -4.1226674148626888841e-8, 2.2735298243728063699e-9,
    -1.130117164161921295e-10, 5.1124347902563106202e-12, -2.1217614742170459096e-13,
    8.1334189844986759867e-15, -2.8965167323713233571e-16, 9.6312748490179471233e-18,
    -3.0033007593711878126e-19};
/* (1 + 2a) erfc(a) e^(a^2) in q = (a - 5/2) / (a + 5/2), a in [0.7, 5]. */
static const double fi_erfc_mid[17] = {
    1.2648381843668615, -0.12235676308240429, -0.09902453957359954, 0.1576299190232137,
    -0.10296705603888597, 0.0327608932688242, 0.0009318928337158168, -0.004382078332433529,
    0.0004918654031931536, 0.0006321238330199068, -8.847393670813711e-05,
    -0.00011351220997184638, 6.232126941638264e-06, 2.2606803100061866e-05,
    2.6840315267374966e-06, -3.834419504785559e-06, -1.4454567001097992e-06};
/* a erfc(a) e^(a^2) in w = 1/a^2, a in [5, 28]. */
static const double fi_erfc_tail[13] = {
    0.5641895835477563, -0.2820947917738348, 0.4231421876298443, -1.0578554575008474,
    3.7024915096254825, -16.660838033614443, 91.59828888651488, -592.9475787943976,
    4332.323441294842, -33062.01290348606, 229867.04731915076, -1187053.972511735,
    3180017.1298172064};

/* erfcx(a) = erfc(a) e^(a^2) for a in [0.7, 28] (other lanes: garbage). Only the pieces some lane
 * needs are evaluated; lanes never depend on their neighbours, so the bits do not either. */
static inline v4d fi_erfcx4d(v4d a) {
    v4l tail = a >= 5.0;
    v4d mid = fi_splat4d(0.0), far = mid;
    if (!fi_all4(tail)) {
        v4d q = (a - 2.5) / (a + 2.5);
        mid = fi_estrin4d(q, fi_erfc_mid, 17) / (a * 2.0 + 1.0);
    }
    /* Horner here: Estrin's pairs of the large alternating coefficients lose an ulp */
    if (fi_any4(tail)) far = fi_horner4d(1.0 / (a * a), fi_erfc_tail, 13) / a;
    return fi_sel4d(tail, far, mid);
}

/* e^(-k x^2) = 2^n pm for k = 1 or 1/2, from the exact square (so |x| up to 40 loses nothing to the
 * rounding of x^2). Callers multiply pm first and scale by 2^n last, so subnormal results are
 * rounded once. */
static inline v4d fi_gauss4d(v4d x, double k, v4l *n) {
    v4d hi, lo;
    fi_sqr_dd4d(x, &hi, &lo);
    return 1.0 + fi_expm1_red4d(hi * -k, lo * -k, n);
}

/* erf(x) and erf'(x) = 2/sqrt(pi) e^(-x^2). NaN: garbage. */
static inline void fi_erf4d(v4d x, v4d *f, v4d *d) {
    v4d ax = fi_abs4d(x);
    v4d xc = fi_sel4d(ax > 28.0, fi_splat4d(28.0), ax);
    v4l n;
    v4d pm = fi_gauss4d(xc, 1.0, &n);
    v4l small = ax < 1.0;
    v4d fs = x, fl = x;
    if (fi_any4(small)) fs = x * fi_estrin4d(x * x, fi_erf_taylor, 19);
    if (!fi_all4(small)) fl = fi_copysign4d(1.0 - fi_ldexp4d(pm, n) * fi_erfcx4d(xc), x);
    *f = fi_sel4d(small, fs, fl);
    *d = fi_ldexp4d(pm * FI_2_SQRTPI, n);
}

/* Standard normal CDF Phi(x) for x in [-40, 40], as the three parts that let a caller form
 * m Phi(x) with one final rounding: where *lower is set, Phi(x) = 2^n (pm g) (the lower tail);
 * elsewhere Phi(x) = *cdf. Also returns phi(x) = 2^n pm / sqrt(2 pi). The argument of erfcx,
 * |x|/sqrt2, is rounded, but erfcx is insensitive to that (relative change delta_a / a). */
static inline void fi_ndtr_parts4d(v4d x, v4d *cdf, v4d *pm, v4d *g, v4l *n, v4l *lower) {
    *pm = fi_gauss4d(x, 0.5, n);
    v4d ax = fi_abs4d(x);
    v4l small = ax < 1.0; /* Phi(-1) = 0.16: 1/2 + x P cancels at most 3-fold */
    v4d cs = x, cl = x;
    *g = x;
    if (fi_any4(small)) cs = 0.5 + x * fi_estrin4d(x * x, fi_phi_taylor, 16);
    if (!fi_all4(small)) {
        *g = 0.5 * fi_erfcx4d(ax * FI_SQRT1_2);
        cl = 1.0 - fi_ldexp4d(*pm, *n) * *g;
    }
    *lower = ~small & (x < 0.0);
    *cdf = fi_sel4d(small, cs, cl);
}

/* float32 <-> two halves of float64 (exact one way, correctly rounded the other). */
static inline void fi_8f_to_4d(v8f x, v4d *lo, v4d *hi) {
    v4f a, b;
    memcpy(&a, &x, 16);
    memcpy(&b, (char *)&x + 16, 16);
    *lo = __builtin_convertvector(a, v4d);
    *hi = __builtin_convertvector(b, v4d);
}
static inline v8f fi_4d_to_8f(v4d lo, v4d hi) {
    v4f a = __builtin_convertvector(lo, v4f), b = __builtin_convertvector(hi, v4f);
    v8f r;
    memcpy(&r, &a, 16);
    memcpy((char *)&r + 16, &b, 16);
    return r;
}

#endif
