/* fi_stack_impl.h: the layer functions of fi_stack.h for one dtype; included by fi_stack.c with
 * T (float/double), SFX (f32/f64) and NR (the packed panel width) defined. */
#define FI_SC_(a, b) a##_##b
#define FI_SC(a, b) FI_SC_(a, b)
#define FI_S(name) FI_SC(name, SFX)

/* ---- forward -------------------------------------------------------------------------------- */
typedef struct {
    fi_stack_ws *ws;
    const fi_stack_layer *L;
    const fi_gemm_kernels *kt;
    fi_fill_kernel fill;
    int64_t B, K, N, kc, n_chunks;
    int whole;
    const T *hin;
    T *z, *h;
} FI_S(fi_fwd_ctx);

/* Where weight row block b is generated: the cache when there is one, else a rotating buffer
 * (two, so one block is generated while the previous one is consumed: one barrier per block). */
static inline T *FI_S(fi_blk_target)(fi_stack_ws *ws, const fi_stack_layer *L, int64_t b,
                                     int64_t kc, int64_t n) {
    if (L->w_cache) return (T *)L->w_cache + b * kc * n;
    return (T *)ws->wblk[b & 1];
}

static void FI_S(fi_fwd_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_fwd_ctx) *c = (const FI_S(fi_fwd_ctx) *)ctx_;
    fi_stack_ws *ws = c->ws;
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N, kc = c->kc;
    T *ap = (T *)ws->apack;
    T *bp = (T *)ws->bpack + (size_t)tid * (size_t)(4 * ws->blk_elems + 8 * FI_STACK_CW + 64);
    int64_t lo, hi;
    fi_share((B + FI_MR - 1) / FI_MR, tid, nt, &lo, &hi);
    for (int64_t p = lo; p < hi; p++) {
        int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
        FI_S(fi_gemm_pack_a)(c->hin + p * FI_MR * K, K, 1, mr, K, ap + p * K * FI_MR);
    }
    fi_share(B, tid, nt, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        if (L->bias) memcpy(c->z + r * N, L->bias, sizeof(T) * (size_t)N);
        else memset(c->z + r * N, 0, sizeof(T) * (size_t)N);
    }
    const int gen = L->w == NULL;
    int64_t c_lo, c_hi;
    fi_share(c->n_chunks, tid, nt, &c_lo, &c_hi);
    if (c->whole) {
        T *Wf = gen ? (L->w_cache ? (T *)L->w_cache : (T *)ws->wfull) : (T *)L->w;
        if (gen) fi_stack_gen_share(L, c->fill, 0, K * N, (char *)Wf, sizeof(T), tid, nt);
        fi_team_barrier(nt);
        for (int64_t ch = c_lo; ch < c_hi; ch++) {
            const int64_t c0 = ch * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
            FI_S(fi_gemm_pack_b)(Wf + c0, N, 1, K, cw, bp);
            for (int64_t r0 = 0; r0 < B; r0 += FI_STACK_MC) {
                const int64_t mc = B - r0 < FI_STACK_MC ? B - r0 : FI_STACK_MC;
                FI_S(fi_gemm_packed)(c->kt, mc, cw, K, ap + r0 * K, K * FI_MR, bp, K * NR,
                                     c->z + r0 * N + c0, N);
            }
            if (FI_S(fi_fused_act_stats)(ws, L, c->z + c0, c->h + c0, B, cw, N, ch)) continue;
            FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 0, c->z + c0, B, cw, N, ch);
            for (int64_t r = 0; r < B; r++)
                FI_S(fi_act_forward)((fi_act)L->act, L->p0, c->z + r * N + c0,
                                     c->h + r * N + c0, cw);
            FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 1, c->h + c0, B, cw, N, ch);
        }
        return;
    }
    const int64_t nblk = (K + kc - 1) / kc;
    if (gen) {
        int64_t k0 = kc < K ? kc : K;
        fi_stack_gen_share(L, c->fill, 0, k0 * N, (char *)FI_S(fi_blk_target)(ws, L, 0, kc, N),
                           sizeof(T), tid, nt);
    }
    fi_team_barrier(nt);
    for (int64_t b = 0; b < nblk; b++) {
        const int64_t kb = b * kc, kcb = K - kb < kc ? K - kb : kc;
        const T *Wb = gen ? FI_S(fi_blk_target)(ws, L, b, kc, N) : (const T *)L->w + kb * N;
        if (gen && b + 1 < nblk) {
            int64_t kb1 = kb + kc, kc1 = K - kb1 < kc ? K - kb1 : kc;
            fi_stack_gen_share(L, c->fill, (uint64_t)(kb1 * N), kc1 * N,
                               (char *)FI_S(fi_blk_target)(ws, L, b + 1, kc, N), sizeof(T), tid, nt);
        }
        for (int64_t ch = c_lo; ch < c_hi; ch++) {
            const int64_t c0 = ch * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
            FI_S(fi_gemm_pack_b)(Wb + c0, N, 1, kcb, cw, bp);
            FI_S(fi_gemm_packed)(c->kt, B, cw, kcb, ap + kb * FI_MR, K * FI_MR, bp, kcb * NR,
                                 c->z + c0, N);
            if (b == nblk - 1 && /* the block's z is final: activation and statistics now */
                !FI_S(fi_fused_act_stats)(ws, L, c->z + c0, c->h + c0, B, cw, N, ch)) {
                FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 0, c->z + c0, B, cw, N, ch);
                for (int64_t r = 0; r < B; r++)
                    FI_S(fi_act_forward)((fi_act)L->act, L->p0, c->z + r * N + c0,
                                         c->h + r * N + c0, cw);
                FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 1, c->h + c0, B, cw, N, ch);
            }
        }
        if (b + 1 < nblk) fi_team_barrier(nt);
    }
}

