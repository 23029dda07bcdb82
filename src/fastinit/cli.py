"""The ``fastinit`` command (also ``python -m fastinit``).

``fastinit report`` runs every available experiment on built-in defaults,
prints a summary and writes report.html, PNG figures, CSV tables and
results.json; ``fastinit <experiment>`` runs one; ``fastinit data`` describes
the bundled data set (or MNIST files given by path); ``theory`` and ``bench``
are provided by plug-in modules.

Errors are one line on stderr, ``fastinit: error: ...``: exit status 2 for a
bad command line (unknown command or name, negative size, unwritable
``--out``), 1 for a failure while running, 130 after Ctrl-C. Set
``FASTINIT_TRACEBACK=1`` to see the Python traceback of an unexpected error.

Plug-ins
--------
Experiments are found through :mod:`fastinit.experiments` (see its
docstring). The commands in :data:`PLUGINS` live in their own modules, each
with ``add_arguments(parser)`` and ``main(args) -> int``; ``args`` carries the
common flags (``seed``, ``dtype``, ``threads``, ``out``, ``json``, ``csv``,
``quiet``, ``no_plots``). A command whose module is missing is listed but
answers "not available yet".
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import time
from pathlib import Path

PROG = "fastinit"

#: command -> (module, one-line help) of commands provided by plug-in modules
PLUGINS = {
    "theory": ("fastinit._cli_theory", "predicted vs measured activation variance through depth"),
    "bench": ("fastinit._cli_bench", "one-minute speed comparison with NumPy"),
}


class UsageError(Exception):
    """A bad command line: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------- progress


class ProgressBar:
    """A one-line progress bar on stderr: ``label [#####-----]  45%  3.1s``.

    Call it as ``bar(done, total)``; it redraws at most ten times a second and
    only when `enabled` (default: stderr is a terminal). :meth:`close` erases it.
    """

    def __init__(self, label, *, enabled=None, stream=None, width=28):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self.label = label
        self.width = width
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done, total):
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = 0.0 if total <= 0 else min(1.0, done / total)
        fill = int(round(frac * self.width))
        elapsed = now - self.start
        eta = f" ETA {elapsed / frac - elapsed:4.0f}s" if 0 < frac < 1 and elapsed > 1 else ""
        line = f"\r{self.label} [{'#' * fill}{'-' * (self.width - fill)}] {frac * 100:3.0f}% {elapsed:5.1f}s{eta}"
        self.stream.write(line + "\033[K")
        self.stream.flush()
        self._drawn = True

    def close(self):
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False


# --------------------------------------------------------------------- helpers


def _err(msg):
    sys.stderr.write(f"{PROG}: error: {msg}\n")


def _note(args, msg):
    if not getattr(args, "quiet", False):
        sys.stderr.write(f"{PROG}: {msg}\n")


def _color_ok(stream):
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _prepare_out(path):
    """Create `path` and check that files can be written there (before any work)."""
    import tempfile

    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".fastinit-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(f"cannot write to --out {os.fspath(path)!r}: {reason}") from None
    return p


def _apply_threads(n):
    """Apply --threads: fastinit's own setting where it has one, BLAS via threadpoolctl.

    Returns a description of what was applied, for provenance.
    """
    if n is None:
        return None
    applied = []
    import fastinit

    setter = getattr(fastinit, "set_num_threads", None)
    if callable(setter):
        setter(n)
        applied.append("fastinit")
    try:
        import threadpoolctl
    except ImportError:
        pass
    else:
        threadpoolctl.threadpool_limits(n)
        applied.append("threadpoolctl (BLAS/OpenMP)")
    return {"threads": n, "applied_to": applied or ["experiments that take a threads argument"]}


def _common_parent():
    p = argparse.ArgumentParser(add_help=False)
    from fastinit.experiments._common import arg_int

    g = p.add_argument_group("common options")
    g.add_argument("--seed", type=arg_int(0), metavar="S", help="random seed (default 0)")
    g.add_argument("--dtype", choices=("float32", "float64"), help="floating type (default: the experiment's)")
    g.add_argument("--threads", type=arg_int(1), metavar="N", help="threads to use (default: all cores)")
    g.add_argument("--out", metavar="DIR", help="write results.json, CSV tables, PNG figures and report.html to DIR")
    fmt = g.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    fmt.add_argument("--csv", action="store_true", help="print the summary table as CSV on stdout")
    g.add_argument("--no-plots", action="store_true", help="do not make figures")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes on stderr")
    return p


