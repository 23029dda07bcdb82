/* fi_random_kernels.h: the sampling kernels, included once per SIMD path by
 * fi_random_baseline.c and fi_random_avx2.c with FI_PATH set to the path's suffix. One source for
 * every path keeps the arithmetic identical (see fi_vec.h). */
/* GCC's register allocator serializes the kernels' interleaved dependency chains (one Horner
 * chain after the other), which leaves the out-of-order core waiting on latencies; scheduling
 * before allocation keeps them interleaved (about 1.3x on the float64 Box-Muller transform).
 * Reordering never changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("schedule-insns")
#endif
#include "fi_math.h"
#include "fi_random.h"
#include "fi_random_table.h"

#define FI_CAT_(a, b) a##_##b
#define FI_CAT(a, b) FI_CAT_(a, b)
#define FI_K(name) FI_CAT(name, FI_PATH)

/* (hi, lo) of the 64-bit products m * a, lane by lane. */
static inline void FI_K(mulhilo8)(uint32_t m, v8u a, v8u *hi, v8u *lo) {
#if defined(__AVX2__)
    __m256i av = (__m256i)a, mv = _mm256_set1_epi32((int)m);
    __m256i pe = _mm256_mul_epu32(av, mv);
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(av, 32), mv);
    *lo = (v8u)_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
    *hi = (v8u)_mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
#elif defined(__SSE2__)
    const __m128i mv = _mm_set1_epi32((int)m);
    const __m128i mask_lo = _mm_set1_epi64x(0xffffffffll);
    for (int h = 0; h < 2; h++) {
        __m128i av;
        memcpy(&av, (char *)&a + 16 * h, 16);
        __m128i pe = _mm_mul_epu32(av, mv);
        __m128i po = _mm_mul_epu32(_mm_srli_epi64(av, 32), mv);
        __m128i l = _mm_or_si128(_mm_and_si128(pe, mask_lo), _mm_slli_epi64(po, 32));
        __m128i u = _mm_or_si128(_mm_srli_epi64(pe, 32), _mm_andnot_si128(mask_lo, po));
        memcpy((char *)lo + 16 * h, &l, 16);
        memcpy((char *)hi + 16 * h, &u, 16);
    }
#else
    v4q ev = (v4q)a & 0xffffffffull, od = (v4q)a >> 32;
    v4q pe = ev * (uint64_t)m, po = od * (uint64_t)m;
    *lo = (v8u)((pe & 0xffffffffull) | (po << 32));
    *hi = (v8u)((pe >> 32) | (po & 0xffffffff00000000ull));
#endif
}

/* The words of groups g and g+1 (8 Philox blocks each), rows of 8 lanes, in stream order.
 * Two groups at once: one group's ten rounds are a serial chain of multiplies, so interleaving
 * two independent chains keeps the vector units busy. Plain variables and an unrolled round loop
 * keep all sixteen state vectors in registers. */
#define FI_ILP 2
#define FI_PHILOX_ROUND(c0, c1, c2, c3, k0v, k1v)                                              \
    do {                                                                                       \
        v8u hi0_, lo0_, hi1_, lo1_;                                                            \
        FI_K(mulhilo8)(FI_PHILOX_M0, c0, &hi0_, &lo0_);                                        \
        FI_K(mulhilo8)(FI_PHILOX_M1, c2, &hi1_, &lo1_);                                        \
        c0 = hi1_ ^ c1 ^ (k0v);                                                                \
        c1 = lo1_;                                                                             \
        c2 = hi0_ ^ c3 ^ (k1v);                                                                \
        c3 = lo0_;                                                                             \
    } while (0)

/* The round keys of a stream, broadcast, computed once per fill (not once per group).
 * In a group's counters only c0 (the block's low word) differs from block to block: c1 (its high
 * word bh) is shared by 2^32 blocks, c2 and c3 (the stream id) by the whole stream. So part of
 * rounds 0 to 2 is the same for every block with the same bh, and the AVX2 kernel takes it from
 * here instead of recomputing it per group (36 multiplies per group instead of 38):
 *   round 0: c0 = C0 = hi(M1 c2) ^ bh ^ k0[0] and c1 = lo(M1 c2) for all; c2 = hi(M0 c0) ^ pa
 *   round 1: c0 = hi(M1 c2) ^ pb; c2 = lo(M0 c0 of round 0) ^ pd; c3 = lo(P), P = M0 C0
 *   round 2: c2 = hi(M0 c0) ^ pe
 * with pa = c3 ^ k1[0], pb = lo(M1 c2) ^ k0[1], pd = hi(P) ^ k1[1], pe = lo(P) ^ k1[2]. */
#ifndef FI_PHILOX_KEYS_DEFINED
#define FI_PHILOX_KEYS_DEFINED
typedef struct {
    v8u k0[FI_PHILOX_ROUNDS], k1[FI_PHILOX_ROUNDS];
    v8u pa, pb, pd, pe; /* broadcast */
    uint32_t bh;        /* the high block word they belong to */
} fi_philox_keys;
#endif
static inline void FI_K(philox_prefix)(const fi_stream_id *s, fi_philox_keys *ks, uint32_t bh) {
    const uint32_t k0 = s->key[0], k1 = s->key[1];
    const uint64_t p1 = (uint64_t)FI_PHILOX_M1 * (uint32_t)s->stream;
    const uint64_t P = (uint64_t)FI_PHILOX_M0 * ((uint32_t)(p1 >> 32) ^ bh ^ k0);
    ks->pa = (v8u){0} + ((uint32_t)(s->stream >> 32) ^ k1);
    ks->pb = (v8u){0} + ((uint32_t)p1 ^ (k0 + FI_PHILOX_W0));
    ks->pd = (v8u){0} + ((uint32_t)(P >> 32) ^ (k1 + FI_PHILOX_W1));
    ks->pe = (v8u){0} + ((uint32_t)P ^ (k1 + 2u * FI_PHILOX_W1));
    ks->bh = bh;
}
static inline void FI_K(philox_keys)(const fi_stream_id *s, fi_philox_keys *ks) {
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        ks->k0[r] = (v8u){0} + (s->key[0] + (uint32_t)r * FI_PHILOX_W0);
        ks->k1[r] = (v8u){0} + (s->key[1] + (uint32_t)r * FI_PHILOX_W1);
    }
    FI_K(philox_prefix)(s, ks, 0);
}

#if defined(__AVX2__)
/* AVX2: each state row is kept as two vectors of 64-bit lanes, even words and odd words each in
 * the low half of a lane (the high halves hold garbage that no step reads: vpmuludq takes the
 * low 32 bits, the outputs keep them). The 64-bit product then is the (hi, lo) pair as it is:
 * one multiply and one move of hi to the low half per product instead of two multiplies, three
 * shifts and two blends for 8 lanes. Same words.
 * The move is a vpshufd (hi copied to both halves), not a 64-bit shift: on Zen 1 vector shifts
 * issue on one FP pipe only and shuffles on two, and with the multiplies (one pipe) and the xors
 * the round keeps all four busy (about 11% faster word generation there). */
