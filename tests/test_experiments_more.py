"""Experiments 1, 3, 5, 6 against pure-NumPy references of the same computation, and the
``theory`` and ``bench`` commands.

The references draw the same random numbers from their definitions (fastinit.init.network for
the weights, the ``inputs`` and ``grad_output`` streams of the seed for the input batch and the
upstream gradient) and then do everything in float64 NumPy; the experiments run in float64 so
the comparison can be tight.
"""

import json

import numpy as np
import pytest

import fastinit
from fastinit import _report
from fastinit.activations import get_activation
from fastinit.experiments import deep_stack, depth_sweep, gradients, symmetry
from fastinit.stack import simulate
from test_cli import assert_one_line_error as one_line_error  # the command-line tests' helpers
from test_cli import fastinit_cmd


# ---------------------------------------------------------------- NumPy reference of a stack


def ref_stack(widths, batch, activation, init, seed, backward=True):
    """float64 forward (and backward from the 'normal' upstream gradient) on the defined draws."""
    from fastinit import init as fi_init

    act = get_activation(activation)
    Ws = [np.asarray(W, np.float64) for W in fi_init.network(widths, init, seed=seed, dtype=np.float64)]
    ss = np.random.SeedSequence(seed)
    h = fastinit.Generator(ss, fastinit.stream_id("inputs", 0)).standard_normal((batch, widths[0]),
                                                                               dtype=np.float64)
    zs, hs = [], []
    for W in Ws:
        z = h @ W
        h = act.f(z)
        zs.append(z)
        hs.append(h)
    out = {"W": Ws, "z": zs, "h": hs}
    if backward:
        g = fastinit.Generator(ss, fastinit.stream_id("grad_output", 0)).standard_normal(
            (batch, widths[-1]), dtype=np.float64)
        gs = [None] * len(Ws)
        for l in range(len(Ws) - 1, -1, -1):
            gs[l] = g
            g = (g * act.df(zs[l])) @ Ws[l].T
        out["g"] = gs
    return out


def ref_layer_stats(ref, activation, saturation=deep_stack.SATURATION):
    act = get_activation(activation)
    st = {"act_std": np.array([h.std() for h in ref["h"]]),
          "preact_frac_zero": np.array([np.mean(z == 0) for z in ref["z"]]),
          "act_frac_dead": np.array([np.mean(np.all(h == 0, axis=0)) for h in ref["h"]])}
    if act.bounds is None:
        st["act_frac_saturated"] = np.full(len(ref["h"]), np.nan)
    else:
        lo, hi = act.bounds[0] + saturation, act.bounds[1] - saturation
        st["act_frac_saturated"] = np.array([np.mean((h <= lo) | (h >= hi)) for h in ref["h"]])
    return st


# ---------------------------------------------------------------- experiment 1


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_deep_stack_matches_numpy_reference(activation):
    r = deep_stack.run(depth=4, width=24, batch=16, inits=["small", "he", "glorot"], activations=[activation],
                       funnel=(32, 8), funnel_inits=["lecun"], dtype="float64", seed=5)
    recs = r.table("layers").records()
    for stack, widths in (("square", [24] * 5), ("funnel", deep_stack.funnel_widths(32, 8, 4))):
        for init in (["small", "he", "glorot"] if stack == "square" else ["lecun"]):
            ref = ref_stack(widths, 16, activation, init, 5)
            rows = [x for x in recs if x["stack"] == stack and x["init"] == init]
            assert [x["fan_in"] for x in rows] == widths[:-1]
            np.testing.assert_allclose([x["act_std"] for x in rows], [h.std() for h in ref["h"]], rtol=1e-9)
            np.testing.assert_allclose([x["act_mean"] for x in rows], [h.mean() for h in ref["h"]],
                                       rtol=1e-8, atol=1e-14)
            np.testing.assert_allclose([x["preact_std"] for x in rows], [z.std() for z in ref["z"]], rtol=1e-9)
            np.testing.assert_allclose([x["grad_rms"] for x in rows],
                                       [np.sqrt(np.mean(g * g)) for g in ref["g"]], rtol=1e-9)
            if stack == "square":
                # the verdict from the reference's statistics with the same rule
                st = ref_layer_stats(ref, activation)
                fwd, _ = deep_stack.forward_verdict(st, 4, None, activation)
                case = f"{init}/{activation}"
                v = next(v for v in r.verdicts if v["case"] == case)
                if fwd != "healthy":
                    assert v["verdict"] == fwd