def _load_optional(module_name):
    """Import a plug-in module; None if the module itself does not exist."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


def build_parser():
    """The argument parser with every subcommand (experiments and plug-ins)."""
    from fastinit import experiments as fx

    try:
        from fastinit import __version__ as version
    except ImportError:  # pragma: no cover
        version = "unknown"
    parser = _Parser(
        prog=PROG,
        description="Weight-initialization experiments: activations and gradients through deep stacks.",
        epilog="Run 'fastinit report' for the whole study; 'fastinit COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    common = _common_parent()

    rep = sub.add_parser("report", parents=[common], help="run every experiment and write a report",
                         description="Run every available experiment on built-in defaults, print the verdicts "
                                     "and write report.html, figures, CSV tables and results.json.")
    rep.add_argument("--only", type=fx._common.arg_names(tuple(fx.EXPERIMENTS), "experiment"), metavar="LIST",
                     help=f"comma-separated experiments to run (from {','.join(fx.EXPERIMENTS)})")
    rep.add_argument("--quick", action="store_true", help="small settings (seconds, for a first look or tests)")
    rep.set_defaults(handler=_cmd_report)

    for spec in fx.EXPERIMENTS.values():
        problem = None
        try:
            mod = fx.get(spec.name)
        except fx.ExperimentNotAvailable:
            mod, problem = None, "is not available yet in this build of fastinit"
        except Exception as exc:  # a broken module must not take the other commands down
            mod, problem = None, f"failed to load: {type(exc).__name__}: {exc}"
        help_text = spec.title + ("" if mod else " (not available yet)")
        sp = sub.add_parser(spec.name, parents=[common], help=help_text,
                            description=f"Experiment {spec.number}: {spec.title} (seed note {spec.seed_note}).")
        if mod is None:
            sp.set_defaults(handler=_cmd_unavailable, what=f"experiment {spec.name!r} ({spec.title}) {problem}")
            continue
        sp.add_argument("--quick", action="store_true",
                        help="start from the small settings of 'fastinit report --quick'; other flags override them")
        before = {a.dest for a in sp._actions}
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(sp)
        own = [a.dest for a in sp._actions if a.dest not in before]
        sp.set_defaults(handler=_cmd_experiment, experiment=spec.name, exp_dests=own)

    for name, (module_name, help_text) in PLUGINS.items():
        mod = _load_optional(module_name)
        sp = sub.add_parser(name, parents=[common], help=help_text + ("" if mod else " (not available yet)"),
                            description=help_text)
        if mod is None or not callable(getattr(mod, "main", None)):
            sp.set_defaults(handler=_cmd_unavailable,
                            what=f"command {name!r} is not available yet in this build of fastinit")
            continue
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(sp)
        sp.set_defaults(handler=lambda args, _m=mod: _m.main(args))

    dp = sub.add_parser("data", parents=[common], help="describe the bundled data set, or MNIST/IDX files",
                        description="Describe the bundled UCI digits (with its attribution) and check "
                                    "train-statistics normalization; or load MNIST IDX files by path.")
    dp.add_argument("--mnist", metavar="DIR", help="directory with MNIST IDX files (plain or .gz)")
    dp.add_argument("--kind", choices=("train", "t10k"), default="train", help="MNIST part (default train)")
    dp.add_argument("--idx", metavar="FILE", help="describe one IDX file")
    dp.set_defaults(handler=_cmd_data)
    return parser


# --------------------------------------------------------------------- commands


def _cmd_unavailable(args):
    raise RuntimeError(args.what)


def _run_settings(spec_name, args, extra):
    """Keyword arguments for an experiment's run(): its own flags plus the common ones it takes."""
    from fastinit import experiments as fx

    accepted = set(fx.accepted_settings(spec_name))
    kw = {k: v for k, v in extra.items() if v is not None}
    for k in ("seed", "dtype", "threads"):
        v = getattr(args, k, None)
        if v is not None and k in accepted:
            kw[k] = v
    return kw, accepted