#define FI_HI64(p) _mm256_shuffle_epi32(p, 0xF5)
#define FI_PHILOX_ROUND64(c0, c1, c2, c3, k0v, k1v)                                            \
    do {                                                                                       \
        __m256i p0_ = _mm256_mul_epu32(c0, m0), p1_ = _mm256_mul_epu32(c2, m1);                \
        c0 = _mm256_xor_si256(_mm256_xor_si256(FI_HI64(p1_), c1), k0v);                        \
        c1 = p1_;                                                                              \
        c2 = _mm256_xor_si256(_mm256_xor_si256(FI_HI64(p0_), c3), k1v);                        \
        c3 = p0_;                                                                              \
    } while (0)
/* Rounds 0, 1 and 2 of a chain from its blocks' low words c0 and the prefix (fi_philox_keys). */
#define FI_PHILOX_ROUND0(c0, c2, c3, ks)                                                       \
    do {                                                                                       \
        c3 = _mm256_mul_epu32(c0, m0);                                                         \
        c2 = _mm256_xor_si256(FI_HI64(c3), (__m256i)(ks)->pa);                                 \
    } while (0)
#define FI_PHILOX_ROUND1(c0, c1, c2, c3, ks)                                                   \
    do {                                                                                       \
        c1 = _mm256_mul_epu32(c2, m1);                                                         \
        c0 = _mm256_xor_si256(FI_HI64(c1), (__m256i)(ks)->pb);                                 \
        c2 = _mm256_xor_si256(c3, (__m256i)(ks)->pd);                                          \
    } while (0)
#define FI_PHILOX_ROUND2(c0, c1, c2, c3, ks)                                                   \
    do {                                                                                       \
        __m256i p1_ = _mm256_mul_epu32(c2, m1);                                                \
        c3 = _mm256_mul_epu32(c0, m0);                                                         \
        c0 = _mm256_xor_si256(_mm256_xor_si256(FI_HI64(p1_), c1), (__m256i)(ks)->k0[2]);       \
        c1 = p1_;                                                                              \
        c2 = _mm256_xor_si256(FI_HI64(c3), (__m256i)(ks)->pe);                                 \
    } while (0)
/* The words of one group (8 blocks from b0, low 3 bits zero: no carry) into X; the prefix in ks
 * must belong to b0's high word. Straight-line code: no branch. */
static inline __attribute__((always_inline)) void FI_K(philox_words)(uint64_t b0, uint32_t *X,
                                                                    const fi_philox_keys *ks) {
    const __m256i m0 = _mm256_set1_epi32((int)FI_PHILOX_M0), m1 = _mm256_set1_epi32((int)FI_PHILOX_M1);
    const __m256i ev = _mm256_setr_epi64x(0, 2, 4, 6), od = _mm256_setr_epi64x(1, 3, 5, 7);
    /* rows 0..3, even (e) and odd (o) lanes */
    __m256i e0 = _mm256_add_epi64(ev, _mm256_set1_epi64x((uint32_t)b0)), e1, e2, e3;
    __m256i o0 = _mm256_add_epi64(od, _mm256_set1_epi64x((uint32_t)b0)), o1, o2, o3;
    FI_PHILOX_ROUND0(e0, e2, e3, ks);
    FI_PHILOX_ROUND0(o0, o2, o3, ks);
    FI_PHILOX_ROUND1(e0, e1, e2, e3, ks);
    FI_PHILOX_ROUND1(o0, o1, o2, o3, ks);
    FI_PHILOX_ROUND2(e0, e1, e2, e3, ks);
    FI_PHILOX_ROUND2(o0, o1, o2, o3, ks);
#pragma GCC unroll 10
    for (int r = 3; r < FI_PHILOX_ROUNDS; r++) {
        const __m256i k0v = (__m256i)ks->k0[r], k1v = (__m256i)ks->k1[r];
        FI_PHILOX_ROUND64(e0, e1, e2, e3, k0v, k1v);
        FI_PHILOX_ROUND64(o0, o1, o2, o3, k0v, k1v);
    }
    /* the odd words' low halves copied into the high halves (a shuffle, as above), then blended */
#define FI_PHILOX_JOIN(e, o) _mm256_blend_epi32(e, _mm256_shuffle_epi32(o, 0xA0), 0xAA)
    _mm256_storeu_si256((__m256i *)X, FI_PHILOX_JOIN(e0, o0));
    _mm256_storeu_si256((__m256i *)(X + 8), FI_PHILOX_JOIN(e1, o1));
    _mm256_storeu_si256((__m256i *)(X + 16), FI_PHILOX_JOIN(e2, o2));
    _mm256_storeu_si256((__m256i *)(X + 24), FI_PHILOX_JOIN(e3, o3));
#undef FI_PHILOX_JOIN
}
static inline void FI_K(philox_groups)(const fi_stream_id *s, uint64_t g, uint32_t *X,
                                       fi_philox_keys *ks) {
    for (int j = 0; j < FI_ILP; j++, X += FI_GROUP_WORDS) {
        uint64_t b0 = (g + (uint64_t)j) * FI_GROUP_BLOCKS;
        if ((uint32_t)(b0 >> 32) != ks->bh) FI_K(philox_prefix)(s, ks, (uint32_t)(b0 >> 32));
        FI_K(philox_words)(b0, X, ks);
    }
}
#else
static inline void FI_K(philox_groups)(const fi_stream_id *s, uint64_t g, uint32_t *X,
                                       fi_philox_keys *ks) {
    uint64_t b0 = g * FI_GROUP_BLOCKS, b1 = b0 + FI_GROUP_BLOCKS; /* low 3 bits zero: no carry */
    const v8u lanes = (v8u){0, 1, 2, 3, 4, 5, 6, 7};
    v8u a0 = lanes + (uint32_t)b0, a1 = (v8u){0} + (uint32_t)(b0 >> 32);
    v8u b0v = lanes + (uint32_t)b1, b1v = (v8u){0} + (uint32_t)(b1 >> 32);
    v8u a2 = (v8u){0} + (uint32_t)s->stream, a3 = (v8u){0} + (uint32_t)(s->stream >> 32);
    v8u b2 = a2, b3 = a3;
#pragma GCC unroll 10
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        const v8u k0v = ks->k0[r], k1v = ks->k1[r];
        FI_PHILOX_ROUND(a0, a1, a2, a3, k0v, k1v);
        FI_PHILOX_ROUND(b0v, b1v, b2, b3, k0v, k1v);
    }
    fi_store8u(X, a0);
    fi_store8u(X + 8, a1);
    fi_store8u(X + 16, a2);
    fi_store8u(X + 24, a3);
    fi_store8u(X + 32, b0v);
    fi_store8u(X + 40, b1v);
    fi_store8u(X + 48, b2);
    fi_store8u(X + 56, b3);
}

#endif

/* One group (the scalar reference fi_philox_group_scalar computes the same words). */
static inline void FI_K(philox_group)(const fi_stream_id *s, uint64_t g, uint32_t *X) {
    FI_ALIGN32 uint32_t XX[FI_GROUP_WORDS * FI_ILP];
    fi_philox_keys ks;
    FI_K(philox_keys)(s, &ks);
    FI_K(philox_groups)(s, g, XX, &ks);
    memcpy(X, XX, sizeof(uint32_t) * FI_GROUP_WORDS);
}

/* ---- per-group transforms: 32 words -> 32 float32 or 16 float64 values ---- */

static inline void FI_K(xf_raw)(const uint32_t *X, const fi_dist_params *p, void *out) {
    (void)p;
    memcpy(out, X, 32 * sizeof(uint32_t));
}

