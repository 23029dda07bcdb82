/* fi_stack.c: workspace, thread team and the layer functions of fi_stack.h (the float32 and
 * float64 bodies come from fi_stack_impl.h, included once per dtype).
 *
 * dL/dW statistics. dW = hprev^T dz (fan_in x fan_out) is never stored. When the batch is small
 * (2 B (fan_in + fan_out) <= fan_in fan_out) its moments come from the batch instead: with the
 * row means hbar_b, dbar_b and the centred rows hc_b, dc_b (float64),
 *   mean(dW) = sum_b hbar_b dbar_b,
 *   dW - mean = u_j + v_i + T_ij,  u = sum_b hbar_b dc_b, v = sum_b dbar_b hc_b,
 *   T = sum_b hc_b^T dc_b, three mutually orthogonal parts, so
 *   sum (dW - mean)^2 = fan_in |u|^2 + fan_out |v|^2 + sum_{b,b'} (hc_b.hc_b') (dc_b.dc_b'),
 * which costs O(B^2 (fan_in + fan_out)) instead of O(B fan_in fan_out) and is exact in float64
 * up to rounding (no cancellation against the mean). Otherwise dW is formed tile by tile
 * (48 x FI_STACK_CW) with the packed GEMM and each tile's moments are merged in tile order. */
#include "fi_stack.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fi_activation.h"
#include "fi_cpu.h"
#include "fi_gemm.h"
#include "fi_random_table.h"

/* Large batches: the forward pass generates a layer's whole weight matrix first and then runs a
 * BLIS-ordered product over it (a packed K x FI_STACK_CW weight panel per thread, rows of the
 * batch in blocks of FI_STACK_MC): each z tile is loaded and stored once instead of once per
 * weight row block, which at batch 1000 was a 2x loss. Same operations per element (one chain
 * over k in order), so the same bits. Needs the packed panel to fit the per-thread scratch.
 * Smaller batches take the same path when the weights are generated into the cache for the
 * backward pass: the layer is written to memory either way, and generating it in long pieces
 * (the threads' shares of the whole stream) instead of 128-value row pieces of each column block
 * made (256 wide, batch 16) forward+backward 7% faster on 2 threads, despite the barrier. */
#define FI_STACK_WHOLE_B 128
#define FI_STACK_WHOLE_BYTES ((int64_t)64 << 20)
#define FI_STACK_MC 120        /* batch rows per block of the large-batch product (20 panels) */
#define FI_STACK_GEN_UNIT 64   /* values per unit of a weight block's generation (2 groups) */
#define FI_STACK_TM 48         /* rows of dW per tile (8 panels of FI_MR) */
#define FI_STACK_GRAM_TILE 4   /* rows of a Gram matrix per unit of work */
#define FI_STACK_UV_UNIT 512   /* entries of u or v per unit of work */
#define FI_STACK_ACT_UNIT 4096 /* values per unit of an activation pass (fi_stack_activate) */
#define FI_STACK_HROW_VALUES 1024 /* about this many values (whole rows, at least 4) per unit of
                                     the backward's recomputed and centred layer input: a
                                     4096-value unit at (256 wide, batch 16) was the whole input,
                                     and one thread computed it while the other waited */
/* Work sharing. Within a layer the units of work (a column block of z, a row block of dL/dh_prev,
 * a tile row of dW, a Gram tile row) are handed out dynamically: each thread takes the next unit
 * from a shared counter until none is left. Every unit is computed by the same operations
 * whichever thread takes it and writes only its own outputs and statistics slots (merged in unit
 * order afterwards), so the results do not depend on the thread count or the hand-out order. A
 * thread that is descheduled (the machine is shared) then delays the layer by at most the unit
 * it holds, where a static split waited for its whole share at every barrier. Batches below
 * FI_STACK_WHOLE_B whose weights are not cached need no barrier at all in the forward pass:
 * each thread packs the layer input
 * for itself (when nt copies fit FI_STACK_APRIV_BYTES) and generates the weights of its own
 * column blocks, row piece by row piece (value v of the stream is W.flat[v] wherever it is
 * generated); the backward pass generates each row block of W^T where it is consumed. */
#define FI_STACK_APRIV_BYTES ((int64_t)32 << 20)