def _run_one(name, kw, accepted, args, label):
    from fastinit import experiments as fx

    bar = ProgressBar(label, enabled=None if not args.quiet else False)
    if "progress" in accepted:
        kw = dict(kw, progress=bar)
    t0 = time.monotonic()
    try:
        result = fx.run(name, **kw)
    finally:
        bar.close()
    return result, time.monotonic() - t0


def _figures(results, args, out):
    """PNG bytes by experiment and stem (saved under `out` if given); {} without matplotlib."""
    from fastinit import _report
    from fastinit import experiments as fx

    if args.no_plots or out is None:
        return {}
    if not _report.have_matplotlib():
        _note(args, "matplotlib is not installed, so no figures (pip install 'fastinit[plot]')")
        return {}
    figs = {}
    with _report.plot_context():
        for res in results:
            made = fx.get(res.name).plot(res)
            figs[res.name] = {}
            for stem, fig in made.items():
                if out is not None:
                    figs[res.name][stem] = _report.save_figure(fig, out / f"{stem}.png")
                else:
                    figs[res.name][stem] = _report.figure_bytes(fig)
    return figs


def _results_doc(results, prov, failures=()):
    from fastinit._report import RESULTS_SCHEMA

    return {
        "schema": RESULTS_SCHEMA,
        "provenance": prov,
        "experiments": {r.name: r.to_dict() for r in results},
        "failed": {name: msg for name, msg in failures},
    }


def _html(results, figs, prov, title, notes=()):
    from fastinit import _report
    from fastinit import experiments as fx

    rep = _report.Report(title, subtitle="Initialization and signal propagation in deep networks "
                         "(seed notes 000-003), reproduced with fastinit.", provenance=prov)
    if len(results) > 1 or notes:
        ov = rep.section("Summary")
        rows = []
        for r in results:
            counts = {}
            for v in r.verdicts:
                counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
            rows.append([fx.EXPERIMENTS[r.name].number, r.name, r.title,
                         ", ".join(f"{k}: {c}" for k, c in counts.items())])
        ov.table(["#", "command", "experiment", "verdicts"], rows)
        for n in notes:
            ov.note(n)
    for r in results:
        spec = fx.EXPERIMENTS[r.name]
        s = rep.section(f"{spec.number}. {r.title}")
        s.text(r.description)
        s.criteria(r.criteria)
        tabs = list(r.tables.items())
        name0, t0 = tabs[0]
        s.table(t0.columns, t0.rows, caption=t0.caption)
        for stem, png in figs.get(r.name, {}).items():
            s.figure(png, caption=f"{stem}.png")
        for tname, t in tabs[1:]:
            s.table(t.columns, t.rows, caption=f"{tname}: {t.caption}", collapsed=True, max_rows=300)
        settings = ", ".join(f"{k}={v!r}" for k, v in sorted(r.settings.items()))
        s.code(f"# the same numbers from Python:\nfrom fastinit.experiments import {spec.module}\n"
               f"result = {spec.module}.run({settings})")
    return rep


def _write_outputs(out, results, figs, prov, title, failures=(), notes=()):
    from fastinit import _report

    from fastinit import experiments as fx

    for r in results:
        for tname, t in r.tables.items():
            _report.write_csv(out / f"{fx.EXPERIMENTS[r.name].module}_{tname}.csv", t.columns, t.rows)
    _report.write_json(out / "results.json", _results_doc(results, prov, failures))
    _html(results, figs, prov, title, notes).write(out / "report.html")


def _print_result(res, args, elapsed=None):
    from fastinit import _report

    t = res.summary
    color = _color_ok(sys.stdout)
    head = f"== {res.title} ({res.name})"
    if elapsed is not None:
        head += f"  [{elapsed:.1f} s]"
    print(head)
    print(_report.format_table(t.columns, t.rows, color=color, max_rows=40))
    print(f"criterion: {res.criteria}")
    print()


