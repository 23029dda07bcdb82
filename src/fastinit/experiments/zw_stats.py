"""Experiment 4: statistics of Z = W @ X (seed note 002).

``W ~ N(0, gain / n)`` of shape (rows, n) -- He init for ``gain = 2`` -- and
``X ~ N(0, 1)`` of shape (n, cols); the seed note asks whether such a ``W``
keeps ``Z`` "not too much bigger than 1 and not too much less than 1". For
every n and repeat it records mean, variance and norm of W, X and Z, as the
note's code prints them, and compares with

    var(Z) = n * var(W) * var(X) = gain,    E |Z|_F^2 = rows * cols * gain.

The verdict tests the unbiased estimate ``mean(Z**2)`` (the mean of Z is 0 in
theory) against ``gain``; the ``var_z`` columns are ``np.var`` as in the note,
which in small matrices sits slightly below it because the sample mean is
subtracted.

Random numbers: for every n, ``children = fastinit.default_rng(seed).spawn(repeats)``;
repeat r draws ``W = children[r].normal(0.0, sqrt(gain / n), (rows, n), dtype)``
and then ``X = children[r].standard_normal((n, cols), dtype)``. The numbers of
one n do not depend on which other n are run.
"""

from __future__ import annotations

import math

import numpy as np

from fastinit._report import init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    check_n_threads,
    finite_float,
    float_dtype,
    int_list,
    no_progress,
    positive_int,
)

NAME = "zw-stats"
TITLE = "Z = W.X statistics"

#: |mean of mean(Z**2) - gain| within this many standard errors: "agrees".
Z_LIMIT = 5.0

QUICK = {"ns": (10, 100), "repeats": 6}

SAMPLE_COLUMNS = ["n", "repeat", "mean_w", "var_w", "mean_x", "var_x", "mean_z", "var_z",
                  "meansq_z", "norm_z", "predicted_var_z"]


def _stats(W, X, Z, n):
    w, x, z = (np.asarray(a, dtype=np.float64) for a in (W, X, Z))
    var_w, var_x = float(np.var(w)), float(np.var(x))
    return [float(np.mean(w)), var_w, float(np.mean(x)), var_x, float(np.mean(z)), float(np.var(z)),
            float(np.mean(np.square(z))), float(np.linalg.norm(z)), n * var_w * var_x]


def run(*, ns=(6, 10, 100, 1000, 10000), rows=4, cols=4, repeats=20, gain=2.0, dtype="float64",
        seed=0, threads=None, progress=None):
    """Sample ``Z = W @ X`` with ``W ~ N(0, gain/n)``, ``X ~ N(0, 1)`` and compare with theory.

    Parameters
    ----------
    ns : sequence of int, optional
        Inner dimensions n (W is rows x n, X is n x cols).
    rows, cols : int, optional
        Shape of Z; the seed note uses 4 x 4.
    repeats : int, optional
        Independent samples per n (at least 2, for a standard error).
    gain : float, optional
        ``var(W) = gain / n``; 2 is He init.
    dtype : {"float64", "float32"}, optional
        Type of W, X and Z; statistics are computed in float64.
    seed : int, optional
        Seed of ``fastinit.default_rng``.
    threads : int, optional
        Threads of the random-number generator (the numbers do not depend on it).
    progress : callable, optional
        Called as ``progress(done, total)`` after each sample.

    Returns
    -------
    ExperimentResult
        Tables ``per_n`` (averages over repeats, theory, verdict) and
        ``samples`` (one row per n and repeat, the note's printout).

    Raises
    ------
    ValueError
        If a size is below 1, `repeats` below 2, or `gain` not positive and finite.
    TypeError
        If `dtype` is not float32 or float64.

    Examples
    --------
    >>> r = run(ns=[10], repeats=50, seed=1)
    >>> r.summary.records()[0]["verdict"]
    'agrees'
    """
    import fastinit

    ns = int_list(ns, "ns")
    rows = positive_int(rows, "rows")
    cols = positive_int(cols, "cols")
    repeats = positive_int(repeats, "repeats", minimum=2)
    gain = finite_float(gain, "gain", positive=True)
    dt = float_dtype(dtype, "zw_stats")
    check_n_threads(threads)
    fastinit.default_rng(seed)  # checks the seed in NumPy's words before any work
    progress = progress or no_progress

    samples = []
    total, done = len(ns) * repeats, 0
    for n in ns:
        children = fastinit.default_rng(seed).spawn(repeats)
        for r, rng in enumerate(children):
            W = rng.normal(0.0, math.sqrt(gain / n), size=(rows, n), dtype=dt, n_threads=threads)
            X = rng.standard_normal((n, cols), dtype=dt, n_threads=threads)
            Z = W @ X
            samples.append([n, r] + _stats(W, X, Z, n))
            done += 1
            progress(done, total)

    per_n, verdicts = [], []
    c = {name: i for i, name in enumerate(SAMPLE_COLUMNS)}
    theory_norm = math.sqrt(rows * cols * gain)
    for n in ns:
        block = np.array([s for s in samples if s[0] == n], dtype=np.float64)
        col = lambda name: block[:, c[name]]  # noqa: E731
        msq = col("meansq_z")
        se = float(np.std(msq, ddof=1) / math.sqrt(repeats))
        diff = float(np.mean(msq)) - gain
        zscore = diff / se if se > 0 else math.inf
        verdict = "agrees" if abs(zscore) <= Z_LIMIT else "disagrees"
        per_n.append([
            n, verdict, repeats, float(np.mean(col("var_w"))), float(np.mean(n * col("var_w"))), gain / n,
            float(np.mean(col("var_x"))), float(np.mean(col("var_z"))), float(np.std(col("var_z"), ddof=1)),
            float(np.mean(msq)), se, gain, zscore, float(np.mean(col("norm_z"))), theory_norm,
        ])
        verdicts.append({"case": f"n={n}", "verdict": verdict,
                         "reason": f"mean(Z^2) = {np.mean(msq):.4g} vs {gain:g}, {zscore:+.2f} standard errors"})

    summary = Table(
        ["n", "verdict", "repeats", "mean_var_w", "mean_n_var_w", "theory_var_w", "mean_var_x", "mean_var_z",
         "sd_var_z", "mean_meansq_z", "se_meansq_z", "theory_var_z", "z_score", "mean_norm_z",
         "theory_norm_z"],
        per_n,
        caption=f"Z = W @ X with W ~ N(0, {gain:g}/n) ({rows} x n), X ~ N(0, 1) (n x {cols}): "
                f"averages over {repeats} samples per n",
        units={"z_score": "standard errors of mean(Z^2) from theory",
               "theory_var_z": "n * var(W) * var(X) = gain"},
    )
    sample_table = Table(SAMPLE_COLUMNS, samples,
                         caption="every sample: the statistics the seed note prints, plus mean(Z^2) "
                                 "and n var(W) var(X) from the measured variances")
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"ns": ns, "rows": rows, "cols": cols, "repeats": repeats, "gain": gain,
                  "dtype": dt.name, "seed": seed},
        tables={"per_n": summary, "samples": sample_table},
        verdicts=verdicts,
        criteria=(f"agrees if the mean over repeats of mean(Z^2) is within {Z_LIMIT:g} standard errors "
                  f"of n var(W) var(X) = gain = {gain:g} (the mean of Z is 0, so mean(Z^2) estimates "
                  "var(Z) without bias); otherwise disagrees"),
        description=(
            "Seed 002 asks whether W drawn from N(0, 2/n), whose entries are mostly well below 1, "
            "really keeps Z = W X on the scale of 1. Each entry of Z sums n products, so "
            "var(Z) = n var(W) var(X): the 1/n in var(W) cancels the n terms and var(Z) = 2 for "
            "every n, while the entries of W shrink as 1/sqrt(n). A single small sample (4 x 4, as in "
            "the note) scatters widely around 2; the average over repeats does not."
        ),
        data={"gain": gain, "rows": rows, "cols": cols},
    )


