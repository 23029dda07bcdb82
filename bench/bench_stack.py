"""pytest-benchmark cases for the deep-stack engine, each beside its baselines in the same group.

Run: ``python -m pytest bench/bench_stack.py --benchmark-only`` (``--benchmark-group-by=group``
is the default grouping). Per case ``(L, n, B)`` (float32, tanh with Xavier normal weights, relu
with He normal weights; forward, and forward+backward):

- ``fastinit``: :func:`fastinit.simulate` (weights generated in C from their streams, all
  per-layer statistics, the backward pass regenerating the weights);
- ``numpy``: the loop users write: sample ``W`` with ``np.random.default_rng``, ``x @ W``, the
  activation, mean/std per layer; for the backward pass keep every ``W`` and activation, then
  ``dz = g * phi'``, ``dW = h^T dz`` (its norm) and ``g = dz W^T``;
- ``torch``: the same with PyTorch on the CPU and autograd (``h.sum().backward()``), when torch is
  importable;
- ``sgemm`` (B >= 256 only): the bare single-precision products of the same shapes (L products
  forward, 3 L with the backward pass) through NumPy's BLAS on preallocated arrays: the rate the
  issue's "85% of sgemm" target compares with.

Everything runs with the same thread count (``FASTINIT_BENCH_THREADS``, default all cores), set
for OpenMP, the BLAS (threadpoolctl when installed) and torch. ``extra_info`` records it.
``FASTINIT_BENCH_MEMORY=1`` adds the peak-RSS cases (a fresh interpreter each; see
``test_peak_rss``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastinit
from fastinit import stack

try:
    import torch
except ImportError:  # torch is optional
    torch = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

NT = int(os.environ.get("FASTINIT_BENCH_THREADS", fastinit._core.default_threads()))
CASES = [(100, 512, 1), (100, 512, 64), (10, 500, 1000), (1000, 256, 16), (50, 1024, 256)]
INIT = {"tanh": "xavier_normal", "relu": "he_normal"}
GAIN2 = {"tanh": 1.0, "relu": 2.0}  # variance of W = GAIN2 / fan_in (equal widths)


def _group(act, mode, L, n, B):
    return f"stack {mode} {act} L={L} n={n} B={B} float32"


# ---- the baselines -----------------------------------------------------------------------------

def numpy_stack(L, n, B, act, backward, seed=0):
    """The NumPy loop of the seed notes (float32 throughout, as a user keeps it)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, n), dtype=np.float32)
    scale = np.float32(np.sqrt(GAIN2[act] / n))
    h = x
    Ws, hs = [], [x]
    means, stds = np.empty(L), np.empty(L)
    for l in range(L):
        W = rng.standard_normal((n, n), dtype=np.float32) * scale
        z = h @ W
        h = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
        means[l], stds[l] = h.mean(), h.std()
        if backward:
            Ws.append(W)
            hs.append(h)
    if not backward:
        return means, stds
    g = np.ones_like(h)
    norms = np.empty(L)
    for l in range(L - 1, -1, -1):
        hl = hs[l + 1]
        dz = g * (1 - hl * hl) if act == "tanh" else g * (hl > 0)
        dW = hs[l].T @ dz
        norms[l] = np.linalg.norm(dW)
        g = dz @ Ws[l].T
    return means, stds, norms


def torch_stack(L, n, B, act, backward, seed=0):
    """The same with PyTorch autograd on the CPU (weights as leaf tensors requiring grad)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, n, generator=gen)
    scale = float(np.sqrt(GAIN2[act] / n))
    f = torch.tanh if act == "tanh" else torch.relu
    h = x
    Ws, stats = [], []
    with torch.set_grad_enabled(backward):
        for _ in range(L):
            W = (torch.randn(n, n, generator=gen) * scale).requires_grad_(backward)
            h = f(h @ W)
            stats.append((h.detach().mean(), h.detach().std()))
            Ws.append(W)
        if backward:
            h.sum().backward()
            return [W.grad.norm() for W in Ws]
    return stats


def sgemm_products(L, n, B, backward):
    """The bare products of the stack (same shapes, float32), through NumPy's BLAS into
    preallocated outputs; the weights are one matrix reused (no generation)."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((B, n), dtype=np.float32)
    W = rng.standard_normal((n, n), dtype=np.float32)
    z = np.empty((B, n), np.float32)
    dW = np.empty((n, n), np.float32)
    g = np.empty((B, n), np.float32)

    def run():
        for _ in range(L):
            np.matmul(h, W, out=z)
        if backward:
            for _ in range(L):
                np.matmul(h.T, z, out=dW)
                np.matmul(z, W.T, out=g)
    return run