static inline void FI_K(xf_uniform_f32)(const uint32_t *X, const fi_dist_params *p, void *out_) {
    float *out = (float *)out_;
    const float low = (float)p->low, range = (float)p->range, bh = (float)p->below_high;
    for (int row = 0; row < 4; row++) {
        v8f u = fi_i32_to_f32((v8i)(fi_load8u(X + 8 * row) >> 8)) * 0x1p-24f;
        v8f y = u * range + low;
        fi_store8f(out + 8 * row, fi_sel8f(y <= bh, y, (v8f){0} + bh));
    }
}

static inline void FI_K(xf_uniform_f64)(const uint32_t *X, const fi_dist_params *p, void *out_) {
    double *out = (double *)out_;
    for (int row = 0; row < 2; row++) {
        for (int half = 0; half < 2; half++) {
            v4q x = fi_join64(X + 16 * row, X + 16 * row + 8, half);
            v4d u = fi_u53_to_f64(x >> 11) * 0x1p-53;
            v4d y = u * p->range + p->low;
            fi_store4d(out + 8 * row + 4 * half, fi_sel4d(y <= p->below_high, y, (v4d){0} + p->below_high));
        }
    }
}

/* a where the sign bit of m's lane is set, b elsewhere (one blend with AVX). */
static inline v8f FI_K(selsign8f)(v8u m, v8f a, v8f b) {
#if defined(__AVX__)
    return (v8f)_mm256_blendv_ps((__m256)b, (__m256)a, (__m256)m);
#else
    return fi_sel8f((v8i)m >> 31, a, b);
#endif
}
static inline v4d FI_K(selsign4d)(v4q m, v4d a, v4d b) {
#if defined(__AVX__)
    return (v4d)_mm256_blendv_pd((__m256d)b, (__m256d)a, (__m256d)m);
#else
    return fi_sel4d(-(v4l)(m >> 63), a, b);
#endif
}

/* Box-Muller on (a, b): radius from a (u1 in (0, 1], no log(0)), angle from the top 24 bits of b
 * reduced exactly to a quadrant q and t in (-1/2, 1/2). n independent vectors at once, each step
 * on all n before the next (same operations per lane as one at a time: same bits).
 * float32: u1 = RN(a) 2^-32 + 2^-33; w = (b >> 8) + 2^21 (round to the nearest quadrant), m = its
 * low 22 bits, q = the next two: t = (m + 1/2) 2^-22 - 1/2, exact, is built as the float
 * 1 + (2m + 1) 2^-23 minus 1.5. q's bits pick cos/sin and their signs by blends on sign bits. */
static inline __attribute__((always_inline)) void FI_K(box_muller8f_n)(const v8u *a, const v8u *b,
                                                                      v8f *zc, v8f *zs, int n) {
    v8f r[FI_NMAX], s[FI_NMAX], c[FI_NMAX];
    v8u w[FI_NMAX];
    FI_EACH(k, n) r[k] = fi_u32_to_f32(a[k]) * 0x1p-32f + 0x1p-33f;
    fi_log8f_n(r, n);
    FI_EACH(k, n) {
        r[k] = fi_sqrt8f(r[k] * -2.0f);
        w[k] = (b[k] >> 8) + (1u << 21);
        s[k] = (v8f)(((w[k] << 1) & 0x7fffffu) | 0x3f800001u) - 1.5f;
    }
    fi_sincos_halfpi8f_n(s, c, n);
    FI_EACH(k, n) {
        const v8u sign = (v8u){0} + 0x80000000u;
        v8u q0 = w[k] << 9, q1 = w[k] << 8; /* bits 0 and 1 of q as sign bits */
        v8f X = FI_K(selsign8f)(q0, s[k], c[k]), Y = FI_K(selsign8f)(q0, c[k], s[k]);
        zc[k] = r[k] * (v8f)((v8u)X ^ ((q0 ^ q1) & sign)); /* q = 1, 2 */
        zs[k] = r[k] * (v8f)((v8u)Y ^ (q1 & sign));        /* q = 2, 3 */
    }
}

/* float64: u1 = (a >> 11) 2^-53 + 2^-54 (one rounding), computed as the exact
 * (a >> 12) 2^-52 (1 + that, minus 1) plus 2^-54 or 3 2^-54 by bit 11; the angle as in float32
 * with w = (b >> 11) + 2^50, m 51 bits. */
static inline __attribute__((always_inline)) void FI_K(box_muller4d_n)(const v4q *a, const v4q *b,
                                                                      v4d *zc, v4d *zs, int n) {
    v4d r[FI_NMAX], s[FI_NMAX], c[FI_NMAX];
    v4q w[FI_NMAX];
    FI_EACH(k, n) {
        v4d hi = (v4d)((a[k] >> 12) | 0x3ff0000000000000ull) - 1.0;
        r[k] = hi + FI_K(selsign4d)(a[k] << 52, (v4d){0} + 0x3p-54, (v4d){0} + 0x1p-54);
    }
    fi_log4d_n(r, n);
    FI_EACH(k, n) {
        r[k] = fi_sqrt4d(r[k] * -2.0);
        w[k] = (b[k] >> 11) + (1ull << 50);
        s[k] = (v4d)(((w[k] << 1) & 0xfffffffffffffull) | 0x3ff0000000000001ull) - 1.5;
    }
    fi_sincos_halfpi4d_n(s, c, n);
    FI_EACH(k, n) {
        const v4q sign = (v4q){0} + 0x8000000000000000ull;
        v4q q0 = w[k] << 12, q1 = w[k] << 11;
        v4d X = FI_K(selsign4d)(q0, s[k], c[k]), Y = FI_K(selsign4d)(q0, c[k], s[k]);
        zc[k] = r[k] * (v4d)((v4q)X ^ ((q0 ^ q1) & sign));
        zs[k] = r[k] * (v4d)((v4q)Y ^ (q1 & sign));
    }
}

/* Groups per Box-Muller call (2 NG interleaved vector pairs): more chains than this only spill. */
#define FI_NG_F32 1
#define FI_NG_F64 2

/* The radius (a) and angle (b) rows of NG groups' words: vector k = 2 group + pair. */
static inline __attribute__((always_inline)) void FI_K(load_ab)(const uint32_t *X, v8u *a, v8u *b, int NG) {
    FI_EACH(k, 2 * NG) {
        a[k] = fi_load8u(X + 16 * k);
        b[k] = fi_load8u(X + 16 * k + 8);
    }
}
/* Normals of NG consecutive groups from their loaded rows (out: contiguous). */
static inline __attribute__((always_inline)) void FI_K(xw_normal_f32)(const v8u *a, const v8u *b,
                                                                     const fi_dist_params *p,
                                                                     float *out, int NG) {
    const float loc = (float)p->loc, scale = (float)p->scale;
    v8f zc[FI_NMAX], zs[FI_NMAX];
    FI_K(box_muller8f_n)(a, b, zc, zs, 2 * NG);
    FI_EACH(k, 2 * NG) {
        fi_store8f(out + 16 * k, zc[k] * scale + loc);
        fi_store8f(out + 16 * k + 8, zs[k] * scale + loc);
    }
}
/* Normals of NG consecutive groups (X: 32 NG words, out: contiguous). */
static inline __attribute__((always_inline)) void FI_K(xn_normal_f32)(const uint32_t *X,
                                                                     const fi_dist_params *p,
                                                                     float *out, int NG) {
    v8u a[FI_NMAX], b[FI_NMAX];
    FI_K(load_ab)(X, a, b, NG);
    FI_K(xw_normal_f32)(a, b, p, out, NG);
}
static inline void FI_K(xf_normal_f32)(const uint32_t *X, const fi_dist_params *p, void *out) {
    FI_K(xn_normal_f32)(X, p, (float *)out, 1);
}

