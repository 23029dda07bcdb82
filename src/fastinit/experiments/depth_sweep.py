"""Experiment 6: the verdicts of experiment 1 as depth grows from 2 to 1,000.

One forward run per init and activation, ``fastinit.simulate(max_depth, width, batch=batch,
activation=..., init=..., seed=seed, backward=False)``, gives the verdict of every shorter depth
at once: layer ``d``'s activations depend only on the layers below it, so the first ``d``
layers of the deep run *are* a depth-``d`` network (the same weights, streams and input). The
verdict of depth ``d`` is :func:`fastinit.experiments.deep_stack.forward_verdict` applied to
layer ``d`` (experiment 1's forward criterion; the backward criterion needs a backward pass per
depth, because the gradient of a depth-``d`` network starts at its own top layer, and is left
out).

Glorot's ``2/(fan_in + fan_out)`` equals LeCun's ``1/fan_in`` on these square layers, so it is
not run by default.
"""

from __future__ import annotations

import numpy as np

from fastinit._report import VERDICT_COLORS, init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    choices,
    float_dtype,
    int_list,
    no_progress,
    positive_int,
    small_layer_threads,
)
from fastinit.experiments.deep_stack import (
    ACTIVATIONS,
    FORWARD_CRITERIA,
    INITS,
    SATURATION,
    forward_stats,
    forward_verdict,
)

NAME = "depth-sweep"
TITLE = "Depth sweep of the deep-stack verdicts"

DEFAULT_DEPTHS = (2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000)
VERDICT_ORDER = ("healthy", "vanishing", "exploding", "saturated", "dead", "underflow", "overflow")

QUICK = {"depths": (2, 5, 10, 30, 100), "width": 32, "batch": 32}


def run(*, depths=DEFAULT_DEPTHS, width=128, batch=128, inits=("small", "randn", "lecun", "he"),
        activations=ACTIVATIONS, dtype="float32", seed=0, threads=None, progress=None):
    """Forward verdicts of experiment 1 for every depth, from one deep run per case.

    Parameters
    ----------
    depths : sequence of int, optional
        Depths to judge (each >= 1); the run goes to the largest.
    width : int, optional
        Units of the input and of every layer.
    batch : int, optional
        Examples in the batch.
    inits : sequence of {"small", "randn", "lecun", "he", "glorot"}, optional
    activations : sequence of {"tanh", "sigmoid", "relu"}, optional
    dtype : {"float32", "float64"}, optional
        Type of weights and activations (statistics in float64).
    seed : int, optional
        Key of every stream; all cases share it.
    threads : int, optional
        Threads of the engine (default 1 for these small layers; the numbers do not depend on it).
    progress : callable, optional
        ``progress(done, total)`` after each deep run.

    Returns
    -------
    ExperimentResult
        Tables ``verdicts`` (one row per init and activation, one column per depth),
        ``cells`` (one row per case and depth: verdict, std ratio, saturated and dead fractions)
        and ``layers`` (std of the activations at every layer of every run).

    Raises
    ------
    ValueError
        A size below 1, an unknown init or activation.
    TypeError
        A dtype other than float32 or float64.

    Examples
    --------
    >>> r = run(depths=[2, 50], width=32, batch=32, inits=["small"], activations=["tanh"])
    >>> r.summary.rows[0][2:]
    ['healthy', 'vanishing']
    """
    import fastinit
    from fastinit.stack import simulate

    depths = sorted(set(int_list(depths, "depths")))
    width = positive_int(width, "width")
    batch = positive_int(batch, "batch")
    inits = choices(inits, tuple(INITS), "init")
    activations = choices(activations, ACTIVATIONS, "activation")
    dt = float_dtype(dtype, "depth_sweep")
    threads = small_layer_threads(threads)
    fastinit.default_rng(seed)  # checks the seed in NumPy's words before any work
    progress = progress or no_progress
    max_depth = depths[-1]

    rows, cells, layer_rows, verdicts = [], [], [], []
    total, done = len(inits) * len(activations), 0
    for act in activations:
        for init in inits:
            res = simulate(max_depth, width, batch=batch, activation=act, init=init, seed=seed, backward=False,
                           dtype=dt, errors="ignore", n_threads=threads, saturation=SATURATION)
            st = forward_stats(res)
            row = [init, act]
            for d in depths:
                v, reason = forward_verdict(st, d, res.first_nonfinite_layer, act)
                s0, sd = st["act_std"][0], st["act_std"][d - 1]
                with np.errstate(all="ignore"):
                    ratio = float(sd / s0) if s0 > 0 else None
                row.append(v)
                cells.append([init, act, d, v, ratio, float(st["act_frac_saturated"][d - 1]),
                              float(st["act_frac_dead"][d - 1]), reason])
                verdicts.append({"case": f"{init}/{act}/depth {d}", "verdict": v, "reason": reason})
            rows.append(row)
            for li in range(max_depth):
                layer_rows.append([init, act, li + 1, float(st["act_std"][li])])
            done += 1
            progress(done, total)

    table = Table(["init", "activation"] + [f"depth_{d}" for d in depths], rows,
                  caption=f"forward verdict of the first d layers, width {width}, batch {batch}, {dt.name}, "
                          f"from one {max_depth}-layer run per row")
    cell_table = Table(["init", "activation", "depth", "verdict", "std_ratio", "saturated", "dead", "reason"], cells,
                       caption="every case and depth", units={"std_ratio": "std(h_d) / std(h_1)",
                                                              "saturated": "fraction of h_d's values",
                                                              "dead": "fraction of layer d's units"})
    layers = Table(["init", "activation", "layer", "act_std"], layer_rows,
                   caption="std of the activations at every layer of each deep run",
                   units={"act_std": "std of h_l"})
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"depths": depths, "width": width, "batch": batch, "inits": inits, "activations": activations,
                  "dtype": dt.name, "seed": seed},
        tables={"verdicts": table, "cells": cell_table, "layers": layers},
        verdicts=verdicts,
        criteria="Experiment 1's forward criterion, applied to layer d as the top of a depth-d network: "
                 + FORWARD_CRITERIA,
        description=(
            "Experiment 1 judges 10 layers; here the same forward verdicts are followed to 1,000 layers. "
            "The deep run of each case is computed once and every prefix of it is a shallower network with "
            "the same weights, so each row costs one pass. With tanh and ReLU 0.01*randn vanishes within a "
            "few layers and reaches exact zero (underflow) in float32 (sigmoid's output stays near 1/2: its "
            "forward verdict is healthy, its gradient vanishes, experiment 3); 1.0*randn saturates tanh and sigmoid at once and "
            "overflows ReLU; randn/sqrt(fan_in) lets a ReLU stack's variance halve per layer; He keeps the "
            "scale of ReLU but, with no bias, the batch's examples grow alike with depth, until more and more "
            "units are 0 for every example (dead). Tanh with randn/sqrt(fan_in) shrinks slowly, like "
            "1/sqrt(layer), and crosses the vanishing line only deep down."
        ),
        data={},
    )


