"""Experiment 1: init x activation through a deep stack (seed note 001, CS231n lecture 6).

The lecture's experiment: a batch of 1000 inputs ``x ~ N(0, 1)`` through 10 layers of 500 units,
``h_l = phi(h_{l-1} W_l)`` without biases, for five weight scales and three activations, with the
mean and standard deviation of every layer's activations, their histograms, and the gradients
flowing back. The five inits (weights ``(fan_in, fan_out)``):

==========  ==============================  ===========================================
init        W =                             name in the lecture / seed notes
==========  ==============================  ===========================================
small       0.01 * randn                    "small random numbers"
randn       1.0 * randn                     (large weights)
lecun       randn / sqrt(fan_in)            the lecture's "Xavier" (LeCun)
he          randn / sqrt(fan_in / 2)        He et al. 2015
glorot      randn * sqrt(2 / (in + out))    Glorot & Bengio 2010 ("normalized" Xavier)
==========  ==============================  ===========================================

On square layers ``2 / (n + n) = 1 / n``: Glorot *is* LeCun there (the same weights, so the
same numbers; the Glorot rows of the square stack are copies, not reruns). Where the widths
change they differ, so both also run on a *funnel*: widths going geometrically from
``funnel[0]`` to ``funnel[1]`` over the same depth. There LeCun keeps the forward variance while
the gradients shrink by ``fan_out / fan_in`` per layer, and Glorot splits the difference.

The backward pass starts from a standard-normal ``dL/dh_L`` (the loss ``sum(g * h_L)``, the
``"normal"`` loss of :func:`fastinit.simulate`), so no direction is preferred.

Random numbers: every case is ``fastinit.simulate(depth, widths, batch=batch, activation=...,
init=..., seed=seed, loss="normal", backward=True)``. All cases share the seed, so they share
the input batch (stream ``inputs``), the upstream gradient and the normal draws behind every
weight matrix (stream ``weights`` of each layer): the inits of one stack differ only by scale.
"""

from __future__ import annotations

import math

import numpy as np

from fastinit._report import init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    check_n_threads,
    choices,
    float_dtype,
    int_list,
    no_progress,
    positive_int,
)

NAME = "deep-stack"
TITLE = "Init x activation through a deep stack"

#: init name (as fastinit.init knows it) -> label in tables and figures
INITS = {
    "small": "0.01*randn",
    "randn": "1.0*randn",
    "lecun": "randn/sqrt(fan_in) (lecture's Xavier)",
    "he": "randn/sqrt(fan_in/2) (He)",
    "glorot": "randn*sqrt(2/(in+out)) (Glorot)",
}
ACTIVATIONS = ("tanh", "sigmoid", "relu")

#: Histogram range of each activation's values (the whole range of a bounded one).
HIST_RANGE = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "relu": (0.0, 4.0)}
HIST_BINS = 40

# Thresholds of the verdicts (see CRITERIA).
RATIO = 10.0
SATURATED = 0.5
DEAD = 0.25
SATURATION = 0.01

QUICK = {"width": 64, "batch": 128, "funnel": (128, 16)}

FORWARD_CRITERIA = (
    "In this order, for the layer L at the end of the stack (statistics over all batch x units "
    "values, in float64): overflow if an activation is inf or NaN in layers 1..L; underflow if "
    "every pre-activation of layer L is exactly 0 (the signal fell below the smallest subnormal); "
    f"saturated if more than {SATURATED:.0%} of layer L's activations lie within {SATURATION:g} of "
    f"a bound of tanh or sigmoid; dead if more than {DEAD:.0%} of layer L's units are 0 for every "
    "example of the batch (ReLU); vanishing if std(h_L) / std(h_1) < "
    f"1/{RATIO:g}; exploding if it is > {RATIO:g}; healthy otherwise."
)
CRITERIA = (
    FORWARD_CRITERIA[:-len("; healthy otherwise.")]
    + ". Then the backward pass, from a standard-normal dL/dh_L: overflow if a gradient is inf "
    "or NaN; underflow if every dL/dh_1 is exactly 0; vanishing if rms(dL/dh_1) / rms(dL/dh_L) < "
    f"1/{RATIO:g}, exploding if it is > {RATIO:g}; healthy if no rule applies."
)


def _bounded(activation):
    return activation in ("tanh", "sigmoid")


