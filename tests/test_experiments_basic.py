"""Experiments 2 (matmul chain) and 4 (Z = W.X), the registry and ExperimentResult.

Each experiment is compared with a pure-NumPy reference written here from the
documented recipe (same random draws from fastinit's Generator, then NumPy
products and float64 statistics).
"""

import json
import math

import numpy as np
import pytest

import fastinit
import fastinit.experiments as fx
from fastinit.experiments import ExperimentResult, Table, matmul_chain, zw_stats

# ---------------------------------------------------------------- registry


def test_registry_names_and_order():
    assert fx.names() == ["deep-stack", "matmul-chain", "gradients", "zw-stats", "symmetry", "depth-sweep"]
    assert [s.number for s in fx.EXPERIMENTS.values()] == [1, 2, 3, 4, 5, 6]
    assert fx.get("matmul-chain") is matmul_chain
    assert fx.get("matmul_chain") is matmul_chain
    assert fx.get("zw-stats") is zw_stats
    assert fx.available("matmul-chain") and fx.available("zw-stats")


def test_modules_are_attributes_of_the_package(monkeypatch):
    import subprocess
    import sys

    # a fresh interpreter: only the package imported, the modules resolve on access
    code = ("import fastinit.experiments as fx; print(fx.zw_stats.NAME, fx.matmul_chain.NAME); "
            "print(hasattr(fx, 'no_such_thing'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["zw-stats", "matmul-chain", "False"]
    spec = fx.ExperimentSpec("not-yet", "not_yet_written", 99, "Future experiment", "000")
    monkeypatch.setitem(fx.EXPERIMENTS, "not-yet", spec)
    with pytest.raises(AttributeError, match="not available yet"):
        fx.not_yet_written


def test_registry_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown experiment 'nope'; valid: deep-stack, matmul-chain"):
        fx.get("nope")


def test_registry_missing_module_is_not_available(monkeypatch):
    spec = fx.ExperimentSpec("not-yet", "not_yet_written", 99, "Future experiment", "000")
    monkeypatch.setitem(fx.EXPERIMENTS, "not-yet", spec)
    assert not fx.available("not-yet")
    with pytest.raises(fx.ExperimentNotAvailable, match="'not-yet' .* is not available yet"):
        fx.run("not-yet")


def test_registry_module_without_run_is_not_available(monkeypatch):
    # _common exists but has no run(): registered, not available.
    spec = fx.ExperimentSpec("helpers", "_common", 98, "Helpers", "000")
    monkeypatch.setitem(fx.EXPERIMENTS, "helpers", spec)
    with pytest.raises(fx.ExperimentNotAvailable, match="has no run"):
        fx.get("helpers")


def test_every_available_module_follows_the_contract():
    for name in fx.names():
        if not fx.available(name):
            continue
        mod = fx.get(name)
        assert callable(mod.run) and callable(mod.plot), name
        assert mod.NAME == name
        assert "seed" in fx.accepted_settings(name)
        assert isinstance(getattr(mod, "QUICK", {}), dict)


# ---------------------------------------------------------------- containers


def test_table_checks_row_length_and_accessors():
    t = Table(["a", "b"], [[1, "x"], [2, "y"]], caption="c", units={"a": "s"})
    assert t.column("b") == ["x", "y"]
    assert t.records() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert Table.from_dict(t.to_dict()) == t
    with pytest.raises(ValueError, match="row of 1 values for 2 columns"):
        Table(["a", "b"], [[1]])


def test_result_json_roundtrip_keeps_nonfinite_values():
    r = ExperimentResult(
        name="zw-stats", title="t", settings={"n": np.int64(3), "dtype": np.dtype("float32")},
        tables={"s": Table(["x", "y"], [[np.float32(1.5), np.nan], [np.inf, -np.inf]])},
        verdicts=[{"case": "a", "verdict": "healthy", "reason": "r"}],
        data={"arr": np.arange(3.0)},
    )
    text = r.to_json()
    doc = json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in text.replace('"NaN"', "")
    assert doc["tables"]["s"]["rows"] == [[1.5, "NaN"], ["Infinity", "-Infinity"]]
    assert doc["settings"] == {"n": 3, "dtype": "float32"}
    back = ExperimentResult.from_dict(doc)
    rows = back.table("s").rows
    assert rows[0][0] == 1.5 and math.isnan(rows[0][1]) and rows[1] == [math.inf, -math.inf]
    assert back.summary is back.table("s")
    with pytest.raises(KeyError, match="tables: s"):
        back.table("nope")


def test_result_json_keeps_the_summary_first():
    # results.json is written with sorted keys; the first table must stay the summary
    r = ExperimentResult(name="zw-stats", title="t", settings={},
                         tables={"summary": Table(["a"], [[1]]), "path": Table(["b"], [[2]])})
    back = ExperimentResult.from_dict(json.loads(json.dumps(r.to_dict(), sort_keys=True)))
    assert list(back.tables) == ["summary", "path"] and back.summary.columns == ["a"]


# ---------------------------------------------------------------- experiment 2 reference


def ref_matmul_chain(n, steps, inits, modes, dtypes, seed):
    """Pure-NumPy reference of experiment 2, written from its docstring."""
    scales = {"randn": 1.0, "small": 0.01, "lecun": 1 / math.sqrt(n), "he": math.sqrt(2 / n)}
    all_modes, all_dtypes = ("fixed", "fresh"), ("float32", "float64")
    children = fastinit.default_rng(seed).spawn(4)
    out = {}
    for mode in modes:
        for dt_name in dtypes:
            dt = np.dtype(dt_name)
            rng = children[2 * all_modes.index(mode) + all_dtypes.index(dt_name)]
            x0 = rng.standard_normal(n, dtype=dt)
            draws = [rng.standard_normal((n, n), dtype=dt)]
            if mode == "fresh":
                draws += [rng.standard_normal((n, n), dtype=dt) for _ in range(steps - 1)]
            for init in inits:
                x = x0.copy()
                rows = [x0.astype(np.float64)]
                with np.errstate(all="ignore"):
                    for k in range(steps):
                        a = draws[0] if mode == "fixed" else draws[k]
                        x = (a * dt.type(scales[init])) @ x
                        if init == "he":
                            x = np.maximum(x, dt.type(0))
                        rows.append(x.astype(np.float64))
                out[(init, mode, dt_name)] = rows
    return out


def ref_stats(x64):
    with np.errstate(all="ignore"):
        return x64.mean(), x64.std(), np.sqrt(np.mean(x64 * x64))


def first(flags):
    return next((k for k, f in enumerate(flags) if f), None)


@pytest.mark.parametrize("seed", [0, 7])
def test_matmul_chain_matches_numpy_reference(seed):
    n, steps = 48, 60
    r = matmul_chain.run(n=n, steps=steps, seed=seed)
    ref = ref_matmul_chain(n, steps, list(matmul_chain.INITS), ["fixed", "fresh"], ["float32", "float64"], seed)
    path = {}
    for rec in r.table("path").records():
        path.setdefault((rec["init"], rec["mode"], rec["dtype"]), []).append(rec)
    summary = {(s["init"], s["mode"], s["dtype"]): s for s in r.summary.records()}
    assert set(path) == set(ref) and len(ref) == 16
    for key, xs in ref.items():
        recs = path[key]
        assert [p["step"] for p in recs] == list(range(steps + 1))
        for rec, x in zip(recs, xs):
            mean, std, rms = ref_stats(x)
            # Values are moderate here, so the power-of-two scaling of the
            # implementation is exact and the statistics agree to the bit.
            np.testing.assert_array_equal([rec["mean"], rec["std"], rec["rms"]], [mean, std, rms])
        overflow = first([not np.isfinite(x).all() for x in xs])
        underflow = first([np.isfinite(x).all() and not x.any() for x in xs])
        assert summary[key]["overflow_step"] == overflow, key
        assert summary[key]["underflow_step"] == underflow, key


def test_matmul_chain_verdicts_at_seed_0():
    r = matmul_chain.run(n=48, steps=60, seed=0)
    v = {d["case"]: d["verdict"] for d in r.verdicts}
    for mode in ("fixed", "fresh"):
        assert v[f"randn/{mode}/float32"] == "overflow"
        assert v[f"small/{mode}/float32"] == "underflow"
        assert v[f"randn/{mode}/float64"] == "exploding"
        assert v[f"small/{mode}/float64"] == "vanishing"
        for dt in ("float32", "float64"):
            if mode == "fresh":
                assert v[f"lecun/{mode}/{dt}"] == "healthy"
                assert v[f"he/{mode}/{dt}"] == "healthy"
            else:
                # One fixed small matrix drifts with its top eigenvalue, but
                # never as far as the dtype's limits within 60 products.
                assert v[f"lecun/{mode}/{dt}"] not in ("overflow", "underflow")
                assert v[f"he/{mode}/{dt}"] not in ("overflow", "underflow")
    # The reported step of overflow/underflow is close to the theory's.
    for s in r.summary.records():
        if s["overflow_step"] is not None:
            assert abs(s["overflow_step"] - s["limit_step_theory"]) <= 3
        if s["underflow_step"] is not None:
            assert abs(s["underflow_step"] - s["limit_step_theory"]) <= 4


def test_matmul_chain_seed_003_numbers():
    # Seed note 003: n = 512, 100 products; randn reaches inf in float32
    # before step 100, and 0.01*randn reaches 0.
    r = matmul_chain.run(n=512, steps=100, inits=["randn", "small"], modes=["fixed"], dtype="float32")
    s = {x["init"]: x for x in r.summary.records()}
    assert 25 <= s["randn"]["overflow_step"] <= 32
    assert 65 <= s["small"]["underflow_step"] <= 75
    assert s["randn"]["rms_factor_theory"] == pytest.approx(math.sqrt(512))


def test_matmul_chain_linear_inits_are_scaled_copies():
    # Same draws for every init: in float64, small's rms is randn's * 0.01**k.
    r = matmul_chain.run(n=32, steps=30, inits=["randn", "small"], modes=["fresh"], dtype="float64")
    recs = r.table("path").records()
    big = [p["rms"] for p in recs if p["init"] == "randn"]
    small = [p["rms"] for p in recs if p["init"] == "small"]
    for k in range(31):
        assert small[k] == pytest.approx(big[k] * 0.01**k, rel=1e-9)


def test_matmul_chain_subsets_do_not_change_numbers():
    full = matmul_chain.run(n=24, steps=12, seed=3)
    part = matmul_chain.run(n=24, steps=12, seed=3, inits=["he"], modes=["fresh"], dtype=np.float32)
    fr = [p for p in full.table("path").rows if p[0] == "he" and p[1] == "fresh" and p[2] == "float32"]
    assert part.table("path").rows == fr
    assert part.settings == {"n": 24, "steps": 12, "inits": ["he"], "modes": ["fresh"],
                             "dtype": ["float32"], "seed": 3}


def test_matmul_chain_reproducible_and_thread_independent():
    a = matmul_chain.run(n=40, steps=10, seed=11, threads=1)
    b = matmul_chain.run(n=40, steps=10, seed=11, threads=2)
    c = matmul_chain.run(n=40, steps=10, seed=12)
    assert a.to_dict() == b.to_dict()
    assert a.table("path").rows != c.table("path").rows


def test_matmul_chain_large_finite_values_are_not_overflow():
    # float64 randn over 200 products at n = 64 reaches ~8**200 = 1e180:
    # finite, though its square is not; "exploding", not "overflow".
    r = matmul_chain.run(n=64, steps=200, inits=["randn"], modes=["fresh"], dtype="float64")
    s = r.summary.records()[0]
    assert s["overflow_step"] is None and s["verdict"] == "exploding"
    assert np.isfinite(s["final_std"]) and s["final_std"] > 1e150


def test_matmul_chain_progress_callback():
    calls = []
    matmul_chain.run(n=8, steps=5, modes=["fixed"], dtype="float64", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(k, 5) for k in range(1, 6)]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n=0), ValueError, "n must be >= 1, got 0"),
        (dict(n=-3), ValueError, "negative dimensions are not allowed"),
        (dict(n=2.5), TypeError, "n must be an integer"),
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(inits=["randn", "xavier2"]), ValueError, "unknown init 'xavier2'; valid: randn, small, lecun, he"),
        (dict(inits=[]), ValueError, "at least one init"),
        (dict(modes=["sometimes"]), ValueError, "unknown mode 'sometimes'; valid: fixed, fresh"),
        (dict(dtype=np.int32), TypeError, r"Unsupported dtype dtype\('int32'\) for matmul_chain"),
        (dict(seed=-1), ValueError, "expected non-negative integer"),
        (dict(seed=0.5), TypeError, "SeedSequence expects int or sequence of ints"),
        (dict(threads=0), ValueError, "n_threads must be None or a positive integer"),
    ],
)
def test_matmul_chain_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        matmul_chain.run(**{"n": 8, "steps": 2, **kwargs})