/* The 8 uint64 lo[i] | hi[i] << 32 (i < 8) as two vectors, lanes in a per-path order that
 * store_pairs4d undoes: AVX2 interleaves within 128-bit halves (lanes 0 1 4 5 and 2 3 6 7: one
 * unpack each, and 128-bit stores put them back), other paths keep 0..3 and 4..7. Each lane's
 * arithmetic is the same, so are the bits. pairs_mask maps the two vectors' lane masks to bits
 * in memory order. */
static inline void FI_K(load_pairs)(const uint32_t *lo, const uint32_t *hi, v4q *v) {
#if defined(__AVX2__)
    __m256i l = _mm256_loadu_si256((const __m256i *)lo), h = _mm256_loadu_si256((const __m256i *)hi);
    v[0] = (v4q)_mm256_unpacklo_epi32(l, h);
    v[1] = (v4q)_mm256_unpackhi_epi32(l, h);
#else
    v[0] = fi_join64(lo, hi, 0);
    v[1] = fi_join64(lo, hi, 1);
#endif
}
static inline void FI_K(store_pairs4d)(double *out, v4d v0, v4d v1) {
#if defined(__AVX2__)
    _mm_storeu_pd(out, _mm256_castpd256_pd128((__m256d)v0));
    _mm_storeu_pd(out + 4, _mm256_extractf128_pd((__m256d)v0, 1));
    _mm_storeu_pd(out + 2, _mm256_castpd256_pd128((__m256d)v1));
    _mm_storeu_pd(out + 6, _mm256_extractf128_pd((__m256d)v1, 1));
#else
    fi_store4d(out, v0);
    fi_store4d(out + 4, v1);
#endif
}
static inline unsigned FI_K(pairs_mask)(unsigned m0, unsigned m1) {
#if defined(__AVX2__)
    return (m0 & 3u) | ((m1 & 3u) << 2) | ((m0 & 12u) << 2) | ((m1 & 12u) << 4);
#else
    return m0 | (m1 << 4);
#endif
}

/* float64 normals of NG groups: vector k = 2 group + h holds lanes h of load_pairs. */
static inline __attribute__((always_inline)) void FI_K(xn_normal_f64)(const uint32_t *X,
                                                                     const fi_dist_params *p,
                                                                     double *out, int NG) {
    v4q a[FI_NMAX], b[FI_NMAX];
    v4d zc[FI_NMAX], zs[FI_NMAX];
    FI_EACH(j, NG) {
        const uint32_t *Xg = X + FI_GROUP_WORDS * j;
        FI_K(load_pairs)(Xg, Xg + 8, a + 2 * j);       /* 64-bit row 0: radius */
        FI_K(load_pairs)(Xg + 16, Xg + 24, b + 2 * j); /* 64-bit row 1: angle */
    }
    FI_K(box_muller4d_n)(a, b, zc, zs, 2 * NG);
    FI_EACH(j, NG) {
        double *o = out + 16 * j;
        FI_K(store_pairs4d)(o, zc[2 * j] * p->scale + p->loc, zc[2 * j + 1] * p->scale + p->loc);
        FI_K(store_pairs4d)(o + 8, zs[2 * j] * p->scale + p->loc, zs[2 * j + 1] * p->scale + p->loc);
    }
}
static inline void FI_K(xf_normal_f64)(const uint32_t *X, const fi_dist_params *p, void *out) {
    FI_K(xn_normal_f64)(X, p, (double *)out, 1);
}

/* Truncated normal by inverse CDF from u in (0, 1): the lower tail uses p = pa + u mass, the upper
 * tail q = qb + (1 - u) mass (1 - u is exact), so both tails keep full relative precision. */
static inline __attribute__((always_inline)) void FI_K(truncnorm_z4d_n)(const v4d *u,
                                                                        const fi_dist_params *p,
                                                                        v4d *z, int n) {
    v4d pv[FI_NMAX], q[FI_NMAX];
    v4l lower[FI_NMAX], central = (v4l){0} - 1;
    FI_EACH(k, n) {
        v4d pl = u[k] * p->tn_mass + p->tn_pa;
        v4d qu = (1.0 - u[k]) * p->tn_mass + p->tn_qb;
        lower[k] = pl < 0.5;
        pv[k] = fi_sel4d(lower[k], pl, qu);
        q[k] = pv[k] - 0.5;
        central &= (q[k] >= -0.425) & (q[k] <= 0.425);
    }
    /* all lanes in the central region (always, for intervals such as [-1, 1]): n chains of its
     * polynomial at once, what fi_ndtri_lower4d computes for such lanes */
    if (fi_all4(central)) fi_ndtri_central4d_n(q, z, n);
    else FI_EACH(k, n) z[k] = fi_ndtri_lower4d(pv[k]);
    FI_EACH(k, n) {
        z[k] = fi_sel4d(lower[k], z[k], -z[k]);
        z[k] = fi_sel4d(z[k] < p->tn_za, (v4d){0} + p->tn_za, z[k]);
        z[k] = fi_sel4d(z[k] > p->tn_zb, (v4d){0} + p->tn_zb, z[k]);
    }
}

/* Four vectors of 4 values at a time. */
static inline void FI_K(xf_truncnorm_f32)(const uint32_t *X, const fi_dist_params *p, void *out_) {
    float *out = (float *)out_;
    const float lo = (float)p->out_lo, hi = (float)p->out_hi;
    for (int i = 0; i < 32; i += 16) {
        v4d u[4], z[4];
        FI_EACH(k, 4) {
            v4u w;
            memcpy(&w, X + i + 4 * k, 16);
            u[k] = (fi_u52_to_f64(__builtin_convertvector(w, v4q)) + 0.5) * 0x1p-32;
        }
        FI_K(truncnorm_z4d_n)(u, p, z, 4);
        FI_EACH(k, 4) {
            v4f yf = __builtin_convertvector(z[k] * p->scale + p->loc, v4f);
            yf = (v4f)(((v4u)yf & (v4u)(yf >= lo)) | ((v4u)((v4f){0} + lo) & ~(v4u)(yf >= lo)));
            yf = (v4f)(((v4u)yf & (v4u)(yf <= hi)) | ((v4u)((v4f){0} + hi) & ~(v4u)(yf <= hi)));
            memcpy(out + i + 4 * k, &yf, 16);
        }
    }
}

