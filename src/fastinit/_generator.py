"""fastinit.Generator: NumPy's Generator API over a counter-based Philox4x32-10 stream.

A generator is (key, stream id, position). The key comes from the seed through
``numpy.random.SeedSequence``; the position counts 32-bit words from the start of the stream.
Value ``v`` of a float32 draw is a function of word ``v`` only, value ``v`` of a float64 draw of
words ``2v`` and ``2v + 1`` (docs/architecture.md, "Stream layout"). Hence the same seed gives the
same numbers whatever the thread count, the SIMD path, or how a request is split into calls.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from . import _core
from ._validate import (
    check_finite,
    check_n_threads,
    check_out,
    check_scale,
    check_truncation,
    flat_view,
    float_dtype,
    normalize_size,
)

__all__ = ["Generator", "BitGenerator", "default_rng", "STREAM_TAGS", "stream_id"]

_U64 = 1 << 64
_USER_STREAMS = 1 << 63  # ids with the top bit set are the truncated normal's retry streams

#: Tags in the top byte of a 64-bit stream id. User streams are tag 0; fastinit's own features
#: derive per-layer streams from the same key (docs/architecture.md).
STREAM_TAGS = {
    "user": 0,
    "weights": 1,
    "biases": 2,
    "inputs": 3,
    "grad_output": 4,
    "targets": 5,
    "init": 6,
}


def stream_id(purpose: str, index: int = 0) -> int:
    """The 64-bit stream id of ``purpose`` (a key of :data:`STREAM_TAGS`) and ``index``.

    ``stream_id("weights", l)`` is the stream of layer ``l``'s weights, and so on. ``index`` must fit
    in 56 bits.
    """
    try:
        tag = STREAM_TAGS[purpose]
    except KeyError:
        raise ValueError(
            f"unknown stream purpose {purpose!r}; valid purposes are {sorted(STREAM_TAGS)}"
        ) from None
    index = int(index)
    if not 0 <= index < (1 << 56):
        raise ValueError(f"stream index must be in [0, 2**56), got {index}")
    return (tag << 56) | index


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (Generator,)):
        raise TypeError("use Generator.spawn() to derive a generator from another one")
    # SeedSequence gives NumPy's own errors: "expected non-negative integer",
    # "SeedSequence expects int or sequence of ints for entropy not 0.5".
    return np.random.SeedSequence(seed)


def _key_from_seed_sequence(ss: np.random.SeedSequence) -> tuple[int, int]:
    k = ss.generate_state(2, dtype=np.uint32)
    return int(k[0]), int(k[1])


class Generator:
    """Random numbers from a Philox4x32-10 stream, with NumPy's method names and arguments.

    Create one with :func:`fastinit.default_rng`. Methods take ``size``, ``dtype`` (float64 by
    default, as in NumPy) and ``out`` like ``numpy.random.Generator``, plus ``n_threads``. Scale and
    shift are applied in the same pass as the generation.

    Parameters
    ----------
    seed_seq : numpy.random.SeedSequence
        Source of the 64-bit Philox key.
    stream : int, optional
        64-bit stream id (default 0). Different streams of one key are independent.
    position : int, optional
        Starting position, in 32-bit words from the start of the stream.

    Notes
    -----
    One generator may be shared by several Python threads: each call reserves its range of the
    stream under a lock and fills it without the lock (and without the GIL), so no two calls ever
    receive the same values. Generators pickle and deep-copy; the copy continues the same stream.
    """

    def __init__(self, seed_seq: np.random.SeedSequence | None = None, stream: int = 0,
                 position: int = 0) -> None:
        if seed_seq is None:
            seed_seq = np.random.SeedSequence()
        if not isinstance(seed_seq, np.random.SeedSequence):
            raise TypeError("seed_seq must be a numpy.random.SeedSequence; use fastinit.default_rng(seed)")
        stream = int(stream)
        position = int(position)
        if not 0 <= stream < _USER_STREAMS:
            raise ValueError("stream must be in [0, 2**63) (higher ids are reserved for fastinit)")
        if not 0 <= position < _U64:
            raise ValueError("position must be in [0, 2**64)")
        self._seed_seq = seed_seq
        self._key = _key_from_seed_sequence(seed_seq)
        self._stream = stream
        self._pos = position
        self._lock = threading.Lock()

    # ---- state ------------------------------------------------------------------------------
    @property
    def seed_seq(self) -> np.random.SeedSequence:
        """The SeedSequence the key was derived from."""
        return self._seed_seq

    @property
    def key(self) -> tuple[int, int]:
        """The two 32-bit Philox key words."""
        return self._key

    @property
    def stream(self) -> int:
        """The 64-bit stream id."""
        return self._stream

    @property
    def position(self) -> int:
        """Words of the stream consumed so far (a float64 value uses two, a float32 one)."""
        return self._pos

    def __repr__(self) -> str:
        return f"Generator(Philox4x32-10, stream={self._stream}, position={self._pos})"

    def __getstate__(self) -> dict:
        with self._lock:
            return {"seed_seq": self._seed_seq, "stream": self._stream, "position": self._pos}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["seed_seq"], state["stream"], state["position"])

    def __deepcopy__(self, memo: dict) -> "Generator":
        st = self.__getstate__()
        return Generator(st["seed_seq"], st["stream"], st["position"])

    def __copy__(self) -> "Generator":
        return self.__deepcopy__({})

    def spawn(self, n_children: int) -> list["Generator"]:
        """``n_children`` independent generators (keys from ``SeedSequence.spawn``).

        Parameters
        ----------
        n_children : int
            Number of children.

        Returns
        -------
        list of Generator
        """
        return [Generator(ss) for ss in self._seed_seq.spawn(n_children)]

    def substream(self, stream: int) -> "Generator":
        """A generator on the same key and another stream id, at position 0."""
        return Generator(self._seed_seq, stream, 0)

    def advance(self, delta: int) -> "Generator":
        """Skip ``delta`` 32-bit words, as if ``delta`` float32 (``delta / 2`` float64) values had
        been drawn. Returns ``self``."""
        delta = int(delta)
        if delta < 0:
            raise ValueError("delta must be non-negative")
        with self._lock:
            if self._pos + delta >= _U64:
                raise OverflowError("advance would pass the end of the stream (2**64 words)")
            self._pos += delta
        return self

    def _reserve(self, n_values: int, words_per_value: int) -> int:
        """Reserve the stream range for n_values; return the first value index."""
        with self._lock:
            start = self._pos
            if words_per_value == 2 and start & 1:
                start += 1  # float64 values sit on even words
            end = start + n_values * words_per_value
            if end >= _U64:
                raise OverflowError("the request passes the end of the stream (2**64 words)")
            self._pos = end
        return start // words_per_value

    # ---- the fill machinery -----------------------------------------------------------------
    def _prepare(self, size: Any, dtype: Any, out: Any, method: str):
        dt = float_dtype(dtype, method)
        shape = normalize_size(size)
        if out is not None:
            arr = check_out(out, dt, shape)
            scalar = False
        else:
            scalar = shape is None
            arr = np.empty(() if scalar else shape, dtype=dt)
        return arr, scalar

    def _run(self, fill, arr: np.ndarray, scalar: bool, n_threads: Any, *params: float):
        nt = check_n_threads(n_threads)
        flat = flat_view(arr)
        v0 = self._reserve(flat.size, 2 if arr.dtype == np.float64 else 1)
        if flat.size:
            fill(self._key[0], self._key[1], self._stream, v0, flat, *params, nt)
        if scalar:
            return float(flat[0])
        return arr

    # ---- distributions ----------------------------------------------------------------------
    def standard_normal(self, size=None, dtype=np.float64, out=None, *, n_threads=None):
        """Draw from the standard normal distribution N(0, 1).

        Parameters
        ----------
        size : int or tuple of ints, optional
            Output shape. ``None`` (default) returns a single Python float.
        dtype : {np.float64, np.float32}, optional
            Output type (default float64, as in NumPy).
        out : ndarray, optional
            C- or F-contiguous, writable, aligned array of ``dtype`` to fill (then ``size`` may be
            omitted, or must equal ``out.shape``).
        n_threads : int, optional
            OpenMP threads (default: ``omp_get_max_threads()``). The values do not depend on it.

        Returns
        -------
        float or ndarray

        Raises
        ------
        TypeError
            Unsupported dtype, wrong ``out`` dtype, malformed ``size``.
        ValueError
            Negative dimensions, unusable ``out`` layout, ``size`` and ``out.shape`` disagree.

        Notes
        -----
        Box-Muller on pairs of words with fastinit's own log/sin/cos polynomials: float32 values
        use 32 random bits each and reach 6.7 sigma, float64 values 64 bits and 8.6 sigma; no value
        is ever infinite or NaN.

        Examples
        --------
        >>> import fastinit
        >>> rng = fastinit.default_rng(42)
        >>> w = rng.standard_normal((784, 256), dtype="float32")
        """
        arr, scalar = self._prepare(size, dtype, out, "standard_normal")
        return self._run(_core.fill_normal, arr, scalar, n_threads, 0.0, 1.0)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=np.float64, out=None, *, n_threads=None):
        """Draw from N(loc, scale**2); ``loc + scale * z`` is computed in the generating pass.

        Parameters
        ----------
        loc, scale : float
            Mean and standard deviation (scalars; ``scale >= 0``, both finite).
        size, dtype, out, n_threads
            As in :meth:`standard_normal`.

        Returns
        -------
        float or ndarray

        Raises
        ------
        ValueError
            ``scale < 0`` (including -0.0), ``loc``/``scale`` not finite, and the errors of
            :meth:`standard_normal`.

        Examples
        --------
        >>> import numpy as np, fastinit
        >>> M1, M2 = 512, 256
        >>> W = fastinit.default_rng(0).normal(0.0, np.sqrt(2 / M1), (M1, M2))  # He normal
        """
        loc = check_finite(loc, "loc")
        scale = check_scale(scale)
        arr, scalar = self._prepare(size, dtype, out, "normal")
        return self._run(_core.fill_normal, arr, scalar, n_threads, loc, scale)

    def random(self, size=None, dtype=np.float64, out=None, *, n_threads=None):
        """Uniform floats in [0, 1): float32 from 24 random bits, float64 from 53; never 1.0.

        Parameters
        ----------
        size, dtype, out, n_threads
            As in :meth:`standard_normal`.

        Returns
        -------
        float or ndarray
        """
        arr, scalar = self._prepare(size, dtype, out, "random")
        return self._run(_core.fill_uniform, arr, scalar, n_threads, 0.0, 1.0)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64, out=None, *, n_threads=None):
        """Uniform floats in [low, high): ``low + (high - low) * u``, never ``high`` itself.

        Parameters
        ----------
        low, high : float
            Bounds (finite, ``high >= low``, ``high - low`` finite).
        size, dtype, out, n_threads
            As in :meth:`standard_normal`.

        Returns
        -------
        float or ndarray

        Raises
        ------
        ValueError
            ``high - low < 0``.
        OverflowError
            ``high - low range exceeds valid bounds`` (a bound or the range is not finite).
        """
        try:
            lo, hi = float(low), float(high)
        except (TypeError, ValueError):
            raise TypeError("low and high must be real scalars") from None
        if math.isnan(lo) or math.isnan(hi):
            raise ValueError("low and high must not be NaN")
        if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(hi - lo)):
            raise OverflowError("high - low range exceeds valid bounds")
        if hi - lo < 0:
            raise ValueError("high - low < 0")
        arr, scalar = self._prepare(size, dtype, out, "uniform")
        if arr.dtype == np.float32 and not (
            math.isfinite(np.float32(lo)) and math.isfinite(np.float32(hi))
            and math.isfinite(np.float32(hi) - np.float32(lo))
        ):
            raise OverflowError("high - low range exceeds valid bounds")
        return self._run(_core.fill_uniform, arr, scalar, n_threads, lo, hi)

    def truncated_normal(self, loc=0.0, scale=1.0, a=-2.0, b=2.0, size=None, dtype=np.float64,
                         out=None, *, unit_variance=False, n_threads=None):
        """Normal N(loc, scale**2) truncated to [loc + a*scale, loc + b*scale].

        **The bounds a and b are in standard deviations** (as in Keras/JAX and SciPy's
        ``truncnorm``), not absolute values as in ``torch.nn.init.trunc_normal_``.

        Parameters
        ----------
        loc, scale : float
            Location and scale of the parent normal (``scale > 0``).
        a, b : float
            Bounds in standard deviations, ``a < b`` (infinite bounds allowed).
        size, dtype, out, n_threads
            As in :meth:`standard_normal`.
        unit_variance : bool, optional
            If True, divide ``scale`` by the standard deviation of the standard normal truncated
            to [a, b] so the output's standard deviation is ``scale`` (for [-2, 2] this is
            Keras/JAX's 0.87962566103423978 divisor; computed for any a, b).

        Returns
        -------
        float or ndarray

        Raises
        ------
        ValueError
            ``a >= b`` or a NaN bound; ``scale`` not positive or not finite; an interval too far
            in the tail (probability below 1e-280) or narrower than the dtype's resolution.

        Notes
        -----
        Inverse CDF in float64 from one uniform per value (32 bits for float32, 52 for float64),
        with the lower tail computed as ``Phi^-1(Phi(a) + u mass)`` and the upper tail as
        ``-Phi^-1(Q(b) + (1-u) mass)``: both tails keep full relative precision, so there are no
        inverse-CDF outliers even in float32, and far intervals such as [8, 9] are exact. A value
        is never equal to a bound.
        """
        loc = check_finite(loc, "loc")
        scale = check_scale(scale)
        fa, fb = check_truncation(a, b)
        if scale == 0:
            raise ValueError("scale must be positive for a truncated normal")
        if unit_variance:
            scale = scale / truncnorm_std(fa, fb)
        arr, scalar = self._prepare(size, dtype, out, "truncated_normal")
        _core.truncnorm_params(fa, fb, loc, scale, arr.dtype == np.float32)
        return self._run(_core.fill_truncnorm, arr, scalar, n_threads, loc, scale, fa, fb)

    def raw(self, size=None, out=None, *, n_threads=None):
        """The stream's raw 32-bit words (uint32), in stream order."""
        shape = normalize_size(size)
        if out is not None:
            arr = check_out(out, np.dtype(np.uint32), shape)
            scalar = False
        else:
            scalar = shape is None
            arr = np.empty(() if scalar else shape, dtype=np.uint32)
        nt = check_n_threads(n_threads)
        flat = flat_view(arr)
        v0 = self._reserve(flat.size, 1)
        if flat.size:
            _core.fill_raw(self._key[0], self._key[1], self._stream, v0, flat, nt)
        return int(flat[0]) if scalar else arr

    # ---- NumPy interoperability -------------------------------------------------------------
    def numpy_generator(self) -> np.random.Generator:
        """A ``numpy.random.Generator`` drawing from this stream, from the current position.

        It works on a copy of the position: drawing from it does not move this generator. Use it
        for integers, permutations, choice and every distribution fastinit does not provide.
        """
        return np.random.Generator(BitGenerator(self._seed_seq, self._stream, self._pos))


