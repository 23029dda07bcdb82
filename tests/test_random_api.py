"""The Generator and fastinit.random behave like NumPy's: shapes, dtypes, scalars, exceptions
with NumPy's wording, and nothing moves or is written after an argument error. Plus threads,
fork, pickling, spawning and the NumPy bit generator."""

import copy
import hashlib
import multiprocessing as mp
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastinit
from fastinit import random as fr

METHODS = ["standard_normal", "random", "normal", "uniform", "truncated_normal"]


def call(g, method, *args, **kw):
    return getattr(g, method)(*args, **kw)


@pytest.mark.parametrize("method", METHODS)
def test_shapes_dtypes_and_scalars(method):
    g = fastinit.default_rng(0)
    assert isinstance(call(g, method), float)
    assert isinstance(call(g, method, dtype=np.float32), float)
    assert call(g, method, size=(3, 4)).shape == (3, 4)
    assert call(g, method, size=5).dtype == np.float64
    assert call(g, method, size=[2, 3], dtype=np.float32).dtype == np.float32
    assert call(g, method, size=np.int64(3)).shape == (3,)
    assert call(g, method, size=0).shape == (0,)
    assert call(g, method, size=(2, 0, 3)).shape == (2, 0, 3)
    assert call(g, method, size=()).shape == ()