void FI_S(fi_stack_forward)(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const T *hin,
                            T *z, T *h, fi_layer_stats *pre, fi_layer_stats *act) {
    FI_S(fi_fwd_ctx) c;
    c.ws = ws;
    c.L = L;
    c.kt = fi_gemm_kernels_current();
    c.fill = L->w ? NULL : fi_stack_fill(L->dist);
    c.B = B;
    c.K = L->fan_in;
    c.N = L->fan_out;
    c.kc = fi_stack_kc(ws, c.N);
    c.n_chunks = (c.N + FI_STACK_CW - 1) / FI_STACK_CW;
    /* whole-layer product: large batch, the K x CW panel fits the per-thread scratch, and the
     * weights are given, cached, or fit the whole-layer buffer */
    c.whole = B >= FI_STACK_WHOLE_B && c.K * FI_STACK_CW <= 4 * ws->blk_elems &&
              (L->w || L->w_cache || (ws->wfull && c.K <= ws->max_width && c.N <= ws->max_width));
    c.hin = hin;
    c.z = z;
    c.h = h;
    fi_team_run(fi_stack_threads(ws, (double)c.K * (double)c.N * ((L->w ? 0.0 : 1.0) + (double)B / 8)),
                FI_S(fi_fwd_body), &c);
    fi_stack_collect(ws, 0, c.n_chunks, c.N, pre);
    fi_stack_collect(ws, 1, c.n_chunks, c.N, act);
}

/* ---- backward ------------------------------------------------------------------------------- */
typedef struct {
    fi_stack_ws *ws;
    const fi_stack_layer *L;
    const fi_gemm_kernels *kt;
    fi_fill_kernel fill;
    int64_t B, K, N, kc, n_chunks, n_tilerows;
    int gram, bwd_packed;
    const T *g, *z, *hprev;
    T *gprev, *dw_out, *db_out;
} FI_S(fi_bwd_ctx);