# ---- the cases -----------------------------------------------------------------------------------

IMPLS = ["fastinit", "numpy", "torch", "sgemm"]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("mode", ["forward", "forward+backward"])
@pytest.mark.parametrize("L,n,B", CASES)
def test_stack(benchmark, L, n, B, mode, act, impl):
    backward = mode != "forward"
    benchmark.group = _group(act, mode, L, n, B)
    benchmark.extra_info.update(n_threads=NT, impl=impl, L=L, n=n, B=B,
                                flops=2.0 * L * B * n * n * (3 if backward else 1))
    rounds = 3 if L * n * n * (B + 8) > 5e9 else 5
    if impl == "fastinit":
        kw = dict(batch=B, activation=act, init=INIT[act], seed=0, backward=backward,
                  dtype=np.float32, n_threads=NT, errors="ignore")
        stack.simulate(min(L, 3), n, **kw)  # warm-up: thread pool, page faults
        benchmark.pedantic(stack.simulate, args=(L, n), kwargs=kw, rounds=rounds, iterations=1)
    elif impl == "numpy":
        with _blas_threads(NT):
            benchmark.pedantic(numpy_stack, args=(L, n, B, act, backward), rounds=rounds,
                               iterations=1)
    elif impl == "torch":
        if torch is None:
            pytest.skip("torch is not installed (optional baseline)")
        torch.set_num_threads(NT)
        benchmark.pedantic(torch_stack, args=(L, n, B, act, backward), rounds=rounds,
                           iterations=1)
    else:
        if B < 256:
            pytest.skip("the sgemm rate is the target for B >= 256 only")
        with _blas_threads(NT):
            benchmark.pedantic(sgemm_products(L, n, B, backward), rounds=rounds, iterations=1)


class _blas_threads:
    """threadpoolctl's limit on the BLAS pool when available (else the BLAS's own default)."""

    def __init__(self, n):
        self.ctx = threadpool_limits(limits=n, user_api="blas") if threadpool_limits else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.unregister()


# ---- peak memory -------------------------------------------------------------------------------

MEMORY_CASES = [
    # (label, code run in a fresh interpreter)
    ("fastinit forward+backward L=10000 n=512 B=64",
     "stack.simulate(10000, 512, batch=64, activation='tanh', init='xavier_normal', seed=0, "
     "errors='ignore')"),
    ("fastinit forward L=100000 n=256 B=16",
     "stack.simulate(100000, 256, batch=16, activation='tanh', init='xavier_normal', seed=0, "
     "backward=False, errors='ignore')"),
]


def peak_rss(code: str, timeout: float = 3600) -> tuple[float, float, float]:
    """(peak RSS in MB after the imports, peak RSS in MB at the end, seconds) of `code` run in
    a fresh interpreter (resource.getrusage's ru_maxrss)."""
    prog = textwrap.dedent("""
        import resource, time, numpy as np
        from fastinit import stack
        print('BASE', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        t = time.perf_counter()
    """) + code + textwrap.dedent("""
        print('SECONDS', time.perf_counter() - t)
        print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                         timeout=timeout, check=True)
    v = dict(line.split() for line in out.stdout.splitlines()
             if line.split()[0] in ("BASE", "PEAK", "SECONDS"))
    return float(v["BASE"]), float(v["PEAK"]), float(v["SECONDS"])


@pytest.mark.skipif(not os.environ.get("FASTINIT_BENCH_MEMORY"),
                    reason="set FASTINIT_BENCH_MEMORY=1 (minutes per case)")
@pytest.mark.parametrize("label,code", MEMORY_CASES, ids=[c[0] for c in MEMORY_CASES])
def test_peak_rss(benchmark, label, code):
    benchmark.group = "peak RSS"
    res = {}

    def run():
        res["base"], res["peak"], res["seconds"] = peak_rss(code)

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(label=label, n_threads=NT, peak_rss_mb=res["peak"],
                                base_rss_mb=res["base"], seconds=res["seconds"])
    print(f"\n{label}: peak RSS {res['peak']:.0f} MB (after imports {res['base']:.0f} MB), "
          f"{res['seconds']:.1f} s")
    assert res["peak"] < 2500


if __name__ == "__main__":  # python bench/bench_stack.py: the peak-RSS table alone
    for label, code in MEMORY_CASES:
        base, peak, sec = peak_rss(code)
        print(f"{label}: peak RSS {peak:.0f} MB (after imports {base:.0f} MB), {sec:.1f} s, "
              f"n_threads {NT}, load {os.getloadavg()[0]:.1f}")
