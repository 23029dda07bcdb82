/* fi_random.c: dispatch of the sampling kernels (fi_random.h) to a SIMD path and to threads. */
#include "fi_random.h"

#include <math.h>

#include "fi_cpu.h"
#include "fi_random_table.h"

/* Values per parallel chunk: a multiple of every group size, independent of the thread count. */
#define FI_RANDOM_CHUNK ((int64_t)1 << 16)

static const fi_fill_kernel *fi_fill_table(void) {
#ifdef FI_BUILD_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) return fi_fill_table_avx2;
#endif
    return fi_fill_table_baseline;
}

typedef struct {
    fi_fill_kernel fn;
    const fi_stream_id *s;
    uint64_t v0;
    int64_t n;
    const fi_dist_params *p;
    char *out;
    size_t itemsize;
} fi_fill_ctx;

static void fi_fill_chunk(void *ctx_, int64_t c) {
    const fi_fill_ctx *ctx = (const fi_fill_ctx *)ctx_;
    int64_t start = c * FI_RANDOM_CHUNK;
    int64_t len = ctx->n - start < FI_RANDOM_CHUNK ? ctx->n - start : FI_RANDOM_CHUNK;
    ctx->fn(ctx->s, ctx->v0 + (uint64_t)start, len, ctx->p, ctx->out + (size_t)start * ctx->itemsize);
}

void fi_random_fill(fi_dist dist, const fi_stream_id *s, uint64_t v0, int64_t n,
                    const fi_dist_params *p, void *out, int n_threads) {
    if (n <= 0) return;
    fi_fill_ctx ctx = {fi_fill_table()[dist], s, v0, n, p, (char *)out, fi_dist_itemsize(dist)};
    int64_t n_chunks = (n + FI_RANDOM_CHUNK - 1) / FI_RANDOM_CHUNK;
    fi_parallel_chunks(n_chunks, n_threads, fi_fill_chunk, &ctx);
}

void fi_raw_fill_u32(const fi_stream_id *s, uint64_t v0, int64_t n, uint32_t *out, int n_threads) {
    fi_random_fill(FI_DIST_RAW_U32, s, v0, n, NULL, out, n_threads);
}

static void fi_uniform_params(double low, double high, int is_f32, fi_dist_params *p) {
    p->low = low;
    p->range = high - low;
    /* the largest representable value below high, so rounding never returns high itself */
    p->below_high = is_f32 ? (double)nextafterf((float)high, -INFINITY) : nextafter(high, -INFINITY);
    if (!(high > low)) p->below_high = high;
}

void fi_uniform_fill_f32(const fi_stream_id *s, uint64_t v0, int64_t n, double low, double high,
                         float *out, int n_threads) {
    fi_dist_params p = {0};
    fi_uniform_params(low, high, 1, &p);
    fi_random_fill(FI_DIST_UNIFORM_F32, s, v0, n, &p, out, n_threads);
}

void fi_uniform_fill_f64(const fi_stream_id *s, uint64_t v0, int64_t n, double low, double high,
                         double *out, int n_threads) {
    fi_dist_params p = {0};
    fi_uniform_params(low, high, 0, &p);
    fi_random_fill(FI_DIST_UNIFORM_F64, s, v0, n, &p, out, n_threads);
}

void fi_normal_fill_f32(const fi_stream_id *s, uint64_t v0, int64_t n, double loc, double scale,
                        float *out, int n_threads) {
    fi_dist_params p = {0};
    p.loc = loc;
    p.scale = scale;
    fi_random_fill(FI_DIST_NORMAL_F32, s, v0, n, &p, out, n_threads);
}

void fi_normal_fill_f64(const fi_stream_id *s, uint64_t v0, int64_t n, double loc, double scale,
                        double *out, int n_threads) {
    fi_dist_params p = {0};
    p.loc = loc;
    p.scale = scale;
    fi_random_fill(FI_DIST_NORMAL_F64, s, v0, n, &p, out, n_threads);
}

/* Phi(x) and Q(x) = 1 - Phi(x), each with full relative precision in its own tail. */
static double fi_ndtr_lower(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
static double fi_ndtr_upper(double x) { return 0.5 * erfc(x * 0.70710678118654752440); }

fi_status fi_truncnorm_prepare(double a, double b, double loc, double scale, int is_f32,
                               fi_dist_params *p) {
    if (!(a < b)) return FI_EINVAL; /* also rejects NaN */
    double pa = fi_ndtr_lower(a), qb = fi_ndtr_upper(b), mass;
    if (b <= 0.0) mass = fi_ndtr_lower(b) - pa;
    else if (a >= 0.0) mass = fi_ndtr_upper(a) - qb;
    else mass = 1.0 - pa - qb;
    /* the sampled probabilities must stay normal numbers for the logarithm */
    if (!(mass > 1e-280)) return FI_EINVAL;
    p->loc = loc;
    p->scale = scale;
    p->tn_pa = pa;
    p->tn_qb = qb;
    p->tn_mass = mass;
    p->tn_za = nextafter(a, INFINITY);
    p->tn_zb = nextafter(b, -INFINITY);
    double lo = loc + scale * a, hi = loc + scale * b;
    if (is_f32) {
        p->out_lo = (double)nextafterf((float)lo, INFINITY);
        p->out_hi = (double)nextafterf((float)hi, -INFINITY);
    } else {
        p->out_lo = nextafter(lo, INFINITY);
        p->out_hi = nextafter(hi, -INFINITY);
    }
    if (!(p->out_lo <= p->out_hi)) return FI_EINVAL; /* interval narrower than the dtype allows */
    return FI_OK;
}

void fi_random_transform(fi_dist dist, const uint32_t *words, int64_t n_groups,
                         const fi_dist_params *p, void *out) {
    const fi_xform_kernel *table = fi_xform_table_baseline;
#ifdef FI_BUILD_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) table = fi_xform_table_avx2;
#endif
    size_t per_group = (fi_dist_itemsize(dist) == 8 ? 16 : 32) * fi_dist_itemsize(dist);
    for (int64_t g = 0; g < n_groups; g++) {
        table[dist](words + FI_GROUP_WORDS * g, p, (char *)out + per_group * (size_t)g);
    }
}
