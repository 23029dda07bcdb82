"""The deep-stack engine (fastinit.stack) against the pure-NumPy reference in ref_stack.py.

Tolerances (float64 runs; every product in the engine is a chain of fused multiply-adds in a
fixed order, NumPy's is BLAS's blocked order, so elementwise differences are a few ulps times
sqrt(fan_in) and grow with depth by at most the stack's own error amplification):
- std, m2, mean_abs, min, max, dw_std, dw_norm: relative 1e-10;
- means (near zero): absolute 16 * eps * rms * sqrt(n) with n the number of values and rms the
  reference's root mean square (the rounding of a sum of n terms of size rms);
- dw_mean: absolute 1e-10 * rms of dW (the Gram route sums B products of row means);
- counts and thresholded fractions (frac_zero, frac_dead, frac_saturated, nonfinite): exact
  (float64 values are never within rounding of the thresholds for these seeds; a flip would be
  one value, and the test would report it).
float32 runs are compared layer by layer against the reference fed with the engine's own input
of that layer (no error accumulation): relative 2e-5 for std/m2, as float32 sums of <= 257
rounded products allow.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import fastinit
from fastinit import _stack, stack
from fastinit.activations import ACTIVATIONS, get_activation

sys.path.insert(0, os.path.dirname(__file__))
import ref_stack as ref  # noqa: E402

EPS64 = np.finfo(np.float64).eps
GAINS = {"relu": 2 ** 0.5, "leaky_relu": 2 ** 0.5, "selu": 1.0, "elu": 1.2, "gelu": 1.6,
         "gelu_tanh": 1.6, "swish": 1.7, "softplus": 1.0, "sigmoid": 3.0}


def weights_for(widths, activation, seed=0, dtype=np.float64, bias=False):
    rng = np.random.default_rng(seed)
    g = GAINS.get(activation, 1.0)
    Ws = [(rng.standard_normal((widths[l], widths[l + 1])) * g / np.sqrt(widths[l])).astype(dtype)
          for l in range(len(widths) - 1)]
    bs = None
    if bias:
        bs = [(0.1 * rng.standard_normal(widths[l + 1])).astype(dtype)
              for l in range(len(widths) - 1)]
    return Ws, bs


def assert_matches(res, exp, *, backward=True, dw=True, rtol=1e-10):
    n_per = np.array([res.batch * w for w in res.widths[1:]], dtype=float)
    kinds = ["preact", "act"] + (["grad"] if backward else [])
    for kind in kinds:
        rms = np.sqrt(exp[f"{kind}_m2"])
        for name in ("std", "m2", "mean_abs", "min", "max"):
            np.testing.assert_allclose(getattr(res, f"{kind}_{name}"), exp[f"{kind}_{name}"],
                                       rtol=rtol, atol=1e-300, err_msg=f"{kind}_{name}")
        err = np.abs(getattr(res, f"{kind}_mean") - exp[f"{kind}_mean"])
        tol = 16 * EPS64 * rms * np.sqrt(n_per) + 1e-300
        assert (err <= tol).all(), (kind, err, tol)
        for name in ("frac_zero", "frac_dead", "nonfinite"):
            np.testing.assert_array_equal(getattr(res, f"{kind}_{name}"), exp[f"{kind}_{name}"],
                                          err_msg=f"{kind}_{name}")
    if "act_frac_saturated" in exp:
        np.testing.assert_array_equal(res.act_frac_saturated, exp["act_frac_saturated"])
    if backward and dw:
        np.testing.assert_allclose(res.dw_norm, exp["dw_norm"], rtol=rtol)
        np.testing.assert_allclose(res.dw_std, exp["dw_std"], rtol=rtol)
        dw_rms = exp["dw_norm"] / np.sqrt([a * b for a, b in zip(res.widths[:-1], res.widths[1:])])
        assert (np.abs(res.dw_mean - exp["dw_mean"]) <= 1e-10 * dw_rms + 1e-300).all()


# ---- the dense-product kernels -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 512, 512), (7, 3, 300), (13, 257, 31),
                                   (64, 100, 129), (300, 17, 5)])
def test_gemm_matches_numpy_and_threads(dtype, m, k, n):
    rng = np.random.default_rng(m * 1000 + k + n)
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    C0 = rng.standard_normal((m, n)).astype(dtype)
    outs = []
    for nt in (1, 2, 3, 7):
        C = C0.copy()
        _stack.gemm(A, B, C, nt)
        outs.append(C)
    for C in outs[1:]:
        np.testing.assert_array_equal(C, outs[0])
    exact = C0.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    scale = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64) + np.abs(C0)
    eps = np.finfo(dtype).eps
    assert (np.abs(outs[0] - exact) <= (k + 1) * eps * scale).all()


# ---- propagate against the reference: a covering table --------------------------------------

# (widths, batch, activation, bias): depths 1-64, widths 1-257 (odd, non-square), batches 1-300;
# both routes of the dW statistics (Gram for small batches, tiles for large ones).
TABLE = [
    ((1, 1), 1, "tanh", False),
    ((257, 1), 3, "relu", True),
    ((1, 257, 2), 5, "sigmoid", False),
    ((17, 33, 9, 130), 64, "gelu", True),
    ((31,) * 6, 300, "tanh", True),
    ((16,) * 65, 7, "tanh", False),
    ((33,) * 65, 2, "relu", True),
    ((3, 200, 5, 129, 64, 1, 17, 50, 257), 1, "selu", True),
    ((257, 257, 257), 4, "erf", False),
    ((128, 64, 256, 100), 37, "leaky_relu", True),
    ((9, 9, 9, 9), 300, "swish", False),
    ((2, 120, 2), 300, "elu", True),
    ((100, 250, 199), 16, "softplus", False),
    ((40,) * 9, 50, "gelu_tanh", True),
    ((255, 127, 63), 1, "linear", True),
]


@pytest.mark.parametrize("widths,batch,activation,bias", TABLE)
def test_propagate_matches_reference_f64(widths, batch, activation, bias):
    Ws, bs = weights_for(widths, activation, seed=len(widths) * 7 + batch, bias=bias)
    x = np.random.default_rng(batch).standard_normal((batch, widths[0]))
    res = fastinit_propagate(x, Ws, bs, activation)
    exp = ref.stack_stats(x, Ws, bs, activation)
    assert_matches(res, exp)


def fastinit_propagate(x, Ws, bs, activation, **kw):
    return stack.propagate(x, Ws, bs, activation=activation, **kw)


def test_table_covers_both_dw_routes():
    routes = set()
    for widths, batch, _, _ in TABLE:
        w = max(widths)
        for K, N in zip(widths[:-1], widths[1:]):
            routes.add(4 * batch <= w and 2 * batch * (K + N) <= K * N)
    assert routes == {True, False}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
def test_every_activation_f64(activation, bias):
    widths = (13, 40, 27, 40, 9)
    Ws, bs = weights_for(widths, activation, seed=3, bias=bias)
    x = np.random.default_rng(4).standard_normal((11, 13))
    kw = {"slope": 0.2} if activation == "leaky_relu" else {}
    res = stack.propagate(x, Ws, bs, activation=activation, activation_kwargs=kw)
    exp = ref.stack_stats(x, Ws, bs, activation, kw)
    assert_matches(res, exp)


@pytest.mark.parametrize("loss", ["sum", "normal", "mse"])
def test_losses(loss):
    widths = (20, 30, 10)
    Ws, _ = weights_for(widths, "tanh", seed=1)
    x = np.random.default_rng(2).standard_normal((6, 20))
    res = stack.propagate(x, Ws, activation="tanh", loss=loss, seed=5)
    exp = ref.stack_stats(x, Ws, None, "tanh", loss=loss, seed=5)
    assert_matches(res, exp)
    g = ref.upstream(exp["hs"][-1], loss, 5, np.float64)
    if loss == "mse":
        assert np.isclose(res.loss_value, 0.5 * np.sum(g * g))
    elif loss == "sum":
        assert np.isclose(res.loss_value, exp["hs"][-1].sum())


def test_grad_output_and_returned_arrays():
    widths = (8, 12, 5)
    Ws, bs = weights_for(widths, "relu", seed=9, bias=True)
    x = np.random.default_rng(0).standard_normal((4, 8))
    go = np.random.default_rng(1).standard_normal((4, 5))
    res = stack.propagate(x, Ws, bs, activation="relu", grad_output=go, return_activations=True)
    act = get_activation("relu")
    zs, hs = ref.forward(x, Ws, bs, act)
    gs, _ = ref.backward(x, Ws, zs, hs, act, go)
    for a, b in zip(res.preactivations, zs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(res.activations, hs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(res.gradients, gs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("widths,batch,activation", [((64, 96, 80, 64), 5, "tanh"),
                                                     ((33, 257, 17), 40, "relu"),
                                                     ((100, 100), 300, "sigmoid")])
def test_float32_layer_by_layer(widths, batch, activation):
    Ws, bs = weights_for(widths, activation, seed=2, dtype=np.float32, bias=True)
    x = np.random.default_rng(0).standard_normal((batch, widths[0])).astype(np.float32)
    res = stack.propagate(x, Ws, bs, activation=activation, return_activations=True)
    assert res.dtype == np.float32 and res.activations[0].dtype == np.float32
    act = get_activation(activation)
    h = x
    for l, W in enumerate(Ws):
        z = h.astype(np.float64) @ W.astype(np.float64) + bs[l]
        s = ref.array_stats(z)
        assert np.isclose(res.preact_std[l], s["std"], rtol=2e-5)
        assert np.isclose(res.preact_m2[l], s["m2"], rtol=2e-5)
        np.testing.assert_allclose(res.preactivations[l], z, rtol=1e-4, atol=1e-5 * np.sqrt(s["m2"]))
        np.testing.assert_allclose(res.activations[l], act.f(res.preactivations[l].astype(np.float64)),
                                   rtol=1e-5, atol=1e-6)
        h = res.activations[l]  # the next layer from the engine's own input


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("widths,batch,activation,bias", [
    ((8, 12, 5), 4, "relu", True),            # Gram route for the statistics
    ((64, 1, 3), 1, "tanh", False),
    ((31, 257, 129), 300, "sigmoid", True),    # tile route
    ((200, 150), 2, "gelu", True),
])
def test_weight_and_bias_grads_match_reference(dtype, widths, batch, activation, bias):
    Ws, bs = weights_for(widths, activation, seed=batch, dtype=dtype, bias=bias)
    x = np.random.default_rng(batch + 1).standard_normal((batch, widths[0])).astype(dtype)
    res = stack.propagate(x, Ws, bs, activation=activation, loss="normal", seed=3,
                          return_weight_grads=True)
    exp = ref.stack_stats(x, Ws, bs, activation, loss="normal", seed=3, dtype=dtype)
    plain = stack.propagate(x, Ws, bs, activation=activation, loss="normal", seed=3)
    assert len(res.weight_grads) == len(Ws)
    assert (res.bias_grads is not None) == bias
    act = get_activation(activation)
    for l, W in enumerate(Ws):
        dW = res.weight_grads[l]
        assert dW.shape == W.shape and dW.dtype == dtype and dW.flags.c_contiguous
        scale = np.sqrt(np.mean(exp["dws"][l] ** 2)) + 1e-300
        if dtype == np.float64:
            np.testing.assert_allclose(dW, exp["dws"][l], rtol=1e-10, atol=1e-12 * scale)
        else:  # float32 forward: compare with the engine's float32 stored layer inputs
            np.testing.assert_allclose(dW, exp["dws"][l], rtol=2e-3, atol=2e-3 * scale)
        if bias:
            dz = exp["gs"][l] * act.df(exp["zs"][l])
            db = dz.sum(axis=0)
            atol = 1e-12 if dtype == np.float64 else 2e-3
            np.testing.assert_allclose(res.bias_grads[l], db, rtol=atol,
                                       atol=atol * (np.abs(db).max() + 1e-300))
    # asking for the matrices changes nothing else, and their statistics are the reported ones
    for name in plain.stats:
        np.testing.assert_array_equal(res.stats[name], plain.stats[name], err_msg=name)
    np.testing.assert_array_equal(res.dw_norm, plain.dw_norm)
    if dtype == np.float64:
        norms = [np.sqrt(np.sum(d.astype(np.float64) ** 2)) for d in res.weight_grads]
        np.testing.assert_allclose(res.dw_norm, norms, rtol=1e-10)
    assert plain.weight_grads is None and plain.bias_grads is None


def test_weight_grads_threads_bitwise():
    Ws, bs = weights_for((40, 300, 170), "tanh", seed=1, dtype=np.float32, bias=True)
    x = np.random.default_rng(2).standard_normal((64, 40)).astype(np.float32)
    runs = [stack.propagate(x, Ws, bs, return_weight_grads=True, n_threads=nt)
            for nt in (1, 2, 3, 7)]
    for r in runs[1:]:
        for a, b in zip(r.weight_grads + r.bias_grads, runs[0].weight_grads + runs[0].bias_grads):
            np.testing.assert_array_equal(a, b)


def test_weight_grads_need_backward():
    with pytest.raises(ValueError, match="backward=True"):
        stack.propagate(np.ones((2, 3)), [np.ones((3, 2))], backward=False,
                        return_weight_grads=True)


def test_gradients_match_finite_differences():
    widths = (3, 4, 2)
    Ws, bs = weights_for(widths, "tanh", seed=11, bias=True)
    x = np.random.default_rng(12).standard_normal((2, 3))

    def loss_of(Wlist):
        r = stack.propagate(x, Wlist, bs, activation="tanh", backward=False,
                            return_activations=True)
        return r.activations[-1].sum()

    res = stack.propagate(x, Ws, bs, activation="tanh", return_activations=True)
    eps = 1e-6
    for l in range(2):
        fd = np.zeros_like(Ws[l])
        for idx in np.ndindex(*Ws[l].shape):
            Wp = [W.copy() for W in Ws]
            Wm = [W.copy() for W in Ws]
            Wp[l][idx] += eps
            Wm[l][idx] -= eps
            fd[idx] = (loss_of(Wp) - loss_of(Wm)) / (2 * eps)
        assert np.isclose(res.dw_norm[l], np.sqrt(np.sum(fd * fd)), rtol=1e-7)
        assert np.isclose(res.dw_mean[l], fd.mean(), rtol=1e-6, atol=1e-9)
        assert np.isclose(res.dw_std[l], fd.std(), rtol=1e-6)
    # dL/dh_1 by perturbing the input of the second layer
    h1 = res.activations[0]
    fd = np.zeros_like(h1)
    for idx in np.ndindex(*h1.shape):
        hp, hm = h1.copy(), h1.copy()
        hp[idx] += eps
        hm[idx] -= eps
        lp = stack.propagate(hp, Ws[1:], bs[1:], activation="tanh", backward=False,
                             return_activations=True).activations[-1].sum()
        lm = stack.propagate(hm, Ws[1:], bs[1:], activation="tanh", backward=False,
                             return_activations=True).activations[-1].sum()
        fd[idx] = (lp - lm) / (2 * eps)
    np.testing.assert_allclose(res.gradients[0], fd, rtol=1e-7, atol=1e-9)


def test_histograms_pairs_and_saturation():
    widths = (50, 70, 70)
    Ws, _ = weights_for(widths, "tanh", seed=4)
    Ws = [W * 3 for W in Ws]  # saturating
    x = np.random.default_rng(5).standard_normal((9, 50))
    edges = np.linspace(-2, 2, 9)
    pairs = [(0, 1), (2, 8), (3, 3)]
    res = stack.propagate(x, Ws, activation="tanh", bins=edges, pairs=pairs,
                          saturation=0.05, return_activations=True)
    exp = ref.stack_stats(x, Ws, None, "tanh", saturation=0.05)
    assert_matches(res, exp)
    assert (res.act_frac_saturated > 0.1).all()
    for l in range(2):
        for kind, arr in (("preact", exp["zs"][l]), ("act", exp["hs"][l]), ("grad", exp["gs"][l])):
            np.testing.assert_array_equal(res.histograms[kind][l], np.histogram(arr, edges)[0])
        for p, (a, b) in enumerate(pairs):
            for cos, arr in ((res.preact_cos, exp["zs"][l]), (res.act_cos, exp["hs"][l])):
                want = arr[a] @ arr[b] / np.sqrt((arr[a] @ arr[a]) * (arr[b] @ arr[b]))
                assert np.isclose(cos[l, p], want, rtol=1e-12)


def test_dead_units_and_zeros():
    widths = (6, 40, 40)
    Ws, bs = weights_for(widths, "relu", seed=6, bias=True)
    bs[0][:10] = -100.0  # ten units of layer 1 never fire
    x = np.random.default_rng(7).standard_normal((5, 6))
    res = stack.propagate(x, Ws, bs, activation="relu")
    assert res.act_frac_dead[0] >= 10 / 40
    exp = ref.stack_stats(x, Ws, bs, "relu")
    assert_matches(res, exp)
    assert np.isnan(res.act_frac_saturated).all()  # unbounded activation


# ---- simulate: weights by definition, threads, memory options ---------------------------------

SIM = dict(activation="tanh", init="xavier_normal", seed=123)


def _sim_params(init, widths):
    from fastinit import init as finit

    specs = [finit.resolve(init, widths[l], widths[l + 1], dtype=np.float64)
             for l in range(len(widths) - 1)]
    kind = specs[0].distribution
    if kind == "normal":
        return kind, [(s.loc, s.scale) for s in specs]
    if kind == "uniform":
        return kind, [(-s.bound, s.bound) for s in specs]
    return kind, [(s.loc, s.scale, s.a, s.b) for s in specs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("init", ["xavier_normal", "xavier_uniform", "truncated_normal"])
@pytest.mark.parametrize("bias_std", [0.0, 0.3])
def test_simulate_is_propagate_on_the_defined_weights(dtype, init, bias_std):
    widths = (37, 70, 70, 19)
    res = stack.simulate(3, list(widths), batch=9, activation="tanh", init=init, seed=7,
                         bias_std=bias_std, dtype=dtype, loss="mse")
    kind, params = _sim_params(init, widths)
    Ws = ref.simulated_weights(7, widths, kind, params, dtype)
    bs = ref.simulated_biases(7, widths, bias_std, dtype) if bias_std else None
    x = ref.simulated_input(7, 9, widths[0], dtype)
    exp = stack.propagate(x, Ws, bs, activation="tanh", loss="mse", seed=7)
    # the engine's own generation is bitwise the Generator's: identical results
    for name in exp.stats:
        np.testing.assert_array_equal(res.stats[name], exp.stats[name], err_msg=name)
    np.testing.assert_array_equal(res.dw_norm, exp.dw_norm)
    if dtype == np.float64:
        assert_matches(res, ref.stack_stats(x, Ws, bs, "tanh", loss="mse", seed=7))


# sizes above the engine's serial threshold (fi_stack.c: FI_STACK_SERIAL_WORK), so that the
# threads really share the layers
@pytest.mark.parametrize("case", [dict(depth=20, width=400, batch=3),
                                  dict(depth=5, width=257, batch=70, activation="relu",
                                       init="he_normal", bias_std=0.1),
                                  dict(depth=4, width=[30, 300, 31, 129, 64], batch=300,
                                       dtype=np.float64, loss="normal")])
def test_threads_bitwise(case):
    kw = {**SIM, **case}
    runs = [stack.simulate(**kw, n_threads=nt, bins=np.linspace(-1, 1, 5), pairs=[(0, 1)])
            for nt in (1, 2, 3, 7)]
    for r in runs[1:]:
        for name in r.stats:
            np.testing.assert_array_equal(r.stats[name], runs[0].stats[name], err_msg=name)
        for name in ("dw_mean", "dw_std", "dw_norm", "preact_cos", "act_cos"):
            np.testing.assert_array_equal(getattr(r, name), getattr(runs[0], name))
        for kind in r.histograms:
            np.testing.assert_array_equal(r.histograms[kind], runs[0].histograms[kind])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_reuses_the_derivative_bitwise(activation, dtype):
    # the call for layer l writes act'(z_{l-1}) with the recomputed input (dphi_prev); the call
    # for layer l-1 takes it (dphi) instead of evaluating the activation again: same bits
    widths, B = [37, 50, 29], 7
    rng = np.random.default_rng(5)
    Ws, _ = weights_for(widths, activation, dtype=dtype)
    x = rng.standard_normal((B, widths[0])).astype(dtype)
    run = stack._Run(widths=widths, batch=B, dt=np.dtype(dtype), act=get_activation(activation),
                     n_threads=1, errors="ignore", saturation=0.01, bins=None, pairs=None,
                     dist=-1, wparams=None, seed_seq=np.random.SeedSequence(0), explicit=Ws,
                     biases=None, bias_std=0.0, checkpoint_every=None, weight_cache=False,
                     keep=False)
    eng = run.eng
    z0, h0 = np.empty((B, 50), dtype), np.empty((B, 50), dtype)
    z1, h1 = np.empty((B, 29), dtype), np.empty((B, 29), dtype)
    run._prepare_layer(0, False)
    run._prepare_layer(1, False)
    eng.forward(0, x, z0, h0)
    eng.forward(1, h0, z1, h1)
    g = rng.standard_normal((B, 29)).astype(dtype)
    hprev, gprev = np.empty((B, 50), dtype), np.empty((B, 50), dtype)
    dphi = np.full((B, 50), np.nan, dtype)
    eng.backward(1, g, z1, hprev, gprev, None, None, z0, None, dphi)
    np.testing.assert_array_equal(hprev, h0)
    outs = []
    for d in (None, dphi):
        dw = np.empty((37, 50), dtype)
        eng.backward(0, gprev, z0, x, None, dw, None, None, d)
        outs.append((dw, eng.grad[0].copy(), eng.dw[0].copy()))
    for a, b in zip(*outs):
        assert a.tobytes() == b.tobytes()


def test_threads_bitwise_subprocess():
    code = textwrap.dedent("""
        import hashlib, numpy as np, fastinit.stack as s
        r = s.simulate(30, 300, batch=17, activation='relu', init='he_normal', seed=3)
        h = hashlib.sha256()
        for k in sorted(r.stats): h.update(r.stats[k].tobytes())
        h.update(r.dw_norm.tobytes())
        print(h.hexdigest())
    """)
    digests = set()
    for nt in ("1", "2", "3", "7"):
        env = {**os.environ, "OMP_NUM_THREADS": nt}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_checkpoints_and_cache_give_identical_results():
    kw = dict(depth=23, width=[40] + [64] * 22 + [10], batch=6, bias_std=0.2, **SIM)
    base = stack.simulate(**kw, weight_cache=0)  # every layer regenerated in the backward pass
    layer_bytes = 64 * 64 * 4  # float32 default
    for opts in (dict(checkpoint_every=5), dict(checkpoint_every="auto"),
                 dict(checkpoint_every=1), dict(weight_cache=1 << 30), dict(),
                 dict(weight_cache=7 * layer_bytes)):  # all, none, and the first layers only
        r = stack.simulate(**kw, **opts)
        for name in base.stats:
            np.testing.assert_array_equal(r.stats[name], base.stats[name], err_msg=f"{opts} {name}")
        np.testing.assert_array_equal(r.dw_norm, base.dw_norm)
        np.testing.assert_array_equal(r.dw_mean, base.dw_mean)


def test_weight_cache_memory_reused_between_calls():
    # the cache's block is kept (MADV_FREE) and written over by the next run: whatever an earlier
    # run left in it, the results are those of a run on fresh memory or without a cache
    kw = dict(depth=9, width=[33] + [70] * 8 + [12], batch=5, bias_std=0.1,
              activation="tanh", init="xavier_normal")
    fresh = stack.simulate(**kw, seed=5, weight_cache=0)
    stack.simulate(**{**kw, "width": 90}, seed=6)  # a larger block, other values
    again = stack.simulate(**kw, seed=5)
    stack.simulate(**kw, seed=7, dtype=np.float64)
    last = stack.simulate(**kw, seed=5)
    for r in (again, last):
        for name in fresh.stats:
            np.testing.assert_array_equal(r.stats[name], fresh.stats[name], err_msg=name)
        np.testing.assert_array_equal(r.dw_norm, fresh.dw_norm)
        np.testing.assert_array_equal(r.dw_std, fresh.dw_std)
    if hasattr(mmap, "MADV_FREE"):
        assert stack._ARENA._idle is not None  # kept for the next call


def test_forward_only_and_user_x():
    x = np.random.default_rng(0).standard_normal((5, 30)).astype(np.float32)
    r = stack.simulate(10, 30, x=x, backward=False, **SIM)
    assert r.batch == 5 and r.dtype == np.float32 and not r.has_backward
    assert r.grad_std is None and r.dw_norm is None
    assert np.isclose(r.input_stats["m2"], np.mean(x.astype(np.float64) ** 2))


def test_result_containers():
    r = stack.simulate(6, 20, batch=4, bins=[-1, 0, 1], **SIM)
    d = r.to_dict()
    assert d["depth"] == 6 and len(d["act_std"]) == 6 and len(d["dw_norm"]) == 6
    assert len(d["act_hist"]) == 6
    text = r.summary()
    assert "depth 6" in text and "layer" in text
    assert str(r) == text
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pandas"):
            r.to_pandas()
    else:
        df = r.to_pandas()
        assert list(df.index) == list(range(1, 7)) and "act_std" in df.columns
    with pytest.raises(AttributeError):
        r.no_such_statistic


def test_theory_attached():
    r = stack.simulate(10, 200, batch=16, activation="tanh", init="xavier_normal", seed=0,
                       theory=True)
    assert r.theory is not None and r.theory.q.shape == (10,)
    # layer-1 pre-activation second moment: sigma_w^2 m0 for Xavier at equal widths
    assert np.isclose(r.theory.q[0], r.input_stats["m2"], rtol=1e-12)
    assert np.isclose(r.preact_m2[0], r.theory.q[0], rtol=0.2)


def test_theory_correlation_from_pairs():
    x = np.random.default_rng(1).standard_normal((4, 300))
    x[1] = 0.6 * x[0] + 0.8 * x[1]  # input correlation about 0.6
    r = stack.simulate(6, 300, x=x, activation="tanh", init="xavier_normal", seed=2,
                       pairs=[(0, 1), (2, 3)], theory=True, backward=False)
    c0 = x[0] @ x[1] / np.sqrt((x[0] @ x[0]) * (x[1] @ x[1]))
    assert r.theory.c is not None and r.theory.c.shape == (6,)
    from fastinit import theory

    want = theory.predict_stack("tanh", 1.0, 0.0, 6, input_second_moment=np.mean(x * x),
                                input_correlation=c0)
    np.testing.assert_allclose(r.theory.c, want.c, rtol=1e-12)
    # layer 1 with Xavier at equal width: E[z_a z_b] = sigma_w^2 x_a.x_b / n, exactly c0 for
    # equal input norms up to sampling noise at width 300
    assert abs(r.preact_cos[0, 0] - r.theory.c[0]) < 0.15
    assert stack.simulate(3, 30, batch=4, seed=0, theory=True).theory.c is None


# ---- overflow, errors=, bad input ----------------------------------------------------------------

def _exploding(**kw):
    return stack.simulate(200, 64, batch=8, activation="relu", init="normal",
                          init_kwargs={"std": 1.0}, seed=1, **kw)


def test_overflow_errors_modes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = _exploding(errors="ignore")
    first = r.first_nonfinite_layer
    assert first is not None and 10 < first < 200
    assert r.act_nonfinite[first - 1] > 0 and (r.act_nonfinite[: first - 2] == 0).all()
    with pytest.warns(RuntimeWarning, match=f"layer {first}"):
        _exploding(errors="warn")
    with pytest.raises(FloatingPointError, match=f"layer {first}"):
        _exploding(errors="raise")
    # and the next call works
    assert stack.simulate(3, 8, batch=2, **SIM).first_nonfinite_layer is None


BAD = [
    (dict(depth=0, width=8), ValueError, "depth must be >= 1"),
    (dict(depth=2.5, width=8), TypeError, "depth must be an integer"),
    (dict(depth=2, width=0), ValueError, "width must be >= 1"),
    (dict(depth=2, width=[4, 4]), ValueError, "depth \\+ 1 = 3"),
    (dict(depth=2, width=8, batch=0), ValueError, "batch must be >= 1"),
    (dict(depth=2, width=8, activation="tanhh"), ValueError, "unknown activation 'tanhh'"),
    (dict(depth=2, width=8, init="no_such_init"), ValueError, "no_such_init"),
    (dict(depth=2, width=8, loss="l1"), ValueError, "unknown loss 'l1'"),
    (dict(depth=2, width=8, errors="loud"), ValueError, "unknown errors 'loud'"),
    (dict(depth=2, width=8, dtype=np.int32), TypeError, "Unsupported dtype"),
    (dict(depth=2, width=8, x=np.zeros((3, 7))), ValueError, "x has 7 columns"),
    (dict(depth=2, width=8, x=np.zeros(8)), ValueError, "must be 2-D"),
    (dict(depth=2, width=8, x=np.full((2, 8), np.nan)), ValueError, "non-finite"),
    (dict(depth=2, width=8, x=np.zeros((2, 8)), dtype=np.float32), TypeError, "dtype float64"),
    (dict(depth=2, width=8, n_threads=0), ValueError, "n_threads"),
    (dict(depth=2, width=8, bias_std=-1.0), ValueError, "bias_std"),
    (dict(depth=2, width=8, pairs=[(0, 99)]), ValueError, "pairs"),
    (dict(depth=2, width=8, bins=[1, 0]), ValueError, "bins"),
    (dict(depth=2, width=8, seed=-1), ValueError, "expected non-negative integer"),
    (dict(depth=2, width=8, checkpoint_every=0), ValueError, "checkpoint_every"),
    (dict(depth=2, width=8, weight_cache=-1), ValueError, "weight_cache must be >= 0"),
    (dict(depth=2, width=8, weight_cache=1.5), TypeError, "weight_cache must be an integer"),
]


@pytest.mark.parametrize("kw,exc,match", BAD)
def test_simulate_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        stack.simulate(**kw)


def test_propagate_bad_input():
    W = np.zeros((4, 5))
    x = np.zeros((2, 4))
    with pytest.raises(ValueError, match="do not chain"):
        stack.propagate(x, [W, np.zeros((4, 3))])
    with pytest.raises(ValueError, match="x has 3 columns"):
        stack.propagate(np.zeros((2, 3)), [W])
    with pytest.raises(TypeError, match="dtype float32"):
        stack.propagate(x, [W.astype(np.float32)])
    with pytest.raises(ValueError, match="at least one layer"):
        stack.propagate(x, [])
    with pytest.raises(ValueError, match="non-finite"):
        stack.propagate(x, [np.full((4, 5), np.inf)])
    with pytest.raises(ValueError, match="biases\\[0\\] has 4 values"):
        stack.propagate(x, [W], [np.zeros(4)])
    with pytest.raises(ValueError, match="grad_output must have shape"):
        stack.propagate(x, [W], grad_output=np.zeros((2, 4)))
    xi = x.copy()
    Wi = W.copy()
    stack.propagate(xi, [Wi], activation="relu")
    np.testing.assert_array_equal(xi, x)  # inputs unmodified
    np.testing.assert_array_equal(Wi, W)


# ---- Ctrl-C, fork, threads from Python ---------------------------------------------------------

def test_ctrl_c_stops_within_a_second_and_next_call_works():
    code = textwrap.dedent("""
        import os, signal, threading, time, fastinit.stack as s
        s.simulate(2, 32, batch=2, activation='tanh', init='xavier_normal', seed=0)
        t = {}
        def fire():
            t['sent'] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)
        threading.Timer(0.5, fire).start()
        try:
            s.simulate(100000, 512, batch=16, activation='tanh', init='xavier_normal', seed=0)
            print('NOT INTERRUPTED')
        except KeyboardInterrupt:
            print('LATENCY', time.perf_counter() - t['sent'])
        r = s.simulate(3, 16, batch=2, activation='tanh', init='xavier_normal', seed=0)
        print('NEXT', r.depth)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120,
                         # a runner started in the background passes SIGINT on ignored, and
                         # Python keeps an inherited SIG_IGN: give the child the default
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = dict(line.split(" ", 1) for line in out.stdout.split("\n") if " " in line)
    assert "LATENCY" in lines, out.stdout + out.stderr
    assert float(lines["LATENCY"]) < 1.0
    assert lines["NEXT"] == "3"


