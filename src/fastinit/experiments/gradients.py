"""Experiment 3: vanishing gradients by activation (seed note 000).

The seed note's argument: the gradient reaching layer ``l`` is a product of one local derivative
per layer above it, and the sigmoid's derivative ``s (1 - s)`` is at most 1/4, so ``0.25**8 =
1.5e-5``: deep sigmoid stacks cannot pass a gradient back. This experiment shows the bound and
then measures it. For each activation (sigmoid, tanh, relu) and init it sends a batch through a
stack of ``depth`` layers of ``width`` units, backpropagates a standard-normal ``dL/dh_L`` and
records, per layer,

* the measured ``rms(dL/dh_l) / rms(dL/dh_L)``, and
* the product of local factors from the layer above down to ``l``,
  ``prod_{k=l+1..L} sqrt(fan_out_k var(W_k) mean(phi'(z_k)**2))``: the local derivative
  ``phi'(z_k)`` measured on the batch (its rms), times the gain of the transposed weight
  matrix. With ``var(W) = 1/fan_in`` on square layers the second factor is 1, so for sigmoid
  every factor is at most 1/4 and the product at most ``0.25**(L - l)`` (the bound line).

Random numbers: the weights are ``fastinit.init.network(widths, init, seed=seed, dtype=dtype)``
(so the same as ``fastinit.simulate(..., init=init, seed=seed)``), the input batch and the
upstream gradient come from the ``inputs`` and ``grad_output`` streams of ``seed`` (as in
``simulate(loss="normal")``); the pass itself is ``fastinit.propagate(x, weights,
loss="normal", seed=seed, return_activations=True)``.
"""

from __future__ import annotations

import math

import numpy as np

from fastinit._report import init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    choices,
    float_dtype,
    no_progress,
    positive_int,
    small_layer_threads,
)

NAME = "gradients"
TITLE = "Vanishing gradients by activation"

ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("small", "randn", "lecun", "he", "glorot")
#: The ratio beyond which the gradient counts as vanishing or exploding (as in experiment 1).
RATIO = 10.0
#: The product of local factors "explains" the measurement within this factor.
AGREE = 2.0
#: Where the derivative curves are drawn and their maxima searched.
Z_RANGE = (-6.0, 6.0)

QUICK = {"depth": 8, "width": 64, "batch": 64}

CRITERIA = (
    f"vanishing if rms(dL/dh_1) / rms(dL/dh_L) < 1/{RATIO:g}, exploding if > {RATIO:g}, healthy "
    "otherwise (overflow if a gradient is inf/NaN); 'product agrees' if the product of the local "
    "factors sqrt(fan_out var(W) mean(phi'(z)^2)) over layers 2..L is within a factor "
    f"{AGREE:g} of that measured ratio."
)


def derivative_table(activations, z_range=Z_RANGE, points=4001):
    """Maximum of each activation's derivative on a grid (float64 formulas of fastinit.activations).

    Returns rows ``[activation, max phi', z at the maximum]``.
    """
    from fastinit.activations import get_activation

    z = np.linspace(z_range[0], z_range[1], points)
    rows = []
    for name in activations:
        d = np.asarray(get_activation(name).df(z), dtype=np.float64)
        i = int(np.argmax(d))
        rows.append([name, float(d[i]), float(z[i])])
    return rows


def local_factors(preacts, weights, activation):
    """Per layer k: ``sqrt(fan_out_k var(W_k) mean(phi'(z_k)**2))`` and ``rms(phi'(z_k))`` (float64).

    ``var(W_k)`` is the sample variance of the drawn matrix, ``fan_out_k`` its column count.
    """
    from fastinit.activations import get_activation

    act = get_activation(activation)
    factors, d_rms = [], []
    for z, W in zip(preacts, weights):
        d = np.asarray(act.df(np.asarray(z, dtype=np.float64)), dtype=np.float64)
        r = float(np.sqrt(np.mean(d * d)))
        w = np.asarray(W, dtype=np.float64)
        gain = float(np.sqrt(w.shape[1] * np.mean(w * w)))
        d_rms.append(r)
        factors.append(r * gain)
    return np.array(factors), np.array(d_rms)