static void FI_S(fi_bwd_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_bwd_ctx) *c = (const FI_S(fi_bwd_ctx) *)ctx_;
    fi_stack_ws *ws = c->ws;
    const fi_stack_layer *L = c->L;
    const int64_t B = c->B, K = c->K, N = c->N;
    T *dz = (T *)ws->dz;
    int64_t lo, hi;
    /* 1. statistics of dL/dh and dz = dL/dh * act'(z), per column block */
    fi_share(c->n_chunks, tid, nt, &lo, &hi);
    for (int64_t ch = lo; ch < hi; ch++) {
        const int64_t c0 = ch * FI_STACK_CW, cw = N - c0 < FI_STACK_CW ? N - c0 : FI_STACK_CW;
        FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), ws, 2, c->g + c0, B, cw, N, ch);
        for (int64_t r = 0; r < B; r++)
            FI_S(fi_act_backward)((fi_act)L->act, L->p0, c->z + r * N + c0, c->g + r * N + c0,
                                  dz + r * N + c0, cw);
        if (c->db_out) /* dL/db = column sums of dz, in float64, rows in order */
            for (int64_t j = c0; j < c0 + cw; j++) {
                double s = 0;
                for (int64_t r = 0; r < B; r++) s += (double)dz[r * N + j];
                c->db_out[j] = (T)s;
            }
    }
    fi_team_barrier(nt);
    /* 2. statistics of dW = hprev^T dz */
    if (c->gram) {
        fi_share(B, tid, nt, &lo, &hi);
        for (int64_t b = lo; b < hi; b++) {
            const T *hr = c->hprev + b * K;
            const T *dr = dz + b * N;
            double s = 0;
            for (int64_t i = 0; i < K; i++) s += (double)hr[i];
            double m = s / (double)K;
            ws->hbar[b] = m;
            for (int64_t i = 0; i < K; i++) ws->hc[b * K + i] = (double)hr[i] - m;
            s = 0;
            for (int64_t j = 0; j < N; j++) s += (double)dr[j];
            m = s / (double)N;
            ws->dbar[b] = m;
            for (int64_t j = 0; j < N; j++) ws->dc[b * N + j] = (double)dr[j] - m;
        }
        fi_team_barrier(nt);
        /* upper triangles of the two Gram matrices, tile rows dealt round-robin */
        int64_t n_t = (B + FI_STACK_GRAM_TILE - 1) / FI_STACK_GRAM_TILE;
        for (int64_t t = tid; t < n_t; t += nt) {
            int64_t i = t * FI_STACK_GRAM_TILE;
            int64_t mi = B - i < FI_STACK_GRAM_TILE ? B - i : FI_STACK_GRAM_TILE;
            fi_gemm_dot_f64(c->kt, mi, B - i, K, ws->hc + i * K, K, ws->hc + i * K, K,
                            ws->g1 + i * B + i, B);
            fi_gemm_dot_f64(c->kt, mi, B - i, N, ws->dc + i * N, N, ws->dc + i * N, N,
                            ws->g2 + i * B + i, B);
        }
        /* u_j = sum_b hbar_b dc_bj, v_i = sum_b dbar_b hc_bi: rows outer (contiguous reads),
         * every sum still taken over b in order, so the bits do not depend on the split */
        fi_share(N, tid, nt, &lo, &hi);
        for (int64_t j = lo; j < hi; j++) ws->u[j] = 0;
        for (int64_t b = 0; b < B; b++) {
            const double hb = ws->hbar[b], *dcb = ws->dc + b * N;
            for (int64_t j = lo; j < hi; j++) ws->u[j] += hb * dcb[j];
        }
        fi_share(K, tid, nt, &lo, &hi);
        for (int64_t i = lo; i < hi; i++) ws->v[i] = 0;
        for (int64_t b = 0; b < B; b++) {
            const double db = ws->dbar[b], *hcb = ws->hc + b * K;
            for (int64_t i = lo; i < hi; i++) ws->v[i] += db * hcb[i];
        }
    }
    /* dW formed tile by tile: for its statistics (no Gram route) and/or into dw_out. A tile
     * written into dw_out goes through exactly the operations of a scratch tile. */
    if (!c->gram || c->dw_out) {
        T *ap = (T *)ws->apack, *bpd = (T *)ws->bpack_dz;
        fi_share((K + FI_MR - 1) / FI_MR, tid, nt, &lo, &hi);
        for (int64_t p = lo; p < hi; p++) {
            int64_t mr = K - p * FI_MR < FI_MR ? K - p * FI_MR : FI_MR;
            FI_S(fi_gemm_pack_a)(c->hprev + p * FI_MR, 1, K, mr, B, ap + p * B * FI_MR);
        }
        fi_share((N + NR - 1) / NR, tid, nt, &lo, &hi);
        for (int64_t q = lo; q < hi; q++) {
            int64_t nr = N - q * NR < NR ? N - q * NR : NR;
            FI_S(fi_gemm_pack_b)(dz + q * NR, N, 1, B, nr, bpd + q * B * NR);
        }
        fi_team_barrier(nt);
        T *tile = (T *)ws->tile + (size_t)tid * FI_STACK_TM * FI_STACK_CW;
        const fi_stats_cfg none = {0};
        fi_share(c->n_tilerows, tid, nt, &lo, &hi);
        for (int64_t tr = lo; tr < hi; tr++) {
            const int64_t i0 = tr * FI_STACK_TM, mi = K - i0 < FI_STACK_TM ? K - i0 : FI_STACK_TM;
            fi_moments acc, m;
            fi_moments_clear(&acc);
            for (int64_t j0 = 0; j0 < N; j0 += FI_STACK_CW) {
                const int64_t nj = N - j0 < FI_STACK_CW ? N - j0 : FI_STACK_CW;
                T *t = c->dw_out ? c->dw_out + i0 * N + j0 : tile;
                const int64_t ldt = c->dw_out ? N : FI_STACK_CW;
                for (int64_t i = 0; i < mi; i++) memset(t + i * ldt, 0, sizeof(T) * (size_t)nj);
                FI_S(fi_gemm_packed)(c->kt, mi, nj, B, ap + (i0 / FI_MR) * B * FI_MR, B * FI_MR,
                                     bpd + (j0 / NR) * B * NR, B * NR, t, ldt);
                if (!c->gram) {
                    FI_S(fi_moments_block)(t, mi, nj, ldt, &none, &m, NULL, NULL);
                    fi_moments_merge(&acc, &m);
                }
            }
            if (!c->gram) ws->tilerow[tr] = acc;
        }
    }
    /* 3. dL/dh_prev = dz W^T, weight row block by row block */
    if (!c->gprev) return;
    const int gen = L->w == NULL;
    const int64_t kc = c->kc, nblk = (K + kc - 1) / kc;
    /* large batches: packed axpy product; this thread's rows of dz packed once (and its rows of
     * dL/dh_prev zeroed), each weight block packed transposed into its own scratch */
    T *adz = (T *)ws->apack_dz;
    T *bpw = (T *)ws->bpack + (size_t)tid * (size_t)(4 * ws->blk_elems + 8 * FI_STACK_CW + 64);
    int64_t p_lo = 0, p_hi = 0;
    if (c->bwd_packed) {
        fi_share((B + FI_MR - 1) / FI_MR, tid, nt, &p_lo, &p_hi);
        for (int64_t p = p_lo; p < p_hi; p++) {
            int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
            FI_S(fi_gemm_pack_a)(dz + p * FI_MR * N, N, 1, mr, N, adz + p * N * FI_MR);
            memset(c->gprev + p * FI_MR * K, 0, sizeof(T) * (size_t)(mr * K));
        }
    }
    if (gen) {
        int64_t k0 = kc < K ? kc : K;
        fi_stack_gen_share(L, c->fill, 0, k0 * N, (char *)ws->wblk[0], sizeof(T), tid, nt);
    }
    fi_team_barrier(nt);
    const int64_t ti_n = (B + FI_DOT_MI - 1) / FI_DOT_MI;
    for (int64_t b = 0; b < nblk; b++) {
        const int64_t kb = b * kc, kcb = K - kb < kc ? K - kb : kc;
        const T *Wb = gen ? (const T *)ws->wblk[b & 1] : (const T *)L->w + kb * N;
        if (gen && b + 1 < nblk) {
            int64_t kb1 = kb + kc, kc1 = K - kb1 < kc ? K - kb1 : kc;
            fi_stack_gen_share(L, c->fill, (uint64_t)(kb1 * N), kc1 * N,
                               (char *)ws->wblk[(b + 1) & 1], sizeof(T), tid, nt);
        }
        if (c->bwd_packed) {
            /* dL/dh_prev[:, kb:kb+kcb] = dz Wb^T: one chain over n per element; A panel outer
             * (in L1), the packed block (in L2) inner */
            FI_S(fi_gemm_pack_b)(Wb, 1, N, N, kcb, bpw);
            for (int64_t p = p_lo; p < p_hi; p++) {
                int64_t mr = B - p * FI_MR < FI_MR ? B - p * FI_MR : FI_MR;
                FI_S(fi_gemm_packed)(c->kt, mr, kcb, N, adz + p * N * FI_MR, N * FI_MR, bpw,
                                     N * NR, c->gprev + p * FI_MR * K + kb, K);
            }
            if (b + 1 < nblk) fi_team_barrier(nt);
            continue;
        }
        const int64_t tj_n = (kcb + FI_DOT_NJ - 1) / FI_DOT_NJ;
        fi_share(ti_n * tj_n, tid, nt, &lo, &hi);
        for (int64_t t = lo; t < hi; t++) { /* weight-row major: a thread reads its own rows */
            int64_t j = (t / ti_n) * FI_DOT_NJ, i = (t % ti_n) * FI_DOT_MI;
            int64_t mi = B - i < FI_DOT_MI ? B - i : FI_DOT_MI;
            int64_t nj = kcb - j < FI_DOT_NJ ? kcb - j : FI_DOT_NJ;
            c->kt->FI_SC(dot, SFX)[mi][nj](N, dz + i * N, N, Wb + j * N, N,
                                           c->gprev + i * K + kb + j, K);
        }
        if (b + 1 < nblk) fi_team_barrier(nt);
    }
}