static inline void FI_K(xf_truncnorm_f64)(const uint32_t *X, const fi_dist_params *p, void *out_) {
    double *out = (double *)out_;
    v4q x[4];
    v4d u[4], z[4];
    FI_K(load_pairs)(X, X + 8, x);
    FI_K(load_pairs)(X + 16, X + 24, x + 2);
    FI_EACH(k, 4) u[k] = (fi_u52_to_f64(x[k] >> 12) + 0.5) * 0x1p-52;
    FI_K(truncnorm_z4d_n)(u, p, z, 4);
    FI_EACH(k, 4) {
        v4d y = z[k] * p->scale + p->loc;
        y = fi_sel4d(y < p->out_lo, (v4d){0} + p->out_lo, y);
        z[k] = fi_sel4d(y > p->out_hi, (v4d){0} + p->out_hi, y);
    }
    FI_K(store_pairs4d)(out, z[0], z[1]);
    FI_K(store_pairs4d)(out + 8, z[2], z[3]);
}

/* ---- truncated normal by rejection (intervals holding >= FI_TRUNCNORM_REJECT_MASS) -----------
 * Value v is the Box-Muller normal of the same position when loc + scale z lands strictly inside
 * the interval (in the output dtype); otherwise it is the inverse-CDF draw from the same position
 * of the retry stream (stream id with its top bit flipped, reserved for this). Accepted values
 * follow the normal restricted to the interval and the retries are independent draws of the
 * truncated law, so the mixture is exactly the truncated normal, and value v still depends only
 * on (key, stream, v).
 *
 * The main pass writes every normal and queues the rejected slots (value index, destination) in a
 * retry buffer, found from a bit mask of the whole transform (one branch per set bit, none per
 * vector). The buffer is resolved once it holds FI_RETRY_FLUSH slots: the retry-stream Philox
 * blocks 16 at a time (two 8-lane vectors, each lane its own counter), then the inverse CDF with
 * central-region and tail retries packed into separate vectors. Each retry is a pure
 * function of its value index, so batching gives the same bits as one retry at a time. */
#ifndef FI_RETRY_BUF_DEFINED
#define FI_RETRY_BUF_DEFINED
#define FI_RETRY_CAP 144  /* flushed once it holds FI_RETRY_FLUSH; a transform adds at most 64 */
#define FI_RETRY_FLUSH 64
typedef struct {
    int n;
    uint64_t v[FI_RETRY_CAP];  /* value index in the stream */
    void *dst[FI_RETRY_CAP];   /* where the value goes */
    FI_ALIGN32 double u[FI_RETRY_CAP]; /* its uniform on the retry stream (padded to 16) */
} fi_retry_buf;
#endif

/* Bit i set where lane i of a comparison mask is true. */
static inline unsigned FI_K(mask8)(v8i m) {
#if defined(__AVX__)
    return (unsigned)_mm256_movemask_ps((__m256)m);
#elif defined(__SSE2__)
    __m128 lo, hi;
    memcpy(&lo, &m, 16);
    memcpy(&hi, (char *)&m + 16, 16);
    return (unsigned)_mm_movemask_ps(lo) | ((unsigned)_mm_movemask_ps(hi) << 4);
#else
    unsigned r = 0;
    for (int i = 0; i < 8; i++) r |= (unsigned)(m[i] != 0) << i;
    return r;
#endif
}
static inline unsigned FI_K(mask4)(v4l m) {
#if defined(__AVX__)
    return (unsigned)_mm256_movemask_pd((__m256d)m);
#elif defined(__SSE2__)
    __m128d lo, hi;
    memcpy(&lo, &m, 16);
    memcpy(&hi, (char *)&m + 16, 16);
    return (unsigned)_mm_movemask_pd(lo) | ((unsigned)_mm_movemask_pd(hi) << 2);
#else
    unsigned r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)(m[i] != 0) << i;
    return r;
#endif
}

/* Queue the slots whose bit is set in rej: value v_base + i goes to out + i. */
static inline void FI_K(retry_queue)(fi_retry_buf *rb, uint64_t rej, uint64_t v_base, char *out,
                                     size_t itemsize) {
    int n = rb->n;
    while (rej) {
        int i = __builtin_ctzll(rej);
        rej &= rej - 1;
        rb->v[n] = v_base + (uint64_t)i;
        rb->dst[n] = out + itemsize * (size_t)i;
        n++;
    }
    rb->n = n;
}

/* Philox blocks (block[8 k + i], retry stream) for 8 nv arbitrary block numbers: row r of
 * vector k in c[4 k + r]; nv chains interleaved. */
static inline __attribute__((always_inline)) void FI_K(philox_retry)(const fi_stream_id *s,
                                                                    const uint64_t *block, v8u *c,
                                                                    int nv) {
    uint64_t rs = s->stream ^ FI_RETRY_STREAM_BIT;
    v8u a0[2], a1[2], a2[2], a3[2];
    FI_EACH(k, nv) {
        for (int i = 0; i < 8; i++) {
            a0[k][i] = (uint32_t)block[8 * k + i];
            a1[k][i] = (uint32_t)(block[8 * k + i] >> 32);
        }
        a2[k] = (v8u){0} + (uint32_t)rs;
        a3[k] = (v8u){0} + (uint32_t)(rs >> 32);
    }
    uint32_t k0 = s->key[0], k1 = s->key[1];
#pragma GCC unroll 10
    for (int r = 0; r < FI_PHILOX_ROUNDS; r++) {
        const v8u k0v = (v8u){0} + (k0 + (uint32_t)r * FI_PHILOX_W0);
        const v8u k1v = (v8u){0} + (k1 + (uint32_t)r * FI_PHILOX_W1);
        FI_EACH(k, nv) FI_PHILOX_ROUND(a0[k], a1[k], a2[k], a3[k], k0v, k1v);
    }
    FI_EACH(k, nv) {
        c[4 * k] = a0[k];
        c[4 * k + 1] = a1[k];
        c[4 * k + 2] = a2[k];
        c[4 * k + 3] = a3[k];
    }
}

/* Gather lanes idx[0..m) of src (the rest repeat idx[0]) into nv vectors of 4. */
static inline __attribute__((always_inline)) void FI_K(gather4d)(const double *src, const int *idx,
                                                                int m, v4d *v, int nv) {
    FI_EACH(k, nv) for (int l = 0; l < 4; l++) {
        int j = 4 * k + l;
        v[k][l] = src[idx[j < m ? j : 0]];
    }
}
static inline __attribute__((always_inline)) void FI_K(scatter4d)(double *dst, const int *idx, int m,
                                                                 const v4d *v, int nv) {
    FI_EACH(k, nv) for (int l = 0; l < 4; l++) {
        int j = 4 * k + l;
        if (j < m) dst[idx[j]] = v[k][l];
    }
}

/* The queued retries from their uniforms rb->u: the inverse CDF as truncnorm_z4d_n computes it, the
 * central-region and tail retries packed separately (each region's polynomial only on the lanes
 * that take it: the same per-lane operations, so the same bits), then loc + scale z in the
 * output dtype, clamped into the open interval, written to its slot. */