def plot(result):
    """One figure, three panels against n (log scale): var(Z), n var(W), |Z|.

    Dots are single samples (slightly spread sideways), bars the mean with
    two standard errors, the dashed line the theory.
    """
    s = result.settings
    gain = s["gain"]
    t = result.table("samples")
    n = np.asarray(t.column("n"), dtype=float)
    rep = np.asarray(t.column("repeat"), dtype=float)
    jitter = 1.0 + 0.06 * (rep / max(1, s["repeats"] - 1) - 0.5)
    color = init_color("he" if gain == 2.0 else "random")
    panels = [
        ("var_z", "var(Z) (np.var)", gain, "var(Z) = n var(W) var(X)"),
        ("n_var_w", "n * var(W)", gain, "n var(W) = gain"),
        ("norm_z", "Frobenius norm of Z", math.sqrt(s["rows"] * s["cols"] * gain), "sqrt(rows cols gain)"),
    ]
    fig, axes = new_figure(1, 3, figsize=(14.0, 4.0))
    for ax, (key, ylabel, theory, tlabel) in zip(axes, panels):
        y = n * np.asarray(t.column("var_w")) if key == "n_var_w" else np.asarray(t.column(key), dtype=float)
        ax.scatter(n * jitter, y, s=10, color=color, alpha=0.45, label="one sample")
        ns = np.asarray(s["ns"], dtype=float)
        means = np.array([y[n == v].mean() for v in ns])
        ses = np.array([y[n == v].std(ddof=1) / math.sqrt((n == v).sum()) for v in ns])
        ax.errorbar(ns, means, yerr=2 * ses, fmt="o", color="black", ms=5, capsize=4, label="mean +- 2 s.e.")
        ax.axhline(theory, color="0.3", ls="--", lw=1, label=f"theory: {tlabel}")
        ax.set_xscale("log")
        ax.set_xlabel("n (inner dimension, log scale)")
        ax.set_ylabel(ylabel)
    axes[0].legend(loc="best")
    fig.suptitle(f"Z = W X, W ~ N(0, {gain:g}/n) of {s['rows']} x n, X ~ N(0, 1) of n x {s['cols']}, "
                 f"{s['repeats']} samples per n, {s['dtype']}", fontsize="medium")
    return {"zw_stats": fig}


def add_arguments(parser):
    """Command-line flags of ``fastinit zw-stats`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_float, arg_int, arg_int_list

    parser.add_argument("--ns", type=arg_int_list(1), metavar="LIST",
                        help="comma-separated inner dimensions n (default 6,10,100,1000,10000)")
    parser.add_argument("--rows", type=arg_int(1), metavar="R", help="rows of W and Z (default 4)")
    parser.add_argument("--cols", type=arg_int(1), metavar="C", help="columns of X and Z (default 4)")
    parser.add_argument("--repeats", type=arg_int(2), metavar="R", help="samples per n (default 20)")
    parser.add_argument("--gain", type=arg_float(positive=True), metavar="G",
                        help="var(W) = G/n; 2 is He init (default 2)")