def forward_verdict(stats, layer, first_nonfinite_layer, activation):
    """(verdict, reason) of the activations of the first `layer` layers of a stack.

    `stats` maps ``act_std``, ``preact_frac_zero``, ``act_frac_saturated`` and ``act_frac_dead``
    to per-layer arrays (entry ``l - 1`` for layer ``l``); `layer` >= 1. Layer ``layer``'s
    forward statistics do not depend on the layers above it, so the same function gives the
    verdict of a depth-``layer`` network and of the first ``layer`` layers of a deeper one.
    """
    i = layer - 1
    if first_nonfinite_layer is not None and first_nonfinite_layer <= layer:
        return "overflow", f"inf/NaN activations from layer {first_nonfinite_layer}"
    if stats["preact_frac_zero"][i] == 1.0:
        first = int(np.argmax(np.asarray(stats["preact_frac_zero"][:layer]) == 1.0)) + 1
        return "underflow", f"all pre-activations exactly 0 from layer {first}"
    if _bounded(activation) and stats["act_frac_saturated"][i] > SATURATED:
        return "saturated", f"{stats['act_frac_saturated'][i]:.0%} of layer {layer}'s activations saturated"
    if stats["act_frac_dead"][i] > DEAD:
        return "dead", f"{stats['act_frac_dead'][i]:.0%} of layer {layer}'s units 0 on the whole batch"
    s0, s1 = float(stats["act_std"][0]), float(stats["act_std"][i])
    ratio = s1 / s0 if s0 > 0 else math.inf
    if ratio < 1.0 / RATIO:
        return "vanishing", f"std of activations fell {_fold(1 / ratio)} from layer 1 to {layer}"
    if ratio > RATIO:
        return "exploding", f"std of activations grew {_fold(ratio)} from layer 1 to {layer}"
    return "healthy", f"std ratio layer {layer} / layer 1 = {ratio:.3g}"


def _fold(x):
    return f"{x:.3g}-fold" if math.isfinite(x) else "without bound"


def full_verdict(res, activation):
    """(verdict, reason) of a whole StackResult with a backward pass (experiment 1's criterion)."""
    L = res.depth
    fwd = forward_stats(res)
    verdict, reason = forward_verdict(fwd, L, res.first_nonfinite_layer, activation)
    if verdict != "healthy":
        return verdict, reason
    if res.first_nonfinite_grad_layer is not None:
        return "overflow", f"inf/NaN gradients from layer {res.first_nonfinite_grad_layer} down"
    if res.grad_frac_zero[0] == 1.0:
        return "underflow", "every gradient dL/dh_1 is exactly 0"
    g = _grad_ratio(res)
    if g < 1.0 / RATIO:
        return "vanishing", f"gradient rms fell {_fold(1 / g)} from layer {L} to 1 ({reason})"
    if g > RATIO:
        return "exploding", f"gradient rms grew {_fold(g)} from layer {L} to 1 ({reason})"
    return "healthy", f"{reason}; gradient ratio layer 1 / layer {L} = {g:.3g}"


def forward_stats(res):
    """The per-layer arrays :func:`forward_verdict` reads, from a StackResult."""
    return {k: np.asarray(getattr(res, k), dtype=np.float64)
            for k in ("act_std", "preact_frac_zero", "act_frac_saturated", "act_frac_dead")}


def _grad_rms(res):
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sqrt(np.asarray(res.grad_m2, dtype=np.float64))


def _grad_ratio(res):
    rms = _grad_rms(res)
    return float(rms[0] / rms[-1]) if rms[-1] > 0 else math.inf


def funnel_widths(first, last, depth):
    """``depth + 1`` widths from `first` to `last`, geometrically spaced and rounded."""
    w = np.rint(np.geomspace(first, last, depth + 1)).astype(np.int64)
    return [int(v) for v in w]


def same_weights(init_a, init_b, widths, dtype):
    """True if two inits give bit-identical weights on every layer of `widths`.

    Both draw the same standard normals (one stream per layer), so equal scales in the
    run's dtype mean equal weights.
    """
    from fastinit import init as fi_init

    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        a = fi_init.resolve(init_a, fan_in, fan_out, dtype=dtype)
        b = fi_init.resolve(init_b, fan_in, fan_out, dtype=dtype)
        if a.distribution != b.distribution or (a.distribution, a.loc, a.scale) != (b.distribution, b.loc, b.scale):
            return False
        if np.dtype(dtype).type(a.scale) != np.dtype(dtype).type(b.scale):
            return False
    return True