# ---------------------------------------------------------------- experiment 4 reference


def ref_zw(ns, rows, cols, repeats, gain, dtype, seed):
    out = []
    for n in ns:
        for r, rng in enumerate(fastinit.default_rng(seed).spawn(repeats)):
            W = rng.normal(0.0, math.sqrt(gain / n), size=(rows, n), dtype=dtype)
            X = rng.standard_normal((n, cols), dtype=dtype)
            Z = W @ X
            w, x, z = (a.astype(np.float64) for a in (W, X, Z))
            out.append([n, r, w.mean(), w.var(), x.mean(), x.var(), z.mean(), z.var(), (z**2).mean(),
                        np.linalg.norm(z), n * w.var() * x.var()])
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_zw_stats_matches_numpy_reference(dtype):
    kw = dict(ns=(6, 50, 300), rows=5, cols=3, repeats=4, gain=2.0, dtype=dtype, seed=5)
    r = zw_stats.run(**kw)
    ref = ref_zw(**kw)
    got = r.table("samples").rows
    assert len(got) == len(ref) == 12
    for g, e in zip(got, ref):
        assert g[:2] == e[:2]
        np.testing.assert_allclose(g[2:], e[2:], rtol=1e-12, atol=0)
    per_n = r.summary.records()
    for rec, n in zip(per_n, kw["ns"]):
        block = np.array([e for e in ref if e[0] == n], dtype=float)
        assert rec["mean_var_z"] == pytest.approx(block[:, 7].mean(), rel=1e-12)
        assert rec["mean_meansq_z"] == pytest.approx(block[:, 8].mean(), rel=1e-12)
        se = block[:, 8].std(ddof=1) / 2.0
        assert rec["se_meansq_z"] == pytest.approx(se, rel=1e-12)
        assert rec["z_score"] == pytest.approx((block[:, 8].mean() - 2.0) / se, rel=1e-9)
        assert rec["theory_var_z"] == 2.0 and rec["theory_var_w"] == pytest.approx(2.0 / n)
        assert rec["theory_norm_z"] == pytest.approx(math.sqrt(5 * 3 * 2.0))