struct fi_stack_ws {
    int is_f64;
    int n_threads;         /* as requested (<= 0: default) */
    int nt_alloc;          /* threads the scratch was sized for */
    int64_t batch, max_width;
    int64_t blk_elems;     /* weight values per row block */
    fi_stats_cfg cfg[3];   /* pre, act, grad */
    size_t sz;
    void *apack;           /* packed layer input (forward) or packed hprev^T (backward) */
    void *bpack_dz;        /* packed dz (backward, direct dW) */
    void *apack_dz;        /* dz packed as A panels (backward dL/dh_prev, large batches) or NULL */
    void *bpack_dzt;       /* dz^T packed as B panels (backward dL/dh_prev, small batches) */
    void *wgen;            /* per thread: generated weights of one block (blk_stride values) */
    void *apriv;           /* per thread: the packed layer input (apriv_stride values) or NULL */
    int64_t blk_stride, apriv_stride, apriv_rows;
    void *wfull;           /* a whole layer's weights (large batches), or NULL */
    void *bpack;           /* per thread: packed weight columns of a block (bpack_stride values) */
    int64_t bpack_stride;
    void *tile;            /* per thread: one dW tile */
    void *dz;              /* B x max_width */
    int have_gram;
    double *hc, *dc, *hbar, *dbar, *g1, *g2, *u, *v;
    int64_t n_chunks_max, n_tilerows_max;
    fi_moments *mom[3];    /* per column block: pre, act, grad */
    fi_moments *tilerow;   /* per row of dW tiles */
    int64_t *hist[3];      /* per column block x n_bins */
    double *pair[3];       /* per column block x 3 n_pairs */
};

static void *fi_xalloc(size_t n, int *fail) {
    if (*fail) return NULL;
    void *p = NULL;
    if (n == 0) n = 64;
    if (posix_memalign(&p, 64, n) != 0) p = NULL;
    if (!p) *fail = 1;
    return p;
}

void fi_stack_ws_free(fi_stack_ws *ws) {
    if (!ws) return;
    free(ws->apack);
    free(ws->bpack_dz);
    free(ws->apack_dz);
    free(ws->bpack_dzt);
    free(ws->wgen);
    free(ws->apriv);
    free(ws->wfull);
    free(ws->bpack);
    free(ws->tile);
    free(ws->dz);
    free(ws->hc);
    free(ws->dc);
    free(ws->hbar);
    free(ws->dbar);
    free(ws->g1);
    free(ws->g2);
    free(ws->u);
    free(ws->v);
    free(ws->tilerow);
    for (int i = 0; i < 3; i++) {
        free(ws->mom[i]);
        free(ws->hist[i]);
        free(ws->pair[i]);
    }
    free(ws);
}

/* Rows of a weight block: about 256 KiB of values, at least 8 rows, at most 4096. */
static int64_t fi_stack_kc(const fi_stack_ws *ws, int64_t n) {
    int64_t kc = ws->blk_elems / (n > 0 ? n : 1);
    if (kc < 8) kc = 8;
    if (kc > 4096) kc = 4096;
    return kc;
}

/* Rows of W per unit of the backward's dL/dh_prev loop: the generation block (fi_stack_kc), cut
 * to give each of nt threads about FI_STACK_GPREV_UNITS units so that a thread that finishes
 * early takes over work instead of waiting (a 256-wide layer was one unit: one thread computed
 * all of dL/dh_prev while the other spun). A multiple of 48 rows (whole FI_MR row groups and
 * whole NR-wide packed panels). Each element of dL/dh_prev is one chain over the layer's outputs
 * whatever block its row falls in: the split changes no bit. */
#define FI_STACK_GPREV_UNITS 4
static int64_t fi_stack_gprev_kc(int64_t kc, int64_t K, int nt) {
    if (nt <= 1) return kc;
    int64_t want = (K + FI_STACK_GPREV_UNITS * nt - 1) / (FI_STACK_GPREV_UNITS * nt);
    want = (want + 47) / 48 * 48;
    return want < kc ? want : kc;
}

