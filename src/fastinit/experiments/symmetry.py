"""Experiment 5: zero-init symmetry (seed note 000).

A network with one hidden layer, ``H = phi(X W + b)``, ``P = softmax(H V + c)``, trained by
full-batch gradient descent on the cross-entropy of the bundled UCI digits (80/20 split, both
parts normalized with the training mean and std). From three inits of ``W, b, V, c``:

* ``zero``: everything 0. With tanh ``H = 0``, so ``dL/dV = H^T (P - T) = 0`` and
  ``dL/dH = (P - T) V^T = 0``: W and V never move and only the output bias learns.
  With sigmoid ``H = 0.5``: V moves, but every hidden unit gets the same update.
* ``constant``: every weight the same value: every hidden unit computes the same feature and
  receives the same gradient, so they stay identical (up to rounding) for ever.
* ``random``: ``fastinit.init.network([n_in, hidden, classes], random_init, seed=seed)``,
  biases 0: the units start distinct and stay so.

A hidden unit ``j`` is the vector ``(W[:, j], b[j], V[j, :])``; two units count as one when these
differ by at most ``tol`` (relative to the largest parameter), and the number of distinct units
is recorded at every logged step: a network whose units are all equal is no wider than one unit.

The hidden layer runs in the engine: its forward pass is :func:`fastinit.propagate`
(``backward=False``), its gradients ``dL/dW`` and ``dL/db`` come from ``propagate(...,
grad_output=(P - T) V^T / n, return_weight_grads=True)``; the linear output layer's gradients are
the seed note's ``dL/dV = H^T (P - T) / n`` and ``dL/dc``, two NumPy products.

Rounding: the engine computes the columns of a product in blocks, so units that are equal in
exact arithmetic can differ in the last bit between blocks. With tanh from a constant init the
symmetric state is unstable and such a difference can grow over the steps into two genuinely
different groups of units: still two features where the layer has ``hidden``.
"""

from __future__ import annotations

import numpy as np

from fastinit._report import init_color, new_figure
from fastinit.experiments import ExperimentResult, Table
from fastinit.experiments._common import (
    choices,
    finite_float,
    float_dtype,
    no_progress,
    positive_int,
    small_layer_threads,
)

NAME = "symmetry"
TITLE = "Zero-init symmetry"

ACTIVATIONS = ("tanh", "sigmoid")
INITS = ("zero", "constant", "random")
RANDOM_INITS = ("small", "lecun", "he", "glorot")

QUICK = {"steps": 30, "hidden": 8, "log_every": 5}

CRITERIA = (
    "symmetric if, after the last step, fewer hidden units are distinct than the layer has "
    "(two units are equal when their incoming weights, bias and outgoing weights differ by at most "
    "tol x the largest parameter); healthy if every unit is distinct."
)


def load_data(seed=0, dtype=np.float64):
    """The digits split 80/20 by `seed`, normalized with the training mean/std, one-hot targets.

    Returns ``(X_train, T_train, y_train, X_valid, y_valid)`` in `dtype`.
    """
    from fastinit import data as fd

    X, y = fd.load_digits(return_X_y=True, dtype=np.float64)
    Xt, Xv, yt, yv = fd.train_valid_split(X, y, valid_fraction=0.2, seed=seed)
    r = fd.normalize(Xt, Xv)
    T = np.zeros((len(yt), 10))
    T[np.arange(len(yt)), yt] = 1.0
    dt = np.dtype(dtype)
    return r.train.astype(dt), T.astype(dt), yt, r.valid.astype(dt), yv


def initial_params(init, n_in, hidden, n_out, *, constant=0.1, random_init="lecun", seed=0, dtype=np.float64):
    """``[W, b, V, c]`` for an init name (biases are 0 except under ``constant``)."""
    dt = np.dtype(dtype)
    if init == "zero":
        return [np.zeros((n_in, hidden), dt), np.zeros(hidden, dt), np.zeros((hidden, n_out), dt),
                np.zeros(n_out, dt)]
    if init == "constant":
        return [np.full((n_in, hidden), constant, dt), np.full(hidden, constant, dt),
                np.full((hidden, n_out), constant, dt), np.full(n_out, constant, dt)]
    from fastinit import init as fi_init

    W, V = fi_init.network([n_in, hidden, n_out], random_init, seed=seed, dtype=dt)
    return [np.array(W, dt), np.zeros(hidden, dt), np.array(V, dt), np.zeros(n_out, dt)]