def test_zw_stats_theory_holds_on_average():
    # Many repeats: var(Z) = n var(W) var(X) = gain within a tight band.
    r = zw_stats.run(ns=(10, 1000), rows=8, cols=8, repeats=400, gain=2.0, seed=2)
    for rec in r.summary.records():
        assert rec["verdict"] == "agrees"
        assert abs(rec["mean_meansq_z"] - 2.0) < 0.1
        assert abs(rec["mean_n_var_w"] - 2.0) < 0.1
        # The test has power: a theory off by 10% would be rejected.
        assert abs(rec["mean_meansq_z"] - 2.2) / rec["se_meansq_z"] > zw_stats.Z_LIMIT


def test_zw_stats_default_verdicts_and_gain():
    r = zw_stats.run()
    assert [v["verdict"] for v in r.verdicts] == ["agrees"] * 5
    assert r.settings["ns"] == [6, 10, 100, 1000, 10000] and r.settings["rows"] == 4
    r1 = zw_stats.run(ns=[100], gain=1.0, repeats=50, seed=4)
    assert r1.summary.records()[0]["theory_var_z"] == 1.0
    assert r1.summary.records()[0]["verdict"] == "agrees"


def test_zw_stats_per_n_numbers_independent_of_other_ns():
    a = zw_stats.run(ns=(10, 100), repeats=3, seed=9)
    b = zw_stats.run(ns=(100,), repeats=3, seed=9)
    assert [row for row in a.table("samples").rows if row[0] == 100] == b.table("samples").rows


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(ns=[10, -1]), ValueError, "negative dimensions are not allowed"),
        (dict(ns=[]), ValueError, "ns must not be empty"),
        (dict(rows=0), ValueError, "rows must be >= 1"),
        (dict(cols=-2), ValueError, "negative dimensions"),
        (dict(repeats=1), ValueError, "repeats must be >= 2"),
        (dict(gain=0.0), ValueError, "gain must be > 0"),
        (dict(gain=float("nan")), ValueError, "gain must be finite"),
        (dict(dtype="float16"), TypeError, "Unsupported dtype dtype\\('float16'\\) for zw_stats"),
        (dict(seed=-5), ValueError, "expected non-negative integer"),
    ],
)
def test_zw_stats_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        zw_stats.run(**kwargs)


# ---------------------------------------------------------------- plots


@pytest.mark.parametrize("mod, kw", [(matmul_chain, dict(n=16, steps=50)), (zw_stats, dict(ns=(6, 60), repeats=3))])
def test_plots_are_labelled_and_reproducible(mod, kw):
    pytest.importorskip("matplotlib")
    from fastinit import _report

    r = mod.run(**kw)
    blobs = []
    for _ in range(2):
        with _report.plot_context():
            figs = mod.plot(r)
            assert figs and all(isinstance(k, str) for k in figs)
            for fig in figs.values():
                for ax in fig.axes:
                    assert ax.get_ylabel()
                    # an x label on this axes or on one sharing its x axis
                    assert any(sib.get_xlabel() for sib in ax.get_shared_x_axes().get_siblings(ax))
                assert any(ax.get_legend() is not None for ax in fig.axes)
            blobs.append({k: _report.figure_bytes(f) for k, f in figs.items()})
    assert blobs[0] == blobs[1]
    for png in blobs[0].values():
        assert png.startswith(b"\x89PNG") and b"Software" not in png