#define FI_DEFINE_RETRY_RESOLVE(NAME, T)                                                         \
    static void FI_K(NAME)(fi_retry_buf *rb, const fi_dist_params *p) {                          \
        const int n = rb->n;                                                                     \
        double pp[FI_RETRY_CAP];                                                                 \
        double z[FI_RETRY_CAP];                                                                  \
        int ic[FI_RETRY_CAP], it[FI_RETRY_CAP], nc = 0, nt = 0;                                  \
        unsigned char lower[FI_RETRY_CAP];                                                       \
        for (int i = 0; i < n; i += 4) {                                                         \
            v4d u = fi_load4d(rb->u + i); /* lanes past n: padding */                            \
            v4d pl = u * p->tn_mass + p->tn_pa;                                                  \
            v4d qu = (1.0 - u) * p->tn_mass + p->tn_qb;                                          \
            v4l lw = pl < 0.5;                                                                   \
            v4d pv = fi_sel4d(lw, pl, qu), q = pv - 0.5;                                         \
            unsigned cm = FI_K(mask4)((q >= -0.425) & (q <= 0.425));                             \
            fi_store4d(pp + i, pv);                                                              \
            unsigned lm = FI_K(mask4)(lw);                                                       \
            for (int j = 0; j < 4 && i + j < n; j++) {                                           \
                int c = (cm >> j) & 1;                                                           \
                lower[i + j] = (unsigned char)((lm >> j) & 1);                                   \
                ic[nc] = i + j;                                                                  \
                it[nt] = i + j;                                                                  \
                nc += c;                                                                         \
                nt += 1 - c;                                                                     \
            }                                                                                    \
        }                                                                                        \
        for (int j = 0; j < nc; j += 16) {                                                       \
            v4d q[4], x[4];                                                                      \
            FI_K(gather4d)(pp, ic + j, nc - j, q, 4);                                            \
            FI_EACH(k, 4) q[k] = q[k] - 0.5;                                                     \
            fi_ndtri_central4d_n(q, x, 4);                                                       \
            FI_K(scatter4d)(z, ic + j, nc - j, x, 4);                                            \
        }                                                                                        \
        for (int j = 0; j < nt; j += 8) {                                                        \
            v4d pt[2], x[2];                                                                     \
            FI_K(gather4d)(pp, it + j, nt - j, pt, 2);                                           \
            FI_EACH(k, 2) pt[k] = fi_sel4d(pt[k] < 0.5, pt[k], (v4d){0.5, 0.5, 0.5, 0.5});       \
            fi_ndtri_tail4d_n(pt, x, 2);                                                         \
            FI_K(scatter4d)(z, it + j, nt - j, x, 2);                                            \
        }                                                                                        \
        const T lo = (T)p->out_lo, hi = (T)p->out_hi;                                            \
        for (int i = 0; i < n; i++) {                                                            \
            double zi = lower[i] ? z[i] : -z[i];                                                 \
            zi = zi < p->tn_za ? p->tn_za : zi;                                                  \
            zi = zi > p->tn_zb ? p->tn_zb : zi;                                                  \
            T v = (T)(zi * p->scale + p->loc);                                                   \
            *(T *)rb->dst[i] = v < lo ? lo : (v > hi ? hi : v);                                  \
        }                                                                                        \
        rb->n = 0;                                                                               \
    }
FI_DEFINE_RETRY_RESOLVE(retry_resolve_f32, float)
FI_DEFINE_RETRY_RESOLVE(retry_resolve_f64, double)

/* Blocks of 16 queued retries, the index of the value's word(s) in each block, and the words. */
#define FI_RETRY_WORDS(rb, i, BLOCK_OF, ROW_OF, c, row)                                          \
    do {                                                                                         \
        uint64_t block_[16];                                                                     \
        for (int j_ = 0; j_ < 16; j_++) {                                                        \
            uint64_t v_ = (rb)->v[(i) + j_ < (rb)->n ? (i) + j_ : 0];                            \
            block_[j_] = BLOCK_OF(v_);                                                           \
            row[j_ >> 3][j_ & 7] = ROW_OF(v_);                                                   \
        }                                                                                        \
        FI_K(philox_retry)(s, block_, c, 2);                                                     \
    } while (0)

/* float32 value v is word v of the retry stream: block (v / 32) * 8 + v % 8, row (v / 8) % 4;
 * u = (w + 1/2) 2^-32. */
#define FI_F32_BLOCK(v) (((v) / FI_GROUP_WORDS) * FI_GROUP_BLOCKS + (v) % FI_GROUP_BLOCKS)
#define FI_F32_ROW(v) ((uint32_t)(((v) / FI_GROUP_BLOCKS) % 4))
static void FI_K(retry_flush_f32)(const fi_stream_id *s, const fi_dist_params *p, fi_retry_buf *rb) {
    for (int i = 0; i < rb->n; i += 16) {
        v8u c[8], row[2];
        FI_RETRY_WORDS(rb, i, FI_F32_BLOCK, FI_F32_ROW, c, row);
        for (int k = 0; k < 2; k++) {
            v8u w = (v8u)(((v8i)(row[k] == 0) & (v8i)c[4 * k]) | ((v8i)(row[k] == 1) & (v8i)c[4 * k + 1]) |
                          ((v8i)(row[k] == 2) & (v8i)c[4 * k + 2]) | ((v8i)(row[k] == 3) & (v8i)c[4 * k + 3]));
            for (int h = 0; h < 2; h++) {
                v4u wh;
                memcpy(&wh, (char *)&w + 16 * h, 16);
                v4d u = (fi_u52_to_f64(__builtin_convertvector(wh, v4q)) + 0.5) * 0x1p-32;
                fi_store4d(rb->u + i + 8 * k + 4 * h, u);
            }
        }
    }
    FI_K(retry_resolve_f32)(rb, p);
}

/* float64 value v = 16 g + k takes rows 2 (k / 8) and 2 (k / 8) + 1 (low and high word) of block
 * 8 g + k % 8 of the retry stream; u = ((x >> 12) + 1/2) 2^-52. */
#define FI_F64_BLOCK(v) (((v) / 16) * FI_GROUP_BLOCKS + (v) % FI_GROUP_BLOCKS)
#define FI_F64_ROW(v) ((uint32_t)(((v) / FI_GROUP_BLOCKS) & 1))
static void FI_K(retry_flush_f64)(const fi_stream_id *s, const fi_dist_params *p, fi_retry_buf *rb) {
    for (int i = 0; i < rb->n; i += 16) {
        v8u c[8], row[2];
        FI_RETRY_WORDS(rb, i, FI_F64_BLOCK, FI_F64_ROW, c, row);
        for (int k = 0; k < 2; k++) {
            v8i upper = (v8i)(row[k] != 0);
            v8u wl = (v8u)(((v8i)c[4 * k + 2] & upper) | ((v8i)c[4 * k] & ~upper));
            v8u wh = (v8u)(((v8i)c[4 * k + 3] & upper) | ((v8i)c[4 * k + 1] & ~upper));
            for (int h = 0; h < 2; h++) {
                v4q x = fi_join64((const uint32_t *)&wl, (const uint32_t *)&wh, h);
                fi_store4d(rb->u + i + 8 * k + 4 * h, (fi_u52_to_f64(x >> 12) + 0.5) * 0x1p-52);
            }
        }
    }
    FI_K(retry_resolve_f64)(rb, p);
}