def _provenance(args, settings, argv):
    from fastinit import _report

    return _report.provenance(settings, command=[PROG] + list(argv))


def _cmd_experiment(args):
    from fastinit import _report
    from fastinit import experiments as fx

    out = _prepare_out(args.out) if args.out else None
    threads = _apply_threads(args.threads)
    extra = dict(getattr(fx.get(args.experiment), "QUICK", {})) if args.quick else {}
    extra.update({d: getattr(args, d) for d in args.exp_dests if getattr(args, d) is not None})
    kw, accepted = _run_settings(args.experiment, args, extra)
    result, elapsed = _run_one(args.experiment, kw, accepted, args, args.experiment)
    settings = {"command": args.experiment, "seed": result.settings.get("seed", args.seed),
                "dtype": args.dtype, "threads": args.threads, "thread_control": threads,
                "run": result.settings}
    prov = _provenance(args, settings, args.argv)
    prov["elapsed_s"] = {args.experiment: round(elapsed, 3)}
    figs = _figures([result], args, out)
    if out is not None:
        _write_outputs(out, [result], figs, prov, f"fastinit {args.experiment}")
    if args.json:
        sys.stdout.write(_report.json_dumps(_results_doc([result], prov)))
    elif args.csv:
        sys.stdout.write(_report.csv_text(result.summary.columns, result.summary.rows))
    else:
        _print_result(result, args, elapsed)
        if out is not None:
            print(f"wrote {out / 'report.html'}, results.json, CSV tables and {sum(map(len, figs.values()))} "
                  f"figure(s) in {out}")
    return 0


def _cmd_report(args):
    from fastinit import _report
    from fastinit import experiments as fx

    out = _prepare_out(args.out or "fastinit-report")
    threads = _apply_threads(args.threads)
    wanted = args.only or list(fx.EXPERIMENTS)
    results, notes, failures, timings = [], [], [], {}
    runnable = []
    for name in wanted:
        try:
            fx.get(name)
        except fx.ExperimentNotAvailable as exc:
            if args.only:  # asked for by name: an error, before any work
                raise RuntimeError(str(exc)) from None
            msg = f"experiment {name!r} ({fx.EXPERIMENTS[name].title}) is not available yet in this build; skipped"
            notes.append(msg)
            _note(args, msg)
        except Exception as exc:
            failures.append((name, f"failed to load: {type(exc).__name__}: {exc}"))
            _err(f"experiment {name!r} failed to load: {exc}")
        else:
            runnable.append(name)
    for k, name in enumerate(runnable, 1):
        mod = fx.get(name)
        base = dict(getattr(mod, "QUICK", {})) if args.quick else {}
        kw, accepted = _run_settings(name, args, base)
        try:
            res, elapsed = _run_one(name, kw, accepted, args, f"[{k}/{len(runnable)}] {name}")
        except (ValueError, TypeError, ArithmeticError, MemoryError, RuntimeError, ImportError) as exc:
            # ImportError: a library part the experiment needs is missing from this build
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            _err(f"experiment {name!r} failed: {exc}")
            continue
        timings[name] = round(elapsed, 3)
        results.append(res)
        if not (args.json or args.csv):
            _print_result(res, args, elapsed)
    settings = {"command": "report", "seed": args.seed if args.seed is not None else 0, "dtype": args.dtype,
                "threads": args.threads, "thread_control": threads, "quick": args.quick,
                "experiments": {r.name: r.settings for r in results}}
    prov = _provenance(args, settings, args.argv)
    prov["elapsed_s"] = timings
    figs = _figures(results, args, out)
    _write_outputs(out, results, figs, prov, "fastinit report", failures, notes)
    if args.json:
        sys.stdout.write(_report.json_dumps(_results_doc(results, prov, failures)))
    elif args.csv:
        rows = [[r.name, v["case"], v["verdict"], v["reason"]] for r in results for v in r.verdicts]
        sys.stdout.write(_report.csv_text(["experiment", "case", "verdict", "reason"], rows))
    else:
        rows = []
        for r in results:
            counts = {}
            for v in r.verdicts:
                counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
            rows.append([r.name, len(r.verdicts), ", ".join(f"{c} {k}" for k, c in counts.items()),
                         timings[r.name]])
        rows += [[name, 0, "failed", None] for name, _ in failures]
        print("== summary")
        print(_report.format_table(["experiment", "cases", "verdicts", "seconds"], rows))
        print(f"\nwrote {out / 'report.html'}, results.json, CSV tables and "
              f"{sum(map(len, figs.values()))} figure(s) in {out}")
    return 1 if failures else 0