def predicted_ratio(factors):
    """``pred[l-1] = prod_{k=l+1..L} factors[k-1]``: the product of local factors above layer l."""
    f = np.asarray(factors, dtype=np.float64)
    out = np.ones_like(f)
    with np.errstate(under="ignore", over="ignore"):
        for i in range(len(f) - 2, -1, -1):
            out[i] = out[i + 1] * f[i + 1]
    return out


def _verdict(ratio, nonfinite_layer, depth):
    if nonfinite_layer is not None:
        return "overflow", f"inf/NaN gradients from layer {nonfinite_layer} down"
    if not ratio > 0:
        return "underflow", "every dL/dh_1 is exactly 0"
    if ratio < 1 / RATIO:
        return "vanishing", f"rms(dL/dh_1) / rms(dL/dh_{depth}) = {ratio:.3g}"
    if ratio > RATIO:
        return "exploding", f"rms(dL/dh_1) / rms(dL/dh_{depth}) = {ratio:.3g}"
    return "healthy", f"rms(dL/dh_1) / rms(dL/dh_{depth}) = {ratio:.3g}"


def stack_run(depth, width, batch, activation, init, seed, dtype, threads=None):
    """One stack: (StackResult with activations, the weights) on the experiment's streams."""
    import fastinit
    from fastinit import init as fi_init
    from fastinit.stack import propagate

    widths = [width] * (depth + 1)
    weights = fi_init.network(widths, init, seed=seed, dtype=dtype)
    ss = np.random.SeedSequence(seed)
    x = fastinit.Generator(ss, fastinit.stream_id("inputs", 0)).standard_normal((batch, width), dtype=dtype)
    res = propagate(x, weights, activation=activation, loss="normal", seed=seed, return_activations=True,
                    errors="ignore", n_threads=threads)
    return res, weights


