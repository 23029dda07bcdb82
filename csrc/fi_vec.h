/* fi_vec.h: 256-bit vector types (GCC/Clang vector extensions) and the exact helpers the
 * kernels share. Compiled once per SIMD path: with -mavx2 the operations map to AVX2
 * instructions, on baseline x86-64 the compiler splits them into SSE2 pairs. Either way each lane
 * goes through the same IEEE operations in the same order (no FMA: -ffp-contract=off), so every
 * path gives the same bits. Everything here is static inline: a non-static inline body from the
 * AVX2 translation unit must never be linked into a baseline caller. */
#ifndef FI_VEC_H
#define FI_VEC_H

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef uint64_t v4q __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));

#define FI_ALIGN32 __attribute__((aligned(32)))

static inline v8f fi_load8f(const float *p) { v8f v; memcpy(&v, p, 32); return v; }
static inline void fi_store8f(float *p, v8f v) { memcpy(p, &v, 32); }
static inline v4d fi_load4d(const double *p) { v4d v; memcpy(&v, p, 32); return v; }
static inline void fi_store4d(double *p, v4d v) { memcpy(p, &v, 32); }
static inline v8u fi_load8u(const uint32_t *p) { v8u v; memcpy(&v, p, 32); return v; }
static inline void fi_store8u(uint32_t *p, v8u v) { memcpy(p, &v, 32); }

/* m ? a : b lane by lane, for masks of all-ones/all-zeros lanes (what comparisons return).
 * One blend instruction with AVX; and/andnot/or on SSE2. Same bits either way. */
static inline v8f fi_sel8f(v8i m, v8f a, v8f b) {
#if defined(__AVX__)
    return (v8f)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)m);
#else
    return (v8f)(((v8i)a & m) | ((v8i)b & ~m));
#endif
}
static inline v4d fi_sel4d(v4l m, v4d a, v4d b) {
#if defined(__AVX__)
    return (v4d)_mm256_blendv_pd((__m256d)b, (__m256d)a, (__m256d)m);
#else
    return (v4d)(((v4l)a & m) | ((v4l)b & ~m));
#endif
}

static inline v8f fi_sqrt8f(v8f x) {
#if defined(__AVX__)
    return (v8f)_mm256_sqrt_ps((__m256)x);
#elif defined(__SSE2__)
    __m128 lo, hi;
    memcpy(&lo, &x, 16); memcpy(&hi, (char *)&x + 16, 16);
    lo = _mm_sqrt_ps(lo); hi = _mm_sqrt_ps(hi);
    memcpy(&x, &lo, 16); memcpy((char *)&x + 16, &hi, 16);
    return x;
#else
    for (int i = 0; i < 8; i++) x[i] = __builtin_sqrtf(x[i]);
    return x;
#endif
}

static inline v4d fi_sqrt4d(v4d x) {
#if defined(__AVX__)
    return (v4d)_mm256_sqrt_pd((__m256d)x);
#elif defined(__SSE2__)
    __m128d lo, hi;
    memcpy(&lo, &x, 16); memcpy(&hi, (char *)&x + 16, 16);
    lo = _mm_sqrt_pd(lo); hi = _mm_sqrt_pd(hi);
    memcpy(&x, &lo, 16); memcpy((char *)&x + 16, &hi, 16);
    return x;
#else
    for (int i = 0; i < 4; i++) x[i] = __builtin_sqrt(x[i]);
    return x;
#endif
}

/* 1 if every lane of a comparison mask is true. */
static inline int fi_all8(v8i m) {
#if defined(__AVX__)
    return _mm256_movemask_ps((__m256)m) == 0xff;
#else
    for (int i = 0; i < 8; i++) if (!m[i]) return 0;
    return 1;
#endif
}
static inline int fi_all4(v4l m) {
#if defined(__AVX__)
    return _mm256_movemask_pd((__m256d)m) == 0xf;
#else
    for (int i = 0; i < 4; i++) if (!m[i]) return 0;
    return 1;
#endif
}

/* uint32 -> float32, correctly rounded (one rounding: the high half times 2^16 is exact). */
static inline v8f fi_u32_to_f32(v8u a) {
    v8f hi = __builtin_convertvector((v8i)(a >> 16), v8f);
    v8f lo = __builtin_convertvector((v8i)(a & 0xffffu), v8f);
    return hi * 65536.0f + lo;
}
/* Exact int32 -> float32 for |a| < 2^24. */
static inline v8f fi_i32_to_f32(v8i a) { return __builtin_convertvector(a, v8f); }

/* Exact uint64 -> double for x < 2^52 (AVX2 has no 64-bit integer conversion). */
static inline v4d fi_u52_to_f64(v4q x) {
    return (v4d)(x | 0x4330000000000000ull) - 4503599627370496.0;
}
/* Exact uint64 -> double for x < 2^53. */
static inline v4d fi_u53_to_f64(v4q x) {
    return fi_u52_to_f64(x >> 26) * 67108864.0 + fi_u52_to_f64(x & 0x3ffffffull);
}
/* Exact int64 -> double for |x| < 2^51. */
static inline v4d fi_i51_to_f64(v4l x) {
    return (v4d)(x + 0x4338000000000000ll) - 6755399441055744.0;
}

/* Lanes 4*half .. 4*half+3 of (lo | hi << 32) as four uint64. */
static inline v4q fi_join64(const uint32_t *lo, const uint32_t *hi, int half) {
    v4u l, h;
    memcpy(&l, lo + 4 * half, 16);
    memcpy(&h, hi + 4 * half, 16);
    return __builtin_convertvector(l, v4q) | (__builtin_convertvector(h, v4q) << 32);
}

#endif
