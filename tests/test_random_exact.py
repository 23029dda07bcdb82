"""Bit-for-bit agreement of the sampler with the pure-NumPy reference (tests/reference.py),
the Random123 known answers, and the invariances the stream layout promises."""

import numpy as np
import pytest

import fastinit
from fastinit import _core

import reference as ref

KEYS = [(0, 0), (0xFFFFFFFF, 0xFFFFFFFF), (0x12345678, 0x9ABCDEF0)]

# Random123's published Philox4x32-10 test vectors (kat_vectors), also in shared/reliability.md.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    assert _core.philox4x32_10(ctr, key) == expected
    assert tuple(int(v) for v in ref.philox4x32_10(np.array([ctr]), key)[0]) == expected


def gen(key, stream=0, position=0):
    g = fastinit.default_rng(0)
    g._key = key  # pin the key directly: the layout, not SeedSequence, is under test
    g._stream = stream
    g._pos = position
    return g


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("stream", [0, 1, 2**32 + 5, 2**63 - 1, 2**64 - 1])
def test_raw_words_match_reference(simd, key, stream):
    # (gen() pins the stream id directly, so the reserved retry ids are covered too)
    for p0, n in [(0, 100), (31, 97), (32 * 1000 + 5, 64)]:
        got = gen(key, stream, p0).raw(n)
        np.testing.assert_array_equal(got, ref.stream_words(key, stream, p0, n))


def test_block_counter_carries_into_high_word(simd):
    # Group 2^29 starts at block 2^32: the block index carries from counter word 0 into word 1.
    key = KEYS[2]
    p0 = 32 * (2**29) - 40
    got = gen(key, 7, p0).raw(80)
    np.testing.assert_array_equal(got, ref.stream_words(key, 7, p0, 80))
    # the float32 normal fill's own group loop refreshes the carry-dependent Philox prefix too
    for dtype in (np.float32, np.float64):
        v0 = p0 - 101 if dtype == np.float32 else (p0 - 100) // 2
        got = gen(key, 7, p0 - 101).normal(0.5, 2.0, 301, dtype=dtype)
        want = ref.draw("normal", dtype, key, 7, v0, 301, loc=0.5, scale=2.0)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
    # block 2^32 - 1 and block 2^32 by the scalar function
    for block in (2**32 - 1, 2**32):
        ctr = (block & 0xFFFFFFFF, block >> 32, 7, 0)
        assert _core.philox4x32_10(ctr, key) == tuple(int(v) for v in ref.philox4x32_10(np.array([ctr]), key)[0])


CASES = [
    ("normal", {"loc": 0.0, "scale": 1.0}),
    ("normal", {"loc": -1.5, "scale": 0.0625}),
    ("uniform", {"low": 0.0, "high": 1.0}),
    ("uniform", {"low": -3.0, "high": 7.5}),
    ("truncated_normal", {"a": -2.0, "b": 2.0}),
    ("truncated_normal", {"a": 2.0, "b": 3.0}),
    ("truncated_normal", {"a": 8.0, "b": 9.0}),
    ("truncated_normal", {"a": -9.0, "b": -8.0}),
    ("truncated_normal", {"a": -np.inf, "b": 0.5}),
    ("truncated_normal", {"a": -0.1, "b": 30.0, "loc": 3.0, "scale": 2.5}),
]


def _draw_fastinit(g, kind, dtype, n, prm):
    if kind == "normal":
        return g.normal(prm["loc"], prm["scale"], n, dtype=dtype)
    if kind == "uniform":
        return g.uniform(prm["low"], prm["high"], n, dtype=dtype)
    return g.truncated_normal(prm.get("loc", 0.0), prm.get("scale", 1.0), prm["a"], prm["b"], n, dtype=dtype)


def _draw_reference(kind, dtype, key, stream, v0, n, prm):
    if kind == "truncated_normal":
        tn = _core.truncnorm_params(prm["a"], prm["b"], prm.get("loc", 0.0), prm.get("scale", 1.0),
                                    np.dtype(dtype) == np.float32)
        return ref.draw(kind, dtype, key, stream, v0, n, tn=tn)
    return ref.draw(kind, dtype, key, stream, v0, n, **prm)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,prm", CASES)
def test_transforms_bitwise_equal_reference(simd, kind, prm, dtype):
    key, stream = KEYS[2], 3
    for position, n in [(0, 2000), (13, 1001)]:
        g = gen(key, stream, position)
        got = _draw_fastinit(g, kind, dtype, n, prm)
        v0 = position if dtype == np.float32 else (position + 1) // 2
        want = _draw_reference(kind, dtype, key, stream, v0, n, prm)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,prm", [CASES[0], CASES[3], CASES[4]])
def test_same_bits_on_every_simd_path(kind, prm, dtype):
    results, before = [], fastinit._core.simd_path()
    try:
        for path in ("baseline", "avx2"):
            assert fastinit.set_simd_path(path) == path
            results.append(_draw_fastinit(fastinit.default_rng(99), kind, dtype, 100_003, prm))
    finally:
        fastinit.set_simd_path(before)  # FASTINIT_SIMD=baseline runs stay on baseline
    np.testing.assert_array_equal(results[0].view(np.uint8), results[1].view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["standard_normal", "random", "truncated_normal"])
def test_thread_count_does_not_change_bits(method, dtype):
    n = 3 * 65536 + 12345  # several chunks plus a partial one
    outs = [getattr(fastinit.default_rng(5), method)(size=n, dtype=dtype, n_threads=t)
            for t in (1, 2, 3, 7)]
    for o in outs[1:]:
        np.testing.assert_array_equal(o.view(np.uint8), outs[0].view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["standard_normal", "random", "truncated_normal", "raw"])