def _child(q):
    r = stack.simulate(5, 64, batch=8, **SIM)
    q.put(r.dw_norm.tobytes())


def test_fork_child_after_parent():
    # the parent's parallel regions (engine and sampler) start libgomp's pool; a child that
    # entered a parallel region would hang, so it must run serially and give the same bits
    parent = stack.simulate(5, 64, batch=8, n_threads=2, **SIM)
    fastinit.default_rng(0).standard_normal(10**6, n_threads=2)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    try:
        got = q.get(timeout=60)
    finally:
        p.join(timeout=10)
        if p.is_alive():  # never leave a hung child behind (pytest would wait for it)
            p.kill()
            p.join()
    assert p.exitcode == 0
    assert got == parent.dw_norm.tobytes()
    assert not fastinit._core.is_forked_child()  # the parent keeps its threads


def test_fork_child_importing_the_engine_after_the_parent_used_threads():
    # the engine module is first imported in the child: it learns the fork from fastinit._core
    code = textwrap.dedent("""
        import os, fastinit
        fastinit.default_rng(0).standard_normal(10**6, n_threads=2)
        pid = os.fork()
        if pid == 0:
            import fastinit.stack as s
            r = s.propagate([[1.0, 2.0]] * 64, [[[0.5] * 300] * 2, [[0.1]] * 300])
            os._exit(0 if r.dw_norm.shape == (2,) else 3)
        _, status = os.waitpid(pid, 0)
        print('CHILD', os.waitstatus_to_exitcode(status))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert "CHILD 0" in out.stdout, out.stdout + out.stderr


def test_simd_path_follows_set_simd_path():
    if not fastinit._core.cpu_has_avx2():
        pytest.skip("this CPU has no AVX2+FMA: only the baseline path exists")
    before = fastinit._core.simd_path()  # a FASTINIT_SIMD=baseline run gets it back at the end
    Ws, _ = weights_for((200, 300, 100), "tanh", seed=1)
    x = np.random.default_rng(2).standard_normal((20, 200))
    try:
        assert fastinit.set_simd_path("avx2") == "avx2"
        fused = stack.propagate(x, Ws, return_activations=True)
        assert fastinit.set_simd_path("baseline") == "baseline"
        plain = stack.propagate(x, Ws, return_activations=True)
        assert fastinit.set_simd_path("avx2") == "avx2"
        again = stack.propagate(x, Ws, return_activations=True)
    finally:
        fastinit.set_simd_path(before)
    # the baseline GEMM rounds products and sums separately: other last bits, same values
    assert not np.array_equal(fused.preactivations[0], plain.preactivations[0])
    np.testing.assert_allclose(fused.preactivations[0], plain.preactivations[0], rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_array_equal(fused.preactivations[1], again.preactivations[1])


def test_python_threads_share_nothing():
    results = [None] * 4

    def work(i):
        results[i] = stack.simulate(8, 96, batch=5, **SIM)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in results[1:]:
        np.testing.assert_array_equal(r.act_std, results[0].act_std)
        np.testing.assert_array_equal(r.dw_norm, results[0].dw_norm)


def _peak_rss_mb(code: str) -> tuple[float, float]:
    """(peak RSS after imports and a warm-up, peak RSS at the end) of a fresh interpreter, MB."""
    prog = textwrap.dedent("""
        import resource, numpy as np, fastinit.stack as s
        s.simulate(2, 64, batch=4, seed=0)
        print('BASE', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """) + textwrap.dedent(code) + textwrap.dedent("""
        print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                         timeout=300, check=True)
    vals = dict(line.split() for line in out.stdout.splitlines() if line[:4] in ("BASE", "PEAK"))
    return float(vals["BASE"]), float(vals["PEAK"])


def test_backward_memory_holds_no_weights():
    # 1500 layers of 256 x 256 float32 weights are 393 MB; without a weight cache the engine
    # regenerates them in the backward pass and keeps only the pre-activations (6 MB)
    base, peak = _peak_rss_mb("""
        r = s.simulate(1500, 256, batch=4, activation='tanh', init='xavier_normal', seed=1,
                       n_threads=1, weight_cache=0)
        assert np.isfinite(r.dw_norm).all()
    """)
    assert peak - base < 60, (base, peak)


@pytest.mark.slow
def test_deep_forward_memory_is_flat():
    # forward-only statistics of 20,000 layers keep nothing per layer but the statistics
    # (20,000 x 64 x 64 float32 weights would be 328 MB)
    base, peak = _peak_rss_mb("""
        r = s.simulate(20000, 64, batch=4, backward=False, activation='tanh',
                       init='xavier_normal', seed=123, n_threads=1)
        assert r.act_std.shape == (20000,) and np.isfinite(r.act_std).all()
    """)
    assert peak - base < 30, (base, peak)
