"""pytest-benchmark cases for fastinit.init, each in the same group as its NumPy idiom and (when
installed) torch.nn.init. Run: ``python -m pytest bench/bench_init.py --benchmark-only``
(``FASTINIT_BENCH_LONG=1`` adds orthogonal 4096 x 4096)."""

import os

import numpy as np
import pytest

import fastinit
import fastinit.init as fi

try:
    import torch
except ImportError:  # torch is optional
    torch = None

ALL = fastinit._core.default_threads()
SHAPE = (4096, 3072)  # (fan_in, fan_out); torch's layout is the transpose (out, in)
ORTHO = [1024] + ([4096] if os.environ.get("FASTINIT_BENCH_LONG") else [])


def _torch(benchmark, fn, shape, *args, **kw):
    if torch is None:
        pytest.skip("torch is not installed (optional baseline)")
    torch.set_num_threads(ALL)
    t = torch.empty(shape)
    benchmark(fn, t, *args, **kw)


def _fastinit(benchmark, impl, new, inplace, **kw):
    """A new array (as the NumPy idiom returns) or the in-place twin on a preallocated array."""
    g = fastinit.default_rng(0)
    if impl == "fastinit":
        benchmark(new, SHAPE, rng=g, **kw)
    else:
        out = np.empty(SHAPE, np.float32)
        benchmark(inplace, out, rng=g, **kw)


@pytest.mark.parametrize("impl", ["numpy-idiom", "numpy-generator", "fastinit", "fastinit-inplace",
                                  "torch"])
def test_he_normal(benchmark, impl):
    fan_in, fan_out = SHAPE
    benchmark.group = f"he_normal {SHAPE} float32"
    benchmark.extra_info["n_threads"] = ALL
    if impl == "numpy-idiom":  # the seed notes' idiom, cast to the network's float32
        rs = np.random.default_rng(0)
        benchmark(lambda: (rs.standard_normal(SHAPE) * np.sqrt(2 / fan_in)).astype(np.float32))
    elif impl == "numpy-generator":  # NumPy's best float32 path: standard_normal into out=, scale
        rs = np.random.default_rng(0)
        out = np.empty(SHAPE, np.float32)

        def run():
            rs.standard_normal(dtype=np.float32, out=out)
            np.multiply(out, np.float32(np.sqrt(2 / fan_in)), out=out)
        benchmark(run)
    elif impl.startswith("fastinit"):
        _fastinit(benchmark, impl, fi.he_normal, fi.he_normal_)
    else:
        _torch(benchmark, torch.nn.init.kaiming_normal_, SHAPE[::-1], nonlinearity="relu")


@pytest.mark.parametrize("impl", ["numpy-idiom", "fastinit", "fastinit-inplace", "torch"])
def test_xavier_uniform(benchmark, impl):
    fan_in, fan_out = SHAPE
    bound = np.sqrt(6 / (fan_in + fan_out))
    benchmark.group = f"xavier_uniform {SHAPE} float32"
    benchmark.extra_info["n_threads"] = ALL
    if impl == "numpy-idiom":
        rs = np.random.default_rng(0)
        benchmark(lambda: rs.uniform(-bound, bound, SHAPE).astype(np.float32))
    elif impl.startswith("fastinit"):
        _fastinit(benchmark, impl, fi.xavier_uniform, fi.xavier_uniform_)
    else:
        _torch(benchmark, torch.nn.init.xavier_uniform_, SHAPE[::-1])


@pytest.mark.parametrize("impl", ["scipy-truncnorm", "fastinit", "torch"])
def test_truncated_normal(benchmark, impl):
    benchmark.group = f"truncated_normal(std=0.02, [-2, 2] sd) {SHAPE} float32"
    benchmark.extra_info["n_threads"] = ALL
    if impl == "scipy-truncnorm":
        from scipy.stats import truncnorm

        rs = np.random.default_rng(0)
        benchmark.pedantic(lambda: truncnorm.rvs(-2, 2, scale=0.02, size=SHAPE,
                                                 random_state=rs).astype(np.float32),
                           rounds=3, iterations=1)
    elif impl == "fastinit":
        g = fastinit.default_rng(0)
        out = np.empty(SHAPE, np.float32)
        benchmark(fi.truncated_normal_, out, std=0.02, rng=g)
    else:  # torch's bounds are absolute: a = -2 * std, b = 2 * std
        _torch(benchmark, torch.nn.init.trunc_normal_, SHAPE[::-1], 0.0, 0.02, -0.04, 0.04)


@pytest.mark.parametrize("n", ORTHO)
@pytest.mark.parametrize("impl", ["numpy-qr", "fastinit", "torch"])
def test_orthogonal(benchmark, impl, n):
    benchmark.group = f"orthogonal {n}x{n} float32"
    benchmark.extra_info["n_threads"] = ALL
    rounds = 3 if n >= 4096 else 5
    if impl == "numpy-qr":  # the textbook recipe with NumPy: QR of a Gaussian matrix, sign fix
        rs = np.random.default_rng(0)

        def run():
            q, r = np.linalg.qr(rs.standard_normal((n, n), dtype=np.float32))
            return q * np.sign(np.diagonal(r))
        benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    elif impl == "fastinit":
        g = fastinit.default_rng(0)
        benchmark.pedantic(fi.orthogonal, ((n, n),), {"rng": g}, rounds=rounds, iterations=1,
                           warmup_rounds=1)
    else:
        if torch is None:
            pytest.skip("torch is not installed (optional baseline)")
        torch.set_num_threads(ALL)
        t = torch.empty(n, n)
        benchmark.pedantic(torch.nn.init.orthogonal_, (t,), rounds=rounds, iterations=1,
                           warmup_rounds=1)