def weight_scale(init, fan_in, fan_out, dtype):
    """Standard deviation of the first layer's weights, from fastinit.init."""
    from fastinit import init as fi_init

    return float(fi_init.resolve(init, fan_in, fan_out, dtype=dtype).scale)


def _simulate(widths, batch, activation, init, seed, dtype, threads, bins=None):
    from fastinit.stack import simulate

    return simulate(len(widths) - 1, widths, batch=batch, activation=activation, init=init, seed=seed,
                    loss="normal", backward=True, dtype=dtype, errors="ignore", n_threads=threads,
                    saturation=SATURATION, bins=None if bins is None else {"act": bins})


def _bins(activation):
    lo, hi = HIST_RANGE[activation]
    return np.linspace(lo, hi, HIST_BINS + 1)


def run(*, depth=10, width=500, batch=1000, inits=tuple(INITS), activations=ACTIVATIONS,
        funnel=(1000, 100), funnel_inits=("lecun", "glorot"), dtype="float32", seed=0, threads=None,
        progress=None):
    """Propagate one batch through deep stacks for every init and activation.

    Parameters
    ----------
    depth : int, optional
        Number of layers (the lecture: 10).
    width : int, optional
        Units of every layer of the square stack, and of the input (the lecture: 500).
    batch : int, optional
        Examples in the batch (the lecture: 1000).
    inits : sequence of {"small", "randn", "lecun", "he", "glorot"}, optional
        Weight scales on the square stack (see the module docstring).
    activations : sequence of {"tanh", "sigmoid", "relu"}, optional
    funnel : pair of int, optional
        First and last width of the funnel stack (input first); widths in between are spaced
        geometrically.
    funnel_inits : sequence of init names, optional
        Inits run on the funnel; empty for none.
    dtype : {"float32", "float64"}, optional
        Type of weights and activations; statistics are accumulated in float64.
    seed : int, optional
        Seed of every stream (inputs, weights, upstream gradient).
    threads : int, optional
        Threads of the engine (the numbers do not depend on it).
    progress : callable, optional
        Called as ``progress(done, total)`` after each stack.

    Returns
    -------
    ExperimentResult
        Tables ``summary`` (one row per stack, init and activation: verdict, forward and
        backward ratios, saturated and dead fractions) and ``layers`` (per-layer mean and std of
        pre-activations and activations, saturated/zero/dead fractions, rms of dL/dh and norm of
        dL/dW). ``data["hist"]`` holds the per-layer histograms of the square stack's
        activations (counts per bin, edges in ``data["bins"]``).

    Raises
    ------
    ValueError
        A size below 1, an unknown init or activation, a funnel that is not two sizes.
    TypeError
        A dtype other than float32 or float64.

    Examples
    --------
    >>> r = run(depth=5, width=64, batch=64, inits=["small", "he"], activations=["relu"],
    ...         funnel_inits=())
    >>> [v["verdict"] for v in r.verdicts]
    ['vanishing', 'healthy']
    """
    import fastinit

    depth = positive_int(depth, "depth")
    width = positive_int(width, "width")
    batch = positive_int(batch, "batch")
    inits = choices(inits, tuple(INITS), "init")
    activations = choices(activations, ACTIVATIONS, "activation")
    funnel = int_list(funnel, "funnel")
    if len(funnel) != 2:
        raise ValueError(f"funnel must be two widths (first, last), got {len(funnel)}")
    funnel_inits = [] if not list(funnel_inits) else choices(funnel_inits, tuple(INITS), "init")
    dt = float_dtype(dtype, "deep_stack")
    check_n_threads(threads)
    fastinit.default_rng(seed)  # checks the seed in NumPy's words before any work
    progress = progress or no_progress

    stacks = [("square", [width] * (depth + 1), inits)]
    if funnel_inits:
        stacks.append(("funnel", funnel_widths(funnel[0], funnel[1], depth), funnel_inits))
    total = sum(len(s[2]) for s in stacks) * len(activations)
    done = 0
    summary_rows, layer_rows, verdicts, hist = [], [], [], {}
    for stack, widths, stack_inits in stacks:
        for act in activations:
            computed = {}
            for init in stack_inits:
                twin = next((o for o in computed if same_weights(o, init, widths, dt)), None)
                res = computed[twin] if twin is not None else _simulate(
                    widths, batch, act, init, seed, dt, threads, _bins(act) if stack == "square" else None)
                computed[init] = res
                verdict, reason = full_verdict(res, act)
                if twin is not None:
                    reason += f" (same weights as {twin}: 2/(n+n) = 1/n)"
                case = f"{init}/{act}" + ("" if stack == "square" else "/funnel")
                verdicts.append({"case": case, "verdict": verdict, "reason": reason})
                grad = _grad_rms(res)
                summary_rows.append([
                    stack, init, act, verdict, float(res.act_std[0]), float(res.act_std[-1]),
                    float(res.act_std[-1] / res.act_std[0]) if res.act_std[0] > 0 else None,
                    float(grad[0]), float(grad[-1]), _grad_ratio(res),
                    float(res.act_frac_saturated[-1]) if _bounded(act) else None,
                    float(res.act_frac_dead[-1]), res.first_nonfinite_layer, res.first_nonfinite_grad_layer,
                    weight_scale(init, widths[0], widths[1], dt), twin,
                ])
                for li in range(depth):
                    layer_rows.append([
                        stack, init, act, li + 1, widths[li], widths[li + 1],
                        weight_scale(init, widths[li], widths[li + 1], dt),
                        float(res.preact_mean[li]), float(res.preact_std[li]),
                        float(res.act_mean[li]), float(res.act_std[li]),
                        float(res.act_frac_saturated[li]) if _bounded(act) else None,
                        float(res.act_frac_zero[li]), float(res.act_frac_dead[li]),
                        float(grad[li]), float(res.dw_norm[li]),
                    ])
                if stack == "square":
                    hist[f"{init}/{act}"] = np.asarray(res.histograms["act"], dtype=np.int64)
                done += 1
                progress(done, total)

    summary = Table(
        ["stack", "init", "activation", "verdict", "std_first", "std_last", "std_ratio", "grad_rms_first",
         "grad_rms_last", "grad_ratio", "saturated_last", "dead_last", "nonfinite_from_layer",
         "nonfinite_grad_from_layer", "weight_std_layer1", "same_weights_as"],
        summary_rows,
        caption=(f"{depth} layers, batch {batch}, {dt.name}: square stack of {width} units; funnel "
                 f"{funnel[0]} -> {funnel[1]} units" if funnel_inits else
                 f"{depth} layers of {width} units, batch {batch}, {dt.name}"),
        units={"std_first": "std of h_1", "std_last": f"std of h_{depth}", "std_ratio": "std(h_L) / std(h_1)",
               "grad_rms_first": "rms of dL/dh_1", "grad_rms_last": "rms of dL/dh_L",
               "grad_ratio": "rms(dL/dh_1) / rms(dL/dh_L)",
               "saturated_last": f"fraction of h_L within {SATURATION:g} of a bound",
               "dead_last": "fraction of layer L's units 0 on every example",
               "nonfinite_from_layer": "layer", "nonfinite_grad_from_layer": "layer",
               "weight_std_layer1": "std of W_1's entries"},
    )
    layers = Table(
        ["stack", "init", "activation", "layer", "fan_in", "fan_out", "weight_std", "preact_mean", "preact_std",
         "act_mean", "act_std", "act_saturated", "act_zero", "act_dead", "grad_rms", "dw_norm"],
        layer_rows,
        caption="per layer: pre-activations z = h W, activations h = phi(z), gradients dL/dh and dL/dW",
        units={"weight_std": "std of W's entries", "act_saturated": "fraction of values",
               "act_zero": "fraction of values", "act_dead": "fraction of units", "grad_rms": "rms of dL/dh",
               "dw_norm": "Frobenius norm of dL/dW"},
    )
    r_funnel = (funnel[1] / funnel[0]) ** (1.0 / depth)  # the funnel's width ratio per layer
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"depth": depth, "width": width, "batch": batch, "inits": inits, "activations": activations,
                  "funnel": funnel, "funnel_inits": funnel_inits, "dtype": dt.name, "seed": seed},
        tables={"summary": summary, "layers": layers},
        verdicts=verdicts,
        criteria=CRITERIA,
        description=(
            "Seed 001 (CS231n lecture 6) sends a batch of standard-normal inputs through 10 layers of 500 "
            "units and watches each layer's activations. With 0.01*randn weights every layer multiplies the "
            "scale by about 0.01*sqrt(500) = 0.22, so tanh and ReLU activations collapse to 0 and the "
            "gradients with them; sigmoid keeps its output near 0.5 but its gradients vanish. With 1.0*randn "
            "weights the pre-activations are about sqrt(500) = 22 times too large: tanh and sigmoid saturate "
            "and ReLU explodes. The lecture's 'Xavier' randn/sqrt(fan_in) keeps tanh alive (its std shrinks "
            "slowly) but halves the variance of a ReLU layer at every layer; He's randn/sqrt(fan_in/2) makes up "
            "for the half a ReLU sets to 0. Sigmoid stacks lose their gradients with every init that does not "
            "saturate them: its slope is at most 1/4 (experiment 3). Glorot's 2/(fan_in+fan_out) equals "
            "LeCun's 1/fan_in on square layers. On the funnel, each layer narrower than the last, LeCun keeps "
            "the forward variance of a linear layer while the gradient shrinks by r = fan_out/fan_in per layer "
            f"(r = {r_funnel:.2f} here, {r_funnel ** depth:.2g} over {depth} layers); Glorot's compromise lets the "
            f"forward variance grow by 2/(1 + r) = {2 / (1 + r_funnel):.2f} per layer and the gradient shrink by "
            f"only 2r/(1 + r) = {2 * r_funnel / (1 + r_funnel):.2f}."
        ),
        data={"bins": {a: _bins(a) for a in activations}, "hist": hist,
              "widths": {s: w for s, w, _ in stacks}},
    )