fi_stack_ws *fi_stack_ws_new(int is_f64, int64_t batch, int64_t max_width, int n_threads,
                             const fi_stats_cfg *cfg_pre, const fi_stats_cfg *cfg_act,
                             const fi_stats_cfg *cfg_grad) {
    fi_stack_ws *ws = (fi_stack_ws *)calloc(1, sizeof(*ws));
    if (!ws) return NULL;
    int fail = 0;
    ws->is_f64 = is_f64;
    ws->n_threads = n_threads;
    ws->nt_alloc = fi_effective_threads(n_threads);
    ws->batch = batch < 1 ? 1 : batch;
    ws->max_width = max_width < 1 ? 1 : max_width;
    ws->sz = is_f64 ? sizeof(double) : sizeof(float);
    ws->blk_elems = is_f64 ? 32768 : 65536;
    ws->cfg[0] = *cfg_pre;
    ws->cfg[1] = *cfg_act;
    ws->cfg[2] = *cfg_grad;
    const int64_t B = ws->batch, W = ws->max_width, nt = ws->nt_alloc, sz = (int64_t)ws->sz;
    const int64_t nr = is_f64 ? FI_NR_F64 : FI_NR_F32;
    const int64_t bpad = (B + FI_MR - 1) / FI_MR * FI_MR;
    const int64_t wpad_m = (W + FI_MR - 1) / FI_MR * FI_MR + FI_MR;
    const int64_t wpad_n = (W + nr - 1) / nr * nr + nr;
    /* forward: packed input (bpad x W); backward direct: packed hprev^T (wpad_m x B) */
    int64_t ap = bpad * W > wpad_m * B ? bpad * W : wpad_m * B;
    ws->apack = fi_xalloc((size_t)(ap * sz), &fail);
    ws->bpack_dz = fi_xalloc((size_t)(wpad_n * B * sz), &fail);
    if (B >= FI_STACK_WHOLE_B) ws->apack_dz = fi_xalloc((size_t)(bpad * W * sz), &fail);
    ws->bpack_dzt = fi_xalloc((size_t)((B + nr - 1) / nr * nr * W * sz), &fail);
    int64_t blk = ws->blk_elems + 8 * W + 64;
    if (blk < 4096 * 1 + 64) blk = 4096 + 64;
    ws->blk_stride = blk;
    ws->wgen = fi_xalloc((size_t)(blk * nt * sz), &fail);
    /* private packed inputs for batches below FI_STACK_WHOLE_B (forward without barriers) */
    ws->apriv_rows = (FI_STACK_WHOLE_B + FI_MR - 1) / FI_MR * FI_MR;
    if (bpad < ws->apriv_rows) ws->apriv_rows = bpad;
    ws->apriv_stride = ws->apriv_rows * W;
    if (nt > 1 && ws->apriv_stride * nt * sz <= FI_STACK_APRIV_BYTES)
        ws->apriv = fi_xalloc((size_t)(ws->apriv_stride * nt * sz), &fail);
    if (B >= FI_STACK_WHOLE_B && W * W * sz <= FI_STACK_WHOLE_BYTES)
        ws->wfull = fi_xalloc((size_t)(W * W * sz), &fail);
    /* per thread: kc x (FI_STACK_CW or the padded width) packed columns */
    ws->bpack_stride = 4 * ws->blk_elems + 8 * FI_STACK_CW + 64;
    ws->bpack = fi_xalloc((size_t)(ws->bpack_stride * nt * sz), &fail);
    ws->tile = fi_xalloc((size_t)(FI_STACK_TM * FI_STACK_CW * nt * sz), &fail);
    ws->dz = fi_xalloc((size_t)(B * W * sz), &fail);
    ws->have_gram = 4 * B <= W;
    if (ws->have_gram) {
        ws->hc = (double *)fi_xalloc((size_t)(B * W) * 8, &fail);
        ws->dc = (double *)fi_xalloc((size_t)(B * W) * 8, &fail);
        ws->hbar = (double *)fi_xalloc((size_t)B * 8, &fail);
        ws->dbar = (double *)fi_xalloc((size_t)B * 8, &fail);
        ws->g1 = (double *)fi_xalloc((size_t)(B * B) * 8, &fail);
        ws->g2 = (double *)fi_xalloc((size_t)(B * B) * 8, &fail);
        ws->u = (double *)fi_xalloc((size_t)W * 8, &fail);
        ws->v = (double *)fi_xalloc((size_t)W * 8, &fail);
    }
    ws->n_chunks_max = (W + FI_STACK_CW - 1) / FI_STACK_CW;
    ws->n_tilerows_max = (W + FI_STACK_TM - 1) / FI_STACK_TM;
    ws->tilerow = (fi_moments *)fi_xalloc((size_t)ws->n_tilerows_max * sizeof(fi_moments), &fail);
    for (int i = 0; i < 3; i++) {
        ws->mom[i] = (fi_moments *)fi_xalloc((size_t)ws->n_chunks_max * sizeof(fi_moments), &fail);
        if (ws->cfg[i].edges && ws->cfg[i].n_bins > 0)
            ws->hist[i] = (int64_t *)fi_xalloc(
                (size_t)(ws->n_chunks_max * ws->cfg[i].n_bins) * sizeof(int64_t), &fail);
        if (ws->cfg[i].pairs && ws->cfg[i].n_pairs > 0)
            ws->pair[i] = (double *)fi_xalloc(
                (size_t)(ws->n_chunks_max * 3 * ws->cfg[i].n_pairs) * sizeof(double), &fail);
    }
    if (fail) {
        fi_stack_ws_free(ws);
        return NULL;
    }
    return ws;
}