def run(*, depth=20, width=256, batch=256, activations=ACTIVATIONS, inits=("lecun", "he"), dtype="float32",
        seed=0, threads=None, progress=None):
    """Measure per-layer gradient norms next to the product of local derivatives.

    Parameters
    ----------
    depth : int, optional
        Layers per stack.
    width : int, optional
        Units of the input and of every layer.
    batch : int, optional
        Examples in the batch.
    activations : sequence of {"sigmoid", "tanh", "relu"}, optional
    inits : sequence of {"small", "randn", "lecun", "he", "glorot"}, optional
        Init schemes of :mod:`fastinit.init`; every one runs with every activation.
    dtype : {"float32", "float64"}, optional
        Type of weights, activations and gradients (statistics in float64).
    seed : int, optional
        Key of every stream (weights, inputs, upstream gradient); all stacks share it.
    threads : int, optional
        Threads of the engine (default 1 for these small layers; the numbers do not depend on it).
    progress : callable, optional
        ``progress(done, total)`` after each stack.

    Returns
    -------
    ExperimentResult
        Tables ``summary`` (one row per activation and init: verdict, measured and predicted
        ratio of the first layer's gradient to the last's, the sigmoid bound), ``derivatives``
        (the maximum of each derivative) and ``layers`` (per layer: rms of dL/dh, the measured
        ratio, the local factor, rms of phi'(z), the product of factors).

    Raises
    ------
    ValueError
        A size below 1 or an unknown activation or init.
    TypeError
        A dtype other than float32 or float64.

    Examples
    --------
    >>> r = run(depth=8, width=64, batch=64, activations=["sigmoid"], inits=["lecun"])
    >>> r.verdicts[0]["verdict"]
    'vanishing'
    """
    import fastinit

    depth = positive_int(depth, "depth")
    width = positive_int(width, "width")
    batch = positive_int(batch, "batch")
    activations = choices(activations, ACTIVATIONS, "activation")
    inits = choices(inits, INITS, "init")
    dt = float_dtype(dtype, "gradients")
    threads = small_layer_threads(threads)
    fastinit.default_rng(seed)  # checks the seed in NumPy's words before any work
    progress = progress or no_progress

    deriv_rows = derivative_table(activations)
    dmax = {r[0]: r[1] for r in deriv_rows}
    summary_rows, layer_rows, verdicts, total, done = [], [], [], len(activations) * len(inits), 0
    for act in activations:
        for init in inits:
            res, weights = stack_run(depth, width, batch, act, init, seed, dt, threads)
            factors, d_rms = local_factors(res.preactivations, weights, act)
            pred = predicted_ratio(factors)
            with np.errstate(all="ignore"):
                grad = np.sqrt(np.asarray(res.grad_m2, dtype=np.float64))
                measured = grad / grad[-1] if grad[-1] > 0 else np.full_like(grad, np.nan)
            ratio = float(measured[0])
            verdict, reason = _verdict(ratio, res.first_nonfinite_grad_layer, depth)
            with np.errstate(all="ignore"):
                agree = bool(math.isfinite(ratio) and ratio > 0 and pred[0] > 0
                             and abs(math.log(ratio / pred[0])) <= math.log(AGREE))
            reason += f"; product of local factors {pred[0]:.3g}"
            verdicts.append({"case": f"{act}/{init}", "verdict": verdict, "reason": reason})
            bound = dmax[act] ** (depth - 1)
            summary_rows.append([act, init, verdict, ratio, float(pred[0]), agree,
                                 float(np.mean(d_rms)), dmax[act], bound, res.first_nonfinite_grad_layer])
            for li in range(depth):
                layer_rows.append([act, init, li + 1, float(grad[li]), float(measured[li]), float(factors[li]),
                                   float(d_rms[li]), float(pred[li]), dmax[act] ** (depth - 1 - li)])
            done += 1
            progress(done, total)

    summary = Table(
        ["activation", "init", "verdict", "grad_ratio", "product_of_factors", "product_agrees",
         "mean_rms_dphi", "max_dphi", "max_dphi_pow_L_minus_1", "nonfinite_grad_from_layer"],
        summary_rows,
        caption=f"{depth} layers of {width} units, batch {batch}, {dt.name}; gradient from a standard-normal "
                f"dL/dh_{depth}",
        units={"grad_ratio": f"rms(dL/dh_1) / rms(dL/dh_{depth})",
               "product_of_factors": "prod over layers 2..L of sqrt(fan_out var(W) mean(phi'(z)^2))",
               "mean_rms_dphi": "rms of phi'(z), averaged over layers",
               "max_dphi": "max of phi' over z", "max_dphi_pow_L_minus_1": f"(max phi')^{depth - 1}",
               "nonfinite_grad_from_layer": "layer"},
    )
    deriv = Table(["activation", "max_dphi", "at_z"], deriv_rows,
                  caption=f"maximum of the derivative on a grid of [{Z_RANGE[0]:g}, {Z_RANGE[1]:g}] (float64 formulas) "
                          "and the first grid point where it is reached",
                  units={"max_dphi": "dimensionless", "at_z": "pre-activation"})
    layers = Table(
        ["activation", "init", "layer", "grad_rms", "grad_ratio", "local_factor", "rms_dphi", "product_above",
         "max_dphi_bound"],
        layer_rows,
        caption="per layer l: rms of dL/dh_l, its ratio to the last layer's, the local factor of layer l, "
                "and the product of the factors of the layers above l",
        units={"grad_ratio": "rms(dL/dh_l) / rms(dL/dh_L)", "local_factor": "sqrt(fan_out var(W_l) mean(phi'(z_l)^2))",
               "rms_dphi": "rms of phi'(z_l)", "product_above": "prod_{k>l} local_factor_k",
               "max_dphi_bound": "(max phi')^(L - l)"},
    )
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"depth": depth, "width": width, "batch": batch, "activations": activations, "inits": inits,
                  "dtype": dt.name, "seed": seed},
        tables={"summary": summary, "derivatives": deriv, "layers": layers},
        verdicts=verdicts,
        criteria=CRITERIA,
        description=(
            "Seed 000: by the chain rule the gradient at layer l is a product of one factor per layer above "
            "it, and the sigmoid's derivative s(1 - s) is at most 1/4, so eight sigmoid layers scale it by at "
            "most 0.25^8 = 1.5e-5. Measured here on real stacks: the gradient's rms at each layer next to the "
            "product of the local factors (the rms of phi'(z) measured on the batch, times the gain "
            "sqrt(fan_out var(W)) of the weights). For sigmoid the product follows the measurement down by "
            "0.2 to 0.3 per layer with either init; tanh (derivative up to 1) keeps its gradient with "
            "randn/sqrt(fan_in); relu's derivative is 0 or 1, so its factor is sqrt(fan_out var(W) / 2): "
            "vanishing with randn/sqrt(fan_in), about 1 with He's randn/sqrt(fan_in/2)."
        ),
        data={"z_range": list(Z_RANGE)},
    )