/* Main pass of NG groups (X: 32 NG words; values from v_base, contiguous in out). */
static inline __attribute__((always_inline)) void FI_K(xr_truncrej_f32)(
    const uint32_t *X, const fi_dist_params *p, float *out, uint64_t v_base, fi_retry_buf *rb,
    int NG) {
    const float loc = (float)p->loc, scale = (float)p->scale;
    const float lo = (float)p->out_lo, hi = (float)p->out_hi;
    v8u a[FI_NMAX], b[FI_NMAX];
    v8f zc[FI_NMAX], zs[FI_NMAX];
    FI_EACH(k, 2 * NG) {
        a[k] = fi_load8u(X + 16 * k);
        b[k] = fi_load8u(X + 16 * k + 8);
    }
    FI_K(box_muller8f_n)(a, b, zc, zs, 2 * NG);
    uint64_t rej = 0;
    FI_EACH(k, 2 * NG) {
        v8f y0 = zc[k] * scale + loc, y1 = zs[k] * scale + loc;
        fi_store8f(out + 16 * k, y0);
        fi_store8f(out + 16 * k + 8, y1);
        unsigned r0 = FI_K(mask8)((y0 < lo) | (y0 > hi)), r1 = FI_K(mask8)((y1 < lo) | (y1 > hi));
        rej |= (uint64_t)(r0 | (r1 << 8)) << (16 * k);
    }
    if (rej) FI_K(retry_queue)(rb, rej, v_base, (char *)out, sizeof(float));
}

static inline __attribute__((always_inline)) void FI_K(xr_truncrej_f64)(
    const uint32_t *X, const fi_dist_params *p, double *out, uint64_t v_base, fi_retry_buf *rb,
    int NG) {
    v4q a[FI_NMAX], b[FI_NMAX];
    v4d zc[FI_NMAX], zs[FI_NMAX];
    FI_EACH(j, NG) {
        const uint32_t *Xg = X + FI_GROUP_WORDS * j;
        FI_K(load_pairs)(Xg, Xg + 8, a + 2 * j);
        FI_K(load_pairs)(Xg + 16, Xg + 24, b + 2 * j);
    }
    FI_K(box_muller4d_n)(a, b, zc, zs, 2 * NG);
    uint64_t rej = 0;
    FI_EACH(j, NG) {
        v4d y[4];
        unsigned m[4];
        for (int i = 0; i < 4; i++) {
            v4d z = i < 2 ? zc[2 * j + i] : zs[2 * j + i - 2];
            y[i] = z * p->scale + p->loc;
            m[i] = FI_K(mask4)((y[i] < p->out_lo) | (y[i] > p->out_hi));
        }
        FI_K(store_pairs4d)(out + 16 * j, y[0], y[1]);
        FI_K(store_pairs4d)(out + 16 * j + 8, y[2], y[3]);
        rej |= (uint64_t)(FI_K(pairs_mask)(m[0], m[1]) | (FI_K(pairs_mask)(m[2], m[3]) << 8)) << (16 * j);
    }
    if (rej) FI_K(retry_queue)(rb, rej, v_base, (char *)out, sizeof(double));
}

/* Transforms as the fills call them: xg_ one group, xi_ FI_ILP consecutive groups into
 * contiguous output (the normals interleave their groups' Box-Muller chains, the others go group
 * by group); g is the first group, rb the retry buffer (rejection only). */