def test_deep_stack_glorot_is_lecun_on_square_layers_only():
    r = deep_stack.run(depth=3, width=16, batch=8, inits=["lecun", "glorot"], activations=["tanh"],
                       funnel=(32, 8), funnel_inits=["lecun", "glorot"], dtype="float64")
    s = r.summary.records()
    sq = {x["init"]: x for x in s if x["stack"] == "square"}
    fu = {x["init"]: x for x in s if x["stack"] == "funnel"}
    assert sq["glorot"]["same_weights_as"] == "lecun" and sq["glorot"]["std_last"] == sq["lecun"]["std_last"]
    assert fu["glorot"]["same_weights_as"] is None and fu["glorot"]["std_last"] != fu["lecun"]["std_last"]


def test_deep_stack_lecture_verdicts():
    r = deep_stack.run(depth=10, width=200, batch=200, funnel_inits=(), seed=0)
    v = {x["case"]: x["verdict"] for x in r.verdicts}
    assert v["small/tanh"] == "vanishing" and v["randn/tanh"] == "saturated"
    assert v["randn/relu"] == "exploding" and v["he/relu"] == "healthy" and v["lecun/relu"] == "vanishing"
    assert all(v[f"{i}/sigmoid"] in ("vanishing", "saturated") for i in deep_stack.INITS)


def test_deep_stack_same_seed_same_numbers_and_bad_input():
    kw = dict(depth=3, width=16, batch=8, inits=["he"], activations=["relu"], funnel_inits=())
    assert deep_stack.run(**kw, seed=2).to_json() == deep_stack.run(**kw, seed=2).to_json()
    with pytest.raises(ValueError, match="unknown init 'xavier2'; valid: small, randn"):
        deep_stack.run(inits=["xavier2"])
    with pytest.raises(ValueError, match="negative dimensions"):
        deep_stack.run(width=-3)
    with pytest.raises(ValueError, match="funnel must be two widths"):
        deep_stack.run(funnel=(10, 5, 2))


# ---------------------------------------------------------------- experiment 3


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_gradients_match_numpy_reference(activation):
    r = gradients.run(depth=6, width=20, batch=12, activations=[activation], inits=["lecun", "he"],
                      dtype="float64", seed=1)
    recs = r.table("layers").records()
    act = get_activation(activation)
    for init in ("lecun", "he"):
        ref = ref_stack([20] * 7, 12, activation, init, 1)
        rms = np.array([np.sqrt(np.mean(g * g)) for g in ref["g"]])
        fac = np.array([np.sqrt(W.shape[1] * np.mean(W * W) * np.mean(act.df(z) ** 2))
                        for z, W in zip(ref["z"], ref["W"])])
        pred = np.array([np.prod(fac[l + 1:]) for l in range(6)])
        rows = [x for x in recs if x["init"] == init]
        np.testing.assert_allclose([x["grad_rms"] for x in rows], rms, rtol=1e-9)
        np.testing.assert_allclose([x["grad_ratio"] for x in rows], rms / rms[-1], rtol=1e-9)
        np.testing.assert_allclose([x["local_factor"] for x in rows], fac, rtol=1e-9)
        np.testing.assert_allclose([x["product_above"] for x in rows], pred, rtol=1e-9)


def test_gradients_sigmoid_bound_and_verdicts():
    r = gradients.run(depth=12, width=128, batch=64, seed=0)
    d = {x["activation"]: x for x in r.table("derivatives").records()}
    assert d["sigmoid"]["max_dphi"] == 0.25 and d["sigmoid"]["at_z"] == 0.0 and d["tanh"]["max_dphi"] == 1.0
    s = {(x["activation"], x["init"]): x for x in r.summary.records()}
    # with randn/sqrt(fan_in) every sigmoid factor is at most 1/4 up to the sampled gain
    assert s["sigmoid", "lecun"]["grad_ratio"] < 1.5 * 0.25 ** 11
    assert s["sigmoid", "lecun"]["verdict"] == "vanishing" and s["relu", "he"]["verdict"] == "healthy"
    assert s["relu", "lecun"]["verdict"] == "vanishing"
    assert all(x["product_agrees"] for x in s.values())