def softmax(a):
    """Row-wise softmax, stable (subtracts the row maximum)."""
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def distinct_units(W, b, V, tol):
    """(number of distinct hidden units, largest spread inside a group of equal units).

    Unit ``j`` is ``concat(W[:, j], [b[j]], V[j, :])``; units are grouped greedily: a unit joins
    the first group whose first member is within ``tol * max(1, max |param|)`` (max-norm).
    """
    U = np.concatenate([np.asarray(W, np.float64).T, np.asarray(b, np.float64)[:, None],
                        np.asarray(V, np.float64)], axis=1)
    scale = max(1.0, float(np.max(np.abs(U)))) if U.size else 1.0
    reps, spread = [], 0.0
    for u in U:
        for r in reps:
            d = float(np.max(np.abs(u - r)))
            if d <= tol * scale:
                spread = max(spread, d)
                break
        else:
            reps.append(u)
    return len(reps), spread


def train_step(params, X, T, activation, lr, threads=None):
    """One gradient step in place; returns (loss, H) of the parameters before the step.

    Gradients of both layers from fastinit.propagate(return_weight_grads=True).
    """
    from fastinit.stack import propagate

    W, b, V, c = params
    n = X.shape[0]
    fwd = propagate(X, [W], [b], activation=activation, backward=False, return_activations=True,
                    errors="ignore", n_threads=threads)
    H = fwd.activations[0]
    P = softmax(np.asarray(H @ V + c, dtype=np.float64))
    with np.errstate(divide="ignore"):
        loss = float(-np.mean(np.sum(T * np.log(P), axis=1)))
    G = ((P - T) / n).astype(X.dtype)
    # The output layer is linear: its gradients are the seed note's dL/dV = H^T (P - T), plain
    # products; the hidden layer's come from the engine.
    dV, dc = H.T @ G, G.sum(axis=0)
    dH = (G @ V.T).astype(X.dtype)
    hid = propagate(X, [W], [b], activation=activation, grad_output=dH, return_weight_grads=True,
                    errors="ignore", n_threads=threads)
    grads = [hid.weight_grads[0], hid.bias_grads[0], dV, dc]
    for p, g in zip(params, grads):
        p -= X.dtype.type(lr) * g
    return loss, H


def accuracy(params, X, y, activation):
    """Fraction of rows of X classified as y by the network (NumPy forward, float64)."""
    from fastinit.activations import get_activation

    W, b, V, c = (np.asarray(p, np.float64) for p in params)
    H = get_activation(activation).f(np.asarray(X, np.float64) @ W + b)
    return float(np.mean(np.argmax(H @ V + c, axis=1) == y))


def default_tol(dtype):
    """Tolerance of "equal units": 64 units in the last place of `dtype` relative to the scale."""
    return 64.0 * float(np.finfo(np.dtype(dtype)).eps)