#define FI_PLAIN_XG(NAME)                                                                        \
    static inline void FI_K(xg_##NAME)(const uint32_t *X, const fi_dist_params *p, void *out,    \
                                       uint64_t g, fi_retry_buf *rb) {                           \
        (void)g; (void)rb;                                                                       \
        FI_K(xf_##NAME)(X, p, out);                                                              \
    }
FI_PLAIN_XG(raw)
FI_PLAIN_XG(uniform_f32)
FI_PLAIN_XG(uniform_f64)
FI_PLAIN_XG(normal_f32)
FI_PLAIN_XG(normal_f64)
FI_PLAIN_XG(truncnorm_f32)
FI_PLAIN_XG(truncnorm_f64)

#define FI_LOOP_XG(NAME, VPG, T)                                                                 \
    static inline void FI_K(xi_##NAME)(const uint32_t *X, const fi_dist_params *p, void *out,    \
                                       uint64_t g, fi_retry_buf *rb) {                           \
        for (int j = 0; j < FI_ILP; j++)                                                         \
            FI_K(xg_##NAME)(X + FI_GROUP_WORDS * j, p, (T *)out + (VPG) * j, g + (uint64_t)j, rb); \
    }
FI_LOOP_XG(raw, 32, uint32_t)
FI_LOOP_XG(uniform_f32, 32, float)
FI_LOOP_XG(uniform_f64, 16, double)
FI_LOOP_XG(truncnorm_f32, 32, float)
FI_LOOP_XG(truncnorm_f64, 16, double)

#define FI_GROUPS_XG(NAME, VPG, T, NG)                                                           \
    static inline void FI_K(xg_##NAME)(const uint32_t *X, const fi_dist_params *p, void *out,    \
                                       uint64_t g, fi_retry_buf *rb) {                           \
        FI_K(xr_##NAME)(X, p, (T *)out, g * (VPG), rb, 1);                                       \
    }                                                                                            \
    static inline void FI_K(xi_##NAME)(const uint32_t *X, const fi_dist_params *p, void *out,    \
                                       uint64_t g, fi_retry_buf *rb) {                           \
        for (int j = 0; j < FI_ILP; j += (NG))                                                   \
            FI_K(xr_##NAME)(X + FI_GROUP_WORDS * j, p, (T *)out + (VPG) * j,                     \
                            (g + (uint64_t)j) * (VPG), rb, (NG));                                \
    }
static inline void FI_K(xi_normal_f32)(const uint32_t *X, const fi_dist_params *p, void *out,
                                       uint64_t g, fi_retry_buf *rb) {
    (void)g; (void)rb;
    for (int j = 0; j < FI_ILP; j += FI_NG_F32)
        FI_K(xn_normal_f32)(X + FI_GROUP_WORDS * j, p, (float *)out + 32 * j, FI_NG_F32);
}
static inline void FI_K(xi_normal_f64)(const uint32_t *X, const fi_dist_params *p, void *out,
                                       uint64_t g, fi_retry_buf *rb) {
    (void)g; (void)rb;
    FI_K(xn_normal_f64)(X, p, (double *)out, FI_ILP);
}
FI_GROUPS_XG(truncrej_f32, 32, float, FI_NG_F32)
FI_GROUPS_XG(truncrej_f64, 16, double, FI_NG_F64)

static inline void FI_K(no_flush)(const fi_stream_id *s, const fi_dist_params *p, fi_retry_buf *rb) {
    (void)s; (void)p; (void)rb;
}

/* ---- fills: values v0 .. v0+n-1; partial groups at either end go through a scratch group ----
 * FLUSH resolves the queued retries: whenever the buffer is half full, before a scratch group is
 * copied out, and at the end. */
#define FI_DEFINE_FILL(NAME, VPG, T, XFORM, XFORM_ILP, FLUSH)                                     \
    static void FI_K(NAME)(const fi_stream_id *s, uint64_t v0, int64_t n,                         \
                           const fi_dist_params *p, void *out_) {                                 \
        T *out = (T *)out_;                                                                       \
        uint64_t g = v0 / (VPG);                                                                  \
        int64_t off = (int64_t)(v0 % (VPG));                                                      \
        FI_ALIGN32 uint32_t X[FI_GROUP_WORDS * FI_ILP];                                           \
        FI_ALIGN32 T tmp[VPG];                                                                    \
        fi_retry_buf rb;                                                                          \
        rb.n = 0;                                                                                 \
        fi_philox_keys ks;                                                                        \
        FI_K(philox_keys)(s, &ks);                                                                \
        while (n > 0) {                                                                           \
            FI_K(philox_groups)(s, g, X, &ks);                                                    \
            if (off == 0 && n >= FI_ILP * (VPG)) {                                                \
                XFORM_ILP(X, p, out, g, &rb);                                                     \
                if (rb.n >= FI_RETRY_FLUSH) FLUSH(s, p, &rb);                                     \
                out += FI_ILP * (VPG);                                                            \
                n -= FI_ILP * (VPG);                                                              \
                g += FI_ILP;                                                                      \
                continue;                                                                         \
            }                                                                                     \
            for (int j = 0; j < FI_ILP && n > 0; j++) {                                           \
                const uint32_t *Xj = X + FI_GROUP_WORDS * j;                                      \
                if (off == 0 && n >= (VPG)) {                                                     \
                    XFORM(Xj, p, out, g + (uint64_t)j, &rb);                                      \
                    out += (VPG);                                                                 \
                    n -= (VPG);                                                                   \
                } else {                                                                          \
                    XFORM(Xj, p, tmp, g + (uint64_t)j, &rb);                                      \
                    FLUSH(s, p, &rb);                                                             \
                    int64_t take = (VPG) - off;                                                   \
                    if (take > n) take = n;                                                       \
                    memcpy(out, tmp + off, (size_t)take * sizeof(T));                             \
                    out += take;                                                                  \
                    n -= take;                                                                    \
                    off = 0;                                                                      \
                }                                                                                 \
            }                                                                                     \
            g += FI_ILP;                                                                          \
        }                                                                                         \
        if (rb.n) FLUSH(s, p, &rb);                                                               \
    }

#define FI_NF FI_K(no_flush)
FI_DEFINE_FILL(fill_raw, 32, uint32_t, FI_K(xg_raw), FI_K(xi_raw), FI_NF)
FI_DEFINE_FILL(fill_uniform_f32, 32, float, FI_K(xg_uniform_f32), FI_K(xi_uniform_f32), FI_NF)
FI_DEFINE_FILL(fill_uniform_f64, 16, double, FI_K(xg_uniform_f64), FI_K(xi_uniform_f64), FI_NF)
#if defined(__AVX2__)
FI_DEFINE_FILL(fill_normal_f32_parts, 32, float, FI_K(xg_normal_f32), FI_K(xi_normal_f32), FI_NF)
/* float32 normals over whole groups, one group per step: load the previous group's words, compute
 * this group's Philox words into the other buffer, transform the loaded ones. This loop shape
 * measured about 5% faster than the generic fill's (Philox for two groups into a buffer, then
 * the transform group by group). GCC does not interleave the two parts (checked in the
 * assembly; forcing it did not help either): the gain is the loop's, not overlap. Same words,
 * same transform: same bits. Partial groups at either end go through fill_normal_f32_parts. */
static void FI_K(fill_normal_f32)(const fi_stream_id *s, uint64_t v0, int64_t n,
                                  const fi_dist_params *p, void *out_) {
    float *out = (float *)out_;
    int64_t head = (int64_t)((32u - v0 % 32u) % 32u);
    if (head > n) head = n;
    if (head) {
        FI_K(fill_normal_f32_parts)(s, v0, head, p, out);
        v0 += (uint64_t)head;
        out += head;
        n -= head;
    }
    const int64_t groups = n / 32;
    if (groups > 0) {
        FI_ALIGN32 uint32_t X[2][FI_GROUP_WORDS];
        fi_philox_keys ks;
        FI_K(philox_keys)(s, &ks);
        for (int64_t i = 0; i < groups; i++) {
            const uint64_t b0 = (v0 / 32 + (uint64_t)i) * FI_GROUP_BLOCKS;
            v8u a[2], b[2];
            if (i > 0) FI_K(load_ab)(X[(i - 1) & 1], a, b, 1); /* before X[i & 1] is written */
            if ((uint32_t)(b0 >> 32) != ks.bh) FI_K(philox_prefix)(s, &ks, (uint32_t)(b0 >> 32));
            FI_K(philox_words)(b0, X[i & 1], &ks);
            if (i > 0) FI_K(xw_normal_f32)(a, b, p, out + 32 * (i - 1), 1);
        }
        FI_K(xn_normal_f32)(X[(groups - 1) & 1], p, out + 32 * (groups - 1), 1);
        v0 += (uint64_t)(32 * groups);
        out += 32 * groups;
        n -= 32 * groups;
    }
    if (n) FI_K(fill_normal_f32_parts)(s, v0, n, p, out);
}
#else
FI_DEFINE_FILL(fill_normal_f32, 32, float, FI_K(xg_normal_f32), FI_K(xi_normal_f32), FI_NF)
#endif
FI_DEFINE_FILL(fill_normal_f64, 16, double, FI_K(xg_normal_f64), FI_K(xi_normal_f64), FI_NF)
FI_DEFINE_FILL(fill_truncinv_f32, 32, float, FI_K(xg_truncnorm_f32), FI_K(xi_truncnorm_f32), FI_NF)
FI_DEFINE_FILL(fill_truncinv_f64, 16, double, FI_K(xg_truncnorm_f64), FI_K(xi_truncnorm_f64), FI_NF)
FI_DEFINE_FILL(fill_truncrej_f32, 32, float, FI_K(xg_truncrej_f32), FI_K(xi_truncrej_f32),
               FI_K(retry_flush_f32))
FI_DEFINE_FILL(fill_truncrej_f64, 16, double, FI_K(xg_truncrej_f64), FI_K(xi_truncrej_f64),
               FI_K(retry_flush_f64))
#undef FI_NF

/* The method is a function of the interval alone, so every path and thread count agrees. */
static void FI_K(fill_truncnorm_f32)(const fi_stream_id *s, uint64_t v0, int64_t n,
                                     const fi_dist_params *p, void *out) {
    if (p->tn_mass >= FI_TRUNCNORM_REJECT_MASS) FI_K(fill_truncrej_f32)(s, v0, n, p, out);
    else FI_K(fill_truncinv_f32)(s, v0, n, p, out);
}
static void FI_K(fill_truncnorm_f64)(const fi_stream_id *s, uint64_t v0, int64_t n,
                                     const fi_dist_params *p, void *out) {
    if (p->tn_mass >= FI_TRUNCNORM_REJECT_MASS) FI_K(fill_truncrej_f64)(s, v0, n, p, out);
    else FI_K(fill_truncinv_f64)(s, v0, n, p, out);
}

const fi_fill_kernel FI_K(fi_fill_table)[FI_DIST_COUNT] = {
    FI_K(fill_raw), FI_K(fill_uniform_f32), FI_K(fill_uniform_f64), FI_K(fill_normal_f32),
    FI_K(fill_normal_f64), FI_K(fill_truncnorm_f32), FI_K(fill_truncnorm_f64)};

const fi_xform_kernel FI_K(fi_xform_table)[FI_DIST_COUNT] = {
    FI_K(xf_raw), FI_K(xf_uniform_f32), FI_K(xf_uniform_f64), FI_K(xf_normal_f32),
    FI_K(xf_normal_f64), FI_K(xf_truncnorm_f32), FI_K(xf_truncnorm_f64)};

const fi_group_kernel FI_K(fi_group_fn) = FI_K(philox_group);