def plot(result):
    """``depth_sweep``: heat map of the verdicts (cases x depths); ``depth_sweep_std``: the std of
    the activations at every layer of each deep run (log-log), one panel per activation."""
    s = result.settings
    t = result.table("verdicts")
    depths = s["depths"]
    present = [v for v in VERDICT_ORDER if any(v in r[2:] for r in t.rows)]
    code = {v: i for i, v in enumerate(present)}
    grid = np.array([[code[v] for v in r[2:]] for r in t.rows], dtype=float)
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap([VERDICT_COLORS[v][0] for v in present])
    fig, ax = new_figure(1, 1, figsize=(1.0 + 0.72 * len(depths) + 2.2, 0.9 + 0.36 * len(t.rows) + 1.2))
    ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(present) - 0.5, aspect="auto", interpolation="nearest")
    for i, r in enumerate(t.rows):
        for j, v in enumerate(r[2:]):
            ax.text(j, i, v, ha="center", va="center", fontsize=6.5, color=VERDICT_COLORS[v][1])
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_yticks(range(len(t.rows)), [f"{r[1]}, {r[0]}" for r in t.rows])
    for lbl, r in zip(ax.get_yticklabels(), t.rows):
        lbl.set_color(init_color(r[0]))
    ax.set_xlabel("depth d (layers)")
    ax.set_ylabel("activation, init (label colour = init)")
    ax.grid(False)
    ax.legend(handles=[Patch(facecolor=VERDICT_COLORS[v][0], edgecolor="0.5", label=v) for v in present],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")
    ax.set_title(f"Forward verdict of the first d layers (width {s['width']}, batch {s['batch']}, {s['dtype']}; "
                 f"one {depths[-1]}-layer run per row)", fontsize="medium")

    recs = result.table("layers").records()
    acts = s["activations"]
    fig2, axes = new_figure(1, len(acts), squeeze=False, figsize=(4.4 * len(acts) + 0.6, 4.4))
    for j, act in enumerate(acts):
        a = axes[0][j]
        for init in s["inits"]:
            rr = [r for r in recs if r["activation"] == act and r["init"] == init]
            y = np.array([r["act_std"] for r in rr], dtype=float)
            with np.errstate(invalid="ignore"):
                y[~(np.isfinite(y) & (y > 0))] = np.nan
            a.plot([r["layer"] for r in rr], y, color=init_color(init), lw=1.6, label=init)
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("layer l (log scale)")
        a.set_ylabel("std of activations h_l")
        a.set_title(act)
        a.legend(loc="best", title="init")
    fig2.suptitle("Activation scale through the deep runs (lines end where values become exactly 0 or "
                  "non-finite)", fontsize="medium")
    return {"depth_sweep": fig, "depth_sweep_std": fig2}


def add_arguments(parser):
    """Command-line flags of ``fastinit depth-sweep`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_int, arg_int_list, arg_names

    parser.add_argument("--depths", type=arg_int_list(1), metavar="LIST",
                        help="comma-separated depths (default 2,3,5,10,20,30,50,100,200,300,500,1000)")
    parser.add_argument("--width", type=arg_int(1), metavar="N", help="units per layer (default 128)")
    parser.add_argument("--batch", type=arg_int(1), metavar="B", help="examples in the batch (default 128)")
    parser.add_argument("--inits", type=arg_names(tuple(INITS), "init"), metavar="LIST",
                        help="comma-separated inits (default small,randn,lecun,he)")
    parser.add_argument("--activations", type=arg_names(ACTIVATIONS, "activation"), metavar="LIST",
                        help=f"comma-separated activations from {','.join(ACTIVATIONS)} (default all)")
