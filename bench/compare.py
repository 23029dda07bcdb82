"""Print the sampler's speed ratios against NumPy (and PyTorch when installed) in one run.

    python bench/compare.py [--quick] [--markdown]

Every number is the best of several repeats (a shared machine is noisy), and every ratio compares
two timings taken in this same run on this machine, the two calls alternated (baseline, fastinit,
baseline, ...) so that both minima come from the same stretch of time, with a 0.2 s pause before
each call so that neither side's thread pool is still spinning when the other's call starts. The last column relates fastinit's time to
the machine's memory-write rate, measured here by filling the same output buffer.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

import fastinit
from fastinit._cli_bench import _best as best  # best of N after a warm-up call
from fastinit._cli_bench import _best_pair as best_pair  # the same, two calls alternated

try:
    import torch
except ImportError:
    torch = None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    n = 10**6 if args.quick else 10**7
    rep = 3 if args.quick else 15
    nt = fastinit._core.default_threads()
    rows = []

    def add(case, base_name, t_base, t_fast, nbytes):
        t_fill = best(lambda: fill_buf.fill(1.0), rep) * nbytes / fill_buf.nbytes
        rows.append((case, base_name, t_base, t_fast, t_base / t_fast, t_fill / t_fast))

    fill_buf = np.empty(n, np.float64)
    for dt in (np.float32, np.float64):
        out = np.empty(n, dt)
        g_np = np.random.default_rng(0)
        g_fi = fastinit.default_rng(0)
        for threads in sorted({1, nt}):
            t_np, t_fi = best_pair(lambda: g_np.standard_normal(dtype=dt, out=out),
                                   lambda: g_fi.standard_normal(dtype=dt, out=out, n_threads=threads), rep)
            add(f"standard_normal {np.dtype(dt).name} n={n:.0e}, {threads} thread(s)",
                "Generator.standard_normal(out=)", t_np, t_fi, out.nbytes)
        if torch is not None:
            t = torch.empty(n, dtype=torch.float32 if dt == np.float32 else torch.float64)
            torch.set_num_threads(nt)
            t_t, t_fi = best_pair(lambda: t.normal_(),
                                  lambda: g_fi.standard_normal(dtype=dt, out=out, n_threads=nt), rep)
            add(f"standard_normal {np.dtype(dt).name} n={n:.0e}, {nt} threads", "torch normal_",
                t_t, t_fi, out.nbytes)
        t_np, t_fi = best_pair(lambda: g_np.random(dtype=dt, out=out), lambda: g_fi.random(dtype=dt, out=out), rep)
        add(f"random {np.dtype(dt).name} n={n:.0e}, {nt} threads", "Generator.random(out=)", t_np,
            t_fi, out.nbytes)

    M1, M2 = (1024, 1024) if args.quick else (4096, 3072)
    g_fi = fastinit.default_rng(0)

    def idiom():
        return np.random.randn(M1, M2) * np.sqrt(2 / M1)

    t_idiom, t_fi = best_pair(idiom, lambda: g_fi.normal(0.0, np.sqrt(2 / M1), (M1, M2)), rep)
    add(f"normal(0, sqrt(2/M1), ({M1}, {M2})) float64", "np.random.randn(M1, M2) * np.sqrt(2 / M1)",
        t_idiom, t_fi, M1 * M2 * 8)
    # the same call in float32, the dtype a network keeps its weights in (the idiom has no dtype)
    t_idiom, t_fi = best_pair(idiom, lambda: g_fi.normal(0.0, np.sqrt(2 / M1), (M1, M2), dtype=np.float32), rep)
    add(f"normal(0, sqrt(2/M1), ({M1}, {M2})) float32", "np.random.randn(M1, M2) * np.sqrt(2 / M1)",
        t_idiom, t_fi, M1 * M2 * 4)

    out = np.empty(n, np.float32)

    def trunc():
        return g_fi.truncated_normal(0, 1, -2, 2, dtype=np.float32, out=out)

    if torch is not None:
        t = torch.empty(n)
        t_t, t_fi = best_pair(lambda: torch.nn.init.trunc_normal_(t, 0.0, 1.0, -2.0, 2.0), trunc, rep)
        add(f"truncated_normal [-2, 2] float32 n={n:.0e}", "torch.nn.init.trunc_normal_", t_t, t_fi,
            out.nbytes)
    else:
        from scipy.stats import truncnorm

        m = min(n, 10**6)
        t_fi = best(trunc, rep)
        t_sc = best(lambda: truncnorm.rvs(-2, 2, size=m, random_state=0), 3) * n / m
        add(f"truncated_normal [-2, 2] float32 n={n:.0e}", "scipy truncnorm.rvs (torch absent)",
            t_sc, t_fi, out.nbytes)

    cpu = platform.processor() or platform.machine()
    print(f"# fastinit {fastinit.__version__} on {cpu}, {nt} threads, SIMD path "
          f"{fastinit._core.simd_path()}, NumPy {np.__version__}"
          + (f", torch {torch.__version__}" if torch is not None else ", torch not installed"))
    if args.markdown:
        print("| case | baseline | baseline ms | fastinit ms | speed-up | of memory-write rate |")
        print("|---|---|---:|---:|---:|---:|")
        for case, base, tb, tf, r, mem in rows:
            print(f"| {case} | `{base}` | {tb*1e3:.1f} | {tf*1e3:.2f} | {r:.1f}x | {mem:.0%} |")
    else:
        for case, base, tb, tf, r, mem in rows:
            print(f"{case:55s} {r:6.1f}x  ({tb*1e3:8.2f} ms vs {tf*1e3:7.2f} ms; {base}; "
                  f"{mem:.0%} of memory-write rate)")


if __name__ == "__main__":
    main()
