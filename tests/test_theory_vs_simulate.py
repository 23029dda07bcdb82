"""fastinit.theory's mean-field prediction against fastinit.simulate's measurement.

The theory is exact for infinite width. At width n = 1024 one layer's second moment fluctuates
by about sqrt(2/n) (4%) and along the stack these fluctuations compound, slowly where the length
map contracts (tanh, erf, SELU) and freely where it is neutral (ReLU, GELU: a random walk in log
q). So the tests check (1) one step of the maps, conditional on the measured previous layer, which
does not compound, with a tight tolerance, and (2) whole paths with a tolerance growing like
sqrt(layer), k per case about 2.5x the largest deviation seen over 12 seeds (the seeds here are
fixed, so nothing flakes). tests/test_theory.py checks the predictions against many small NumPy
networks; this file checks that the engine and the theory agree on every convention (fans, bias,
first layer, gradient direction, correlations) on networks of realistic width.
"""

import functools
import math

import numpy as np
import pytest

import fastinit
from fastinit import theory

WIDTH, BATCH, DEPTH = 1024, 16, 20
LAYER = np.arange(1, DEPTH + 1)

# (activation, sigma_w, sigma_b, k_forward, k_gradient): ordered, near-critical, chaotic regimes
CASES = [
    ("tanh", 1.0, 0.05, 0.06, 0.10),
    ("tanh", 2.5, 0.3, 0.06, 0.14),
    ("relu", math.sqrt(2.0), 0.0, 0.5, 0.25),
    ("erf", 1.3, 0.2, 0.06, 0.10),
    ("sigmoid", 4.0, 0.5, 0.2, 0.18),
    ("gelu", 1.6, 0.1, 0.45, 0.2),
    ("selu", 1.0, 0.0, 0.06, 0.10),
]
IDS = [f"{c[0]}-{c[1]:.3g}-{c[2]}" for c in CASES]


@functools.lru_cache(maxsize=None)
def _run(act, sw, sb, seed=11):
    r = fastinit.simulate(DEPTH, WIDTH, batch=BATCH, activation=act, init="normal",
                          init_kwargs={"std": sw / math.sqrt(WIDTH)}, bias_std=sb, seed=seed,
                          loss="normal")
    pred = theory.predict_stack(act, sw, sb, DEPTH, input_second_moment=r.input_stats["m2"])
    return r, pred


@pytest.mark.parametrize("act,sw,sb,kf,kg", CASES, ids=IDS)
def test_one_step_of_the_length_map(act, sw, sb, kf, kg):
    r, _ = _run(act, sw, sb)
    # ReLU, GELU (neutral maps, c* = 1) and sigmoid (a common mean) make the batch's rows
    # alike, so a layer is effectively one sample of n = 1024 units: 2.5 sigma ~ 0.15
    rtol = 0.15 if act in ("relu", "gelu", "sigmoid") else 0.06
    # given layer l-1, E over W_l of z_l's second moment is sw^2 mean(h_{l-1}^2) + sb^2 ...
    prev = np.concatenate([[r.input_stats["m2"]], r.act_m2[:-1]])
    np.testing.assert_allclose(r.preact_m2, sw**2 * prev + sb**2, rtol=rtol)
    # ... and z_l is Gaussian at large width: mean(phi(z)^2) = E[phi(sqrt(q) Z)^2] at q = mean(z^2)
    e_phi2 = (theory.length_map(act, sw, sb, r.preact_m2) - sb**2) / sw**2
    np.testing.assert_allclose(r.act_m2, e_phi2, rtol=rtol)


@pytest.mark.parametrize("act,sw,sb,kf,kg", CASES, ids=IDS)
def test_second_moments_follow_the_length_map(act, sw, sb, kf, kg):
    r, pred = _run(act, sw, sb)
    dev = np.abs(np.log(r.preact_m2 / pred.q))
    assert np.all(dev < kf * np.sqrt(LAYER)), dev


@pytest.mark.parametrize("act,sw,sb,kf,kg", CASES, ids=IDS)
def test_gradients_follow_chi(act, sw, sb, kf, kg):
    r, pred = _run(act, sw, sb)
    # mean square of dL/dh_l relative to the top layer (the "normal" loss: E g^2 = 1 there)
    dev = np.abs(np.log(r.grad_m2 / r.grad_m2[-1]) - np.log(pred.grad_scale))
    assert np.all(dev < kg * np.sqrt(DEPTH - LAYER) + 1e-12), dev


@pytest.mark.parametrize("act,sw,sb", [("tanh", 2.5, 0.3), ("tanh", 1.0, 0.05),
                                       ("relu", math.sqrt(2.0), 0.0), ("erf", 1.3, 0.2)])
def test_correlations_follow_the_correlation_map(act, sw, sb):
    # BATCH/2 pairs of inputs with correlation about 0.6; the mean cosine over the pairs
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, BATCH // 2, WIDTH))
    x = np.empty((BATCH, WIDTH))
    x[0::2], x[1::2] = a, 0.6 * a + 0.8 * b
    pairs = np.arange(BATCH).reshape(-1, 2)
    norms = np.einsum("ij,ij->i", x, x)
    c0 = float(np.mean(np.einsum("ij,ij->i", x[0::2], x[1::2]) / np.sqrt(norms[0::2] * norms[1::2])))
    r = fastinit.simulate(DEPTH, WIDTH, batch=BATCH, activation=act, init="normal",
                          init_kwargs={"std": sw / math.sqrt(WIDTH)}, bias_std=sb, x=x,
                          pairs=pairs, seed=11, dtype=np.float64, backward=False)
    pred = theory.predict_stack(act, sw, sb, DEPTH, input_second_moment=float(norms.mean() / WIDTH),
                                input_correlation=c0)
    np.testing.assert_allclose(r.preact_cos.mean(axis=1), pred.c, atol=0.05)


def test_simulate_attaches_the_same_prediction():
    r = fastinit.simulate(DEPTH, WIDTH, batch=BATCH, activation="tanh", init="xavier_normal",
                          bias_std=0.1, seed=3, theory=True)
    pred = theory.predict_stack("tanh", 1.0, 0.1, DEPTH, input_second_moment=r.input_stats["m2"])
    np.testing.assert_allclose(r.theory.q, pred.q, rtol=1e-12)
    assert np.all(np.abs(np.log(r.preact_m2 / pred.q)) < 0.06 * np.sqrt(LAYER))