def run(*, activations=ACTIVATIONS, inits=INITS, hidden=16, steps=150, lr=0.5, constant=0.1,
        random_init="lecun", log_every=5, tol=None, dtype="float32", seed=0, threads=None, progress=None):
    """Train a one-hidden-layer network from zero, constant and random init; count distinct units.

    Parameters
    ----------
    activations : sequence of {"tanh", "sigmoid"}, optional
    inits : sequence of {"zero", "constant", "random"}, optional
    hidden : int, optional
        Hidden units (at least 2).
    steps : int, optional
        Full-batch gradient-descent steps.
    lr : float, optional
        Learning rate (> 0).
    constant : float, optional
        The value of every parameter under the ``constant`` init.
    random_init : {"small", "lecun", "he", "glorot"}, optional
        Scheme of :mod:`fastinit.init` for the ``random`` init.
    log_every : int, optional
        Record loss and distinct units every this many steps (and at the first and last).
    tol : float, optional
        Relative tolerance of equal units; default 64 ulp of `dtype` (:func:`default_tol`).
    dtype : {"float32", "float64"}, optional
    seed : int, optional
        Seed of the data split and of the random init.
    threads : int, optional
        Threads of the engine (default 1 for these small layers; the numbers do not depend on it).
    progress : callable, optional
        ``progress(done, total)`` after each logged step.

    Returns
    -------
    ExperimentResult
        Tables ``summary`` (one row per activation and init) and ``steps`` (per logged step:
        training loss, distinct units, spread inside groups of equal units).

    Raises
    ------
    ValueError
        A size below its minimum, an unknown name, a non-positive or non-finite rate.
    TypeError
        A dtype other than float32 or float64.

    Examples
    --------
    >>> r = run(activations=["tanh"], inits=["zero", "random"], hidden=4, steps=5, log_every=5)
    >>> [v["verdict"] for v in r.verdicts]
    ['symmetric', 'healthy']
    """
    import fastinit

    activations = choices(activations, ACTIVATIONS, "activation")
    inits = choices(inits, INITS, "init")
    hidden = positive_int(hidden, "hidden", minimum=2)
    steps = positive_int(steps, "steps")
    lr = finite_float(lr, "lr", positive=True)
    constant = finite_float(constant, "constant")
    random_init = choices([random_init], RANDOM_INITS, "random init")[0]
    log_every = positive_int(log_every, "log_every")
    dt = float_dtype(dtype, "symmetry")
    tol = default_tol(dt) if tol is None else finite_float(tol, "tol", positive=True)
    threads = small_layer_threads(threads)
    fastinit.default_rng(seed)  # checks the seed in NumPy's words before any work
    progress = progress or no_progress

    Xt, Tt, yt, Xv, yv = load_data(seed, dt)
    logged = sorted(set(range(0, steps + 1, log_every)) | {steps})
    total, done = len(activations) * len(inits) * len(logged), 0
    summary_rows, step_rows, verdicts, curves = [], [], [], {}
    for act in activations:
        for init in inits:
            params = initial_params(init, Xt.shape[1], hidden, Tt.shape[1], constant=constant,
                                    random_init=random_init, seed=seed, dtype=dt)
            W0 = params[0].copy()
            start_units, _ = distinct_units(params[0], params[1], params[2], tol)
            for step in range(steps + 1):
                if step in logged:
                    units, spread = distinct_units(params[0], params[1], params[2], tol)
                if step < steps:
                    loss, _ = train_step(params, Xt, Tt, act, lr, threads)
                else:
                    loss = _loss(params, Xt, Tt, act)
                if step in logged:
                    step_rows.append([act, init, step, loss, units, spread])
                    done += 1
                    progress(done, total)
            end_units, spread = distinct_units(params[0], params[1], params[2], tol)
            verdict = "healthy" if end_units == hidden else "symmetric"
            moved = float(np.max(np.abs(np.asarray(params[0], np.float64) - W0)))
            reason = (f"{end_units} of {hidden} hidden units distinct after {steps} steps"
                      + (f" (spread within groups {spread:.2g})" if end_units < hidden else "")
                      + f"; max |W change| = {moved:.3g}")
            verdicts.append({"case": f"{act}/{init}", "verdict": verdict, "reason": reason})
            summary_rows.append([act, init, verdict, start_units, end_units, hidden, spread, moved,
                                 step_rows[-1][3], accuracy(params, Xt, yt, act), accuracy(params, Xv, yv, act)])

    summary = Table(
        ["activation", "init", "verdict", "distinct_start", "distinct_end", "hidden", "spread_end", "max_w_change",
         "train_loss_end", "train_accuracy", "valid_accuracy"],
        summary_rows,
        caption=(f"one hidden layer of {hidden} units, digits 8x8 ({Xt.shape[0]} train / {Xv.shape[0]} valid), "
                 f"{steps} full-batch steps, lr {lr:g}, {dt.name}; constant init {constant:g}, random init "
                 f"{random_init}; tol {tol:.3g}"),
        units={"distinct_start": "units", "distinct_end": "units", "hidden": "units",
               "spread_end": "largest max-norm difference inside a group of equal units",
               "max_w_change": "max |W_end - W_start|", "train_loss_end": "cross-entropy (nats)",
               "train_accuracy": "fraction", "valid_accuracy": "fraction"},
    )
    steps_table = Table(["activation", "init", "step", "train_loss", "distinct_units", "spread"], step_rows,
                        caption="every logged step: loss before the step, distinct hidden units",
                        units={"train_loss": "cross-entropy (nats)", "distinct_units": "units"})
    return ExperimentResult(
        name=NAME,
        title=TITLE,
        settings={"activations": activations, "inits": inits, "hidden": hidden, "steps": steps, "lr": lr,
                  "constant": constant, "random_init": random_init, "log_every": log_every, "tol": tol,
                  "dtype": dt.name, "seed": seed},
        tables={"summary": summary, "steps": steps_table},
        verdicts=verdicts,
        criteria=CRITERIA,
        description=(
            "Seed 000 asks why a neural network cannot start from zero like linear regression. With tanh and "
            "all-zero weights the hidden layer outputs 0, so the gradients of both weight matrices are exactly "
            "0 and only the output bias learns; with sigmoid the hidden layer outputs 0.5 and the weights do "
            "move, but every hidden unit receives the same update. The same holds for any constant init: the "
            "units compute one feature and stay identical (up to rounding), so the layer is as expressive as a "
            "single unit and the accuracy shows it. (The engine computes a product's columns in blocks, so "
            "equal units can differ in the last bit; with tanh from a constant init the symmetric state is "
            "unstable and such a difference can grow into two groups of units: two features, not 16.) Random "
            "init breaks the symmetry from the first step."
        ),
        data={"tol": tol},
    )