# ----------------------------------------------------------------------------- figures


def _positive(y):
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(y) & (y > 0), y, np.nan)


def _layer_series(result, stack):
    out = {}
    for rec in result.table("layers").records():
        if rec["stack"] == stack:
            out.setdefault((rec["init"], rec["activation"]), []).append(rec)
    return out


def _plot_layers(result):
    s = result.settings
    acts = s["activations"]
    series = _layer_series(result, "square")
    fig, axes = new_figure(3, len(acts), squeeze=False, sharex=True,
                           figsize=(4.3 * len(acts) + 0.6, 9.8))
    rows = [("act_std", "std of activations h_l", True), ("act_mean", "mean of activations h_l", False),
            ("grad_rms", "rms of gradient dL/dh_l", True)]
    for j, act in enumerate(acts):
        for i, (key, ylabel, log) in enumerate(rows):
            ax = axes[i][j]
            for init in s["inits"]:
                recs = series.get((init, act))
                if not recs:
                    continue
                layer = [r["layer"] for r in recs]
                y = [r[key] for r in recs]
                y = _positive(y) if log else np.asarray(y, dtype=float)
                ax.plot(layer, y, marker="o", ms=3, color=init_color(init), label=INITS[init],
                        ls="--" if init == "glorot" else "-")
            if log:
                ax.set_yscale("log")
            elif max((abs(r[key]) for init in s["inits"] for r in series.get((init, act), [])
                      if r[key] is not None and math.isfinite(r[key])), default=0.0) > 100:
                # an exploding mean would flatten every other line to 0 on a linear axis
                ax.set_yscale("symlog", linthresh=1.0)
                ylabel += " (symlog)"
            if i == 0:
                ax.set_title(f"{act}, {s['width']} units per layer")
            if i == 2:
                ax.set_xlabel("layer l")
            ax.set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), title="W =")
    fig.suptitle(f"Deep stack: batch {s['batch']} of N(0, 1) inputs, {s['dtype']}; gradients from a "
                 "standard-normal dL/dh at the last layer. Gaps on log axes: values exactly 0.",
                 fontsize="medium")
    return fig


