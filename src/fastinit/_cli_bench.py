"""``fastinit bench``: a one-minute speed comparison with NumPy on this machine.

Each case times fastinit and the NumPy code a user would write for the same result, in the
same run, alternating the two (best of ``repeats`` after one warm-up call each), and reports
the ratio ``numpy time / fastinit time``. Plain ``time.perf_counter`` timing, no pytest
needed; for the full benchmark suite see ``bench/`` (pytest-benchmark). Timings on a shared
or busy machine are noisy: compare ratios measured in one run, not absolute times across runs.

Cases (``--quick`` shrinks every size about 16-fold, for tests):

* ``normal f32``/``normal f64``: ``fastinit.default_rng(0).standard_normal(n, dtype)`` vs
  ``numpy.random.default_rng(0).standard_normal(n, dtype)``;
* ``he_normal``: ``fastinit.init.network([m, m], "he", seed=0, dtype=float64)`` vs the
  lecture's ``np.random.randn(m, m) * np.sqrt(2 / m)``;
* ``simulate``: ``fastinit.simulate(depth, width, batch=..., activation="tanh", init="lecun",
  backward=False)`` with per-layer statistics vs a NumPy loop drawing each float32 weight
  matrix, ``h = np.tanh(h @ W)`` and the layer's mean and std.
"""

from __future__ import annotations

import math
import platform
import sys
import time

import numpy as np

SIZES = {
    "normal_n": 10_000_000,
    "init_m": 2048,
    "sim_depth": 50,
    "sim_width": 512,
    "sim_batch": 256,
}
QUICK_DIVISOR = 16


def add_arguments(parser):
    """The flags of ``fastinit bench``."""
    from fastinit.experiments._common import arg_int

    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds, for a first look or tests)")
    parser.add_argument("--repeats", type=arg_int(1), default=5, metavar="R",
                        help="timed calls per side and case; the best is kept (default 5)")


def machine():
    """A one-line description of this machine (CPU, cores, SIMD path, NumPy's BLAS)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from fastinit._config import config_dict

        cfg = config_dict()
        simd, cores = cfg.get("simd_path"), cfg.get("cpu_count")
    except Exception:  # the description must never stop the benchmark
        simd, cores = "unknown", None
    from fastinit._report import _numpy_blas

    blas = _numpy_blas()
    if isinstance(blas, dict):
        blas = " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k)) or "BLAS unknown"
    return (f"{cpu}, {cores or '?'} cores, SIMD path {simd}, Python {platform.python_version()}, "
            f"NumPy {np.__version__} with {blas}")


def _best(fn, repeats):
    fn()  # warm-up: first-touch page faults, thread pool start
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_pair(fn_a, fn_b, repeats, pause=0.2):
    """Best times of two functions called alternately (a, b, a, b, ...) after one warm-up call
    each: on a machine whose speed drifts (other tenants, frequency), both minima are taken over
    the same stretch of time, so their ratio is fairer than that of two separate runs.

    Each timed call starts ``pause`` seconds after the previous one ended: thread pools keep
    spinning for a while after a parallel call (OpenBLAS's about 0.1 s after a product, OpenMP's
    shorter), and on a machine with few cores the spinning threads of one side would slow the
    other side's next call (measured: a simulate call right after NumPy products ran 1.6x
    slower on 2 cores)."""
    fn_a()
    fn_b()
    best_a = best_b = math.inf
    for _ in range(repeats):
        time.sleep(pause)
        t0 = time.perf_counter()
        fn_a()
        t1 = time.perf_counter()
        time.sleep(pause)
        t2 = time.perf_counter()
        fn_b()
        t3 = time.perf_counter()
        best_a = min(best_a, t1 - t0)
        best_b = min(best_b, t3 - t2)
    return best_a, best_b


def _numpy_stack(depth, width, batch, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((batch, width), dtype=np.float32)
    scale = np.float32(1.0 / math.sqrt(width))
    stats = np.empty((depth, 2))
    for l in range(depth):
        W = rng.standard_normal((width, width), dtype=np.float32) * scale
        h = np.tanh(h @ W)
        stats[l] = h.mean(dtype=np.float64), h.std(dtype=np.float64)
    return stats


def cases(quick=False, threads=None):
    """``[(name, size text, fastinit callable, numpy callable)]``."""
    import fastinit
    from fastinit import init as fi_init
    from fastinit.stack import simulate

    d = QUICK_DIVISOR if quick else 1
    n = SIZES["normal_n"] // d
    m = SIZES["init_m"] // (4 if quick else 1)
    depth = max(2, SIZES["sim_depth"] // (4 if quick else 1))
    width = SIZES["sim_width"] // (4 if quick else 1)
    batch = SIZES["sim_batch"] // (4 if quick else 1)
    out = []
    for dt in (np.float32, np.float64):
        name = np.dtype(dt).name
        out.append((f"normal {name[:1]}{name[5:]}", f"{n:,} values",
                    lambda dt=dt: fastinit.default_rng(0).standard_normal(n, dtype=dt, n_threads=threads),
                    lambda dt=dt: np.random.default_rng(0).standard_normal(n, dtype=dt)))
    out.append(("he_normal", f"{m} x {m} float64",
                lambda: fi_init.network([m, m], "he", seed=0, dtype=np.float64),
                lambda: np.random.randn(m, m) * np.sqrt(2 / m)))
    out.append(("simulate tanh", f"{depth} layers x {width} units, batch {batch}, float32, forward",
                lambda: simulate(depth, width, batch=batch, activation="tanh", init="lecun", seed=0, backward=False,
                                 dtype=np.float32, errors="ignore", n_threads=threads),
                lambda: _numpy_stack(depth, width, batch)))
    return out


def run(quick=False, repeats=5, threads=None, progress=None):
    """Time every case; returns rows ``[case, size, fastinit_ms, numpy_ms, speedup]``."""
    rows = []
    todo = cases(quick, threads)
    for k, (name, size, f_fast, f_np) in enumerate(todo):
        t_fast, t_np = _best_pair(f_fast, f_np, repeats)
        rows.append([name, size, t_fast * 1e3, t_np * 1e3, t_np / t_fast if t_fast > 0 else math.inf])
        if progress is not None:
            progress(k + 1, len(todo))
    return rows


def main(args):
    """Run ``fastinit bench``; returns the exit status."""
    from fastinit import _report
    from fastinit.cli import ProgressBar, _apply_threads, _prepare_out

    out = _prepare_out(args.out) if args.out else None
    _apply_threads(args.threads)
    bar = ProgressBar("bench", enabled=None if not args.quiet else False)
    try:
        rows = run(args.quick, args.repeats, args.threads, bar)
    finally:
        bar.close()
    columns = ["case", "size", "fastinit_ms", "numpy_ms", "speedup"]
    doc = {"machine": machine(), "threads": args.threads, "repeats": args.repeats, "quick": args.quick,
           "columns": columns, "rows": rows,
           "note": "best of repeats; speedup = numpy_ms / fastinit_ms, measured in one run"}
    if out is not None:
        _report.write_json(out / "bench.json", doc)
        _report.write_csv(out / "bench.csv", columns, rows)
    if args.json:
        sys.stdout.write(_report.json_dumps(doc))
    elif args.csv:
        sys.stdout.write(_report.csv_text(columns, rows))
    else:
        print(f"machine: {doc['machine']}")
        print(f"threads: {args.threads or 'default'}; best of {args.repeats} calls per side; "
              "speedup = NumPy time / fastinit time (same run)")
        print(_report.format_table(columns, rows))
    return 0
