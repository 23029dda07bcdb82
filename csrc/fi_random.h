/* fi_random.h: bulk sampling from a Philox stream (the layout is in fi_philox.h).
 *
 * Value v of a distribution depends only on (key, stream, v): a float32 kind reads word v of the
 * stream, a float64 kind words 2v and 2v+1. Every kernel is a pure function of those words, so the
 * output does not depend on the thread count, the SIMD path or how a request is split into calls.
 * These functions cannot fail: all checks happen in Python/Cython before the call.
 * Mirrored in src/fastinit/_core.pyx. */
#ifndef FI_RANDOM_H
#define FI_RANDOM_H

#include "fi_common.h"
#include "fi_philox.h"

typedef enum {
    FI_DIST_RAW_U32 = 0,      /* the words themselves */
    FI_DIST_UNIFORM_F32 = 1,  /* low + range * u, u = (w >> 8) * 2^-24 in [0, 1) */
    FI_DIST_UNIFORM_F64 = 2,  /* u = (x >> 11) * 2^-53 */
    FI_DIST_NORMAL_F32 = 3,   /* loc + scale * z, Box-Muller on word pairs */
    FI_DIST_NORMAL_F64 = 4,
    FI_DIST_TRUNCNORM_F32 = 5,/* rejection or inverse CDF (float64, both tails log-safe) */
    FI_DIST_TRUNCNORM_F64 = 6,
    FI_DIST_COUNT = 7
} fi_dist;

typedef struct {
    /* normal, truncated normal: out = loc + scale * z */
    double loc, scale;
    /* uniform: out = low + range * u, then min(out, below_high) so out < high */
    double low, range, below_high;
    /* truncated normal on [a, b] (standard units): p = pa + u * mass on the lower side,
     * q = qb + (1 - u) * mass on the upper side; z clamped to [za, zb] (open interval (a, b));
     * outputs clamped to [out_lo, out_hi] (the open interval in output units). */
    double tn_pa, tn_qb, tn_mass, tn_za, tn_zb, out_lo, out_hi;
} fi_dist_params;

/* Truncated normals on intervals holding at least this much of the normal's mass are drawn by
 * rejection from the Box-Muller normals, with inverse-CDF retries on the retry stream (the stream
 * id with FI_RETRY_STREAM_BIT flipped; user stream ids stay below 2^63). Narrower or far
 * intervals use the inverse CDF directly. */
#define FI_TRUNCNORM_REJECT_MASS 0.9
#define FI_RETRY_STREAM_BIT 0x8000000000000000ull

/* Words of the stream consumed per value. */
static inline int fi_dist_words_per_value(fi_dist d) {
    return (d == FI_DIST_UNIFORM_F64 || d == FI_DIST_NORMAL_F64 || d == FI_DIST_TRUNCNORM_F64) ? 2 : 1;
}
static inline size_t fi_dist_itemsize(fi_dist d) {
    return (d == FI_DIST_UNIFORM_F64 || d == FI_DIST_NORMAL_F64 || d == FI_DIST_TRUNCNORM_F64) ? 8 : 4;
}

/* out[i] = value (v0 + i), i in [0, n). n_threads <= 0 means fi_default_threads(). */
void fi_random_fill(fi_dist dist, const fi_stream_id *s, uint64_t v0, int64_t n,
                    const fi_dist_params *p, void *out, int n_threads);

/* Named entry points (numpy.random's random_<dist>_fill convention). */
void fi_raw_fill_u32(const fi_stream_id *s, uint64_t v0, int64_t n, uint32_t *out, int n_threads);
void fi_uniform_fill_f32(const fi_stream_id *s, uint64_t v0, int64_t n, double low, double high,
                         float *out, int n_threads);
void fi_uniform_fill_f64(const fi_stream_id *s, uint64_t v0, int64_t n, double low, double high,
                         double *out, int n_threads);
void fi_normal_fill_f32(const fi_stream_id *s, uint64_t v0, int64_t n, double loc, double scale,
                        float *out, int n_threads);
void fi_normal_fill_f64(const fi_stream_id *s, uint64_t v0, int64_t n, double loc, double scale,
                        double *out, int n_threads);

/* Parameters of the truncated normal on [a, b] standard deviations around loc, scaled by scale.
 * Fails (FI_EINVAL) when a >= b, a bound is NaN, or the interval's probability underflows. */
fi_status fi_truncnorm_prepare(double a, double b, double loc, double scale, int is_f32,
                               fi_dist_params *p);

/* Apply a distribution's transform to caller-given words (n_groups groups of 32, laid out as a
 * stream group): tests feed extreme words this way. Writes 32 (float32 kinds) or 16 (float64
 * kinds) values per group. Uses the current SIMD path. */
void fi_random_transform(fi_dist dist, const uint32_t *words, int64_t n_groups,
                         const fi_dist_params *p, void *out);

#endif