def _cmd_data(args):
    import numpy as np

    from fastinit import _report
    from fastinit import data as fd

    if args.idx:
        arr = fd.load_idx(args.idx)
        info = {"file": args.idx, "shape": list(arr.shape), "dtype": arr.dtype.name,
                "min": arr.min().item() if arr.size else None, "max": arr.max().item() if arr.size else None}
    elif args.mnist:
        X, y = fd.load_mnist(args.mnist, kind=args.kind, flatten=True, dtype=np.float64)
        info = {"directory": args.mnist, "kind": args.kind, "images": int(X.shape[0]),
                "pixels_per_image": int(X.shape[1]), "labels": {str(k): int(c) for k, c in
                                                                 enumerate(np.bincount(y, minlength=10))}}
        info["normalization"] = _normalization_check(X, args.seed or 0)
    else:
        info = fd.digits_info()
        X, _ = fd.load_digits(return_X_y=True)
        info["normalization"] = _normalization_check(X, args.seed or 0)
    if args.out:
        _report.write_json(_prepare_out(args.out) / "data.json", info)
    if args.json:
        sys.stdout.write(_report.json_dumps(info))
        return 0
    for k, v in info.items():
        if k == "normalization":
            continue
        print(f"{k:>18}: {v}")
    if "normalization" in info:
        nz = info["normalization"]
        print(f"\nnormalization (seed note 003): {nz['method']}")
        rows = [[part, nz[part]["mean"], nz[part]["std"], nz[part]["mean_near_zero"], nz[part]["std_near_one"]]
                for part in ("train", "valid")]
        print(_report.format_table(["part", "mean", "std", "near_zero(mean)", "near_zero(std-1)"], rows))
    return 0


def _normalization_check(X, seed):
    from fastinit import data as fd

    Xt, Xv = fd.train_valid_split(X, valid_fraction=0.2, seed=seed)
    r = fd.normalize(Xt, Xv)
    out = {"method": f"80/20 split (seed {seed}); both parts normalized with the training mean "
                     f"{r.mean:.6g} and std {r.std:.6g}; near_zero tolerance 1e-3"}
    for part, arr in (("train", r.train), ("valid", r.valid)):
        m, s = float(arr.mean()), float(arr.std())
        out[part] = {"mean": m, "std": s, "mean_near_zero": fd.near_zero(m), "std_near_one": fd.near_zero(s - 1)}
    return out


# --------------------------------------------------------------------- entry point


def main(argv=None):
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            parser = build_parser()
            args, unknown = parser.parse_known_args(argv)
            # Unavailable commands take any flags, so that they answer
            # "not available yet" rather than "unrecognized arguments".
            if unknown and getattr(args, "handler", None) is not _cmd_unavailable:
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        except UsageError as exc:
            _err(str(exc))
            return 2
        args.argv = argv
        try:
            status = args.handler(args)
        except UsageError as exc:
            _err(str(exc))
            return 2
        sys.stdout.flush()
        return int(status or 0)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into a command that stopped reading (| head): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (OSError, ValueError, TypeError, RuntimeError, ArithmeticError, MemoryError, ImportError) as exc:
        if os.environ.get("FASTINIT_TRACEBACK"):
            raise
        _err(_one_line(exc))
        return 1
    except Exception as exc:  # an unexpected failure still gets one line, not a traceback
        if os.environ.get("FASTINIT_TRACEBACK"):
            raise
        _err(f"internal error ({type(exc).__name__}): {_one_line(exc)}; set FASTINIT_TRACEBACK=1 for details")
        return 1


def _one_line(exc):
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