def test_split_calls_equal_one_call(method, dtype):
    n = 1000
    kwargs = {} if method == "raw" else {"dtype": dtype}
    whole = getattr(fastinit.default_rng(11), method)(size=n, **kwargs)
    for k in (0, 1, 7, 31, 32, 33, 500, 999):
        g = fastinit.default_rng(11)
        out = np.empty_like(whole)
        getattr(g, method)(out=out[:k], **kwargs)
        getattr(g, method)(out=out[k:], **kwargs)
        np.testing.assert_array_equal(out, whole)
    # prefix property: a shorter request is a prefix of a longer one
    short = getattr(fastinit.default_rng(11), method)(size=77, **kwargs)
    np.testing.assert_array_equal(short, whole[:77])


def test_float64_after_odd_float32_skips_one_word():
    g = fastinit.default_rng(3)
    g.standard_normal(3, dtype=np.float32)
    assert g.position == 3
    x = g.standard_normal(5)
    assert g.position == 4 + 10
    h = fastinit.default_rng(3).advance(4)
    np.testing.assert_array_equal(x, h.standard_normal(5))


def test_c_and_fortran_out_fill_memory_order():
    c = np.empty((7, 9), dtype=np.float32)
    f = np.empty((7, 9), dtype=np.float32, order="F")
    fastinit.default_rng(1).standard_normal(out=c, dtype=np.float32)
    fastinit.default_rng(1).standard_normal(out=f, dtype=np.float32)
    flat = fastinit.default_rng(1).standard_normal(63, dtype=np.float32)
    np.testing.assert_array_equal(c.ravel(order="C"), flat)
    np.testing.assert_array_equal(f.ravel(order="F"), flat)


def _words(groups):
    return np.ascontiguousarray(groups, dtype=np.uint32).reshape(-1)


def test_normal_extremes_from_extreme_words():
    # word 0 in the radius slot gives the largest radius; all-ones the smallest.
    for dtype, reach in ((np.float32, 6.6), (np.float64, 8.5)):
        per = 32 if dtype == np.float32 else 16
        words = np.zeros((4, 32), np.uint32)
        words[1] = 0xFFFFFFFF
        words[2, ::2] = 0xFFFFFFFF
        words[3] = np.arange(32, dtype=np.uint32) * 0x08000001
        out = np.empty(4 * per, dtype=dtype)
        _core.transform_words("normal", _words(words), out)
        assert np.all(np.isfinite(out))
        assert np.abs(out).max() >= reach
        want = ref.transform_groups("normal", dtype, words).reshape(-1)
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_never_reaches_one_and_truncnorm_never_a_bound(dtype):
    per = 32 if dtype == np.float32 else 16
    words = np.stack([np.zeros(32, np.uint32), np.full(32, 0xFFFFFFFF, np.uint32)])
    out = np.empty(2 * per, dtype=dtype)
    _core.transform_words("uniform", _words(words), out)
    assert out.min() == 0.0 and out.max() < 1.0
    for a, b in [(-2.0, 2.0), (8.0, 9.0), (-1e-3, 1e-3)]:
        _core.transform_words("truncated_normal", _words(words), out, a=a, b=b)
        assert np.all(out > dtype(a)) and np.all(out < dtype(b)), (a, b, out.min(), out.max())


def test_truncnorm_parameters_are_accurate():
    from scipy.special import ndtr

    for a, b in [(-2.0, 2.0), (8.0, 9.0), (-9.0, -8.0), (2.0, 3.0), (-np.inf, 0.0)]:
        p = _core.truncnorm_params(a, b, 0.0, 1.0, False)
        assert p["tn_pa"] == pytest.approx(ndtr(a), rel=1e-14, abs=0)
        assert p["tn_qb"] == pytest.approx(ndtr(-b), rel=1e-14, abs=0)
        mass = ndtr(-a) - ndtr(-b) if a >= 0 else ndtr(b) - ndtr(a)
        assert p["tn_mass"] == pytest.approx(mass, rel=1e-12)


def test_ndtri_accuracy():
    from scipy.special import ndtri

    p = np.concatenate([np.geomspace(1e-300, 0.5, 20000), np.linspace(0.01, 0.5, 20000)])
    got = ref.ndtri_lower(p)
    np.testing.assert_allclose(got, ndtri(p), rtol=1e-14, atol=1e-15)


def test_log_and_sincos_accuracy():
    x = np.geomspace(2.0**-54, 1.0, 200001)
    np.testing.assert_allclose(ref.log_f64(x), np.log(x), rtol=4e-16, atol=4e-16)
    xf = x[x >= 2.0**-33].astype(np.float32)
    np.testing.assert_allclose(ref.log_f32(xf), np.log(xf.astype(np.float64)), rtol=2e-7, atol=1e-7)
    t = np.linspace(-0.5, 0.5, 100001)
    s, c = ref.sincos_halfpi_f64(t)
    np.testing.assert_allclose(s, np.sin(t * np.pi / 2), rtol=0, atol=3e-16)
    np.testing.assert_allclose(c, np.cos(t * np.pi / 2), rtol=0, atol=3e-16)
    s, c = ref.sincos_halfpi_f32(t.astype(np.float32))
    np.testing.assert_allclose(s, np.sin(t.astype(np.float32) * np.pi / 2), rtol=0, atol=2e-7)
    np.testing.assert_allclose(c, np.cos(t.astype(np.float32) * np.pi / 2), rtol=0, atol=2e-7)
