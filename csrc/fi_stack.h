/* fi_stack.h: the deep-stack engine, one layer per call (so the caller can release the GIL per
 * layer and look for Ctrl-C between layers; no Python.h here).
 *
 * Layer l: z = h_prev W + b (W: fan_in x fan_out, C order), h = act(z). The weights are either
 * given (propagate) or generated from their Philox stream in cache-sized pieces that are
 * consumed at once by the thread that generated them (value v of the stream is W.flat[v], so any
 * piece can be regenerated in the backward pass instead of being stored). Units of work are
 * handed out dynamically within a layer (fi_stack.c). Products use fi_gemm's kernels: every
 * element of z, of dL/dh_prev and of dW is a fixed sequence of operations, and every statistic
 * is combined over fixed column blocks (FI_STACK_CW columns) in block order, so the results
 * are bitwise identical for any number of threads. Only fi_stack_ws_new can fail (NULL: out of memory); the layer
 * functions cannot. Mirrored in src/fastinit/_stack.pyx. */
#ifndef FI_STACK_H
#define FI_STACK_H

#include "fi_common.h"
#include "fi_philox.h"
#include "fi_random.h"
#include "fi_stats.h"

#define FI_STACK_CW 128  /* columns per statistics block (and per unit of parallel work) */

typedef struct {
    int64_t fan_in, fan_out;
    const void *w;        /* explicit weights (fan_in x fan_out, C order, the run's dtype), or NULL */
    fi_dist dist;         /* generated weights: FI_DIST_NORMAL/UNIFORM/TRUNCNORM of the dtype */
    fi_dist_params wp;
    fi_stream_id ws;
    void *w_cache;        /* generated weights are also written here (fan_in x fan_out) when set */
    const void *bias;     /* fan_out values, or NULL */
    int act;              /* fi_act (fi_activation.h) */
    double p0;            /* its parameter */
} fi_stack_layer;

typedef struct {
    fi_summary s;
    int64_t *hist;        /* cfg n_bins counts (caller's, zeroed by the call) or NULL */
    double *pair_cos;     /* cfg n_pairs cosine similarities (caller's) or NULL */
} fi_layer_stats;

typedef struct {
    double mean, std, norm; /* of the entries of dL/dW (computed without forming dL/dW when the
                               batch is small: see fi_stack.c) */
} fi_dw_stats;

typedef struct fi_stack_ws fi_stack_ws;

/* Scratch for layers up to max_width wide and `batch` rows, used by at most
 * fi_effective_threads(n_threads) threads. cfg_pre/cfg_act/cfg_grad: statistics options of
 * pre-activations, activations and dL/dh (copied; the edges/pairs arrays must outlive ws). */
fi_stack_ws *fi_stack_ws_new(int is_f64, int64_t batch, int64_t max_width, int n_threads,
                             const fi_stats_cfg *cfg_pre, const fi_stats_cfg *cfg_act,
                             const fi_stats_cfg *cfg_grad);
void fi_stack_ws_free(fi_stack_ws *ws);

/* Forward through one layer: hin (B x fan_in) -> z, h (B x fan_out; h may not alias z). */
void fi_stack_forward_f32(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const float *hin,
                          float *z, float *h, fi_layer_stats *pre, fi_layer_stats *act);
void fi_stack_forward_f64(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const double *hin,
                          double *z, double *h, fi_layer_stats *pre, fi_layer_stats *act);

/* Backward through one layer: g = dL/dh (B x fan_out), z its pre-activations, hprev the layer's
 * input (B x fan_in). Statistics of g go to grad, those of dL/dW to dw; when gprev is not NULL it
 * receives dL/dh_prev = (g * act'(z)) W^T (B x fan_in); when dw_out is not NULL it receives
 * dL/dW = hprev^T (g * act'(z)) (fan_in x fan_out, C order), and db_out (fan_out) the bias
 * gradient, the column sums of g * act'(z) accumulated in float64. When zprev is not NULL,
 * hprev is first written as the activation of Lprev applied to zprev (the previous layer's
 * stored pre-activations, B x fan_in), in the same parallel region (the values of
 * fi_stack_activate), and, when dphi_prev is not NULL, act'(zprev) into dphi_prev (B x fan_in,
 * fi_act_forward_deriv); otherwise hprev is only read. dphi, when not NULL, is act'(z) of this
 * layer (what the call for the layer above wrote as its dphi_prev): dz = g * dphi is then one
 * multiplication, the value fi_act_backward gives (it multiplies g by the same act'(z) in the
 * dtype), instead of evaluating the activation again; NULL: computed from z. */
void fi_stack_backward_f32(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const float *g,
                           const float *z, float *hprev, float *gprev, float *dw_out,
                           float *db_out, fi_layer_stats *grad, fi_dw_stats *dw,
                           const float *zprev, const fi_stack_layer *Lprev, const float *dphi,
                           float *dphi_prev);
void fi_stack_backward_f64(fi_stack_ws *ws, const fi_stack_layer *L, int64_t B, const double *g,
                           const double *z, double *hprev, double *gprev, double *dw_out,
                           double *db_out, fi_layer_stats *grad, fi_dw_stats *dw,
                           const double *zprev, const fi_stack_layer *Lprev, const double *dphi,
                           double *dphi_prev);

/* h = act(z) over n values with the workspace's threads (recomputes a stored layer's output). */
void fi_stack_activate_f32(fi_stack_ws *ws, int act, double p0, const float *z, float *h, int64_t n);
void fi_stack_activate_f64(fi_stack_ws *ws, int act, double p0, const double *z, double *h,
                           int64_t n);

/* Statistics of an arbitrary B x n array with the engine's blocks and the grad configuration
 * (the loss gradient of the last layer, the input x). */
void fi_stack_stats_f32(fi_stack_ws *ws, int which, const float *x, int64_t B, int64_t n,
                        fi_layer_stats *out);
void fi_stack_stats_f64(fi_stack_ws *ws, int which, const double *x, int64_t B, int64_t n,
                        fi_layer_stats *out);

/* 1 when the backward pass of a fan_in x fan_out layer at this batch takes dW's statistics from
 * the batch Gram matrices instead of forming dW (documented in fi_stack.c). */
int fi_stack_uses_gram(const fi_stack_ws *ws, int64_t B, int64_t fan_in, int64_t fan_out);

#endif