def _loss(params, X, T, activation):
    from fastinit.activations import get_activation

    W, b, V, c = (np.asarray(p, np.float64) for p in params)
    P = softmax(get_activation(activation).f(np.asarray(X, np.float64) @ W + b) @ V + c)
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.sum(T * np.log(P), axis=1)))


def plot(result):
    """``symmetry``: distinct hidden units (top) and training loss (bottom) against the step,
    one column per activation, one colour per init."""
    s = result.settings
    acts = s["activations"]
    recs = result.table("steps").records()
    fig, axes = new_figure(2, len(acts), squeeze=False, sharex=True, figsize=(5.0 * len(acts) + 0.6, 6.6))
    labels = {"zero": "zero", "constant": f"constant {s['constant']:g}", "random": f"random ({s['random_init']})"}
    for j, act in enumerate(acts):
        for init in s["inits"]:
            rr = [r for r in recs if r["activation"] == act and r["init"] == init]
            x = [r["step"] for r in rr]
            c = init_color(s["random_init"] if init == "random" else init)  # random: its scheme's colour
            ls = "--" if init == "zero" else "-"  # zero and constant often coincide
            axes[0][j].step(x, [r["distinct_units"] for r in rr], where="post", color=c, lw=2, ls=ls,
                            label=labels[init])
            axes[1][j].plot(x, [r["train_loss"] for r in rr], color=c, lw=2, ls=ls, label=labels[init])
        axes[0][j].set_ylim(0, s["hidden"] * 1.08)
        axes[0][j].set_ylabel("distinct hidden units")
        axes[0][j].set_title(f"{act}, {s['hidden']} hidden units")
        axes[1][j].set_ylabel("training cross-entropy (nats)")
        axes[1][j].set_xlabel("gradient-descent step")
        axes[0][j].legend(loc="center right", title="init")
    fig.suptitle(f"Symmetry of hidden units, digits 8x8, full-batch gradient descent (lr {s['lr']:g}, "
                 f"{s['dtype']}); units equal within {s['tol']:.2g} x the largest parameter", fontsize="medium")
    return {"symmetry": fig}


def add_arguments(parser):
    """Command-line flags of ``fastinit symmetry`` (dest = run parameter)."""
    from fastinit.experiments._common import arg_float, arg_int, arg_names

    parser.add_argument("--activations", type=arg_names(ACTIVATIONS, "activation"), metavar="LIST",
                        help="comma-separated activations from tanh,sigmoid (default both)")
    parser.add_argument("--inits", type=arg_names(INITS, "init"), metavar="LIST",
                        help="comma-separated inits from zero,constant,random (default all)")
    parser.add_argument("--hidden", type=arg_int(2), metavar="H", help="hidden units (default 16)")
    parser.add_argument("--steps", type=arg_int(1), metavar="S", help="gradient-descent steps (default 150)")
    parser.add_argument("--lr", type=arg_float(positive=True), metavar="R", help="learning rate (default 0.5)")
    parser.add_argument("--constant", type=arg_float(), metavar="C", help="value of the constant init (default 0.1)")
    parser.add_argument("--random-init", dest="random_init", choices=RANDOM_INITS,
                        help="scheme of the random init (default lecun)")
    parser.add_argument("--log-every", dest="log_every", type=arg_int(1), metavar="K",
                        help="record every K steps (default 5)")
