"""``fastinit theory``: the mean-field theory of one activation and (sigma_w, sigma_b).

Prints the fixed point ``q*``, ``chi1``, the phase, the depth scales and the critical
``sigma_w`` for the given ``sigma_b`` (all from :mod:`fastinit.theory`), then the predicted
per-layer table of :func:`fastinit.theory.predict_stack`. With ``--measure`` the same stack is
also run (weights ``N(0, sigma_w**2 / width)``, biases ``N(0, sigma_b**2)``, standard-normal
inputs, through :func:`fastinit.propagate`) and the measured second moments stand beside the
prediction. With ``--out DIR``: ``theory.json`` and the phase diagram ``theory_phase.png``.
"""

from __future__ import annotations

import math
import sys


def _activation_name(text):
    import argparse

    from fastinit.activations import get_activation

    try:
        return get_activation(text).name
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser):
    """The flags of ``fastinit theory``."""
    from fastinit.experiments._common import arg_float, arg_int

    nonneg = arg_float()

    def sigma(text):
        v = nonneg(text)
        if v < 0:
            import argparse

            raise argparse.ArgumentTypeError(f"must be >= 0, got {v:g}")
        return v

    parser.add_argument("--activation", type=_activation_name, default="tanh",
                        help="activation name from fastinit.activations (default tanh)")
    parser.add_argument("--sigma-w", dest="sigma_w", type=sigma, default=1.0, metavar="SW",
                        help="weight scale: W ~ N(0, SW^2 / fan_in) (default 1)")
    parser.add_argument("--sigma-b", dest="sigma_b", type=sigma, default=0.0, metavar="SB",
                        help="bias scale: b ~ N(0, SB^2) (default 0)")
    parser.add_argument("--depth", type=arg_int(1), default=10, metavar="L",
                        help="layers of the predicted (and measured) table (default 10)")
    parser.add_argument("--measure", action="store_true",
                        help="also run the stack through fastinit.propagate and show the measurement")
    parser.add_argument("--width", type=arg_int(1), default=500, metavar="N",
                        help="units per layer of the measured stack (default 500)")
    parser.add_argument("--batch", type=arg_int(1), default=256, metavar="B",
                        help="examples in the measured batch (default 256)")


def summary(activation, sigma_w, sigma_b):
    """The scalar quantities of the theory for one point, as a dict."""
    from fastinit import theory as th

    xi_q, xi_c = th.depth_scales(activation, sigma_w, sigma_b)
    return {
        "activation": activation,
        "sigma_w": sigma_w,
        "sigma_b": sigma_b,
        "q_star": th.fixed_point(activation, sigma_w, sigma_b),
        "chi1": th.chi1(activation, sigma_w, sigma_b),
        "phase": th.phase(activation, sigma_w, sigma_b),
        "xi_q": xi_q,
        "xi_c": xi_c,
        "critical_sigma_w": th.critical_sigma_w(activation, sigma_b),
    }


def measure(activation, sigma_w, sigma_b, depth, width, batch, seed, dtype, threads):
    """Per-layer measured ``mean(z**2)`` and ``mean(h**2)`` of one random stack (float64 lists).

    Weights ``W_l = default_rng(seed).spawn(2 * depth + 1)[l].normal(0, sigma_w / sqrt(width))``,
    biases from the next ``depth`` children, the input from the last child.
    """
    import numpy as np

    import fastinit
    from fastinit.stack import propagate

    dt = np.dtype(dtype or "float32")
    kids = fastinit.default_rng(seed).spawn(2 * depth + 1)
    Ws = [kids[l].normal(0.0, sigma_w / math.sqrt(width), (width, width), dtype=dt, n_threads=threads)
          for l in range(depth)]
    bs = None
    if sigma_b > 0:
        bs = [kids[depth + l].normal(0.0, sigma_b, width, dtype=dt) for l in range(depth)]
    x = kids[-1].standard_normal((batch, width), dtype=dt)
    res = propagate(x, Ws, bs, activation=activation, backward=False, errors="ignore", n_threads=threads)
    return [float(v) for v in res.preact_m2], [float(v) for v in res.act_m2]


def main(args):
    """Run ``fastinit theory``; returns the exit status."""
    from fastinit import _report
    from fastinit import theory as th
    from fastinit.cli import _prepare_out

    out = _prepare_out(args.out) if args.out else None
    info = summary(args.activation, args.sigma_w, args.sigma_b)
    pred = th.predict_stack(args.activation, args.sigma_w, args.sigma_b, args.depth)
    columns = ["layer", "q_predicted", "post_second_moment_predicted"]
    rows = [[l + 1, float(pred.q[l]), float(pred.post_second_moment[l])] for l in range(args.depth)]
    if args.measure:
        seed = 0 if args.seed is None else args.seed
        q_meas, m_meas = measure(args.activation, args.sigma_w, args.sigma_b, args.depth, args.width, args.batch,
                                 seed, args.dtype, args.threads)
        columns += ["q_measured", "post_second_moment_measured"]
        for r, q, m in zip(rows, q_meas, m_meas):
            r += [q, m]
        info["measured"] = {"width": args.width, "batch": args.batch, "seed": seed, "dtype": args.dtype or "float32"}
    info["layers"] = {"columns": columns, "rows": rows}
    if out is not None:
        _report.write_json(out / "theory.json", info)
        if not args.no_plots and _report.have_matplotlib():
            with _report.plot_context():
                fig, ax = _report.new_figure(1, 1, figsize=(6.4, 4.8))
                import numpy as np

                # the default grid (sigma_w^2 <= 4, sigma_b^2 <= 0.5), widened to show the point
                th.plot_phase_diagram(args.activation,
                                      np.linspace(0.01, max(4.0, 1.25 * args.sigma_w ** 2), 200),
                                      np.linspace(0.0, max(0.5, 1.25 * args.sigma_b ** 2), 200), ax=ax)
                ax.plot([args.sigma_w ** 2], [args.sigma_b ** 2], marker="*", ms=14, color="black", ls="none",
                        label=rf"$\sigma_w$ = {args.sigma_w:g}, $\sigma_b$ = {args.sigma_b:g} ({info['phase']})")
                ax.legend(loc="upper right")
                ax.set_title(f"{args.activation}: order/chaos phase diagram, colour log(chi1)")
                _report.save_figure(fig, out / "theory_phase.png")
    if args.json:
        sys.stdout.write(_report.json_dumps(info))
        return 0
    if args.csv:
        sys.stdout.write(_report.csv_text(columns, rows))
        return 0
    crit = info["critical_sigma_w"]
    lines = [
        f"activation {args.activation}, sigma_w {args.sigma_w:g}, sigma_b {args.sigma_b:g}",
        f"  q* (fixed point of the pre-activation variance)   {_report.format_value(info['q_star'])}",
        f"  chi1 (per-layer factor of the squared gradient)   {_report.format_value(info['chi1'])}",
        f"  phase                                             {info['phase']}",
        f"  depth scales xi_q, xi_c (layers)                  {_report.format_value(info['xi_q'])}, "
        f"{_report.format_value(info['xi_c'])}",
        f"  critical sigma_w at sigma_b {args.sigma_b:g}                  "
        f"{'none' if crit is None else _report.format_value(crit)}",
        "",
    ]
    print("\n".join(lines))
    print(_report.format_table(columns, rows, max_rows=40))
    if out is not None:
        print(f"\nwrote theory.json{'' if args.no_plots else ' and theory_phase.png'} in {out}")
    return 0