def _plot_funnel(result):
    s = result.settings
    acts = s["activations"]
    series = _layer_series(result, "funnel")
    widths = result.data["widths"]["funnel"]
    fig, axes = new_figure(2, len(acts), squeeze=False, sharex=True, figsize=(4.3 * len(acts) + 0.6, 7.2))
    for j, act in enumerate(acts):
        for i, (key, ylabel) in enumerate((("act_std", "std of activations h_l"),
                                           ("grad_rms", "rms of gradient dL/dh_l"))):
            ax = axes[i][j]
            for init in s["funnel_inits"]:
                recs = series.get((init, act), [])
                ax.plot([r["layer"] for r in recs], _positive([r[key] for r in recs]), marker="o", ms=3,
                        color=init_color(init), label=INITS[init])
            ax.set_yscale("log")
            ax.set_ylabel(ylabel)
            if i == 0:
                ax.set_title(act)
            else:
                ax.set_xlabel("layer l")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), title="W =")
    fig.suptitle(f"Funnel stack, widths {' -> '.join(map(str, widths))} (input first), batch {s['batch']}",
                 fontsize="medium")
    return fig


def _plot_hist(result, act):
    s = result.settings
    edges = np.asarray(result.data["bins"][act], dtype=float)
    inits = [i for i in s["inits"] if f"{i}/{act}" in result.data["hist"]]
    depth = s["depth"]
    cols = list(range(depth)) if depth <= 10 else sorted({int(round(v)) for v in np.linspace(0, depth - 1, 10)})
    total = s["batch"] * s["width"]
    fig, axes = new_figure(len(inits), len(cols), squeeze=False, sharex=True,
                           figsize=(1.45 * len(cols) + 1.2, 1.35 * len(inits) + 1.1))
    for i, init in enumerate(inits):
        counts = np.asarray(result.data["hist"][f"{init}/{act}"], dtype=float)
        for j, li in enumerate(cols):
            ax = axes[i][j]
            frac = counts[li] / total
            # one filled step artist per panel, not 40 bar patches: 150 panels draw in a second
            ax.stairs(frac, edges, fill=True, color=init_color(init), linewidth=0)
            outside = 1.0 - frac.sum()
            if outside > 0.005:
                ax.text(0.97, 0.95, f"{outside:.0%} out", transform=ax.transAxes, ha="right", va="top",
                        fontsize="x-small")
            ax.set_ylim(0, max(frac.max() * 1.15, 1e-3))
            ax.tick_params(labelsize="x-small")
            ax.grid(False)
            if i == 0:
                ax.set_title(f"layer {li + 1}", fontsize="small")
            if j == 0:
                ax.set_ylabel(f"{init}\nfraction", fontsize="small")
            else:
                ax.set_yticklabels([])
            if i == len(inits) - 1:
                ax.set_xlabel(f"{act}(z)", fontsize="small")
    fig.suptitle(f"{act}: histograms of the activations of each layer ({s['width']} units x batch "
                 f"{s['batch']}); rows: init (colour), 'out': share outside [{edges[0]:g}, {edges[-1]:g}]"
                 + ("\nthe first bar holds the exact zeros ReLU makes of every negative z" if act == "relu" else ""),
                 fontsize="medium")
    return fig