int fi_stack_uses_gram(const fi_stack_ws *ws, int64_t B, int64_t fan_in, int64_t fan_out) {
    return ws->have_gram && B <= ws->batch && fan_in <= ws->max_width && fan_out <= ws->max_width &&
           2.0 * (double)B * (double)(fan_in + fan_out) <= (double)fan_in * (double)fan_out;
}

/* ---- the thread team ---------------------------------------------------------------------- */
typedef void (*fi_team_fn)(void *ctx, int tid, int nt);

/* Threads for a step of about `work` units (one unit: one weight value generated, or about
 * eight multiply-adds). Below FI_STACK_SERIAL_WORK (~0.1 ms on one core) a step runs serially:
 * starting the team and its barriers would cost more than they save, and much more on a loaded
 * machine, where a barrier waits for a descheduled thread. The results do not depend on it. */
#define FI_STACK_SERIAL_WORK ((double)(1 << 17))
static int fi_stack_threads(const fi_stack_ws *ws, double work) {
    int nt = fi_effective_threads(ws->n_threads);
    if (work < FI_STACK_SERIAL_WORK) return 1;
    return nt < ws->nt_alloc ? nt : ws->nt_alloc;
}

/* fn(ctx, tid, nt) on a team of nt threads; with one thread no parallel region is entered (a
 * forked child never touches libgomp's pool). Every member runs with FTZ/DAZ cleared. */
static void fi_team_run(int nt, fi_team_fn fn, void *ctx) {
    if (nt <= 1) {
        unsigned int saved = fi_fpenv_enter();
        fn(ctx, 0, 1);
        fi_fpenv_leave(saved);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        unsigned int saved = fi_fpenv_enter();
        fn(ctx, omp_get_thread_num(), omp_get_num_threads());
        fi_fpenv_leave(saved);
    }
#else
    unsigned int saved = fi_fpenv_enter();
    fn(ctx, 0, 1);
    fi_fpenv_leave(saved);
#endif
}

/* The next unit of a dynamically shared loop (*ctr starts at 0; one counter per loop). */
static inline int64_t fi_next_unit(int64_t *ctr) {
    int64_t v;
#ifdef _OPENMP
#pragma omp atomic capture
    v = (*ctr)++;
#else
    v = (*ctr)++;
#endif
    return v;
}

/* A counter of finished units that another loop waits for (release / acquire: what the units
 * wrote is visible to the thread that saw the count). The wait yields the CPU after a while, for
 * when the thread that holds the last unit is descheduled (more threads than cores). */
static inline void fi_done_add(int64_t *ctr, int64_t n) {
    __atomic_add_fetch(ctr, n, __ATOMIC_RELEASE);
}
static inline void fi_wait_done(int64_t *ctr, int64_t n) {
    for (int spins = 0; __atomic_load_n(ctr, __ATOMIC_ACQUIRE) < n; spins++)
        if (spins >= 1000) sched_yield();
}

static inline void fi_team_barrier(int nt) {
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp barrier
    }
#else
    (void)nt;
#endif
}

/* Thread tid's share [*lo, *hi) of n units (static, contiguous). */
static inline void fi_share(int64_t n, int tid, int nt, int64_t *lo, int64_t *hi) {
    *lo = n * tid / nt;
    *hi = n * (tid + 1) / nt;
}

static fi_fill_kernel fi_stack_fill(fi_dist d) {
#ifdef FI_BUILD_AVX2
    if (fi_simd_current() == FI_SIMD_AVX2) return fi_fill_table_avx2[d];
#endif
    return fi_fill_table_baseline[d];
}

/* Thread tid's part of generating values [v0, v0 + n) of a layer's weight stream into out. */
static void fi_stack_gen_share(const fi_stack_layer *L, fi_fill_kernel fill, uint64_t v0, int64_t n,
                               char *out, size_t sz, int tid, int nt) {
    int64_t units = (n + FI_STACK_GEN_UNIT - 1) / FI_STACK_GEN_UNIT, lo, hi;
    fi_share(units, tid, nt, &lo, &hi);
    int64_t a = lo * FI_STACK_GEN_UNIT, b = hi * FI_STACK_GEN_UNIT;
    if (b > n) b = n;
    if (b > a) fill(&L->ws, v0 + (uint64_t)a, b - a, &L->wp, out + (size_t)a * sz);
}

