"""Experiment 2: a hundred matrix products (seed note 003).

``x = a @ x`` repeated `steps` times, from ``x ~ N(0, 1)`` of length `n`,
with one fixed matrix ``a`` or a fresh one at every step, for four scales of
``a = randn(n, n) * scale``:

========  ====================  ====================================
init      scale                 after each product
========  ====================  ====================================
randn     1                     (linear)
small     0.01                  (linear)
lecun     1 / sqrt(n)           (linear) -- the lesson's "Xavier"
he        sqrt(2 / n)           ReLU -- Kaiming init with ReLU
========  ====================  ====================================

in float32 and float64. Each step multiplies the root mean square of ``x``
by about ``sqrt(n) * scale`` (``/ sqrt(2)`` after a ReLU), so randn overflows
to inf/NaN and small underflows to 0 after a number of steps that depends on
the floating type, while lecun and he keep ``x`` on its scale.

Random numbers: ``children = fastinit.default_rng(seed).spawn(4)``; the case
(mode, dtype) uses ``children[2 * MODES.index(mode) + DTYPES.index(dtype)]``,
which draws ``x0 = standard_normal(n, dtype)`` and then the matrices
(one, or one per step) with ``standard_normal((n, n), dtype)``. All inits of
a case share those draws, so their paths differ only by the scale (and the
ReLU): changing `inits` does not change any number of the other inits.
"""

from __future__ import annotations

import math

import numpy as np

from fastinit._report import init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    check_n_threads,
    DTYPES,
    choices,
    dtype_list,
    no_progress,
    positive_int,
    stats64,
)

NAME = "matmul-chain"
TITLE = "A hundred matrix products"

#: init name -> (scale as a function of n, activation after the product)
INITS = {
    "randn": (lambda n: 1.0, "linear"),
    "small": (lambda n: 0.01, "linear"),
    "lecun": (lambda n: 1.0 / math.sqrt(n), "linear"),
    "he": (lambda n: math.sqrt(2.0 / n), "relu"),
}
INIT_LABELS = {
    "randn": "randn",
    "small": "randn*0.01",
    "lecun": "randn/sqrt(n)",
    "he": "randn*sqrt(2/n), ReLU",
}
MODES = ("fixed", "fresh")

#: A path whose final rms is this many times above/below its start is
#: exploding/vanishing (when no value overflowed or underflowed).
RATIO = 1e3

QUICK = {"n": 64, "steps": 40}

CRITERIA = (
    "overflow: some value of x is inf or NaN after step k (k reported); "
    "underflow: every value of x is exactly 0 after step k; otherwise, with r the "
    f"ratio of the final to the initial root mean square of x: exploding if r > {RATIO:g}, "
    f"vanishing if r < 1/{RATIO:g}, healthy in between. Statistics are accumulated in float64."
)


def _cases(inits, modes, dtypes):
    return [(i, m, d) for m in modes for d in dtypes for i in inits]


def _key(init, mode, dtype):
    return f"{init}/{mode}/{dtype}"


def _theory_steps(rms0, factor, dtype):
    """Steps until the rms passes the largest finite value / smallest subnormal.

    None when the factor is 1 (to rounding): the scale then neither grows
    nor shrinks in theory.
    """
    fi = np.finfo(dtype)
    if abs(factor - 1.0) < 1e-9:
        return None
    limit = float(fi.max) if factor > 1.0 else float(fi.smallest_subnormal)
    # In logarithms: limit / rms0 itself can overflow.
    return math.ceil((math.log(limit) - math.log(rms0)) / math.log(factor))