def plot(result):
    """``gradients``: the derivatives (first panel), then per activation the measured gradient ratio
    per layer (solid, init colour), the product of local factors (dashed) and the bound
    ``(max phi')^(L - l)`` (dotted grey)."""
    from fastinit.activations import get_activation

    s = result.settings
    acts = s["activations"]
    fig, axes = new_figure(1, len(acts) + 1, figsize=(4.0 * (len(acts) + 1) + 0.6, 4.6))
    ax = axes[0]
    z = np.linspace(*result.data["z_range"], 601)
    styles = {"sigmoid": "-", "tanh": "--", "relu": ":"}
    for act in acts:
        ax.plot(z, get_activation(act).df(z), ls=styles.get(act, "-"), color="black", lw=1.5, label=act)
    ax.axhline(0.25, color="0.5", lw=1, ls="-.")
    ax.text(z[0], 0.27, "1/4: max of sigmoid'", fontsize="x-small", color="0.3")
    ax.set_xlabel("pre-activation z")
    ax.set_ylabel("derivative phi'(z)")
    ax.set_title("local derivatives")
    ax.legend(loc="upper right")
    recs = result.table("layers").records()
    L = s["depth"]
    for ax, act in zip(axes[1:], acts):
        bound_drawn = False
        for init in s["inits"]:
            rr = [r for r in recs if r["activation"] == act and r["init"] == init]
            layer = [r["layer"] for r in rr]
            with np.errstate(invalid="ignore"):
                meas = np.array([r["grad_ratio"] for r in rr], dtype=float)
                pred = np.array([r["product_above"] for r in rr], dtype=float)
            meas[~(meas > 0)] = np.nan
            pred[~(pred > 0)] = np.nan
            c = init_color(init)
            ax.plot(layer, meas, marker="o", ms=3, color=c, label=f"{init}: measured")
            ax.plot(layer, pred, ls="--", color=c, lw=1.5, label=f"{init}: product of factors")
            if not bound_drawn and act == "sigmoid":
                ax.plot(layer, [r["max_dphi_bound"] for r in rr], ls=":", color="0.4",
                        label="0.25^(L - l)")
                bound_drawn = True
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.set_ylabel(f"rms(dL/dh_l) / rms(dL/dh_{L})")
        ax.set_title(f"{act} stack")
        ax.legend(loc="best", fontsize="x-small")
    fig.suptitle(f"Gradients through {L} layers of {s['width']} units (batch {s['batch']}, {s['dtype']}): "
                 "measured vs the product of local factors sqrt(fan_out var(W) mean(phi'(z)^2))",
                 fontsize="medium")
    return {"gradients": fig}


def add_arguments(parser):
    """Command-line flags of ``fastinit gradients`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_int, arg_names

    parser.add_argument("--depth", type=arg_int(1), metavar="L", help="number of layers (default 20)")
    parser.add_argument("--width", type=arg_int(1), metavar="N", help="units per layer (default 256)")
    parser.add_argument("--batch", type=arg_int(1), metavar="B", help="examples in the batch (default 256)")
    parser.add_argument("--activations", type=arg_names(ACTIVATIONS, "activation"), metavar="LIST",
                        help=f"comma-separated activations from {','.join(ACTIVATIONS)} (default all)")
    parser.add_argument("--inits", type=arg_names(INITS, "init"), metavar="LIST",
                        help=f"comma-separated inits from {','.join(INITS)} (default lecun,he)")
