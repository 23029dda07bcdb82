"""Bitwise tests of the sampler's fast paths against the pure-NumPy reference (tests/reference.py).

The truncated normal by rejection queues rejected slots and resolves them in batches (retry-stream
Philox blocks eight lanes at a time, the inverse CDF with central-region and tail retries packed
apart); the float64 kernels load word pairs in a lane order of their own on AVX2 and store it back.
These tests drive those paths through many rejections, buffer flushes, partial groups at either
end, chunk boundaries and thread counts, on both SIMD paths."""

import numpy as np
import pytest

import fastinit
from fastinit import _core

import reference as ref

KEY, STREAM = (0x2545F491, 0x4F6CDD1D), 9


def gen(position):
    g = fastinit.default_rng(0)
    g._key = KEY
    g._stream = STREAM
    g._pos = position
    return g


def reference(dtype, v0, n, a, b, loc, scale):
    tn = _core.truncnorm_params(a, b, loc, scale, np.dtype(dtype) == np.float32)
    return ref.draw("truncated_normal", dtype, KEY, STREAM, v0, n, tn=tn), tn


# Rejection intervals (mass >= 0.9): many retries, retries from both sides, retries whose
# inverse CDF lands in the tail region (p < 0.075) as well as the central one.
REJECT = [(-2.0, 2.0, 0.0, 1.0), (-1.7, 1.7, 0.5, 3.0), (-1.3, 2.8, -2.0, 0.25), (-6.0, 1.35, 0.0, 1.0),
          (-1.4, 7.0, 1.0, 1e-3)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a,b,loc,scale", REJECT)
def test_rejection_retries_bitwise(simd, dtype, a, b, loc, scale):
    per = 32 if dtype == np.float32 else 16
    for position, n in [(0, 5000), (2 * 7 + 1, 3001), (2 * per * 1000 - 6, 77), (62, 1), (5, 40)]:
        got = gen(position).truncated_normal(loc, scale, a, b, n, dtype=dtype, n_threads=1)
        v0 = position if dtype == np.float32 else (position + 1) // 2
        want, tn = reference(dtype, v0, n, a, b, loc, scale)
        assert tn["tn_mass"] >= 0.9  # the rejection path
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rejection_retry_counts_and_regions(dtype):
    # the intervals above really take many retries, from both regions of the inverse CDF
    n = 200_000
    for a, b, loc, scale in REJECT[:4]:
        tn = _core.truncnorm_params(a, b, loc, scale, np.dtype(dtype) == np.float32)
        y = fastinit.default_rng(1).normal(loc, scale, n, dtype=dtype)
        outside = (y < dtype(tn["out_lo"])) | (y > dtype(tn["out_hi"]))
        assert outside.mean() > 0.03
    for a, b in [(-1.3, 2.8), (-6.0, 1.35)]:
        tn = _core.truncnorm_params(a, b, 0.0, 1.0, False)
        u = (np.arange(1, 1000) + 0.5) / 1000
        p = np.minimum(u * tn["tn_mass"] + tn["tn_pa"], (1 - u) * tn["tn_mass"] + tn["tn_qb"])
        assert (p < 0.075).any() and (p > 0.075).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rejection_threads_and_chunks(simd, dtype):
    # several 65536-value chunks, a partial one, odd thread counts: the same bits as the reference
    n = 3 * 65536 + 4321
    a, b, loc, scale = REJECT[1]
    outs = [gen(3).truncated_normal(loc, scale, a, b, n, dtype=dtype, n_threads=t) for t in (1, 2, 3)]
    v0 = 3 if dtype == np.float32 else 2
    want, _ = reference(dtype, v0, n, a, b, loc, scale)
    for o in outs:
        np.testing.assert_array_equal(o.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rejection_split_calls(simd, dtype):
    # every split point of a 200-value request inside and across groups
    a, b, loc, scale = REJECT[0]
    whole = gen(0).truncated_normal(loc, scale, a, b, 200, dtype=dtype)
    for k in range(0, 201, 7):
        g = gen(0)
        out = np.empty_like(whole)
        g.truncated_normal(loc, scale, a, b, out=out[:k], dtype=dtype)
        g.truncated_normal(loc, scale, a, b, out=out[k:], dtype=dtype)
        np.testing.assert_array_equal(out.view(np.uint8), whole.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a,b", [(-1.0, 1.0), (0.0, 1.0), (-40.0, -6.0), (6.5, 7.5), (-0.2, 0.1)])
def test_inverse_cdf_bitwise(simd, dtype, a, b):
    # narrow or far intervals: the inverse CDF evaluates only the regions its lanes need
    for position, n in [(0, 3000), (9, 333)]:
        got = gen(position).truncated_normal(0.0, 1.0, a, b, n, dtype=dtype)
        v0 = position if dtype == np.float32 else (position + 1) // 2
        want, tn = reference(dtype, v0, n, a, b, 0.0, 1.0)
        assert tn["tn_mass"] < 0.9
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("position", [0, 1, 2, 5, 31, 33, 64])
def test_float64_normal_lane_order(simd, position):
    # float64 pairs go through a lane order of their own on AVX2: every offset and length
    for n in (1, 3, 8, 15, 16, 17, 40, 1000):
        got = gen(position).normal(0.5, 2.0, n)
        v0 = (position + 1) // 2
        want = ref.draw("normal", np.float64, KEY, STREAM, v0, n, loc=0.5, scale=2.0)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