BAD_SIZE = [
    (-1, ValueError, "negative dimensions are not allowed"),
    ((2, -1), ValueError, "negative dimensions are not allowed"),
    (2.5, TypeError, "expected a sequence of integers or a single integer, got '2.5'"),
    ("a", TypeError, "'str' object cannot be interpreted as an integer"),
    ((2.0, 3), TypeError, "'float' object cannot be interpreted as an integer"),
    (True, TypeError, "expected a sequence of integers or a single integer, got 'True'"),
    (2**62, ValueError, "array is too big"),
    ((2**32, 2**32), ValueError, "array is too big"),
    (2**64, ValueError, "Maximum allowed dimension exceeded"),
    (2**45, MemoryError, "Unable to allocate 256. TiB"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("size,exc,msg", BAD_SIZE)
def test_bad_size_matches_numpy(method, size, exc, msg):
    g = fastinit.default_rng(0)
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call(g, method, size=size)
    assert g.position == 0
    # the message is NumPy's own
    if method in ("standard_normal", "random"):
        with pytest.raises(exc) as npexc:
            getattr(np.random.default_rng(0), method)(size)
        assert msg in str(npexc.value)


BAD_PARAMS = [
    ("normal", dict(scale=-1.0), ValueError, "scale < 0"),
    ("normal", dict(scale=-0.0), ValueError, "scale < 0"),
    ("normal", dict(scale=np.nan), ValueError, "scale must be finite"),
    ("normal", dict(scale=np.inf), ValueError, "scale must be finite"),
    ("normal", dict(loc=np.nan), ValueError, "loc must be finite"),
    ("normal", dict(loc=-np.inf), ValueError, "loc must be finite"),
    ("uniform", dict(low=2.0, high=1.0), ValueError, "high - low < 0"),
    ("uniform", dict(low=0.0, high=np.inf), OverflowError, "high - low range exceeds valid bounds"),
    ("uniform", dict(low=-1e308, high=1e308), OverflowError, "high - low range exceeds valid bounds"),
    ("truncated_normal", dict(a=1.0, b=1.0), ValueError, "a >= b"),
    ("truncated_normal", dict(a=2.0, b=-2.0), ValueError, "a >= b"),
    ("truncated_normal", dict(a=np.nan, b=1.0), ValueError, "a >= b"),
    ("truncated_normal", dict(scale=-1.0), ValueError, "scale < 0"),
    ("truncated_normal", dict(a=60.0, b=61.0), ValueError, "cannot be sampled"),
    ("standard_normal", dict(dtype=np.int32), TypeError, r"Unsupported dtype dtype\('int32'\) for standard_normal"),
    ("random", dict(dtype=np.float16), TypeError, "Unsupported dtype"),
    ("normal", dict(n_threads=0), ValueError, "n_threads"),
    ("normal", dict(n_threads=1.5), TypeError, "n_threads"),
]


@pytest.mark.parametrize("method,kw,exc,msg", BAD_PARAMS)
def test_bad_parameters(method, kw, exc, msg):
    g = fastinit.default_rng(0)
    with pytest.raises(exc, match=msg):
        call(g, method, size=4, **kw)
    assert g.position == 0


OUT_CASES = [
    (np.empty(4, np.float32), {}, TypeError, "Supplied output array has the wrong type. Expected float64, got float32"),
    (np.empty(8)[::2], {}, ValueError, "must be contiguous, writable, aligned"),
    (np.empty(4).newbyteorder() if hasattr(np.ndarray, "newbyteorder") else np.empty(4, ">f8"), {}, ValueError, "machine byte-order"),
    (np.frombuffer(bytearray(33), np.float64, 4, 1), {}, ValueError, "aligned"),
    (np.empty(3), {"size": 4}, ValueError, "size must match out.shape when used together"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("out,kw,exc,msg", OUT_CASES)
def test_bad_out_is_not_written(method, out, kw, exc, msg):
    g = fastinit.default_rng(0)
    if out.flags.writeable:
        out[...] = 123.0
    before = out.copy()
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call(g, method, out=out, **kw)
    assert g.position == 0
    np.testing.assert_array_equal(out, before)


def test_read_only_out():
    out = np.zeros(4)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        fastinit.default_rng(0).standard_normal(out=out)


def test_fortran_out_accepted_and_size_agrees():
    out = np.empty((3, 5), order="F")
    assert fastinit.default_rng(0).normal(0, 1, size=(3, 5), out=out) is out


def test_seeds_like_numpy():
    with pytest.raises(ValueError, match="expected non-negative integer"):
        fastinit.default_rng(-1)
    with pytest.raises(TypeError, match="SeedSequence expects int or sequence of ints for entropy not 0.5"):
        fastinit.default_rng(0.5)
    with pytest.raises(TypeError, match="SeedSequence expects int or sequence of ints"):
        fastinit.default_rng("abc")
    a = fastinit.default_rng(np.random.SeedSequence(5)).random(3)
    b = fastinit.default_rng(5).random(3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fastinit.default_rng(6).random(3), b)
    # seed=None draws OS entropy
    assert not np.array_equal(fastinit.default_rng().random(4), fastinit.default_rng().random(4))


def test_legacy_module_behaves_like_np_random():
    fr.seed(0)
    a = fr.randn(3, 4)
    assert a.shape == (3, 4) and a.dtype == np.float64
    assert isinstance(fr.randn(), float) and isinstance(fr.rand(), float)
    assert fr.rand(2, 3).shape == (2, 3)
    assert fr.standard_normal((2, 2)).shape == (2, 2)
    assert fr.normal(1.0, 2.0, 5).shape == (5,)
    assert fr.uniform(-1, 1, size=(2,)).shape == (2,)
    fr.seed(0)
    np.testing.assert_array_equal(fr.randn(3, 4), a)
    # the seed idiom works unchanged
    M1, M2 = 64, 32
    W = fr.randn(M1, M2) * np.sqrt(2 / M1)
    assert W.shape == (M1, M2) and W.dtype == np.float64
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        fr.seed(-1)
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        fr.seed(2**32)
    with pytest.raises(TypeError):
        fr.seed(0.5)
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        fr.randn(2.5)
    with pytest.raises(ValueError, match="negative dimensions are not allowed"):
        fr.randn(-1)
    with pytest.raises(ValueError, match="scale < 0"):
        fr.normal(0, -1)


def test_pickle_copy_and_deepcopy_continue_the_stream():
    g = fastinit.default_rng(42)
    g.standard_normal(17, dtype=np.float32)
    for clone in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g), copy.copy(g)):
        np.testing.assert_array_equal(clone.standard_normal(100), copy.deepcopy(g).standard_normal(100))
    h = copy.deepcopy(g)
    np.testing.assert_array_equal(g.random(10), h.random(10))


def test_advance_matches_drawing():
    g = fastinit.default_rng(1)
    g.raw(1000)
    h = fastinit.default_rng(1).advance(1000)
    np.testing.assert_array_equal(g.raw(10), h.raw(10))
    with pytest.raises(ValueError):
        h.advance(-1)
    with pytest.raises(OverflowError):
        h.advance(2**64)


def test_spawn_children_are_distinct_and_reproducible():
    kids = fastinit.default_rng(3).spawn(3)
    draws = [k.random(8) for k in kids]
    assert not np.array_equal(draws[0], draws[1])
    again = [k.random(8) for k in fastinit.default_rng(3).spawn(3)]
    for a, b in zip(draws, again):
        np.testing.assert_array_equal(a, b)


def test_numpy_bit_generator_draws_the_same_stream():
    g = fastinit.default_rng(4)
    npg = g.numpy_generator()
    words = g.raw(64)
    assert npg.bit_generator.random_raw() == int(words[0]) | (int(words[1]) << 32)
    assert npg.bit_generator.random_raw(2).tolist() == [int(words[2 * i + 2]) | (int(words[2 * i + 3]) << 32) for i in range(2)]
    bg = fastinit.BitGenerator(4)
    npg2 = np.random.Generator(bg)
    ints = npg2.integers(0, 10, size=1000)
    assert ints.min() >= 0 and ints.max() < 10 and len(np.unique(ints)) == 10
    perm = np.random.Generator(fastinit.BitGenerator(4)).permutation(50)
    assert sorted(perm) == list(range(50))
    # the bit generator itself pickles and continues (a numpy.random.Generator around it does
    # not: NumPy only unpickles its own bit generators; pickle the fastinit.Generator instead)
    clone = pickle.loads(pickle.dumps(bg))
    np.testing.assert_array_equal(clone.random_raw(5), bg.random_raw(5))


def test_one_generator_shared_by_threads_never_repeats():
    g = fastinit.default_rng(5)
    chunks = []
    lock = threading.Lock()

    def worker():
        for _ in range(200):
            x = g.raw(997)
            with lock:
                chunks.append(x)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    allw = np.concatenate(chunks)
    assert allw.size == 4 * 200 * 997
    assert g.position == allw.size
    # every word of the consumed prefix handed out exactly once
    np.testing.assert_array_equal(np.sort(allw), np.sort(fastinit.default_rng(5).raw(allw.size)))


def _child_draw(q):
    q.put(float(fastinit.default_rng(1).standard_normal(10**6).sum()))


def test_forked_child_after_parent_used_openmp():
    fastinit.default_rng(0).standard_normal(10**6, n_threads=2)  # parent uses the thread pool
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_draw, args=(q,))
    p.start()
    p.join(timeout=60)
    if p.is_alive():
        p.kill()
        pytest.fail("forked child hung in an OpenMP region")
    assert p.exitcode == 0
    assert q.get(timeout=5) == pytest.approx(float(fastinit.default_rng(1).standard_normal(10**6).sum()))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_flush_to_zero_set_by_another_library_is_not_inherited(n_threads):
    # scale 1e-39 makes most float32 outputs subnormal: FTZ would turn them into zeros
    want = fastinit.default_rng(2).normal(0.0, 1e-39, 200_000, dtype=np.float32)
    assert np.count_nonzero(want) > 190_000
    was = fastinit._core._set_ftz(True)
    try:
        got = fastinit.default_rng(2).normal(0.0, 1e-39, 200_000, dtype=np.float32, n_threads=n_threads)
        assert fastinit._core._set_ftz(True) is True  # the caller's mode was restored
    finally:
        fastinit._core._set_ftz(was)
    np.testing.assert_array_equal(got, want)


def test_env_var_forces_baseline_path():
    code = "import fastinit; print(fastinit._core.simd_path())"
    out = subprocess.run([sys.executable, "-c", code], env={"FASTINIT_SIMD": "baseline", "PATH": ""},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "baseline"


def test_show_config(capsys):
    fastinit.show_config()
    text = capsys.readouterr().out
    for word in ("fastinit", "openmp", "default_threads", "simd_path"):
        assert word in text
    with pytest.raises(ValueError, match="unknown SIMD path"):
        fastinit.set_simd_path("sse9")


# ---- regression values: any change of the stream or a transform must be deliberate -----------

def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def test_regression_values():
    g = fastinit.default_rng(12345)
    got = {
        "raw": _digest(g.raw(1000)),
        "normal32": _digest(g.standard_normal(1000, dtype=np.float32)),
        "normal64": _digest(g.standard_normal(1000)),
        "uniform32": _digest(g.random(1000, dtype=np.float32)),
        "uniform64": _digest(g.uniform(-1, 2, 1000)),
        "trunc32": _digest(g.truncated_normal(0, 1, -2, 2, 1000, dtype=np.float32)),
        "trunc64": _digest(g.truncated_normal(0, 1, -2, 2, 1000)),
        "weights3": _digest(fastinit.Generator(np.random.SeedSequence(7), fastinit.stream_id("weights", 3)).normal(0, 0.1, 100, dtype=np.float32)),
    }
    first = fastinit.default_rng(12345).standard_normal(3)
    np.testing.assert_array_equal(first, np.array(REGRESSION_FIRST))
    assert got == REGRESSION


REGRESSION_FIRST = [-0.7850530307149669, 0.7675432880591873, -1.508659677074529]
REGRESSION = {
    "raw": "5d868e4ecef30c25", "normal32": "ce417ae96b587b2c", "normal64": "6e3c26225add3e24",
    "uniform32": "0190a0ce92ef0574", "uniform64": "39ba7338ca36807c", "trunc32": "094a6d873ce7c2a2",
    "trunc64": "bd39e2fe218bf1f8", "weights3": "86d40ffc8244339b",
}