def run(*, n=512, steps=100, inits=tuple(INITS), modes=MODES, dtype=None, seed=0, threads=None,
        progress=None):
    """Repeat ``x = a @ x`` and record where the values overflow or underflow.

    Parameters
    ----------
    n : int, optional
        Length of ``x``; ``a`` is n x n.
    steps : int, optional
        Number of products.
    inits : sequence of {"randn", "small", "lecun", "he"}, optional
        Scales of ``a`` (see the module docstring); "he" adds a ReLU.
    modes : sequence of {"fixed", "fresh"}, optional
        One matrix for all steps, or a new one at every step.
    dtype : None, float32, float64 or a sequence of them, optional
        Floating types to run; None runs both.
    seed : int, optional
        Seed of ``fastinit.default_rng``.
    threads : int, optional
        Threads of the random-number generator (the numbers do not depend on it).
    progress : callable, optional
        Called as ``progress(done, total)`` after each step of each case.

    Returns
    -------
    ExperimentResult
        Tables ``summary`` (one row per init, mode and dtype: the step of
        overflow or underflow, the rms growth per step measured and in
        theory, the verdict) and ``path`` (mean, std and rms of x at every
        step, step 0 being the input).

    Raises
    ------
    ValueError
        If `n` or `steps` is below 1, or an init or mode is unknown.
    TypeError
        If a dtype is not float32 or float64.

    Examples
    --------
    >>> r = run(n=64, steps=40, inits=["randn"], modes=["fixed"], dtype="float32")
    >>> r.summary.records()[0]["verdict"]
    'exploding'
    """
    import fastinit

    n = positive_int(n, "n")
    steps = positive_int(steps, "steps")
    inits = choices(inits, tuple(INITS), "init")
    modes = choices(modes, MODES, "mode")
    dtypes = dtype_list(dtype, "matmul_chain")
    check_n_threads(threads)
    # default_rng checks the seed in NumPy's words before any work is done.
    children = fastinit.default_rng(seed).spawn(len(MODES) * len(DTYPES))
    progress = progress or no_progress
    paths = {}
    total = len(modes) * len(dtypes) * steps
    done = 0
    for mode in modes:
        for dt_name in dtypes:
            dt = np.dtype(dt_name)
            rng = children[len(DTYPES) * MODES.index(mode) + DTYPES.index(dt_name)]
            x0 = rng.standard_normal(n, dtype=dt, n_threads=threads)
            scales = {i: dt.type(INITS[i][0](n)) for i in inits}
            xs = {i: x0.copy() for i in inits}
            rec = {i: np.empty((steps + 1, 5)) for i in inits}
            for i in inits:
                rec[i][0] = stats64(x0)
            a = np.empty((n, n), dtype=dt)
            if mode == "fixed":
                rng.standard_normal(dtype=dt, out=a, n_threads=threads)
                fixed = {i: a * scales[i] for i in inits}
            with np.errstate(all="ignore"):
                for k in range(1, steps + 1):
                    if mode == "fresh":
                        rng.standard_normal(dtype=dt, out=a, n_threads=threads)
                    for i in inits:
                        w = fixed[i] if mode == "fixed" else a * scales[i]
                        y = w @ xs[i]
                        if INITS[i][1] == "relu":
                            y = np.maximum(y, dt.type(0))
                        xs[i] = y
                        rec[i][k] = stats64(y)
                    done += 1
                    progress(done, total)
            for i in inits:
                paths[_key(i, mode, dt_name)] = {
                    "mean": rec[i][:, 0], "std": rec[i][:, 1], "rms": rec[i][:, 2],
                    "finite": rec[i][:, 3].astype(bool), "zero": rec[i][:, 4].astype(bool),
                }

    summary_rows, path_rows, verdicts = [], [], []
    for init, mode, dt_name in _cases(inits, modes, dtypes):
        p = paths[_key(init, mode, dt_name)]
        rms = p["rms"]
        bad = ~p["finite"]
        overflow = int(np.argmax(bad)) if bad.any() else None
        zero = p["zero"]
        underflow = int(np.argmax(zero)) if zero.any() else None
        last = overflow - 1 if overflow is not None else steps
        if underflow is not None:
            last = min(last, underflow - 1)
        factor = float((rms[last] / rms[0]) ** (1.0 / last)) if last >= 1 else None
        scale = float(INITS[init][0](n))
        # E|a x|^2 = n scale^2 |x|^2 per product; a ReLU keeps half of it.
        theory = math.sqrt(n / (2.0 if INITS[init][1] == "relu" else 1.0)) * scale
        ratio = rms[steps] / rms[0] if overflow is None and underflow is None else None
        if overflow is not None:
            verdict, reason = "overflow", f"inf/NaN after step {overflow}"
        elif underflow is not None:
            verdict, reason = "underflow", f"all values 0 after step {underflow}"
        elif ratio > RATIO:
            verdict, reason = "exploding", f"rms grew {ratio:.3g}-fold in {steps} steps"
        elif ratio < 1.0 / RATIO:
            verdict, reason = "vanishing", f"rms shrank to {ratio:.3g} of its start in {steps} steps"
        else:
            verdict, reason = "healthy", f"rms ratio {ratio:.3g} after {steps} steps"
        summary_rows.append([
            init, mode, dt_name, verdict, overflow, underflow, _theory_steps(float(rms[0]), theory, dt_name),
            factor, theory, scale, INITS[init][1], float(p["mean"][steps]), float(p["std"][steps]),
        ])
        verdicts.append({"case": _key(init, mode, dt_name), "verdict": verdict, "reason": reason})
        for k in range(steps + 1):
            path_rows.append([init, mode, dt_name, k, float(p["mean"][k]), float(p["std"][k]), float(rms[k])])

    summary = Table(
        ["init", "mode", "dtype", "verdict", "overflow_step", "underflow_step", "limit_step_theory",
         "rms_factor", "rms_factor_theory", "scale", "activation", "final_mean", "final_std"],
        summary_rows,
        caption=f"x = a @ x, {steps} products, n = {n}: where values overflow or underflow",
        units={"overflow_step": "products", "underflow_step": "products",
               "rms_factor": "x per product (geometric mean over finite steps)",
               "rms_factor_theory": "x per product: sqrt(n)*scale (/sqrt(2) after ReLU)",
               "limit_step_theory": "products until the theoretical rms passes the dtype's max or "
                                    "smallest subnormal (none if the factor is 1)"},
    )
    path = Table(
        ["init", "mode", "dtype", "step", "mean", "std", "rms"], path_rows,
        caption="mean, standard deviation and root mean square of x after each product (step 0 = input)",
        units={"step": "products"},
    )
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"n": n, "steps": steps, "inits": inits, "modes": modes, "dtype": dtypes, "seed": seed},
        tables={"summary": summary, "path": path},
        verdicts=verdicts,
        criteria=CRITERIA,
        description=(
            "Seed 003 multiplies a vector of 512 standard normal values by a 512 x 512 matrix a hundred "
            "times. With unscaled randn weights the values reach infinity within a hundred products; "
            "scaled by 0.01 they reach zero; scaled by 1/sqrt(n) (Xavier/LeCun), or by sqrt(2/n) with a "
            "ReLU after each product (Kaiming/He), they keep their scale. The step at which float32 and "
            "float64 give out is where the rms, multiplied by sqrt(n)*scale per product, passes the "
            "type's largest or smallest representable value. With one fixed matrix the path follows "
            "that matrix's largest eigenvalues, so at small n even the right scale can drift by orders "
            "of magnitude; a fresh matrix per step averages this out."
        ),
        data={},
    )