/* Merge per-block moments/histograms/pair sums in block order into out. */
static void fi_stack_collect(fi_stack_ws *ws, int which, int64_t n_chunks, int64_t n_units,
                             fi_layer_stats *out) {
    if (!out) return;
    fi_moments acc;
    fi_moments_clear(&acc);
    for (int64_t c = 0; c < n_chunks; c++) fi_moments_merge(&acc, &ws->mom[which][c]);
    fi_moments_finish(&acc, n_units, &out->s);
    const fi_stats_cfg *cfg = &ws->cfg[which];
    if (out->hist && ws->hist[which]) {
        for (int64_t b = 0; b < cfg->n_bins; b++) out->hist[b] = 0;
        for (int64_t c = 0; c < n_chunks; c++)
            for (int64_t b = 0; b < cfg->n_bins; b++)
                out->hist[b] += ws->hist[which][c * cfg->n_bins + b];
    }
    if (out->pair_cos && ws->pair[which]) {
        for (int64_t p = 0; p < cfg->n_pairs; p++) {
            double ab = 0, aa = 0, bb = 0;
            for (int64_t c = 0; c < n_chunks; c++) {
                const double *q = ws->pair[which] + c * 3 * cfg->n_pairs + 3 * p;
                ab += q[0];
                aa += q[1];
                bb += q[2];
            }
            out->pair_cos[p] = ab / sqrt(aa * bb);
        }
    }
}

/* Statistics of columns [c0, c0 + cw) of a B x ld array into block c's slots. */
#define FI_STACK_BLOCK_STATS(FN, ws, which, x, B, cw, ld, c)                                     \
    do {                                                                                          \
        const fi_stats_cfg *cfg_ = &(ws)->cfg[which];                                             \
        int64_t *h_ = (ws)->hist[which] ? (ws)->hist[which] + (c) * cfg_->n_bins : NULL;          \
        double *p_ = (ws)->pair[which] ? (ws)->pair[which] + (c) * 3 * cfg_->n_pairs : NULL;      \
        if (h_) memset(h_, 0, sizeof(int64_t) * (size_t)cfg_->n_bins);                            \
        FN((x), (B), (cw), (ld), cfg_, &(ws)->mom[which][c], h_, p_);           \
    } while (0)

/* Activation and the statistics of z and h for columns [c0, c0 + cw) of a layer (block ch), in
 * one sweep where it can (float32 on the AVX2 path, no histograms or pairs): 16 rows of z go
 * through the first statistics pass, the activation and the first pass of h while they sit in
 * L1, then the centred passes; the same rows in the same order as separate calls, so the same
 * bits. Returns 0 (nothing done) where it cannot. */
#define FI_STACK_ACT_ROWS 16
static int fi_fused_act_stats_f32(fi_stack_ws *ws, const fi_stack_layer *L, const float *z,
                                  float *h, int64_t B, int64_t cw, int64_t ld, int64_t ch) {
    fi_moments_acc az, ah;
    if (!fi_moments_acc_begin(&az, cw, &ws->cfg[0]) || !fi_moments_acc_begin(&ah, cw, &ws->cfg[1]))
        return 0;
    for (int64_t r0 = 0; r0 < B; r0 += FI_STACK_ACT_ROWS) {
        const int64_t rb = B - r0 < FI_STACK_ACT_ROWS ? B - r0 : FI_STACK_ACT_ROWS;
        fi_moments_acc_rows(&az, z + r0 * ld, rb, ld);
        for (int64_t r = r0; r < r0 + rb; r++)
            fi_act_forward_f32((fi_act)L->act, L->p0, z + r * ld, h + r * ld, cw);
        fi_moments_acc_rows(&ah, h + r0 * ld, rb, ld);
    }
    fi_moments_acc_end(&az, z, ld, &ws->mom[0][ch]);
    fi_moments_acc_end(&ah, h, ld, &ws->mom[1][ch]);
    return 1;
}
static int fi_fused_act_stats_f64(fi_stack_ws *ws, const fi_stack_layer *L, const double *z,
                                  double *h, int64_t B, int64_t cw, int64_t ld, int64_t ch) {
    (void)ws; (void)L; (void)z; (void)h; (void)B; (void)cw; (void)ld; (void)ch;
    return 0;
}

#define T float
#define SFX f32
#define NR FI_NR_F32
#include "fi_stack_impl.h"
#undef T
#undef SFX
#undef NR

#define T double
#define SFX f64
#define NR FI_NR_F64
#include "fi_stack_impl.h"
#undef T
#undef SFX
#undef NR