# ---------------------------------------------------------------- experiment 5


def ref_train(init, activation, hidden, steps, lr, seed, constant=0.1, random_init="lecun"):
    """float64 gradient descent in plain NumPy (the seed note's formulas)."""
    X, T, y, Xv, yv = symmetry.load_data(seed, np.float64)
    W, b, V, c = symmetry.initial_params(init, X.shape[1], hidden, 10, constant=constant, random_init=random_init,
                                         seed=seed, dtype=np.float64)
    act = get_activation(activation)
    n = X.shape[0]
    losses = []
    for _ in range(steps):
        Z = X @ W + b
        H = act.f(Z)
        A = H @ V + c
        A = A - A.max(axis=1, keepdims=True)
        P = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
        losses.append(-np.mean(np.sum(T * np.log(P), axis=1)))
        G = (P - T) / n
        dV, dc = H.T @ G, G.sum(0)
        dZ = (G @ V.T) * act.df(Z)
        dW, db = X.T @ dZ, dZ.sum(0)
        W, b, V, c = W - lr * dW, b - lr * db, V - lr * dV, c - lr * dc
    return losses, (W, b, V, c)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_symmetry_matches_numpy_training(activation):
    r = symmetry.run(activations=[activation], hidden=6, steps=12, log_every=4, dtype="float64", seed=2)
    recs = r.table("steps").records()
    for init in symmetry.INITS:
        losses, params = ref_train(init, activation, 6, 12, 0.5, 2)
        rows = [x for x in recs if x["init"] == init]
        assert [x["step"] for x in rows] == [0, 4, 8, 12]
        np.testing.assert_allclose([x["train_loss"] for x in rows[:-1]], [losses[s] for s in (0, 4, 8)],
                                   rtol=1e-10)
        n_ref, _ = symmetry.distinct_units(params[0], params[1], params[2], r.settings["tol"])
        summ = next(x for x in r.summary.records() if x["init"] == init)
        assert summ["distinct_end"] == n_ref
        assert summ["verdict"] == ("healthy" if init == "random" else "symmetric")


def test_symmetry_zero_tanh_weights_never_move():
    r = symmetry.run(activations=["tanh"], inits=["zero"], hidden=4, steps=10, log_every=10)
    s = r.summary.records()[0]
    assert s["max_w_change"] == 0.0 and s["distinct_end"] == 1


def test_distinct_units_tolerance():
    W = np.ones((3, 4))
    W[:, 3] += 1e-9
    b, V = np.zeros(4), np.ones((4, 2))
    assert symmetry.distinct_units(W, b, V, 1e-6)[0] == 1
    assert symmetry.distinct_units(W, b, V, 1e-12)[0] == 2


# ---------------------------------------------------------------- experiment 6


def test_depth_sweep_prefix_verdicts_match_numpy_and_shorter_runs():
    depths = [1, 2, 5, 15, 40]
    r = depth_sweep.run(depths=depths, width=12, batch=10, inits=["small", "he"], activations=["tanh", "relu"],
                        dtype="float64", seed=3)
    for row in r.summary.rows:
        init, act = row[:2]
        ref = ref_stack([12] * 41, 10, act, init, 3, backward=False)
        st = ref_layer_stats(ref, act)
        nf = None
        expected = [deep_stack.forward_verdict(st, d, nf, act)[0] for d in depths]
        assert row[2:] == expected, (init, act)
        # the prefix of the deep run is the shallow network: a direct depth-5 run agrees
        short = simulate(5, 12, batch=10, activation=act, init=init, seed=3, backward=False,
                                  dtype="float64")
        cell = next(x for x in r.table("cells").records()
                    if x["init"] == init and x["activation"] == act and x["depth"] == 5)
        with np.errstate(all="ignore"):
            assert cell["std_ratio"] == pytest.approx(short.act_std[-1] / short.act_std[0], rel=1e-12)