void FI_S(fi_stack_backward)(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const T *g,
                             const T *z, const T *hprev, T *gprev, T *dw_out, T *db_out,
                             fi_layer_stats *grad, fi_dw_stats *dw) {
    FI_S(fi_bwd_ctx) c;
    c.ws = ws;
    c.L = L;
    c.kt = fi_gemm_kernels_current();
    c.fill = L->w ? NULL : fi_stack_fill(L->dist);
    c.B = B;
    c.K = L->fan_in;
    c.N = L->fan_out;
    c.kc = fi_stack_kc(ws, c.N);
    c.n_chunks = (c.N + FI_STACK_CW - 1) / FI_STACK_CW;
    c.n_tilerows = (c.K + FI_STACK_TM - 1) / FI_STACK_TM;
    c.gram = fi_stack_uses_gram(ws, B, c.K, c.N);
    c.bwd_packed = ws->apack_dz && B >= FI_STACK_WHOLE_B &&
                   c.N * ((c.kc + NR - 1) / NR * NR) <= 4 * ws->blk_elems + 8 * FI_STACK_CW + 64;
    c.g = g;
    c.z = z;
    c.hprev = hprev;
    c.gprev = gprev;
    c.dw_out = dw_out;
    c.db_out = db_out;
    fi_team_run(fi_stack_threads(ws, (double)c.K * (double)c.N * ((L->w ? 0.0 : 1.0) + (double)B / 4)),
                FI_S(fi_bwd_body), &c);
    fi_stack_collect(ws, 2, c.n_chunks, c.N, grad);
    if (!dw) return;
    const double n = (double)c.K * (double)c.N;
    if (c.gram) {
        double mu = 0, su = 0, sv = 0, sd = 0, so = 0;
        for (int64_t b = 0; b < B; b++) mu += ws->hbar[b] * ws->dbar[b];
        for (int64_t j = 0; j < c.N; j++) su += ws->u[j] * ws->u[j];
        for (int64_t i = 0; i < c.K; i++) sv += ws->v[i] * ws->v[i];
        for (int64_t b = 0; b < B; b++) {
            sd += ws->g1[b * B + b] * ws->g2[b * B + b];
            for (int64_t b2 = b + 1; b2 < B; b2++) so += ws->g1[b * B + b2] * ws->g2[b * B + b2];
        }
        double ssc = (double)c.K * su + (double)c.N * sv + (sd + 2.0 * so);
        if (ssc < 0) ssc = 0; /* rounding of an all-but-zero sum */
        dw->mean = mu;
        dw->std = sqrt(ssc / n);
        dw->norm = sqrt(ssc + n * mu * mu);
    } else {
        fi_moments acc;
        fi_moments_clear(&acc);
        for (int64_t tr = 0; tr < c.n_tilerows; tr++) fi_moments_merge(&acc, &ws->tilerow[tr]);
        dw->mean = acc.mean;
        dw->std = sqrt(acc.m2c / n);
        dw->norm = sqrt(acc.sumsq);
    }
}