class BitGenerator:
    """A fastinit stream behind NumPy's ``bitgen_t`` interface.

    ``numpy.random.Generator(fastinit.BitGenerator(seed))`` draws integers, permutations and every
    NumPy distribution from a Philox4x32-10 stream laid out as fastinit's (raw words in the same
    order as :meth:`Generator.raw`).

    Parameters
    ----------
    seed : None, int, sequence of ints or numpy.random.SeedSequence
        As for :func:`fastinit.default_rng`.
    stream : int, optional
        Stream id.
    position : int, optional
        Starting word.
    """

    def __init__(self, seed: Any = None, stream: int = 0, position: int = 0) -> None:
        self._seed_seq = _seed_sequence(seed)
        self._stream = int(stream)
        if not 0 <= self._stream < _USER_STREAMS:
            raise ValueError("stream must be in [0, 2**63) (higher ids are reserved for fastinit)")
        k0, k1 = _key_from_seed_sequence(self._seed_seq)
        self._state = _core._BitGenState(k0, k1, self._stream, int(position))
        self.capsule = self._state.capsule
        self.lock = self._state.lock

    @property
    def seed_seq(self) -> np.random.SeedSequence:
        return self._seed_seq

    @property
    def position(self) -> int:
        return self._state.position

    @property
    def state(self) -> dict:
        return {"bit_generator": "fastinit.BitGenerator", "stream": self._stream,
                "position": self.position}

    def random_raw(self, size=None):
        """Raw 64-bit outputs (two stream words each, low word first)."""
        return self._state.random_raw(size)

    def __reduce__(self):
        return (BitGenerator, (self._seed_seq, self._stream, self.position))

    def spawn(self, n_children: int) -> list["BitGenerator"]:
        return [BitGenerator(ss) for ss in self._seed_seq.spawn(n_children)]


