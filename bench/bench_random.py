"""pytest-benchmark cases for the sampler, each beside its NumPy (and PyTorch) baseline in the
same group. Run: ``python -m pytest bench/bench_random.py --benchmark-only``
(``FASTINIT_BENCH_LONG=1`` adds the 1e8-element cases)."""

import os

import numpy as np
import pytest

import fastinit

try:
    import torch
except ImportError:  # torch is optional
    torch = None

SIZES = [10**3, 10**5, 10**7] + ([10**8] if os.environ.get("FASTINIT_BENCH_LONG") else [])
ALL = fastinit._core.default_threads()


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("impl", ["numpy", "fastinit-1", f"fastinit-{ALL}", "torch"])
def test_standard_normal(benchmark, impl, dtype, n):
    benchmark.group = f"standard_normal {dtype} n={n:.0e}"
    benchmark.extra_info["n_threads"] = impl
    if impl == "numpy":
        g = np.random.default_rng(0)
        out = np.empty(n, dtype)
        benchmark(g.standard_normal, dtype=dtype, out=out)
    elif impl == "torch":
        if torch is None:
            pytest.skip("torch is not installed (optional baseline)")
        t = torch.empty(n, dtype=getattr(torch, dtype))
        torch.set_num_threads(ALL)
        benchmark(t.normal_)
    else:
        nt = int(impl.split("-")[1])
        g = fastinit.default_rng(0)
        out = np.empty(n, dtype)
        benchmark(g.standard_normal, dtype=dtype, out=out, n_threads=nt)


@pytest.mark.parametrize("shape", [(1024, 1024), (4096, 3072)])
@pytest.mark.parametrize("impl", ["numpy-idiom", "numpy-generator", "fastinit"])
def test_scaled_normal(benchmark, impl, shape):
    """The seed idiom np.random.randn(M1, M2) * np.sqrt(2 / M1) against normal(0, s, (M1, M2))."""
    M1, M2 = shape
    benchmark.group = f"normal(0, sqrt(2/M1), {shape}) float64"
    if impl == "numpy-idiom":
        benchmark(lambda: np.random.randn(M1, M2) * np.sqrt(2 / M1))
    elif impl == "numpy-generator":
        g = np.random.default_rng(0)
        benchmark(lambda: g.normal(0.0, np.sqrt(2 / M1), (M1, M2)))
    else:
        g = fastinit.default_rng(0)
        benchmark(lambda: g.normal(0.0, np.sqrt(2 / M1), (M1, M2)))


@pytest.mark.parametrize("n", [10**5, 10**7])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ab", [(-2.0, 2.0), (-1.0, 1.0)])  # rejection; inverse CDF (mass < 0.9)
@pytest.mark.parametrize("impl", ["torch-trunc_normal_", "scipy-truncnorm", "fastinit"])
def test_truncated_normal(benchmark, impl, ab, dtype, n):
    a, b = ab
    benchmark.group = f"truncated normal [{a:g}, {b:g}] {dtype} n={n:.0e}"
    if impl == "torch-trunc_normal_":
        if torch is None:
            pytest.skip("torch is not installed (optional baseline)")
        t = torch.empty(n, dtype=getattr(torch, dtype))
        benchmark(torch.nn.init.trunc_normal_, t, 0.0, 1.0, a, b)
    elif impl == "scipy-truncnorm":
        from scipy.stats import truncnorm

        if n > 10**5:
            pytest.skip("scipy is too slow for the large case")
        rs = np.random.default_rng(0)
        benchmark(lambda: truncnorm.rvs(a, b, size=n, random_state=rs).astype(dtype))
    else:
        g = fastinit.default_rng(0)
        out = np.empty(n, dtype)
        benchmark(g.truncated_normal, 0.0, 1.0, a, b, dtype=dtype, out=out)


@pytest.mark.parametrize("impl", ["numpy", "fastinit"])
def test_uniform(benchmark, impl):
    n = 10**7
    benchmark.group = "uniform float32 n=1e7"
    out = np.empty(n, np.float32)
    g = np.random.default_rng(0) if impl == "numpy" else fastinit.default_rng(0)
    benchmark(g.random, dtype=np.float32, out=out)
