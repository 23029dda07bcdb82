"""Pure-NumPy reference of the deep-stack engine (fastinit.simulate / fastinit.propagate).

Everything in float64 with NumPy's own reductions: the forward pass z = h W + b, h = phi(z) with
the float64 formulas of fastinit.activations, the backward pass with dL/dW formed explicitly,
and the same per-layer statistics as StackResult. The weights of a simulated stack are drawn here
from their definition (one fastinit.Generator draw per layer on stream_id("weights", l)), not by
the engine.
"""

from __future__ import annotations

import numpy as np

import fastinit
from fastinit.activations import get_activation

STATS = ("mean", "std", "m2", "min", "max", "mean_abs", "frac_zero", "frac_dead", "nonfinite")


def array_stats(a: np.ndarray, sat: tuple[float, float] | None = None) -> dict:
    """The statistics of StackResult for one (batch, width) array, in float64."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(all="ignore"):
        out = {
            "mean": a.mean(),
            "std": a.std(),
            "m2": np.mean(a * a),
            "min": a.min(),
            "max": a.max(),
            "mean_abs": np.abs(a).mean(),
            "frac_zero": np.mean(a == 0),
            "frac_dead": np.mean(np.all(a == 0, axis=0)),
            "nonfinite": int(np.sum(~np.isfinite(a))),
        }
    if sat is not None:
        out["frac_saturated"] = np.mean((a <= sat[0]) | (a >= sat[1]))
    return out


def forward(x, weights, biases, act):
    """Lists z_l, h_l (float64) of the stack."""
    h = np.asarray(x, dtype=np.float64)
    zs, hs = [], []
    for l, W in enumerate(weights):
        z = h @ np.asarray(W, dtype=np.float64)
        if biases is not None and biases[l] is not None:
            z = z + np.asarray(biases[l], dtype=np.float64)
        h = act.f(z)
        zs.append(z)
        hs.append(h)
    return zs, hs


def backward(x, weights, zs, hs, act, g):
    """dL/dh_l for every layer and the dL/dW_l matrices (float64)."""
    L = len(weights)
    gs, dws = [None] * L, [None] * L
    g = np.asarray(g, dtype=np.float64)
    for l in range(L - 1, -1, -1):
        gs[l] = g
        dz = g * act.df(zs[l])
        hprev = np.asarray(x, dtype=np.float64) if l == 0 else hs[l - 1]
        dws[l] = hprev.T @ dz
        g = dz @ np.asarray(weights[l], dtype=np.float64).T
    return gs, dws


def upstream(h_last, loss, seed, dtype):
    """The last layer's dL/dh for a loss name, drawn like the engine (streams of seed)."""
    B, n = h_last.shape
    ss = np.random.SeedSequence(seed)
    if loss == "sum":
        return np.ones((B, n))
    if loss == "normal":
        g = fastinit.Generator(ss, fastinit.stream_id("grad_output", 0))
        return g.standard_normal((B, n), dtype=dtype).astype(np.float64)
    y = fastinit.Generator(ss, fastinit.stream_id("targets", 0)).standard_normal((B, n), dtype=dtype)
    # the engine forms h - y in the run's dtype
    return (np.asarray(h_last, dtype=dtype) - y).astype(np.float64)


def stack_stats(x, weights, biases, activation="tanh", activation_kwargs=None, *, backward_=True,
                loss="sum", seed=0, saturation=0.01, dtype=np.float64):
    """Per-layer arrays named like StackResult's (preact_*, act_*, grad_*, dw_*)."""
    act = get_activation(activation, **dict(activation_kwargs or {}))
    zs, hs = forward(x, weights, biases, act)
    sat = None if act.bounds is None else (act.bounds[0] + saturation, act.bounds[1] - saturation)
    out = {}
    for kind, arrs, s in (("preact", zs, None), ("act", hs, sat)):
        per = [array_stats(a, s) for a in arrs]
        for k in per[0]:
            out[f"{kind}_{k}"] = np.array([p[k] for p in per])
    out["zs"], out["hs"] = zs, hs
    if backward_:
        g = upstream(hs[-1], loss, seed, dtype)
        gs, dws = backward(x, weights, zs, hs, act, g)
        per = [array_stats(a) for a in gs]
        for k in per[0]:
            out[f"grad_{k}"] = np.array([p[k] for p in per])
        out["dw_mean"] = np.array([d.mean() for d in dws])
        out["dw_std"] = np.array([d.std() for d in dws])
        out["dw_norm"] = np.array([np.sqrt(np.sum(d * d)) for d in dws])
        out["gs"], out["dws"] = gs, dws
    return out


def simulated_weights(seed, widths, distribution, params, dtype):
    """Layer weights by definition: Generator(SeedSequence(seed), stream_id("weights", l)), one
    draw of the (fan_in, fan_out) matrix. params[l] = (loc, scale) / (low, high) / (loc, scale,
    a, b)."""
    ss = np.random.SeedSequence(seed)
    Ws = []
    for l in range(len(widths) - 1):
        g = fastinit.Generator(ss, fastinit.stream_id("weights", l))
        shape = (widths[l], widths[l + 1])
        p = params[l]
        if distribution == "normal":
            Ws.append(g.normal(p[0], p[1], shape, dtype=dtype))
        elif distribution == "uniform":
            Ws.append(g.uniform(p[0], p[1], shape, dtype=dtype))
        else:
            Ws.append(g.truncated_normal(p[0], p[1], p[2], p[3], shape, dtype=dtype))
    return Ws


def simulated_biases(seed, widths, std, dtype):
    ss = np.random.SeedSequence(seed)
    return [fastinit.Generator(ss, fastinit.stream_id("biases", l)).normal(
        0.0, std, widths[l + 1], dtype=dtype) for l in range(len(widths) - 1)]


def simulated_input(seed, batch, width, dtype):
    ss = np.random.SeedSequence(seed)
    return fastinit.Generator(ss, fastinit.stream_id("inputs", 0)).standard_normal(
        (batch, width), dtype=dtype)