def default_rng(seed: Any = None) -> Generator:
    """A :class:`Generator` seeded like ``numpy.random.default_rng``.

    Parameters
    ----------
    seed : None, int >= 0, sequence of ints, or numpy.random.SeedSequence, optional
        ``None`` draws fresh entropy from the OS.

    Returns
    -------
    Generator

    Raises
    ------
    ValueError
        ``expected non-negative integer`` for a negative seed.
    TypeError
        ``SeedSequence expects int or sequence of ints for entropy not ...``.

    Examples
    --------
    >>> import fastinit
    >>> rng = fastinit.default_rng(2024)
    >>> x = rng.standard_normal(10_000_000, dtype="float32")
    """
    if isinstance(seed, Generator):
        return seed
    return Generator(_seed_sequence(seed))


def truncnorm_std(a: float, b: float) -> float:
    """Standard deviation of the standard normal truncated to [a, b] (a < b, in sigmas).

    Uses the tail probability of the side the interval lies on (``erfc``), so far intervals such
    as [8, 9] keep their precision; for [-2, 2] it returns 0.87962566103423978.
    """
    def pdf(x: float) -> float:
        return 0.0 if math.isinf(x) else math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def xpdf(x: float) -> float:
        return 0.0 if math.isinf(x) else x * pdf(x)

    if b <= 0:  # mirror into the upper tail, where erfc is accurate
        a, b = -b, -a
    if a >= 0:
        mass = 0.5 * (math.erfc(a / math.sqrt(2)) - math.erfc(b / math.sqrt(2)))
    else:
        mass = 1.0 - 0.5 * math.erfc(-a / math.sqrt(2)) - 0.5 * math.erfc(b / math.sqrt(2))
    if not mass > 0:
        raise ValueError(f"cannot compute the truncated normal's variance on [{a}, {b}]")
    mean = (pdf(a) - pdf(b)) / mass
    var = 1.0 + (xpdf(a) - xpdf(b)) / mass - mean * mean
    if not (var > 0 and math.isfinite(var)):
        raise ValueError(f"cannot compute the truncated normal's variance on [{a}, {b}]")
    return math.sqrt(var)