def _log_limits(values, fi):
    """y limits (powers of ten) around positive finite `values`, inside the dtype's range."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size == 0:
        return 1e-1, 1e1
    lo = max(math.floor(math.log10(v.min())) - 1, -323)
    hi = min(math.ceil(math.log10(v.max())) + 1, 308)
    return 10.0 ** lo, 10.0 ** hi


def plot(result):
    """One figure: std (solid) and |mean| (dotted) of x per step, log scale.

    A panel per mode (rows) and dtype (columns); a cross marks the last
    finite value before an overflow, a triangle the last non-zero value
    before an underflow; dashed grey lines are the dtype's largest finite
    value and smallest subnormal, where the data come near them.
    """
    s = result.settings
    modes, dtypes, inits = s["modes"], s["dtype"], s["inits"]
    fig, axes = new_figure(len(modes), len(dtypes), squeeze=False, sharex=True,
                           figsize=(5.0 * len(dtypes) + 0.5, 3.6 * len(modes) + 0.6))
    summary = {(r["init"], r["mode"], r["dtype"]): r for r in result.summary.records()}
    path = result.table("path")
    key_cols = list(zip(path.column("init"), path.column("mode"), path.column("dtype")))
    std_all = np.asarray(path.column("std"), dtype=float)
    mean_all = np.abs(np.asarray(path.column("mean"), dtype=float))
    for a_i, mode in enumerate(modes):
        for d_i, dt_name in enumerate(dtypes):
            ax = axes[a_i][d_i]
            fi = np.finfo(dt_name)
            shown = []
            for init in inits:
                sel = np.array([kc == (init, mode, dt_name) for kc in key_cols])
                std, mean = std_all[sel], mean_all[sel]
                k = np.arange(std.size)
                c = init_color(init)
                with np.errstate(invalid="ignore"):
                    ok = np.isfinite(std) & (std > 0)
                    okm = np.isfinite(mean) & (mean > 0)
                ax.plot(k[ok], std[ok], color=c, lw=1.6, label=INIT_LABELS[init])
                ax.plot(k[okm], mean[okm], color=c, lw=0.8, ls=":", alpha=0.7)
                shown.append(std[ok])
                row = summary[(init, mode, dt_name)]
                ov, un = row["overflow_step"], row["underflow_step"]
                if ov is not None and ov >= 1 and ok[ov - 1]:
                    ax.plot([ov - 1], [std[ov - 1]], marker="X", ms=9, color=c, ls="none")
                if un is not None and un >= 1 and ok[un - 1]:
                    ax.plot([un - 1], [std[un - 1]], marker="v", ms=8, color=c, ls="none")
            lo, hi = _log_limits(np.concatenate(shown), fi)
            for limit in (float(fi.max), float(fi.smallest_subnormal)):
                if lo <= limit <= hi * 10:
                    ax.axhline(limit, color="0.5", ls="--", lw=0.8)
            ax.set_yscale("log")
            ax.set_ylim(lo, hi)
            ax.set_title(f"{'one fixed a' if mode == 'fixed' else 'fresh a each step'}, {dt_name}")
            if a_i == len(modes) - 1:
                ax.set_xlabel("number of products k")
            ax.set_ylabel("std of x (solid), |mean| (dotted)")
    axes[0][0].legend(loc="best", title="a =")
    fig.suptitle(f"x = a @ x, n = {s['n']}. X: inf/NaN at the next product; v: all zero at the next product; "
                 "dashed: largest finite / smallest subnormal value of the dtype", fontsize="medium")
    return {"matmul_chain_std": fig}


def add_arguments(parser):
    """Command-line flags of ``fastinit matmul-chain`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_int, arg_names

    parser.add_argument("--n", type=arg_int(1), metavar="N", help="length of x; a is N x N (default 512)")
    parser.add_argument("--steps", type=arg_int(1), metavar="K", help="number of products (default 100)")
    parser.add_argument("--inits", type=arg_names(tuple(INITS), "init"), metavar="LIST",
                        help=f"comma-separated scales of a from {','.join(INITS)} (default all)")
    parser.add_argument("--modes", type=arg_names(MODES, "mode"), metavar="LIST",
                        help="fixed (one a) and/or fresh (new a each step) (default both)")