/* ---- elementwise and statistics helpers ------------------------------------------------------ */
typedef struct {
    int act;
    double p0;
    const T *z;
    T *h;
    int64_t n;
} FI_S(fi_actv_ctx);

#define FI_STACK_ACT_UNIT 4096
static void FI_S(fi_actv_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_actv_ctx) *c = (const FI_S(fi_actv_ctx) *)ctx_;
    int64_t lo, hi;
    fi_share((c->n + FI_STACK_ACT_UNIT - 1) / FI_STACK_ACT_UNIT, tid, nt, &lo, &hi);
    for (int64_t u = lo; u < hi; u++) {
        int64_t a = u * FI_STACK_ACT_UNIT, len = c->n - a < FI_STACK_ACT_UNIT ? c->n - a : FI_STACK_ACT_UNIT;
        FI_S(fi_act_forward)((fi_act)c->act, c->p0, c->z + a, c->h + a, len);
    }
}

void FI_S(fi_stack_activate)(fi_stack_ws *ws, int act, double p0, const T *z, T *h, int64_t n) {
    FI_S(fi_actv_ctx) c = {act, p0, z, h, n};
    if (n > 0) fi_team_run(fi_stack_threads(ws, (double)n), FI_S(fi_actv_body), &c);
}

typedef struct {
    fi_stack_ws *ws;
    int which;
    const T *x;
    int64_t B, n, n_chunks;
} FI_S(fi_stats_ctx);

static void FI_S(fi_stats_body)(void *ctx_, int tid, int nt) {
    const FI_S(fi_stats_ctx) *c = (const FI_S(fi_stats_ctx) *)ctx_;
    int64_t lo, hi;
    fi_share(c->n_chunks, tid, nt, &lo, &hi);
    for (int64_t ch = lo; ch < hi; ch++) {
        const int64_t c0 = ch * FI_STACK_CW, cw = c->n - c0 < FI_STACK_CW ? c->n - c0 : FI_STACK_CW;
        FI_STACK_BLOCK_STATS(FI_S(fi_moments_block), c->ws, c->which, c->x + c0, c->B, cw, c->n, ch);
    }
}

void FI_S(fi_stack_stats)(fi_stack_ws *ws, int which, const T *x, int64_t B, int64_t n,
                          fi_layer_stats *out) {
    FI_S(fi_stats_ctx) c = {ws, which, x, B, n, (n + FI_STACK_CW - 1) / FI_STACK_CW};
    fi_team_run(fi_stack_threads(ws, (double)B * (double)n), FI_S(fi_stats_body), &c);
    fi_stack_collect(ws, which, c.n_chunks, n, out);
}

#undef FI_S
#undef FI_SC
#undef FI_SC_