def plot(result):
    """Figures: per-layer std/mean/gradient lines, the funnel, and a histogram grid per activation.

    ``deep_stack_layers``: std and mean of the activations and rms of the gradient per layer,
    one column per activation, one line per init (log scales for std and rms). ``deep_stack_funnel``:
    the same std and gradient for LeCun and Glorot on the funnel. ``deep_stack_hist_<act>``:
    a grid of histograms, one row per init and one column per layer, as in the lecture.
    """
    figs = {"deep_stack_layers": _plot_layers(result)}
    if result.settings["funnel_inits"]:
        figs["deep_stack_funnel"] = _plot_funnel(result)
    for act in result.settings["activations"]:
        figs[f"deep_stack_hist_{act}"] = _plot_hist(result, act)
    return figs


def add_arguments(parser):
    """Command-line flags of ``fastinit deep-stack`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_int, arg_int_list, arg_names

    parser.add_argument("--depth", type=arg_int(1), metavar="L", help="number of layers (default 10)")
    parser.add_argument("--width", type=arg_int(1), metavar="N", help="units per layer (default 500)")
    parser.add_argument("--batch", type=arg_int(1), metavar="B", help="examples in the batch (default 1000)")
    parser.add_argument("--inits", type=arg_names(tuple(INITS), "init"), metavar="LIST",
                        help=f"comma-separated inits from {','.join(INITS)} (default all)")
    parser.add_argument("--activations", type=arg_names(ACTIVATIONS, "activation"), metavar="LIST",
                        help=f"comma-separated activations from {','.join(ACTIVATIONS)} (default all)")
    parser.add_argument("--funnel", type=arg_int_list(1), metavar="FIRST,LAST",
                        help="first and last width of the funnel stack (default 1000,100)")
    parser.add_argument("--funnel-inits", dest="funnel_inits", type=arg_names(tuple(INITS), "init"),
                        metavar="LIST", help="inits run on the funnel (default lecun,glorot)")