def test_depth_sweep_float32_deep_verdicts():
    r = depth_sweep.run(depths=[2, 200], width=64, batch=64, activations=["tanh", "relu"],
                        inits=["small", "randn"], seed=0)
    v = {tuple(row[:2]): row[2:] for row in r.summary.rows}
    assert v["small", "tanh"][1] == "underflow"
    assert v["randn", "relu"][1] == "overflow"
    assert v["randn", "tanh"] == ["saturated", "saturated"]


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize("args, needle", [
    (["deep-stack", "--inits", "he,xavier2"], "unknown init 'xavier2'"),
    (["gradients", "--activations", "softsign"], "unknown activation 'softsign'"),
    (["symmetry", "--hidden", "-4"], "negative dimensions"),
    (["depth-sweep", "--depths", "10,-1"], "negative dimensions"),
    (["theory", "--activation", "nope"], "unknown activation 'nope'"),
    (["theory", "--sigma-w", "-1"], "must be >= 0"),
    (["bench", "--repeats", "0"], "must be >= 1"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    line = one_line_error(fastinit_cmd(*args), 2)
    assert needle in line


def test_theory_command_numbers_equal_library(tmp_path):
    from fastinit import theory as th

    p = fastinit_cmd("theory", "--activation", "tanh", "--sigma-w", "1.5", "--sigma-b", "0.3", "--depth", "4",
                     "--measure", "--width", "32", "--batch", "16", "--seed", "1", "--out", tmp_path, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc == json.loads((tmp_path / "theory.json").read_text())
    assert doc["q_star"] == th.fixed_point("tanh", 1.5, 0.3) and doc["chi1"] == th.chi1("tanh", 1.5, 0.3)
    assert doc["phase"] == th.phase("tanh", 1.5, 0.3) == "chaotic"
    assert doc["critical_sigma_w"] == th.critical_sigma_w("tanh", 0.3)
    assert [doc["xi_q"], doc["xi_c"]] == list(th.depth_scales("tanh", 1.5, 0.3))
    pred = th.predict_stack("tanh", 1.5, 0.3, 4)
    rows = doc["layers"]["rows"]
    assert [r[1] for r in rows] == [float(q) for q in pred.q]
    from fastinit._cli_theory import measure

    q_meas, m_meas = measure("tanh", 1.5, 0.3, 4, 32, 16, 1, None, None)
    assert [r[3] for r in rows] == q_meas and [r[4] for r in rows] == m_meas
    if _report.have_matplotlib():
        assert (tmp_path / "theory_phase.png").stat().st_size > 1000
    text = fastinit_cmd("theory", "--activation", "relu", "--sigma-w", "1.4142135623730951")
    assert text.returncode == 0 and "critical" in text.stdout and "q*" in text.stdout


def test_theory_measure_follows_prediction_on_average():
    from fastinit import theory as th
    from fastinit._cli_theory import measure

    q, _ = measure("tanh", 1.2, 0.1, 6, 400, 200, 0, "float64", None)
    pred = th.predict_stack("tanh", 1.2, 0.1, 6).q
    np.testing.assert_allclose(q, pred, rtol=0.1)


def test_bench_quick_json(tmp_path):
    p = fastinit_cmd("bench", "--quick", "--repeats", "1", "--json", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc == json.loads((tmp_path / "bench.json").read_text())
    assert doc["columns"] == ["case", "size", "fastinit_ms", "numpy_ms", "speedup"]
    assert [r[0] for r in doc["rows"]] == ["normal f32", "normal f64", "he_normal", "simulate tanh"]
    for r in doc["rows"]:
        assert r[2] > 0 and r[3] > 0 and r[4] == pytest.approx(r[3] / r[2])
    assert "cores" in doc["machine"] and "SIMD" in doc["machine"]


def test_bench_reference_stack_is_the_lecture_loop():
    from fastinit._cli_bench import _numpy_stack

    st = _numpy_stack(3, 16, 8, seed=0)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((8, 16), dtype=np.float32)
    for l in range(3):
        W = rng.standard_normal((16, 16), dtype=np.float32) * np.float32(0.25)
        h = np.tanh(h @ W)
        assert st[l, 1] == pytest.approx(h.std(dtype=np.float64))
